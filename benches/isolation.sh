#!/usr/bin/env bash
# What isolation costs: a fan-out of TASKS command tasks that each change one file of a
# repository of FILES files (SIZE bytes each; 5,000 × 10 KB = 50 MB by default), run by
# `wfc run --isolation git` and by `--isolation none`, beside a plain shell script that does
# the same git operations per task (a detached worktree at the base, the change, a commit of
# the folder through a private index, a ref, the worktree removed; then the merge of every
# output into one branch), all in the same run, one task at a time (-j 1), so the figures are
# the cost of the work and not of the parallelism. Target: wfc's overhead per task within
# 1.3× of the raw git commands.
set -euo pipefail
cd "$(dirname "$0")/.."

TASKS=${TASKS:-50}
FILES=${FILES:-5000}
SIZE=${SIZE:-10240}
RUNS=${RUNS:-3}
TARGET_DIR=${CARGO_TARGET_DIR:-target}

echo "building wfc (release)…" >&2
cargo build --release --quiet
WFC="$(realpath "$TARGET_DIR/release/wfc")"

WORK=$(mktemp -d /tmp/wfc-bench-isolation.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
REPO="$WORK/repo"
mkdir -p "$REPO"
cd "$REPO"
git init --quiet --initial-branch=main
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@localhost
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@localhost
python3 - "$FILES" "$SIZE" <<'PY'
import os, sys
files, size = int(sys.argv[1]), int(sys.argv[2])
line = b"the quick brown fox jumps over the lazy dog 0123456789\n"
for i in range(files):
    folder = f"src/d{i // 100:03d}"
    os.makedirs(folder, exist_ok=True)
    body = (f"file {i}\n".encode() + line * (size // len(line) + 1))[:size]
    open(f"{folder}/f{i:05d}.txt", "wb").write(body)
PY
{
  echo "workflow fan {"
  for i in $(seq 0 $((TASKS - 1))); do
    f=$(printf 'src/d%03d/f%05d.txt' $((i * (FILES / TASKS) / 100)) $((i * (FILES / TASKS))))
    printf '  task t%d {\n    run = "echo change %d >> %s"\n  }\n' "$i" "$i" "$f"
  done
  echo "}"
} > fan.wf
git add --all
git commit --quiet --message=base
echo "repository: $FILES files, $(du -sh --exclude=.git . | cut -f1) in the checkout; $TASKS tasks" >&2

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# The raw git commands for the whole fan-out, as a plain script would do them.
raw_git() {
  local base outputs=() wt out tree index
  base=$(git rev-parse HEAD)
  for i in $(seq 0 $((TASKS - 1))); do
    wt="$WORK/raw-wt"
    git worktree add --detach --quiet "$wt" "$base"
    f=$(printf 'src/d%03d/f%05d.txt' $((i * (FILES / TASKS) / 100)) $((i * (FILES / TASKS))))
    echo "change $i" >> "$wt/$f"
    index="$WORK/raw-index"
    rm -f "$index"
    GIT_INDEX_FILE="$index" git --work-tree="$wt" read-tree "$base"
    GIT_INDEX_FILE="$index" git --work-tree="$wt" add --all
    tree=$(GIT_INDEX_FILE="$index" git --work-tree="$wt" write-tree)
    out=$(echo "t$i" | git commit-tree -p "$base" "$tree")
    git update-ref "refs/raw/t$i" "$out"
    git worktree remove --force "$wt"
    outputs+=("$out")
  done
  local merged=${outputs[0]} result
  for out in "${outputs[@]:1}"; do
    tree=$(git merge-tree --write-tree "$merged" "$out")
    merged=$(echo merge | git commit-tree -p "$merged" -p "$out" "$tree")
  done
  git update-ref refs/heads/raw-result "$merged"
}

time_ms() { # runs "$@" RUNS times; prints the median in ms
  for _ in $(seq "$RUNS"); do
    rm -rf .wfc
    git for-each-ref --format='%(refname)' refs/raw refs/wfc | xargs -r -n1 git update-ref -d
    local start end
    start=$(now_ms)
    "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
    end=$(now_ms)
    echo $((end - start))
  done | median
}

RAW_MS=$(time_ms raw_git)
NONE_MS=$(time_ms "$WFC" run fan.wf -j 1 --isolation none)
git checkout --quiet -- . # the run without isolation changed the checkout
GIT_MS=$(time_ms "$WFC" run fan.wf -j 1 --isolation git)
echo "raw git script:           ${RAW_MS} ms  (median of $RUNS)"
echo "wfc --isolation none:     ${NONE_MS} ms"
echo "wfc --isolation git:      ${GIT_MS} ms"
awk -v raw="$RAW_MS" -v none="$NONE_MS" -v iso="$GIT_MS" -v n="$TASKS" 'BEGIN {
  over = (iso - none) / n; per = raw / n
  printf "per task:                 isolation overhead %.1f ms, raw git %.1f ms\n", over, per
  printf "ratio:                    wfc overhead / raw git = %.2f\n", over / per
}'
