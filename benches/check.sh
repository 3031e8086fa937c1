#!/usr/bin/env bash
# Benchmarks `wfc check` on a generated workflow of N tasks against `wc -l` on the same file,
# the floor for "reading the file at all". Prints both medians in ms and their ratio.
#
#   benches/check.sh            # 10,000 tasks
#   benches/check.sh 50000      # another size
#   RUNS=20 benches/check.sh    # more repetitions (default 10)
#   HYPERFINE=0 benches/check.sh  # time with the shell loop even if hyperfine is installed
#
# Uses hyperfine when it is installed, otherwise a loop timed with `date +%s%N`. Honours
# CARGO_TARGET_DIR. Exits non-zero if the build fails or `wfc check` reports any error or
# warning on the generated file (the generator must produce a clean file).
set -euo pipefail

tasks="${1:-10000}"
runs="${RUNS:-10}"
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

use_hyperfine=0
if [[ "${HYPERFINE:-1}" != 0 ]] && command -v hyperfine > /dev/null 2>&1; then
  use_hyperfine=1
fi

# Prints the median wall time of a command, in ms with two decimals.
median_ms() {
  if [[ "$use_hyperfine" == 1 ]]; then
    hyperfine --shell=none --warmup 2 --runs "$runs" --style none \
      --export-json "$work/hf.json" "$*" > /dev/null 2>&1 \
      || { echo "error: hyperfine failed running: $*" >&2; return 1; }
    python3 -c 'import json, sys; print("%.2f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1000))' "$work/hf.json"
  else
    "$@" > /dev/null 2>&1 # warm-up
    local samples=() start end
    for _ in $(seq "$runs"); do
      start="$(date +%s%N)"
      "$@" > /dev/null 2>&1 || { echo "error: failed: $*" >&2; return 1; }
      end="$(date +%s%N)"
      samples+=("$((end - start))")
    done
    printf '%s\n' "${samples[@]}" | sort -n | awk '{ a[NR] = $1 } END {
      m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
      printf "%.2f\n", m / 1e6 }'
  fi
}

tool="loop of $runs runs, date +%s%N"
[[ "$use_hyperfine" == 1 ]] && tool="hyperfine, $runs runs, 2 warm-ups"
wc_ms="$(median_ms wc -l "$file")"
wfc_ms="$(median_ms "$wfc" check "$file")"
ratio="$(python3 -c 'import sys; print("%.1f" % (float(sys.argv[1]) / max(float(sys.argv[2]), 0.001)))' "$wfc_ms" "$wc_ms")"

echo "file:      $tasks tasks, $lines lines, $bytes bytes"
echo "timing:    median of $tool"
echo "wc -l:     $wc_ms ms"
echo "wfc check: $wfc_ms ms"
echo "ratio:     wfc check / wc -l = $ratio"
