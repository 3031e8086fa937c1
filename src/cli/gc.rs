//! `wfc gc [--refs]`: removes what isolated runs leave in their repositories once nothing
//! needs it: the worktrees of runs that ended (kept so a person could look into a task that
//! failed for good), those a crash left behind in runs that go on (every worktree but the one
//! of an attempt running under a live lease), and, with `--refs`, the refs of ended runs
//! (`refs/wfc/RUN/…`; the result branch stays). It reads the store and changes only git.

use super::output::Output;
use super::store::{self, BackendArgs, Store};
use crate::backends::Access;
use crate::isolation::{Expect, Git, RefName};
use crate::plan::Isolation;
use crate::runtime::{now_millis, RunRecord, RunState, TaskBackend, TaskState};
use crate::workspaces::git::{attempt_folder_name, worktrees_folder};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What `wfc gc` removed.
#[derive(Default)]
struct Collected {
    worktrees: usize,
    refs: usize,
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
    for summary in runs {
        let record = match store.backend.get_run(&summary.id) {
            Ok(record) => record,
            Err(error) => return store::report(&error, output),
        };
        if record.plan.isolation == Isolation::None {
            continue;
        }
        let Some(workspace) = reachable(&record) else {
            continue;
        };
        match collect_run(&*store.backend, &record, &workspace, refs, &mut collected) {
            Ok(folder) => {
                known.insert(folder);
            }
            Err(why) => output.error(&format!("warning: run {}: {why}", record.id)),
        }
        if !repositories.contains(&workspace) {
            repositories.push(workspace);
        }
    }
    // Folders of runs the store no longer has are left over from them.
    for workspace in &repositories {
        if let Err(why) = collect_strays(workspace, &known, &mut collected) {
            output.error(&format!("warning: {}: {why}", workspace.display()));
        }
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
    backend: &dyn TaskBackend,
    record: &RunRecord,
    workspace: &Path,
    refs: bool,
    collected: &mut Collected,
) -> Result<PathBuf, String> {
    let git = Git::open(workspace).map_err(|e| e.to_string())?;
    let folder = worktrees_folder(workspace, &record.id)?;
    // The attempts that run now, under a live lease, keep their worktrees.
    let mut live = HashSet::new();
    if record.state == RunState::Running {
        let now = now_millis();
        for task in backend.list_tasks(&record.id).map_err(|e| e.to_string())? {
            let running = matches!(task.state, TaskState::Claimed | TaskState::Running)
                && task.lease_until.is_some_and(|until| until >= now);
            if running {
                live.insert(folder.join(attempt_folder_name(&task.key.task, task.attempts)?));
            }
        }
    }
    remove_worktrees(&git, &folder, &live, collected)?;
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

/// Removes every worktree (and stray folder) in `folder` but those in `live`.
fn remove_worktrees(
    git: &Git,
    folder: &Path,
    live: &HashSet<PathBuf>,
    collected: &mut Collected,
) -> Result<(), String> {
    if !folder.exists() {
        return Ok(());
    }
    for worktree in git.worktrees_under(folder).map_err(|e| e.to_string())? {
        if live.iter().any(|keep| same_folder(keep, &worktree.path)) {
            continue;
        }
        git.remove_worktree(&worktree.path)
            .map_err(|e| e.to_string())?;
        collected.worktrees += 1;
    }
    // What git does not know of (a crash between making the folder and registering it).
    for entry in std::fs::read_dir(folder).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if !live.iter().any(|keep| same_folder(keep, &path)) {
            std::fs::remove_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        }
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
            remove_worktrees(&git, &path, &HashSet::new(), collected)?;
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
