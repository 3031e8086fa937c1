//! The SQLite store's schema and connection settings: the tables a new store gets, and what
//! [`super::SqliteBackend::open_with`] checks and sets on every connection before it is used.

use super::recognise::{damaged, not_ours};
use super::Stop;
use crate::runtime::BackendError;
use rusqlite::{Connection, ErrorCode};
use std::path::Path;
use std::time::{Duration, Instant};

/// The schema version this wfc writes and reads, kept in `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 6;

/// `PRAGMA application_id` of a wfc state store ("wfc1"), so another program's SQLite file
/// is recognised and left alone.
pub const APPLICATION_ID: i64 = 0x7766_6331;

/// How long a connection waits for another process's write lock before giving up. Writes
/// are short (one transition), so waiting this long means something is stuck.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The table version 2 added: where each run works (its workspace and host). A store of
/// version 1 gets it when a command that writes opens it ([`prepare_writer`]).
macro_rules! run_places_table {
    () => {
        "CREATE TABLE run_places (
    run       TEXT PRIMARY KEY NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    workspace TEXT NOT NULL,
    host      TEXT NOT NULL
) WITHOUT ROWID;
"
    };
}

/// The table version 3 added: the generation of each run's plan, counted up each time
/// `wfc resume --replan` replaced it. A run without a row is at generation 0, so version 2's
/// runs need no row.
macro_rules! run_plans_table {
    () => {
        "CREATE TABLE run_plans (
    run        TEXT PRIMARY KEY NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    generation INTEGER NOT NULL
) WITHOUT ROWID;
"
    };
}

/// The table version 4 added: the repository of each run whose work moves between machines
/// through a shared remote (its URL and base commit). Other runs have no row.
macro_rules! run_repositories_table {
    () => {
        "CREATE TABLE run_repositories (
    run    TEXT PRIMARY KEY NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    remote TEXT NOT NULL,
    base   TEXT NOT NULL
) WITHOUT ROWID;
"
    };
}

/// What version 6 added to `tasks`: how many of each task's dependencies are not done
/// (`unfinished_deps`), kept by every transaction that moves a task into or out of a state
/// that satisfies its dependants, and an index of the pending tasks whose count is 0, so a
/// look for ready tasks reads what it returns instead of every pending task's dependencies.
macro_rules! ready_index {
    () => {
        "CREATE INDEX tasks_ready ON tasks (run, priority, position) \
         WHERE state = 'pending' AND unfinished_deps = 0;
"
    };
}

/// The version of the schema that added table `name`: what a store of an older version, read
/// as it is, lacks without being damaged.
pub fn added_in(name: &str) -> i64 {
    match name {
        "run_places" => 2,
        "run_plans" => 3,
        "run_repositories" => 4,
        "tasks_ready" => 6,
        _ => 1,
    }
}

/// The version of the schema that added column `column` of table `table` (to a table older
/// than it).
pub fn column_added_in(table: &str, column: &str) -> i64 {
    match (table, column) {
        ("tasks", "output") => 3,
        ("tasks", "typed_output") => 5,
        ("tasks", "unfinished_deps") => 6,
        _ => 1,
    }
}

/// The tables of schema version 6.
///
/// - `runs`: one row a run; `plan` is the JSON of its [`crate::plan::Plan`] snapshot, and
///   `workflow` and `source` are copied out of it so listing runs parses no plan.
/// - `tasks`: one row a task, keyed by run and task id; `position` is its index in the plan;
///   `output` its output commit in a run isolated in git worktrees (version 3);
///   `typed_output` the JSON of its typed output, once it succeeded (version 5);
///   `unfinished_deps` how many of its dependencies are not done (version 6), which the
///   `tasks_ready` index reads.
/// - `deps`: `child` waits for `parent`, both tasks of `run`.
/// - `events`: each run's log, `seq` counting from 1; `data` is JSON.
/// - `run_places`: where each run works (version 2).
/// - `run_plans`: the generation of each replanned run's plan (version 3).
/// - `run_repositories`: the shared repository of each run whose work moves between
///   machines (version 4).
pub const SCHEMA: &str = concat!(
    "
CREATE TABLE runs (
    id          TEXT PRIMARY KEY NOT NULL,
    state       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER,
    workflow    TEXT NOT NULL,
    source      TEXT NOT NULL,
    plan        TEXT NOT NULL
);
CREATE TABLE tasks (
    run          TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    position     INTEGER NOT NULL,
    priority     INTEGER NOT NULL,
    is_gate      INTEGER NOT NULL,
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    worker       TEXT,
    lease_until  INTEGER,
    started_at   INTEGER,
    finished_at  INTEGER,
    result       TEXT,
    last_error   TEXT,
    output       TEXT,
    typed_output TEXT,
    unfinished_deps INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run, id)
);
CREATE INDEX tasks_by_state ON tasks (run, state, priority, position);
CREATE INDEX tasks_in_order ON tasks (run, position);
",
    ready_index!(),
    "CREATE TABLE deps (
    run    TEXT NOT NULL,
    child  TEXT NOT NULL,
    parent TEXT NOT NULL,
    PRIMARY KEY (run, child, parent),
    FOREIGN KEY (run, child) REFERENCES tasks (run, id) ON DELETE CASCADE,
    FOREIGN KEY (run, parent) REFERENCES tasks (run, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX deps_by_parent ON deps (run, parent);
CREATE TABLE events (
    run  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq  INTEGER NOT NULL,
    at   INTEGER NOT NULL,
    kind TEXT NOT NULL,
    task TEXT,
    data TEXT NOT NULL,
    PRIMARY KEY (run, seq)
);
",
    run_places_table!(),
    run_plans_table!(),
    run_repositories_table!()
);

/// Sets up a connection that may write to the wfc store at `path`. The store's identity and
/// version are checked first, by reading only, so a file that is not a store of this wfc's
/// schema is refused before anything is written to it.
///
/// - `busy_timeout`: several processes share the file; one that finds it locked waits (up to
///   [`BUSY_TIMEOUT`]) instead of failing with `database is locked`.
/// - `journal_mode = WAL`: readers never block the writer nor the writer the readers, and a
///   commit is one append to the log. It is a property of the file, set when the store is
///   created; setting it again is a no-op.
/// - `synchronous = NORMAL`: in WAL mode every committed transaction survives a crash of the
///   process (the `kill -9` that `wfc resume` recovers from); only a crash of the machine or a
///   power cut can roll back the last commits, which at worst runs a task again (tasks are
///   at-least-once across power cuts). `FULL` would sync the disk at every commit: about 0.3 ms
///   each, which made 2,000 no-op tasks 40% slower (docs/performance.md).
/// - `foreign_keys = ON`: tasks, dependencies and events cannot name a missing run or task.
/// - the query planner's stability guarantee ([`plan_once`]).
pub fn prepare_writer(conn: &Connection, path: &Path) -> Result<(), Stop> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    plan_once(conn)?;
    identify(conn, path)?;
    use_wal(conn, path)?;
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
    migrate(conn)?;
    Ok(())
}

/// Turns on SQLite's query planner stability guarantee (`SQLITE_DBCONFIG_ENABLE_QPSG`): a
/// statement's plan never depends on the values bound to it, so a cached statement is
/// compiled once. Without it SQLite marks a parameter it looked at while planning (a
/// `LIMIT ?N`, an `x = ?N` a candidate plan did not use), and rusqlite's statement cache
/// clears the bindings of every statement it takes back, which for a marked statement means
/// compiling it again at its next use: a fifth of the instructions of a run of no-op tasks
/// went into compiling the same statements again (docs/performance.md). The store keeps no
/// statistics (`ANALYZE`), so no plan could gain from the values.
fn plan_once(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

/// Brings a store of an older schema version to [`SCHEMA_VERSION`], in one transaction taken
/// up front, so of two processes opening it at once one migrates and the other finds it
/// done. Only commands that write migrate; reading ones read an older store as it is.
fn migrate(conn: &Connection) -> Result<(), Stop> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version >= SCHEMA_VERSION {
        return Ok(());
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let migrated = (|| -> rusqlite::Result<()> {
        let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if version < 2 {
            conn.execute_batch(run_places_table!())?;
        }
        if version < 3 {
            conn.execute_batch(run_plans_table!())?;
            conn.execute_batch("ALTER TABLE tasks ADD COLUMN output TEXT;")?;
        }
        if version < 4 {
            conn.execute_batch(run_repositories_table!())?;
        }
        if version < 5 {
            conn.execute_batch("ALTER TABLE tasks ADD COLUMN typed_output TEXT;")?;
        }
        if version < 6 {
            conn.execute_batch(
                "ALTER TABLE tasks ADD COLUMN unfinished_deps INTEGER NOT NULL DEFAULT 0;",
            )?;
            conn.execute(count_unfinished_deps!(""), [])?;
            conn.execute_batch(ready_index!())?;
        }
        conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION};"))?;
        Ok(())
    })();
    match migrated {
        Ok(()) => conn.execute_batch("COMMIT")?,
        Err(error) => {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(error.into());
        }
    }
    Ok(())
}

/// The schema version of the store `conn` is open on.
pub fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

/// Sets up a read-only connection to the wfc store at `path`: its identity and version are
/// checked, and `query_only` makes sure no statement of it can write, whatever the file's
/// permissions allow.
pub fn prepare_reader(conn: &Connection, path: &Path) -> Result<(), Stop> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    plan_once(conn)?;
    identify(conn, path)?;
    conn.execute_batch("PRAGMA query_only = ON;")?;
    Ok(())
}

/// Sets `journal_mode = WAL` on a new store's connection, and fails unless the file takes it.
pub fn use_wal(conn: &Connection, path: &Path) -> Result<(), Stop> {
    let mode = switch_to_wal(conn)?;
    if mode.eq_ignore_ascii_case("wal") {
        return Ok(());
    }
    Err(Stop::Backend(BackendError::storage(
        format!(
            "the state store `{}` cannot use write-ahead logging (its journal mode stays `{mode}`)",
            path.display()
        ),
        "put the store on a local disk (write-ahead logging does not work on network file \
         systems), or choose another path for it",
    )))
}

/// Sets `journal_mode = WAL` and returns the mode the file has then. SQLite answers
/// `SQLITE_BUSY` at once, without waiting, while another connection is switching the file
/// too (waiting could deadlock): try again until [`BUSY_TIMEOUT`] has passed.
fn switch_to_wal(conn: &Connection) -> rusqlite::Result<String> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)) {
            Err(error)
                if error.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            answer => return answer,
        }
    }
}

/// Reads the store's `application_id` and `user_version`: accepts a wfc store of
/// [`SCHEMA_VERSION`]; refuses another program's file, a newer schema and a store that carries
/// wfc's mark without a version.
fn identify(conn: &Connection, path: &Path) -> Result<(), Stop> {
    let application_id: i64 = conn.query_row("PRAGMA application_id", [], |row| row.get(0))?;
    if application_id != APPLICATION_ID {
        return Err(Stop::Backend(not_ours(path)));
    }
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(Stop::Backend(BackendError::storage(
            format!(
                "the state store `{}` has schema version {version}, newer than this wfc reads \
                 (version {SCHEMA_VERSION}); wfc left it unchanged",
                path.display()
            ),
            "a newer wfc wrote it: use that wfc (or a newer one) with this store, or choose \
             another path for the store",
        )));
    }
    if version < 1 {
        return Err(Stop::Backend(damaged(
            path,
            &format!("it carries wfc's mark but schema version {version}, which no wfc writes"),
        )));
    }
    Ok(())
}
