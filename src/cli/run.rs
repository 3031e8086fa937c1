//! `wfc run`, `wfc resume` and `wfc worker`: the commands that execute tasks.

use super::isolation::IsolationChoice;
use super::output::Output;
use super::plan::{plan_from_args, ParamArgs, Planned};
use super::shared_folder;
use super::store::Store;
use crate::backends::{Access, DEFAULT_BACKEND};
use crate::events::{
    EventBus, EventSink, Heartbeats, HttpSink, JsonlSink, PlainOptions, PlainSink, ProgressSink,
    Redactor,
};
use crate::plan::{FilterSpec, Plan, PLAN_VERSION};
use crate::runtime::engine::{Engine, EngineConfig};
use crate::runtime::{now_millis, RunPlace, RunRecord, RunState, TaskBackend};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use tokio::sync::watch;

/// Options every executing command shares.
#[derive(Debug, Clone, clap::Args)]
pub struct ExecArgs {
    /// Tasks run at once: at least 1.
    #[arg(short = 'j', long = "jobs", default_value_t = 4, value_parser = at_least_one)]
    pub jobs: usize,
    /// The task store: sqlite:PATH (default sqlite:.wfc/state.db),
    /// postgres://USER@HOST:PORT/DB[?schema=NAME], beads:DIR[?bin=br|bd] or memory:.
    #[arg(long, env = "WFC_BACKEND", default_value = DEFAULT_BACKEND)]
    pub backend: String,
    /// Also send events to jsonl:PATH or http://HOST:PORT/PATH; repeatable.
    #[arg(long = "events", value_name = "SINK")]
    pub events: Vec<String>,
    /// Seconds a claim lasts without a heartbeat: a crashed engine's tasks are taken over
    /// after this long.
    #[arg(long, value_name = "SECONDS", default_value_t = 15.0)]
    pub lease: f64,
    /// The adapter for agent tasks that name no profile (`--agent claude-code`), or a profile
    /// run with another adapter (`--agent claude=codex`); repeatable.
    #[arg(long = "agent", value_name = "[PROFILE=]ADAPTER")]
    pub agents: Vec<String>,
    /// The most the run's agent sessions may cost in all, in US dollars (over `budget` in the
    /// workflow's `defaults`). When the next agent session could cost more, the run pauses;
    /// `wfc resume RUN --budget MORE` goes on.
    #[arg(long, value_name = "USD", value_parser = dollars)]
    pub budget: Option<f64>,
}

/// Reads `--budget`: an amount of US dollars more than zero (`20`, `2.50`).
fn dollars(text: &str) -> Result<f64, String> {
    match text.trim().trim_start_matches('$').parse::<f64>() {
        Ok(amount) if amount.is_finite() && amount > 0.0 => Ok(amount),
        _ => Err(format!(
            "`{text}` is not a budget; give an amount of US dollars more than 0, such as 20 or 2.50"
        )),
    }
}

/// Reads `-j`: a run with no task at once would never end, so 0 is refused while the command
/// line is read, before any command has changed anything (`wfc retry` puts tasks back first).
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("`--jobs 0` (`-j 0`) would run nothing; give at least 1".into()),
        Ok(jobs) => Ok(jobs),
        Err(_) => Err(format!(
            "`{text}` is not a number of tasks; give at least 1"
        )),
    }
}

/// Where a new run's work is kept and where it goes: `--isolation`, `--into` and `--remote`.
#[derive(Clone, Copy, Debug)]
pub struct Placing<'a> {
    /// `--isolation`.
    pub isolation: IsolationChoice,
    /// `--into BRANCH`.
    pub into: Option<&'a str>,
    /// `--remote URL|none`.
    pub remote: Option<&'a str>,
}

/// Runs `wfc run`.
pub fn run(
    path: &Path,
    workflow: Option<&str>,
    params: &ParamArgs,
    placing: Placing<'_>,
    exec: &ExecArgs,
    output: &Output,
) -> ExitCode {
    let run_id = new_run_id();
    let workspace = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    match plan_from_args(path, workflow, params, false, &run_id, output) {
        Ok(planned) => start(run_id, planned, workspace, placing, None, exec, output),
        Err(code) => code,
    }
}

/// Runs `wfc rerun RUN`: a new run of the same workflow with the same parameters, planned
/// again from the workflow's file (so a fixed file is what runs), with the secrets read
/// again (they are never stored).
pub fn rerun(old_run: &str, secrets: &[String], exec: &ExecArgs, output: &Output) -> ExitCode {
    let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let old = match Store::open_in(&exec.backend, &here, Access::Write, output)
        .and_then(|store| store.run(old_run, output))
    {
        Ok(record) => record,
        Err(code) => return code,
    };
    let old_run = old.id.as_str();
    // The new run works where the old one did.
    let workspace = match run_workspace(&old, here) {
        Ok(workspace) => workspace,
        Err(why) => {
            return output.fail(&format!("run {old_run} cannot run again from here: {why}"))
        }
    };
    let params = ParamArgs {
        params: Vec::new(),
        params_file: None,
        secrets: secrets.to_vec(),
    };
    let input = match params.input() {
        Ok(input) => input,
        Err(message) => return output.fail(&message),
    };
    let run_id = new_run_id();
    match super::replan::replan(&old.plan, &workspace, &run_id, input) {
        Ok(planned) => {
            // The new run is isolated as the old one was, from the commit it starts at, and
            // its work moves through the same remote, if the old one's did.
            let remote = old
                .place
                .as_ref()
                .and_then(|place| place.repository.as_ref())
                .map_or("none", |repository| repository.remote.as_str());
            let placing = match &old.plan.isolation {
                crate::plan::Isolation::None => Placing {
                    isolation: IsolationChoice::None,
                    into: None,
                    remote: None,
                },
                crate::plan::Isolation::Git { into, .. } => Placing {
                    isolation: IsolationChoice::Git,
                    into: into.as_deref(),
                    remote: Some(remote),
                },
            };
            start(
                run_id,
                planned,
                workspace,
                placing,
                Some(old_run),
                exec,
                output,
            )
        }
        Err(message) => output.fail(&format!(
            "cannot plan run {old_run}'s workflow again from {}: {message}",
            old.plan.source
        )),
    }
}

/// The folder `run`'s tasks run in: the one it recorded, or `here` for a run that recorded
/// none (made by an older wfc); or why this machine cannot reach it.
fn run_workspace(run: &RunRecord, here: PathBuf) -> Result<PathBuf, String> {
    match &run.place {
        None => Ok(here),
        Some(place) => match place.unreachable() {
            None => Ok(PathBuf::from(&place.workspace)),
            // A run whose work moves through a shared remote goes on in any clone: this one.
            Some(why) => match &place.repository {
                Some(repository) => super::shared_remote::clone_here(&here, &repository.remote)
                    .map_err(|need| {
                        format!("its folder {} is out of reach; {need}", place.workspace)
                    }),
                None => Err(why),
            },
        },
    }
}

/// Stores a planned run, working in `workspace`, and executes it; `rerun_of` names the run it
/// repeats.
fn start(
    run_id: String,
    planned: Planned,
    workspace: PathBuf,
    placing: Placing<'_>,
    rerun_of: Option<&str>,
    exec: &ExecArgs,
    output: &Output,
) -> ExitCode {
    let Planned { mut plan, secrets } = planned;
    let tasks_ask = super::isolation::TasksAsk::of(&plan);
    let decided = super::isolation::decide(
        placing.isolation,
        placing.into,
        &tasks_ask,
        &workspace,
        &run_id,
    );
    match decided {
        Ok((isolation, note)) => {
            plan.isolation = isolation;
            if let Some(note) = note {
                output.error(&note);
            }
        }
        Err(message) => return output.fail(&message),
    }
    // Everything the run will need is checked before anything is stored: a run that cannot
    // start must not be left behind for a worker to pick up.
    let prepared = match Prepared::new(exec, &workspace, Some((&plan, &workspace))) {
        Ok(prepared) => prepared,
        Err(message) => return output.fail(&message),
    };
    plan.event_sinks = sinks_to_record(&exec.events, &workspace);
    let (backend, store_file) =
        match Store::open_in(&exec.backend, &workspace, Access::Create, output) {
            Ok(store) => (store.backend, store.file),
            Err(code) => return code,
        };
    // A run in the folder must not meet another one there: checked, and stored, under the
    // folder's lock.
    let folder_lock =
        shared_folder::works_in_folder(&plan).then(|| shared_folder::lock(store_file.as_deref()));
    if folder_lock.is_some() {
        match shared_folder::taken_by(&*backend, &workspace, None) {
            Ok(None) => {}
            Ok(Some(why)) => return output.fail(&format!("cannot start the run: {why}")),
            Err(error) => return output.fail(&format!("cannot start the run: {error}")),
        }
    }
    // The remote is reached (the run's base pushed there) before the run is stored: a run
    // other machines cannot work on must not be left for them.
    let repository = match super::shared_remote::decide(
        placing.remote,
        &plan,
        &workspace,
        &exec.backend,
        &run_id,
    ) {
        Ok(repository) => repository,
        Err(message) => return output.fail(&format!("cannot start the run: {message}")),
    };
    let place = RunPlace::here(&workspace).sharing(repository);
    let now = now_millis();
    if let Err(error) = backend.create_run_with_tasks(&run_id, &plan, Some(&place), now) {
        return output.fail(&format!("cannot store the run: {error}"));
    }
    drop(folder_lock);
    let again = rerun_of
        .map(|old| format!(" (a rerun of {old})"))
        .unwrap_or_default();
    output.stdout_line(&format!(
        "run {run_id}: workflow `{}` from {}, {}{again}",
        plan.workflow,
        plan.source,
        super::human::plural(plan.tasks.len(), "task")
    ));
    let chains = secret_chains(&plan);
    execute(
        backend,
        prepared,
        Some(run_id),
        false,
        secrets,
        chains,
        exec,
        &workspace,
        false,
        crate::runtime::serves::Serves::default(),
        None,
        output,
    )
}

/// Whether `wfc resume` plans the run again from its file first (`--replan`), and whether it
/// only shows what that would change (`--dry-run`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Replan {
    /// `--replan`.
    pub replan: bool,
    /// `--dry-run`.
    pub dry_run: bool,
    /// `--no-run`: store the new plan, run nothing.
    pub no_run: bool,
}

/// Runs `wfc resume RUN`: continues a run from its stored plan snapshot, or (`--replan`) from
/// its workflow file planned again.
pub fn resume(run: &str, exec: &ExecArgs, again: Replan, output: &Output) -> ExitCode {
    let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    // The run is named as every command names one: its id, `latest`, a prefix or a suffix.
    let (backend, record) = match Store::open_in(&exec.backend, &here, Access::Write, output)
        .and_then(|store| store.run(run, output).map(|record| (store.backend, record)))
    {
        Ok(found) => found,
        Err(code) => return code,
    };
    let run_id = record.id.clone();
    let run_id = run_id.as_str();
    if record.plan.version != PLAN_VERSION {
        return output.fail(&format!(
            "run {run_id} was planned by a wfc with plan version {}; this one reads {PLAN_VERSION}",
            record.plan.version
        ));
    }
    if record.state != RunState::Running && !again.replan {
        output.error(&format!(
            "run {run_id} has ended ({}); `wfc retry {run_id} TASK` puts tasks back to run, \
             and `wfc resume {run_id} --replan` runs what changed in its file",
            record.state
        ));
        return ExitCode::from(1);
    }
    // The run's tasks run where it started, whatever folder this command runs in.
    let workspace = match run_workspace(&record, here.clone()) {
        Ok(workspace) => workspace,
        Err(why) => return output.fail(&format!("run {run_id} cannot go on from here: {why}")),
    };
    let new_plan = if again.replan {
        match super::resume_replan::plan_from_file(&record, &workspace) {
            Ok(plan) => Some(plan),
            Err(message) => return output.fail(&message),
        }
    } else {
        None
    };
    let plan = new_plan.as_ref().unwrap_or(&record.plan);
    // The events go where the run sent them when it started, unless `--events` says otherwise.
    let mut exec = exec.clone();
    if exec.events.is_empty() && !record.plan.event_sinks.is_empty() {
        exec.events = record.plan.event_sinks.clone();
        output.error(&format!(
            "events also go to {}, as when the run started",
            exec.events.join(", ")
        ));
    }
    let exec = &exec;
    // Everything the run needs is checked (against the plan it will run) before the new
    // plan is stored.
    let prepared = match secrets_from_env(plan).and_then(|secrets| {
        Prepared::new(exec, &here, Some((plan, &workspace))).map(|p| (p, secrets))
    }) {
        Ok(prepared) => prepared,
        Err(message) => return output.fail(&message),
    };
    let (prepared, secrets) = prepared;
    if shared_folder::works_in_folder(plan) {
        match shared_folder::taken_by(&*backend, &workspace, Some(run_id)) {
            Ok(None) => {}
            Ok(Some(why)) => return output.fail(&format!("run {run_id} cannot go on now: {why}")),
            Err(error) => return output.fail(&format!("run {run_id} cannot go on: {error}")),
        }
    }
    if let Some(plan) = &new_plan {
        use super::resume_replan::{preview, show, store};
        let preview = match preview(&*backend, &record, plan) {
            Ok(preview) => preview,
            Err(message) => return output.fail(&message),
        };
        if preview.is_unchanged() {
            output.stdout_line(&format!(
                "{} plans the same tasks as run {run_id}'s snapshot: nothing to plan again",
                record.plan.source
            ));
        } else if again.dry_run {
            show(&preview, &record.plan.source, output);
            output.stdout_line("dry run: nothing was stored");
            return ExitCode::SUCCESS;
        } else {
            match store(&*backend, &record, plan) {
                Ok(replanned) => show(&replanned, &record.plan.source, output),
                Err(message) => return output.fail(&message),
            }
        }
        if again.dry_run {
            return ExitCode::SUCCESS;
        }
        if again.no_run {
            output.stdout_line(&format!(
                "run {run_id} waits: `wfc resume {run_id}` (or a `wfc worker`) runs it"
            ));
            return ExitCode::SUCCESS;
        }
    }
    output.stdout_line(&format!(
        "resuming run {run_id}: workflow `{}`",
        plan.workflow
    ));
    if new_plan.is_none() {
        if let Some(note) = super::snapshot_drift::compare(&record.plan, &workspace, run_id)
            .message(&record.plan.source)
        {
            output.error(&note);
        }
    }
    execute(
        backend,
        prepared,
        Some(run_id.to_string()),
        true,
        secrets,
        secret_chains(plan),
        exec,
        &workspace,
        false,
        crate::runtime::serves::Serves::default(),
        None,
        output,
    )
}

/// Runs `wfc worker`: takes ready tasks from every run in the backend until stopped;
/// `own_clone` (`--workspace`) is this machine's clone, where runs whose work moves through a
/// shared remote are worked on.
pub fn worker(
    exec: &ExecArgs,
    exit_when_idle: bool,
    serves: crate::runtime::serves::Serves,
    own_clone: Option<&Path>,
    output: &Output,
) -> ExitCode {
    let own_clone = match own_clone.map(clone_folder).transpose() {
        Ok(clone) => clone,
        Err(message) => return output.fail(&message),
    };
    let workspace = own_clone
        .clone()
        .unwrap_or_else(|| std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")));
    let prepared = match Prepared::new(exec, &workspace, None) {
        Ok(prepared) => prepared,
        Err(message) => return output.fail(&message),
    };
    let backend = match Store::open_in(&exec.backend, &workspace, Access::Write, output) {
        Ok(store) => store.backend,
        Err(code) => return code,
    };
    let secrets = std::env::vars()
        .filter_map(|(name, value)| {
            name.strip_prefix("WF_SECRET_")
                .map(|n| (n.to_string(), value))
        })
        .collect();
    // A worker serves every run, so it knows no plan's chains of filters: the redactor
    // covers every chain that nests `json` a few times.
    execute(
        backend,
        prepared,
        None,
        true,
        secrets,
        HashMap::new(),
        exec,
        &workspace,
        exit_when_idle,
        serves,
        own_clone,
        output,
    )
}

/// The folder `--workspace DIR` names, absolute, if it is in a git repository; or why it
/// cannot be a worker's clone.
fn clone_folder(dir: &Path) -> Result<PathBuf, String> {
    let folder = std::fs::canonicalize(dir)
        .map_err(|error| format!("--workspace {}: {error}", dir.display()))?;
    crate::isolation::Git::open(&folder).map_err(|error| {
        format!(
            "--workspace {}: a worker's workspace is its clone of the repository runs share \
             through a remote, and {error}",
            dir.display()
        )
    })?;
    Ok(folder)
}

/// The values of a plan's secrets, from `WF_SECRET_<NAME>`.
fn secrets_from_env(plan: &Plan) -> Result<HashMap<String, String>, String> {
    let mut secrets = HashMap::new();
    for name in &plan.secrets {
        let variable = format!("WF_SECRET_{}", name.to_uppercase());
        match std::env::var(&variable) {
            Ok(value) if !value.is_empty() => {
                secrets.insert(name.to_uppercase(), value);
            }
            _ => return Err(format!("the run needs the secret `{name}`: set {variable}")),
        }
    }
    Ok(secrets)
}

/// The chains of filters `plan` applies to each secret, by the secret's upper-cased name. The
/// plan is read as JSON, so a secret is found wherever a plan can hold one.
fn secret_chains(plan: &Plan) -> HashMap<String, Vec<Vec<FilterSpec>>> {
    fn walk(value: &serde_json::Value, chains: &mut HashMap<String, Vec<Vec<FilterSpec>>>) {
        match value {
            serde_json::Value::Object(map) => {
                if map.get("kind").and_then(|k| k.as_str()) == Some("secret") {
                    let name = map.get("name").and_then(|n| n.as_str());
                    let filters = map
                        .get("filters")
                        .and_then(|f| serde_json::from_value::<Vec<FilterSpec>>(f.clone()).ok());
                    if let (Some(name), Some(filters)) = (name, filters) {
                        chains.entry(name.to_uppercase()).or_default().push(filters);
                    }
                }
                map.values().for_each(|v| walk(v, chains));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, chains)),
            _ => {}
        }
    }
    let mut chains = HashMap::new();
    // A plan without secret parameters holds no secret: no need to walk all of it.
    if plan.secrets.is_empty() {
        return chains;
    }
    if let Ok(value) = serde_json::to_value(plan) {
        walk(&value, &mut chains);
    }
    chains
}

/// Executes `run` (or, for a worker, every run) with the engine; `say_waits` makes the output
/// without a terminal say what an idle engine waits for.
#[allow(clippy::too_many_arguments)]
fn execute(
    backend: Arc<dyn TaskBackend>,
    prepared: Prepared,
    run: Option<String>,
    say_waits: bool,
    secrets: HashMap<String, String>,
    chains: HashMap<String, Vec<Vec<FilterSpec>>>,
    exec: &ExecArgs,
    workspace: &Path,
    exit_when_idle: bool,
    serves: crate::runtime::serves::Serves,
    own_clone: Option<PathBuf>,
    output: &Output,
) -> ExitCode {
    // The run on a terminal gets the live view; anything else (a worker, a CI log) gets
    // plain lines with heartbeats.
    let console: Arc<dyn EventSink> = match &run {
        Some(run) if std::io::IsTerminal::is_terminal(&std::io::stdout()) => {
            Arc::new(ProgressSink::start(Arc::clone(&backend), run))
        }
        _ => Arc::new(PlainSink::start(
            Arc::clone(&backend),
            PlainOptions {
                run: run.clone(),
                say_waits,
                heartbeat: Heartbeats::interval_from_env(),
            },
        )),
    };
    let Prepared {
        sinks: extra_sinks,
        adapters,
    } = prepared;
    let mut sinks: Vec<Arc<dyn EventSink>> = vec![console];
    sinks.extend(extra_sinks);
    // Every form of a secret is redacted, with each chain of filters the plan applies to it;
    // agents' API keys are redacted like the run's secrets: a CLI may print them.
    let redactor = Redactor::with_chains(
        secrets
            .iter()
            .map(|(name, value)| {
                let chains = chains.get(name).cloned().unwrap_or_default();
                (value.clone(), chains)
            })
            .chain(
                crate::agents::credential_values()
                    .into_iter()
                    .map(|v| (v, Vec::new())),
            ),
    );
    let bus = Arc::new(EventBus::new(redactor, sinks));
    let mut config = EngineConfig::new(workspace.to_path_buf());
    config.jobs = exec.jobs.max(1);
    config.lease = std::time::Duration::from_secs_f64(exec.lease.clamp(0.2, 86_400.0));
    config.run = run.clone();
    config.secrets = secrets;
    config.exit_when_idle = exit_when_idle;
    config.serves = serves;
    config.own_clone = own_clone;
    // Two async threads more than cores: some store writes are made on the thread of the
    // attempt that needs them (its success in an embedded store, the record of a verify
    // command's process), and while such a write waits for the store the other attempts
    // still need a thread. On this project's two cores, four threads ran 2,000 no-op tasks 2
    // to 5% faster than two (docs/performance.md).
    let threads = std::thread::available_parallelism().map_or(1, usize::from) + 2;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return output.fail(&format!("cannot start the engine: {error}")),
    };
    if let Some(budget) = exec.budget {
        let Some(run) = &run else {
            return output.fail(
                "`--budget` is a run's: give it to `wfc run` or `wfc resume RUN`, not to a worker",
            );
        };
        // The budget is an event, as every backend has a log: the newest one counts.
        let event = crate::runtime::NewEvent {
            at: now_millis(),
            kind: crate::events::EventKind::BudgetSet.as_str().to_string(),
            task: None,
            data: serde_json::json!({ "budget_usd": budget }),
        };
        if let Err(error) = backend.append_event(run, &event) {
            return output.fail(&format!("cannot record the run's budget: {error}"));
        }
    }
    let engine = Engine::new(backend, Arc::new(adapters), Arc::clone(&bus), config);
    if let Some(run) = &run {
        engine.announce_run(run);
    }
    let ended = Arc::clone(&engine);
    let notes = Arc::clone(&bus);
    let result = runtime.block_on(async move {
        let (stop_tx, stop_rx) = watch::channel(false);
        let note = move |text: &str| notes.note(text);
        if let Err(error) = super::stop_signals::watch_stop_signals(stop_tx, note) {
            eprintln!("warning: cannot watch for Ctrl-C and SIGTERM: {error}");
        }
        engine.run(stop_rx).await
    });
    bus.flush(std::time::Duration::from_secs(5));
    match (result, run) {
        (Err(error), _) => {
            output.error(&format!("error: {error}"));
            ExitCode::from(1)
        }
        (Ok(Some(RunState::Succeeded)), _) => ExitCode::SUCCESS,
        // The run's own last line (`run ID failed`) was printed by the console or live view:
        // this adds only where to look, so the line is not printed twice.
        (Ok(Some(state)), Some(run)) => {
            output.error(&format!("`wfc status {run}` shows why it {state}"));
            ExitCode::from(1)
        }
        (Ok(None), Some(run)) => match ended.paused(&run) {
            // The console printed why (the `run_paused` event); this is the exit code.
            Some(_) => ExitCode::from(3),
            None => {
                output.error(&format!("stopped; `wfc resume {run}` continues the run"));
                ExitCode::from(130)
            }
        },
        (Ok(_), None) => ExitCode::SUCCESS,
    }
}

/// What an executing command builds from its options before it touches a run: the event
/// sinks and the agent adapters. Building them is the check that the options are valid.
struct Prepared {
    sinks: Vec<Arc<dyn EventSink>>,
    adapters: crate::agents::Adapters,
}

impl Prepared {
    /// The adapters `--agent` chooses and the sinks `--events` names (paths relative to
    /// `here`), or what is wrong with the options; with a plan and the workspace its tasks
    /// run in, also that every agent program its tasks need can be started. Sinks are opened
    /// last, so a refused run leaves no events file behind.
    fn new(exec: &ExecArgs, here: &Path, plan: Option<(&Plan, &Path)>) -> Result<Prepared, String> {
        if let Some(sink) = exec.events.iter().find(|sink| {
            !(sink.starts_with("jsonl:")
                || sink.starts_with("http://")
                || sink.starts_with("https://"))
        }) {
            return Err(format!(
                "`--events {sink}` is not an event sink; use jsonl:PATH or http://HOST:PORT/PATH"
            ));
        }
        let adapters = crate::agents::Adapters::from_options(&exec.agents)?;
        if let Some((plan, workspace)) = plan {
            crate::agents::check_programs(&adapters, plan, workspace)
                .map_err(|problems| format!("the run cannot start:\n{problems}"))?;
            crate::runtime::sandbox::check_available(plan)
                .map_err(|problem| format!("the run cannot start:\n{problem}"))?;
        }
        let mut sinks: Vec<Arc<dyn EventSink>> = Vec::new();
        for sink in &exec.events {
            sinks.push(match sink.strip_prefix("jsonl:") {
                Some(path) => Arc::new(JsonlSink::open(&here.join(path))?),
                None => Arc::new(HttpSink::new(sink)?),
            });
        }
        Ok(Prepared { sinks, adapters })
    }
}

/// The `--events` sinks a run records for `wfc resume`: a `jsonl:` path made absolute (resume
/// may run in another folder), and http URLs as given, except one with a user name or password
/// in it, which is a credential and never stored.
fn sinks_to_record(sinks: &[String], workspace: &Path) -> Vec<String> {
    sinks
        .iter()
        .filter_map(|sink| match sink.strip_prefix("jsonl:") {
            Some(path) => Some(format!("jsonl:{}", workspace.join(path).display())),
            None => {
                let authority = sink.split("://").nth(1).unwrap_or("").split('/').next();
                (!authority.is_some_and(|a| a.contains('@'))).then(|| sink.clone())
            }
        })
        .collect()
}

/// A new run id: the time, so ids sort by age, and a few characters that make it unique.
fn new_run_id() -> String {
    let now = now_millis();
    let seconds = now / 1000;
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = super::human::civil(days);
    let unique = (now as u64 ^ (u64::from(std::process::id()) << 20))
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        >> 44;
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}-{unique:05x}",
        rest / 3600,
        (rest % 3600) / 60,
        rest % 60
    )
}
