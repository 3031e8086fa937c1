//! `wfc stats [--since AGE] [--workflow NAME] [--json]`: what the store's runs say about each
//! workflow, task and agent profile — how often it succeeds, how many attempts a success
//! takes, how long it takes and what it costs.
//!
//! Everything is derived from what every backend already offers (the run list, each run's plan
//! snapshot, its task records and its `agent_session` events), so the figures are the same on
//! SQLite, beads and Postgres and no backend stores anything for them.

use super::human::{self, Cell, Paint};
use super::output::Output;
use super::runs::Age;
use super::store::{self, BackendArgs, Store};
use super::usage::{dollars, tokens};
use crate::backends::Access;
use crate::plan::Action;
use crate::runtime::{now_millis, BackendResult, Millis, RunState, TaskBackend, TaskState};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

/// How many events are read per page.
const PAGE: usize = 5_000;

/// The profile an agent task without one runs with: whatever `--agent` chose for its run.
const DEFAULT_PROFILE: &str = "(run's default)";

/// What `wfc stats` was asked for.
pub struct StatsArgs {
    /// Only runs created less than this long ago.
    pub since: Option<Age>,
    /// Only runs of this workflow.
    pub workflow: Option<String>,
    /// `--json`.
    pub json: bool,
}

/// The agent sessions of some tasks: what they cost, as far as they said.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Spend {
    /// How many sessions ran.
    pub sessions: u64,
    /// The sum of the costs the sessions reported, in US dollars.
    pub cost_usd: f64,
    /// How many sessions reported no cost: their cost is unknown, not zero.
    pub sessions_without_cost: u64,
    /// Input tokens reported.
    pub input_tokens: u64,
    /// Output tokens reported.
    pub output_tokens: u64,
}

impl Spend {
    /// Adds one `agent_session` event's data.
    fn add_session(&mut self, data: &Value) {
        self.sessions += 1;
        match data.get("cost_usd").and_then(Value::as_f64) {
            Some(cost) => self.cost_usd = micro_round(self.cost_usd + cost),
            None => self.sessions_without_cost += 1,
        }
        self.input_tokens += data
            .get("input_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        self.output_tokens += data
            .get("output_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0);
    }

    fn add(&mut self, other: &Spend) {
        self.sessions += other.sessions;
        self.cost_usd = micro_round(self.cost_usd + other.cost_usd);
        self.sessions_without_cost += other.sessions_without_cost;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
    }

    /// `$1.25`, `$1.25 + 2 unknown` when some sessions reported no cost, `-` without sessions.
    fn cost_text(&self) -> String {
        match (self.sessions, self.sessions_without_cost) {
            (0, _) => "-".into(),
            (n, unknown) if n == unknown => "unknown".into(),
            (_, 0) => dollars(self.cost_usd),
            (_, unknown) => format!("{} + {unknown} unknown", dollars(self.cost_usd)),
        }
    }
}

/// Costs are summed in millionths of a dollar, as `usage.rs` does, so sums print as reported.
fn micro_round(cost: f64) -> f64 {
    (cost * 1_000_000.0).round() / 1_000_000.0
}

/// One task of one run, as the statistics need it.
struct TaskFact {
    workflow: String,
    task: String,
    /// The agent profile, for agent tasks.
    profile: Option<String>,
    state: TaskState,
    attempts: u32,
    /// How long its last attempt took, when it succeeded.
    duration: Option<Millis>,
    spend: Spend,
}

/// One run, as the statistics need it.
struct RunFact {
    id: String,
    workflow: String,
    state: RunState,
    /// From its creation to its end, when it ended.
    duration: Option<Millis>,
    tasks: Vec<TaskFact>,
}

/// The figures of one row: a workflow, a task or a profile.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Row {
    /// The workflow, the task (`workflow/task`) or the profile.
    pub name: String,
    /// How many runs it appears in.
    pub runs: usize,
    /// For a workflow, its runs that ended; otherwise its tasks that ended.
    pub ended: usize,
    /// Of those, how many succeeded.
    pub succeeded: usize,
    /// `succeeded / ended`, from 0 to 1; absent when nothing ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_rate: Option<f64>,
    /// Every attempt of its ended tasks, divided by the tasks that succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts_per_success: Option<f64>,
    /// The median duration in milliseconds: of a workflow's ended runs, of a task's successful
    /// attempts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_ms: Option<Millis>,
    /// The 90th percentile of the same durations (nearest rank).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p90_ms: Option<Millis>,
    /// What its agent sessions cost and used.
    pub spend: Spend,
    /// The cost divided by the tasks that succeeded; absent when none did, when no session ran,
    /// or when a session's cost is unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_per_success_usd: Option<f64>,
}

/// The three tables of `wfc stats`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stats {
    /// One row per workflow; the unit is a run.
    pub workflows: Vec<Row>,
    /// One row per task id of a workflow; the unit is a task of a run.
    pub tasks: Vec<Row>,
    /// One row per agent profile; the unit is an agent task of a run.
    pub profiles: Vec<Row>,
}

/// Runs `wfc stats`.
pub fn run(args: &BackendArgs, stats_args: &StatsArgs, output: &Output) -> ExitCode {
    let store = match Store::open(args, Access::Read, output) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let facts = match read_runs(&*store.backend, stats_args, now_millis()) {
        Ok(facts) => facts,
        Err(error) => return store::report(&error, output),
    };
    let stats = summarize(&facts);
    if stats_args.json {
        output.stdout_line(&serde_json::to_string_pretty(&stats).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    if facts.is_empty() {
        output.error(&format!(
            "no run in {} matches: there is nothing to count",
            store.place
        ));
        return ExitCode::SUCCESS;
    }
    for line in to_text(&stats, human::width(), Paint::stdout()) {
        output.stdout_line(&line);
    }
    ExitCode::SUCCESS
}

/// Reads the runs `args` picks, with their tasks and sessions.
fn read_runs(
    backend: &dyn TaskBackend,
    args: &StatsArgs,
    now: Millis,
) -> BackendResult<Vec<RunFact>> {
    let mut facts = Vec::new();
    for summary in backend.list_runs()? {
        if args
            .since
            .is_some_and(|age| summary.created_at < now - age.millis())
        {
            continue;
        }
        if args
            .workflow
            .as_ref()
            .is_some_and(|w| *w != summary.workflow)
        {
            continue;
        }
        let run = backend.get_run(&summary.id)?;
        let spend = sessions_by_task(backend, &summary.id)?;
        let tasks = backend
            .list_tasks(&summary.id)?
            .into_iter()
            .filter_map(|record| {
                let spec = run.plan.task(&record.key.task)?;
                let profile = match &spec.action {
                    // People's answers are no work to measure.
                    _ if spec.action.waits_for_person() => return None,
                    Action::Agent { profile, .. } => {
                        Some(profile.clone().unwrap_or_else(|| DEFAULT_PROFILE.into()))
                    }
                    Action::Command { .. } => None,
                    Action::Gate { .. } => return None,
                };
                let duration = match (record.state, record.started_at, record.finished_at) {
                    (TaskState::Succeeded, Some(start), Some(end)) => Some(end - start),
                    _ => None,
                };
                Some(TaskFact {
                    workflow: summary.workflow.clone(),
                    spend: spend.get(&record.key.task).cloned().unwrap_or_default(),
                    task: record.key.task,
                    profile,
                    state: record.state,
                    attempts: record.attempts,
                    duration,
                })
            })
            .collect();
        facts.push(RunFact {
            id: summary.id,
            workflow: summary.workflow,
            state: summary.state,
            duration: summary.finished_at.map(|end| end - summary.created_at),
            tasks,
        });
    }
    Ok(facts)
}

/// The spend of each task of `run`, from its `agent_session` events.
fn sessions_by_task(
    backend: &dyn TaskBackend,
    run: &str,
) -> BackendResult<BTreeMap<String, Spend>> {
    let mut spend: BTreeMap<String, Spend> = BTreeMap::new();
    let mut after = 0;
    loop {
        let events = backend.read_events(run, after, PAGE)?;
        for event in &events {
            if let (true, Some(task)) = (event.kind == "agent_session", &event.task) {
                spend
                    .entry(task.clone())
                    .or_default()
                    .add_session(&event.data);
            }
        }
        match events.last() {
            Some(last) if events.len() == PAGE => after = last.seq,
            _ => return Ok(spend),
        }
    }
}

/// What a row is summed from before its figures are computed.
#[derive(Default)]
struct Tally {
    runs: BTreeSet<String>,
    ended: usize,
    succeeded: usize,
    attempts: u64,
    successful_tasks: usize,
    durations: Vec<Millis>,
    spend: Spend,
}

impl Tally {
    fn add_task(&mut self, run: &str, task: &TaskFact) {
        self.runs.insert(run.to_string());
        if task.state.is_final() {
            self.ended += 1;
            self.attempts += u64::from(task.attempts);
        }
        if task.state == TaskState::Succeeded {
            self.succeeded += 1;
            self.successful_tasks += 1;
        }
        self.durations.extend(task.duration);
        self.spend.add(&task.spend);
    }

    fn row(mut self, name: String) -> Row {
        self.durations.sort_unstable();
        let ratio = |part: f64, whole: usize| (whole > 0).then(|| part / whole as f64);
        let cost_known = self.spend.sessions > 0 && self.spend.sessions_without_cost == 0;
        Row {
            name,
            runs: self.runs.len(),
            ended: self.ended,
            succeeded: self.succeeded,
            success_rate: ratio(self.succeeded as f64, self.ended),
            attempts_per_success: ratio(self.attempts as f64, self.successful_tasks)
                .map(|a| (a * 100.0).round() / 100.0),
            median_ms: nearest_rank(&self.durations, 50),
            p90_ms: nearest_rank(&self.durations, 90),
            cost_per_success_usd: ratio(self.spend.cost_usd, self.successful_tasks)
                .filter(|_| cost_known)
                .map(micro_round),
            spend: self.spend,
        }
    }
}

/// The `percent`th percentile of `sorted` by nearest rank: the smallest value with at least
/// `percent`% of the values at or below it, so it is always a value that was measured.
fn nearest_rank(sorted: &[Millis], percent: usize) -> Option<Millis> {
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// The three tables, each sorted by name.
fn summarize(runs: &[RunFact]) -> Stats {
    let mut workflows: BTreeMap<String, Tally> = BTreeMap::new();
    let mut tasks: BTreeMap<String, Tally> = BTreeMap::new();
    let mut profiles: BTreeMap<String, Tally> = BTreeMap::new();
    for run in runs {
        let workflow = workflows.entry(run.workflow.clone()).or_default();
        workflow.runs.insert(run.id.clone());
        if run.state != RunState::Running {
            workflow.ended += 1;
            workflow.durations.extend(run.duration);
        }
        if run.state == RunState::Succeeded {
            workflow.succeeded += 1;
        }
        for task in &run.tasks {
            if task.state.is_final() {
                workflow.attempts += u64::from(task.attempts);
            }
            if task.state == TaskState::Succeeded {
                workflow.successful_tasks += 1;
            }
            workflow.spend.add(&task.spend);
            tasks
                .entry(format!("{}/{}", task.workflow, task.task))
                .or_default()
                .add_task(&run.id, task);
            if let Some(profile) = &task.profile {
                profiles
                    .entry(profile.clone())
                    .or_default()
                    .add_task(&run.id, task);
            }
        }
    }
    let rows = |map: BTreeMap<String, Tally>| {
        map.into_iter()
            .map(|(name, tally)| tally.row(name))
            .collect()
    };
    Stats {
        workflows: rows(workflows),
        tasks: rows(tasks),
        profiles: rows(profiles),
    }
}

/// The tables as text.
fn to_text(stats: &Stats, width: usize, paint: Paint) -> Vec<String> {
    let mut lines = Vec::new();
    let tables = [
        ("WORKFLOW", "RUNS OK", &stats.workflows),
        ("TASK", "TASKS OK", &stats.tasks),
        ("PROFILE", "TASKS OK", &stats.profiles),
    ];
    for (title, ok, rows) in tables {
        if rows.is_empty() {
            continue;
        }
        if !lines.is_empty() {
            lines.push(String::new());
        }
        let cells: Vec<Vec<Cell>> = rows.iter().map(row_cells).collect();
        lines.extend(human::table(
            &[
                title,
                "RUNS",
                ok,
                "ATTEMPTS/OK",
                "MEDIAN",
                "P90",
                "COST",
                "COST/OK",
                "TOKENS",
            ],
            &cells,
            width,
            paint,
        ));
    }
    lines
}

fn row_cells(row: &Row) -> Vec<Cell> {
    let or_dash = |text: Option<String>| Cell::plain(text.unwrap_or_else(|| "-".into()));
    let spend = &row.spend;
    vec![
        Cell::plain(row.name.clone()),
        Cell::plain(row.runs.to_string()),
        Cell::plain(match row.success_rate {
            Some(rate) => format!("{}/{} {:.0}%", row.succeeded, row.ended, rate * 100.0),
            None => "-".into(),
        }),
        or_dash(row.attempts_per_success.map(|a| format!("{a:.2}"))),
        or_dash(row.median_ms.map(human::duration)),
        or_dash(row.p90_ms.map(human::duration)),
        Cell::plain(spend.cost_text()),
        or_dash(
            match (row.cost_per_success_usd, spend.sessions_without_cost) {
                (Some(cost), _) => Some(dollars(cost)),
                (None, unknown) if unknown > 0 && row.succeeded > 0 => Some("unknown".into()),
                _ => None,
            },
        ),
        // Sessions that reported no tokens are not sessions that used none.
        Cell::plain(if spend.input_tokens == 0 && spend.output_tokens == 0 {
            "-".into()
        } else {
            format!(
                "{} in / {} out",
                tokens(spend.input_tokens),
                tokens(spend.output_tokens)
            )
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_measured_values() {
        let values = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
        assert_eq!(nearest_rank(&values, 50), Some(50));
        assert_eq!(nearest_rank(&values, 90), Some(90));
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        assert_eq!(nearest_rank(&[], 50), None);
    }

    #[test]
    fn a_session_without_a_cost_is_unknown_not_free() {
        let mut spend = Spend::default();
        spend.add_session(&serde_json::json!({"cost_usd": 0.5}));
        spend.add_session(&serde_json::json!({}));
        assert_eq!(spend.cost_text(), "$0.5000 + 1 unknown");
        let mut none = Spend::default();
        none.add_session(&serde_json::json!({}));
        assert_eq!(none.cost_text(), "unknown");
    }
}
