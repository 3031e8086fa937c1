//! The `wfc` command line. The only layer besides the runtime that touches files and the
//! terminal.

mod answer;
mod cancel;
mod check;
mod diff;
mod done;
mod fmt;
mod gc;
mod graph;
mod human;
mod inputs;
mod isolation;
mod list;
mod logs;
mod loop_rounds;
mod output;
mod plan;
mod replan;
mod resume_replan;
mod retry;
mod run;
mod run_graph;
mod runs;
mod shared_folder;
mod shared_remote;
mod show;
mod snapshot_drift;
mod stats;
mod status;
mod stop_signals;
mod store;
mod store_check;
mod target;
mod usage;

use clap::{Parser, Subcommand};
use output::Output;
use std::path::PathBuf;
use std::process::ExitCode;

/// wfc: a compiler and runtime for workflow templates that coding agents execute.
#[derive(Debug, Parser)]
#[command(name = "wfc", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check .wf files for errors without running anything.
    Check {
        /// Files, folders (searched for *.wf) or stdlib modules (std/NAME); default: the current folder.
        #[arg(default_value = ".")]
        paths: Vec<PathBuf>,
        /// How to print diagnostics.
        #[arg(long, value_enum, default_value = "human")]
        format: check::Format,
        /// Exit with 1 when there are warnings, too.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Rewrite .wf files in the one canonical layout.
    Fmt {
        /// Files or folders (searched for *.wf); default: the current folder.
        #[arg(default_value = ".")]
        paths: Vec<PathBuf>,
        /// Change nothing; list the files that would change and exit with 1 if any would.
        #[arg(long)]
        check: bool,
    },
    /// List the workflows of a file with their docs and parameters.
    List {
        /// A .wf file or a stdlib module (std/NAME).
        file: PathBuf,
        /// Print JSON, with a JSON Schema of each workflow's parameters.
        #[arg(long)]
        json: bool,
    },
    /// Run a workflow: plan it, store the run, and execute its tasks.
    Run {
        /// A .wf file or a stdlib module (std/NAME).
        file: PathBuf,
        /// The workflow; needed when the file has several.
        workflow: Option<String>,
        #[command(flatten)]
        params: plan::ParamArgs,
        /// `git`: every task attempt works in a git worktree of its own at its start commit
        /// (the run's base, or its upstream tasks' work), its work becomes a commit, and the
        /// result a branch; the checkout is never touched. `none`: every task works in the
        /// folder. `auto`: `git` for a run with an agent task in a git repository, else `none`.
        #[arg(long, value_enum, default_value = "auto")]
        isolation: isolation::IsolationChoice,
        /// With --isolation git: when the run succeeds, move BRANCH to its result if that is
        /// a fast-forward (and, if BRANCH is checked out here with no uncommitted changes,
        /// its files with it); otherwise leave it and say why.
        #[arg(long, value_name = "BRANCH")]
        into: Option<String>,
        /// With --isolation git: the shared git remote the run's work moves through, so
        /// `wfc worker --workspace CLONE` on other machines can work on it: each task's output
        /// commit is pushed there, and the result branch. Default: the workspace's `origin`
        /// when the store is Postgres, else none; `none`: the run stays on this machine.
        #[arg(long, value_name = "URL")]
        remote: Option<String>,
        #[command(flatten)]
        exec: run::ExecArgs,
    },
    /// Start a new run of the same workflow with the same parameters as an earlier run,
    /// planned again from the workflow's file.
    Rerun {
        /// The earlier run: its id, a unique prefix or suffix of it, or `latest`.
        run: String,
        /// A secret's value from a file, NAME=@FILE; repeatable. Secrets are also read from
        /// WF_SECRET_<NAME> in the environment, and never from the command line.
        #[arg(long = "secret", value_name = "NAME=@FILE")]
        secrets: Vec<String>,
        #[command(flatten)]
        exec: run::ExecArgs,
    },
    /// Continue a run from its stored plan: tasks that succeeded are not run again.
    Resume {
        /// The run: its id, a unique prefix or suffix of it, or `latest`.
        run: String,
        /// Plan the run again from its (edited) workflow file first: tasks whose spec and
        /// inputs are unchanged keep their results; changed tasks and everything after them
        /// run again. Shows the difference, then goes on; works on an ended run too.
        #[arg(long)]
        replan: bool,
        /// With --replan: only show what planning again would change, and store nothing.
        #[arg(long, requires = "replan")]
        dry_run: bool,
        /// With --replan: store the new plan and stop; `wfc resume RUN` or a `wfc worker`
        /// runs it.
        #[arg(long, requires = "replan", conflicts_with = "dry_run")]
        no_run: bool,
        #[command(flatten)]
        exec: run::ExecArgs,
    },
    /// Take ready tasks from every run in the store until stopped.
    Worker {
        #[command(flatten)]
        exec: run::ExecArgs,
        /// Stop when no run has anything left to do.
        #[arg(long)]
        exit_when_idle: bool,
        /// Take only tasks that carry one of these labels; comma-separated or repeated.
        #[arg(long, value_delimiter = ',', value_name = "LABEL")]
        labels: Vec<String>,
        /// Take only agent tasks of these profiles (or adapters; `default` for the run's
        /// `--agent`): a machine without Codex leaves Codex tasks to others. Command tasks
        /// and gates are taken whatever this says.
        #[arg(long, value_delimiter = ',', value_name = "PROFILE")]
        profiles: Vec<String>,
        /// This machine's clone of the repository, where the runs whose work moves through a
        /// shared remote (`wfc run --remote`) are worked on, wherever they started; their
        /// commits are fetched from and pushed to that remote. Default: the current folder.
        #[arg(long, value_name = "DIR")]
        workspace: Option<PathBuf>,
    },
    /// Show where a run is: its tasks with state, attempts, duration and last error, why each
    /// failed task failed, and the question of each task that waits for a person.
    Status {
        /// The run: its id, a unique prefix or suffix of it, or `latest`; default: the newest.
        run: Option<String>,
        /// Print the run and its tasks as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: store::BackendArgs,
    },
    /// List the runs in the store, newest first; or delete old ones (--prune).
    Runs {
        /// Only runs in this state (`ended`: every state but running); repeatable, or a
        /// comma-separated list.
        #[arg(
            long = "state",
            value_enum,
            value_delimiter = ',',
            value_name = "STATE"
        )]
        states: Vec<runs::StateFilter>,
        /// Delete the runs (of --state, if given) that ended more than this long ago — `7d`,
        /// `12h`, `30m` — with their events, git worktrees, `refs/wfc/RUN/…` and transcripts.
        /// A running run is never deleted.
        #[arg(long, value_name = "OLDER_THAN")]
        prune: Option<runs::Age>,
        /// With --prune: only list what would be deleted.
        #[arg(long, requires = "prune")]
        dry_run: bool,
        /// Print JSON.
        #[arg(long, conflicts_with = "prune")]
        json: bool,
        #[command(flatten)]
        store: store::BackendArgs,
    },
    /// What the store's runs say per workflow, task and agent profile: runs, success rate,
    /// attempts per success, median and p90 durations, cost and tokens.
    Stats {
        /// Only runs created less than this long ago: `7d`, `12h`, `30m`.
        #[arg(long, value_name = "AGE")]
        since: Option<runs::Age>,
        /// Only runs of this workflow.
        #[arg(long, value_name = "NAME")]
        workflow: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: store::BackendArgs,
    },
    /// Show a run's events, or one task's.
    Logs {
        /// The run: its id, a unique prefix or suffix of it, or `latest`; default: the newest.
        run: Option<String>,
        /// Only this task's events.
        task: Option<String>,
        /// Keep printing new events until the run ends.
        #[arg(long, short = 'f')]
        follow: bool,
        /// Print the stored events as JSON lines.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: store::BackendArgs,
    },
    /// Put failed, cancelled or rejected tasks back to pending and run them again (every one
    /// of the run's, or TASK); attempt numbers go on, and each gets its retries again.
    Retry {
        /// The run: its id, a unique prefix or suffix of it, or `latest`.
        run: String,
        /// The task to retry; default: every failed, rejected or cancelled task of the run.
        task: Option<String>,
        /// Also every task after it (downstream), whatever its state.
        #[arg(long, value_name = "TASK", num_args = 0..=1)]
        from: Option<Option<String>>,
        /// Why it runs again, for the next attempt's prompt (an agent reads it).
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
        /// Only put the tasks back; `wfc resume RUN` runs them later.
        #[arg(long)]
        no_run: bool,
        #[command(flatten)]
        exec: run::ExecArgs,
    },
    /// Mark a task succeeded by hand, after its work was done outside wfc; its dependents can
    /// then run.
    Done {
        /// The run: its id, a unique prefix or suffix of it, or `latest`.
        run: String,
        /// The task.
        task: String,
        /// Its result: the text its dependents read as `TASK.result`.
        #[arg(long, value_name = "TEXT")]
        result: Option<String>,
        #[command(flatten)]
        store: store::BackendArgs,
    },
    /// Show what a task of a run isolated in git changed: its start commit to its output
    /// commit, as a patch.
    Diff {
        /// The run: its id, a unique prefix or suffix of it, or `latest`.
        run: String,
        /// The task's id.
        task: String,
        /// A diffstat instead of the patch.
        #[arg(long)]
        stat: bool,
        #[command(flatten)]
        store: store::BackendArgs,
    },
    /// Remove what isolated runs left in their repositories: the worktrees of runs that ended
    /// and those a crash left behind (and, with --refs, the refs of runs that ended).
    Gc {
        /// Also delete `refs/wfc/RUN/…` of runs that ended (their result branches stay).
        #[arg(long)]
        refs: bool,
        #[command(flatten)]
        store: store::BackendArgs,
    },
    /// Stop a run: it and every task that has not ended become cancelled.
    Cancel {
        /// The run: its id, a unique prefix or suffix of it, or `latest`.
        run: String,
        #[command(flatten)]
        store: store::BackendArgs,
    },
    /// Approve a gate or a `human` task that waits for an answer, or a task that waits for a
    /// person to resolve a conflict (`on_conflict = "human"`): it goes on from the resolution.
    Approve {
        /// The run: its id, a unique prefix or suffix of it, or `latest`.
        run: String,
        /// The id of the gate, `human` task or task waiting on a conflict.
        gate: String,
        /// Why; it becomes the gate's result. For a `human` task, its result (the text its
        /// dependents read as `TASK.result`); `--result` is the same option.
        #[arg(long, visible_alias = "result")]
        reason: Option<String>,
        #[command(flatten)]
        store: store::BackendArgs,
    },
    /// Reject a gate or a `human` task that waits for an answer, or a task that waits for a
    /// person to resolve a conflict (`on_conflict = "human"`, which then fails); the tasks
    /// after it do not run.
    Reject {
        /// The run: its id, a unique prefix or suffix of it, or `latest`.
        run: String,
        /// The id of the gate, `human` task or task waiting on a conflict.
        gate: String,
        /// Why (required).
        #[arg(long, required = true)]
        reason: Option<String>,
        #[command(flatten)]
        store: store::BackendArgs,
    },
    /// Instantiate a workflow with parameter values and show every task as it will run.
    Plan {
        /// A .wf file or a stdlib module (std/NAME).
        file: PathBuf,
        /// The workflow; needed when the file has several.
        workflow: Option<String>,
        #[command(flatten)]
        params: plan::ParamArgs,
        /// Print the whole plan as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Look after the state store.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Draw a workflow's graph without running anything, or a run's graph with the state of
    /// each of its tasks.
    Graph {
        /// A .wf file or a stdlib module (std/NAME); or a run: its id, a unique prefix or
        /// suffix of it, or `latest`.
        #[arg(value_name = "FILE|RUN")]
        target: String,
        /// The workflow to draw; needed when the file has several.
        workflow: Option<String>,
        /// The notation to draw in; default: mermaid for a file, text for a run.
        #[arg(long, value_enum)]
        format: Option<graph::Format>,
        #[command(flatten)]
        store: store::BackendArgs,
    },
    /// Show everything about one task of a run: its spec as planned, then each attempt's
    /// timings, outcome, prompt as sent, the agent's transcript, result, error, verify
    /// output, usage and the files it changed.
    Show {
        /// The run's id.
        run: String,
        /// The task's id.
        task: String,
        /// Only this attempt (from 1).
        #[arg(long, value_name = "N")]
        attempt: Option<u32>,
        /// Print it all as one JSON document.
        #[arg(long, conflicts_with = "raw")]
        json: bool,
        /// Print the agent's stored transcript as it was printed (its event stream, and its
        /// stderr lines marked `stderr: `).
        #[arg(long)]
        raw: bool,
        #[command(flatten)]
        store: store::BackendArgs,
    },
}

/// The `wfc store` commands.
#[derive(Debug, Subcommand)]
enum StoreCommand {
    /// Check every page of the store and every run in it (SQLite's integrity check, tasks and
    /// dependencies against each run's plan); changes nothing.
    Check {
        #[command(flatten)]
        store: store::BackendArgs,
    },
}

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let output = Output::from_env();
    match cli.command {
        Command::Check {
            paths,
            format,
            deny_warnings,
        } => check::run(&paths, format, deny_warnings, &output),
        Command::List { file, json } => list::run(&file, json, &output),
        Command::Graph {
            target,
            workflow,
            format,
            store,
        } => graph::run(&target, workflow.as_deref(), format, &store, &output),
        Command::Fmt { paths, check } => fmt::run(&paths, check, &output),
        Command::Run {
            file,
            workflow,
            params,
            isolation,
            into,
            remote,
            exec,
        } => run::run(
            &file,
            workflow.as_deref(),
            &params,
            run::Placing {
                isolation,
                into: into.as_deref(),
                remote: remote.as_deref(),
            },
            &exec,
            &output,
        ),
        Command::Resume {
            run,
            replan,
            dry_run,
            no_run,
            exec,
        } => run::resume(
            &run,
            &exec,
            run::Replan {
                replan,
                dry_run,
                no_run,
            },
            &output,
        ),
        Command::Rerun { run, secrets, exec } => run::rerun(&run, &secrets, &exec, &output),
        Command::Worker {
            exec,
            exit_when_idle,
            labels,
            profiles,
            workspace,
        } => run::worker(
            &exec,
            exit_when_idle,
            crate::runtime::serves::Serves { labels, profiles },
            workspace.as_deref(),
            &output,
        ),
        Command::Plan {
            file,
            workflow,
            params,
            json,
        } => plan::run(&file, workflow.as_deref(), &params, json, &output),
        Command::Status { run, json, store } => status::run(&store, run.as_deref(), json, &output),
        Command::Stats {
            since,
            workflow,
            json,
            store,
        } => stats::run(
            &store,
            &stats::StatsArgs {
                since,
                workflow,
                json,
            },
            &output,
        ),
        Command::Runs {
            states,
            prune,
            dry_run,
            json,
            store,
        } => runs::run(
            &store,
            &runs::RunsArgs {
                states,
                prune,
                dry_run,
                json,
            },
            &output,
        ),
        Command::Logs {
            run,
            task,
            follow,
            json,
            store,
        } => logs::run(
            &store,
            run.as_deref(),
            task.as_deref(),
            follow,
            json,
            &output,
        ),
        Command::Retry {
            run,
            task,
            from,
            note,
            no_run,
            exec,
        } => retry::run(
            &retry::Retry {
                run: &run,
                task: task.as_deref(),
                from: from.as_ref().map(Option::as_deref),
                note: note.as_deref(),
                no_run,
            },
            &exec,
            &output,
        ),
        Command::Cancel { run, store } => cancel::run(&store, &run, &output),
        Command::Diff {
            run,
            task,
            stat,
            store,
        } => diff::run(&store, &run, &task, stat, &output),
        Command::Gc { refs, store } => gc::run(&store, refs, &output),
        Command::Done {
            run,
            task,
            result,
            store,
        } => done::run(&store, &run, &task, result.as_deref(), &output),
        Command::Store {
            command: StoreCommand::Check { store },
        } => store_check::run(&store, &output),
        Command::Approve {
            run,
            gate,
            reason,
            store,
        } => answer::run(&store, &run, &gate, true, reason.as_deref(), &output),
        Command::Reject {
            run,
            gate,
            reason,
            store,
        } => answer::run(&store, &run, &gate, false, reason.as_deref(), &output),
        Command::Show {
            run,
            task,
            attempt,
            json,
            raw,
            store,
        } => show::run(
            &store,
            &show::Shown {
                run: &run,
                task: &task,
                attempt,
                json,
                raw,
            },
            &output,
        ),
    }
}
