#!/usr/bin/env bash
# wfc beside the tools users would reach for instead, on the same graph, in the same run:
#
# - `wfc check` against `just --summary`, on a workflow and a justfile with the same recipes,
#   dependencies, doc comments and interpolated commands, at 10,000 and 100,000 tasks (time
#   with hyperfine, peak memory with /usr/bin/time). Targets: ratio <= 1.0 in time and memory.
# - `wfc run -j 8` against `make -j8`, on 2,000 no-op tasks (40 chains of 50), each run from an
#   empty SQLite store. Target: ratio <= 1.5.
#
#   benches/versus.sh                    # both, the default sizes
#   SIZES="10000" RUNS=5 benches/versus.sh
#   ONLY=check benches/versus.sh         # or ONLY=run
#   CALLGRIND=1 benches/versus.sh        # also count instructions (valgrind), stable under load
#
# just and hyperfine are installed from crates.io into ~/.cache/wfc-bench-tools when they are
# not on PATH (once per machine). Honours CARGO_TARGET_DIR.
set -euo pipefail

SIZES="${SIZES:-10000 100000}"
RUNS="${RUNS:-10}"
ONLY="${ONLY:-}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${HOME}/.cache/wfc-bench-tools"
export PATH="$tools/bin:$PATH"

# Pinned, so every machine measures against the same just; hyperfine 2 needs a newer Rust.
for tool in just@1.59.0 hyperfine@1.20.0; do
  if ! command -v "${tool%@*}" > /dev/null; then
    echo "installing $tool into $tools (once)…" >&2
    cargo install --quiet --locked --root "$tools" "$tool"
  fi
done

target_dir="${CARGO_TARGET_DIR:-$root/target}"
echo "building wfc (release)…" >&2
cargo build --release --quiet --bin wfc --manifest-path "$root/Cargo.toml"
wfc="$target_dir/release/wfc"

work="$(mktemp -d "${TMPDIR:-/tmp}/wfc-versus.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Prints the median wall time of a command in ms, from hyperfine.
median_ms() {
  hyperfine --shell=none --warmup 2 --runs "$RUNS" --style none \
    --export-json "$work/hf.json" "$@" > /dev/null 2>&1 \
    || { echo "error: hyperfine failed running: $*" >&2; exit 1; }
  python3 -c 'import json, sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1000))' "$work/hf.json"
}

# Prints the peak resident memory of a command in MB.
peak_mb() {
  /usr/bin/time -f %M "$@" 2>&1 > /dev/null | tail -n 1 | awk '{printf "%.1f", $1 / 1024}'
}

# Prints how many instructions a command executes, from callgrind.
instructions() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 > /dev/null \
    | sed -n 's/.*refs: *//p' | tr -d ,
}

ratio() { python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$1" "$2"; }

if [[ "$ONLY" != run ]]; then
  echo "just $(just --version | cut -d' ' -f2), hyperfine, median of $RUNS after 2 warm-ups"
  printf '%-8s %-22s %10s %10s %7s %9s %9s %7s\n' tasks "files (wf / justfile)" "wfc ms" "just ms" ratio "wfc MB" "just MB" ratio
  for tasks in $SIZES; do
    folder="$work/check-$tasks"
    mkdir -p "$folder"
    python3 "$root/benches/gen_versus.py" check "$tasks" "$folder"
    # Both must accept their file, or the benchmark would time error reporting.
    "$wfc" check --deny-warnings "$folder/graph.wf" > /dev/null 2>&1
    (cd "$folder" && just --summary > /dev/null)
    wfc_ms="$(median_ms "$wfc check $folder/graph.wf")"
    just_ms="$(median_ms "just --justfile $folder/justfile --summary")"
    wfc_mb="$(peak_mb "$wfc" check "$folder/graph.wf")"
    just_mb="$(peak_mb just --justfile "$folder/justfile" --summary)"
    sizes="$(python3 -c 'import os, sys; print("%.2f / %.2f MB" % tuple(os.path.getsize(p) / 1e6 for p in sys.argv[1:]))' "$folder/graph.wf" "$folder/justfile")"
    printf '%-8s %-22s %10s %10s %7s %9s %9s %7s\n' "$tasks" "$sizes" "$wfc_ms" "$just_ms" \
      "$(ratio "$wfc_ms" "$just_ms")" "$wfc_mb" "$just_mb" "$(ratio "$wfc_mb" "$just_mb")"
    # Instruction counts do not move with the load of a shared machine, wall times do.
    if [[ -n "${CALLGRIND:-}" ]]; then
      wfc_ir="$(instructions "$wfc" check "$folder/graph.wf")"
      just_ir="$(instructions just --justfile "$folder/justfile" --summary)"
      echo "         instructions (callgrind): wfc $wfc_ir, just $just_ir, ratio $(ratio "$wfc_ir" "$just_ir")"
    fi
  done
fi

if [[ "$ONLY" != check ]]; then
  folder="$work/run"
  mkdir -p "$folder"
  python3 "$root/benches/gen_versus.py" run 40 50 "$folder"
  cd "$folder"
  "$wfc" check --deny-warnings noop.wf > /dev/null 2>&1
  make_ms="$(median_ms "make -j8 -s all")"
  wfc_ms="$(median_ms --prepare "rm -rf $folder/.wfc" "$wfc run noop.wf -j 8")"
  echo
  echo "2,000 no-op tasks (40 chains of 50), median of $RUNS, each wfc run from an empty SQLite store"
  echo "make -j8:     $make_ms ms"
  echo "wfc run -j 8: $wfc_ms ms"
  echo "ratio:        $(ratio "$wfc_ms" "$make_ms")"
fi
