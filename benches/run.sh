#!/usr/bin/env bash
# Times `wfc run` of 2,000 no-op command tasks (`true`), shaped as 40 chains of 50, under
# -j 8 through the SQLite store, beside the same 2,000 recipes as a Makefile under make -j8,
# measured in the same run. Target: wfc within 3x of make.
set -euo pipefail
cd "$(dirname "$0")/.."

CHAINS=${CHAINS:-40}
LENGTH=${LENGTH:-50}
RUNS=${RUNS:-5}
TARGET_DIR=${CARGO_TARGET_DIR:-target}

echo "building wfc (release)…" >&2
cargo build --release --quiet
WFC="$(realpath "$TARGET_DIR/release/wfc")"

WORK=$(mktemp -d /tmp/wfc-bench-run.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

python3 benches/gen_versus.py run "$CHAINS" "$LENGTH" "$WORK"
TASKS=$((CHAINS * LENGTH))
echo "workflow: $TASKS tasks in $CHAINS chains of $LENGTH" >&2
cd "$WORK"
"$WFC" check --deny-warnings noop.wf >/dev/null

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
time_ms() {  # runs "$@" RUNS times, removing the store first; prints the median in ms
  for _ in $(seq "$RUNS"); do
    rm -rf .wfc
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
    end=$(date +%s%N)
    echo $(( (end - start) / 1000000 ))
  done | median
}

MAKE_MS=$(time_ms make -j8 -s all)
WFC_MS=$(time_ms "$WFC" run noop.wf -j 8)
echo "make -j8:      ${MAKE_MS} ms  (median of $RUNS)"
echo "wfc run -j 8:  ${WFC_MS} ms  (median of $RUNS, SQLite store)"
awk -v w="$WFC_MS" -v m="$MAKE_MS" -v n="$TASKS" 'BEGIN {printf "ratio:         wfc / make = %.2f\nper task:      wfc %.2f ms, make %.2f ms\n", w / m, w / n, m / n}'
