//! The Workspace port (ARCHITECTURE.md "Ports"): where a task attempt runs and how its work
//! is kept. The engine knows only this port; [`folder`] runs every task in the run's folder,
//! [`git`] runs each attempt in a git worktree of its own at its start commit and turns its
//! work into an output commit.
//!
//! Every method blocks (git runs as a child process): the engine calls them off its async
//! threads.

pub mod conflicts;
pub mod copy_ignored;
pub mod folder;
pub mod git;
pub mod remote;

use std::path::PathBuf;

/// One attempt of one task, as the workspace names and describes it.
#[derive(Clone, Debug)]
pub struct AttemptOf {
    /// The run.
    pub run: String,
    /// The task's id.
    pub task: String,
    /// The task's title: the output commit's message.
    pub title: String,
    /// The attempt's number, from 1.
    pub attempt: u32,
    /// Where and how the task's attempts work (its `isolation`, `on_conflict`, …).
    pub work: crate::plan::WorkSpec,
}

/// A task that `AttemptOf` waits for, with its output commit if it has one (a gate, or a task
/// marked done by hand, has none: its own upstream tasks' outputs stand for it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upstream {
    /// The task's id.
    pub task: String,
    /// Its output commit.
    pub output: String,
}

/// The work of an attempt that succeeded, as [`Workspace::keep`] kept it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptWork {
    /// Its output commit.
    pub commit: String,
    /// How many files it changed (added, changed or deleted) from its start commit.
    pub files_changed: usize,
}

/// Where an attempt works, as [`Workspace::prepare`] made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptFolder {
    /// The folder the task's `workdir` is relative to.
    pub root: PathBuf,
    /// The commit the folder started from, in an isolated run.
    pub start: Option<String>,
    /// Variables that keep attempts working at the same time apart, for the attempt's
    /// environment: `WF_WORKTREE` (its folder) and `WF_PORT_BASE` (the first of 100 ports no
    /// other attempt of the run uses at the same time), in an isolated run.
    pub env: Vec<(String, String)>,
    /// The conflict between the work of the tasks it waits for, checked out in the folder
    /// with git's markers for someone to resolve (`on_conflict = "agent"` or `"human"`)
    /// before the task's own work starts.
    pub conflict: Option<conflicts::ConflictToResolve>,
}

/// The ports each slot of an isolated run's pool may use: `PORTS_FROM + 100 × K` to 99 above.
pub const PORTS_FROM: u32 = 20_000;

/// What becomes of a run's work.
pub trait Workspace: Send + Sync {
    /// Prepares the folder attempt `of` runs in, from the outputs of the tasks it waits for.
    /// An error is the task's failure before it starts (a conflict between its upstream
    /// tasks' work names the files and the tasks).
    fn prepare(&self, of: &AttemptOf, upstream: &[Upstream]) -> Result<AttemptFolder, String>;

    /// Brings what attempt `of` starts from (the run's base, the outputs of `upstream`) into
    /// this machine's repository, where the run's work moves between machines through a
    /// shared remote. An error means the remote could not be reached (or lacks them): the
    /// engine gives the task back for another machine rather than failing it.
    fn fetch_start(&self, _of: &AttemptOf, _upstream: &[Upstream]) -> Result<(), String> {
        Ok(())
    }

    /// Publishes `kept`, the output of attempt `of`, where the run's work moves between
    /// machines through a shared remote. An error means the remote could not be reached: the
    /// engine gives the task back (its work stays in this machine's repository only).
    fn share(&self, _of: &AttemptOf, _kept: &KeptWork) -> Result<(), String> {
        Ok(())
    }

    /// Takes the resolution of `folder`'s conflict (an agent resolved it there): the folder
    /// again, now starting from the resolved tree, or why the resolution cannot be taken
    /// (conflict markers remain).
    fn resolved(&self, _of: &AttemptOf, _folder: &AttemptFolder) -> Result<AttemptFolder, String> {
        Err("this workspace has no conflicts to resolve".to_string())
    }

    /// Turns a finished attempt whose work and verify commands passed into its output: the
    /// commit its work became (`None` where work is not kept as commits). The folder is
    /// another attempt's to use afterwards.
    fn keep(&self, of: &AttemptOf, folder: &AttemptFolder) -> Result<Option<KeptWork>, String>;

    /// Gives up a failed attempt: what it changed is kept where a person (and the next
    /// attempt's prompt) can look at it, and a description of it is returned (`None`: nothing
    /// changed, or nothing is kept). `keep_folder`: the task failed for good, so its folder
    /// stays for a person to look into.
    fn discard(
        &self,
        of: &AttemptOf,
        folder: &AttemptFolder,
        keep_folder: bool,
    ) -> Result<Option<String>, String>;

    /// The run's result once it succeeded, from its final tasks' outputs: where it is and
    /// how to take it, for the user (`None` where the work is already in the folder).
    fn finish(&self, run: &str, finals: &[Upstream]) -> Result<Option<String>, String>;

    /// Lets go of what the run kept for attempts to come, once it has ended however it ended
    /// (the pool of worktrees); what is kept for a person stays.
    fn run_ended(&self) -> Result<(), String> {
        Ok(())
    }

    /// Lets go of the folder of an attempt that lost its claim (another engine took the task
    /// over): nothing of it is kept, and it may serve another attempt.
    fn abandon(&self, _folder: &AttemptFolder) {}

    /// Whether its methods block (run processes, touch the disk), so the engine calls them
    /// off its async threads; one that only answers from memory is called in place, saving a
    /// thread hop per attempt.
    fn blocks(&self) -> bool {
        true
    }
}

/// Calls `f` with `work`: on a blocking thread if the workspace blocks, else in place.
pub async fn call<T: Send + 'static>(
    work: &std::sync::Arc<dyn Workspace>,
    f: impl FnOnce(&dyn Workspace) -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    if !work.blocks() {
        return f(&**work);
    }
    let work = std::sync::Arc::clone(work);
    tokio::task::spawn_blocking(move || f(&*work))
        .await
        .unwrap_or_else(|error| Err(error.to_string()))
}

/// The workspace run `run` of `plan` works in, in its folder `root`; `remote` is the URL of
/// the shared remote its work moves through between machines, if it does.
pub fn open(
    plan: &crate::plan::Plan,
    root: &std::path::Path,
    run: &str,
    remote: Option<&str>,
) -> Result<std::sync::Arc<dyn Workspace>, String> {
    Ok(match &plan.isolation {
        crate::plan::Isolation::None => std::sync::Arc::new(folder::FolderWorkspace {
            root: root.to_path_buf(),
        }),
        crate::plan::Isolation::Git { base, branch, into } => {
            let remote = remote
                .map(|url| remote::SharedRemote::new(url, run, root))
                .transpose()?;
            std::sync::Arc::new(
                git::GitWorkspace::open(root, run, base, branch)?
                    .handing_to(into.clone())
                    .sharing_through(remote),
            )
        }
    })
}

/// The outputs that stand for `tasks` of a plan: each task's output commit, or, for one
/// without (a gate, a task marked done by hand, a task of a run that was not isolated), the
/// outputs that stand for the tasks it waits for. `output` reads a task's output commit,
/// `deps_of` the tasks a task waits for in the plan.
pub fn outputs_of<'p>(
    deps_of: impl Fn(&str) -> Option<&'p [String]>,
    tasks: &[String],
    mut output: impl FnMut(&str) -> Option<String>,
) -> Vec<Upstream> {
    let mut found = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut todo: Vec<String> = tasks.iter().rev().cloned().collect();
    while let Some(task) = todo.pop() {
        if !seen.insert(task.clone()) {
            continue;
        }
        match output(&task) {
            Some(output) => found.push(Upstream { task, output }),
            None => {
                if let Some(deps) = deps_of(&task) {
                    todo.extend(deps.iter().rev().cloned());
                }
            }
        }
    }
    found
}

/// The tasks of `plan` no other task waits for: whose outputs make the run's result.
pub fn final_tasks(plan: &crate::plan::Plan) -> Vec<String> {
    let waited_for: std::collections::HashSet<&str> = plan
        .tasks
        .iter()
        .flat_map(|task| task.deps.iter().map(String::as_str))
        .collect();
    plan.tasks
        .iter()
        .filter(|task| !waited_for.contains(task.id.as_str()))
        .map(|task| task.id.clone())
        .collect()
}
