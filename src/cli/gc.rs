//! `wfc gc [--refs]`: removes what isolated runs leave in their repositories once nothing
//! needs it: every worktree of wfc's but the pool slots attempts work in now (their locks
//! are held by live engines) — the pools runs that ended or crashed left, and the worktrees
//! kept of tasks that failed for good — and, with `--refs`, the refs of ended runs
//! (`refs/wfc/RUN/…`; the result branch stays). It reads the store and changes only git, after
//! stopping, on this machine, what attempts of killed engines left running there. Run in a
//! clone of a run shared through a remote (a worker's `--workspace`, or one `wfc diff` fetched
//! into), it cleans that clone too.

use super::output::Output;
use super::store::{self, BackendArgs, Store};
use crate::backends::Access;
use crate::isolation::{Expect, Git, RefName};
use crate::plan::Isolation;
use crate::runtime::attempt_process::AttemptProcess;
use crate::runtime::{now_millis, RunRecord, RunState, TaskBackend, TaskState};
use crate::workspaces::git::{slot_is_free, worktrees_folder};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What `wfc gc` (or `wfc runs --prune`) removed.
#[derive(Default)]
pub(super) struct Collected {
    pub(super) worktrees: usize,
    pub(super) refs: usize,
    /// Process groups of attempts whose engines are gone, stopped before their worktrees go.
    groups: usize,
}

/// Removes everything run `record`, which ended, left in its repository, as `wfc gc --refs`
/// does for it: stops what its attempts left running here, then removes its worktrees and
/// its `refs/wfc/RUN/…` (its result branch stays). For `wfc runs --prune`, before the run
/// itself is deleted.
pub(super) fn remove_run_work(
    backend: &dyn TaskBackend,
    record: &RunRecord,
) -> Result<Collected, String> {
    let mut collected = Collected::default();
    let Some(workspace) = reachable(record) else {
        return Ok(collected);
    };
    collected.groups = stop_orphans(backend, record)?;
    collect_run(record, &workspace, true, &mut collected)?;
    Ok(collected)
}

/// Runs `wfc gc`.
pub fn run(args: &BackendArgs, refs: bool, output: &Output) -> ExitCode {
    let store = match Store::open(args, Access::Read, output) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let runs = match store.backend.list_runs() {
        Ok(runs) => runs,
        Err(error) => return store::report(&error, output),
    };
    let mut collected = Collected::default();
    let mut repositories: Vec<PathBuf> = Vec::new();
    let mut known: HashSet<PathBuf> = HashSet::new();
    let here = this_clone();
    for summary in runs {
        let record = match store.backend.get_run(&summary.id) {
            Ok(record) => record,
            Err(error) => return store::report(&error, output),
        };
        if record.plan.isolation == Isolation::None {
            continue;
        }
        let folders = folders_of(&record, here.as_deref());
        if folders.is_empty() {
            continue;
        }
        // What a killed engine's attempt left running would go on writing into a worktree
        // about to be removed: it is stopped first.
        match stop_orphans(&*store.backend, &record) {
            Ok(stopped) => collected.groups += stopped,
            Err(why) => output.error(&format!("warning: run {}: {why}", record.id)),
        }
        for workspace in folders {
            match collect_run(&record, &workspace, refs, &mut collected) {
                Ok(folder) => {
                    known.insert(folder);
                }
                Err(why) => output.error(&format!("warning: run {}: {why}", record.id)),
            }
            if !repositories.contains(&workspace) {
                repositories.push(workspace);
            }
        }
    }
    // Folders of runs the store no longer has are left over from them.
    for workspace in &repositories {
        if let Err(why) = collect_strays(workspace, &known, &mut collected) {
            output.error(&format!("warning: {}: {why}", workspace.display()));
        }
    }
    if collected.groups > 0 {
        output.stdout_line(&format!(
            "stopped {} process group(s) left running by engines that are gone",
            collected.groups
        ));
    }
    output.stdout_line(&format!(
        "removed {} worktree(s){}",
        collected.worktrees,
        if refs {
            format!(" and {} ref(s)", collected.refs)
        } else {
            String::new()
        }
    ));
    ExitCode::SUCCESS
}

/// Stops, on this machine, the process groups recorded for the attempts of `record`'s tasks
/// (or found by their variables, see `AttemptProcess::found_here`) that no engine holds
/// under a live lease (their engine was killed); returns how many were still there. A task
/// held under a live lease is its engine's, and left alone.
fn stop_orphans(backend: &dyn TaskBackend, record: &RunRecord) -> Result<usize, String> {
    let now = now_millis();
    let live: HashSet<String> = backend
        .list_tasks(&record.id)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|task| {
            matches!(task.state, TaskState::Claimed | TaskState::Running)
                && task.lease_until.is_some_and(|until| until >= now)
        })
        .map(|task| task.key.task)
        .collect();
    let mut orphans = Vec::new();
    let mut after = 0;
    loop {
        let page = backend
            .read_events(&record.id, after, 1000)
            .map_err(|e| e.to_string())?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        orphans.extend(
            page.iter()
                .filter(|event| event.task.as_ref().is_some_and(|task| !live.contains(task)))
                .filter_map(AttemptProcess::from_event)
                .filter(AttemptProcess::may_be_alive_here),
        );
    }
    // Groups started a moment before their engine was killed have no record yet.
    let orphans =
        AttemptProcess::and_found_here(orphans, &record.id, |task, _| !live.contains(task));
    if orphans.is_empty() {
        return Ok(0);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| e.to_string())?;
    Ok(runtime.block_on(async {
        let mut stopped = 0;
        for process in &orphans {
            if process.stop().await {
                stopped += 1;
            }
        }
        stopped
    }))
}

/// The repositories run `record` left work in that `wfc gc` cleans here: its workspace, if
/// this machine can reach it, and, for a run shared through a remote, the clone `here` that
/// `wfc gc` runs in (a worker's, which its pools and the refs it fetched are in).
fn folders_of(record: &RunRecord, here: Option<&Path>) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = reachable(record).into_iter().collect();
    let shared = record
        .place
        .as_ref()
        .is_some_and(|place| place.repository.is_some());
    if let (true, Some(here)) = (shared, here) {
        if !folders.iter().any(|folder| same_folder(folder, here)) {
            folders.push(here.to_path_buf());
        }
    }
    folders
}

/// The top folder of the clone the current folder is in, if it is in one.
fn this_clone() -> Option<PathBuf> {
    let current = std::env::current_dir().ok()?;
    let git = Git::open(&current).ok()?;
    git.work_tree().map(Path::to_path_buf)
}

/// The run's workspace, if this machine can reach it.
fn reachable(record: &RunRecord) -> Option<PathBuf> {
    let place = record.place.as_ref()?;
    place
        .unreachable()
        .is_none()
        .then(|| PathBuf::from(&place.workspace))
}

/// Removes what run `record` no longer needs; returns its worktrees folder.
fn collect_run(
    record: &RunRecord,
    workspace: &Path,
    refs: bool,
    collected: &mut Collected,
) -> Result<PathBuf, String> {
    let git = Git::open(workspace).map_err(|e| e.to_string())?;
    let folder = worktrees_folder(workspace, &record.id)?;
    // A running run's conflicts wait for a person, who may be resolving them right now.
    let waiting = (record.state == RunState::Running).then(|| folder.join("conflicts"));
    remove_worktrees(&git, &folder, waiting.as_deref(), collected)?;
    if record.state != RunState::Running {
        let _ = std::fs::remove_dir(&folder);
        if refs {
            let prefix = RefName::run_prefix(&record.id).map_err(|e| e.to_string())?;
            for (name, _) in git.list_refs(&prefix).map_err(|e| e.to_string())? {
                git.delete_ref(&name, &Expect::Anything)
                    .map_err(|e| e.to_string())?;
                collected.refs += 1;
            }
        }
    }
    Ok(folder)
}

/// Whether `path`, in a run's worktrees folder, is a pool slot an attempt works in now: its
/// lock is held (by a live engine; a killed one's lock is gone with it).
fn in_use(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let Some(folder) = path.parent() else {
        return false;
    };
    name.starts_with("slot-")
        && !name.contains('.')
        && !slot_is_free(&folder.join(format!("{name}.lock")))
}

/// Removes every worktree in `folder` (and in its `failed/` and `conflicts/`) but the slots
/// attempts work in and what is under `keep`, with what goes with them, and whatever git does
/// not know of (a crash between making a folder and registering it).
fn remove_worktrees(
    git: &Git,
    folder: &Path,
    keep: Option<&Path>,
    collected: &mut Collected,
) -> Result<(), String> {
    if !folder.exists() {
        return Ok(());
    }
    let kept = |path: &Path| keep.is_some_and(|keep| path.starts_with(keep));
    for worktree in git.worktrees_under(folder).map_err(|e| e.to_string())? {
        if in_use(&worktree.path) || kept(&worktree.path) {
            continue;
        }
        git.remove_worktree(&worktree.path)
            .map_err(|e| e.to_string())?;
        collected.worktrees += 1;
    }
    for entry in std::fs::read_dir(folder).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let slot_file = [".lock", ".gitdir", ".index"]
            .iter()
            .find_map(|suffix| name.strip_prefix("slot-").and(name.strip_suffix(suffix)));
        let of_slot_in_use = slot_file.is_some_and(|slot| in_use(&folder.join(slot)));
        if in_use(&path) || of_slot_in_use || kept(&path) {
            continue;
        }
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|e| format!("{}: {e}", path.display()))?;
    }
    git.prune_worktrees().map_err(|e| e.to_string())
}

/// Removes the worktrees folders of runs the store does not know in `workspace`.
fn collect_strays(
    workspace: &Path,
    known: &HashSet<PathBuf>,
    collected: &mut Collected,
) -> Result<(), String> {
    let root = workspace.join(".wfc").join("worktrees");
    let Ok(entries) = std::fs::read_dir(&root) else {
        return Ok(());
    };
    let git = Git::open(workspace).map_err(|e| e.to_string())?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() && !known.iter().any(|folder| same_folder(folder, &path)) {
            remove_worktrees(&git, &path, None, collected)?;
            let _ = std::fs::remove_dir(&path);
        }
    }
    Ok(())
}

/// Whether two paths name one folder (one may be canonical, the other not).
fn same_folder(a: &Path, b: &Path) -> bool {
    a == b
        || matches!(
            (a.canonicalize(), b.canonicalize()),
            (Ok(a), Ok(b)) if a == b
        )
}
