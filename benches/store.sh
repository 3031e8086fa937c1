#!/usr/bin/env bash
# Times what the SQLite store's checks cost on a large store: RUNS_IN_STORE runs (default 100)
# of 2,000 tasks each (40 chains of 50, so 1,960 dependencies a run). One run is made for real
# with `wfc run`; the others are copies of its rows under other ids. Prints the median time of
# `wfc status RUN` (open: header, version and schema checks; then the run read and checked
# against its plan), `wfc status` (the same for the newest run), `wfc runs` and `wfc store check` (integrity_check of every page), and of
# the SQL behind each check, timed alone with Python's sqlite3.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS_IN_STORE=${RUNS_IN_STORE:-100}
REPEAT=${REPEAT:-10}
TARGET_DIR=${CARGO_TARGET_DIR:-target}

echo "building wfc (release)…" >&2
cargo build --release --quiet --bin wfc
WFC="$(realpath "$TARGET_DIR/release/wfc")"

WORK=$(mktemp -d /tmp/wfc-bench-store.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

python3 - "$WORK" <<'PY'
import sys
wf = ["workflow noop {"]
for c in range(40):
    for i in range(50):
        after = f" after c{c}_{i - 1}" if i else ""
        wf.append(f"  task c{c}_{i}{after} {{\n    run = \"true\"\n  }}\n")
wf.append("}")
open(f"{sys.argv[1]}/noop.wf", "w").write("\n".join(wf) + "\n")
PY
cd "$WORK"
"$WFC" run noop.wf -j 8 >/dev/null 2>&1
python3 - "$RUNS_IN_STORE" <<'PY'
import sqlite3, sys
db = sqlite3.connect(".wfc/state.db")
(run,) = db.execute("SELECT id FROM runs").fetchone()
# Every table that holds a run's rows is copied column by column, so a new table or column
# of a later schema is copied too.
tables = [name for (name,) in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")]
columns = {t: [c for (_, c, *_rest) in db.execute(f"PRAGMA table_info({t})")] for t in tables}
for n in range(1, int(sys.argv[1])):
    copy = f"{run}-{n:03}"
    for table, names in columns.items():
        key = "id" if table == "runs" else "run" if "run" in names else None
        if key is None:
            continue
        chosen = ", ".join("?" if c == key else f"created_at - {n}" if (table, c) == ("runs", "created_at") else c for c in names)
        db.execute(f"INSERT INTO {table} ({', '.join(names)}) SELECT {chosen} FROM {table} WHERE {key} = ?", (copy, run))
db.commit()
db.close()
PY
SIZE=$(du -k .wfc/state.db | cut -f1)
COUNTS=$(python3 -c 'import sqlite3; d = sqlite3.connect(".wfc/state.db"); print(*(d.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("runs", "tasks", "deps", "events")))')
echo "store: ${SIZE} KiB; runs, tasks, deps, events: $COUNTS"

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
time_ms() {  # runs "$@" REPEAT times; prints the median in ms (of wall time, with process start)
  for _ in $(seq "$REPEAT"); do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
    end=$(date +%s%N)
    echo "scale=1; ($end - $start) / 1000000" | bc
  done | median
}
echo "wfc --version:    $(time_ms "$WFC" --version) ms  (process start, the floor)"
echo "wfc runs:         $(time_ms "$WFC" runs) ms"
NEWEST=$("$WFC" runs --json | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["id"])')
echo "wfc status RUN:   $(time_ms "$WFC" status "$NEWEST") ms  (a run of 2,000 tasks, read and checked)"
echo "wfc status:       $(time_ms "$WFC" status) ms  (the same, found as the newest by listing the runs)"
RUN_EVENTS=$(python3 -c 'import sqlite3, sys; d = sqlite3.connect(".wfc/state.db"); print(d.execute("SELECT count(*) FROM events WHERE run = ?", (sys.argv[1],)).fetchone()[0])' "$NEWEST")
echo "wfc logs RUN:     $(time_ms "$WFC" logs "$NEWEST") ms  (the run's $RUN_EVENTS events)"
echo "wfc logs RUN TASK: $(time_ms "$WFC" logs "$NEWEST" c20_25) ms  (one task's events)"
echo "wfc store check:  $(time_ms "$WFC" store check) ms"

python3 - "$REPEAT" <<'PY'
import sqlite3, statistics, sys, time
repeat = int(sys.argv[1])
db = sqlite3.connect("file:.wfc/state.db?mode=ro", uri=True)
(run,) = db.execute("SELECT id FROM runs ORDER BY created_at DESC LIMIT 1").fetchone()
def ms(sql, *args):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        db.execute(sql, args).fetchall()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)
shape = ms("SELECT m.name, c.name FROM sqlite_schema m, pragma_table_info(m.name) c WHERE m.type = 'table'") \
    + ms("SELECT m.name, m.tbl_name, c.name FROM sqlite_schema m, pragma_index_info(m.name) c WHERE m.type = 'index'")
print(f"SQL, schema check on open:        {shape:.2f} ms")
per_run = ms("SELECT id FROM tasks WHERE run = ?", run) + ms("SELECT child, parent FROM deps WHERE run = ?", run)
print(f"SQL, one run's rows (2,000 tasks): {per_run:.2f} ms (wfc also parses the plan, which it reads anyway)")
print(f"SQL, PRAGMA quick_check:          {ms('PRAGMA quick_check'):.1f} ms")
print(f"SQL, PRAGMA integrity_check:      {ms('PRAGMA integrity_check'):.1f} ms")
print(f"SQL, PRAGMA foreign_key_check:    {ms('PRAGMA foreign_key_check'):.1f} ms")
PY
