#!/usr/bin/env bash
# Benchmarks the language server: the time from a didChange to the publishDiagnostics of that
# version, on a generated workflow of about 5,000 lines, median of EDITS edits; and, in the
# same run, `wfc check` on the same file as the reference (the whole command: process start,
# reading, parsing, checking and printing).
#
#   benches/lsp.sh              # 870 tasks, about 5,080 lines; 20 edits
#   benches/lsp.sh 1740         # another size (tasks)
#   EDITS=50 RUNS=20 benches/lsp.sh
#
# Honours CARGO_TARGET_DIR. Exits non-zero if the build fails, the generated file is not
# clean, or the server publishes any diagnostic for an edit.
set -euo pipefail

tasks="${1:-870}"
edits="${EDITS:-20}"
runs="${RUNS:-20}"
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

lsp="$target_dir/release/wfc-lsp"
if [[ ! -x "$lsp" ]]; then
  echo "error: no wfc-lsp binary at $lsp" >&2
  exit 1
fi

read -r lsp_median lsp_min lsp_max < <(python3 "$root/benches/lsp_client.py" --server "$lsp" --edits "$edits" "$file")

# `wfc check FILE`, the same number of times, after one warm-up.
"$wfc" check "$file" > /dev/null 2>&1
samples=()
for _ in $(seq "$runs"); do
  start="$(date +%s%N)"
  "$wfc" check "$file" > /dev/null 2>&1
  end="$(date +%s%N)"
  samples+=("$((end - start))")
done
check_median="$(printf '%s\n' "${samples[@]}" | sort -n | awk '{ a[NR] = $1 } END {
  m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
  printf "%.2f\n", m / 1e6 }')"
ratio="$(python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) / max(float(sys.argv[2]), 0.001)))' "$lsp_median" "$check_median")"

echo "file:               $tasks tasks, $lines lines, $bytes bytes"
echo "didChange → diagnostics: median $lsp_median ms of $edits edits (fastest $lsp_min, slowest $lsp_max)"
echo "wfc check:          median $check_median ms of $runs runs"
echo "ratio:              server / wfc check = $ratio"
