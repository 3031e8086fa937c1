//! The SQLite backend (`sqlite:PATH`, the default: `.wfc/state.db` under the workspace): one
//! file in write-ahead-log mode that several `wfc` processes share.
//!
//! Every method that changes state is one `BEGIN IMMEDIATE` transaction: it takes the file's
//! write lock before reading anything, so no two processes can both read a task as free and
//! both claim it. Reads run in a deferred transaction and see one consistent snapshot. The
//! behaviour matches [`MemoryBackend`](super::MemoryBackend), the reference, on every point.

mod create;
mod integrity;
mod recognise;
mod schema;

pub use schema::SCHEMA_VERSION;

use recognise::{recognise, Found};

use crate::plan::{Plan, TaskSpec};
use crate::runtime::lifecycle::{self, TaskFacts, TaskReset};
use crate::runtime::*;
use rusqlite::types::Type;
use rusqlite::{
    params, Connection, ErrorCode, OpenFlags, OptionalExtension, Row, TransactionBehavior,
};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// A backend that keeps runs, tasks and events in one SQLite file.
///
/// One object holds one connection behind a mutex, so it can be shared by threads; several
/// processes (or several objects) on the same file each have their own connection, and
/// SQLite's file locks keep them apart.
pub struct SqliteBackend {
    path: PathBuf,
    conn: Mutex<Connection>,
    /// The store's schema version: a store of an older version opened to read is read as it
    /// is, without what later versions added (where runs work, plan generations).
    version: i64,
}

impl std::fmt::Debug for SqliteBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteBackend")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Why a step inside a transaction stopped: a backend answer (not found, conflict) or an
/// SQLite failure, which becomes a `Storage` error naming the file.
pub(crate) enum Stop {
    Backend(BackendError),
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for Stop {
    fn from(error: rusqlite::Error) -> Self {
        Stop::Sql(error)
    }
}

impl From<BackendError> for Stop {
    fn from(error: BackendError) -> Self {
        Stop::Backend(error)
    }
}

type Step<T> = Result<T, Stop>;

/// What a command may do with a store, which decides how it is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read only (`wfc status`, `runs`, `logs`, `store check`): a read-only connection that
    /// changes nothing in the file, not even its journal mode. No store is an error.
    Read,
    /// Read and write an existing store (`wfc resume`, `worker`, `retry`, `cancel`, answers).
    /// No store is an error.
    Write,
    /// Read and write, making a new store if there is no file at the path (`wfc run`).
    Create,
}

impl SqliteBackend {
    /// Opens the store at `path` for writing, creating it (and its folders) if there is no
    /// file there: [`Access::Create`].
    pub fn open(path: &Path) -> BackendResult<SqliteBackend> {
        SqliteBackend::open_with(path, Access::Create)
    }

    /// Opens the store at `path` as `access` allows. The file is recognised as a wfc store
    /// from its header before SQLite writes anything to it; then its schema version and its
    /// tables are checked. An empty or unreadable file, another program's SQLite file, a store
    /// of a newer schema and a store with missing tables or columns are refused, unchanged.
    /// Every failure is a `Storage` error naming the file, with a hint; a missing store that
    /// `access` may not create is `NotFound`.
    pub fn open_with(path: &Path, access: Access) -> BackendResult<SqliteBackend> {
        let what = || "open it".to_string();
        let mut found = recognise(path)?;
        if found == Found::Absent {
            if access != Access::Create {
                return Err(BackendError::not_found(format!(
                    "there is no wfc state store at `{}`",
                    path.display()
                )));
            }
            create::create(path)?;
            found = recognise(path)?;
        }
        if found == Found::MaybeStore {
            // Only a read-only connection may read through another program's log: a writing
            // one could fold the log into the file when it closes.
            let probe = Connection::open_with_flags(path, read_only_flags())
                .map_err(|error| storage_error(path, &what(), &error))?;
            schema::prepare_reader(&probe, path).map_err(|stop| fail(path, stop, what))?;
        }
        let conn = match access {
            Access::Read => {
                let conn = Connection::open_with_flags(path, read_only_flags())
                    .map_err(|error| storage_error(path, &what(), &error))?;
                schema::prepare_reader(&conn, path).map_err(|stop| fail(path, stop, what))?;
                conn
            }
            Access::Write | Access::Create => {
                // No create flag: the file exists, and must not be made anew if it vanished.
                let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = Connection::open_with_flags(path, flags)
                    .map_err(|error| storage_error(path, &what(), &error))?;
                // SQLite opens a file it may not write read-only instead of failing; a store
                // that cannot be written must fail now, not at the first transition of a run.
                if conn
                    .is_readonly(rusqlite::MAIN_DB)
                    .map_err(|error| storage_error(path, &what(), &error))?
                {
                    return Err(BackendError::storage(
                        format!(
                            "the state store `{}` is read-only for this user",
                            path.display()
                        ),
                        unwritable(&path.display()),
                    ));
                }
                schema::prepare_writer(&conn, path).map_err(|stop| fail(path, stop, what))?;
                conn
            }
        };
        integrity::check_shape(&conn, path).map_err(|stop| fail(path, stop, what))?;
        let version =
            schema::version(&conn).map_err(|error| storage_error(path, &what(), &error))?;
        // Room for every statement below, so none is compiled twice.
        conn.set_prepared_statement_cache_capacity(64);
        Ok(SqliteBackend {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            version,
        })
    }

    /// Checks the whole store: SQLite's `integrity_check` of every page, rows that name a
    /// missing run or task, and every run's tasks and dependencies against its plan. It reads
    /// every page of the file, so it takes time in proportion to the store's size.
    pub fn check(&self) -> BackendResult<StoreCheck> {
        let path = &self.path;
        self.read(
            || "check it".to_string(),
            |tx| {
                let mut problems = integrity::file_problems(tx, 100)?;
                let mut runs = tx.prepare("SELECT id, plan FROM runs ORDER BY created_at, id")?;
                let rows = runs
                    .query_map([], |row| {
                        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let mut tasks = 0;
                for (run, plan) in &rows {
                    match serde_json::from_str::<Plan>(plan) {
                        Ok(plan) => {
                            tasks += plan.tasks.len();
                            let mut found = integrity::run_problems(tx, run, &plan)?;
                            if self.version >= 6 {
                                found.extend(integrity::count_problems(tx, run)?);
                            }
                            for problem in found {
                                problems.push(format!("run `{run}`: {problem}"));
                            }
                        }
                        Err(error) => problems.push(format!(
                            "run `{run}`: its plan snapshot does not parse: {error}"
                        )),
                    }
                }
                let events: i64 =
                    tx.query_row("SELECT count(*) FROM events", [], |row| row.get(0))?;
                Ok(StoreCheck {
                    path: path.clone(),
                    runs: rows.len(),
                    tasks,
                    events: usize::try_from(events).unwrap_or(0),
                    problems,
                })
            },
        )
    }

    /// The file the store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock dropped its transaction, which rolled back: the
        // connection is still usable.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `body` in one write transaction, taken up front (`BEGIN IMMEDIATE`), and commits
    /// it if `body` succeeds. `what` names the operation for an error message.
    fn write<T>(
        &self,
        what: impl FnOnce() -> String,
        body: impl FnOnce(&Connection) -> Step<T>,
    ) -> BackendResult<T> {
        self.transaction(TransactionBehavior::Immediate, what, body)
    }

    /// Runs `body` in one read transaction, so it sees one snapshot of the store.
    fn read<T>(
        &self,
        what: impl FnOnce() -> String,
        body: impl FnOnce(&Connection) -> Step<T>,
    ) -> BackendResult<T> {
        self.transaction(TransactionBehavior::Deferred, what, body)
    }

    fn transaction<T>(
        &self,
        behavior: TransactionBehavior,
        what: impl FnOnce() -> String,
        body: impl FnOnce(&Connection) -> Step<T>,
    ) -> BackendResult<T> {
        let conn = self.lock();
        let result = (|| {
            // `BEGIN` and `COMMIT` are prepared once per connection: a run makes thousands of
            // short transactions, and preparing the two anew each time cost more than
            // running them.
            let begin = match behavior {
                TransactionBehavior::Immediate => "BEGIN IMMEDIATE",
                TransactionBehavior::Exclusive => "BEGIN EXCLUSIVE",
                _ => "BEGIN DEFERRED",
            };
            conn.prepare_cached(begin)?.execute([])?;
            let open = OpenTransaction(&conn);
            let value = body(open.0)?;
            conn.prepare_cached("COMMIT")?.execute([])?;
            Ok(value)
        })();
        result.map_err(|stop| fail(&self.path, stop, what))
    }
}

/// A transaction begun on a connection: dropped before it was committed (its body failed, or
/// panicked), it is rolled back, so the connection is left ready for the next one.
struct OpenTransaction<'c>(&'c Connection);

impl Drop for OpenTransaction<'_> {
    fn drop(&mut self) {
        if !self.0.is_autocommit() {
            // A failed rollback leaves nothing more to do here: SQLite rolls back a
            // transaction whose statement failed badly by itself, and the next `BEGIN`
            // reports whatever is still wrong.
            let _ = self.0.execute_batch("ROLLBACK");
        }
    }
}

/// What [`SqliteBackend::check`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreCheck {
    /// The store's file.
    pub path: PathBuf,
    /// How many runs, tasks (by their plans) and events it holds.
    pub runs: usize,
    /// See `runs`.
    pub tasks: usize,
    /// See `runs`.
    pub events: usize,
    /// Each thing that is wrong, in words that name the table and the run; empty when the
    /// store is sound.
    pub problems: Vec<String>,
}

/// How read-only connections are opened. No URI flag: a path is a path, even one that
/// starts with `file:`.
fn read_only_flags() -> OpenFlags {
    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
}

/// Turns a stopped step into the error the caller sees.
fn fail(path: &Path, stop: Stop, what: impl FnOnce() -> String) -> BackendError {
    match stop {
        Stop::Backend(error) => error,
        Stop::Sql(error) => storage_error(path, &what(), &error),
    }
}

/// A `Storage` error for an SQLite failure while doing `what` with the store at `path`.
fn storage_error(path: &Path, what: &str, error: &rusqlite::Error) -> BackendError {
    let file = path.display();
    let hint = match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => format!(
            "another process kept `{file}` locked for more than {} seconds: try again, and look \
             for a stuck wfc process using this store",
            schema::BUSY_TIMEOUT.as_secs()
        ),
        Some(ErrorCode::DiskFull) => format!(
            "the disk holding `{file}` is full: free some space and try again (the failed step \
             changed nothing)"
        ),
        Some(
            ErrorCode::ReadOnly
            | ErrorCode::PermissionDenied
            | ErrorCode::CannotOpen
            | ErrorCode::AuthorizationForStatementDenied,
        ) => unwritable(&file),
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => recognise::damaged_hint(),
        Some(ErrorCode::SystemIoFailure | ErrorCode::FileLockingProtocolFailed) => format!(
            "reading or writing `{file}` failed: check the disk and that the file system \
             supports file locks (a network share may not), then try again"
        ),
        _ => match error {
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::Utf8Error(..) => recognise::damaged_hint(),
            _ => "this may be a bug in wfc: please report it with this message".to_string(),
        },
    };
    let mut message = format!("state store `{file}`: could not {what}: {error}");
    if error.sqlite_error_code() == Some(ErrorCode::DatabaseCorrupt) {
        if let Some(why) = recognise::cut_short(path) {
            message.push_str(&format!(" ({why})"));
        }
    }
    BackendError::storage(message, hint)
}

fn unwritable(file: &impl std::fmt::Display) -> String {
    format!(
        "make `{file}` and its folder readable and writable by this user, as wfc also writes \
         `{file}-wal` and `{file}-shm` beside it, or choose another path for the store"
    )
}

/// The error for a run that does not exist.
fn no_run(run: &str) -> Stop {
    Stop::Backend(BackendError::not_found(format!("there is no run `{run}`")))
}

/// Fails with `NotFound` unless run `run` exists.
fn require_run(tx: &Connection, run: &str) -> Step<()> {
    let exists = tx
        .prepare_cached("SELECT 1 FROM runs WHERE id = ?1")?
        .exists([run])?;
    if exists {
        Ok(())
    } else {
        Err(no_run(run))
    }
}

/// The `NotFound` error for a task that is not there: its run is missing, or the task is.
fn missing(tx: &Connection, run: &str, task: &str) -> Stop {
    match require_run(tx, run) {
        Ok(()) => Stop::Backend(BackendError::not_found(format!(
            "run `{run}` has no task `{task}`"
        ))),
        Err(stop) => stop,
    }
}

/// The run state stored for `run`, or `NotFound`.
fn run_state(tx: &Connection, run: &str) -> Step<RunState> {
    tx.prepare_cached("SELECT state FROM runs WHERE id = ?1")?
        .query_row([run], |row| run_state_at(row, 0))
        .optional()?
        .ok_or_else(|| no_run(run))
}

fn bad_value(index: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, Type::Text, what.into())
}

fn task_state_at(row: &Row<'_>, index: usize) -> rusqlite::Result<TaskState> {
    let name: String = row.get(index)?;
    TaskState::parse(&name).ok_or_else(|| bad_value(index, format!("`{name}` is not a task state")))
}

fn run_state_at(row: &Row<'_>, index: usize) -> rusqlite::Result<RunState> {
    let name: String = row.get(index)?;
    RunState::parse(&name).ok_or_else(|| bad_value(index, format!("`{name}` is not a run state")))
}

fn count_at(row: &Row<'_>, index: usize) -> rusqlite::Result<usize> {
    let count: i64 = row.get(index)?;
    usize::try_from(count).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(index, count))
}

fn json_at(row: &Row<'_>, index: usize) -> rusqlite::Result<serde_json::Value> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|error| bad_value(index, format!("bad JSON: {error}")))
}

fn to_json(value: &impl serde::Serialize) -> Step<String> {
    serde_json::to_string(value)
        .map_err(|error| Stop::Sql(rusqlite::Error::ToSqlConversionFailure(Box::new(error))))
}

/// A count or index as SQLite stores it.
fn int(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The columns [`task_record`] reads, in its order.
macro_rules! task_columns {
    () => {
        "run, id, state, attempts, max_attempts, worker, lease_until, started_at, finished_at, \
         result, last_error, output, typed_output"
    };
    // A store older than schema version 3, read as it is, has no `output` column.
    (before 3) => {
        "run, id, state, attempts, max_attempts, worker, lease_until, started_at, finished_at, \
         result, last_error, NULL, NULL"
    };
    // A store of schema version 3, read as it is, has no `typed_output` column.
    (before 4) => {
        "run, id, state, attempts, max_attempts, worker, lease_until, started_at, finished_at, \
         result, last_error, output, NULL"
    };
}

/// A pending task `t` is ready when no dependency of it is missing or unfinished.
macro_rules! deps_done {
    ($run:literal, $task:literal) => {
        concat!(
            "NOT EXISTS (SELECT 1 FROM deps d LEFT JOIN tasks p ON p.run = d.run AND p.id = d.parent \
             WHERE d.run = ",
            $run,
            " AND d.child = ",
            $task,
            " AND (p.state IS NULL OR p.state NOT IN ",
            done_states!(),
            "))"
        )
    };
}

/// Task `key` with the facts a transition needs (its run's state, whether it is a gate, whether
/// its dependencies are done — its count of unfinished ones, read with the row — and its
/// plan's generation). The task is one look-up by primary key and its run's facts another
/// ([`RunFacts`], read once per transaction); one statement joining them all made SQLite plan
/// a slower query, which cost 10% of a run of no-op tasks (docs/performance.md).
fn read_for_change(
    tx: &Connection,
    key: &TaskKey,
    run: &mut Option<RunFacts>,
) -> Step<(TaskRecord, TaskFacts)> {
    try_read_for_change(tx, key, run)?.ok_or_else(|| missing(tx, &key.run, &key.task))
}

/// [`read_for_change`], with `None` for a task the store does not have.
fn try_read_for_change(
    tx: &Connection,
    key: &TaskKey,
    run: &mut Option<RunFacts>,
) -> Step<Option<(TaskRecord, TaskFacts)>> {
    let Some((task, is_gate, unfinished_deps)) = tx
        .prepare_cached(concat!(
            "SELECT ",
            task_columns!(),
            ", is_gate, unfinished_deps FROM tasks WHERE run = ?1 AND id = ?2"
        ))?
        .query_row([&key.run, &key.task], |row| {
            Ok((task_record(row)?, row.get(13)?, row.get::<_, i64>(14)?))
        })
        .optional()?
    else {
        return Ok(None);
    };
    let run = match run {
        Some(known) if known.run == key.run => known,
        _ => run.insert(RunFacts::read(tx, &key.run)?),
    };
    let facts = TaskFacts {
        run_state: run.state,
        is_gate,
        deps_done: task.state == TaskState::Pending && unfinished_deps == 0,
        plan_generation: run.generation,
    };
    Ok(Some((task, facts)))
}

/// What a transition needs of its task's run: its state and its plan's generation, read once
/// per transaction (no transition of a task changes them).
struct RunFacts {
    run: String,
    state: RunState,
    generation: u32,
}

impl RunFacts {
    fn read(tx: &Connection, run: &str) -> Step<RunFacts> {
        let (state, generation) = tx
            .prepare_cached(
                "SELECT r.state, coalesce(p.generation, 0) FROM runs r \
                 LEFT JOIN run_plans p ON p.run = r.id WHERE r.id = ?1",
            )?
            .query_row([run], |row| Ok((run_state_at(row, 0)?, row.get(1)?)))
            .optional()?
            .ok_or_else(|| no_run(run))?;
        Ok(RunFacts {
            run: run.to_string(),
            state,
            generation,
        })
    }
}

/// Stores run `id` of `plan`, started at `now` in `place`; a `Conflict` if it exists.
fn insert_run(
    tx: &Connection,
    id: &str,
    plan: &Plan,
    place: Option<&RunPlace>,
    now: Millis,
) -> Step<()> {
    if tx
        .prepare_cached("SELECT 1 FROM runs WHERE id = ?1")?
        .exists([id])?
    {
        return Err(Stop::Backend(BackendError::conflict(format!(
            "a run `{id}` exists already"
        ))));
    }
    tx.prepare_cached(
        "INSERT INTO runs (id, state, created_at, finished_at, workflow, source, plan) \
         VALUES (?1, 'running', ?2, NULL, ?3, ?4, ?5)",
    )?
    .execute(params![id, now, plan.workflow, plan.source, to_json(plan)?])?;
    if let Some(place) = place {
        tx.prepare_cached("INSERT INTO run_places (run, workspace, host) VALUES (?1, ?2, ?3)")?
            .execute(params![id, place.workspace, place.host])?;
        if let Some(repository) = &place.repository {
            tx.prepare_cached(
                "INSERT INTO run_repositories (run, remote, base) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![id, repository.remote, repository.base])?;
        }
    }
    Ok(())
}

/// Stores the tasks of `plan` in run `run`, with their dependencies (each on a task of the
/// plan or of the run), each with its count of unfinished dependencies worked out here: a
/// task of the plan is pending, one of the run is done or not by its state. Counting them
/// afterwards in SQL would first put every task into the ready index and then take most out
/// again, a fifth of a run's set-up (docs/performance.md).
fn insert_plan(tx: &Connection, run: &str, plan: &Plan) -> Step<()> {
    require_run(tx, run)?;
    let ids: HashSet<&str> = plan.tasks.iter().map(|t| t.id.as_str()).collect();
    let outside_done = states_waited_for(tx, run, plan, &ids)?;
    let mut insert = tx.prepare_cached(INSERT_TASK)?;
    let mut distinct: HashSet<&str> = HashSet::new();
    for (position, spec) in plan.tasks.iter().enumerate() {
        distinct.clear();
        distinct.extend(spec.deps.iter().map(String::as_str));
        let unfinished = distinct
            .iter()
            .filter(|dep| outside_done.get(*dep) != Some(&true))
            .count();
        insert_task(&mut insert, run, spec, position, unfinished)?;
    }
    let mut insert_dep = tx.prepare_cached(INSERT_DEP)?;
    for task in &plan.tasks {
        for dep in &task.deps {
            insert_dep.execute([run, &task.id, dep])?;
        }
    }
    Ok(())
}

/// Whether each task of run `run` that a task of `plan` waits for (one whose id is not in
/// `ids`, the plan's own) is done; a `NotFound` for one the run does not have.
fn states_waited_for<'p>(
    tx: &Connection,
    run: &str,
    plan: &'p Plan,
    ids: &HashSet<&str>,
) -> Step<HashMap<&'p str, bool>> {
    let mut done = HashMap::new();
    let mut state_of = tx.prepare_cached("SELECT state FROM tasks WHERE run = ?1 AND id = ?2")?;
    for dep in plan.tasks.iter().flat_map(|task| &task.deps) {
        if ids.contains(dep.as_str()) || done.contains_key(dep.as_str()) {
            continue;
        }
        let state = state_of
            .query_row([run, dep], |row| task_state_at(row, 0))
            .optional()?
            .ok_or_else(|| missing(tx, run, dep))?;
        done.insert(dep.as_str(), state.satisfies_dependents());
    }
    Ok(done)
}

/// Lets `change` alter the task `found` read (with its facts) and, if `change` says so,
/// writes it back with `events`: the body of every transition. Returns whether it wrote.
fn change_task(
    tx: &Connection,
    found: (TaskRecord, TaskFacts),
    events: &[NewEvent],
    change: &mut TaskChange<'_>,
) -> Step<bool> {
    let (mut task, facts) = found;
    let before = task.state;
    if !change(&mut task, &facts)? {
        return Ok(false);
    }
    write_task_from(tx, before, &task)?;
    // Most transitions carry no events (the engine's go in batches): no look for the last.
    if !events.is_empty() {
        insert_events(tx, &task.key.run, events)?;
    }
    Ok(true)
}

/// The generation of run `run`'s plan: 0 until it is planned again.
fn plan_generation(tx: &Connection, run: &str) -> Step<u32> {
    Ok(tx
        .prepare_cached("SELECT generation FROM run_plans WHERE run = ?1")?
        .query_row([run], |row| row.get(0))
        .optional()?
        .unwrap_or(0))
}

/// Writes back `task`'s row, which was in state `before`, and, when the write moves it into or
/// out of a state that satisfies its dependants, counts it off (or back onto) the
/// `unfinished_deps` of each task that waits for it: one indexed update of its dependants,
/// so a look for ready tasks never has to read dependencies.
fn write_task_from(tx: &Connection, before: TaskState, task: &TaskRecord) -> Step<()> {
    write_task(tx, task)?;
    let Some(step) = before.dependants_count_change(task.state) else {
        return Ok(());
    };
    // The dependants are read first and changed one by one, by key: `id IN (SELECT ...)`
    // would build a temporary table for each transition, which cost more than the update.
    let dependants: Vec<String> = tx
        .prepare_cached("SELECT child FROM deps WHERE run = ?1 AND parent = ?2")?
        .query_map([&task.key.run, &task.key.task], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut count = tx.prepare_cached(
        "UPDATE tasks SET unfinished_deps = unfinished_deps + ?3 WHERE run = ?1 AND id = ?2",
    )?;
    for dependant in &dependants {
        count.execute(params![task.key.run, dependant, step])?;
    }
    Ok(())
}

/// Writes back everything a transition may change in `task`'s row, leaving the counts of its
/// dependants alone: for a step that counts them afresh ([`count_unfinished_deps`]) or a
/// write that keeps the task's state.
fn write_task(tx: &Connection, task: &TaskRecord) -> Step<()> {
    tx.prepare_cached(
        "UPDATE tasks SET state = ?3, attempts = ?4, max_attempts = ?5, worker = ?6, \
         lease_until = ?7, started_at = ?8, finished_at = ?9, result = ?10, last_error = ?11, \
         output = ?12, typed_output = ?13 WHERE run = ?1 AND id = ?2",
    )?
    .execute(params![
        task.key.run,
        task.key.task,
        task.state.as_str(),
        task.attempts,
        task.max_attempts,
        task.worker,
        task.lease_until,
        task.started_at,
        task.finished_at,
        task.result,
        task.last_error,
        task.output,
        task.typed_output
    ])?;
    Ok(())
}

/// Appends `events` to run `run`'s log, after its last one.
fn insert_events(tx: &Connection, run: &str, events: &[NewEvent]) -> Step<()> {
    let mut seq: i64 = tx
        .prepare_cached("SELECT coalesce(max(seq), 0) FROM events WHERE run = ?1")?
        .query_row([run], |row| row.get(0))?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO events (run, seq, at, kind, task, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for event in events {
        seq += 1;
        insert.execute(params![
            run,
            seq,
            event.at,
            event.kind,
            event.task,
            to_json(&event.data)?
        ])?;
    }
    Ok(())
}

/// The task `key`, or `NotFound`; `version`: the store's schema version (a writer's is
/// always this wfc's), which says which columns it has.
fn read_task(tx: &Connection, key: &TaskKey, version: i64) -> Step<TaskRecord> {
    let sql = match version {
        ..=2 => concat!(
            "SELECT ",
            task_columns!(before 3),
            " FROM tasks WHERE run = ?1 AND id = ?2"
        ),
        3 => concat!(
            "SELECT ",
            task_columns!(before 4),
            " FROM tasks WHERE run = ?1 AND id = ?2"
        ),
        _ => concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks WHERE run = ?1 AND id = ?2"
        ),
    };
    tx.prepare_cached(sql)?
        .query_row([&key.run, &key.task], task_record)
        .optional()?
        .ok_or_else(|| missing(tx, &key.run, &key.task))
}

fn task_record(row: &Row<'_>) -> rusqlite::Result<TaskRecord> {
    Ok(TaskRecord {
        key: TaskKey::new(row.get::<_, String>(0)?, row.get::<_, String>(1)?),
        state: task_state_at(row, 2)?,
        attempts: row.get(3)?,
        max_attempts: row.get(4)?,
        worker: row.get(5)?,
        lease_until: row.get(6)?,
        started_at: row.get(7)?,
        finished_at: row.get(8)?,
        result: row.get(9)?,
        last_error: row.get(10)?,
        output: row.get(11)?,
        typed_output: row.get(12)?,
    })
}

/// The claimable tasks of running runs, best first: pending tasks whose dependencies are all
/// done, then (merged in order) claimed or running tasks whose lease ended before `?2`. Two
/// arms, so each reads only the tasks in its states through the `(run, state)` index. `?3` is
/// the limit; `$filter` picks the runs.
macro_rules! ready_query {
    // The ready tasks through their index, named: without statistics SQLite would pick the
    // `(run, state)` index and read every pending task of the run.
    ($filter:literal) => {
        ready_query!(
            $filter,
            "tasks t INDEXED BY tasks_ready",
            "t.state = 'pending' AND t.unfinished_deps = 0"
        )
    };
    // A store older than schema version 6, read as it is, keeps no counts: every pending
    // task's dependencies are looked at.
    ($filter:literal, before 6) => {
        ready_query!(
            $filter,
            "tasks t",
            concat!("t.state = 'pending' AND ", deps_done!("t.run", "t.id"))
        )
    };
    ($filter:literal, $tasks:literal, $ready:expr) => {
        concat!(
            "SELECT t.run, t.id, t.priority, r.created_at, t.position \
             FROM runs r JOIN ",
            $tasks,
            " ON t.run = r.id \
             WHERE r.state = 'running' ",
            $filter,
            " AND ",
            $ready,
            " UNION ALL \
             SELECT t.run, t.id, t.priority, r.created_at, t.position \
             FROM runs r JOIN tasks t ON t.run = r.id \
             WHERE r.state = 'running' ",
            $filter,
            " AND t.state IN ('claimed', 'running') AND t.lease_until < ?2 \
             ORDER BY 3, 4, 5, 1, 2 LIMIT ?3"
        )
    };
}

const READY_IN_RUN: &str = ready_query!("AND r.id = ?1");
const READY_IN_RUN_BEFORE_6: &str = ready_query!("AND r.id = ?1", before 6);

/// Whether a task of run `?1` is claimed, running or waiting (through the `(run, state)`
/// index: the states are looked up, not scanned).
const ANY_ACTIVE: &str = "SELECT EXISTS (SELECT 1 FROM tasks WHERE run = ?1 \
     AND state IN ('claimed', 'running', 'waiting'))";

/// Whether a pending task of run `?1` has every dependency done.
const ANY_READY: &str =
    "SELECT EXISTS (SELECT 1 FROM tasks t INDEXED BY tasks_ready WHERE t.run = ?1 \
     AND t.state = 'pending' AND t.unfinished_deps = 0)";

/// Whether a task of run `?1` has not succeeded (nor is an approved gate).
const ANY_UNSUCCESSFUL: &str = concat!(
    "SELECT EXISTS (SELECT 1 FROM tasks WHERE run = ?1 AND state NOT IN ",
    done_states!(),
    ")"
);
const READY_ANYWHERE: &str = ready_query!("AND ?1 IS NULL");
const READY_ANYWHERE_BEFORE_6: &str = ready_query!("AND ?1 IS NULL", before 6);

const INSERT_TASK: &str = "INSERT INTO tasks (run, id, position, priority, is_gate, state, \
     attempts, max_attempts, unfinished_deps) VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?7)";

/// Counts the unfinished dependencies of every task of run `?1` afresh.
const RECOUNT_RUN: &str = count_unfinished_deps!("WHERE run = ?1");

/// Counts the unfinished dependencies of task `?2` of run `?1` afresh.
const RECOUNT_TASK: &str = count_unfinished_deps!("WHERE run = ?1 AND id = ?2");

const INSERT_DEP: &str = "INSERT OR IGNORE INTO deps (run, child, parent) VALUES (?1, ?2, ?3)";

const TASK_EXISTS: &str = "SELECT 1 FROM tasks WHERE run = ?1 AND id = ?2";

/// Inserts one pending task with `unfinished` of its dependencies not done; a task of the
/// same id is a `Conflict`.
fn insert_task(
    insert: &mut rusqlite::Statement<'_>,
    run: &str,
    spec: &TaskSpec,
    position: usize,
    unfinished: usize,
) -> Step<()> {
    let is_gate = spec.action.waits_for_person();
    let inserted = insert.execute(params![
        run,
        spec.id,
        int(position),
        spec.priority,
        is_gate,
        spec.retry.saturating_add(1),
        int(unfinished),
    ]);
    match inserted {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(error, _))
            if error.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            Err(Stop::Backend(BackendError::conflict(format!(
                "run `{run}` has a task `{}` already",
                spec.id
            ))))
        }
        Err(error) => Err(error.into()),
    }
}

impl SqliteBackend {
    /// Run `id` as [`TaskBackend::get_run`] gives it, read inside `tx`.
    fn run_record(&self, tx: &Connection, id: &str) -> Step<RunRecord> {
        let path = &self.path;
        let row = tx
            .prepare_cached("SELECT state, created_at, finished_at, plan FROM runs WHERE id = ?1")?
            .query_row([id], |row| {
                Ok((
                    run_state_at(row, 0)?,
                    row.get::<_, Millis>(1)?,
                    row.get::<_, Option<Millis>>(2)?,
                    row.get::<_, String>(3)?,
                ))
            })
            .optional()?;
        let (state, created_at, finished_at, plan) = row.ok_or_else(|| no_run(id))?;
        let plan: Plan = serde_json::from_str(&plan).map_err(|error| {
            BackendError::storage(
                format!(
                    "the plan snapshot of run `{id}` in the state store `{}` does not \
                     parse: {error}",
                    path.display()
                ),
                "the store was changed by another program or another version of wfc: \
                 use the wfc that made the run, or start the run afresh",
            )
        })?;
        // A run is read before anything is done with it: its rows must be the ones its
        // plan made, or the engine would wait forever for a deleted task.
        integrity::check_run(tx, path, id, &plan)?;
        let place = if self.version >= schema::added_in("run_places") {
            tx.prepare_cached("SELECT workspace, host FROM run_places WHERE run = ?1")?
                .query_row([id], |row| {
                    Ok(RunPlace {
                        workspace: row.get(0)?,
                        host: row.get(1)?,
                        repository: None,
                    })
                })
                .optional()?
        } else {
            None
        };
        let place = match place {
            Some(place) if self.version >= schema::added_in("run_repositories") => {
                let repository = tx
                    .prepare_cached("SELECT remote, base FROM run_repositories WHERE run = ?1")?
                    .query_row([id], |row| {
                        Ok(RunRepository {
                            remote: row.get(0)?,
                            base: row.get(1)?,
                        })
                    })
                    .optional()?;
                Some(place.sharing(repository))
            }
            place => place,
        };
        let plan_generation = if self.version >= schema::added_in("run_plans") {
            plan_generation(tx, id)?
        } else {
            0
        };
        Ok(RunRecord {
            id: id.to_string(),
            state,
            created_at,
            finished_at,
            plan,
            place,
            plan_generation,
        })
    }
}

/// Every task of run `run`, in plan order; `version` as for [`read_task`].
fn tasks_of(tx: &Connection, run: &str, version: i64) -> Step<Vec<TaskRecord>> {
    require_run(tx, run)?;
    let sql = match version {
        ..=2 => concat!(
            "SELECT ",
            task_columns!(before 3),
            " FROM tasks WHERE run = ?1 ORDER BY position, rowid"
        ),
        3 => concat!(
            "SELECT ",
            task_columns!(before 4),
            " FROM tasks WHERE run = ?1 ORDER BY position, rowid"
        ),
        _ => concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks WHERE run = ?1 ORDER BY position, rowid"
        ),
    };
    let tasks = tx
        .prepare_cached(sql)?
        .query_map([run], task_record)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(tasks)
}

impl TaskBackend for SqliteBackend {
    fn is_embedded(&self) -> bool {
        true
    }

    fn create_run(
        &self,
        id: &str,
        plan: &Plan,
        place: Option<&RunPlace>,
        now: Millis,
    ) -> BackendResult<()> {
        self.write(
            || format!("create run `{id}`"),
            |tx| insert_run(tx, id, plan, place, now),
        )
    }

    fn create_run_with_tasks(
        &self,
        id: &str,
        plan: &Plan,
        place: Option<&RunPlace>,
        now: Millis,
    ) -> BackendResult<()> {
        self.write(
            || format!("create run `{id}` with its tasks"),
            |tx| {
                insert_run(tx, id, plan, place, now)?;
                insert_plan(tx, id, plan)
            },
        )
    }

    fn create_task(&self, run: &str, spec: &TaskSpec, position: usize) -> BackendResult<()> {
        self.write(
            || format!("create task `{run}/{}`", spec.id),
            |tx| {
                require_run(tx, run)?;
                let mut insert = tx.prepare_cached(INSERT_TASK)?;
                insert_task(&mut insert, run, spec, position, 0)
            },
        )
    }

    fn add_dependency(&self, run: &str, child: &str, parent: &str) -> BackendResult<()> {
        self.write(
            || format!("record that `{run}/{child}` waits for `{parent}`"),
            |tx| {
                require_run(tx, run)?;
                let mut exists = tx.prepare_cached(TASK_EXISTS)?;
                for task in [parent, child] {
                    if !exists.exists([run, task])? {
                        return Err(missing(tx, run, task));
                    }
                }
                tx.prepare_cached(INSERT_DEP)?
                    .execute([run, child, parent])?;
                tx.prepare_cached(RECOUNT_TASK)?.execute([run, child])?;
                Ok(())
            },
        )
    }

    /// Adds every task and dependency of the plan in one transaction: all of them, or none
    /// if one fails.
    fn create_tasks(&self, run: &str, plan: &Plan) -> BackendResult<()> {
        self.write(
            || format!("create the tasks of run `{run}`"),
            |tx| insert_plan(tx, run, plan),
        )
    }

    fn get_run(&self, id: &str) -> BackendResult<RunRecord> {
        self.read(|| format!("read run `{id}`"), |tx| self.run_record(tx, id))
    }

    fn list_runs(&self) -> BackendResult<Vec<RunSummary>> {
        self.read(
            || "list the runs".to_string(),
            |tx| {
                let mut query = tx.prepare_cached(concat!(
                    "SELECT r.id, r.workflow, r.source, r.state, r.created_at, r.finished_at, \
                     (SELECT count(*) FROM tasks t WHERE t.run = r.id), \
                     (SELECT count(*) FROM tasks t WHERE t.run = r.id AND t.state IN ",
                    done_states!(),
                    ") FROM runs r ORDER BY r.created_at DESC, r.id DESC",
                ))?;
                let runs = query
                    .query_map([], |row| {
                        Ok(RunSummary {
                            id: row.get(0)?,
                            workflow: row.get(1)?,
                            source: row.get(2)?,
                            state: run_state_at(row, 3)?,
                            created_at: row.get(4)?,
                            finished_at: row.get(5)?,
                            tasks: count_at(row, 6)?,
                            succeeded: count_at(row, 7)?,
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(runs)
            },
        )
    }

    fn get_task(&self, key: &TaskKey) -> BackendResult<TaskRecord> {
        self.read(
            || format!("read task `{key}`"),
            |tx| read_task(tx, key, self.version),
        )
    }

    fn list_tasks(&self, run: &str) -> BackendResult<Vec<TaskRecord>> {
        self.read(
            || format!("list the tasks of run `{run}`"),
            |tx| tasks_of(tx, run, self.version),
        )
    }

    fn find_ready_tasks(
        &self,
        run: Option<&str>,
        now: Millis,
        limit: usize,
    ) -> BackendResult<Vec<TaskKey>> {
        self.read(
            || match run {
                Some(run) => format!("find the ready tasks of run `{run}`"),
                None => "find the ready tasks".to_string(),
            },
            |tx| {
                let sql = match (run.is_some(), self.version >= 6) {
                    (true, true) => READY_IN_RUN,
                    (false, true) => READY_ANYWHERE,
                    (true, false) => READY_IN_RUN_BEFORE_6,
                    (false, false) => READY_ANYWHERE_BEFORE_6,
                };
                let keys = tx
                    .prepare_cached(sql)?
                    .query_map(params![run, now, int(limit)], |row| {
                        Ok(TaskKey::new(
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                        ))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(keys)
            },
        )
    }

    fn update_task(
        &self,
        key: &TaskKey,
        doing: &str,
        events: &[NewEvent],
        change: &mut TaskChange<'_>,
    ) -> BackendResult<()> {
        self.write(
            || format!("{doing} task `{key}`"),
            |tx| {
                let found = read_for_change(tx, key, &mut None)?;
                change_task(tx, found, events, change).map(|_| ())
            },
        )
    }

    fn update_task_then(
        &self,
        key: &TaskKey,
        doing: &str,
        events: &[NewEvent],
        change: &mut TaskChange<'_>,
        next: &[TaskKey],
        then: &mut TaskChange<'_>,
    ) -> BackendResult<Option<usize>> {
        self.write(
            || format!("{doing} task `{key}`"),
            |tx| {
                let mut run = None;
                let found = read_for_change(tx, key, &mut run)?;
                if !change_task(tx, found, events, change)? {
                    return Ok(None);
                }
                // A candidate the store does not have (the plan changed) is passed over.
                first_taken(next, |candidate| {
                    match try_read_for_change(tx, candidate, &mut run)? {
                        Some(found) => change_task(tx, found, &[], then),
                        None => Ok(false),
                    }
                })
            },
        )
    }

    fn end_run_if_over(&self, run: &str, now: Millis) -> BackendResult<RunSettled> {
        self.write(
            || format!("settle run `{run}`"),
            |tx| {
                let state = run_state(tx, run)?;
                if state != RunState::Running {
                    return Ok(RunSettled::as_it_was(state));
                }
                let exists = |sql: &str| -> rusqlite::Result<bool> {
                    tx.prepare_cached(sql)?
                        .query_row(params![run], |row| row.get(0))
                };
                let progress = lifecycle::RunProgress {
                    any_active: exists(ANY_ACTIVE)?,
                    any_ready: exists(ANY_READY)?,
                    all_succeeded: !exists(ANY_UNSUCCESSFUL)?,
                };
                let Some(settled) = lifecycle::settled_state(progress) else {
                    return Ok(RunSettled::as_it_was(RunState::Running));
                };
                tx.prepare_cached("UPDATE runs SET state = ?2, finished_at = ?3 WHERE id = ?1")?
                    .execute(params![run, settled.as_str(), now])?;
                Ok(RunSettled::ended(settled))
            },
        )
    }

    fn reset_tasks(&self, run: &str, resets: &[TaskReset], _now: Millis) -> BackendResult<()> {
        self.write(
            || format!("reset tasks of run `{run}`"),
            |tx| {
                require_run(tx, run)?;
                // A missing task ends the transaction before its commit: all or nothing.
                for reset in resets {
                    let mut task =
                        read_task(tx, &TaskKey::new(run, reset.id.clone()), SCHEMA_VERSION)?;
                    let before = task.state;
                    lifecycle::reset(&mut task, reset);
                    write_task_from(tx, before, &task)?;
                }
                tx.prepare_cached(
                    "UPDATE runs SET state = 'running', finished_at = NULL WHERE id = ?1",
                )?
                .execute([run])?;
                Ok(())
            },
        )
    }

    fn replan_run(
        &self,
        run: &str,
        plan: &Plan,
        decide: &mut ReplanDecision<'_>,
    ) -> BackendResult<()> {
        self.write(
            || format!("plan run `{run}` again"),
            |tx| {
                let record = self.run_record(tx, run)?;
                let records = decide(&record, &tasks_of(tx, run, SCHEMA_VERSION)?)?;
                lifecycle::records_fit(plan, &records)?;
                // The run's tasks are written afresh from the new plan: every row, in its new
                // position, with its dependencies; what the plan dropped is gone.
                tx.prepare_cached("DELETE FROM deps WHERE run = ?1")?
                    .execute([run])?;
                tx.prepare_cached("DELETE FROM tasks WHERE run = ?1")?
                    .execute([run])?;
                let mut insert = tx.prepare_cached(INSERT_TASK)?;
                // Counted below, once every row and edge is in.
                for (position, (spec, task)) in plan.tasks.iter().zip(&records).enumerate() {
                    insert_task(&mut insert, run, spec, position, 0)?;
                    write_task(tx, task)?;
                }
                let mut insert_dep = tx.prepare_cached(INSERT_DEP)?;
                for spec in &plan.tasks {
                    for dep in &spec.deps {
                        insert_dep.execute([run, &spec.id, dep])?;
                    }
                }
                // The rows and edges are new (an expansion's instances, edges an outcome
                // let go of): every count is taken afresh.
                tx.prepare_cached(RECOUNT_RUN)?.execute([run])?;
                tx.prepare_cached(
                    "UPDATE runs SET state = 'running', finished_at = NULL, workflow = ?2, \
                     source = ?3, plan = ?4 WHERE id = ?1",
                )?
                .execute(params![
                    run,
                    plan.workflow,
                    plan.source,
                    to_json(plan)?
                ])?;
                tx.prepare_cached(
                    "INSERT INTO run_plans (run, generation) VALUES (?1, 1) \
                     ON CONFLICT (run) DO UPDATE SET generation = generation + 1",
                )?
                .execute([run])?;
                Ok(())
            },
        )
    }

    fn finish_run(&self, run: &str, state: RunState, now: Millis) -> BackendResult<()> {
        self.write(
            || format!("end run `{run}` as {state}"),
            |tx| {
                require_run(tx, run)?;
                let finished_at = (state != RunState::Running).then_some(now);
                tx.prepare_cached("UPDATE runs SET state = ?2, finished_at = ?3 WHERE id = ?1")?
                    .execute(params![run, state.as_str(), finished_at])?;
                if state == RunState::Cancelled {
                    let open = tx
                        .prepare_cached(concat!(
                            "SELECT ",
                            task_columns!(),
                            " FROM tasks WHERE run = ?1 ",
                            "AND state IN ('pending', 'claimed', 'running', 'waiting')"
                        ))?
                        .query_map([run], task_record)?
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    for mut task in open {
                        let before = task.state;
                        if lifecycle::cancel(&mut task, now) {
                            write_task_from(tx, before, &task)?;
                        }
                    }
                }
                Ok(())
            },
        )
    }

    fn delete_run(&self, run: &str) -> BackendResult<()> {
        self.write(
            || format!("delete run `{run}`"),
            |tx| {
                if run_state(tx, run)? == RunState::Running {
                    return Err(Stop::Backend(BackendError::conflict(format!(
                        "run `{run}` is still running; only a run that ended can be deleted"
                    ))));
                }
                // Dependencies first, then what names the run; `run_places`, `run_plans` and
                // `run_repositories` go with the run by their `ON DELETE CASCADE`.
                for table in ["deps", "tasks", "events", "runs"] {
                    let column = if table == "runs" { "id" } else { "run" };
                    tx.execute(&format!("DELETE FROM {table} WHERE {column} = ?1"), [run])?;
                }
                Ok(())
            },
        )
    }

    fn append_event(&self, run: &str, event: &NewEvent) -> BackendResult<i64> {
        self.write(
            || format!("append an event to run `{run}`"),
            |tx| {
                require_run(tx, run)?;
                let seq: i64 = tx
                    .prepare_cached("SELECT coalesce(max(seq), 0) + 1 FROM events WHERE run = ?1")?
                    .query_row([run], |row| row.get(0))?;
                tx.prepare_cached(
                    "INSERT INTO events (run, seq, at, kind, task, data) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    run,
                    seq,
                    event.at,
                    event.kind,
                    event.task,
                    to_json(&event.data)?
                ])?;
                Ok(seq)
            },
        )
    }

    fn append_events(&self, run: &str, events: &[NewEvent]) -> BackendResult<()> {
        self.write(
            || format!("append events to run `{run}`"),
            |tx| {
                require_run(tx, run)?;
                insert_events(tx, run, events)
            },
        )
    }

    fn run_state(&self, id: &str) -> BackendResult<RunState> {
        self.read(
            || format!("read the state of run `{id}`"),
            |tx| {
                require_run(tx, id)?;
                Ok(tx
                    .prepare_cached("SELECT state FROM runs WHERE id = ?1")?
                    .query_row([id], |row| run_state_at(row, 0))?)
            },
        )
    }

    fn read_events(&self, run: &str, after: i64, limit: usize) -> BackendResult<Vec<EventRecord>> {
        self.read(
            || format!("read the events of run `{run}`"),
            |tx| {
                require_run(tx, run)?;
                let events = tx
                    .prepare_cached(
                        "SELECT seq, at, kind, task, data FROM events \
                         WHERE run = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                    )?
                    .query_map(params![run, after, int(limit)], |row| {
                        Ok(EventRecord {
                            seq: row.get(0)?,
                            at: row.get(1)?,
                            kind: row.get(2)?,
                            task: row.get(3)?,
                            data: json_at(row, 4)?,
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(events)
            },
        )
    }
}
