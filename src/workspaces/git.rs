//! The `git` workspace: each task attempt works in a detached git worktree of its own at its
//! start commit — the run's base, its upstream task's output commit, or a merge of its
//! upstream tasks' outputs — so it sees exactly the work of the tasks it depends on. Once its
//! work and verify commands pass, everything it changed becomes its output commit (kept alive
//! by `refs/wfc/RUN/tasks/TASK`). At the end the run's branch points at the merge of its final
//! tasks' outputs. The user's checkout, index and branches are never touched
//! (docs/architecture.md, "Isolation").
//!
//! Worktrees are reused: a finished attempt's worktree goes back to the run's pool
//! (`.wfc/worktrees/RUN/slot-K`), and the next attempt moves it to its own start commit, which
//! rewrites only the files that differ, instead of checking out the whole repository again.
//! Each slot is held through an exclusive `flock` on `slot-K.lock` while an attempt works in
//! it, so engines in several processes never share one, and a killed engine's slot is free
//! again at once. A task that failed for good keeps its worktree, moved out of the pool to
//! `failed/TASK.N` for a person to look into.

use super::{AttemptFolder, AttemptOf, KeptWork, Upstream, Workspace};
use crate::isolation::{CommitMessage, Expect, Git, MergeOutcome, Oid, RefName};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Runs each attempt in a worktree of the repository at `git`.
pub struct GitWorkspace {
    git: Git,
    base: Oid,
    branch: String,
    /// Where the run's worktrees go: `WORKSPACE/.wfc/worktrees/RUN`.
    worktrees: PathBuf,
    /// `WORKSPACE/.wfc`.
    wfc_folder: PathBuf,
    /// The slots this engine's attempts hold, by folder, with their locks.
    held: Mutex<HashMap<PathBuf, Flock<File>>>,
    /// The user's branch the result is handed to, if it fast-forwards (`--into`).
    into: Option<String>,
}

/// The most worktrees one run's pool holds at once: far more attempts than any machine runs
/// at the same time, and few enough that every slot's ports (`WF_PORT_BASE`) stay below 65536.
const MAX_SLOTS: u32 = 400;

/// The commit `folder` started from, which [`GitWorkspace::prepare`] always records.
fn start_of(folder: &AttemptFolder) -> Result<Oid, String> {
    let start = folder
        .start
        .as_deref()
        .ok_or_else(|| "the attempt's folder has no start commit".to_string())?;
    Oid::parse(start).map_err(|e| failed("the attempt's start commit", e))
}

/// The seed of the private index of the slot in `folder`: `slot-K.index` beside it.
fn seed_of(folder: &Path) -> PathBuf {
    let mut name = folder.as_os_str().to_os_string();
    name.push(".index");
    PathBuf::from(name)
}

/// Whether the pool slot whose lock file is `lock` is free: nobody holds its lock.
pub fn slot_is_free(lock: &Path) -> bool {
    match OpenOptions::new().write(true).open(lock) {
        Ok(file) => Flock::lock(file, FlockArg::LockExclusiveNonblock).is_ok(),
        Err(_) => true,
    }
}

/// The folder of run `run`'s worktrees in `workspace`: `.wfc/worktrees/RUN` (the id encoded as
/// a ref component is, so any id is one folder name).
pub fn worktrees_folder(workspace: &std::path::Path, run: &str) -> Result<PathBuf, String> {
    let run =
        crate::isolation::ref_name::encode_component(run).map_err(|e| failed("the run's id", e))?;
    Ok(workspace.join(".wfc").join("worktrees").join(run))
}

/// The name of the worktree folder of attempt `attempt` of task `task`: `TASK.N`.
pub fn attempt_folder_name(task: &str, attempt: u32) -> Result<String, String> {
    let task = crate::isolation::ref_name::encode_component(task)
        .map_err(|e| failed("the task's id", e))?;
    Ok(format!("{task}.{attempt}"))
}

fn failed(what: &str, error: impl std::fmt::Display) -> String {
    format!("{what}: {error}")
}

impl GitWorkspace {
    /// The git workspace of run `run`, whose folder `workspace` is (in) a git repository, from
    /// `base` with its result going to `branch`.
    pub fn open(
        workspace: &std::path::Path,
        run: &str,
        base: &str,
        branch: &str,
    ) -> Result<GitWorkspace, String> {
        let git = Git::open(workspace).map_err(|e| failed("the run works in git", e))?;
        let base = Oid::parse(base).map_err(|e| failed("the run's base commit", e))?;
        Ok(GitWorkspace {
            git,
            base,
            branch: branch.to_string(),
            worktrees: worktrees_folder(workspace, run)?,
            wfc_folder: workspace.join(".wfc"),
            held: Mutex::new(HashMap::new()),
            into: None,
        })
    }

    /// The same workspace, handing the run's result to branch `into` when it fast-forwards.
    pub fn handing_to(self, into: Option<String>) -> GitWorkspace {
        GitWorkspace { into, ..self }
    }

    /// Takes a free slot of the pool, moved to `start`, or makes a new one; the slot's lock
    /// is held until the attempt is kept or discarded. Returns its folder and number.
    fn take_slot(&self, start: &Oid) -> Result<(PathBuf, u32), String> {
        for number in 0..MAX_SLOTS {
            let folder = self.worktrees.join(format!("slot-{number}"));
            let lock_path = self.worktrees.join(format!("slot-{number}.lock"));
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(|e| failed(&format!("opening {}", lock_path.display()), e))?;
            let lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => lock,
                Err((_, Errno::EWOULDBLOCK)) => continue,
                Err((_, errno)) => {
                    return Err(failed(&format!("locking {}", lock_path.display()), errno))
                }
            };
            let admin_file = self.worktrees.join(format!("slot-{number}.gitdir"));
            let reused = folder.exists()
                && std::fs::read_to_string(&admin_file)
                    .ok()
                    .is_some_and(|admin| {
                        self.git
                            .reset_worktree(&folder, Path::new(admin.trim_end()), start)
                            .is_ok()
                    });
            if !reused {
                // A slot a task damaged beyond repair, or a new one: made afresh.
                if folder.exists() {
                    let _ = self.git.remove_worktree(&folder);
                    let _ = std::fs::remove_dir_all(&folder);
                }
                self.git
                    .add_worktree(&folder, start)
                    .map_err(|e| failed("creating the attempt's worktree", e))?;
                let admin = self
                    .git
                    .worktree_admin_dir(&folder)
                    .map_err(|e| failed("creating the attempt's worktree", e))?;
                std::fs::write(&admin_file, format!("{}\n", admin.display()))
                    .map_err(|e| failed(&format!("writing {}", admin_file.display()), e))?;
            }
            // The index git wrote for this checkout, kept where no task looks: the seed of the
            // private index the attempt's work is committed through.
            let seed = self.worktrees.join(format!("slot-{number}.index"));
            let _ = std::fs::remove_file(&seed);
            if let Ok(admin) = std::fs::read_to_string(&admin_file) {
                let _ = std::fs::copy(Path::new(admin.trim_end()).join("index"), &seed);
            }
            let root = folder;
            self.held
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(root.clone(), lock);
            return Ok((root, number));
        }
        Err(format!(
            "all {MAX_SLOTS} worktree slots of the run are in use"
        ))
    }

    /// Gives the slot in `folder` back to the pool.
    fn release_slot(&self, folder: &Path) {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(folder);
    }

    /// Removes every slot of the pool that nobody holds, with its lock and gitdir files.
    fn empty_pool(&self) {
        let Ok(entries) = std::fs::read_dir(&self.worktrees) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(number) = name.strip_prefix("slot-").filter(|n| !n.contains('.')) else {
                continue;
            };
            let lock = self.worktrees.join(format!("slot-{number}.lock"));
            if slot_is_free(&lock) {
                let _ = self.git.remove_worktree(&entry.path());
                let _ = std::fs::remove_file(&lock);
                let _ = std::fs::remove_file(self.worktrees.join(format!("slot-{number}.gitdir")));
                let _ = std::fs::remove_file(self.worktrees.join(format!("slot-{number}.index")));
            }
        }
        let _ = std::fs::remove_dir(&self.worktrees);
    }

    fn message(&self, of: &AttemptOf, title: &str) -> Result<CommitMessage, String> {
        CommitMessage::new(title)
            .with_wfc_trailers(&of.run, &of.task, of.attempt)
            .map_err(|e| failed("the commit message", e))
    }

    /// Which of `upstream` changed each of `files` since the run's base, for a conflict's
    /// message.
    fn who_touched(
        &self,
        files: &[String],
        upstream: &[Upstream],
    ) -> BTreeMap<String, Vec<String>> {
        let mut touched: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for task in upstream {
            let Ok(output) = Oid::parse(&task.output) else {
                continue;
            };
            let changed = self
                .git
                .changed_files(&self.base, &output)
                .unwrap_or_default();
            for file in files {
                if changed.iter().any(|change| &change.path == file) {
                    touched
                        .entry(file.clone())
                        .or_default()
                        .push(task.task.clone());
                }
            }
        }
        touched
    }

    /// Merges the outputs of `upstream` (none: the run's base), or says which files conflict
    /// and which tasks changed them.
    fn merge(&self, upstream: &[Upstream], message: &CommitMessage) -> Result<Oid, String> {
        let commits = upstream
            .iter()
            .map(|task| {
                Oid::parse(&task.output)
                    .map_err(|e| failed(&format!("the output of task `{}`", task.task), e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if commits.is_empty() {
            return Ok(self.base.clone());
        }
        match self.git.merge(&commits, message) {
            Ok(MergeOutcome::Merged(commit)) => Ok(commit),
            Ok(MergeOutcome::Conflict(conflict)) => {
                let touched = self.who_touched(&conflict.files, upstream);
                let files: Vec<String> = conflict
                    .files
                    .iter()
                    .map(|file| match touched.get(file) {
                        Some(tasks) => format!(
                            "{file} (changed by {})",
                            tasks
                                .iter()
                                .map(|t| format!("`{t}`"))
                                .collect::<Vec<_>>()
                                .join(" and ")
                        ),
                        None => file.clone(),
                    })
                    .collect();
                Err(format!(
                    "the work of the tasks it waits for conflicts in {}",
                    files.join(", ")
                ))
            }
            Err(error) => Err(failed("merging the work of the tasks it waits for", error)),
        }
    }
}

impl Workspace for GitWorkspace {
    fn prepare(&self, of: &AttemptOf, upstream: &[Upstream]) -> Result<AttemptFolder, String> {
        let message = self.message(of, &format!("wfc: the start of {}", of.task))?;
        let start = self.merge(upstream, &message)?;
        std::fs::create_dir_all(&self.worktrees)
            .map_err(|e| failed(&format!("creating {}", self.worktrees.display()), e))?;
        // The worktrees are wfc's, not the user's work: git status in the user's checkout
        // does not list them (`.wfc/.gitignore` leaves out wfc's whole folder).
        let ignore = self.wfc_folder.join(".gitignore");
        if !ignore.exists() {
            let _ = std::fs::write(&ignore, "*\n");
        }
        let (root, slot) = self.take_slot(&start)?;
        let env = vec![
            ("WF_WORKTREE".to_string(), root.display().to_string()),
            (
                "WF_PORT_BASE".to_string(),
                (super::PORTS_FROM + 100 * slot).to_string(),
            ),
        ];
        Ok(AttemptFolder {
            root,
            start: Some(start.as_str().to_string()),
            env,
        })
    }

    fn keep(&self, of: &AttemptOf, folder: &AttemptFolder) -> Result<Option<KeptWork>, String> {
        let start = start_of(folder)?;
        let output = self
            .git
            .commit_all_from(
                &folder.root,
                &start,
                Some(&seed_of(&folder.root)),
                &self.message(of, &of.title)?,
            )
            .map_err(|e| failed("committing the task's work", e))?;
        let name =
            RefName::task_output(&of.run, &of.task).map_err(|e| failed("the task's ref", e))?;
        self.git
            .update_ref(&name, &output, &Expect::Anything)
            .map_err(|e| failed("keeping the task's output", e))?;
        self.release_slot(&folder.root);
        let files_changed = self
            .git
            .changed_files(&start, &output)
            .map_err(|e| failed("describing the task's work", e))?
            .len();
        Ok(Some(KeptWork {
            commit: output.as_str().to_string(),
            files_changed,
        }))
    }

    fn discard(
        &self,
        of: &AttemptOf,
        folder: &AttemptFolder,
        keep_folder: bool,
    ) -> Result<Option<String>, String> {
        let start = start_of(folder)?;
        let mut kept = None;
        if folder.root.is_dir() {
            let title = format!("wfc: failed attempt {} of {}", of.attempt, of.task);
            let changes = self
                .git
                .commit_all_from(
                    &folder.root,
                    &start,
                    Some(&seed_of(&folder.root)),
                    &self.message(of, &title)?,
                )
                .map_err(|e| failed("keeping the failed attempt's changes", e))?;
            if changes != start {
                let name = RefName::attempt(&of.run, &of.task, of.attempt)
                    .map_err(|e| failed("the attempt's ref", e))?;
                self.git
                    .update_ref(&name, &changes, &Expect::Anything)
                    .map_err(|e| failed("keeping the failed attempt's changes", e))?;
                let stat = self
                    .git
                    .diffstat(&start, &changes)
                    .map_err(|e| failed("describing the failed attempt's changes", e))?;
                kept = Some(format!(
                    "its changes are kept in {}:\n{}",
                    name.as_str(),
                    stat.text.trim_end()
                ));
            }
            if keep_folder {
                // Out of the pool, for a person to look into until `wfc gc`.
                let failed_folder = self
                    .worktrees
                    .join("failed")
                    .join(attempt_folder_name(&of.task, of.attempt)?);
                std::fs::create_dir_all(self.worktrees.join("failed"))
                    .map_err(|e| failed("keeping the failed attempt's worktree", e))?;
                if failed_folder.exists() {
                    let _ = self.git.remove_worktree(&failed_folder);
                    let _ = std::fs::remove_dir_all(&failed_folder);
                }
                self.git
                    .move_worktree(&folder.root, &failed_folder)
                    .map_err(|e| failed("keeping the failed attempt's worktree", e))?;
            }
        }
        self.release_slot(&folder.root);
        Ok(kept)
    }

    fn run_ended(&self) -> Result<(), String> {
        self.empty_pool();
        Ok(())
    }

    fn abandon(&self, folder: &AttemptFolder) {
        self.release_slot(&folder.root);
    }

    fn finish(&self, run: &str, finals: &[Upstream]) -> Result<Option<String>, String> {
        let message = CommitMessage::new(&format!("wfc: the result of run {run}"))
            .with_trailer("Wfc-Run", run)
            .map_err(|e| failed("the commit message", e))?;
        let result = self.merge(finals, &message)?;
        let name = RefName::branch(&self.branch).map_err(|e| failed("the result branch", e))?;
        self.git
            .update_ref(&name, &result, &Expect::Anything)
            .map_err(|e| failed("pointing the result branch at the result", e))?;
        let mut message = format!(
            "the result is on branch {branch} (commit {short}): `git log {branch}`, `git merge {branch}`",
            branch = self.branch,
            short = result.short()
        );
        if let Some(into) = &self.into {
            use crate::isolation::Handed;
            message.push_str(&match self.git.fast_forward(into, &result) {
                Ok(Handed::Moved) => format!("; `{into}` is there now"),
                Ok(Handed::Created) => format!("; branch `{into}` was made there"),
                Ok(Handed::AtResult) => format!("; `{into}` is there already"),
                Ok(Handed::CheckedOut) => {
                    format!("; `{into}` is there now, and your checkout's files with it")
                }
                Ok(Handed::Left(why)) => format!("; `{into}` was left as it was: {why}"),
                Err(error) => format!("; `{into}` was left as it was: {error}"),
            });
        }
        Ok(Some(message))
    }
}
