//! The engine (ARCHITECTURE.md "Task lifecycle"): claims ready tasks atomically, runs each
//! attempt (a command, an agent session, or a gate that waits without a worker), verifies,
//! retries with the failure as context, and ends the run when nothing more can happen.
//!
//! Every state change goes through the [`TaskBackend`] as one atomic write, so a crash loses
//! nothing that was committed: another engine (or `wfc resume`) takes over tasks whose lease
//! ran out, and never repeats one that succeeded.

use super::agent::{AgentExecutor, AgentRequest, ProgressFn};
use super::attempt_process::AttemptProcess;
use super::backend::{BackendErrorKind, BackendResult, TaskBackend};
use super::model::*;
use super::output_throttle::OutputThrottle;
use super::process::{
    minimal_env, passed_env, run_process, sh, AbortOnDrop, ExitStatusKind, OutputChunk,
    ProcessError, ProcessSpec, SpawnHook,
};
use super::sandbox::{BwrapSandbox, BWRAP, INSTALL_HINT};
use super::simple_command::without_shell;
use super::transcript::SessionPurpose;
use super::values::Resolver;
use crate::events::{Event, EventBus, EventKind};
use crate::plan::{Action, Plan, Shell, TaskSpec};
use crate::shell_word::shell_word;
use crate::workspaces::{AttemptFolder, AttemptOf, KeptWork, Upstream, Workspace};
use attempt_start::AttemptStart;
use event_log::EventLog;
use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinSet;

mod attempt_start;
mod chain;
mod conditions;
mod conflicts;
mod event_log;
mod fan_out;
mod limits;
mod panicked;
mod plan_step;
mod pools;
mod previous_attempt;
mod remote;
mod repeat;
mod running;
mod session_record;
mod spending;

/// The most bytes of a command's stdout kept as its result.
pub const RESULT_LIMIT: usize = 64 * 1024;

/// The longest an idle engine waits between looks for ready tasks.
const MAX_IDLE_POLL: Duration = Duration::from_secs(1);

/// How long a worker that is leaving (`--exit-when-idle`) waits for the runs it worked on to
/// be ended by the engine that finished their last task, so it can let go of their pools.
const SETTLING_WAIT: Duration = Duration::from_secs(2);

/// How often an idle worker lets go of ended runs and looks for runs nothing runs in any
/// more, to end those that are over: reading every run's state is not worth every poll.
const STRANDED_RUNS_SWEEP: Duration = Duration::from_secs(10);

/// How an engine works.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// This engine's name in claims; unique among the engines sharing a backend.
    pub worker: String,
    /// Tasks run at once.
    pub jobs: usize,
    /// How long a claim lasts without a heartbeat; a crashed engine's tasks are taken over
    /// after this long.
    pub lease: Duration,
    /// How often to look for ready tasks when nothing finishes.
    pub poll: Duration,
    /// The folder tasks run in (their `workdir` is relative to it).
    pub workspace: PathBuf,
    /// The run to work on, or `None` for every run of the backend (`wfc worker`).
    pub run: Option<String>,
    /// Secret values by upper-cased parameter name (as in `WF_SECRET_<NAME>`).
    pub secrets: HashMap<String, String>,
    /// Whether a worker stops when no run has anything left for it.
    pub exit_when_idle: bool,
    /// The tasks it takes; other engines take the rest.
    pub serves: super::serves::Serves,
    /// This machine's clone, where a run whose work moves between machines through a shared
    /// remote works (`wfc worker --workspace CLONE`), whatever folder the run started in.
    pub own_clone: Option<PathBuf>,
}

impl EngineConfig {
    /// Defaults for one engine in `workspace`.
    pub fn new(workspace: PathBuf) -> Self {
        EngineConfig {
            worker: worker_name(),
            jobs: 4,
            lease: Duration::from_secs(15),
            poll: Duration::from_millis(100),
            workspace,
            run: None,
            secrets: HashMap::new(),
            exit_when_idle: false,
            serves: super::serves::Serves::default(),
            own_clone: None,
        }
    }
}

/// Waits for the store's work signal to change; never, for a store that has none (or whose
/// signal ended).
async fn changed(
    signal: &mut Option<tokio::sync::watch::Receiver<u64>>,
) -> Result<(), tokio::sync::watch::error::RecvError> {
    match signal {
        Some(receiver) => receiver.changed().await,
        None => std::future::pending().await,
    }
}

/// A name for this engine: host, process and a counter, unique enough among engines.
pub fn worker_name() -> String {
    format!(
        "{}:{}:{}",
        this_host(),
        std::process::id(),
        now_millis() % 100_000
    )
}

/// Why the engine stopped working.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineError {
    /// The store failed; the message says what to do.
    Backend(String),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Backend(message) => write!(f, "the task store failed: {message}"),
        }
    }
}

/// Runs tasks from a backend.
pub struct Engine {
    backend: Arc<dyn TaskBackend>,
    agents: Arc<dyn AgentExecutor>,
    bus: Arc<EventBus>,
    config: EngineConfig,
    runs: Mutex<HashMap<String, Arc<RunInfo>>>,
    log: EventLog,
    /// What each run's agent sessions spent, by run id.
    spending: Mutex<HashMap<String, spending::RunSpending>>,
    /// Why each run this engine paused is paused, by run id.
    paused: Mutex<HashMap<String, String>>,
    /// Until when each agent profile waits for a provider's limit, by profile.
    profile_waits: Mutex<HashMap<String, limits::ProfileWait>>,
    /// The limits the sessions of running attempts ran into, until their attempt ends.
    limited: Mutex<HashMap<TaskKey, crate::runtime::agent::ProviderLimit>>,
    /// Until when this engine leaves each run's tasks to others, by run id: it could not
    /// reach the shared remote the run's work moves through.
    remote_paused: Mutex<HashMap<String, Instant>>,
    /// What it needs to claim the next task of a chain with the success of the one before.
    chaining: Arc<chain::Chaining>,
}

/// What an engine keeps of a run it works on.
struct RunInfo {
    /// The plan snapshot.
    plan: Arc<Plan>,
    /// Where its tasks run, or why this engine cannot reach that folder.
    workspace: Result<PathBuf, String>,
    /// The generation of the plan read: a claim of a later one makes the engine read again.
    generation: u32,
    /// How its tasks' work is kept (in its folder, or in git worktrees and commits), or why
    /// this engine cannot work on it.
    work: Result<Arc<dyn Workspace>, String>,
    /// The position in the plan of each task, by id.
    positions: HashMap<String, usize>,
    /// The positions of the tasks waiting for each task, by its id, in the plan's order.
    dependants: HashMap<String, Vec<usize>>,
    /// Whether a task of the plan waits for another's outcome (`after x (failed)`): most
    /// plans have none, and each finished task asks.
    has_outcomes: bool,
}

impl RunInfo {
    fn new(
        plan: Plan,
        workspace: Result<PathBuf, String>,
        generation: u32,
        work: Result<Arc<dyn Workspace>, String>,
    ) -> Self {
        let positions: HashMap<String, usize> = plan
            .tasks
            .iter()
            .enumerate()
            .map(|(at, task)| (task.id.clone(), at))
            .collect();
        let mut dependants: HashMap<String, Vec<usize>> = HashMap::new();
        for (at, task) in plan.tasks.iter().enumerate() {
            for dep in &task.deps {
                dependants.entry(dep.clone()).or_default().push(at);
            }
        }
        let has_outcomes = plan.tasks.iter().any(|task| !task.outcomes.is_empty());
        RunInfo {
            plan: Arc::new(plan),
            workspace,
            generation,
            work,
            positions,
            dependants,
            has_outcomes,
        }
    }

    /// The task `id` of the plan, found by its id, not by a walk through the plan.
    fn task(&self, id: &str) -> Option<&TaskSpec> {
        self.positions.get(id).map(|&at| &self.plan.tasks[at])
    }

    /// The tasks task `id` waits for.
    fn deps_of(&self, id: &str) -> Option<&[String]> {
        self.task(id).map(|spec| spec.deps.as_slice())
    }

    /// The tasks of the plan that wait for task `id`, in the plan's order.
    fn dependants(&self, id: &str) -> impl Iterator<Item = &TaskSpec> {
        self.dependants
            .get(id)
            .into_iter()
            .flatten()
            .map(|&at| &self.plan.tasks[at])
    }
}

/// What an attempt's commands run with: its task, where it records its processes, its
/// environment and the folder its `workdir` is relative to.
#[derive(Clone, Copy)]
struct AttemptScope<'a> {
    key: &'a TaskKey,
    hook: &'a SpawnHook,
    spec: &'a TaskSpec,
    env: &'a [(String, String)],
    root: &'a Path,
    /// The sandbox its processes run in, when the task sets `sandbox = "bwrap"`.
    sandbox: Option<&'a BwrapSandbox>,
}

/// The task an attempt's success claimed for the engine in the same step of the store
/// (the next of a chain), with its claim.
type Chained = Option<(TaskKey, Claim)>;

/// How one attempt ended.
enum Attempt {
    /// Its result, its output commit in an isolated run, and the JSON of its typed output.
    Succeeded(String, Option<KeptWork>, Option<String>),
    Failed(String),
    /// The session ran into a provider's limit: not a failure; its profile waits.
    Limited(crate::runtime::agent::ProviderLimit),
    /// The budget could not pay for the session that would resolve its conflict: not a
    /// failure; the task waits for a higher budget.
    OverBudget(String),
    /// The claim was lost (the lease expired, or the run was cancelled): write nothing.
    Lost,
    /// Its work was kept but could not be pushed to the run's shared remote: the task is
    /// given back for another machine.
    GivenBack(String),
}

impl Engine {
    /// An engine over `backend` that runs agents with `agents` and reports to `bus`.
    pub fn new(
        backend: Arc<dyn TaskBackend>,
        agents: Arc<dyn AgentExecutor>,
        bus: Arc<EventBus>,
        config: EngineConfig,
    ) -> Arc<Self> {
        let log = EventLog::new(Arc::clone(&backend));
        Arc::new(Engine {
            backend,
            agents,
            bus,
            config,
            runs: Mutex::new(HashMap::new()),
            log,
            spending: Mutex::new(HashMap::new()),
            paused: Mutex::new(HashMap::new()),
            profile_waits: Mutex::new(HashMap::new()),
            limited: Mutex::new(HashMap::new()),
            remote_paused: Mutex::new(HashMap::new()),
            chaining: Arc::default(),
        })
    }

    /// Calls the backend off the async threads: every backend does blocking I/O.
    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn TaskBackend) -> BackendResult<T> + Send + 'static,
    ) -> Result<T, EngineError> {
        let backend = Arc::clone(&self.backend);
        match tokio::task::spawn_blocking(move || f(&*backend)).await {
            Ok(result) => result.map_err(|e| EngineError::Backend(e.to_string())),
            Err(error) => Err(EngineError::Backend(format!(
                "a store call did not finish: {error}"
            ))),
        }
    }

    /// [`Engine::call`] for a call on a task's hot path: made on this thread when the store
    /// is embedded (see `TaskBackend::is_embedded`), so it costs no hand-over.
    async fn call_hot<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn TaskBackend) -> BackendResult<T> + Send + 'static,
    ) -> Result<T, EngineError> {
        if self.backend.is_embedded() {
            return f(&*self.backend).map_err(|e| EngineError::Backend(e.to_string()));
        }
        self.call(f).await
    }

    fn emit(&self, run: &str, kind: EventKind, task: Option<&str>, data: serde_json::Value) {
        self.tell(run, kind, task, data, true);
    }

    /// Tells of the end of `run` in `state` with `tasks` as they ended: this engine's sinks,
    /// and the run's log if `stored` (only the engine that ended it stores it).
    fn tell_run_finished(&self, run: &str, state: RunState, tasks: &[TaskRecord], stored: bool) {
        let counts = count_states(tasks);
        self.tell(
            run,
            EventKind::RunFinished,
            None,
            serde_json::json!({ "state": state.as_str(), "tasks": counts }),
            stored,
        );
    }

    /// Tells this engine's sinks (its output, `--events`) of an event, and, if `stored`, the
    /// run's log too.
    fn tell(
        &self,
        run: &str,
        kind: EventKind,
        task: Option<&str>,
        data: serde_json::Value,
        stored: bool,
    ) {
        let event = self.stamped(run, kind, task, data);
        if stored {
            self.log.push(run, stored_form(&event));
        }
        self.bus.emit(event);
    }

    /// An event of `run` as this engine tells it: at this moment, with secrets redacted.
    fn stamped(
        &self,
        run: &str,
        kind: EventKind,
        task: Option<&str>,
        data: serde_json::Value,
    ) -> Event {
        let event = Event {
            at: now_millis(),
            run: run.to_string(),
            kind,
            task: task.map(str::to_string),
            data,
        };
        self.bus.redactor().event(event)
    }

    /// Records that `run` starts (or resumes) being worked on.
    pub fn announce_run(&self, run: &str) {
        self.emit(
            run,
            EventKind::RunStarted,
            None,
            serde_json::json!({ "worker": self.config.worker }),
        );
    }

    /// What the engine keeps of `run`, read once: its plan snapshot and where its tasks run.
    async fn run_info(&self, run: &str) -> Result<Arc<RunInfo>, EngineError> {
        self.run_info_of(run, 0).await
    }

    /// What the engine keeps of `run`, read again if what it has is of a plan generation
    /// older than `generation` (the run was planned again since: `wfc resume --replan`).
    async fn run_info_of(&self, run: &str, generation: u32) -> Result<Arc<RunInfo>, EngineError> {
        if let Some(info) = self
            .runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(run)
            .filter(|info| info.generation >= generation)
        {
            return Ok(Arc::clone(info));
        }
        let id = run.to_string();
        let record = self.call(move |b| b.get_run(&id)).await?;
        // A run that recorded its workspace runs there, one whose work moves through a
        // shared remote in this machine's clone, an older one in this engine's folder.
        let mut workspace = self.folder_of(record.place.as_ref());
        let repository = record.place.as_ref().and_then(|p| p.repository.clone());
        let work = match &workspace {
            Ok(root) => {
                let (plan, root, id) = (record.plan.clone(), root.clone(), run.to_string());
                let remote = repository.as_ref().map(|r| r.remote.clone());
                tokio::task::spawn_blocking(move || {
                    crate::workspaces::open(&plan, &root, &id, remote.as_deref())
                })
                .await
                .unwrap_or_else(|error| Err(error.to_string()))
            }
            Err(why) => Err(why.clone()),
        };
        // A folder that is no clone cannot work on a shared run, and need not: a machine
        // with one will.
        if let (Some(repository), Err(why)) = (&repository, &work) {
            workspace = Err(format!(
                "its work moves through {}, and this engine has no clone to work in ({why}); \
                 start `wfc worker --workspace CLONE`",
                repository.remote
            ));
        }
        let info = Arc::new(RunInfo::new(
            record.plan,
            workspace,
            record.plan_generation,
            work,
        ));
        self.runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(run.to_string(), Arc::clone(&info));
        Ok(info)
    }

    /// The plan snapshot of `run`.
    async fn plan(&self, run: &str) -> Result<Arc<Plan>, EngineError> {
        Ok(Arc::clone(&self.run_info(run).await?.plan))
    }

    /// Works until the run ends (or, for a worker, until stopped or idle). Returns the run's
    /// final state when working on one run.
    pub async fn run(
        self: &Arc<Self>,
        stop: watch::Receiver<bool>,
    ) -> Result<Option<RunState>, EngineError> {
        let result = self.work(stop).await;
        // Every event of the run is in its log before the command ends.
        let engine = Arc::clone(self);
        let _ = tokio::task::spawn_blocking(move || engine.log.close()).await;
        result
    }

    async fn work(
        self: &Arc<Self>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<Option<RunState>, EngineError> {
        let mut tasks: JoinSet<(TaskKey, Chained)> = JoinSet::new();
        let jobs = self.config.jobs.max(1);
        let active = Arc::new(running::Running::new(jobs));
        let lease = self.config.lease.as_millis() as Millis;
        // When nothing happens (a gate waits, other workers hold every task), the engine looks
        // less and less often, up to once a second; any claim or finished task resets it.
        let mut idle_poll = self.config.poll;
        let mut last_sweep: Option<Instant> = None;
        // A store that signals new work (Postgres's `NOTIFY`) wakes an idle engine at once;
        // the poll above stays as the fallback, and the only way for the others.
        let mut signal = self.backend.work_signal();
        loop {
            if *stop.borrow() {
                break;
            }
            let mut claimed_any = false;
            let capacity = active.free();
            // Agent tasks the budget cannot pay for are skipped, not claimed: they stay
            // pending for `wfc resume --budget`, and commands go on around them.
            let mut over_budget: HashSet<TaskKey> = HashSet::new();
            if capacity > 0 {
                // One more than it can take, to see whether a ready task is left waiting.
                let mut wanted = capacity + active.len() + 1;
                let mut fresh: Vec<TaskKey> = Vec::new();
                // The first ready task the look leaves for lack of a free slot.
                let mut left: Option<TaskKey>;
                // Sessions each pool (`max_parallel`) has running or about to start.
                let mut pools: HashMap<String, usize> = HashMap::new();
                // Held-back agent tasks must not hide the tasks behind them: while the budget
                // held some back and more may be ready, look again further down the list.
                loop {
                    let run = self.config.run.clone();
                    let ready = self
                        .call(move |b| b.find_ready_tasks(run.as_deref(), now_millis(), wanted))
                        .await?;
                    let seen = ready.len();
                    fresh.clear();
                    over_budget.clear();
                    pools.clear();
                    // Tasks held back for their profile's wait or pool.
                    let mut held_back = 0;
                    // The runs whose spending this look has read.
                    let mut spending_read: HashSet<String> = HashSet::new();
                    left = None;
                    // The engine's own claims are not claimed again (the store would refuse:
                    // no worker takes over its own claim), though a look may list one whose
                    // lease ran out while the engine was starved: those it runs, and those a
                    // finished attempt chained that its loop has not taken yet.
                    let own = |k: &TaskKey| active.contains(k) || self.is_unhanded(k);
                    for key in ready.into_iter().filter(|k| !own(k)) {
                        if fresh.len() == capacity {
                            left = Some(key);
                            break;
                        }
                        // A worker takes no task of a run whose workspace it cannot reach
                        // (another machine's, or gone): an engine that can reach it will.
                        let info = self.run_info(&key.run).await?;
                        if info.workspace.is_err() || self.remote_paused(&key.run) {
                            continue;
                        }
                        let Some(spec) = info.task(&key.task) else {
                            fresh.push(key);
                            continue;
                        };
                        // A task this engine does not serve is left for one that does.
                        if !self.config.serves.task(spec) {
                            held_back += 1;
                            continue;
                        }
                        if limits::profile_of(spec).is_some() {
                            // Reads the run's new spending and its profiles' waits, once a
                            // look: what other engines stored since the last one.
                            if spending_read.insert(key.run.clone()) {
                                self.spending(&key.run).await?;
                            }
                            // Its profile waits for a provider's limit: it stays pending
                            // and the engine goes on, and starts it when the wait ends.
                            if self.profile_waits(spec) {
                                held_back += 1;
                                continue;
                            }
                        }
                        if let Some((profile, size)) = pools::pool_of(spec) {
                            let in_use = match pools.get(&profile) {
                                Some(&n) => n,
                                None => self.pool_in_use(&profile).await?,
                            };
                            // A full pool: the task waits for a session of it to end.
                            if in_use >= size {
                                pools.insert(profile, in_use);
                                held_back += 1;
                                continue;
                            }
                            pools.insert(profile, in_use + 1);
                        }
                        if self.budget_allows(&key, spec).await?.is_ok() {
                            fresh.push(key);
                        } else {
                            over_budget.insert(key);
                        }
                    }
                    let skipped = over_budget.len() + held_back;
                    if fresh.len() == capacity || skipped == 0 || seen < wanted {
                        break;
                    }
                    wanted += skipped;
                }
                let waiting = match &left {
                    // A task missing from the plan this engine read counts as the most urgent.
                    Some(key) => Some((
                        key,
                        self.run_info(&key.run)
                            .await?
                            .task(&key.task)
                            .map_or(0, |spec| spec.priority),
                    )),
                    None => None,
                };
                self.note_waiting(waiting);
                for key in fresh {
                    let (k, worker) = (key.clone(), self.config.worker.clone());
                    if let Some(claim) = self
                        .call(move |b| b.claim_task(&k, &worker, now_millis(), lease))
                        .await?
                    {
                        claimed_any = true;
                        let spec = self.run_info(&key.run).await?.task(&key.task).cloned();
                        if let Some(spec) = spec {
                            if !self.keep_pool_claim(&key, &spec).await? {
                                continue;
                            }
                        }
                        self.start_attempt(&mut tasks, &active, key, claim);
                    }
                }
            }
            if active.is_empty() {
                match &self.config.run {
                    Some(run) => {
                        if let Some(state) = self.settle(run).await? {
                            return Ok(Some(state));
                        }
                        // Paused: nothing runs, and what is ready needs a budget it lacks.
                        if !claimed_any && !over_budget.is_empty() {
                            break;
                        }
                    }
                    None if self.config.exit_when_idle => {
                        self.forget_ended_runs().await?;
                        let limit = over_budget.len() + 1;
                        let none = self
                            .call(move |b| b.peek_ready_tasks(now_millis(), limit))
                            .await?
                            .iter()
                            .all(|key| over_budget.contains(key));
                        if none && !self.settle_runs_at_rest().await? {
                            // A run whose last task another engine finished a moment ago is
                            // ended by that engine; its pool here goes once it has.
                            let deadline = Instant::now() + SETTLING_WAIT;
                            while self.forget_ended_runs().await? > 0 && Instant::now() < deadline {
                                tokio::time::sleep(self.config.poll).await;
                            }
                            break;
                        }
                    }
                    None => {
                        // Now and then, not on every poll (each looks at every run it knows
                        // in the store), an idle worker lets go of the runs that ended, and
                        // ends those whose last engine was killed between finishing their
                        // last task and ending them.
                        if last_sweep.is_none_or(|at| at.elapsed() >= STRANDED_RUNS_SWEEP) {
                            last_sweep = Some(Instant::now());
                            self.forget_ended_runs().await?;
                            if !claimed_any {
                                self.settle_runs_at_rest().await?;
                            }
                        }
                    }
                }
            }
            tokio::select! {
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    let mut finished = Vec::new();
                    // The runs in which this engine holds a chained claim: not settled yet.
                    let mut going_on = HashSet::new();
                    let mut ended = done.into_iter().collect::<Vec<_>>();
                    // Finish every task that is already done before looking again.
                    while let Some(Ok(end)) = tasks.try_join_next() {
                        ended.push(end);
                    }
                    for (key, chained) in ended {
                        active.remove(&key);
                        // Its success claimed the next task of its chain: it starts now, as
                        // one its look claimed would.
                        if let Some((next, claim)) = chained {
                            self.hand_over(&next);
                            claimed_any = true;
                            going_on.insert(next.run.clone());
                            self.start_attempt(&mut tasks, &active, next, claim);
                        }
                        finished.push(key);
                    }
                    // A task that failed may let a task waiting for its failure start now.
                    // The engine of one run looks after each; a worker settles the runs,
                    // which looks too (below).
                    if self.config.run.is_some() {
                        for key in &finished {
                            self.after_outcome(key).await?;
                        }
                    }
                    // A worker ends the runs whose last task it finished; an engine of one
                    // run settles it when it has nothing left running (above).
                    if self.config.run.is_none() {
                        let runs: std::collections::BTreeSet<String> = finished
                            .into_iter()
                            .map(|key| key.run)
                            .filter(|run| !going_on.contains(run))
                            .collect();
                        for run in runs {
                            self.settle_run(&run).await?;
                        }
                    }
                }
                _ = tokio::time::sleep(idle_poll) => {
                    idle_poll = if claimed_any { self.config.poll } else { (idle_poll * 2).min(MAX_IDLE_POLL) };
                }
                Ok(()) = changed(&mut signal) => {
                    idle_poll = self.config.poll;
                }
                _ = stop.changed() => {}
            }
            if claimed_any {
                idle_poll = self.config.poll;
            }
        }
        // Stopped: the running attempts are ended (dropping an attempt kills its process
        // group), then their claims are given back at once, recorded as interrupted and
        // using up no retry, so `wfc resume` or another engine can start them right away.
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        let mut active = active.take_all();
        active.extend(self.unhanded_claims().await);
        for key in active {
            let (backend, worker) = (Arc::clone(&self.backend), self.config.worker.clone());
            let task = key.to_string();
            let released = tokio::task::spawn_blocking(move || {
                backend.release_task(&key, &worker, "the engine was stopped", now_millis())
            })
            .await;
            match released {
                // A task whose attempt ended before the stop is no longer held: nothing to
                // give back.
                Ok(Ok(())) => {}
                Ok(Err(error)) if error.kind == BackendErrorKind::Conflict => {}
                Ok(Err(error)) => self
                    .bus
                    .note(&format!("warning: cannot give back task {task}: {error}")),
                Err(error) => self
                    .bus
                    .note(&format!("warning: cannot give back task {task}: {error}")),
            }
        }
        Ok(None)
    }

    /// Starts the attempt of `key`, which this engine claimed with `claim`, among `tasks`, in
    /// a slot of `active`. While every slot is taken, the attempt goes on to run the task its
    /// success chained, in its slot ([`running`]); it ends with the last task it ran and the
    /// chained claim it leaves to the loop.
    fn start_attempt(
        self: &Arc<Self>,
        tasks: &mut JoinSet<(TaskKey, Chained)>,
        active: &Arc<running::Running>,
        key: TaskKey,
        claim: Claim,
    ) {
        active.insert(key.clone());
        let engine = Arc::clone(self);
        let active = Arc::clone(active);
        tasks.spawn(async move {
            let (mut key, mut claim) = (key, claim);
            loop {
                let attempt = claim.attempt;
                let chained = match panicked::CatchPanic::new(engine.attempt(&key, claim)).await {
                    Ok(Ok(chained)) => chained,
                    Err(panic) => {
                        engine.after_panic(&key, attempt, &panic).await;
                        None
                    }
                    Ok(Err(error)) => {
                        engine.bus.note(&format!("error: {key}: {error}"));
                        // The attempt ended without its outcome in the store: its claim is
                        // given back (if the store takes it now), as no engine takes over its
                        // own claim.
                        let why = format!("the engine could not record the attempt: {error}");
                        let _ = engine.release_claim(&key, attempt, &why, None).await;
                        None
                    }
                };
                match chained {
                    // In its slot before it stops being an unhanded claim: the engine's
                    // looks never see it as neither.
                    Some((next, next_claim)) if active.pass_on(&key, &next) => {
                        engine.hand_over(&next);
                        (key, claim) = (next, next_claim);
                    }
                    chained => return (key, chained),
                }
            }
        });
    }

    /// Ends the running runs that are at rest (no task claimed or running anywhere) and in
    /// which nothing more can happen; returns whether any running run has a task in progress.
    async fn settle_runs_at_rest(&self) -> Result<bool, EngineError> {
        let runs = self.call(|b| b.list_runs()).await?;
        let mut in_progress = false;
        for run in runs.into_iter().filter(|r| r.state == RunState::Running) {
            let id = run.id.clone();
            let tasks = self.call(move |b| b.list_tasks(&id)).await?;
            if tasks
                .iter()
                .any(|t| matches!(t.state, TaskState::Claimed | TaskState::Running))
            {
                in_progress = true;
            } else {
                // Nothing of it runs anywhere: if nothing more can happen in it either, it is
                // over, though the engine that finished its last task was killed before it
                // could end it. The store decides in one step, so this races no other engine.
                self.settle_run(&run.id).await?;
            }
        }
        Ok(in_progress)
    }

    /// When nothing of this engine runs: ends the run if nothing more can happen in it, and
    /// times out gates that waited too long.
    async fn settle(&self, run: &str) -> Result<Option<RunState>, EngineError> {
        let id = run.to_string();
        let state = self.call(move |b| b.run_state(&id)).await?;
        if state != RunState::Running {
            // Another engine ended it (a worker finished its last task, or `wfc cancel`): the
            // log has its end already; this engine's own sinks are told too.
            let id = run.to_string();
            let tasks = self.call(move |b| b.list_tasks(&id)).await?;
            self.tell_run_finished(run, state, &tasks, false);
            return Ok(Some(state));
        }
        let plan = self.plan(run).await?;
        // Only a run with a time limit on a person's answer needs its waiting tasks read.
        let answers_expire = plan
            .tasks
            .iter()
            .any(|t| t.action.waits_for_person() && t.timeout_secs.is_some());
        let tasks = if answers_expire {
            let id = run.to_string();
            self.call(move |b| b.list_tasks(&id)).await?
        } else {
            Vec::new()
        };
        let now = now_millis();
        for task in tasks.iter().filter(|t| t.state == TaskState::Waiting) {
            let timeout = plan.task(&task.key.task).and_then(|s| s.timeout_secs);
            if let (Some(timeout), Some(started)) = (timeout, task.started_at) {
                if started + (timeout as Millis) * 1000 < now {
                    let key = task.key.clone();
                    let reason = unanswered(run, &task.key.task, timeout, started);
                    let why = reason.clone();
                    self.call(move |b| b.answer_gate(&key, false, &why, now_millis()))
                        .await?;
                    self.emit(
                        run,
                        EventKind::GateAnswered,
                        Some(&task.key.task),
                        serde_json::json!({ "approved": false, "reason": reason }),
                    );
                    return Ok(None);
                }
            }
        }
        self.settle_run(run).await
    }

    /// Ends `run` if nothing more can happen in it: the backend decides and writes that in
    /// one atomic step, so another engine's claim cannot come between. The engine that ends
    /// the run reports it.
    async fn settle_run(&self, run: &str) -> Result<Option<RunState>, EngineError> {
        // The engine that ends a run makes its result, which for a run whose work moves
        // through a shared remote means publishing it there: one that could not reach the
        // remote a moment ago leaves the end to another (the one that finishes the last task,
        // or any, once the pause is over).
        if self.remote_paused(run) {
            return Ok(None);
        }
        self.resolve_outcomes(run).await?;
        let id = run.to_string();
        let settled = self
            .call(move |b| b.end_run_if_over(&id, now_millis()))
            .await?;
        let state = settled.state;
        if state == RunState::Running {
            return Ok(None);
        }
        let id = run.to_string();
        let tasks = self.call(move |b| b.list_tasks(&id)).await?;
        // The run's result is made once, by the engine that ended it.
        if settled.ended_now && state == RunState::Succeeded {
            self.deliver_result(run, &tasks).await;
        }
        if let Ok(Ok(work)) = self.run_info(run).await.map(|info| info.work.clone()) {
            if let Err(why) = crate::workspaces::call(&work, |work| work.run_ended()).await {
                self.bus.note(&format!("warning: run {run}: {why}"));
            }
        }
        // Every engine that sees the end says so to its own sinks; the run's log has it once,
        // from the engine that ended it.
        self.tell_run_finished(run, state, &tasks, settled.ended_now);
        Ok(Some(state))
    }

    /// Lets go of what this worker kept of runs another engine ended (or that were deleted):
    /// the pool of worktrees in its workspace (a clone of its own, for a run whose work moves
    /// between machines, which no other engine empties) and what it read of them. Returns how
    /// many of the runs it kept are still running.
    async fn forget_ended_runs(&self) -> Result<usize, EngineError> {
        let kept: Vec<(String, Arc<RunInfo>)> = self
            .runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(run, info)| (run.clone(), Arc::clone(info)))
            .collect();
        let mut running = 0;
        for (run, info) in kept {
            let id = run.clone();
            match self.call(move |b| Ok(b.run_state(&id))).await? {
                Ok(RunState::Running) => {
                    running += 1;
                    continue;
                }
                Ok(_) => {}
                Err(error) if error.kind == BackendErrorKind::NotFound => {}
                Err(_) => continue,
            }
            self.runs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&run);
            if let Ok(work) = &info.work {
                if let Err(why) = crate::workspaces::call(work, |work| work.run_ended()).await {
                    self.bus.note(&format!("warning: run {run}: {why}"));
                }
            }
        }
        Ok(running)
    }

    /// The outputs that stand for the tasks `deps` of `run` (see `workspaces::outputs_of`),
    /// read from the store.
    async fn upstream_outputs(
        &self,
        run: &str,
        info: &Arc<RunInfo>,
        deps: &[String],
    ) -> Result<Vec<Upstream>, EngineError> {
        if deps.is_empty() || info.plan.isolation.is_none() {
            return Ok(Vec::new());
        }
        let (run, info, deps) = (run.to_string(), Arc::clone(info), deps.to_vec());
        self.call(move |b| {
            let mut failure = None;
            let found = crate::workspaces::outputs_of(
                |task| info.deps_of(task),
                &deps,
                |task| match b.get_task(&TaskKey::new(run.clone(), task)) {
                    Ok(record) => record.output,
                    Err(error) => {
                        failure.get_or_insert(error);
                        None
                    }
                },
            );
            failure.map_or(Ok(found), Err)
        })
        .await
    }

    /// Makes the result of `run`, which succeeded, from its final tasks' outputs (the result
    /// branch of an isolated run) and says where it is.
    async fn deliver_result(&self, run: &str, tasks: &[TaskRecord]) {
        let Ok(info) = self.run_info(run).await else {
            return;
        };
        let Ok(work) = info.work.as_ref().map(Arc::clone) else {
            return;
        };
        let outputs: HashMap<&str, &str> = tasks
            .iter()
            .filter_map(|t| Some((t.key.task.as_str(), t.output.as_deref()?)))
            .collect();
        let finals = crate::workspaces::final_tasks(&info.plan);
        let finals = crate::workspaces::outputs_of(
            |task| info.deps_of(task),
            &finals,
            |task| outputs.get(task).map(|output| output.to_string()),
        );
        let id = run.to_string();
        match crate::workspaces::call(&work, move |work| work.finish(&id, &finals)).await {
            Ok(Some(message)) => self.emit(
                run,
                EventKind::RunResult,
                None,
                serde_json::json!({ "message": message }),
            ),
            Ok(None) => {}
            Err(why) => self
                .bus
                .note(&format!("warning: the result of run {run}: {why}")),
        }
    }

    /// Keeps the work of an attempt that succeeded: its output commit in an isolated run.
    async fn keep_work(
        &self,
        info: &RunInfo,
        of: &AttemptOf,
        folder: &AttemptFolder,
    ) -> Result<Option<KeptWork>, String> {
        let Ok(work) = &info.work else {
            return Ok(None);
        };
        let (of, folder) = (of.clone(), folder.clone());
        crate::workspaces::call(work, move |work| work.keep(&of, &folder)).await
    }

    /// Publishes the output `kept` of an attempt that succeeded where the run's work moves
    /// between machines (pushed to its shared remote); elsewhere there is nothing to do.
    async fn share_work(
        &self,
        info: &RunInfo,
        of: &AttemptOf,
        kept: Option<&KeptWork>,
    ) -> Result<(), String> {
        let (Ok(work), Some(kept)) = (&info.work, kept) else {
            return Ok(());
        };
        let (of, kept) = (of.clone(), kept.clone());
        crate::workspaces::call(work, move |work| work.share(&of, &kept)).await
    }

    /// Gives up the work of an attempt that failed: its changes are kept (a ref in an isolated
    /// run) and described for the next attempt; its folder stays only if the task fails for
    /// good. Returns the description.
    async fn discard_work(
        &self,
        info: &RunInfo,
        key: &TaskKey,
        of: &AttemptOf,
        folder: &AttemptFolder,
        error: &str,
    ) -> Option<String> {
        if info.plan.isolation.is_none() {
            return None;
        }
        let work = Arc::clone(info.work.as_ref().ok()?);
        // Whether the task will be tried again, as the core's rule decides on the record now.
        let (k, worker, error) = (key.clone(), self.config.worker.clone(), error.to_string());
        let again = self
            .call(move |b| {
                let mut task = b.get_task(&k)?;
                crate::runtime::lifecycle::fail(&mut task, &worker, &error, true, now_millis())
            })
            .await
            .unwrap_or(false);
        let (of, folder) = (of.clone(), folder.clone());
        match crate::workspaces::call(&work, move |work| work.discard(&of, &folder, !again)).await {
            Ok(kept) => kept,
            Err(why) => {
                self.bus.note(&format!("warning: {key}: {why}"));
                None
            }
        }
    }

    /// One attempt of a claimed task, from start to the write of its outcome.
    async fn attempt(
        self: &Arc<Self>,
        key: &TaskKey,
        claim: Claim,
    ) -> Result<Chained, EngineError> {
        // The claim says which plan the task belongs to: one planned again after this engine
        // read the run is read anew, so the task runs as the new plan says.
        let info = self.run_info_of(&key.run, claim.plan_generation).await?;
        let Some(spec) = info.task(&key.task) else {
            let (k, w) = (key.clone(), self.config.worker.clone());
            let error = format!("the run's plan has no task `{}`", key.task);
            self.call(move |b| b.fail_task(&k, &w, &error, false, now_millis()))
                .await?;
            return Ok(None);
        };
        let run = key.run.as_str();
        // A task whose condition does not hold is skipped before it counts as claimed: its
        // claim was no attempt.
        if let Some(why) = self.condition_fails(key, spec).await? {
            return self.skip(key, &why).await.map(|()| None);
        }
        self.emit(
            run,
            EventKind::TaskClaimed,
            Some(&key.task),
            serde_json::json!({ "attempt": claim.attempt, "worker": self.config.worker }),
        );
        if let Some(fan_out) = &spec.fan_out {
            return self
                .expand_fan_out(key, &claim, fan_out)
                .await
                .map(|()| None);
        }
        if let Some(repeat) = &spec.repeat {
            return self.decide_round(key, &claim, repeat).await.map(|()| None);
        }
        if spec.action.waits_for_person() {
            return self.wait_for_person(key, spec).await.map(|()| None);
        }
        // Whatever ended an earlier attempt (a lease taken over, an engine stopped or killed
        // and its task given back), what it left running here is stopped first: no two
        // attempts of a task may overlap, however the claim came.
        if claim.attempt > 1 {
            self.stop_earlier_attempts(key, claim.attempt).await?;
        }
        // The task is marked running once its first process started, in the write that
        // records the process (see `attempt_start`).
        self.emit(
            run,
            EventKind::TaskStarted,
            Some(&key.task),
            serde_json::json!({ "attempt": claim.attempt, "title": spec.title }),
        );
        let started = Instant::now();
        let start = AttemptStart::new(
            key,
            claim.attempt,
            &self.config.worker,
            Arc::clone(&self.backend),
            self.log.queue(),
        );
        let _abandoned_if_dropped = attempt_start::AbandonOnDrop(Arc::clone(&start));
        let of = AttemptOf {
            run: key.run.clone(),
            task: key.task.clone(),
            title: spec.title.clone(),
            attempt: claim.attempt,
            work: spec.work.clone(),
        };
        // The heartbeat keeps the lease while the attempt is prepared, runs and is kept (a
        // checkout or a commit of a large repository takes a while); losing the lease cancels
        // the attempt. It stops with the attempt, however the attempt ends (a panic too).
        let (cancel_tx, cancel_rx) = watch::channel(false);
        let heartbeat = {
            let engine = Arc::clone(self);
            let key = key.clone();
            AbortOnDrop(tokio::spawn(async move {
                engine.heartbeat(key, cancel_tx).await
            }))
        };
        // The attempt's folder: the run's, or a worktree at its start commit. A task that
        // cannot start there (its upstream tasks' work conflicts) fails before it runs.
        let prepared = match &info.work {
            Ok(work) => {
                let upstream = self.upstream_outputs(&key.run, &info, &spec.deps).await?;
                // What it starts from may have been made on another machine: fetched first,
                // and a remote this machine cannot reach leaves the task to another.
                let (attempt, wanted) = (of.clone(), upstream.clone());
                let fetched =
                    crate::workspaces::call(work, move |work| work.fetch_start(&attempt, &wanted))
                        .await;
                if let Err(why) = fetched {
                    heartbeat.abort();
                    return self
                        .give_back(key, claim.attempt, &why)
                        .await
                        .map(|()| None);
                }
                let of = of.clone();
                crate::workspaces::call(work, move |work| work.prepare(&of, &upstream)).await
            }
            Err(why) => Err(why.clone()),
        };
        let folder = match prepared {
            Ok(folder) => folder,
            Err(why) => {
                heartbeat.abort();
                // Another engine took the task over meanwhile: nothing of it is this one's.
                if *cancel_rx.borrow() {
                    return Ok(None);
                }
                let error = self
                    .bus
                    .redactor()
                    .text(&format!("the task could not start: {why}"));
                let (k, w, e) = (key.clone(), self.config.worker.clone(), error.clone());
                self.call(move |b| b.fail_task(&k, &w, &e, false, now_millis()))
                    .await?;
                self.emit(
                    run,
                    EventKind::TaskFailed,
                    Some(&key.task),
                    serde_json::json!({ "attempt": claim.attempt, "error": error }),
                );
                return Ok(None);
            }
        };
        // Conflicting work of the tasks it waits for, checked out with markers: a person
        // resolves it while the task waits, or an agent resolves it before the task's work.
        let (folder, resolution) = match &folder.conflict {
            None => (folder, Ok(())),
            Some(_) if spec.work.on_conflict == crate::ir::OnConflict::Human => {
                heartbeat.abort();
                return self.wait_for_resolution(key, &folder).await.map(|()| None);
            }
            Some(_) => {
                self.resolve_conflict(
                    &info,
                    key,
                    spec,
                    (&claim, &start),
                    &of,
                    folder,
                    cancel_rx.clone(),
                )
                .await
            }
        };
        // The environment (with secrets and results filled in) is resolved once per attempt,
        // for the work and every verify command.
        let outcome = match resolution {
            Ok(()) => {
                self.do_attempt(key, spec, &claim, &folder, &start, cancel_rx.clone())
                    .await
            }
            Err(error) => Err(error),
        };
        let outcome = match outcome {
            _ if *cancel_rx.borrow() => Attempt::Lost,
            Ok(result) => {
                // Redacted once: the typed output is read from the text as it is stored.
                let result = self.bus.redactor().text(&result);
                match typed_output(spec, &result) {
                    Err(why) => Attempt::Failed(why),
                    Ok(typed) => match self.keep_work(&info, &of, &folder).await {
                        Ok(output) => match self.share_work(&info, &of, output.as_ref()).await {
                            Ok(()) => Attempt::Succeeded(result, output, typed),
                            Err(why) => Attempt::GivenBack(why),
                        },
                        Err(why) => Attempt::Failed(format!("its work could not be kept: {why}")),
                    },
                }
            }
            Err(error) => match self.take_limit(key) {
                Some(limit) => Attempt::Limited(limit),
                None if self.take_budget_refusal(key) => Attempt::OverBudget(error),
                None => Attempt::Failed(error),
            },
        };
        heartbeat.abort();
        // The start goes to the store before any outcome; a success writes it in its own
        // step, when it was not written yet.
        if !matches!(outcome, Attempt::Succeeded(..)) {
            let start = Arc::clone(&start);
            let _ = tokio::task::spawn_blocking(move || start.write_now()).await;
        }
        let elapsed = started.elapsed().as_secs_f64();
        // The task its success let this engine claim at once, if any.
        let mut chained = None;
        match outcome {
            Attempt::Lost => {
                if let Ok(work) = &info.work {
                    work.abandon(&folder);
                }
            }
            Attempt::GivenBack(why) => self.give_back(key, claim.attempt, &why).await?,
            Attempt::Limited(limit) => {
                if let Ok(work) = &info.work {
                    work.abandon(&folder);
                }
                self.wait_for_limit(key, spec, claim.attempt, limit).await?;
            }
            Attempt::OverBudget(why) => {
                if let Ok(work) = &info.work {
                    work.abandon(&folder);
                }
                // No retry used: the task waits, pending, for a higher budget.
                self.release_claim(key, claim.attempt, &why, None).await?;
            }
            Attempt::Succeeded(result, kept, typed) => {
                let output = kept.as_ref().map(|kept| kept.commit.clone());
                let finished = self
                    .finish_and_chain(&info, key, result, (output, typed), &start)
                    .await;
                if let Ok(next) = finished {
                    chained = next;
                    let mut data =
                        serde_json::json!({ "attempt": claim.attempt, "seconds": elapsed });
                    if let Some(kept) = &kept {
                        data["output"] = kept.commit.clone().into();
                        data["files_changed"] = kept.files_changed.into();
                    }
                    self.emit(run, EventKind::TaskSucceeded, Some(&key.task), data);
                }
            }
            Attempt::Failed(error) => {
                let error = match self.discard_work(&info, key, &of, &folder, &error).await {
                    Some(kept) => format!("{error}\n\n{kept}"),
                    None => error,
                };
                let error = self.bus.redactor().text(&error);
                let (k, w, e) = (key.clone(), self.config.worker.clone(), error.clone());
                // The backend decides whether attempts remain (an interrupted attempt or a
                // `wfc retry` changes how many there are); the task's state says what it
                // decided.
                let failed = self
                    .call(move |b| {
                        b.fail_task(&k, &w, &e, true, now_millis())?;
                        b.get_task(&k)
                    })
                    .await;
                if let Ok(task) = failed {
                    let kind = if task.state == TaskState::Pending {
                        EventKind::TaskRetrying
                    } else {
                        EventKind::TaskFailed
                    };
                    self.emit(run, kind, Some(&key.task), serde_json::json!({ "attempt": claim.attempt, "error": error, "seconds": elapsed }));
                }
            }
        }
        Ok(chained)
    }

    /// Stops, on this machine, whatever earlier attempts of `key` left running (their engine
    /// was killed and their processes outlived it), so the attempt about to start is the only
    /// one. Their process groups are read from the run's log, and found by their variables
    /// when the engine was killed before it recorded them.
    async fn stop_earlier_attempts(&self, key: &TaskKey, attempt: u32) -> Result<(), EngineError> {
        let mut earlier = Vec::new();
        let mut after = 0;
        loop {
            let run = key.run.clone();
            let page = self.call(move |b| b.read_events(&run, after, 1000)).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            earlier.extend(
                page.iter()
                    .filter(|event| event.task.as_deref() == Some(key.task.as_str()))
                    .filter_map(AttemptProcess::from_event)
                    .filter(|process| process.attempt < attempt),
            );
        }
        earlier.retain(AttemptProcess::may_be_alive_here);
        let earlier = AttemptProcess::and_found_here(earlier, &key.run, |task, of| {
            task == key.task && of < attempt
        });
        for process in &earlier {
            if process.stop().await {
                self.emit(
                    &key.run,
                    EventKind::AttemptStopped,
                    Some(&key.task),
                    serde_json::json!({ "attempt": process.attempt, "pgid": process.pgid, "worker": process.worker }),
                );
            }
        }
        Ok(())
    }

    /// The hook an attempt's processes report to when they start: the first marks the task
    /// running and records where the process group runs, a moment later or with the
    /// attempt's success (see `attempt_start`); later ones (its verify commands) are recorded
    /// at once.
    fn spawn_hook(start: &Arc<AttemptStart>) -> SpawnHook {
        let start = Arc::clone(start);
        SpawnHook(Arc::new(move |started| start.process_started(started)))
    }

    /// The sandbox the processes of an attempt of `spec` working in `folder` run in, if the
    /// task asks for one.
    async fn sandbox_of(
        &self,
        key: &TaskKey,
        spec: &TaskSpec,
        folder: &AttemptFolder,
    ) -> Result<Option<BwrapSandbox>, String> {
        Ok(match spec.work.sandbox {
            crate::ir::Sandbox::None => None,
            crate::ir::Sandbox::Bwrap => {
                let info = self.run_info(&key.run).await.map_err(|e| e.to_string())?;
                let workspace = info.workspace.clone()?;
                Some(BwrapSandbox::new(folder.root.clone(), workspace))
            }
        })
    }

    /// An attempt's work — the command or the agent session — then its verify commands;
    /// returns the task's result or why the attempt failed.
    async fn do_attempt(
        self: &Arc<Self>,
        key: &TaskKey,
        spec: &TaskSpec,
        claim: &Claim,
        folder: &AttemptFolder,
        start: &Arc<AttemptStart>,
        cancel: watch::Receiver<bool>,
    ) -> Result<String, String> {
        let env = self.task_env(key, spec, claim, &folder.env)?;
        let root = folder.root.as_path();
        let hook = Self::spawn_hook(start);
        let sandbox = self.sandbox_of(key, spec, folder).await?;
        let scope = AttemptScope {
            key,
            hook: &hook,
            spec,
            env: &env,
            root,
            sandbox: sandbox.as_ref(),
        };
        // A worktree is prepared for the task by its `setup` commands; the run's folder is
        // the user's, and is not.
        if folder.start.is_some() {
            for command in &spec.work.setup {
                self.shell(&scope, command, cancel.clone(), true)
                    .await
                    .map_err(|error| format!("setup failed: {error}"))?;
            }
        }
        let result = match &spec.action {
            Action::Command { run: shell } => {
                self.shell(&scope, shell, cancel.clone(), true).await?
            }
            Action::Agent {
                profile,
                agent,
                prompt,
            } => {
                let resolver = Resolver {
                    backend: &*self.backend,
                    run: &key.run,
                    secrets: &self.config.secrets,
                };
                let mut text = resolver.prompt(prompt)?;
                if let Some(previous) = &claim.previous_error {
                    text.push_str(&previous_attempt::previous_attempt_section(
                        claim.attempt - 1,
                        previous,
                    ));
                }
                let transcript = self
                    .record_session(key, claim.attempt, SessionPurpose::Work, &text)
                    .await;
                let request = AgentRequest {
                    key: key.clone(),
                    attempt: claim.attempt,
                    prompt: text,
                    transcript,
                    profile: profile.clone(),
                    agent: agent.clone(),
                    on_spawn: Some(hook.clone()),
                    workdir: root.join(&spec.workdir),
                    env: env.clone(),
                    timeout: spec.timeout_secs.map(Duration::from_secs),
                    progress: self.progress(key),
                    sandbox: sandbox.clone(),
                    max_budget_usd: match self.budget_allows(key, spec).await {
                        Ok(Ok(allowance)) => allowance.max_usd,
                        _ => None,
                    },
                    output_schema: spec.output.as_ref().map(|output| output.schema.clone()),
                };
                let reply = self.agents.execute(request, cancel.clone()).await;
                self.session_ended(key, spec, claim.attempt, &reply, None);
                reply.outcome?
            }
            // Gates and human tasks wait for a person and never reach here.
            Action::Gate { .. } => return Ok(String::new()),
        };
        self.verify(&scope, cancel, result).await
    }

    /// Puts a gate, or a task for a person (the `human` adapter), in waiting: it holds no
    /// worker until `wfc approve` or `wfc reject` answers it.
    async fn wait_for_person(&self, key: &TaskKey, spec: &TaskSpec) -> Result<(), EngineError> {
        let run = key.run.as_str();
        let resolver = Resolver {
            backend: &*self.backend,
            run,
            secrets: &self.config.secrets,
        };
        let (question, human) = match &spec.action {
            Action::Gate { ask, .. } => (resolver.prompt(ask), false),
            Action::Agent { prompt, .. } => (resolver.prompt(prompt), true),
            Action::Command { .. } => (Ok(String::new()), false),
        };
        // A question that cannot be rendered (an upstream result went missing) is still put
        // to the person, with the reason in place of the text.
        let question = question
            .unwrap_or_else(|error| format!("(the task's text could not be filled in: {error})"));
        let task = shell_word(&key.task);
        let approve = if human {
            format!("wfc approve {run} {task} --result \"…\"")
        } else {
            format!("wfc approve {run} {task}")
        };
        self.wait_with_question(
            key,
            serde_json::json!({
                "ask": question,
                "human_task": human,
                "approve": approve,
                "reject": format!("wfc reject {run} {task} --reason \"…\""),
            }),
        )
        .await
    }

    /// Puts task `key` in waiting for a person, with the `gate_waiting` event `question` in
    /// the same write: whoever sees the task waiting (`wfc status`) finds what it asks in
    /// `wfc logs`, not a moment later.
    pub(super) async fn wait_with_question(
        &self,
        key: &TaskKey,
        question: serde_json::Value,
    ) -> Result<(), EngineError> {
        let event = self.stamped(&key.run, EventKind::GateWaiting, Some(&key.task), question);
        let stored = stored_form(&event);
        let (k, w, queue) = (key.clone(), self.config.worker.clone(), self.log.queue());
        self.call(move |b| {
            queue.write_with(&k.run, stored, |events| {
                b.wait_gate(&k, &w, now_millis(), events)
            })
        })
        .await?;
        self.bus.emit(event);
        Ok(())
    }

    /// Where an agent session's progress lines go: `agent_activity` events of the task.
    fn progress(self: &Arc<Self>, key: &TaskKey) -> ProgressFn {
        let engine = Arc::clone(self);
        let key = key.clone();
        Arc::new(move |line: &str| {
            engine.emit(
                &key.run,
                EventKind::AgentActivity,
                Some(&key.task),
                serde_json::json!({ "activity": line }),
            );
        })
    }

    async fn heartbeat(&self, key: TaskKey, cancel: watch::Sender<bool>) {
        let lease = self.config.lease.as_millis() as Millis;
        let every = (self.config.lease / 3).max(Duration::from_millis(50));
        loop {
            tokio::time::sleep(every).await;
            let (k, w) = (key.clone(), self.config.worker.clone());
            match self
                .call(move |b| b.heartbeat(&k, &w, now_millis(), lease))
                .await
            {
                Ok(true) => {}
                // Another engine has the task now, or the run was cancelled: stop this attempt.
                Ok(false) => {
                    let _ = cancel.send(true);
                    return;
                }
                // A store that cannot be reached: keep trying while the lease lasts.
                Err(error) => self.bus.note(&format!(
                    "warning: cannot renew the lease of {key}: {error}"
                )),
            }
        }
    }

    /// The environment of a command or agent: the minimal environment, the task's `env`,
    /// and the run's own variables.
    fn task_env(
        &self,
        key: &TaskKey,
        spec: &TaskSpec,
        claim: &Claim,
        place: &[(String, String)],
    ) -> Result<Vec<(String, String)>, String> {
        let resolver = Resolver {
            backend: &*self.backend,
            run: &key.run,
            secrets: &self.config.secrets,
        };
        let mut extra = passed_env(&spec.pass_env);
        for var in &spec.env {
            extra.push((var.name.clone(), resolver.env(&var.value)?));
        }
        extra.push(("WF_RUN_ID".into(), key.run.clone()));
        extra.push(("WF_TASK_ID".into(), key.task.clone()));
        extra.push(("WF_ATTEMPT".into(), claim.attempt.to_string()));
        if let Some(previous) = &claim.previous_error {
            extra.push(("WF_PREVIOUS_ERROR".into(), previous.clone()));
        }
        // Where the attempt works, in an isolated run: its worktree and its ports.
        extra.extend(place.iter().cloned());
        Ok(minimal_env(&extra))
    }

    /// Runs shell text with its values in `WF_ARG_n`; returns stdout's tail, or why it failed.
    async fn shell(
        &self,
        scope: &AttemptScope<'_>,
        shell: &Shell,
        cancel: watch::Receiver<bool>,
        report_output: bool,
    ) -> Result<String, String> {
        let AttemptScope {
            key,
            hook,
            spec,
            env,
            root,
            sandbox,
        } = *scope;
        let resolver = Resolver {
            backend: &*self.backend,
            run: &key.run,
            secrets: &self.config.secrets,
        };
        let mut env = env.to_vec();
        for arg in &shell.args {
            env.push((arg.name.clone(), resolver.env(&arg.value)?));
        }
        let cwd = root.join(&spec.workdir);
        // The shell sets `PWD` to the folder it starts in (keeping the name it is given when
        // that names the same folder): given to both ways of starting the text, the command
        // sees the same value either way.
        let pwd = cwd
            .components()
            .collect::<PathBuf>()
            .to_str()
            .map(str::to_owned);
        if let Some(pwd) = &pwd {
            env.push(("PWD".into(), pwd.clone()));
        }
        let process = |program: PathBuf, args: Vec<OsString>| {
            let mut process = ProcessSpec::new(program, args, cwd.clone());
            process.env = env.clone();
            process.timeout = spec.timeout_secs.map(Duration::from_secs);
            process.output_limit = RESULT_LIMIT;
            process.on_spawn = Some(hook.clone());
            match sandbox {
                Some(sandbox) => sandbox.wrap(process),
                None => process,
            }
        };
        let in_shell = || {
            let (program, args) = sh(&shell.script);
            process(program, args)
        };
        // A sandbox mounts what its program needs, so a sandboxed command always starts as
        // the shell.
        let direct = (sandbox.is_none() && pwd.is_some())
            .then(|| without_shell(&shell.script, &env))
            .flatten();
        let redactor = self.bus.redactor();
        let mut throttle = OutputThrottle::new(redactor);
        let mut on_output = |chunk: OutputChunk<'_>| {
            if report_output {
                if let Some(output) = throttle.push(chunk.bytes) {
                    self.emit_output(key, output);
                }
            }
        };
        let outcome = match direct {
            Some((program, words)) => {
                let args = words[1..].iter().map(OsString::from).collect();
                let mut started = process(program, args);
                started.arg0 = Some(OsString::from(words[0]));
                match run_process(started, cancel.clone(), &mut on_output).await {
                    // A program that is not there or cannot be started (a script without
                    // `#!`, say) is left to the shell, which runs it or says why not in its
                    // own words and exit status, as it would have without this shortcut.
                    Err(ProcessError::Spawn { .. }) => {
                        run_process(in_shell(), cancel, &mut on_output).await
                    }
                    outcome => outcome,
                }
            }
            None => run_process(in_shell(), cancel, &mut on_output).await,
        };
        // The last lines of a command are often the ones that matter (a test summary): what
        // the throttle still holds is reported when the process ends, however it ended.
        if let Some(output) = throttle.finish() {
            self.emit_output(key, output);
        }
        let outcome = outcome.map_err(|error| match error {
            ProcessError::Spawn { program, reason } if program.as_os_str() == BWRAP => {
                format!("cannot start the sandbox `{BWRAP}`: {reason}; {INSTALL_HINT}")
            }
            // `run_process` looks at the folder before it starts anything (one look a task).
            ProcessError::Cwd { cwd, .. } => {
                format!("the task's workdir {} does not exist", cwd.display())
            }
            error => error.to_string(),
        })?;
        // A tail that begins inside a secret keeps only its end, which the redactor is told
        // to look for too.
        let kept = |bytes: &[u8], truncated: bool| {
            // A cut inside a character drops the rest of it, so the text begins with the
            // secret's next character, not a replacement mark.
            let start = if truncated {
                bytes.iter().take_while(|b| **b & 0xC0 == 0x80).count()
            } else {
                0
            };
            let text = String::from_utf8_lossy(&bytes[start..]);
            if truncated {
                redactor.tail(&text)
            } else {
                redactor.text(&text)
            }
        };
        let stdout = kept(&outcome.stdout_tail, outcome.stdout_truncated);
        match outcome.status {
            ExitStatusKind::Code(0) => Ok(stdout),
            ExitStatusKind::TimedOut => Err(format!(
                "timed out after {}s; the command and every process it started were stopped",
                spec.timeout_secs.unwrap_or(0)
            )),
            ExitStatusKind::Cancelled => Err("the attempt was stopped".into()),
            status => {
                let stderr = kept(&outcome.stderr_tail, outcome.stderr_truncated);
                Err(format!(
                    "`{}` failed ({status}){}",
                    shell.display.lines().next().unwrap_or(""),
                    tail_lines(&stderr, &stdout)
                ))
            }
        }
    }

    /// Reports a piece of a command's output (already redacted, and cut to its tail) as a
    /// `task_output` event.
    fn emit_output(&self, key: &TaskKey, output: String) {
        self.emit(
            &key.run,
            EventKind::TaskOutput,
            Some(&key.task),
            serde_json::json!({ "output": output }),
        );
    }

    /// Runs the task's verify commands after its work; all must pass.
    async fn verify(
        &self,
        scope: &AttemptScope<'_>,
        cancel: watch::Receiver<bool>,
        result: String,
    ) -> Result<String, String> {
        let (key, spec) = (scope.key, scope.spec);
        for command in &spec.verify {
            if let Err(error) = self.shell(scope, command, cancel.clone(), false).await {
                self.emit(
                    &key.run,
                    EventKind::VerifyFailed,
                    Some(&key.task),
                    serde_json::json!({ "command": command.display, "error": error }),
                );
                return Err(format!("verification failed: {error}"));
            }
        }
        Ok(result)
    }
}

/// The JSON of the typed output in a successful attempt's `result`, for a task that declares
/// `output:`; why the attempt failed when the result holds none that fits.
fn typed_output(spec: &TaskSpec, result: &str) -> Result<Option<String>, String> {
    let Some(output) = &spec.output else {
        return Ok(None);
    };
    let value = crate::plan::output::read_output(output, result)?;
    Ok(Some(value.to_string()))
}

/// The last lines of a failed command's output, for its error message.
fn tail_lines(stderr: &str, stdout: &str) -> String {
    let text = if stderr.trim().is_empty() {
        stdout
    } else {
        stderr
    };
    let lines: Vec<&str> = text.trim_end().lines().collect();
    if lines.is_empty() {
        return String::new();
    }
    // The whole failure, as far as it is sensible to store with the task (a test runner's
    // traceback is long); where a person reads it, it is cut again and says where the rest is.
    let start = lines.len().saturating_sub(FAILURE_LINES);
    let cut = if start > 0 {
        format!("({start} earlier lines left out)\n")
    } else {
        String::new()
    };
    format!(":\n{cut}{}", lines[start..].join("\n"))
}

/// How many of the last lines of a failed command's output its error keeps.
const FAILURE_LINES: usize = 200;

/// How many tasks are in each state, for the run's final event.
pub fn count_states(tasks: &[TaskRecord]) -> serde_json::Value {
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for task in tasks {
        *counts.entry(task.state.as_str()).or_default() += 1;
    }
    serde_json::json!(counts)
}

/// Why a person's answer timed out, and what to do: `nobody answered within 5m (asked at
/// 12:04:31 UTC); `wfc retry RUN GATE` asks again`.
fn unanswered(run: &str, task: &str, timeout: u64, asked: Millis) -> String {
    let seconds = asked.rem_euclid(86_400_000) / 1000;
    format!(
        "nobody answered within {} (asked at {:02}:{:02}:{:02} UTC); `wfc retry {run} {task}` \
         asks again",
        crate::plan::duration_text(timeout),
        seconds / 3600,
        (seconds % 3600) / 60,
        seconds % 60
    )
}

/// The form of `event` the run's log keeps.
fn stored_form(event: &Event) -> crate::runtime::NewEvent {
    crate::runtime::NewEvent {
        at: event.at,
        kind: event.kind.as_str().to_string(),
        task: event.task.clone(),
        data: event.data.clone(),
    }
}
