//! `wfc store check` on a Postgres store: one read-only snapshot in which every run, task and
//! dependency is looked at for what the backend relies on and the server's constraints do
//! not already guarantee. The tables, keys and foreign keys themselves are the server's to
//! keep; what is checked here is what a program other than wfc (or a bug) could get wrong.

use super::{PostgresBackend, Step, READ};
use crate::backends::postgres::schema::SCHEMA_VERSION;
use crate::plan::Plan;
use crate::runtime::{BackendResult, RunState, TaskState};

/// What `wfc store check` found in a Postgres store.
#[derive(Clone, Debug, Default)]
pub struct PostgresCheck {
    /// The schema version the store records.
    pub version: i64,
    /// How many runs, tasks and events it holds.
    pub runs: usize,
    /// See `runs`.
    pub tasks: usize,
    /// See `runs`.
    pub events: usize,
    /// Each thing that is wrong, in words that name the run and the task; empty when the
    /// store is sound.
    pub problems: Vec<String>,
}

/// A lease that ends more than this far ahead was not given by wfc, whose longest is a day.
const LONGEST_LEASE_MS: i64 = 2 * 86_400_000;

impl PostgresBackend {
    /// Reads the whole store in one snapshot and reports what is wrong in it.
    pub fn check(&self) -> BackendResult<PostgresCheck> {
        let now = crate::runtime::now_millis();
        self.transaction(
            READ,
            || "check the store".to_string(),
            |session| {
                let mut check = PostgresCheck::default();
                let row = session
                    .query_opt(
                        "SELECT (SELECT max(version) FROM wfc_schema), \
                         (SELECT count(*) FROM runs), (SELECT count(*) FROM tasks), \
                         (SELECT count(*) FROM events)",
                        Vec::new(),
                    )?
                    .ok_or_else(|| super::damaged("the store's counts are missing".into()))?;
                check.version = row.try_get::<_, Option<i64>>(0)?.unwrap_or(0);
                check.runs = super::count_of(&row, 1)?;
                check.tasks = super::count_of(&row, 2)?;
                check.events = super::count_of(&row, 3)?;
                // An older version is sound: a command that writes migrates it.
                if !(1..=SCHEMA_VERSION).contains(&check.version) {
                    check.problems.push(format!(
                        "wfc_schema records version {}, this wfc reads version {SCHEMA_VERSION}",
                        check.version
                    ));
                }
                runs(session, &mut check)?;
                tasks(session, now, &mut check)?;
                if check.version >= 4 {
                    counts(session, &mut check)?;
                }
                Ok(check)
            },
        )
    }
}

/// Each run's state, plan and event counter.
fn runs(session: &mut super::Session<'_>, check: &mut PostgresCheck) -> Step<()> {
    let rows = session.query(
        "SELECT r.id, r.state, r.plan, r.last_event, \
         (SELECT max(seq) FROM events e WHERE e.run = r.id), \
         ARRAY(SELECT t.id FROM tasks t WHERE t.run = r.id) \
         FROM runs r ORDER BY r.id",
        Vec::new(),
    )?;
    for row in &rows {
        let id: String = row.try_get(0)?;
        let state: String = row.try_get(1)?;
        if RunState::parse(&state).is_none() {
            check.problems.push(format!(
                "run `{id}` has the state `{state}`, which wfc never writes"
            ));
        }
        let plan: String = row.try_get(2)?;
        let tasks: Vec<String> = row.try_get(5)?;
        match serde_json::from_str::<Plan>(&plan) {
            Ok(plan) => {
                for task in tasks.iter().filter(|task| plan.task(task).is_none()) {
                    check.problems.push(format!(
                        "run `{id}` has a task `{task}` that its plan does not have"
                    ));
                }
            }
            Err(error) => check
                .problems
                .push(format!("the plan of run `{id}` does not parse: {error}")),
        }
        let last_event: i64 = row.try_get(3)?;
        let highest: Option<i64> = row.try_get(4)?;
        if let Some(highest) = highest.filter(|highest| *highest > last_event) {
            check.problems.push(format!(
                "run `{id}` counts {last_event} events but holds event {highest}: the next \
                 events would take numbers already used"
            ));
        }
    }
    Ok(())
}

/// Each task's state and lease, and dependencies on tasks of other runs.
fn tasks(session: &mut super::Session<'_>, now: i64, check: &mut PostgresCheck) -> Step<()> {
    let rows = session.query(
        "SELECT run, id, state, worker, lease_until FROM tasks ORDER BY run, position, id",
        Vec::new(),
    )?;
    for row in &rows {
        let run: String = row.try_get(0)?;
        let id: String = row.try_get(1)?;
        let state: String = row.try_get(2)?;
        let worker: Option<String> = row.try_get(3)?;
        let lease_until: Option<i64> = row.try_get(4)?;
        let task = format!("`{run}/{id}`");
        let Some(state) = TaskState::parse(&state) else {
            check.problems.push(format!(
                "task {task} has the state `{state}`, which wfc never writes"
            ));
            continue;
        };
        let held = matches!(state, TaskState::Claimed | TaskState::Running);
        match (held, &worker, lease_until) {
            (true, None, _) | (true, _, None) => check.problems.push(format!(
                "task {task} is {state} but has no worker or no lease: no engine holds it and \
                 none may take it over"
            )),
            (true, Some(_), Some(until)) if until > now + LONGEST_LEASE_MS => {
                check.problems.push(format!(
                    "task {task} is held under a lease that ends in {} hours: wfc gives a \
                     day at most",
                    (until - now) / 3_600_000
                ))
            }
            (false, Some(worker), _) => check.problems.push(format!(
                "task {task} is {state} but still names worker `{worker}`"
            )),
            _ => {}
        }
    }
    let strays = session.query(
        "SELECT d.run, d.child, d.parent FROM deps d \
         LEFT JOIN tasks c ON c.run = d.run AND c.id = d.child \
         LEFT JOIN tasks p ON p.run = d.run AND p.id = d.parent \
         WHERE c.id IS NULL OR p.id IS NULL",
        Vec::new(),
    )?;
    for row in &strays {
        let (run, child, parent): (String, String, String) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        check.problems.push(format!(
            "run `{run}` records that `{child}` waits for `{parent}`, but one of them is missing"
        ));
    }
    Ok(())
}

/// Each task's count of unfinished dependencies (schema version 4), against what its
/// dependencies' states say: a wrong count would run a task too early, or never.
fn counts(session: &mut super::Session<'_>, check: &mut PostgresCheck) -> Step<()> {
    let rows = session.query(
        concat!(
            "SELECT run, id, unfinished_deps, actual FROM (SELECT t.run, t.id, t.position, \
             t.unfinished_deps, (SELECT count(*) FROM deps d \
             LEFT JOIN tasks p ON p.run = d.run AND p.id = d.parent \
             WHERE d.run = t.run AND d.child = t.id AND (p.state IS NULL OR p.state NOT IN ",
            done_states!(),
            ")) AS actual FROM tasks t) counted WHERE unfinished_deps != actual \
             ORDER BY run, position, id"
        ),
        Vec::new(),
    )?;
    for row in &rows {
        let (run, id): (String, String) = (row.try_get(0)?, row.try_get(1)?);
        let counted: i64 = row.try_get(2)?;
        let actual: i64 = row.try_get(3)?;
        let noun = if counted == 1 {
            "dependency"
        } else {
            "dependencies"
        };
        check.problems.push(format!(
            "task `{run}/{id}` counts {counted} unfinished {noun}, not {actual}"
        ));
    }
    Ok(())
}
