#!/usr/bin/env bash
# Benchmarks `wfc plan` (instantiating a workflow into a Plan) on a generated workflow of N
# tasks, next to `wc -l` (the floor: starting a process and reading the file) and `wfc check`
# (parsing and checking, which `wfc plan` does first) on the same file, in the same run.
# Prints the medians in ms and the ratios plan / check and plan / wc.
#
#   benches/plan.sh              # 10,000 tasks
#   benches/plan.sh 50000        # another size
#   RUNS=20 benches/plan.sh      # more repetitions (default 10)
#   HYPERFINE=0 benches/plan.sh  # time with the shell loop even if hyperfine is installed
#
# Uses hyperfine when it is installed, otherwise a loop timed with `date +%s%N`. Honours
# CARGO_TARGET_DIR. Exits non-zero if the build fails, if `wfc check` reports any error or
# warning on the generated file, or if `wfc plan` exits non-zero or prints no plan.
set -euo pipefail

tasks="${1:-10000}"
runs="${RUNS:-10}"
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Every parameter of the generated workflow has a default except the secret `token`, which
# `wfc plan` does not need (a plan never holds a secret's value). No secret may leak in
# from the environment either.
while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep '^WF_SECRET_' || true)
plan_args=(plan "$file" --json)

# `wfc plan` must succeed and print a plan; its size and task count go in the report.
if ! "$wfc" "${plan_args[@]}" > "$work/plan.json" 2> "$work/plan.err"; then
  echo "error: wfc plan failed on the generated file:" >&2
  tail -n 40 "$work/plan.err" >&2
  exit 1
fi
plan_tasks="$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["tasks"]))' "$work/plan.json")" \
  || { echo "error: wfc plan --json did not print a plan" >&2; exit 1; }
plan_bytes="$(wc -c < "$work/plan.json" | tr -d ' ')"

use_hyperfine=0
if [[ "${HYPERFINE:-1}" != 0 ]] && command -v hyperfine > /dev/null 2>&1; then
  use_hyperfine=1
fi

# Prints the median wall time of a command, in ms with two decimals. Its output is thrown
# away (hyperfine's default), and a non-zero exit fails the benchmark.
median_ms() {
  if [[ "$use_hyperfine" == 1 ]]; then
    hyperfine --shell=none --warmup 2 --runs "$runs" --style none \
      --export-json "$work/hf.json" "$(printf '%q ' "$@")" > /dev/null 2>&1 \
      || { echo "error: hyperfine failed running: $*" >&2; return 1; }
    python3 -c 'import json, sys; print("%.2f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1000))' "$work/hf.json"
  else
    "$@" > /dev/null 2>&1 || { echo "error: failed: $*" >&2; return 1; } # warm-up
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

ratio() {
  python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) / max(float(sys.argv[2]), 0.001)))' "$1" "$2"
}

tool="loop of $runs runs, date +%s%N"
[[ "$use_hyperfine" == 1 ]] && tool="hyperfine, $runs runs, 2 warm-ups"
wc_ms="$(median_ms wc -l "$file")"
check_ms="$(median_ms "$wfc" check "$file")"
plan_ms="$(median_ms "$wfc" "${plan_args[@]}")"
human_ms="$(median_ms "$wfc" plan "$file")"

echo "file:             $tasks tasks, $lines lines, $bytes bytes"
echo "plan:             $plan_tasks tasks, $plan_bytes bytes of JSON"
echo "timing:           median of $tool, output to /dev/null"
echo "wc -l:            $wc_ms ms"
echo "wfc check:        $check_ms ms"
echo "wfc plan --json:  $plan_ms ms"
echo "wfc plan:         $human_ms ms   (the human listing)"
echo "ratios:           plan / check = $(ratio "$plan_ms" "$check_ms"), plan / wc -l = $(ratio "$plan_ms" "$wc_ms")"
echo "plan - check:     $(python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) - float(sys.argv[2])))' "$plan_ms" "$check_ms") ms   (instantiating and printing)"
