//! The Postgres store's schema: its tables, the version wfc records in `wfc_schema`, and
//! what [`super::PostgresBackend::open`] checks (and creates or migrates) before anything else.

use super::link::{Link, Session};
use super::Stop;
use crate::backends::Access;
use crate::runtime::BackendError;

/// The schema version this wfc writes and reads, kept in the one row of `wfc_schema`.
pub const SCHEMA_VERSION: i64 = 4;

/// The key of the advisory lock that makes creating and migrating the store one step at a
/// time across processes ("wfc1" as a number, as SQLite's application id).
const SETUP_LOCK: i64 = 0x7766_6331;

/// The tables of schema version 4, in the schema the URL names.
///
/// - `runs`: one row a run; `plan` is the JSON of its plan snapshot, `workflow` and `source`
///   copied out of it; `workspace` and `host` say where it works, and `remote` and `base`
///   the repository its work moves through between machines (version 2); `plan_generation` counts
///   replans; `last_event` is the sequence number of its last event, which appending events
///   counts up (and so appends of one run take turns, while other runs' do not wait).
/// - `tasks`: one row a task, keyed by run and task id; `position` is its index in the plan;
///   `typed_output` the JSON of its typed output once it succeeded (version 3);
///   `unfinished_deps` how many of its dependencies are not done (version 4), kept by every
///   transaction that moves a task into or out of a state that satisfies its dependants, and
///   read through the partial index `tasks_ready`, so a look for ready tasks reads what it
///   returns instead of every pending task's dependencies.
/// - `deps`: `child` waits for `parent`, both tasks of `run`.
/// - `events`: each run's log, `seq` counting from 1; `data` is JSON.
///
/// Deleting a run deletes its tasks, dependencies and events (`ON DELETE CASCADE`).
pub const SCHEMA: &str = "
CREATE TABLE runs (
    id              TEXT PRIMARY KEY,
    state           TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    finished_at     BIGINT,
    workflow        TEXT NOT NULL,
    source          TEXT NOT NULL,
    plan            TEXT NOT NULL,
    workspace       TEXT,
    host            TEXT,
    remote          TEXT,
    base            TEXT,
    plan_generation BIGINT NOT NULL DEFAULT 0,
    last_event      BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE tasks (
    run          TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    id           TEXT NOT NULL,
    position     BIGINT NOT NULL,
    priority     INTEGER NOT NULL,
    is_gate      BOOLEAN NOT NULL,
    state        TEXT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    worker       TEXT,
    lease_until  BIGINT,
    started_at   BIGINT,
    finished_at  BIGINT,
    result       TEXT,
    last_error   TEXT,
    output       TEXT,
    typed_output TEXT,
    unfinished_deps BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (run, id)
);
CREATE INDEX tasks_by_state ON tasks (run, state, priority, position);
CREATE INDEX tasks_ready ON tasks (run, priority, position)
    WHERE state = 'pending' AND unfinished_deps = 0;
CREATE TABLE deps (
    run    TEXT NOT NULL,
    child  TEXT NOT NULL,
    parent TEXT NOT NULL,
    PRIMARY KEY (run, child, parent),
    FOREIGN KEY (run, child) REFERENCES tasks (run, id) ON DELETE CASCADE,
    FOREIGN KEY (run, parent) REFERENCES tasks (run, id) ON DELETE CASCADE
);
CREATE INDEX deps_by_parent ON deps (run, parent);
CREATE TABLE events (
    run  TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq  BIGINT NOT NULL,
    at   BIGINT NOT NULL,
    kind TEXT NOT NULL,
    task TEXT,
    data TEXT NOT NULL,
    PRIMARY KEY (run, seq)
);
CREATE TABLE wfc_schema (
    version BIGINT NOT NULL
);
";

/// What version 2 added to a version-1 store: where a run's work moves between machines.
const TO_VERSION_2: &str = "ALTER TABLE runs ADD COLUMN IF NOT EXISTS remote TEXT, \
     ADD COLUMN IF NOT EXISTS base TEXT";

/// What version 3 added to a version-2 store: the tasks' typed outputs. The column is empty
/// for every task of an older run, which declared none.
const TO_VERSION_3: &str = "ALTER TABLE tasks ADD COLUMN IF NOT EXISTS typed_output TEXT";

/// What version 4 added to a version-3 store: each task's count of unfinished dependencies,
/// taken from the dependencies' states as they are, and the index of the ready tasks.
const TO_VERSION_4: &str = concat!(
    "ALTER TABLE tasks ADD COLUMN IF NOT EXISTS unfinished_deps BIGINT NOT NULL DEFAULT 0; ",
    count_unfinished_deps!(""),
    "; CREATE INDEX IF NOT EXISTS tasks_ready ON tasks (run, priority, position) \
     WHERE state = 'pending' AND unfinished_deps = 0"
);

/// Checks the store's schema version, creating the store first if the schema holds none and
/// `access` allows it, and returns the version it reads. A store of a newer version is
/// refused unchanged; an older one is migrated by a command that writes, and read as it is
/// by one that only reads.
pub fn prepare(link: &Link, access: Access) -> Result<i64, BackendError> {
    let shown = link.shown().to_string();
    let schema = link.address().schema.clone();
    let found = link
        .transaction(Some("BEGIN READ ONLY"), |session| version(session, &schema))
        .map_err(|stop| super::fail(&shown, stop, || "read its schema version".to_string()))?;
    let version = match found {
        Some(version) => version,
        None if access != Access::Create => {
            return Err(BackendError::not_found(format!(
                "there is no wfc state store in schema `{schema}` of `{shown}`"
            )))
        }
        None => link
            .transaction(Some("BEGIN"), |session| create(session, &schema))
            .map_err(|stop| super::fail(&shown, stop, || "create its tables".to_string()))?,
    };
    if version > SCHEMA_VERSION {
        return Err(BackendError::storage(
            format!(
                "the state store in schema `{schema}` of `{shown}` has schema version {version}, \
                 newer than this wfc reads (version {SCHEMA_VERSION}); wfc left it unchanged"
            ),
            "a newer wfc wrote it: use that wfc (or a newer one) with this store, or name \
             another schema with `?schema=NAME`",
        ));
    }
    if version < 1 {
        return Err(BackendError::storage(
            format!(
                "the state store in schema `{schema}` of `{shown}` has schema version {version}, \
                 which no wfc writes"
            ),
            "the store was changed by another program: name another schema with \
             `?schema=NAME`",
        ));
    }
    if version < SCHEMA_VERSION && access != Access::Read {
        return link
            .transaction(Some("BEGIN"), |session| migrate(session, &schema))
            .map_err(|stop| super::fail(&shown, stop, || "migrate its tables".to_string()));
    }
    Ok(version)
}

/// Brings an older store to [`SCHEMA_VERSION`] unless another process did meanwhile (the
/// advisory lock makes them take turns), and returns the version it has then.
fn migrate(session: &mut Session<'_>, schema: &str) -> Result<i64, Stop> {
    session.batch(&format!("SELECT pg_advisory_xact_lock({SETUP_LOCK})"))?;
    let version = version(session, schema)?.unwrap_or(0);
    if version >= SCHEMA_VERSION {
        return Ok(version);
    }
    if version < 2 {
        session.batch(TO_VERSION_2)?;
    }
    if version < 3 {
        session.batch(TO_VERSION_3)?;
    }
    if version < 4 {
        session.batch(TO_VERSION_4)?;
    }
    session.batch(&format!("UPDATE wfc_schema SET version = {SCHEMA_VERSION}"))?;
    Ok(SCHEMA_VERSION)
}

/// The version recorded in the schema `schema`, or `None` when it has no `wfc_schema` table.
/// A schema the user may not use is an error of its own: the search path would skip it
/// without a word, and its tables would seem missing.
fn version(session: &mut Session<'_>, schema: &str) -> Result<Option<i64>, Stop> {
    let found = session.query_opt(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables \
            WHERE schemaname = $1 AND tablename = 'wfc_schema'), \
         COALESCE((SELECT has_schema_privilege(oid, 'USAGE') FROM pg_catalog.pg_namespace \
            WHERE nspname = $1), true)",
        super::link::args![schema.to_string()],
    )?;
    let (exists, usable) = match found {
        Some(row) => (row.try_get::<_, bool>(0)?, row.try_get::<_, bool>(1)?),
        None => (false, true),
    };
    if !usable {
        return Err(Stop::Backend(BackendError::storage(
            format!(
                "the user of `{}` may not use schema `{schema}` (permission denied for schema \
                 `{schema}`)",
                session.shown()
            ),
            "this user lacks the rights it needs on the schema: grant it USAGE on the schema \
             and SELECT, INSERT, UPDATE and DELETE on its tables, or use the user that made \
             the store",
        )));
    }
    if !exists {
        return Ok(None);
    }
    let row = session.query_opt("SELECT max(version) FROM wfc_schema", Vec::new())?;
    let version: Option<i64> = match row {
        Some(row) => row.try_get(0)?,
        None => None,
    };
    Ok(Some(version.unwrap_or(0)))
}

/// Creates the schema and its tables unless another process did meanwhile (the advisory lock
/// makes them take turns), and returns the version the store has then.
fn create(session: &mut Session<'_>, schema: &str) -> Result<i64, Stop> {
    session.batch(&format!("SELECT pg_advisory_xact_lock({SETUP_LOCK})"))?;
    if let Some(version) = version(session, schema)? {
        return Ok(version);
    }
    session.batch(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))?;
    session.batch(SCHEMA)?;
    session.batch(&format!(
        "INSERT INTO wfc_schema (version) VALUES ({SCHEMA_VERSION})"
    ))?;
    Ok(SCHEMA_VERSION)
}
