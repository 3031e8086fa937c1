# Shared by the benchmark scripts: build the release binary, and write a clean generated
# workflow. Source it after setting `tasks`; it sets `root`, `wfc`, `work` (removed on exit),
# `file`, `lines` and `bytes`, and exits non-zero if the build fails or the file is not clean.

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in
  /*) ;;
  *) target_dir="$root/$target_dir" ;; # cargo reads a relative CARGO_TARGET_DIR from the current folder
esac

echo "building wfc (release)…" >&2
if [[ -n "${CARGO_TARGET_DIR:-}" && "${CARGO_TARGET_DIR}" != /* ]]; then
  (cd "$root" && cargo build --release --quiet)
else
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
fi
wfc="$target_dir/release/wfc"
if [[ ! -x "$wfc" ]]; then
  echo "error: no wfc binary at $wfc" >&2
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/wfc-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
file="$work/big.wf"
python3 "$root/benches/gen_workflow.py" --tasks "$tasks" "$file"
lines="$(wc -l < "$file" | tr -d ' ')"
bytes="$(wc -c < "$file" | tr -d ' ')"

# The file must be clean: errors would mean the benchmark measures error reporting.
if ! "$wfc" check --deny-warnings "$file" > "$work/check.out" 2>&1; then
  echo "error: wfc check reported problems on the generated file:" >&2
  tail -n 40 "$work/check.out" >&2
  exit 1
fi

