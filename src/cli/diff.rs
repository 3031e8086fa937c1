//! `wfc diff RUN TASK [--stat]`: what a task of a run isolated in git changed, from its start
//! commit to its output commit, as a patch (or a diffstat).

use super::output::Output;
use super::store::{self, BackendArgs, Store};
use crate::backends::Access;
use crate::isolation::{Git, Oid};
use crate::plan::Isolation;
use crate::runtime::{RunRecord, TaskKey};
use crate::workspaces::remote::SharedRemote;
use std::process::ExitCode;

/// Runs `wfc diff`.
pub fn run(args: &BackendArgs, run: &str, task: &str, stat: bool, output: &Output) -> ExitCode {
    let (store, record) = match Store::open_run(args, run, Access::Read, output) {
        Ok(found) => found,
        Err(code) => return code,
    };
    if let Err(code) = store::task(&record, task, output) {
        return code;
    }
    // The run as found (`latest`, a prefix), by its whole id in what is said of it.
    let run = record.id.as_str();
    if record.plan.isolation == Isolation::None {
        return output.fail(&format!(
            "run {run} was not isolated in git (its tasks worked in its folder): `git diff` \
             there shows what changed"
        ));
    }
    let key = TaskKey::new(record.id.clone(), task);
    let task_record = match store.backend.get_task(&key) {
        Ok(task) => task,
        Err(error) => return store::report(&error, output),
    };
    let Some(commit) = task_record.output else {
        return output.fail(&format!(
            "task `{task}` of run {run} has no output commit: it is {}",
            task_record.state
        ));
    };
    let here = || std::env::current_dir().unwrap_or_else(|_| ".".into());
    let workspace = match &record.place {
        Some(place) => match place.unreachable() {
            None => std::path::PathBuf::from(&place.workspace),
            // A run shared through a remote is read in the clone here, which fetches what
            // it lacks.
            Some(_) if place.repository.is_some() => here(),
            Some(why) => return output.fail(&format!("run {run}'s repository: {why}")),
        },
        None => here(),
    };
    let shown = task_patch(&workspace, &record, task, &commit, stat);
    match shown {
        Ok(Some(text)) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Ok(None) => {
            output.stdout_line(&format!(
                "task `{task}` changed nothing: its output is its start commit {}",
                &commit[..commit.len().min(12)]
            ));
            ExitCode::SUCCESS
        }
        Err(why) => output.fail(&format!("cannot show what task `{task}` changed: {why}")),
    }
}

/// What task `task` of run `run` changed, from its start commit to its output `commit`, as a
/// patch (or a diffstat); `None` when it changed nothing (its output is its start commit).
/// A commit made on another machine is fetched first from the run's remote, if it has one.
pub(super) fn task_patch(
    workspace: &std::path::Path,
    run: &RunRecord,
    task: &str,
    commit: &str,
    stat: bool,
) -> Result<Option<String>, String> {
    let git = Git::open(workspace).map_err(|e| e.to_string())?;
    let output_commit = Oid::parse(commit).map_err(|e| e.to_string())?;
    let remote = run.place.as_ref().and_then(|p| p.repository.as_ref());
    if let Some(repository) = remote {
        let top = git.work_tree().unwrap_or(workspace);
        SharedRemote::new(&repository.remote, &run.id, top)?.fetch_output(
            &git,
            task,
            &output_commit,
        )?;
    }
    let run = run.id.as_str();
    let info = git.commit_info(&output_commit).map_err(|e| e.to_string())?;
    // A task that changed nothing has its start commit as its output.
    if !info.is_work_of(run, task) {
        return Ok(None);
    }
    let start = &info.parents[0];
    let text = if stat {
        git.diffstat(start, &output_commit).map(|d| d.text)
    } else {
        git.patch(start, &output_commit)
    };
    text.map(Some).map_err(|e| e.to_string())
}
