#!/usr/bin/env bash
# Many engines on Postgres against one engine on SQLite: 2,000 no-op command tasks (`true`),
# shaped as 40 chains of 50, run by `wfc run -j 8` on SQLite, and on Postgres by `wfc run -j 2`
# with three `wfc worker -j 2` beside it (four engines, eight tasks at once in both cases),
# measured in the same run. Reports wall time, claims per second and the ratio (target:
# Postgres with 4 engines at least as fast as SQLite with one), and the pick-up latency on
# Postgres: from a task's predecessor succeeding (which makes it ready) to its claim, over
# every chained task (target: under 50 ms at the median).
#
# Needs a PostgreSQL server: WFC_BENCH_POSTGRES_URL, else WFC_TEST_POSTGRES_URL, else
# postgres://postgres@127.0.0.1:5432/test. Each run works in a schema of its own, dropped after.
# The URL's `sslmode` applies (libpq's default, `prefer`, uses TLS if the server offers it).
set -euo pipefail
cd "$(dirname "$0")/.."

CHAINS=${CHAINS:-40}
LENGTH=${LENGTH:-50}
RUNS=${RUNS:-3}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
SERVER=${WFC_BENCH_POSTGRES_URL:-${WFC_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}}

# WFC_BIN names a wfc binary to measure instead of this tree's release build (to compare
# two versions on the same machine at the same time).
if [ -n "${WFC_BIN:-}" ]; then
  WFC="$(realpath "$WFC_BIN")"
else
  echo "building wfc (release)…" >&2
  cargo build --release --quiet
  WFC="$(realpath "$TARGET_DIR/release/wfc")"
fi

WORK=$(mktemp -d /tmp/wfc-bench-pg.XXXXXX)
SCHEMAS=()
cleanup() {
  for schema in "${SCHEMAS[@]}"; do
    psql -q "$SERVER" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

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
echo "workflow: $TASKS tasks in $CHAINS chains of $LENGTH" >&2
cd "$WORK"

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

sqlite_ms() {
  rm -rf .wfc
  local start end
  start=$(now_ms)
  "$WFC" run noop.wf -j 8 >/dev/null 2>&1 || { echo "failed: sqlite run" >&2; exit 1; }
  end=$(now_ms)
  echo $(( end - start ))
}

LATENCIES="$WORK/latencies"
ENGINES="$WORK/engines"
: > "$LATENCIES"
: > "$ENGINES"
postgres_ms() {
  local schema url start end run_pid
  schema="wfc_bench_$$_$1"
  SCHEMAS+=("$schema")
  case "$SERVER" in *\?*) url="$SERVER&schema=$schema" ;; *) url="$SERVER?schema=$schema" ;; esac
  start=$(now_ms)
  "$WFC" run noop.wf -j 2 --backend "$url" >"$WORK/run.out" 2>&1 &
  run_pid=$!
  # The workers join as soon as the run is stored with its tasks (a wfc older than the one
  # step that stores both shows the run a moment before its tasks, and a worker that joined
  # then found nothing to do and left); each stops once nothing is left.
  until "$WFC" runs --backend "$url" 2>/dev/null | grep -q "/$TASKS "; do sleep 0.01; done
  for _ in 1 2 3; do
    "$WFC" worker -j 2 --exit-when-idle --backend "$url" >/dev/null 2>&1 &
  done
  wait "$run_pid" || { echo "failed: postgres run" >&2; cat "$WORK/run.out" >&2; exit 1; }
  end=$(now_ms)
  wait
  "$WFC" logs latest --json --backend "$url" | python3 -c '
import json, sys
succeeded, claimed, engines = {}, {}, {}
for line in sys.stdin:
    event = json.loads(line)
    if event["kind"] == "task_succeeded":
        succeeded[event["task"]] = event["at"]
    elif event["kind"] == "task_claimed":
        claimed.setdefault(event["task"], event["at"])
        worker = event["data"]["worker"]
        engines[worker] = engines.get(worker, 0) + 1
# How many tasks each engine claimed: four engines must have shared the work.
with open(sys.argv[1], "a") as out:
    out.write(" ".join(str(n) for n in sorted(engines.values(), reverse=True)) + "\n")
for task, at in claimed.items():
    chain, step = task[1:].split("_")
    before = f"c{chain}_{int(step) - 1}"
    if int(step) > 0 and before in succeeded:
        print(at - succeeded[before])
' "$ENGINES" >> "$LATENCIES"
  # This runs in a subshell (`$(postgres_ms N)`), whose additions to SCHEMAS the trap of the
  # script never sees: the schema is dropped here.
  psql -q "$SERVER" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  echo $(( end - start ))
}

SQLITE=()
POSTGRES=()
for i in $(seq "$RUNS"); do
  SQLITE+=("$(sqlite_ms)")
  POSTGRES+=("$(postgres_ms "$i")")
done
SQLITE_MS=$(printf '%s\n' "${SQLITE[@]}" | median)
POSTGRES_MS=$(printf '%s\n' "${POSTGRES[@]}" | median)
echo "SQLite, one engine -j 8:        ${SQLITE_MS} ms  (median of $RUNS: ${SQLITE[*]})"
echo "Postgres, four engines -j 2:    ${POSTGRES_MS} ms  (median of $RUNS: ${POSTGRES[*]})"
awk -v s="$SQLITE_MS" -v p="$POSTGRES_MS" -v n="$TASKS" 'BEGIN {printf "claims per second:              SQLite %.0f, Postgres %.0f\nratio:                          Postgres / SQLite = %.2f\n", n / (s / 1000), n / (p / 1000), p / s}'
echo "tasks claimed by each engine:   $(paste -sd '|' "$ENGINES" | sed 's/|/ | /g')"
sort -n "$LATENCIES" | awk '{a[NR]=$1} END {if (NR) printf "pick-up latency on Postgres:    median %d ms, p90 %d ms (%d tasks)\n", a[int((NR+1)/2)], a[int(NR*0.9)], NR}'
