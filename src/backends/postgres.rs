//! The Postgres backend (`postgres://USER@HOST:PORT/DB?schema=NAME`): one database that
//! engines on many machines share.
//!
//! Every method that changes state is one transaction at `READ COMMITTED` that locks what
//! it decides on before reading it: a transition locks its run's row (`FOR KEY SHARE`, so
//! transitions of one run do not wait for each other) and then its task's row (`FOR
//! UPDATE`), so two workers never both read a task as free; what changes a whole run
//! (settling, cancelling, resetting, replanning, deleting) locks the run's row `FOR UPDATE`
//! first, so it waits for the transitions in flight and they wait for it. Looking for ready
//! tasks skips the rows other transactions hold (`FOR UPDATE SKIP LOCKED`), so many workers
//! looking at once do not queue behind each other's claims. Reads run in one `REPEATABLE
//! READ` snapshot. The behaviour matches [`MemoryBackend`](super::MemoryBackend), the
//! reference, on every point.
//!
//! A transaction that made a task claimable (a run's tasks created, a task succeeded,
//! answered, given back or reset, a run planned again) sends `NOTIFY wfc_ready` on commit,
//! and idle engines wake on it ([`TaskBackend::work_signal`]).

mod address;
mod check;
mod link;
mod schema;
mod tls;

pub use address::{redact, Address, DEFAULT_SCHEMA};
pub use check::PostgresCheck;
pub use schema::SCHEMA_VERSION;

use super::Access;
use crate::plan::{Plan, TaskSpec};
use crate::runtime::lifecycle::{self, TaskFacts, TaskReset};
use crate::runtime::*;
use link::{args, Link, Retry, Session};
use std::collections::HashSet;
use tokio_postgres::Row;

/// A backend that keeps runs, tasks and events in a PostgreSQL database.
pub struct PostgresBackend {
    link: Link,
    /// The schema version the store had when it was opened (a reading command reads an
    /// older one as it is).
    version: i64,
}

impl std::fmt::Debug for PostgresBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresBackend")
            .field("url", &self.link.shown())
            .finish_non_exhaustive()
    }
}

/// Why a step inside a transaction stopped: a backend answer (not found, conflict) or a
/// Postgres failure, which becomes a `Storage` error naming the URL.
pub(crate) enum Stop {
    Backend(BackendError),
    Sql(tokio_postgres::Error),
}

impl From<tokio_postgres::Error> for Stop {
    fn from(error: tokio_postgres::Error) -> Self {
        Stop::Sql(error)
    }
}

impl From<BackendError> for Stop {
    fn from(error: BackendError) -> Self {
        Stop::Backend(error)
    }
}

impl Retry for Stop {
    fn retry(&self) -> bool {
        matches!(self, Stop::Sql(error) if error.retry())
    }
}

type Step<T> = Result<T, Stop>;

/// How a transaction that only reads begins: one snapshot for all its statements.
const READ: Option<&str> = Some("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");

/// How a transaction that writes begins.
const WRITE: Option<&str> = Some("BEGIN");

/// How a transaction that appends to a run's log begins: its commit does not wait for the
/// server to flush it to disk (`synchronous_commit` off). A crash of the server (not of wfc)
/// may then lose the last fraction of a second of these events, as a `kill -9` of the engine
/// may lose the events it has not written yet (the engine batches them); no task state rides
/// on them. Every transition of a task still waits for its flush.
const WRITE_LOG: Option<&str> = Some("BEGIN; SET LOCAL synchronous_commit TO off");

/// No transaction around the statements: each is one of its own. For a body of one
/// statement, which is atomic and one snapshot by itself, and so costs one round trip.
const SINGLE: Option<&str> = None;

impl PostgresBackend {
    /// The tasks ready query `sql` finds, of run `run` or of every running run. One statement:
    /// a claim look's `SKIP LOCKED` passes over the tasks being claimed at this moment, and
    /// holding its own locks past it would serve nothing.
    fn ready_keys(
        &self,
        sql: &'static str,
        run: Option<&str>,
        now: Millis,
        limit: usize,
    ) -> BackendResult<Vec<TaskKey>> {
        self.transaction(
            SINGLE,
            || match run {
                Some(run) => format!("find the ready tasks of run `{run}`"),
                None => "find the ready tasks".to_string(),
            },
            |session| {
                session
                    .query(sql, args![run.map(str::to_string), now, int(limit)])?
                    .iter()
                    .map(|row| {
                        Ok(TaskKey::new(
                            row.try_get::<_, String>(0)?,
                            row.try_get::<_, String>(1)?,
                        ))
                    })
                    .collect()
            },
        )
    }

    /// Connects to the store `url` names and checks its schema version, creating its tables
    /// if `access` is [`Access::Create`] and the schema has none. Every failure is an error
    /// naming the URL without its password, with a hint; a missing store that `access` may
    /// not create is `NotFound`.
    pub fn open(url: &str, access: Access) -> BackendResult<PostgresBackend> {
        let address = Address::parse(url)
            .map_err(|message| BackendError::storage(message, "correct the URL"))?;
        let link = Link::open(address)?;
        let version = schema::prepare(&link, access)?;
        Ok(PostgresBackend { link, version })
    }

    /// Runs `body` in one transaction begun by `begin`; `what` names the operation for an
    /// error message.
    fn transaction<T>(
        &self,
        begin: Option<&'static str>,
        what: impl FnOnce() -> String,
        body: impl FnMut(&mut Session<'_>) -> Step<T>,
    ) -> BackendResult<T> {
        self.link
            .transaction(begin, body)
            .map_err(|stop| fail(self.link.shown(), stop, what))
    }
}

/// Turns a stopped step into the error the caller sees.
fn fail(shown: &str, stop: Stop, what: impl FnOnce() -> String) -> BackendError {
    match stop {
        Stop::Backend(error) => error,
        Stop::Sql(error) => storage_error(shown, &what(), &error),
    }
}

/// A `Storage` error for a Postgres failure while doing `what` with the store `shown`.
fn storage_error(shown: &str, what: &str, error: &tokio_postgres::Error) -> BackendError {
    use tokio_postgres::error::SqlState;
    let detail = match error.as_db_error() {
        Some(db) => db.message().to_string(),
        None => error.to_string(),
    };
    let message = format!("PostgreSQL store `{shown}`: could not {what}: {detail}");
    let hint = match error.code() {
        Some(code) if *code == SqlState::INSUFFICIENT_PRIVILEGE => {
            "this user lacks the rights it needs on the database or the schema: grant them, \
             or use another user or `?schema=NAME`"
                .to_string()
        }
        Some(code) if *code == SqlState::UNDEFINED_TABLE || *code == SqlState::UNDEFINED_COLUMN => {
            "the store's tables are not the ones wfc made: name another schema with \
             `?schema=NAME`, or use the wfc that made this store"
                .to_string()
        }
        _ if link::is_lost(error) => format!(
            "the server could not be reached for {} seconds: check that it is running and \
             reachable, then try again",
            link::RECONNECT_WINDOW.as_secs()
        ),
        _ => "this may be a bug in wfc: please report it with this message".to_string(),
    };
    BackendError::storage(message, hint)
}

/// The error for a value in the store that wfc never writes.
fn damaged(what: String) -> Stop {
    Stop::Backend(BackendError::storage(
        what,
        "the store was changed by another program or another version of wfc: use the wfc \
         that made it, or name another schema with `?schema=NAME`",
    ))
}

/// The error for a run that does not exist.
fn no_run(run: &str) -> Stop {
    Stop::Backend(BackendError::not_found(format!("there is no run `{run}`")))
}

/// Locks run `run`'s row as `sql` says and returns its state, or `NotFound`.
fn lock_run(session: &mut Session<'_>, sql: &'static str, run: &str) -> Step<RunState> {
    let row = session
        .query_opt(sql, args![run.to_string()])?
        .ok_or_else(|| no_run(run))?;
    run_state_of(&row, 0)
}

const LOCK_RUN: &str = "SELECT state FROM runs WHERE id = $1 FOR UPDATE";
const RUN_STATE: &str = "SELECT state FROM runs WHERE id = $1";

/// Fails with `NotFound` unless run `run` exists.
fn require_run(session: &mut Session<'_>, run: &str) -> Step<()> {
    lock_run(session, RUN_STATE, run).map(|_| ())
}

/// The `NotFound` error for a task that is not there: its run is missing, or the task is.
fn missing(session: &mut Session<'_>, run: &str, task: &str) -> Stop {
    match require_run(session, run) {
        Ok(()) => Stop::Backend(BackendError::not_found(format!(
            "run `{run}` has no task `{task}`"
        ))),
        Err(stop) => stop,
    }
}

fn run_state_of(row: &Row, index: usize) -> Step<RunState> {
    let name: String = row.try_get(index)?;
    RunState::parse(&name).ok_or_else(|| damaged(format!("`{name}` is not a run state")))
}

fn task_state_of(row: &Row, index: usize) -> Step<TaskState> {
    let name: String = row.try_get(index)?;
    TaskState::parse(&name).ok_or_else(|| damaged(format!("`{name}` is not a task state")))
}

fn u32_of(row: &Row, index: usize) -> Step<u32> {
    let value: i64 = row.try_get(index)?;
    u32::try_from(value).map_err(|_| damaged(format!("{value} is out of range for a count")))
}

fn count_of(row: &Row, index: usize) -> Step<usize> {
    let value: i64 = row.try_get(index)?;
    usize::try_from(value).map_err(|_| damaged(format!("{value} is out of range for a count")))
}

fn to_json(value: &impl serde::Serialize) -> Step<String> {
    serde_json::to_string(value).map_err(|error| damaged(format!("cannot write JSON: {error}")))
}

/// A count or index as the store keeps it.
fn int(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The columns [`task_record`] reads, in its order.
macro_rules! task_columns {
    () => {
        "run, id, state, attempts, max_attempts, worker, lease_until, started_at, finished_at, \
         result, last_error, output, typed_output"
    };
}

/// The columns [`task_record`] reads from a store older than schema version 3, which a
/// reading command reads as it is: it has no typed outputs.
macro_rules! task_columns_before_3 {
    () => {
        "run, id, state, attempts, max_attempts, worker, lease_until, started_at, finished_at, \
         result, last_error, output, NULL::TEXT"
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

fn task_record(row: &Row) -> Step<TaskRecord> {
    Ok(TaskRecord {
        key: TaskKey::new(row.try_get::<_, String>(0)?, row.try_get::<_, String>(1)?),
        state: task_state_of(row, 2)?,
        attempts: u32_of(row, 3)?,
        max_attempts: u32_of(row, 4)?,
        worker: row.try_get(5)?,
        lease_until: row.try_get(6)?,
        started_at: row.try_get(7)?,
        finished_at: row.try_get(8)?,
        result: row.try_get(9)?,
        last_error: row.try_get(10)?,
        output: row.try_get(11)?,
        typed_output: row.try_get(12)?,
    })
}

/// Task `key` locked for a change, with the facts a transition needs: its run's state (the
/// run's row locked `FOR KEY SHARE` first, the order every transaction locks in: a statement
/// locks its rows in the order of its tables), whether it is a gate, whether its dependencies
/// are done (its count of unfinished ones) and its plan's generation. One statement,
/// sent with the transaction's `BEGIN`: one round trip.
fn read_for_change(session: &mut Session<'_>, key: &TaskKey) -> Step<(TaskRecord, TaskFacts)> {
    match try_read_for_change(session, key, LOCK_FOR_CHANGE)? {
        Some(found) => Ok(found),
        None => Err(missing(session, &key.run, &key.task)),
    }
}

/// Task `key` and its facts as `sql` ([`LOCK_FOR_CHANGE`] or [`LOCK_UNLESS_HELD`]) reads and
/// locks them; `None` if it finds no row.
fn try_read_for_change(
    session: &mut Session<'_>,
    key: &TaskKey,
    sql: &'static str,
) -> Step<Option<(TaskRecord, TaskFacts)>> {
    let Some(row) = session.query_opt(sql, args![key.run.clone(), key.task.clone()])? else {
        return Ok(None);
    };
    let task = task_record(&row)?;
    let facts = TaskFacts {
        is_gate: row.try_get(13)?,
        deps_done: row.try_get(14)?,
        run_state: run_state_of(&row, 15)?,
        plan_generation: u32_of(&row, 16)?,
    };
    Ok(Some((task, facts)))
}

/// Stores run `id` of `plan`, started at `now` in `place`; a `Conflict` if it exists.
fn insert_run(
    session: &mut Session<'_>,
    id: &str,
    plan: &Plan,
    place: Option<&RunPlace>,
    now: Millis,
) -> Step<()> {
    let repository = place.and_then(|p| p.repository.as_ref());
    let inserted = session.execute(
        "INSERT INTO runs (id, state, created_at, workflow, source, plan, workspace, \
                     host, remote, base) VALUES ($1, 'running', $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (id) DO NOTHING",
        args![
            id.to_string(),
            now,
            plan.workflow.clone(),
            plan.source.clone(),
            to_json(plan)?,
            place.map(|p| p.workspace.clone()),
            place.map(|p| p.host.clone()),
            repository.map(|r| r.remote.clone()),
            repository.map(|r| r.base.clone())
        ],
    )?;
    if inserted == 0 {
        return Err(Stop::Backend(BackendError::conflict(format!(
            "a run `{id}` exists already"
        ))));
    }
    Ok(())
}

/// Stores the tasks of `plan` in run `run`, with their dependencies (each on a task of the
/// plan or of the run), and counts what each waits for.
fn insert_plan(session: &mut Session<'_>, run: &str, plan: &Plan) -> Step<()> {
    require_run(session, run)?;
    insert_tasks(session, run, &plan.tasks, 0)?;
    let planned: HashSet<&str> = plan.tasks.iter().map(|t| t.id.as_str()).collect();
    let edges = edges_of(&plan.tasks);
    for (_, dep) in &edges {
        if !planned.contains(dep) && !task_exists(session, run, dep)? {
            return Err(missing(session, run, dep));
        }
    }
    insert_deps(session, run, &edges)?;
    session.execute(RECOUNT_RUN, args![run.to_string()])?;
    Ok(())
}

/// Lets `change` alter the task `found` read and, if `change` says so, writes it back with
/// `events`, and wakes idle engines when the task left the states that hold it: the body of
/// every transition. Returns whether it wrote.
fn change_task(
    session: &mut Session<'_>,
    found: (TaskRecord, TaskFacts),
    events: &[NewEvent],
    change: &mut TaskChange<'_>,
) -> Step<bool> {
    let (mut task, facts) = found;
    let before = task.state;
    if !change(&mut task, &facts)? {
        return Ok(false);
    }
    write_task_from(session, before, &task)?;
    if !events.is_empty() {
        defer_events(session, &task.key.run, events)?;
    }
    let settles = !matches!(task.state, TaskState::Claimed | TaskState::Running);
    if task.state != before && settles {
        notify_ready(session, &task.key.run)?;
    }
    Ok(true)
}

/// Task `$2` of run `$1` as [`task_record`] reads it, then whether it is a gate, whether it is
/// pending with every dependency done, its run's state and plan generation; the run's row
/// locked `FOR KEY SHARE`, the task's `FOR UPDATE`.
const LOCK_FOR_CHANGE: &str = lock_for_change!();

/// The text of [`LOCK_FOR_CHANGE`], which [`LOCK_UNLESS_HELD`] extends.
macro_rules! lock_for_change {
    () => {
        "SELECT t.run, t.id, t.state, t.attempts, t.max_attempts, t.worker, t.lease_until, \
         t.started_at, t.finished_at, t.result, t.last_error, t.output, t.typed_output, \
         t.is_gate, t.state = 'pending' AND t.unfinished_deps = 0, r.state, r.plan_generation \
         FROM runs r JOIN tasks t ON t.run = r.id \
         WHERE r.id = $1 AND t.id = $2 FOR KEY SHARE OF r FOR UPDATE OF t"
    };
}
use lock_for_change;

/// [`LOCK_FOR_CHANGE`], passing over a task another transaction holds locked.
const LOCK_UNLESS_HELD: &str = concat!(lock_for_change!(), " SKIP LOCKED");

/// Writes back `task`'s row, which was in state `before`, and, when the write moves it into or
/// out of a state that satisfies its dependants, counts it off (or back onto) the
/// `unfinished_deps` of each task that waits for it, both sent with the next statement or the
/// `COMMIT`: no round trip of their own. The dependants' rows are locked after the task's, as
/// every transition locks a task before those that wait for it, and in the order of their ids
/// ([`COUNT_DEPENDANTS`]).
fn write_task_from(session: &mut Session<'_>, before: TaskState, task: &TaskRecord) -> Step<()> {
    write_task(session, task)?;
    let Some(step) = before.dependants_count_change(task.state) else {
        return Ok(());
    };
    session.defer(
        COUNT_DEPENDANTS,
        args![task.key.run.clone(), task.key.task.clone(), step],
    )?;
    Ok(())
}

/// Adds `$3` to the count of unfinished dependencies of every task of run `$1` that waits for
/// task `$2`. The dependants are locked first, in the order of their ids, so two transitions
/// that share dependants lock them in the same order and never wait for each other (the order
/// of an `UPDATE … WHERE id IN (…)` is the plan's).
const COUNT_DEPENDANTS: &str = "WITH dependants AS (SELECT id FROM tasks \
     WHERE run = $1 AND id IN (SELECT child FROM deps WHERE run = $1 AND parent = $2) \
     ORDER BY id FOR UPDATE) \
     UPDATE tasks SET unfinished_deps = unfinished_deps + $3 \
     WHERE run = $1 AND id IN (SELECT id FROM dependants)";

/// Writes back everything a transition may change in `task`'s row, sent with the next
/// statement or the `COMMIT`, leaving the counts of its dependants alone: for a step that
/// counts them afresh ([`RECOUNT_RUN`]) or a write that keeps the task's state.
fn write_task(session: &mut Session<'_>, task: &TaskRecord) -> Step<()> {
    session.defer(
        "UPDATE tasks SET state = $3, attempts = $4, max_attempts = $5, worker = $6, \
         lease_until = $7, started_at = $8, finished_at = $9, result = $10, last_error = $11, \
         output = $12, typed_output = $13 WHERE run = $1 AND id = $2",
        args![
            task.key.run.clone(),
            task.key.task.clone(),
            task.state.as_str().to_string(),
            i64::from(task.attempts),
            i64::from(task.max_attempts),
            task.worker.clone(),
            task.lease_until,
            task.started_at,
            task.finished_at,
            task.result.clone(),
            task.last_error.clone(),
            task.output.clone(),
            task.typed_output.clone()
        ],
    )?;
    Ok(())
}

/// Appends `events` to run `run`'s log, after its last one, in one statement, and returns
/// the first one's sequence number (or `NotFound`). Counting up the run's `last_event` locks
/// its row for the rest of the transaction, so appends to one run take turns and never share
/// a number.
fn insert_events(session: &mut Session<'_>, run: &str, events: &[NewEvent]) -> Step<i64> {
    let rows = session.query(INSERT_EVENTS, event_args(run, events)?)?;
    let mut first = None;
    for row in &rows {
        let seq: i64 = row.try_get(0)?;
        first = Some(first.map_or(seq, |first: i64| first.min(seq)));
    }
    first.ok_or_else(|| no_run(run))
}

/// [`insert_events`] sent with the next statement or the `COMMIT`, for a transaction that
/// holds the run already.
fn defer_events(session: &mut Session<'_>, run: &str, events: &[NewEvent]) -> Step<()> {
    session.defer(INSERT_EVENTS, event_args(run, events)?)?;
    Ok(())
}

/// The arguments of [`INSERT_EVENTS`]: the run, the count, and one array per column.
fn event_args(run: &str, events: &[NewEvent]) -> Step<link::Args> {
    let data = events
        .iter()
        .map(|event| to_json(&event.data))
        .collect::<Step<Vec<String>>>()?;
    Ok(args![
        run.to_string(),
        int(events.len()),
        events.iter().map(|event| event.at).collect::<Vec<i64>>(),
        events
            .iter()
            .map(|event| event.kind.clone())
            .collect::<Vec<String>>(),
        events
            .iter()
            .map(|event| event.task.clone())
            .collect::<Vec<Option<String>>>(),
        data
    ])
}

/// Counts up run `$1`'s `last_event` by `$2` and inserts the events whose times, kinds, tasks
/// and data are the arrays `$3` to `$6`, numbered on from the old count; returns their
/// numbers (none when there is no such run).
const INSERT_EVENTS: &str = "WITH counter AS (UPDATE runs SET last_event = last_event + $2 \
     WHERE id = $1 RETURNING last_event) \
     INSERT INTO events (run, seq, at, kind, task, data) \
     SELECT $1, counter.last_event - $2 + e.n, e.at, e.kind, e.task, e.data \
     FROM counter, unnest($3::bigint[], $4::text[], $5::text[], $6::text[]) \
     WITH ORDINALITY AS e (at, kind, task, data, n) \
     RETURNING seq";

/// Tells idle engines, on commit, that tasks of run `run` may have become claimable.
fn notify_ready(session: &mut Session<'_>, run: &str) -> Step<()> {
    session.defer("SELECT pg_notify('wfc_ready', $1)", args![run.to_string()])?;
    Ok(())
}

/// The task `key` from a store of schema version `version`, or `NotFound`; `lock`: lock its
/// row for a change.
fn read_task(
    session: &mut Session<'_>,
    key: &TaskKey,
    lock: bool,
    version: i64,
) -> Step<TaskRecord> {
    let sql = match (lock, version >= 3) {
        (true, _) => concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks WHERE run = $1 AND id = $2 FOR UPDATE"
        ),
        (false, true) => concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks WHERE run = $1 AND id = $2"
        ),
        (false, false) => concat!(
            "SELECT ",
            task_columns_before_3!(),
            " FROM tasks WHERE run = $1 AND id = $2"
        ),
    };
    match session.query_opt(sql, args![key.run.clone(), key.task.clone()])? {
        Some(row) => task_record(&row),
        None => Err(missing(session, &key.run, &key.task)),
    }
}

/// Every task of run `run`, in plan order, from a store of schema version `version`.
fn tasks_of(session: &mut Session<'_>, run: &str, version: i64) -> Step<Vec<TaskRecord>> {
    require_run(session, run)?;
    let sql = if version >= 3 {
        concat!(
            "SELECT ",
            task_columns!(),
            " FROM tasks WHERE run = $1 ORDER BY position, id"
        )
    } else {
        concat!(
            "SELECT ",
            task_columns_before_3!(),
            " FROM tasks WHERE run = $1 ORDER BY position, id"
        )
    };
    session
        .query(sql, args![run.to_string()])?
        .iter()
        .map(task_record)
        .collect()
}

/// Run `id` as [`TaskBackend::get_run`] gives it, from a store of schema version `version`
/// (one of version 1 has no repositories).
fn run_record(session: &mut Session<'_>, shown: &str, id: &str, version: i64) -> Step<RunRecord> {
    let query = if version >= 2 {
        "SELECT state, created_at, finished_at, plan, workspace, host, plan_generation, \
         remote, base FROM runs WHERE id = $1"
    } else {
        "SELECT state, created_at, finished_at, plan, workspace, host, plan_generation \
         FROM runs WHERE id = $1"
    };
    let row = session
        .query_opt(query, args![id.to_string()])?
        .ok_or_else(|| no_run(id))?;
    let plan: String = row.try_get(3)?;
    let plan: Plan = serde_json::from_str(&plan).map_err(|error| {
        damaged(format!(
            "the plan snapshot of run `{id}` in the PostgreSQL store `{shown}` does not parse: \
             {error}"
        ))
    })?;
    let workspace: Option<String> = row.try_get(4)?;
    let host: Option<String> = row.try_get(5)?;
    let repository = if version >= 2 {
        let remote: Option<String> = row.try_get(7)?;
        let base: Option<String> = row.try_get(8)?;
        remote
            .zip(base)
            .map(|(remote, base)| RunRepository { remote, base })
    } else {
        None
    };
    Ok(RunRecord {
        id: id.to_string(),
        state: run_state_of(&row, 0)?,
        created_at: row.try_get(1)?,
        finished_at: row.try_get(2)?,
        plan,
        place: workspace.zip(host).map(|(workspace, host)| RunPlace {
            workspace,
            host,
            repository,
        }),
        plan_generation: u32_of(&row, 6)?,
    })
}

/// Inserts `tasks` into run `run`, the first at position `first` and the others after it, in
/// one statement (a round trip for each would be most of the time a plan of thousands of tasks
/// takes to store); a `Conflict` names a task the run has already.
fn insert_tasks(
    session: &mut Session<'_>,
    run: &str,
    tasks: &[TaskSpec],
    first: usize,
) -> Step<()> {
    let ids: Vec<String> = tasks.iter().map(|spec| spec.id.clone()).collect();
    let positions: Vec<i64> = (first..first + tasks.len()).map(int).collect();
    let priorities: Vec<i32> = tasks.iter().map(|spec| i32::from(spec.priority)).collect();
    let gates: Vec<bool> = tasks
        .iter()
        .map(|spec| spec.action.waits_for_person())
        .collect();
    let attempts: Vec<i64> = tasks
        .iter()
        .map(|spec| i64::from(spec.retry.saturating_add(1)))
        .collect();
    let inserted = session.query(
        "INSERT INTO tasks (run, id, position, priority, is_gate, state, attempts, max_attempts) \
         SELECT $1, t.id, t.position, t.priority, t.is_gate, 'pending', 0, t.max_attempts \
         FROM unnest($2::text[], $3::bigint[], $4::integer[], $5::boolean[], $6::bigint[]) \
         AS t (id, position, priority, is_gate, max_attempts) \
         ON CONFLICT (run, id) DO NOTHING RETURNING id",
        args![run.to_string(), ids, positions, priorities, gates, attempts],
    )?;
    if inserted.len() == tasks.len() {
        return Ok(());
    }
    let mut new = HashSet::new();
    for row in &inserted {
        new.insert(row.try_get::<_, String>(0)?);
    }
    // A task not inserted was there already, or named twice (the second one).
    let mut seen = HashSet::new();
    let taken = tasks
        .iter()
        .find(|spec| !seen.insert(spec.id.as_str()) || !new.contains(&spec.id))
        .map_or("?", |spec| spec.id.as_str());
    Err(Stop::Backend(BackendError::conflict(format!(
        "run `{run}` has a task `{taken}` already"
    ))))
}

/// Inserts the dependency edges `(child, parent)` of run `run` in one statement.
fn insert_deps(session: &mut Session<'_>, run: &str, edges: &[(&str, &str)]) -> Step<()> {
    if edges.is_empty() {
        return Ok(());
    }
    let children: Vec<String> = edges.iter().map(|(child, _)| child.to_string()).collect();
    let parents: Vec<String> = edges.iter().map(|(_, parent)| parent.to_string()).collect();
    session.execute(
        "INSERT INTO deps (run, child, parent) SELECT $1, d.child, d.parent \
         FROM unnest($2::text[], $3::text[]) AS d (child, parent) ON CONFLICT DO NOTHING",
        args![run.to_string(), children, parents],
    )?;
    Ok(())
}

/// The dependency edges `(child, parent)` of `tasks`, in their order.
fn edges_of(tasks: &[TaskSpec]) -> Vec<(&str, &str)> {
    tasks
        .iter()
        .flat_map(|spec| {
            spec.deps
                .iter()
                .map(move |dep| (spec.id.as_str(), dep.as_str()))
        })
        .collect()
}

fn task_exists(session: &mut Session<'_>, run: &str, task: &str) -> Step<bool> {
    Ok(session
        .query_opt(
            "SELECT 1 FROM tasks WHERE run = $1 AND id = $2",
            args![run.to_string(), task.to_string()],
        )?
        .is_some())
}

/// The claimable tasks of running runs, best first: pending tasks whose dependencies are all
/// done and claimed or running tasks whose lease ended before `$2`. `$3` is the limit;
/// `$filter` picks the runs; `$lock` is what the look does to the rows it finds.
macro_rules! ready_query {
    ($filter:literal, $lock:literal) => {
        ready_query!(@ $filter, "t.unfinished_deps = 0", $lock)
    };
    // A store older than schema version 4, read as it is, keeps no counts: every pending
    // task's dependencies are looked at.
    ($filter:literal, before 4, $lock:literal) => {
        ready_query!(@ $filter, deps_done!("t.run", "t.id"), $lock)
    };
    (@ $filter:literal, $ready:expr, $lock:literal) => {
        concat!(
            "SELECT t.run, t.id FROM runs r JOIN tasks t ON t.run = r.id \
             WHERE r.state = 'running' ",
            $filter,
            " AND ((t.state = 'pending' AND ",
            $ready,
            ") OR (t.state IN ('claimed', 'running') AND t.lease_until < $2)) \
             ORDER BY t.priority, r.created_at, t.position, t.run, t.id LIMIT $3 ",
            $lock
        )
    };
}

// A look for tasks to claim skips the rows another transaction holds (a claim in flight, or
// another engine's look at this moment): it need not wait for them.
const READY_IN_RUN: &str = ready_query!("AND r.id = $1", "FOR UPDATE OF t SKIP LOCKED");
const READY_ANYWHERE: &str = ready_query!("AND $1::text IS NULL", "FOR UPDATE OF t SKIP LOCKED");
const READY_IN_RUN_BEFORE_4: &str =
    ready_query!("AND r.id = $1", before 4, "FOR UPDATE OF t SKIP LOCKED");
const READY_ANYWHERE_BEFORE_4: &str =
    ready_query!("AND $1::text IS NULL", before 4, "FOR UPDATE OF t SKIP LOCKED");

/// A look that decides whether work is left passes over no row: a task another engine's look
/// holds for an instant is still ready, and skipping it made idle workers quit beside it.
const READY_ANYWHERE_UNLOCKED: &str = ready_query!("AND $1::text IS NULL", "");
const READY_ANYWHERE_UNLOCKED_BEFORE_4: &str = ready_query!("AND $1::text IS NULL", before 4, "");

/// Counts the unfinished dependencies of every task of run `$1` afresh.
const RECOUNT_RUN: &str = count_unfinished_deps!("WHERE run = $1");

/// Counts the unfinished dependencies of task `$2` of run `$1` afresh.
const RECOUNT_TASK: &str = count_unfinished_deps!("WHERE run = $1 AND id = $2");

/// Whether a task of run `$run` is claimed, running or waiting; whether a pending one has
/// every dependency done; whether one has not succeeded: one statement, so one snapshot.
macro_rules! progress {
    ($run:literal) => {
        concat!(
            "SELECT EXISTS (SELECT 1 FROM tasks WHERE run = ",
            $run,
            " AND state IN ('claimed', 'running', 'waiting')), \
             EXISTS (SELECT 1 FROM tasks t WHERE t.run = ",
            $run,
            " AND t.state = 'pending' AND t.unfinished_deps = 0), EXISTS (SELECT 1 FROM tasks WHERE run = ",
            $run,
            " AND state NOT IN ",
            done_states!(),
            ")"
        )
    };
}

/// [`progress!`] of run `$1`.
const PROGRESS: &str = progress!("$1");

/// Run `$1`'s state and then [`PROGRESS`]'s three facts, in one snapshot.
const STATE_AND_PROGRESS: &str = concat!(
    "SELECT r.state, p.* FROM runs r, LATERAL (",
    progress!("r.id"),
    ") p WHERE r.id = $1"
);

/// The state a run ends in, by the three facts of [`PROGRESS`] from column `first` of `row`
/// on; `None` while it goes on.
fn settled(row: &Row, first: usize) -> Step<Option<RunState>> {
    Ok(lifecycle::settled_state(lifecycle::RunProgress {
        any_active: row.try_get(first)?,
        any_ready: row.try_get(first + 1)?,
        all_succeeded: !row.try_get::<_, bool>(first + 2)?,
    }))
}

impl TaskBackend for PostgresBackend {
    fn create_run(
        &self,
        id: &str,
        plan: &Plan,
        place: Option<&RunPlace>,
        now: Millis,
    ) -> BackendResult<()> {
        self.transaction(
            WRITE,
            || format!("create run `{id}`"),
            |session| insert_run(session, id, plan, place, now),
        )
    }

    fn create_run_with_tasks(
        &self,
        id: &str,
        plan: &Plan,
        place: Option<&RunPlace>,
        now: Millis,
    ) -> BackendResult<()> {
        self.transaction(
            WRITE,
            || format!("create run `{id}` with its tasks"),
            |session| {
                insert_run(session, id, plan, place, now)?;
                insert_plan(session, id, plan)?;
                notify_ready(session, id)
            },
        )
    }

    fn create_task(&self, run: &str, spec: &TaskSpec, position: usize) -> BackendResult<()> {
        self.transaction(
            WRITE,
            || format!("create task `{run}/{}`", spec.id),
            |session| {
                require_run(session, run)?;
                insert_tasks(session, run, std::slice::from_ref(spec), position)?;
                notify_ready(session, run)
            },
        )
    }

    fn add_dependency(&self, run: &str, child: &str, parent: &str) -> BackendResult<()> {
        self.transaction(
            WRITE,
            || format!("record that `{run}/{child}` waits for `{parent}`"),
            |session| {
                require_run(session, run)?;
                for task in [parent, child] {
                    if !task_exists(session, run, task)? {
                        return Err(missing(session, run, task));
                    }
                }
                insert_deps(session, run, &[(child, parent)])?;
                session.execute(RECOUNT_TASK, args![run.to_string(), child.to_string()])?;
                Ok(())
            },
        )
    }

    /// Adds every task and dependency of the plan in one transaction: all of them, or none
    /// if one fails.
    fn create_tasks(&self, run: &str, plan: &Plan) -> BackendResult<()> {
        self.transaction(
            WRITE,
            || format!("create the tasks of run `{run}`"),
            |session| {
                insert_plan(session, run, plan)?;
                notify_ready(session, run)
            },
        )
    }

    fn get_run(&self, id: &str) -> BackendResult<RunRecord> {
        let shown = self.link.shown();
        self.transaction(
            READ,
            || format!("read run `{id}`"),
            |session| run_record(session, shown, id, self.version),
        )
    }

    fn run_state(&self, id: &str) -> BackendResult<RunState> {
        self.transaction(
            SINGLE,
            || format!("read the state of run `{id}`"),
            |session| lock_run(session, RUN_STATE, id),
        )
    }

    fn list_runs(&self) -> BackendResult<Vec<RunSummary>> {
        self.transaction(
            READ,
            || "list the runs".to_string(),
            |session| {
                session
                    .query(
                        concat!(
                            "SELECT r.id, r.workflow, r.source, r.state, r.created_at, \
                             r.finished_at, (SELECT count(*) FROM tasks t WHERE t.run = r.id), \
                             (SELECT count(*) FROM tasks t WHERE t.run = r.id AND t.state IN ",
                            done_states!(),
                            ") FROM runs r ORDER BY r.created_at DESC, r.id DESC"
                        ),
                        Vec::new(),
                    )?
                    .iter()
                    .map(|row| {
                        Ok(RunSummary {
                            id: row.try_get(0)?,
                            workflow: row.try_get(1)?,
                            source: row.try_get(2)?,
                            state: run_state_of(row, 3)?,
                            created_at: row.try_get(4)?,
                            finished_at: row.try_get(5)?,
                            tasks: count_of(row, 6)?,
                            succeeded: count_of(row, 7)?,
                        })
                    })
                    .collect()
            },
        )
    }

    fn get_task(&self, key: &TaskKey) -> BackendResult<TaskRecord> {
        self.transaction(
            SINGLE,
            || format!("read task `{key}`"),
            |session| read_task(session, key, false, self.version),
        )
    }

    fn list_tasks(&self, run: &str) -> BackendResult<Vec<TaskRecord>> {
        self.transaction(
            READ,
            || format!("list the tasks of run `{run}`"),
            |session| tasks_of(session, run, self.version),
        )
    }

    fn find_ready_tasks(
        &self,
        run: Option<&str>,
        now: Millis,
        limit: usize,
    ) -> BackendResult<Vec<TaskKey>> {
        let counted = self.version >= 4;
        let sql = match (run.is_some(), counted) {
            (true, true) => READY_IN_RUN,
            (false, true) => READY_ANYWHERE,
            (true, false) => READY_IN_RUN_BEFORE_4,
            (false, false) => READY_ANYWHERE_BEFORE_4,
        };
        self.ready_keys(sql, run, now, limit)
    }

    fn peek_ready_tasks(&self, now: Millis, limit: usize) -> BackendResult<Vec<TaskKey>> {
        let sql = if self.version >= 4 {
            READY_ANYWHERE_UNLOCKED
        } else {
            READY_ANYWHERE_UNLOCKED_BEFORE_4
        };
        self.ready_keys(sql, None, now, limit)
    }

    fn update_task(
        &self,
        key: &TaskKey,
        doing: &str,
        events: &[NewEvent],
        change: &mut TaskChange<'_>,
    ) -> BackendResult<()> {
        self.transaction(
            WRITE,
            || format!("{doing} task `{key}`"),
            |session| {
                let found = read_for_change(session, key)?;
                change_task(session, found, events, change).map(|_| ())
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
        self.transaction(
            WRITE,
            || format!("{doing} task `{key}`"),
            |session| {
                let found = read_for_change(session, key)?;
                if !change_task(session, found, events, change)? {
                    return Ok(None);
                }
                // Each candidate is read after the writes above (sent with its read), so its
                // count of unfinished dependencies is the one this success left. One that
                // another transaction holds is passed over, not waited for: it is no longer
                // the one to take.
                first_taken(next, |candidate| {
                    match try_read_for_change(session, candidate, LOCK_UNLESS_HELD)? {
                        Some(found) => change_task(session, found, &[], then),
                        None => Ok(false),
                    }
                })
            },
        )
    }

    fn end_run_if_over(&self, run: &str, now: Millis) -> BackendResult<RunSettled> {
        // A look without locks first: a worker asks after each task it finishes, and a run
        // with work left (the common answer) need not wait for every transition in flight,
        // nor stop them, as locking its row `FOR UPDATE` would. The engine that finishes the
        // last task looks after its own commit, so it sees the run as settled.
        let unsettled = self.transaction(
            SINGLE,
            || format!("look at run `{run}`"),
            |session| {
                let row = session
                    .query_opt(STATE_AND_PROGRESS, args![run.to_string()])?
                    .ok_or_else(|| no_run(run))?;
                let state = run_state_of(&row, 0)?;
                Ok((state == RunState::Running && settled(&row, 1)?.is_none()).then_some(state))
            },
        )?;
        if let Some(state) = unsettled {
            return Ok(RunSettled::as_it_was(state));
        }
        self.transaction(
            WRITE,
            || format!("settle run `{run}`"),
            |session| {
                let state = lock_run(session, LOCK_RUN, run)?;
                if state != RunState::Running {
                    return Ok(RunSettled::as_it_was(state));
                }
                let row = session
                    .query_opt(PROGRESS, args![run.to_string()])?
                    .ok_or_else(|| no_run(run))?;
                let Some(settled) = settled(&row, 0)? else {
                    return Ok(RunSettled::as_it_was(RunState::Running));
                };
                session.execute(
                    "UPDATE runs SET state = $2, finished_at = $3 WHERE id = $1",
                    args![run.to_string(), settled.as_str().to_string(), now],
                )?;
                notify_ready(session, run)?;
                Ok(RunSettled::ended(settled))
            },
        )
    }

    fn reset_tasks(&self, run: &str, resets: &[TaskReset], _now: Millis) -> BackendResult<()> {
        self.transaction(
            WRITE,
            || format!("reset tasks of run `{run}`"),
            |session| {
                lock_run(session, LOCK_RUN, run)?;
                // A missing task ends the transaction before its commit: all or nothing.
                for reset in resets {
                    let mut task = read_task(
                        session,
                        &TaskKey::new(run, reset.id.clone()),
                        true,
                        SCHEMA_VERSION,
                    )?;
                    let before = task.state;
                    lifecycle::reset(&mut task, reset);
                    write_task_from(session, before, &task)?;
                }
                session.execute(
                    "UPDATE runs SET state = 'running', finished_at = NULL WHERE id = $1",
                    args![run.to_string()],
                )?;
                notify_ready(session, run)
            },
        )
    }

    fn replan_run(
        &self,
        run: &str,
        plan: &Plan,
        decide: &mut ReplanDecision<'_>,
    ) -> BackendResult<()> {
        let shown = self.link.shown();
        self.transaction(
            WRITE,
            || format!("plan run `{run}` again"),
            |session| {
                lock_run(session, LOCK_RUN, run)?;
                let record = run_record(session, shown, run, self.version)?;
                let tasks = tasks_of(session, run, self.version)?;
                let records = decide(&record, &tasks)?;
                lifecycle::records_fit(plan, &records)?;
                // The run's tasks are written afresh from the new plan: every row, in its new
                // position, with its dependencies; what the plan dropped is gone.
                session.execute("DELETE FROM tasks WHERE run = $1", args![run.to_string()])?;
                insert_tasks(session, run, &plan.tasks, 0)?;
                for task in &records {
                    write_task(session, task)?;
                }
                insert_deps(session, run, &edges_of(&plan.tasks))?;
                // The rows and edges are new (an expansion's instances, edges an outcome
                // let go of): every count is taken afresh.
                session.execute(RECOUNT_RUN, args![run.to_string()])?;
                session.execute(
                    "UPDATE runs SET state = 'running', finished_at = NULL, workflow = $2, \
                     source = $3, plan = $4, plan_generation = plan_generation + 1 WHERE id = $1",
                    args![
                        run.to_string(),
                        plan.workflow.clone(),
                        plan.source.clone(),
                        to_json(plan)?
                    ],
                )?;
                notify_ready(session, run)
            },
        )
    }

    fn finish_run(&self, run: &str, state: RunState, now: Millis) -> BackendResult<()> {
        self.transaction(
            WRITE,
            || format!("end run `{run}` as {state}"),
            |session| {
                lock_run(session, LOCK_RUN, run)?;
                let finished_at = (state != RunState::Running).then_some(now);
                session.execute(
                    "UPDATE runs SET state = $2, finished_at = $3 WHERE id = $1",
                    args![run.to_string(), state.as_str().to_string(), finished_at],
                )?;
                if state == RunState::Cancelled {
                    let open = session.query(
                        concat!(
                            "SELECT ",
                            task_columns!(),
                            " FROM tasks WHERE run = $1 ",
                            "AND state IN ('pending', 'claimed', 'running', 'waiting') FOR UPDATE"
                        ),
                        args![run.to_string()],
                    )?;
                    for row in &open {
                        let mut task = task_record(row)?;
                        let before = task.state;
                        if lifecycle::cancel(&mut task, now) {
                            write_task_from(session, before, &task)?;
                        }
                    }
                }
                notify_ready(session, run)
            },
        )
    }

    fn delete_run(&self, run: &str) -> BackendResult<()> {
        self.transaction(
            WRITE,
            || format!("delete run `{run}`"),
            |session| {
                if lock_run(session, LOCK_RUN, run)? == RunState::Running {
                    return Err(Stop::Backend(BackendError::conflict(format!(
                        "run `{run}` is still running; only a run that ended can be deleted"
                    ))));
                }
                // Tasks, dependencies and events go with the run by `ON DELETE CASCADE`.
                session.execute("DELETE FROM runs WHERE id = $1", args![run.to_string()])?;
                Ok(())
            },
        )
    }

    fn append_event(&self, run: &str, event: &NewEvent) -> BackendResult<i64> {
        self.transaction(
            SINGLE,
            || format!("append an event to run `{run}`"),
            |session| insert_events(session, run, std::slice::from_ref(event)),
        )
    }

    fn append_events(&self, run: &str, events: &[NewEvent]) -> BackendResult<()> {
        self.transaction(
            WRITE_LOG,
            || format!("append events to run `{run}`"),
            |session| {
                if events.is_empty() {
                    require_run(session, run)
                } else {
                    insert_events(session, run, events).map(|_| ())
                }
            },
        )
    }

    fn read_events(&self, run: &str, after: i64, limit: usize) -> BackendResult<Vec<EventRecord>> {
        self.transaction(
            READ,
            || format!("read the events of run `{run}`"),
            |session| {
                require_run(session, run)?;
                session
                    .query(
                        "SELECT seq, at, kind, task, data FROM events \
                         WHERE run = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                        args![run.to_string(), after, int(limit)],
                    )?
                    .iter()
                    .map(|row| {
                        let data: String = row.try_get(4)?;
                        Ok(EventRecord {
                            seq: row.try_get(0)?,
                            at: row.try_get(1)?,
                            kind: row.try_get(2)?,
                            task: row.try_get(3)?,
                            data: serde_json::from_str(&data).map_err(|error| {
                                damaged(format!("an event of run `{run}` is bad JSON: {error}"))
                            })?,
                        })
                    })
                    .collect()
            },
        )
    }

    fn work_signal(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        Some(self.link.ready_signal())
    }
}
