//! The beads backend (`beads:DIR`): every task of a run is a beads issue in the store at
//! `DIR/.beads`, its dependencies are `blocks` edges, and the beads CLI (`bd`, or `br` from
//! the `beads_rust` crate) drives each issue from `open` through `in_progress` to `closed`,
//! so people and other agents see and can work with the same tasks.
//!
//! Beads is the authority on what is ready (`ready --json`, filtered to the run's label) and
//! on who holds an issue (`update --claim`, atomic: of two claimers one loses). The sidecar
//! ([`sidecar`]) keeps what beads cannot hold: the plan snapshot, each task's wfc state,
//! leases, attempts, results and the event log.
//!
//! How the port maps to CLI calls (docs/architecture.md has the full table):
//!
//! | port | beads |
//! |---|---|
//! | `create_tasks` | `create --file` (br, one call for many issues) or `create` each; `dep import` (br) or `dep add CHILD PARENT` each |
//! | `find_ready_tasks` | `ready --json --label=wfc-run:RUN`, only when the sidecar has a pending task whose dependencies succeeded |
//! | `claim_task` | `update ID --claim --actor=WORKER`; an expired lease: `show`, then `update --status=in_progress --assignee=WORKER` |
//! | `complete_task` | `close ID --reason="wfc: succeeded …\nRESULT"` |
//! | `fail_task` | `update ID --status=open` (another attempt) or `--status=blocked` (none left), with the error appended to the notes |
//! | `skip_task` | `close ID --reason="wfc: skipped\nWHY"` |
//! | `wait_gate` / `answer_gate` | `update --assignee=` with a note; `close` or `update --status=blocked` |
//! | `reset_tasks` / cancel | one `update IDS… --status=open` / one `close IDS… --force` |
//! | `start_task`, `heartbeat`, reads, events | the sidecar only |
//!
//! Concurrency: every change of the sidecar is a read-modify-write under the run's lock, so
//! engines on one store never interleave. Claims, closes and failures (the calls of every
//! task) do not hold the lock during their beads call: they check under it, call beads, and
//! apply the outcome under it only if the worker still holds the task, so engines wait for
//! each other only for a file write. Rare operations (answers, retries, cancels) hold the
//! lock across their call.
//!
//! Crash safety: a claim writes the sidecar first (the worker's lease), then claims in
//! beads: a crash in between leaves a lease that runs out, and the next claimer takes the
//! issue over. A success closes the issue first, with the result in the close reason, then
//! writes the sidecar: a crash in between is found when the lease runs out, and the result is
//! read back from beads, so the task never runs again.

mod bulk;
mod cli;
mod commands;
mod issue;
mod json;
mod sidecar;

pub use cli::Dialect;
pub use issue::{run_label, GATE_LABEL, WFC_LABEL};
pub use sidecar::MAX_RUN_ID;

use crate::plan::{Plan, TaskSpec};
use crate::runtime::lifecycle::{self, TaskFacts};
use crate::runtime::*;
use cli::{Cli, Failure};
use issue::NewIssue;
use sidecar::{RunFile, Sidecar, TaskEntry};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variable that names the beads CLI when the URL does not (`?bin=`).
pub const BIN_ENV: &str = "WFC_BEADS_BIN";

/// How to install a beads CLI, for the errors that find none. A plain `cargo install
/// beads_rust` does not build on a stable toolchain; this recipe (the one tests/all.sh uses)
/// does: the dependency versions br was released with, and its unstable features allowed.
pub const INSTALL_HINT: &str = "install br with `RUSTC_BOOTSTRAP=1 cargo install beads_rust \
    --version 0.7.6 --locked --ignore-rust-version` (or bd, the Go original), put it on the PATH, \
    or name the CLI with `beads:DIR?bin=PATH` or WFC_BEADS_BIN";

/// How long one CLI call may take unless the URL says otherwise (`?timeout=SECONDS`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The actor of changes no worker makes (answers, retries, cancels).
const WFC_ACTOR: &str = "wfc";

/// The first line of the close reason of a task that succeeded; the result follows on the
/// next line.
const SUCCEEDED: &str = "wfc: succeeded";

/// The first line of the close reason of a task skipped because its condition does not
/// hold; why follows on the next lines.
const SKIPPED: &str = "wfc: skipped";

/// How to open a beads store.
#[derive(Clone, Debug, PartialEq)]
pub struct BeadsOptions {
    /// The folder that holds `.beads` (or the `.beads` folder itself).
    pub dir: PathBuf,
    /// The CLI to run: a name on the PATH or a path. `None`: [`BIN_ENV`], else `bd`, else
    /// `br`, whichever is on the PATH.
    pub bin: Option<PathBuf>,
    /// The time limit of each call.
    pub timeout: Duration,
}

/// A backend that keeps tasks as beads issues.
pub struct BeadsBackend {
    cli: Cli,
    sidecar: Sidecar,
}

impl std::fmt::Debug for BeadsBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BeadsBackend")
            .field("dir", &self.cli.dir())
            .field("cli", &self.cli.program())
            .field("dialect", &self.cli.dialect())
            .finish_non_exhaustive()
    }
}

impl BeadsBackend {
    /// Opens the beads store in `options.dir`, which must exist (`br init` / `bd init` make
    /// one), and finds out which CLI answers.
    pub fn open(options: &BeadsOptions) -> BackendResult<BeadsBackend> {
        let dir = store_folder(&options.dir)?;
        let program = match &options.bin {
            Some(bin) => bin.clone(),
            None => match std::env::var_os(BIN_ENV).filter(|v| !v.is_empty()) {
                Some(bin) => PathBuf::from(bin),
                None => ["bd", "br"].into_iter().find_map(on_path).ok_or_else(|| {
                    BackendError::storage(
                        "beads backend: neither `bd` nor `br` is on the PATH",
                        INSTALL_HINT,
                    )
                })?,
            },
        };
        let cli = Cli::detect(&program, &dir, options.timeout)?;
        Ok(BeadsBackend {
            cli,
            sidecar: Sidecar::new(dir.join(".wfc").join("beads")),
        })
    }

    /// Which CLI drives the store.
    pub fn dialect(&self) -> Dialect {
        self.cli.dialect()
    }

    /// How many CLI calls this backend has made, opening included.
    pub fn cli_calls(&self) -> u64 {
        self.cli.calls()
    }

    /// The beads issue of `key`.
    pub fn issue_of(&self, key: &TaskKey) -> BackendResult<String> {
        Ok(self
            .sidecar
            .read_run(&key.run)?
            .task(&key.task)?
            .issue
            .clone())
    }

    /// The error for output of `args` that could not be read.
    fn unreadable(&self, args: &[String], why: &str) -> BackendError {
        BackendError::storage(
            format!(
                "beads backend: cannot read what `{}` printed: {why}",
                self.cli.display(args)
            ),
            format!(
                "wfc reads the JSON of bd 1.0 and br 0.7; check that `{}` is one of them",
                self.cli.program().display()
            ),
        )
    }

    /// Creates `issues` and returns their ids, in order.
    fn create_issues(&self, issues: &[NewIssue], scratch: &Path) -> BackendResult<Vec<String>> {
        let mut ids: Vec<Option<String>> = vec![None; issues.len()];
        if self.cli.dialect() == Dialect::Br {
            let fitting: Vec<(usize, &NewIssue)> = issues
                .iter()
                .enumerate()
                .filter(|(_, issue)| bulk::fits_markdown(issue))
                .collect();
            // One file pays off from two issues on.
            if fitting.len() >= 2 {
                for (number, batch) in bulk::batches(&fitting).into_iter().enumerate() {
                    let wanted: Vec<&NewIssue> = batch.iter().map(|(_, issue)| *issue).collect();
                    let made = self.create_from_file(&wanted, scratch, number)?;
                    for ((index, _), id) in batch.iter().zip(made) {
                        ids[*index] = id;
                    }
                }
            }
        }
        let mut created = Vec::with_capacity(issues.len());
        for (issue, id) in issues.iter().zip(ids) {
            match id {
                Some(id) => created.push(id),
                None => created.push(self.create_one(issue)?),
            }
        }
        Ok(created)
    }

    /// One `br create --file` call; the ids of the issues it created, `None` for those it
    /// did not (which the caller creates one by one).
    fn create_from_file(
        &self,
        wanted: &[&NewIssue],
        scratch: &Path,
        number: usize,
    ) -> BackendResult<Vec<Option<String>>> {
        let path = scratch.join(format!("create-{}-{number}.md", std::process::id()));
        let args = commands::create_from_file(&path.to_string_lossy());
        let result = with_scratch_file(&path, &bulk::markdown(wanted), || {
            Ok(self.cli.run(&args, None))
        })?;
        match result {
            Ok(output) => {
                let created = json::created_many(&output.stdout)
                    .map_err(|why| self.unreadable(&args, &why))?;
                Ok(bulk::match_created(wanted, &created))
            }
            // br exits non-zero from a file only when it created nothing: create them one by
            // one, which reports the real reason if there is one.
            Err(Failure::Exit(_)) => Ok(vec![None; wanted.len()]),
            Err(failure) => Err(self.cli.error(&args, failure)),
        }
    }

    /// One `create` call.
    fn create_one(&self, issue: &NewIssue) -> BackendResult<String> {
        let (args, stdin) = commands::create(self.cli.dialect(), issue);
        let output = self.cli.call(&args, Some(&stdin))?;
        json::created(&output.stdout)
            .map(|created| created.id)
            .map_err(|why| self.unreadable(&args, &why))
    }

    /// Adds `blocks` edges (child, parent).
    fn add_edges(&self, edges: &[(String, String)], scratch: &Path) -> BackendResult<()> {
        if self.cli.dialect() == Dialect::Br && edges.len() >= 2 {
            let path = scratch.join(format!("deps-{}.jsonl", std::process::id()));
            let args = commands::dep_import(&path.to_string_lossy());
            return with_scratch_file(&path, &bulk::deps_jsonl(edges), || {
                self.cli.call(&args, None).map(|_| ())
            });
        }
        for (child, parent) in edges {
            self.cli.call(&commands::dep_add(child, parent), None)?;
        }
        Ok(())
    }

    /// The ids of the ready issues labelled `label`.
    fn beads_ready(&self, label: &str) -> BackendResult<HashSet<String>> {
        let args = commands::ready(label);
        let output = self.cli.call(&args, None)?;
        let issues = json::issues(&output.stdout).map_err(|why| self.unreadable(&args, &why))?;
        Ok(issues.into_iter().map(|issue| issue.id).collect())
    }

    /// The issue `id` as beads has it now.
    fn show(&self, id: &str) -> BackendResult<json::Issue> {
        let args = commands::show(id);
        let output = self.cli.call(&args, None)?;
        json::shown(&output.stdout).map_err(|why| self.unreadable(&args, &why))
    }

    /// Closes `issues`; issues already closed are fine (a retried answer, a crash after an
    /// earlier close).
    fn close(&self, issues: &[String], reason: &str, actor: &str) -> BackendResult<()> {
        if issues.is_empty() {
            return Ok(());
        }
        let args = commands::close(issues, reason, actor);
        match self.cli.run(&args, None) {
            Ok(_) => Ok(()),
            Err(Failure::Exit(output)) if json::only_already_closed(&output) => Ok(()),
            Err(failure) => Err(self.cli.error(&args, failure)),
        }
    }

    /// Runs the run's change `body` under its lock: reads the sidecar, lets `body` change it
    /// (rare operations also call beads inside it), and writes it back if `body` succeeded
    /// and changed something.
    fn change<T>(
        &self,
        run: &str,
        body: impl FnOnce(&mut RunFile) -> BackendResult<T>,
    ) -> BackendResult<T> {
        let _lock = self.sidecar.lock(run)?;
        let mut file = self.sidecar.read_run(run)?;
        let before = file.clone();
        let value = body(&mut file)?;
        if file != before {
            self.sidecar.write_run(&file)?;
        }
        Ok(value)
    }

    /// The task `key` as the sidecar has it now, if `worker` holds it; read without the lock,
    /// as a check before a beads call that is repeated under the lock after it.
    fn holding(&self, key: &TaskKey, worker: &str) -> BackendResult<TaskEntry> {
        let task = self.sidecar.read_run(&key.run)?.task(&key.task)?.clone();
        if lifecycle::holds(&task.record(&key.run), worker) {
            Ok(task)
        } else {
            Err(BackendError::conflict(format!(
                "worker `{worker}` does not hold task `{}`",
                key.task
            )))
        }
    }

    /// Applies a lifecycle rule to task `key` under its run's lock: `rule` gets the task's
    /// record, its facts and its beads issue (to tell beads, for the rare transitions that
    /// must), and returns whether it changed the record, which is then written back.
    fn transition<T>(
        &self,
        key: &TaskKey,
        rule: impl FnOnce(&mut TaskRecord, &TaskFacts, &str) -> BackendResult<(bool, T)>,
    ) -> BackendResult<T> {
        self.change(&key.run, |file| {
            let entry = file.task(&key.task)?;
            let facts = TaskFacts {
                run_state: file.state,
                is_gate: entry.is_gate,
                deps_done: file.is_pending_and_unblocked(entry),
                plan_generation: file.plan_generation,
            };
            let mut record = entry.record(&key.run);
            let issue = entry.issue.clone();
            let (changed, value) = rule(&mut record, &facts, &issue)?;
            if changed {
                file.task_mut(&key.task)?.set_record(record);
            }
            Ok(value)
        })
    }
}

/// The folder that holds `.beads`: `dir`, or its parent when `dir` is the `.beads` folder.
/// Made absolute, as br refuses file paths with `..` in them.
fn store_folder(dir: &Path) -> BackendResult<PathBuf> {
    let missing = || {
        BackendError::storage(
            format!(
                "beads backend: there is no beads store in `{}`",
                dir.display()
            ),
            format!(
                "create one with `br init` (or `bd init`) in `{}`, or name the folder that holds \
                 `.beads` in `beads:DIR`",
                dir.display()
            ),
        )
    };
    let dir = std::fs::canonicalize(dir).map_err(|_| missing())?;
    if dir.join(".beads").is_dir() {
        return Ok(dir);
    }
    match (dir.file_name(), dir.parent()) {
        (Some(name), Some(parent)) if name == ".beads" => Ok(parent.to_path_buf()),
        _ => Err(missing()),
    }
}

/// Writes `text` to the scratch file `path`, runs `body` (a CLI call that reads the file), and
/// removes the file again whatever `body` returned, so no scratch file outlives its call.
fn with_scratch_file<T>(
    path: &Path,
    text: &str,
    body: impl FnOnce() -> BackendResult<T>,
) -> BackendResult<T> {
    std::fs::write(path, text).map_err(|error| {
        BackendError::storage(
            format!("beads backend: cannot write `{}`: {error}", path.display()),
            "the beads sidecar folder must be writable",
        )
    })?;
    let result = body();
    let _ = std::fs::remove_file(path);
    result
}

/// The executable `name` on the PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|file| {
            file.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The sidecar entry of a new task, `pending`, with the issue that mirrors it.
fn entry(spec: &TaskSpec, issue: String, position: usize) -> TaskEntry {
    TaskEntry {
        id: spec.id.clone(),
        issue,
        position,
        priority: spec.priority,
        // A gate, or a `human` agent task: it waits for a person instead of running.
        is_gate: spec.action.waits_for_person(),
        deps: Vec::new(),
        state: TaskState::Pending,
        attempts: 0,
        max_attempts: spec.retry + 1,
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

impl TaskBackend for BeadsBackend {
    fn create_run(
        &self,
        id: &str,
        plan: &Plan,
        place: Option<&RunPlace>,
        now: Millis,
    ) -> BackendResult<()> {
        self.sidecar.create_run(id, plan, place, now)
    }

    fn create_task(&self, run: &str, spec: &TaskSpec, position: usize) -> BackendResult<()> {
        self.change(run, |file| {
            if file.creating {
                return Err(file.half_created());
            }
            if file.tasks.iter().any(|t| t.id == spec.id) {
                return Err(BackendError::conflict(format!(
                    "run `{run}` has a task `{}` already",
                    spec.id
                )));
            }
            let issue = self.create_one(&NewIssue::for_task(run, spec))?;
            file.tasks.push(entry(spec, issue, position));
            Ok(())
        })
    }

    fn add_dependency(&self, run: &str, child: &str, parent: &str) -> BackendResult<()> {
        self.change(run, |file| {
            let parent_issue = file.task(parent)?.issue.clone();
            let child_entry = file.task(child)?;
            if child_entry.deps.iter().any(|d| d == parent) {
                return Ok(());
            }
            self.cli
                .call(&commands::dep_add(&child_entry.issue, &parent_issue), None)?;
            file.task_mut(child)?.deps.push(parent.to_string());
            Ok(())
        })
    }

    fn create_tasks(&self, run: &str, plan: &Plan) -> BackendResult<()> {
        let _lock = self.sidecar.lock(run)?;
        let mut file = self.sidecar.read_run(run)?;
        if file.creating {
            return Err(file.half_created());
        }
        let mut known: HashMap<String, String> = file
            .tasks
            .iter()
            .map(|t| (t.id.clone(), t.issue.clone()))
            .collect();
        let planned: HashSet<&str> = plan.tasks.iter().map(|t| t.id.as_str()).collect();
        for spec in &plan.tasks {
            if known.contains_key(&spec.id) {
                return Err(BackendError::conflict(format!(
                    "run `{run}` has a task `{}` already",
                    spec.id
                )));
            }
            for dep in &spec.deps {
                if !planned.contains(dep.as_str()) && !known.contains_key(dep) {
                    return Err(BackendError::not_found(format!(
                        "run `{run}` has no task `{dep}`"
                    )));
                }
            }
        }
        // Until the issues and their edges all exist, the run is marked as being created: a
        // crash in between leaves a run that says so, not one that runs tasks without
        // their dependencies.
        file.creating = true;
        self.sidecar.write_run(&file)?;
        let scratch = self.sidecar.run_dir(run);
        let issues: Vec<NewIssue> = plan
            .tasks
            .iter()
            .map(|spec| NewIssue::for_task(run, spec))
            .collect();
        let ids = self.create_issues(&issues, &scratch)?;
        for (spec, id) in plan.tasks.iter().zip(&ids) {
            known.insert(spec.id.clone(), id.clone());
        }
        let mut edges = Vec::new();
        for spec in &plan.tasks {
            for dep in &spec.deps {
                if let (Some(child), Some(parent)) = (known.get(&spec.id), known.get(dep)) {
                    edges.push((child.clone(), parent.clone()));
                }
            }
        }
        self.add_edges(&edges, &scratch)?;
        let offset = file.tasks.len();
        for (index, (spec, id)) in plan.tasks.iter().zip(ids).enumerate() {
            let mut task = entry(spec, id, offset + index);
            task.deps = spec.deps.clone();
            file.tasks.push(task);
        }
        file.creating = false;
        self.sidecar.write_run(&file)
    }

    fn get_run(&self, id: &str) -> BackendResult<RunRecord> {
        let file = self.sidecar.read_run(id)?;
        Ok(RunRecord {
            id: file.id,
            state: file.state,
            created_at: file.created_at,
            finished_at: file.finished_at,
            plan: self.sidecar.read_plan(id, file.plan_generation)?,
            place: file.place,
            plan_generation: file.plan_generation,
        })
    }

    fn run_state(&self, id: &str) -> BackendResult<RunState> {
        Ok(self.sidecar.read_run(id)?.state)
    }

    fn list_runs(&self) -> BackendResult<Vec<RunSummary>> {
        let mut runs = Vec::new();
        for file in self.sidecar.read_runs()? {
            runs.push(RunSummary {
                id: file.id,
                workflow: file.workflow,
                source: file.source,
                state: file.state,
                created_at: file.created_at,
                finished_at: file.finished_at,
                tasks: file.tasks.len(),
                succeeded: file
                    .tasks
                    .iter()
                    .filter(|t| t.state.satisfies_dependents())
                    .count(),
            });
        }
        runs.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(runs)
    }

    fn get_task(&self, key: &TaskKey) -> BackendResult<TaskRecord> {
        Ok(self
            .sidecar
            .read_run(&key.run)?
            .task(&key.task)?
            .record(&key.run))
    }

    fn list_tasks(&self, run: &str) -> BackendResult<Vec<TaskRecord>> {
        let file = self.sidecar.read_run(run)?;
        if file.creating {
            return Err(file.half_created());
        }
        Ok(file.tasks.iter().map(|t| t.record(run)).collect())
    }

    fn find_ready_tasks(
        &self,
        run: Option<&str>,
        now: Millis,
        limit: usize,
    ) -> BackendResult<Vec<TaskKey>> {
        let files = match run {
            Some(id) => {
                let file = self.sidecar.read_run(id)?;
                if file.creating {
                    return Err(file.half_created());
                }
                vec![file]
            }
            None => self.sidecar.read_runs()?,
        };
        // (priority, run created, position, run, task, issue): the order SQLite uses.
        type Candidate = (u8, Millis, usize, String, String, String);
        let mut fresh: Vec<Candidate> = Vec::new();
        let mut expired: Vec<Candidate> = Vec::new();
        for file in files
            .iter()
            .filter(|f| f.state == RunState::Running && !f.creating)
        {
            let candidate = |t: &TaskEntry| {
                (
                    t.priority,
                    file.created_at,
                    t.position,
                    file.id.clone(),
                    t.id.clone(),
                    t.issue.clone(),
                )
            };
            fresh.extend(file.pending_and_unblocked().into_iter().map(candidate));
            expired.extend(
                file.tasks
                    .iter()
                    .filter(|t| lifecycle::lease_expired(&t.record(&file.id), now))
                    .map(candidate),
            );
        }
        // Beads has the last word on what is ready (a person may have added a blocker or
        // claimed an issue), but it is asked only when the sidecar expects something: an idle
        // engine polling a run that waits for a gate costs no process.
        if !fresh.is_empty() {
            let label = run.map_or_else(|| WFC_LABEL.to_string(), run_label);
            let ready = self.beads_ready(&label)?;
            fresh.retain(|c| ready.contains(&c.5));
        }
        fresh.extend(expired);
        fresh.sort();
        Ok(fresh
            .into_iter()
            .take(limit)
            .map(|(_, _, _, run, task, _)| TaskKey::new(run, task))
            .collect())
    }

    fn update_task(
        &self,
        key: &TaskKey,
        _doing: &str,
        events: &[NewEvent],
        change: &mut TaskChange<'_>,
    ) -> BackendResult<()> {
        let changed = self.transition(key, |task, facts, _| {
            let changed = change(task, facts)?;
            Ok((changed, changed))
        })?;
        if changed && !events.is_empty() {
            self.sidecar.append_events(&key.run, events)?;
        }
        Ok(())
    }

    fn claim_task(
        &self,
        key: &TaskKey,
        worker: &str,
        now: Millis,
        lease: Millis,
    ) -> BackendResult<Option<Claim>> {
        // The sidecar first, under the lock: from here on the task is this worker's, and a
        // crash leaves a lease that runs out. The lock is not held during the beads call, so
        // engines claim and close different tasks at the same time.
        let step = self.transition(key, |task, facts, issue| {
            let before = task.last_error.clone();
            let claim = lifecycle::claim(task, facts, worker, now, lease);
            Ok((
                claim.is_some(),
                claim.map(|claim| (issue.to_string(), claim, before)),
            ))
        })?;
        let Some((issue, claim, before)) = step else {
            return Ok(None);
        };
        // Gives the task back, if this claim still holds it, and sets how it ends: the
        // claim is undone in storage, since beads refused or had already settled it.
        let undo = |finish: &dyn Fn(&mut TaskEntry)| {
            self.change(&key.run, |file| {
                let task = file.task_mut(&key.task)?;
                if lifecycle::holds(&task.record(&key.run), worker)
                    && task.attempts == claim.attempt
                {
                    task.attempts -= 1;
                    task.last_error = before.clone();
                    task.worker = None;
                    task.lease_until = None;
                    finish(task);
                }
                Ok(())
            })
        };
        if claim.taken_over {
            // The holder may have closed the issue and stopped before it wrote the sidecar:
            // then the task succeeded, and its result is in the close reason.
            let shown = self.show(&issue)?;
            let result = shown
                .close_reason
                .as_deref()
                .filter(|_| shown.status == "closed")
                .and_then(|reason| reason.strip_prefix(SUCCEEDED))
                .map(|rest| rest.split_once('\n').map_or("", |(_, r)| r).to_string());
            if let Some(result) = result {
                undo(&|task| {
                    task.state = TaskState::Succeeded;
                    task.result = Some(result.clone());
                    task.finished_at = Some(now);
                })?;
                return Ok(None);
            }
            self.cli.call(
                &commands::take_over(self.cli.dialect(), &issue, worker),
                None,
            )?;
            return Ok(Some(claim));
        }
        let args = commands::claim(&issue, worker);
        match self.cli.run(&args, None) {
            Ok(_) => Ok(Some(claim)),
            Err(Failure::Exit(output)) => {
                if json::claim_refused(self.cli.dialect(), &output).is_none() {
                    return Err(self.cli.error(&args, Failure::Exit(output)));
                }
                // Someone outside this run holds the issue, or beads sees it blocked: give it
                // back. It stays out of `ready` until beads lets it go.
                undo(&|task| task.state = TaskState::Pending)?;
                Ok(None)
            }
            // The claim may or may not have happened: the lease stays, runs out, and the task
            // is taken over then.
            Err(failure) => Err(self.cli.error(&args, failure)),
        }
    }

    // A claim and a success each tell beads (`claim_task`, `finish_task` below): they are
    // never joined in one step of the sidecar.
    fn joins_transitions(&self) -> bool {
        false
    }

    fn finish_task(
        &self,
        key: &TaskKey,
        worker: &str,
        result: &str,
        done: lifecycle::Completion<'_>,
        now: Millis,
    ) -> BackendResult<()> {
        let task = self.holding(key, worker)?;
        // Beads first, with the result in the close reason: if wfc stops before the sidecar
        // is written, the next claimer reads the result back from beads.
        let reason = issue::arg_safe(&format!(
            "{SUCCEEDED} in attempt {}\n{result}",
            task.attempts
        ));
        self.close(std::slice::from_ref(&task.issue), &reason, worker)?;
        self.transition(key, |task, _, _| {
            lifecycle::complete(task, worker, result, done, now).map(|()| (true, ()))
        })
    }

    fn skip_task(&self, key: &TaskKey, worker: &str, why: &str, now: Millis) -> BackendResult<()> {
        let task = self.holding(key, worker)?;
        // Beads first: a skipped task is closed there, so the issues after it are unblocked
        // for beads as they are for wfc.
        let reason = issue::arg_safe(&format!("{SKIPPED}\n{why}"));
        self.close(std::slice::from_ref(&task.issue), &reason, worker)?;
        self.transition(key, |task, _, _| {
            lifecycle::skip(task, worker, why, now).map(|()| (true, ()))
        })
    }

    fn fail_task(
        &self,
        key: &TaskKey,
        worker: &str,
        error: &str,
        retry: bool,
        now: Millis,
    ) -> BackendResult<()> {
        let task = self.holding(key, worker)?;
        // The rule decides on a copy first, so beads hears the outcome before the sidecar
        // records it.
        let again = lifecycle::fail(&mut task.record(&key.run), worker, error, retry, now)?;
        let (status, note) = if again {
            (
                "open",
                format!("wfc: attempt {} failed: {error}", task.attempts),
            )
        } else {
            (
                "blocked",
                format!(
                    "wfc: attempt {} failed, no attempts left: {error}",
                    task.attempts
                ),
            )
        };
        self.cli.call(
            &commands::set_status(&task.issue, status, &issue::arg_safe(&note), worker),
            None,
        )?;
        self.transition(key, |task, _, _| {
            lifecycle::fail(task, worker, error, retry, now).map(|_| (true, ()))
        })
    }

    fn release_task(
        &self,
        key: &TaskKey,
        worker: &str,
        reason: &str,
        _now: Millis,
    ) -> BackendResult<()> {
        let task = self.holding(key, worker)?;
        let note = format!("wfc: attempt {} was interrupted: {reason}", task.attempts);
        self.cli.call(
            &commands::set_status(&task.issue, "open", &issue::arg_safe(&note), worker),
            None,
        )?;
        self.transition(key, |task, _, _| {
            lifecycle::release(task, worker, reason).map(|()| (true, ()))
        })
    }

    fn unclaim_task(&self, key: &TaskKey, worker: &str, _now: Millis) -> BackendResult<()> {
        let task = self.holding(key, worker)?;
        let note = "wfc: the claim was given back before its attempt started";
        self.cli.call(
            &commands::set_status(&task.issue, "open", &issue::arg_safe(note), worker),
            None,
        )?;
        self.transition(key, |task, _, _| {
            lifecycle::unclaim(task, worker).map(|()| (true, ()))
        })
    }

    fn mark_done(
        &self,
        key: &TaskKey,
        result: &str,
        typed_output: Option<&str>,
        now: Millis,
    ) -> BackendResult<()> {
        let entry = self.sidecar.read_run(&key.run)?.task(&key.task)?.clone();
        lifecycle::may_mark_done(&entry.record(&key.run))?;
        let reason = issue::arg_safe(&format!("{SUCCEEDED} by hand\n{result}"));
        self.close(std::slice::from_ref(&entry.issue), &reason, WFC_ACTOR)?;
        self.transition(key, |task, _, _| {
            lifecycle::mark_done(task, result, typed_output, now).map(|()| (true, ()))
        })
    }

    fn end_run_if_over(&self, run: &str, now: Millis) -> BackendResult<RunSettled> {
        self.change(run, |file| {
            if file.state != RunState::Running || file.creating {
                return Ok(RunSettled::as_it_was(file.state));
            }
            let ready: std::collections::HashSet<&str> = file
                .pending_and_unblocked()
                .into_iter()
                .map(|t| t.id.as_str())
                .collect();
            let progress = lifecycle::progress_of(
                file.tasks
                    .iter()
                    .map(|t| (t.state, ready.contains(t.id.as_str()))),
            );
            let Some(state) = lifecycle::settled_state(progress) else {
                return Ok(RunSettled::as_it_was(RunState::Running));
            };
            file.state = state;
            file.finished_at = Some(now);
            Ok(RunSettled::ended(state))
        })
    }

    fn wait_gate(
        &self,
        key: &TaskKey,
        worker: &str,
        now: Millis,
        events: &[NewEvent],
    ) -> BackendResult<()> {
        // The events follow the state into the sidecar: beads and the sidecar are two writes,
        // and the log never tells of a wait that did not happen.
        self.transition(key, |task, facts, issue| {
            lifecycle::wait_gate(task, facts, worker, now)?;
            let note = format!(
                "wfc: waiting for a person: `wfc approve {run} {task}` or `wfc reject {run} {task} --reason …`",
                run = key.run,
                task = issue::shell_word(&key.task)
            );
            self.cli.call(
                &commands::unassign(issue, &issue::arg_safe(&note), worker),
                None,
            )?;
            Ok((true, ()))
        })?;
        if events.is_empty() {
            return Ok(());
        }
        self.append_events(&key.run, events)
    }

    fn answer_gate(
        &self,
        key: &TaskKey,
        approve: bool,
        reason: &str,
        now: Millis,
    ) -> BackendResult<()> {
        self.transition(key, |task, facts, issue| {
            lifecycle::answer_gate(task, facts, approve, reason, now)?;
            if task.state == TaskState::Pending {
                // A task that waited for a conflict's resolution is open again, to run.
                let note = issue::arg_safe("wfc: a person resolved the conflict; it runs again");
                self.cli
                    .call(&commands::set_status(issue, "open", &note, WFC_ACTOR), None)?;
            } else if approve {
                let why = issue::arg_safe(&format!("wfc: approved\n{reason}"));
                self.close(&[issue.to_string()], &why, WFC_ACTOR)?;
            } else {
                let note = issue::arg_safe(&format!("wfc: rejected: {reason}"));
                self.cli.call(
                    &commands::set_status(issue, "blocked", &note, WFC_ACTOR),
                    None,
                )?;
            }
            Ok((true, ()))
        })
    }

    fn reset_tasks(
        &self,
        run: &str,
        resets: &[lifecycle::TaskReset],
        _now: Millis,
    ) -> BackendResult<()> {
        self.change(run, |file| {
            let mut issues = Vec::with_capacity(resets.len());
            for reset in resets {
                issues.push(file.task(&reset.id)?.issue.clone());
            }
            if !issues.is_empty() {
                self.cli.call(&commands::reopen(&issues, WFC_ACTOR), None)?;
            }
            for reset in resets {
                let task = file.task_mut(&reset.id)?;
                let mut record = task.record(run);
                lifecycle::reset(&mut record, reset);
                task.set_record(record);
            }
            file.state = RunState::Running;
            file.finished_at = None;
            Ok(())
        })
    }

    fn replan_run(
        &self,
        run: &str,
        plan: &Plan,
        decide: &mut ReplanDecision<'_>,
    ) -> BackendResult<()> {
        let _lock = self.sidecar.lock(run)?;
        let mut file = self.sidecar.read_run(run)?;
        if file.creating {
            return Err(file.half_created());
        }
        let old_plan = self.sidecar.read_plan(run, file.plan_generation)?;
        let record = RunRecord {
            id: file.id.clone(),
            state: file.state,
            created_at: file.created_at,
            finished_at: file.finished_at,
            plan: old_plan.clone(),
            place: file.place.clone(),
            plan_generation: file.plan_generation,
        };
        let old_records: Vec<TaskRecord> = file.tasks.iter().map(|t| t.record(run)).collect();
        let records = decide(&record, &old_records)?;
        lifecycle::records_fit(plan, &records)?;
        // A task keeps its beads issue when its spec, and so its edges, are unchanged and
        // every task it waits for keeps its issue too; the others get fresh issues with the
        // new plan's edges, and their old issues are closed. Beads then holds exactly the
        // new plan's graph.
        let old_entries: HashMap<&str, &TaskEntry> =
            file.tasks.iter().map(|t| (t.id.as_str(), t)).collect();
        let mut kept_issue: HashMap<&str, String> = HashMap::new();
        for spec in &plan.tasks {
            let same = old_plan.task(&spec.id) == Some(spec)
                && spec
                    .deps
                    .iter()
                    .all(|dep| kept_issue.contains_key(dep.as_str()));
            if let (true, Some(entry)) = (same, old_entries.get(spec.id.as_str())) {
                kept_issue.insert(spec.id.as_str(), entry.issue.clone());
            }
        }
        let fresh: Vec<&crate::plan::TaskSpec> = plan
            .tasks
            .iter()
            .filter(|spec| !kept_issue.contains_key(spec.id.as_str()))
            .collect();
        let scratch = self.sidecar.run_dir(run);
        let issues: Vec<NewIssue> = fresh
            .iter()
            .map(|spec| NewIssue::for_task(run, spec))
            .collect();
        let mut issue_of: HashMap<&str, String> = kept_issue.clone();
        for (spec, id) in fresh.iter().zip(self.create_issues(&issues, &scratch)?) {
            issue_of.insert(spec.id.as_str(), id);
        }
        let mut edges = Vec::new();
        for spec in &fresh {
            for dep in &spec.deps {
                if let (Some(child), Some(parent)) =
                    (issue_of.get(spec.id.as_str()), issue_of.get(dep.as_str()))
                {
                    edges.push((child.clone(), parent.clone()));
                }
            }
        }
        self.add_edges(&edges, &scratch)?;
        // A kept issue of a task that runs again (it had failed) is open in beads again.
        let reopen: Vec<String> = plan
            .tasks
            .iter()
            .zip(&records)
            .filter_map(|(spec, record)| {
                let issue = kept_issue.get(spec.id.as_str())?;
                let before = old_entries.get(spec.id.as_str())?;
                (record.state == TaskState::Pending && before.state != TaskState::Pending)
                    .then(|| issue.clone())
            })
            .collect();
        if !reopen.is_empty() {
            self.cli.call(&commands::reopen(&reopen, WFC_ACTOR), None)?;
        }
        let retired: Vec<String> = file
            .tasks
            .iter()
            .filter(|t| !kept_issue.contains_key(t.id.as_str()))
            .map(|t| t.issue.clone())
            .collect();
        // A kept issue of a task the decision ended (the template of a run-time fan-out,
        // which succeeds as it expands) is closed as `complete_task` closes one, so beads does
        // not hold the tasks after it back.
        let ended: Vec<(String, String)> =
            plan.tasks
                .iter()
                .zip(&records)
                .filter_map(|(spec, record)| {
                    let issue = kept_issue.get(spec.id.as_str())?;
                    let before = old_entries.get(spec.id.as_str())?;
                    let result = record.result.as_deref().unwrap_or("");
                    (record.state == TaskState::Succeeded && before.state != TaskState::Succeeded)
                        .then(|| {
                            let reason =
                                format!("{SUCCEEDED} in attempt {}\n{result}", record.attempts);
                            (issue.clone(), issue::arg_safe(&reason))
                        })
                })
                .collect();
        // The new plan is written first and takes effect with `run.json`, which names its
        // generation: a crash before that leaves the old plan and tasks in force.
        let generation = file.plan_generation.saturating_add(1);
        self.sidecar.write_plan(run, generation, plan)?;
        file.tasks = plan
            .tasks
            .iter()
            .zip(records)
            .enumerate()
            .map(|(position, (spec, record))| {
                let mut task = entry(spec, issue_of[spec.id.as_str()].clone(), position);
                task.deps = spec.deps.clone();
                task.set_record(record);
                task
            })
            .collect();
        file.workflow = plan.workflow.clone();
        file.source = plan.source.clone();
        file.state = RunState::Running;
        file.finished_at = None;
        file.plan_generation = generation;
        self.sidecar.write_run(&file)?;
        for (issue, reason) in &ended {
            self.close(std::slice::from_ref(issue), reason, WFC_ACTOR)?;
        }
        // Last, and only to tidy beads: the retired issues are no task's any more.
        self.close(
            &retired,
            "wfc: replaced when the run was planned again",
            WFC_ACTOR,
        )
    }

    fn finish_run(&self, run: &str, state: RunState, now: Millis) -> BackendResult<()> {
        self.change(run, |file| {
            file.state = state;
            file.finished_at = (state != RunState::Running).then_some(now);
            if state == RunState::Cancelled {
                let open: Vec<String> = file
                    .tasks
                    .iter()
                    .filter(|t| !t.state.is_final())
                    .map(|t| t.issue.clone())
                    .collect();
                self.close(&open, "wfc: cancelled: the run was cancelled", WFC_ACTOR)?;
                for task in file.tasks.iter_mut() {
                    let mut record = task.record(run);
                    if lifecycle::cancel(&mut record, now) {
                        task.set_record(record);
                    }
                }
            }
            Ok(())
        })
    }

    fn delete_run(&self, run: &str) -> BackendResult<()> {
        // A run's tasks are issues in the people's tracker, which wfc does not delete for
        // them; deleting only wfc's side would leave issues that name a run no one knows.
        self.sidecar.read_run(run)?;
        Err(BackendError {
            hint: Some(format!(
                "runs of a beads store are kept; the beads CLI can close or delete the run's \
                 issues (label `{}`)",
                run_label(run)
            )),
            ..BackendError::conflict(format!(
                "a beads store cannot delete run `{run}`: its tasks are beads issues"
            ))
        })
    }

    fn append_event(&self, run: &str, event: &NewEvent) -> BackendResult<i64> {
        self.sidecar.append_events(run, std::slice::from_ref(event))
    }

    fn append_events(&self, run: &str, events: &[NewEvent]) -> BackendResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        self.sidecar.append_events(run, events).map(|_| ())
    }

    fn read_events(&self, run: &str, after: i64, limit: usize) -> BackendResult<Vec<EventRecord>> {
        self.sidecar.read_events(run, after, limit)
    }
}
