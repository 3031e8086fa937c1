//! The SQLite store's schema and connection settings: what [`super::SqliteBackend::open`]
//! applies to every connection, and the tables it creates in a new file.

use super::Stop;
use crate::runtime::BackendError;
use rusqlite::{Connection, ErrorCode, TransactionBehavior};
use std::path::Path;
use std::time::{Duration, Instant};

/// The schema version this wfc writes and reads, kept in `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 1;

/// `PRAGMA application_id` of a wfc state store ("wfc1"), so another program's SQLite file
/// is recognised and left alone.
pub const APPLICATION_ID: i64 = 0x7766_6331;

/// How long a connection waits for another process's write lock before giving up. Writes
/// are short (one transition), so waiting this long means something is stuck.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The tables of schema version 1.
///
/// - `runs`: one row a run; `plan` is the JSON of its [`crate::plan::Plan`] snapshot, and
///   `workflow` and `source` are copied out of it so listing runs parses no plan.
/// - `tasks`: one row a task, keyed by run and task id; `position` is its index in the plan.
/// - `deps`: `child` waits for `parent`, both tasks of `run`.
/// - `events`: each run's log, `seq` counting from 1; `data` is JSON.
const SCHEMA: &str = "
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
    PRIMARY KEY (run, id)
);
CREATE INDEX tasks_by_state ON tasks (run, state, priority, position);
CREATE INDEX tasks_in_order ON tasks (run, position);
CREATE TABLE deps (
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
";

/// Sets up a freshly opened connection to the store at `path`, and creates the schema if the
/// file is new.
///
/// - `busy_timeout`: several processes share the file; one that finds it locked waits (up to
///   [`BUSY_TIMEOUT`]) instead of failing with `database is locked`.
/// - `journal_mode = WAL`: readers never block the writer nor the writer the readers, and a
///   commit is one append to the log. It is a property of the file, so every process sees it.
/// - `synchronous = NORMAL`: in WAL mode every committed transaction survives a crash of the
///   process (the `kill -9` that `wfc resume` recovers from); only a crash of the machine or a
///   power cut can roll back the last commits, which at worst runs a task again (tasks are
///   at-least-once across power cuts). `FULL` would sync the disk at every commit: about 0.3 ms
///   each, which made 2,000 no-op tasks 40% slower (docs/performance.md).
/// - `foreign_keys = ON`: tasks, dependencies and events cannot name a missing run or task.
pub fn prepare(conn: &mut Connection, path: &Path) -> Result<(), Stop> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode = switch_to_wal(conn)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Stop::Backend(BackendError::storage(
            format!(
                "the state store `{}` cannot use write-ahead logging (its journal mode stays `{mode}`)",
                path.display()
            ),
            "put the store on a local disk (write-ahead logging does not work on network file \
             systems), or choose another path for it",
        )));
    }
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
    let version = user_version(conn)?;
    if version == 0 {
        // A new file, or one another process is setting up right now: decide under the write
        // lock, so two processes opening a new store do not both create it.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version = user_version(&tx)?;
        if version == 0 {
            let tables: i64 = tx.query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
                [],
                |row| row.get(0),
            )?;
            if tables > 0 || application_id(&tx)? != 0 {
                return Err(not_ours(path));
            }
            tx.execute_batch(SCHEMA)?;
            tx.execute_batch(&format!(
                "PRAGMA user_version = {SCHEMA_VERSION}; PRAGMA application_id = {APPLICATION_ID};"
            ))?;
        } else {
            check_version(&tx, path, version)?;
        }
        tx.commit()?;
        return Ok(());
    }
    check_version(conn, path, version)
}

/// Sets `journal_mode = WAL` and returns the mode the file has then. Switching a new file
/// needs its exclusive lock, and SQLite answers `SQLITE_BUSY` at once, without waiting, while
/// another connection is switching it too (waiting could deadlock): try again until
/// [`BUSY_TIMEOUT`] has passed.
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

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

fn application_id(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA application_id", [], |row| row.get(0))
}

/// Accepts a store of [`SCHEMA_VERSION`]; refuses a newer one and any other program's file.
fn check_version(conn: &Connection, path: &Path, version: i64) -> Result<(), Stop> {
    if application_id(conn)? != APPLICATION_ID || version < 0 {
        return Err(not_ours(path));
    }
    if version > SCHEMA_VERSION {
        return Err(Stop::Backend(BackendError::storage(
            format!(
                "the state store `{}` has schema version {version}, newer than this wfc reads \
                 (version {SCHEMA_VERSION})",
                path.display()
            ),
            "a newer wfc wrote it: use that wfc (or a newer one) with this store, or choose \
             another path for the store",
        )));
    }
    Ok(())
}

fn not_ours(path: &Path) -> Stop {
    Stop::Backend(BackendError::storage(
        format!(
            "`{}` is an SQLite file but not a wfc state store",
            path.display()
        ),
        "choose another path for the store, or move this file aside if it is not needed",
    ))
}
