#!/usr/bin/env bash
# The engine's own overhead per agent task: `wfc run` of N independent Claude Code tasks, one
# at a time (-j 1), against a local scripted model server (benches/model_server.py), on the
# SQLite store. Overhead = the run's wall time minus the time the `claude` processes ran
# (each session's `process_ms`, from its `agent_session` event), divided by N. The same run
# with the `command` adapter running `cat` is the reference: it has the same engine work and a
# near-zero agent. Target: under 20 ms per task.
#
# Needs the Claude Code CLI: `claude` on PATH, or WFC_BENCH_CLAUDE=PATH; the tests install it
# under ~/.cache/wfc-tools/npm (which this script also looks in).
set -euo pipefail
cd "$(dirname "$0")/.."

TASKS=${TASKS:-20}
RUNS=${RUNS:-3}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
CLAUDE=${WFC_BENCH_CLAUDE:-$(command -v claude || echo "${XDG_CACHE_HOME:-$HOME/.cache}/wfc-tools/npm/node_modules/.bin/claude")}
if [[ ! -x "$CLAUDE" ]]; then
  echo "error: no Claude Code CLI at $CLAUDE; run the tests once (they install it) or set WFC_BENCH_CLAUDE" >&2
  exit 1
fi

echo "building wfc (release)…" >&2
cargo build --release --quiet
WFC="$(realpath "$TARGET_DIR/release/wfc")"
ROOT="$(pwd)"

WORK=$(mktemp -d /tmp/wfc-bench-agents.XXXXXX)
python3 "$ROOT/benches/model_server.py" "$WORK/port" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do [[ -s "$WORK/port" ]] && break; sleep 0.1; done
PORT=$(cat "$WORK/port")

python3 - "$WORK" "$TASKS" "$CLAUDE" <<'PY'
import sys
work, tasks, claude = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for name, profile in [
    ("claude", f'agent bot {{\n  adapter = "claude-code"\n  bin = "{claude}"\n  max_turns = 3\n}}\n'),
    ("command", 'agent bot {\n  adapter = "command"\n  command = ["cat"]\n}\n'),
]:
    body = [profile, "workflow bench {"]
    for i in range(tasks):
        body.append(f'  task t{i} {{\n    prompt = "Task {i}: say done."\n    agent  = bot\n  }}\n')
    body.append("}")
    open(f"{work}/{name}.wf", "w").write("\n".join(body) + "\n")
PY
cd "$WORK"
mkdir -p home

# Runs one workflow RUNS times; prints "wall_ms agent_ms" medians over the runs.
measure() {
  local file=$1
  for _ in $(seq "$RUNS"); do
    rm -rf .wfc
    local start end
    start=$(date +%s%N)
    env -i PATH="/usr/local/bin:/usr/bin:/bin" HOME="$WORK/home" \
      ANTHROPIC_BASE_URL="http://127.0.0.1:$PORT" ANTHROPIC_API_KEY=bench \
      "$WFC" run "$file" -j 1 >/dev/null 2>&1 || { echo "failed: wfc run $file" >&2; exit 1; }
    end=$(date +%s%N)
    local agent
    local run
    run=$("$WFC" runs --json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["id"])')
    agent=$("$WFC" logs "$run" --json 2>/dev/null | python3 -c '
import json, sys
events = [json.loads(line) for line in sys.stdin if line.strip()]
print(sum(e["data"].get("process_ms", 0) for e in events if e["kind"] == "agent_session"))')
    echo "$(( (end - start) / 1000000 )) $agent"
  done | sort -n | awk '{w[NR]=$1; a[NR]=$2} END {m=int((NR+1)/2); print w[m], a[m]}'
}

read -r CLAUDE_WALL CLAUDE_AGENT < <(measure claude.wf)
read -r CMD_WALL CMD_AGENT < <(measure command.wf)
echo "tasks:            $TASKS agent tasks, -j 1, median of $RUNS runs"
awk -v w="$CLAUDE_WALL" -v a="$CLAUDE_AGENT" -v n="$TASKS" 'BEGIN {
  printf "claude-code:      run %d ms, claude processes %d ms (%.0f ms per session)\n", w, a, a / n
  printf "                  engine overhead %.1f ms per task (%.1f%% of a session)\n", (w - a) / n, 100 * (w - a) / a }'
awk -v w="$CMD_WALL" -v a="$CMD_AGENT" -v n="$TASKS" 'BEGIN {
  printf "command (cat):    run %d ms, processes %d ms; engine overhead %.1f ms per task\n", w, a, (w - a) / n }'
