#!/usr/bin/env bash
# Times `wfc run` of 200 no-op command tasks (`true`), shaped as 20 chains of 10, under -j 4
# through the beads backend with the real br, beside the same run on the SQLite store, and
# counts the br calls: a wrapper around br logs each call's subcommand, so nothing in wfc is
# trusted to count itself. Prints wall time per task for both backends, br calls per task,
# calls by subcommand, and how long instantiation (creating the issues and edges) took.
set -euo pipefail
cd "$(dirname "$0")/.."

CHAINS=${CHAINS:-20}
LENGTH=${LENGTH:-10}
RUNS=${RUNS:-3}
JOBS=${JOBS:-4}
TARGET_DIR=${CARGO_TARGET_DIR:-target}

BR=${WFC_TEST_BR:-$HOME/.cache/wfc-tools/br/bin/br}
if [[ ! -x "$BR" ]]; then
  BR=$(command -v br || true)
fi
if [[ -z "$BR" || ! -x "$BR" ]]; then
  echo "error: no br found; run tests/all.sh (it installs br) or set WFC_TEST_BR" >&2
  exit 1
fi

echo "building wfc (release)…" >&2
cargo build --release --quiet
WFC="$(realpath "$TARGET_DIR/release/wfc")"

WORK=$(mktemp -d /tmp/wfc-bench-beads.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

python3 - "$WORK" "$CHAINS" "$LENGTH" <<'PY'
import sys
work, chains, length = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
wf = ["workflow noop {"]
for c in range(chains):
    for i in range(length):
        after = f" after c{c}_{i - 1}" if i else ""
        wf.append(f"  task c{c}_{i}{after} {{\n    run = \"true\"\n  }}\n")
wf.append("}")
open(f"{work}/noop.wf", "w").write("\n".join(wf) + "\n")
PY
TASKS=$((CHAINS * LENGTH))
echo "workflow: $TASKS tasks in $CHAINS chains of $LENGTH, -j $JOBS, br: $("$BR" --version)" >&2
"$WFC" check --deny-warnings "$WORK/noop.wf" >/dev/null

# The wrapper logs the subcommand (with `dep` its second word) of every call, then runs br.
cat > "$WORK/br-logged" <<SH
#!/bin/sh
case "\$1" in dep) echo "dep \$2" ;; *) echo "\$1" ;; esac >> "$WORK/calls.log"
exec "$BR" "\$@"
SH
chmod +x "$WORK/br-logged"

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

BEADS_TIMES=()
SETUP_TIMES=()
for run in $(seq "$RUNS"); do
  store="$WORK/store-$run"
  mkdir -p "$store"
  (cd "$store" && "$BR" init --prefix=b --quiet >/dev/null)
  cp "$WORK/noop.wf" "$store/"
  : > "$WORK/calls.log"
  start=$(now_ms)
  # The first line wfc prints comes once the run's issues and edges exist.
  (cd "$store" && "$WFC" run noop.wf -j "$JOBS" --backend "beads:.?bin=$WORK/br-logged" 2>"$WORK/err") |
    { read -r _; now_ms > "$WORK/created"; cat >/dev/null; } || true
  end=$(now_ms)
  closed=$(BEADS_DIR="$store/.beads" "$BR" list --all --limit=0 --json 2>/dev/null |
    python3 -c 'import json,sys; print(sum(1 for i in json.load(sys.stdin)["issues"] if i["status"] == "closed"))')
  if [[ "$closed" != "$TASKS" ]]; then
    echo "error: run $run closed $closed of $TASKS issues:" >&2
    cat "$WORK/err" >&2
    exit 1
  fi
  BEADS_TIMES+=($((end - start)))
  SETUP_TIMES+=($(( $(cat "$WORK/created") - start )))
  cp "$WORK/calls.log" "$WORK/calls-$run.log"
done

SQLITE_TIMES=()
for run in $(seq "$RUNS"); do
  dir="$WORK/sqlite-$run"
  mkdir -p "$dir"
  cp "$WORK/noop.wf" "$dir/"
  start=$(now_ms)
  (cd "$dir" && "$WFC" run noop.wf -j "$JOBS" >/dev/null 2>&1) || { echo "error: the SQLite run failed" >&2; exit 1; }
  end=$(now_ms)
  SQLITE_TIMES+=($((end - start)))
done

BEADS_MS=$(printf '%s\n' "${BEADS_TIMES[@]}" | median)
SETUP_MS=$(printf '%s\n' "${SETUP_TIMES[@]}" | median)
SQLITE_MS=$(printf '%s\n' "${SQLITE_TIMES[@]}" | median)
CALLS=$(wc -l < "$WORK/calls-$RUNS.log" | tr -d ' ')

echo "beads (br):    ${BEADS_MS} ms  (median of $RUNS; instantiation ${SETUP_MS} ms of it)"
echo "sqlite:        ${SQLITE_MS} ms  (median of $RUNS)"
awk -v b="$BEADS_MS" -v s="$SQLITE_MS" -v n="$TASKS" -v c="$CALLS" 'BEGIN {
  printf "per task:      beads %.1f ms, sqlite %.2f ms (beads / sqlite = %.1f)\n", b / n, s / n, b / s
  printf "br calls:      %d for %d tasks = %.2f per task (last run)\n", c, n, c / n
}'
echo "by subcommand (last run):"
sort "$WORK/calls-$RUNS.log" | uniq -c | sort -rn | sed 's/^/  /'
