//! A folder is worked in by one run that is not isolated at a time: two such runs in one
//! folder would interleave their edits (a run isolated in git worktrees touches nothing
//! there, and is never in the way). `wfc run` and `wfc resume` refuse, naming the run that
//! works there, while the check and the new run's creation hold a lock, so two runs started
//! at once cannot both pass.

use crate::plan::{Isolation, Plan};
use crate::runtime::{RunRecord, RunState, TaskBackend};
use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::path::Path;

/// Held while a run is checked and stored; released when dropped.
pub struct FolderLock {
    _lock: Option<Flock<File>>,
}

/// Takes the lock that goes with the SQLite store `store` (`STORE.start-lock` beside it),
/// waiting for another `wfc` that holds it; the check reads that store, so its lock is the one
/// that matters. Another backend, or a folder where the file cannot be made (read-only), is
/// not locked: the check alone still runs.
pub fn lock(store: Option<&Path>) -> FolderLock {
    let file = store.map(|store| {
        let mut name = store.as_os_str().to_os_string();
        name.push(".start-lock");
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(name)
    });
    FolderLock {
        _lock: file
            .and_then(Result::ok)
            .and_then(|file| Flock::lock(file, FlockArg::LockExclusive).ok()),
    }
}

/// Whether a run of `plan` works in its folder, where another run could be in the way: it is
/// not isolated, or one of its tasks says `isolation = "none"`.
pub fn works_in_folder(plan: &Plan) -> bool {
    plan.isolation == Isolation::None || plan.tasks.iter().any(|task| task.work.in_folder())
}

/// The message refusing to start (or go on with) a run in `workspace`, if a run other than
/// `except` is running there without isolation.
pub fn taken_by(
    backend: &dyn TaskBackend,
    workspace: &Path,
    except: Option<&str>,
) -> Result<Option<String>, String> {
    let here = crate::runtime::RunPlace::here(workspace);
    let runs = backend.list_runs().map_err(|error| error.to_string())?;
    for summary in runs
        .iter()
        .filter(|run| run.state == RunState::Running && Some(run.id.as_str()) != except)
    {
        let record: RunRecord = backend
            .get_run(&summary.id)
            .map_err(|error| error.to_string())?;
        let same_place = record.place.as_ref().is_some_and(|place| *place == here);
        if same_place && works_in_folder(&record.plan) {
            return Ok(Some(format!(
                "run {id} works in this folder without isolation and has not ended: two runs \
                 in one folder would mix their edits. Wait for it, go on with it (`wfc resume \
                 {id}`), or stop it (`wfc cancel {id}`); or run this one with `--isolation git`",
                id = record.id
            )));
        }
    }
    Ok(None)
}
