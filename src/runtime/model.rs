//! What a task backend stores: runs with their plan snapshots, tasks with their lifecycle
//! state, and each run's event log (ARCHITECTURE.md "Task lifecycle").

use crate::plan::Plan;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Milliseconds since the Unix epoch: how every backend stores time.
pub type Millis = i64;

/// The current time in [`Millis`].
pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Where a task is in its life.
///
/// Tasks: `pending → claimed → running → succeeded | failed | cancelled`, and back to
/// `pending` for a retry or when a lease expires. Gates: `pending → claimed → waiting →
/// approved | rejected`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Waiting for its dependencies, or for a worker.
    Pending,
    /// A worker holds it under a lease but has not started it.
    Claimed,
    /// A worker is running an attempt.
    Running,
    /// Done, and its result is stored.
    Succeeded,
    /// Out of attempts, or its run was stopped by a failure it depends on.
    Failed,
    /// Its run was cancelled.
    Cancelled,
    /// A gate waiting for `wfc approve` or `wfc reject`, holding no worker.
    Waiting,
    /// A gate a person approved; counts as succeeded.
    Approved,
    /// A task whose condition cannot hold (an outcome condition on an upstream that ended
    /// otherwise, or a `when` on outputs that is false): it never ran, and counts as done
    /// for its dependents, as a task a static `when` leaves out of the plan would.
    Skipped,
    /// A gate a person rejected (or whose time ran out); counts as failed.
    Rejected,
}

impl TaskState {
    /// Every state, for parsing and for tests.
    pub const ALL: [TaskState; 10] = [
        TaskState::Pending,
        TaskState::Claimed,
        TaskState::Running,
        TaskState::Succeeded,
        TaskState::Failed,
        TaskState::Cancelled,
        TaskState::Waiting,
        TaskState::Approved,
        TaskState::Rejected,
        TaskState::Skipped,
    ];

    /// The state's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Pending => "pending",
            TaskState::Claimed => "claimed",
            TaskState::Running => "running",
            TaskState::Succeeded => "succeeded",
            TaskState::Failed => "failed",
            TaskState::Cancelled => "cancelled",
            TaskState::Waiting => "waiting",
            TaskState::Approved => "approved",
            TaskState::Rejected => "rejected",
            TaskState::Skipped => "skipped",
        }
    }

    /// The state called `name`.
    pub fn parse(name: &str) -> Option<TaskState> {
        TaskState::ALL
            .into_iter()
            .find(|state| state.as_str() == name)
    }

    /// Whether dependents may start: it succeeded, it is an approved gate, or it was skipped.
    pub fn satisfies_dependents(self) -> bool {
        matches!(
            self,
            TaskState::Succeeded | TaskState::Approved | TaskState::Skipped
        )
    }

    /// What a task moving from `self` to `after` adds to the count of unfinished dependencies
    /// of each task that waits for it: -1 into a state that satisfies dependants, +1 out of
    /// one, `None` when neither (the counts stay).
    pub fn dependants_count_change(self, after: TaskState) -> Option<i64> {
        match (self.satisfies_dependents(), after.satisfies_dependents()) {
            (false, true) => Some(-1),
            (true, false) => Some(1),
            _ => None,
        }
    }

    /// Whether nothing more will happen to it without a person (`retry`, `approve`).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TaskState::Succeeded
                | TaskState::Failed
                | TaskState::Cancelled
                | TaskState::Approved
                | TaskState::Rejected
                | TaskState::Skipped
        )
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Tasks are still to run.
    Running,
    /// Every task succeeded.
    Succeeded,
    /// Nothing more can become ready, and something failed.
    Failed,
    /// `wfc cancel` stopped it.
    Cancelled,
}

impl RunState {
    /// The state's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
            RunState::Cancelled => "cancelled",
        }
    }

    /// The state called `name`.
    pub fn parse(name: &str) -> Option<RunState> {
        [
            RunState::Running,
            RunState::Succeeded,
            RunState::Failed,
            RunState::Cancelled,
        ]
        .into_iter()
        .find(|state| state.as_str() == name)
    }
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a run works: the folder its tasks run in and the machine that folder is on. A run
/// records it when it starts, so every engine that works on it (`wfc resume`, a `wfc worker`
/// started anywhere) runs its tasks there, or refuses when it cannot reach the folder.
///
/// A run isolated in git whose work moves through a shared remote also records that
/// repository: such a run is not tied to its folder, and any engine works on it in a clone
/// of its own (`wfc worker --workspace CLONE`), on any machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunPlace {
    /// The workspace: an absolute path.
    pub workspace: String,
    /// The host name of the machine it is on.
    pub host: String,
    /// The repository the run's work moves through, if it moves between machines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<RunRepository>,
}

/// What identifies the repository of a run whose work moves between machines: the remote
/// every engine fetches from and pushes to, and the commit the run started from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRepository {
    /// The remote's URL (never with a password in it).
    pub remote: String,
    /// The run's base commit.
    pub base: String,
}

impl RunPlace {
    /// `workspace` on this machine.
    pub fn here(workspace: &std::path::Path) -> Self {
        RunPlace {
            workspace: workspace.display().to_string(),
            host: this_host(),
            repository: None,
        }
    }

    /// The same place, with the run's work moving through `repository`.
    pub fn sharing(self, repository: Option<RunRepository>) -> Self {
        RunPlace { repository, ..self }
    }

    /// Why this machine cannot run the run's tasks there, if it cannot.
    pub fn unreachable(&self) -> Option<String> {
        let host = this_host();
        if self.host != host {
            return Some(format!(
                "its workspace {} is on {}, not on this machine ({host}); run its engines there",
                self.workspace, self.host
            ));
        }
        if !std::path::Path::new(&self.workspace).is_dir() {
            return Some(format!(
                "its workspace {} is gone (moved or deleted); the run cannot go on elsewhere, \
                 because its tasks' files are there",
                self.workspace
            ));
        }
        None
    }
}

/// This machine's host name, read once per process: an engine names its machine the same
/// way for as long as it runs, and a run of many short tasks reads no file per task.
pub fn this_host() -> String {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into())
    })
    .clone()
}

/// A run as stored: its snapshot and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    /// The run's id.
    pub id: String,
    /// Its state.
    pub state: RunState,
    /// When it was created.
    pub created_at: Millis,
    /// When it ended, if it did.
    pub finished_at: Option<Millis>,
    /// The plan it runs: resuming uses this snapshot, never the `.wf` file again.
    pub plan: Plan,
    /// Where it works; `None` for a run stored by a wfc that did not record it.
    pub place: Option<RunPlace>,
    /// How many times its plan was replaced by planning its file again (`wfc resume
    /// --replan`): 0 for the plan it started with.
    pub plan_generation: u32,
}

/// One line of `wfc runs`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// The run's id.
    pub id: String,
    /// The workflow it runs.
    pub workflow: String,
    /// Where the workflow came from.
    pub source: String,
    /// Its state.
    pub state: RunState,
    /// When it was created.
    pub created_at: Millis,
    /// When it ended, if it did.
    pub finished_at: Option<Millis>,
    /// How many tasks it has.
    pub tasks: usize,
    /// How many of them are done: succeeded, approved, or skipped.
    pub succeeded: usize,
}

/// Names a task: its run and its id in the plan.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct TaskKey {
    /// The run.
    pub run: String,
    /// The task's id in the run's plan.
    pub task: String,
}

impl TaskKey {
    /// The key of task `task` of run `run`.
    pub fn new(run: impl Into<String>, task: impl Into<String>) -> Self {
        TaskKey {
            run: run.into(),
            task: task.into(),
        }
    }
}

impl fmt::Display for TaskKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.run, self.task)
    }
}

/// A task as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskRecord {
    /// Which task.
    pub key: TaskKey,
    /// Where it is in its life.
    pub state: TaskState,
    /// Attempts started so far.
    pub attempts: u32,
    /// The most attempts it may have: its `retry` plus one.
    pub max_attempts: u32,
    /// The worker holding it, while claimed or running.
    pub worker: Option<String>,
    /// When the worker's lease ends, while claimed or running.
    pub lease_until: Option<Millis>,
    /// When its current or last attempt started.
    pub started_at: Option<Millis>,
    /// When it reached a final state.
    pub finished_at: Option<Millis>,
    /// Its result, once it succeeded: an agent's final message, a command's stdout tail, or a
    /// gate's answer.
    pub result: Option<String>,
    /// Why its last attempt failed (or was interrupted).
    pub last_error: Option<String>,
    /// The commit its work became (its output commit), once it succeeded in a run isolated
    /// in git worktrees; `None` otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The JSON of its typed output (`output:` in the workflow), once it succeeded: what its
    /// dependents read as `TASK.output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typed_output: Option<String>,
}

impl TaskRecord {
    /// A new task, `pending`, that has not run: `retry` extra attempts after a failure.
    pub fn new(key: TaskKey, retry: u32) -> TaskRecord {
        TaskRecord {
            key,
            state: TaskState::Pending,
            attempts: 0,
            max_attempts: retry.saturating_add(1),
            worker: None,
            lease_until: None,
            started_at: None,
            finished_at: None,
            result: None,
            last_error: None,
            output: None,
            typed_output: None,
        }
    }
}

/// What a successful claim hands the worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The number of this attempt, from 1.
    pub attempt: u32,
    /// Why the previous attempt failed or was interrupted, to tell the next session.
    pub previous_error: Option<String>,
    /// Whether the claim took the task over from an engine that stopped renewing its lease
    /// (whose attempt's processes may still run).
    pub taken_over: bool,
    /// The generation of the run's plan the claimed task belongs to (see
    /// [`RunRecord::plan_generation`]).
    pub plan_generation: u32,
}

/// An event as stored in a run's log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Its place in the run's log, from 1.
    pub seq: i64,
    /// When it happened.
    pub at: Millis,
    /// What happened: `task_started`, `task_failed`, …
    pub kind: String,
    /// The task it concerns, if any.
    pub task: Option<String>,
    /// Details, already free of secrets.
    pub data: serde_json::Value,
}
