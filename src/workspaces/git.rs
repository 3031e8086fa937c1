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

use super::conflicts::{describe_sides, still_marked, ConflictToResolve};
use super::remote::SharedRemote;
use super::{AttemptFolder, AttemptOf, KeptWork, Upstream, Workspace};
use crate::ir::{OnConflict, RetryFrom};
use crate::isolation::{CommitMessage, Expect, Git, MergeOutcome, Oid, Publish, RefName};
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
    /// Where a task that says `isolation = "none"` works: the run's folder.
    in_folder: super::folder::FolderWorkspace,
    /// The shared remote the run's work moves through between machines, if it does.
    remote: Option<SharedRemote>,
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
            in_folder: super::folder::FolderWorkspace {
                root: workspace.to_path_buf(),
            },
            remote: None,
        })
    }

    /// The same workspace, handing the run's result to branch `into` when it fast-forwards.
    pub fn handing_to(self, into: Option<String>) -> GitWorkspace {
        GitWorkspace { into, ..self }
    }

    /// The same workspace, its work moving between machines through `remote`.
    pub fn sharing_through(self, remote: Option<SharedRemote>) -> GitWorkspace {
        GitWorkspace { remote, ..self }
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

    /// Pushes the run's result branch `name` (at `result`) to `remote`, then hands the result
    /// to the branch `--into` named there, only as a fast-forward (git refuses anything
    /// else); the words to add to the result's message.
    fn publish_result(&self, remote: &SharedRemote, name: &RefName, result: &Oid) -> String {
        let publish = |to: RefName, force: bool| {
            let commit = result.clone();
            remote.push(&self.git, &[Publish { commit, to, force }])
        };
        if let Err(why) = publish(name.clone(), true) {
            return format!(
                "; it could not be pushed ({why}): `git push {} {}` pushes it",
                remote.url(),
                self.branch
            );
        }
        let mut message = format!("; pushed to {}", remote.url());
        if let Some(into) = &self.into {
            message.push_str(&match RefName::branch(into) {
                Ok(to) => match publish(to, false) {
                    Ok(()) => format!(", and `{into}` there is at the result"),
                    Err(why) => format!(", where `{into}` was left as it was: {why}"),
                },
                Err(why) => format!(", where `{into}` was left as it was: {why}"),
            });
        }
        message
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

    /// Which of `upstream` changed each of `files` since `since`, for a conflict's message.
    fn who_touched(
        &self,
        files: &[String],
        upstream: &[Upstream],
        since: &Oid,
    ) -> BTreeMap<String, Vec<String>> {
        let mut touched: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for task in upstream {
            let Ok(output) = Oid::parse(&task.output) else {
                continue;
            };
            let changed = self.git.changed_files(since, &output).unwrap_or_default();
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

    /// The output commits of `upstream`.
    fn commits_of(upstream: &[Upstream]) -> Result<Vec<Oid>, String> {
        upstream
            .iter()
            .map(|task| {
                Oid::parse(&task.output)
                    .map_err(|e| failed(&format!("the output of task `{}`", task.task), e))
            })
            .collect()
    }

    /// The common start of `commits` (where their changes are measured from): their merge
    /// base, or the run's base.
    fn common_start(&self, commits: &[Oid]) -> Oid {
        self.git
            .merge_base(commits)
            .ok()
            .flatten()
            .unwrap_or_else(|| self.base.clone())
    }

    /// The conflict in `files` between the outputs of `upstream`: each file with the tasks
    /// that changed it, and what each of them changed there.
    fn to_resolve(
        &self,
        files: &[String],
        upstream: &[Upstream],
        commits: &[Oid],
    ) -> ConflictToResolve {
        let since = self.common_start(commits);
        let touched = self.who_touched(files, upstream, &since);
        let mut sides = Vec::new();
        for task in upstream {
            if !touched.values().any(|tasks| tasks.contains(&task.task)) {
                continue;
            }
            let Ok(output) = Oid::parse(&task.output) else {
                continue;
            };
            let patch = self
                .git
                .patch_of(&since, &output, files)
                .unwrap_or_else(|error| format!("(the change could not be read: {error})"));
            sides.push((task.task.clone(), patch));
        }
        ConflictToResolve {
            files: with_tasks(files, &touched),
            paths: files.to_vec(),
            sides: describe_sides(&sides),
            unresolved: None,
        }
    }

    /// Merges the outputs of `upstream` (none: the run's base), or says which files conflict
    /// and which tasks changed them.
    fn merge(&self, upstream: &[Upstream], message: &CommitMessage) -> Result<Oid, String> {
        let commits = Self::commits_of(upstream)?;
        if commits.is_empty() {
            return Ok(self.base.clone());
        }
        match self.git.merge(&commits, message) {
            Ok(MergeOutcome::Merged(commit)) => Ok(commit),
            Ok(MergeOutcome::Conflict(conflict)) => {
                let since = self.common_start(&commits);
                let touched = self.who_touched(&conflict.files, upstream, &since);
                Err(format!(
                    "the work of the tasks it waits for conflicts in {}",
                    with_tasks(&conflict.files, &touched).join(", ")
                ))
            }
            Err(error) => Err(failed("merging the work of the tasks it waits for", error)),
        }
    }

    /// Makes sure the run's worktree folder exists, with wfc's folder ignored by git.
    fn make_folders(&self) -> Result<(), String> {
        std::fs::create_dir_all(&self.worktrees)
            .map_err(|e| failed(&format!("creating {}", self.worktrees.display()), e))?;
        // The worktrees are wfc's, not the user's work: git status in the user's checkout
        // does not list them (`.wfc/.gitignore` leaves out wfc's whole folder).
        let ignore = self.wfc_folder.join(".gitignore");
        if !ignore.exists() {
            let _ = std::fs::write(&ignore, "*\n");
        }
        Ok(())
    }

    /// A slot of the pool checked out at `checkout`, for an attempt that starts from `start`,
    /// with the ignored files the task asks for copied in.
    fn attempt_folder(
        &self,
        of: &AttemptOf,
        start: &Oid,
        checkout: &Oid,
    ) -> Result<AttemptFolder, String> {
        let (root, slot) = self.take_slot(checkout)?;
        let copied = super::copy_ignored::copy_ignored(
            &self.git,
            &self.in_folder.root,
            &root,
            &of.work.copy_ignored,
        );
        if let Err(why) = copied {
            self.release_slot(&root);
            return Err(why);
        }
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
            conflict: None,
        })
    }

    /// What the worktree of a retry of `of` holds: the tree of the latest failed attempt that
    /// started from `start`, when the task says `retry_from = "failed"`; else `start`.
    fn retry_checkout(&self, of: &AttemptOf, start: &Oid) -> Oid {
        if of.work.retry_from != RetryFrom::Failed {
            return start.clone();
        }
        for attempt in (1..of.attempt).rev() {
            let Ok(name) = RefName::attempt(&of.run, &of.task, attempt) else {
                break;
            };
            let Ok(Some(changes)) = self.git.read_ref(&name) else {
                continue;
            };
            if self
                .git
                .commit_info(&changes)
                .is_ok_and(|info| info.parents == [start.clone()])
            {
                return changes;
            }
        }
        start.clone()
    }

    /// Takes what `folder` holds, a conflict checked out at `marked` and resolved there, as
    /// the start commit: a merge of the same commits as `marked` with the resolved tree.
    fn commit_resolution(
        &self,
        of: &AttemptOf,
        folder: &Path,
        marked: &Oid,
        seed: Option<&Path>,
    ) -> Result<Oid, String> {
        let title = format!("wfc: the start of {}, its conflicts resolved", of.task);
        let message = self.message(of, &title)?;
        let resolved = self
            .git
            .commit_all_from(folder, marked, seed, &message)
            .map_err(|e| failed("taking the resolution", e))?;
        if resolved == *marked {
            return Ok(resolved);
        }
        let parents = self
            .git
            .commit_info(marked)
            .map_err(|e| failed("taking the resolution", e))?
            .parents;
        let tree = self
            .git
            .tree_of(&resolved)
            .map_err(|e| failed("taking the resolution", e))?;
        self.git
            .commit_tree(&tree, &parents, &message)
            .map_err(|e| failed("taking the resolution", e))
    }

    /// Checks the conflict between `commits` (the outputs of `upstream`) out in a slot, with
    /// markers, for an agent to resolve before the task starts (`on_conflict = "agent"`).
    fn conflict_for_agent(
        &self,
        of: &AttemptOf,
        upstream: &[Upstream],
        commits: &[Oid],
        message: &CommitMessage,
    ) -> Result<AttemptFolder, String> {
        let (marked, files) = self.mark_conflicts(commits, message)?;
        let mut folder = self.attempt_folder(of, &marked, &marked)?;
        folder.conflict = Some(self.to_resolve(&files, upstream, commits));
        Ok(folder)
    }

    /// The merge of `commits` with conflict markers left in, and the files that conflict.
    fn mark_conflicts(
        &self,
        commits: &[Oid],
        message: &CommitMessage,
    ) -> Result<(Oid, Vec<String>), String> {
        let (marked, conflict) = self
            .git
            .merge_marking_conflicts(commits, message)
            .map_err(|e| failed("merging the work of the tasks it waits for", e))?;
        Ok((marked, conflict.map(|c| c.files).unwrap_or_default()))
    }

    /// The conflict between `commits` for a person to resolve (`on_conflict = "human"`), in a
    /// worktree of its own that stays while the task waits: `conflicts/TASK`. Once the person
    /// resolved it there, the resolution is the task's start and the task goes on in a slot.
    fn conflict_for_person(
        &self,
        of: &AttemptOf,
        upstream: &[Upstream],
        commits: &[Oid],
        message: &CommitMessage,
    ) -> Result<AttemptFolder, String> {
        let conflicts = self.worktrees.join("conflicts");
        let folder = conflicts.join(
            crate::isolation::ref_name::encode_component(&of.task)
                .map_err(|e| failed("the task's id", e))?,
        );
        let record_file = record_of(&folder);
        let mut sorted = commits
            .iter()
            .map(|c| c.as_str().to_string())
            .collect::<Vec<_>>();
        sorted.sort();
        let record: Option<ParkedConflict> = std::fs::read(&record_file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .filter(|record: &ParkedConflict| record.commits == sorted && folder.is_dir());
        if let Some(record) = record {
            let marked =
                Oid::parse(&record.marked).map_err(|e| failed("the parked conflict", e))?;
            let left = still_marked(&folder, &record.files);
            if left.is_empty() {
                let start = self.commit_resolution(of, &folder, &marked, None)?;
                let _ = self.git.remove_worktree(&folder);
                let _ = std::fs::remove_dir_all(&folder);
                let _ = std::fs::remove_file(&record_file);
                let checkout = start.clone();
                return self.attempt_folder(of, &start, &checkout);
            }
            let mut conflict = self.to_resolve(&record.files, upstream, commits);
            conflict.unresolved = Some(format!("conflict markers remain in {}", left.join(", ")));
            return Ok(AttemptFolder {
                root: folder,
                start: Some(marked.as_str().to_string()),
                env: Vec::new(),
                conflict: Some(conflict),
            });
        }
        // A conflict of other commits (the tasks before it were planned again), or none yet.
        if folder.exists() {
            let _ = self.git.remove_worktree(&folder);
            let _ = std::fs::remove_dir_all(&folder);
        }
        let (marked, files) = self.mark_conflicts(commits, message)?;
        std::fs::create_dir_all(&conflicts)
            .map_err(|e| failed(&format!("creating {}", conflicts.display()), e))?;
        self.git
            .add_worktree(&folder, &marked)
            .map_err(|e| failed("creating the conflict's worktree", e))?;
        let record = ParkedConflict {
            marked: marked.as_str().to_string(),
            commits: sorted,
            files: files.clone(),
        };
        let bytes = serde_json::to_vec(&record).map_err(|e| failed("recording the conflict", e))?;
        std::fs::write(&record_file, bytes).map_err(|e| failed("recording the conflict", e))?;
        Ok(AttemptFolder {
            root: folder,
            start: Some(marked.as_str().to_string()),
            env: Vec::new(),
            conflict: Some(self.to_resolve(&files, upstream, commits)),
        })
    }
}

/// What `conflicts/TASK.json` records of a conflict a person resolves: the commit with the
/// markers, the (sorted) commits it merges, and the files that conflict.
#[derive(serde::Serialize, serde::Deserialize)]
struct ParkedConflict {
    marked: String,
    commits: Vec<String>,
    files: Vec<String>,
}

/// `conflicts/TASK.json`, beside the conflict's worktree `conflicts/TASK`.
fn record_of(folder: &Path) -> PathBuf {
    let mut name = folder.as_os_str().to_os_string();
    name.push(".json");
    PathBuf::from(name)
}

/// Each of `files` with the tasks that changed it: `f (changed by `a` and `b`)`.
fn with_tasks(files: &[String], touched: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    files
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
        .collect()
}

impl Workspace for GitWorkspace {
    fn prepare(&self, of: &AttemptOf, upstream: &[Upstream]) -> Result<AttemptFolder, String> {
        if of.work.in_folder() {
            return self.in_folder.prepare(of, upstream);
        }
        self.make_folders()?;
        let message = self.message(of, &format!("wfc: the start of {}", of.task))?;
        let commits = Self::commits_of(upstream)?;
        let start = match of.work.on_conflict {
            OnConflict::Fail => self.merge(upstream, &message)?,
            _ if commits.is_empty() => self.base.clone(),
            policy => match self.git.merge(&commits, &message) {
                Ok(MergeOutcome::Merged(commit)) => commit,
                Ok(MergeOutcome::Conflict(_)) if policy == OnConflict::Agent => {
                    return self.conflict_for_agent(of, upstream, &commits, &message)
                }
                Ok(MergeOutcome::Conflict(_)) => {
                    return self.conflict_for_person(of, upstream, &commits, &message)
                }
                Err(error) => {
                    return Err(failed("merging the work of the tasks it waits for", error))
                }
            },
        };
        let checkout = self.retry_checkout(of, &start);
        self.attempt_folder(of, &start, &checkout)
    }

    fn fetch_start(&self, of: &AttemptOf, upstream: &[Upstream]) -> Result<(), String> {
        let Some(remote) = self.remote.as_ref().filter(|_| !of.work.in_folder()) else {
            return Ok(());
        };
        remote.fetch_missing(&self.git, &remote.start_commits(&self.base, upstream)?)?;
        // A retry that starts from what the failed attempts changed needs them here, wherever
        // they ran.
        if of.work.retry_from == RetryFrom::Failed && of.attempt > 1 {
            remote.fetch_attempts(&self.git, &of.task)?;
        }
        Ok(())
    }

    fn share(&self, of: &AttemptOf, kept: &KeptWork) -> Result<(), String> {
        let Some(remote) = &self.remote else {
            return Ok(());
        };
        let output = Oid::parse(&kept.commit).map_err(|e| failed("the task's output", e))?;
        remote.push_output(&self.git, &of.task, of.attempt, &output)
    }

    fn resolved(&self, of: &AttemptOf, folder: &AttemptFolder) -> Result<AttemptFolder, String> {
        let conflict = folder
            .conflict
            .as_ref()
            .ok_or_else(|| "the attempt's folder has no conflict to resolve".to_string())?;
        let marked = start_of(folder)?;
        let left = still_marked(&folder.root, &conflict.paths);
        if !left.is_empty() {
            return Err(format!(
                "the conflict was not resolved: conflict markers remain in {}",
                left.join(", ")
            ));
        }
        let start =
            self.commit_resolution(of, &folder.root, &marked, Some(&seed_of(&folder.root)))?;
        Ok(AttemptFolder {
            start: Some(start.as_str().to_string()),
            conflict: None,
            ..folder.clone()
        })
    }

    fn keep(&self, of: &AttemptOf, folder: &AttemptFolder) -> Result<Option<KeptWork>, String> {
        if folder.start.is_none() {
            return self.in_folder.keep(of, folder);
        }
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
        if folder.start.is_none() {
            return self.in_folder.discard(of, folder, keep_folder);
        }
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
                // A retry on another machine starts from them or is told of them: they go
                // to the run's remote too, if this machine can reach it.
                let pushed = match &self.remote {
                    Some(remote) => match remote.push_attempt(&self.git, &name, &changes) {
                        Ok(()) => format!(" (and on {})", remote.url()),
                        Err(why) => format!(" (only on this machine: {why})"),
                    },
                    None => String::new(),
                };
                kept = Some(format!(
                    "its changes are kept in {}{pushed}:\n{}",
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
        if let Some(remote) = &self.remote {
            // The final tasks' outputs may have been made on other machines.
            remote.fetch_missing(&self.git, &remote.start_commits(&self.base, finals)?)?;
        }
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
        if let Some(remote) = &self.remote {
            message.push_str(&self.publish_result(remote, &name, &result));
            return Ok(Some(message));
        }
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
