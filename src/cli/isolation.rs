//! `wfc run --isolation auto|git|none`: how a new run keeps its tasks' work apart, decided
//! before anything is stored. In git, the run starts from the workspace's `HEAD` (its base) and
//! never touches the checkout; a checkout that cannot give a base is refused with why.
//!
//! The default, `auto`, isolates a run that has an agent task in a git repository: agents
//! working side by side must not share a tree. A run of command tasks only works in the
//! folder, as `make` would, so what it makes is where the user looks; asked for (on the
//! command line, or by a task's `isolation = "git"`), it is isolated too. In an isolated run,
//! a task that says `isolation = "none"` still works in the folder.

use crate::isolation::{Git, GitError, Head};
use crate::plan::Isolation;
use std::path::Path;

/// What `--isolation` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum IsolationChoice {
    /// `git` for a run with an agent task in a git repository (with a commit, and no rebase
    /// or merge in progress), else `none`.
    Auto,
    /// Every task attempt in a git worktree of its own; the result on a branch.
    Git,
    /// Every task in the run's folder.
    None,
}

/// What the tasks of a plan ask of the run's isolation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TasksAsk {
    /// Whether a task would work in a worktree of its own under `auto`: an agent task that
    /// does not say `isolation = "none"`.
    pub agents: bool,
    /// The tasks that say `isolation = "git"`: the run must be isolated in git.
    pub git: Vec<String>,
}

impl TasksAsk {
    /// What the tasks of `plan` ask.
    pub fn of(plan: &crate::plan::Plan) -> TasksAsk {
        let mut ask = TasksAsk::default();
        for task in &plan.tasks {
            match task.work.isolation {
                Some(crate::ir::TaskIsolation::Git) => ask.git.push(task.id.clone()),
                Some(crate::ir::TaskIsolation::None) => {}
                None => {
                    ask.agents |= matches!(task.action, crate::plan::Action::Agent { .. })
                        && !task.action.waits_for_person();
                }
            }
        }
        ask
    }
}

/// The isolation of new run `run_id` in `workspace`, whose tasks ask `tasks`, and a note to
/// show (uncommitted changes are not part of the run's base), or why the run cannot start.
pub fn decide(
    choice: IsolationChoice,
    into: Option<&str>,
    tasks: &TasksAsk,
    workspace: &Path,
    run_id: &str,
) -> Result<(Isolation, Option<String>), String> {
    if choice == IsolationChoice::Auto {
        if let Some(task) = tasks.git.first() {
            return decide(IsolationChoice::Git, into, tasks, workspace, run_id)
                .map_err(|why| format!("task `{task}` says `isolation = \"git\"`: {why}"));
        }
        if !tasks.agents || into.is_some() {
            let choice = if into.is_some() {
                IsolationChoice::Git
            } else {
                IsolationChoice::None
            };
            return decide(choice, into, tasks, workspace, run_id);
        }
        // Outside a repository the agents work in the folder, as they always did; a
        // repository wfc cannot use (no git on the PATH, one too old) is said why, below.
        if let Err(GitError::NotARepository { .. }) = Git::open(workspace) {
            return Ok((Isolation::None, None));
        }
        return match decide(IsolationChoice::Git, None, tasks, workspace, run_id) {
            Ok(isolated) => Ok(isolated),
            // A repository that cannot give a base: the run works in the folder, and says so.
            Err(why) => Ok((
                Isolation::None,
                Some(format!(
                    "note: the run's agents work in the folder, not in worktrees of their own: {why}"
                )),
            )),
        };
    }
    if choice == IsolationChoice::None {
        if into.is_some() {
            return Err(
                "--into hands the result of a run isolated in git to a branch: it needs --isolation git"
                    .to_string(),
            );
        }
        return Ok((Isolation::None, None));
    }
    if let Some(branch) = into {
        crate::isolation::RefName::branch(branch)
            .map_err(|_| format!("--into `{branch}`: git does not accept that as a branch name"))?;
    }
    let git = Git::open(workspace).map_err(|error| match error {
        GitError::NotARepository { .. } => format!(
            "isolation in git needs a git repository, and {} is not in one (`git init` makes \
             one; `--isolation none` runs every task in the folder)",
            workspace.display()
        ),
        other => format!("isolation in git: {other}"),
    })?;
    let state = git
        .repo_state()
        .map_err(|error| format!("isolation in git: {error}"))?;
    if let Some(operation) = state.operations.first() {
        return Err(format!(
            "the repository at {} is in the middle of `{}`: finish or abort it before a run \
             starts from it",
            workspace.display(),
            operation.command()
        ));
    }
    let base = match &state.head {
        Head::Branch { commit, .. } | Head::Detached { commit } => commit.clone(),
        Head::Unborn { .. } => {
            return Err(format!(
                "the repository at {} has no commit yet: a run starts from a commit (make one \
                 first)",
                workspace.display()
            ))
        }
    };
    let note = (!state.is_clean()).then(|| {
        format!(
            "note: the run starts from commit {} ({}); your uncommitted changes are not part of it",
            base.short(),
            match &state.head {
                Head::Branch { name, .. } => format!("`{name}`"),
                _ => "a detached HEAD".to_string(),
            }
        )
    });
    Ok((
        Isolation::Git {
            base: base.as_str().to_string(),
            branch: format!("wfc/{run_id}"),
            into: into.map(str::to_string),
        },
        note,
    ))
}
