//! The worktrees task attempts run in: added detached at a commit in a folder wfc chooses,
//! listed, and removed again, also when a task deleted the folder or its `.git` file.

use super::error::GitError;
use super::git::{absolute, Git};
use super::oid::Oid;
use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// The lock every change to the repository's list of worktrees (and every reading of it) is
/// made under, in the repository's common folder: `git worktree add` writes a new worktree's
/// administrative folder file by file, and a `git worktree add` or `list` running at the same
/// time (another attempt, another engine) reads it half made and fails ("failed to read
/// .git/worktrees/slot-0/commondir"). It is an `flock`, so it holds nothing once its holder
/// is gone (a `kill -9` leaves no stale lock), and its name is not one of git's `*.lock`.
const LOCK_FILE: &str = "wfc-worktrees.flock";

/// One worktree of the repository, as `git worktree list` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Worktree {
    /// Its folder.
    pub path: PathBuf,
    /// The commit checked out (`None` for a bare repository's entry or an unborn branch).
    pub head: Option<Oid>,
    /// The branch checked out (`refs/heads/...`), or `None` if detached.
    pub branch: Option<String>,
    /// Whether it is locked against pruning.
    pub locked: bool,
    /// Whether git found it gone (its folder or `.git` file deleted) and would prune it.
    pub prunable: bool,
}

impl Git {
    /// Adds a worktree in `folder` (made if missing; git refuses one that holds files) with
    /// `commit` checked out and no branch (detached), so no branch is made or moved. Returns
    /// the folder as an absolute path.
    pub fn add_worktree(&self, folder: &Path, commit: &Oid) -> Result<PathBuf, GitError> {
        let folder = absolute(folder)?;
        let _lock = self.lock_worktrees()?;
        self.command()
            .args(["worktree", "add", "--detach", "--quiet", "--end-of-options"])
            .arg(&folder)
            .arg(commit)
            .run()?;
        Ok(folder)
    }

    /// Removes the worktree in `folder`, with whatever changes it holds, and forgets it. A
    /// folder that is gone and no longer registered is already removed; a folder that exists
    /// but is not a linked worktree of this repository (the main checkout, a stranger's
    /// folder) is refused and left alone.
    pub fn remove_worktree(&self, folder: &Path) -> Result<(), GitError> {
        let folder = absolute(folder)?;
        let _lock = self.lock_worktrees()?;
        let Some(worktree) = self.find_worktree(&folder)? else {
            if folder.exists() {
                return Err(GitError::invalid(format!(
                    "`{}` is not a linked worktree of `{}`, so wfc does not remove it",
                    folder.display(),
                    self.common_dir().display()
                )));
            }
            return Ok(());
        };
        // Forced twice: removes it with uncommitted and untracked files, and when locked.
        let removed = self
            .command()
            .args([
                "worktree",
                "remove",
                "--force",
                "--force",
                "--end-of-options",
            ])
            .arg(&worktree.path)
            .run();
        let Err(refused) = removed else {
            return Ok(());
        };
        // git refuses when it cannot check the folder is the worktree: the task deleted or
        // replaced its `.git` file, or deleted the folder. The folder is registered as this
        // repository's worktree, so it is wfc's to delete; pruning then forgets the entry,
        // whose `.git` file is gone.
        if worktree.path.symlink_metadata().is_ok() {
            let removal = if worktree.path.is_dir() && !worktree.path.is_symlink() {
                std::fs::remove_dir_all(&worktree.path)
            } else {
                std::fs::remove_file(&worktree.path)
            };
            removal.map_err(|error| {
                GitError::io(
                    format!("remove the worktree `{}`", worktree.path.display()),
                    &error,
                )
            })?;
        }
        if worktree.locked {
            self.command()
                .args(["worktree", "unlock", "--end-of-options"])
                .arg(&worktree.path)
                .run()?;
        }
        self.prune_unlocked()?;
        match self.find_worktree(&folder)? {
            None => Ok(()),
            Some(_) => Err(refused),
        }
    }

    /// Holds the lock on the repository's list of worktrees until the value is dropped.
    fn lock_worktrees(&self) -> Result<Flock<File>, GitError> {
        let path = self.common_dir().join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|error| GitError::io(format!("open {}", path.display()), &error))?;
        Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| {
            GitError::io(
                format!("lock {}", path.display()),
                &std::io::Error::from(errno),
            )
        })
    }

    /// Every worktree of the repository, the main one first.
    pub fn worktrees(&self) -> Result<Vec<Worktree>, GitError> {
        let _lock = self.lock_worktrees()?;
        self.list_worktrees()
    }

    /// [`Git::worktrees`], for a caller that holds the lock.
    fn list_worktrees(&self) -> Result<Vec<Worktree>, GitError> {
        let output = self
            .command()
            .args(["worktree", "list", "--porcelain", "-z"])
            .run()?;
        let mut worktrees = Vec::new();
        let mut current: Option<Worktree> = None;
        // Each worktree is a run of `KEY VALUE` (or `KEY`) fields ended by an empty one.
        for field in output.fields() {
            let (key, value) = field.split_once(' ').unwrap_or((field.as_str(), ""));
            match (key, current.as_mut()) {
                ("worktree", _) => {
                    worktrees.extend(current.take());
                    current = Some(Worktree {
                        path: PathBuf::from(value),
                        head: None,
                        branch: None,
                        locked: false,
                        prunable: false,
                    });
                }
                ("HEAD", Some(worktree)) => worktree.head = Oid::parse(value).ok(),
                ("branch", Some(worktree)) => worktree.branch = Some(value.to_string()),
                ("locked", Some(worktree)) => worktree.locked = true,
                ("prunable", Some(worktree)) => worktree.prunable = true,
                ("", _) => worktrees.extend(current.take()),
                _ => {}
            }
        }
        worktrees.extend(current);
        Ok(worktrees)
    }

    /// The linked worktrees whose folders are inside `prefix` (wfc's folder of worktrees).
    pub fn worktrees_under(&self, prefix: &Path) -> Result<Vec<Worktree>, GitError> {
        let prefix = comparable(&absolute(prefix)?);
        Ok(self
            .worktrees()?
            .into_iter()
            .skip(1)
            .filter(|worktree| comparable(&worktree.path).starts_with(&prefix))
            .collect())
    }

    /// Makes git forget every worktree whose folder or `.git` file is gone.
    pub fn prune_worktrees(&self) -> Result<(), GitError> {
        let _lock = self.lock_worktrees()?;
        self.prune_unlocked()
    }

    /// [`Git::prune_worktrees`], for a caller that holds the lock.
    fn prune_unlocked(&self) -> Result<(), GitError> {
        self.command().args(["worktree", "prune"]).run()?;
        Ok(())
    }

    /// The linked worktree (never the main checkout) registered at `folder`.
    fn find_worktree(&self, folder: &Path) -> Result<Option<Worktree>, GitError> {
        let wanted = comparable(folder);
        Ok(self
            .list_worktrees()?
            .into_iter()
            .skip(1)
            .find(|worktree| worktree.path == folder || comparable(&worktree.path) == wanted))
    }
}

/// `path` with symbolic links resolved as far as it exists, so a folder named through a link
/// (`/tmp` on some systems) compares equal to the name git stored.
fn comparable(path: &Path) -> PathBuf {
    if let Ok(real) = path.canonicalize() {
        return real;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => comparable(parent).join(name),
        _ => path.to_path_buf(),
    }
}

impl Git {
    /// The private folder git keeps for the linked worktree in `folder`
    /// (`COMMON/worktrees/NAME`), read from its `.git` file: call it right after
    /// [`Git::add_worktree`], while no task has run there, and keep the answer.
    pub fn worktree_admin_dir(&self, folder: &Path) -> Result<PathBuf, GitError> {
        let dot_git = absolute(folder)?.join(".git");
        let text = std::fs::read_to_string(&dot_git)
            .map_err(|error| GitError::io("read the worktree's .git file", &error))?;
        let admin = text
            .trim_end()
            .strip_prefix("gitdir: ")
            .map(PathBuf::from)
            .ok_or_else(|| GitError::invalid(format!("`{}` names no gitdir", dot_git.display())))?;
        let inside = self.common_dir().join("worktrees");
        if !admin.starts_with(&inside) {
            return Err(GitError::invalid(format!(
                "`{}` points outside `{}`",
                dot_git.display(),
                inside.display()
            )));
        }
        Ok(admin)
    }

    /// Moves the linked worktree in `folder`, whose private folder is `admin` (as
    /// [`Git::worktree_admin_dir`] gave it when it was new), to `commit`, exactly: its files,
    /// index and detached HEAD become the commit's, and every file git does not track there
    /// is removed except those `.gitignore` names (build folders stay warm). Only the files
    /// that differ are written. git is pointed at `admin` and `folder` explicitly, and the
    /// folder's `.git` file is written anew first, so whatever a task did to `.git` (deleted
    /// it, or pointed it at another repository) cannot redirect these commands.
    pub fn reset_worktree(
        &self,
        folder: &Path,
        admin: &Path,
        commit: &Oid,
    ) -> Result<(), GitError> {
        let folder = absolute(folder)?;
        let registered = {
            let _lock = self.lock_worktrees()?;
            self.find_worktree(&folder)?.is_some()
        };
        if !registered || !admin.is_dir() {
            return Err(GitError::invalid(format!(
                "`{}` is not a linked worktree of `{}`",
                folder.display(),
                self.common_dir().display()
            )));
        }
        let dot_git = folder.join(".git");
        if dot_git.is_dir() {
            std::fs::remove_dir_all(&dot_git)
                .map_err(|error| GitError::io("remove the folder a task put at .git", &error))?;
        }
        std::fs::write(&dot_git, format!("gitdir: {}\n", admin.display()))
            .map_err(|error| GitError::io("write the worktree's .git file", &error))?;
        let in_worktree = || {
            let mut git_dir = std::ffi::OsString::from("--git-dir=");
            git_dir.push(admin);
            let mut work_tree = std::ffi::OsString::from("--work-tree=");
            work_tree.push(&folder);
            self.command_in(&folder).arg(git_dir).arg(work_tree)
        };
        let checkout = || {
            in_worktree()
                .args([
                    "checkout",
                    "--detach",
                    "--force",
                    "--quiet",
                    "--end-of-options",
                ])
                .arg(commit)
                .run()
        };
        // A task may have left its index unusable (flags such as assume-unchanged, a damaged
        // file): without it, the checkout writes every file, but it succeeds.
        if checkout().is_err() {
            std::fs::remove_file(admin.join("index"))
                .map_err(|error| GitError::io("remove the worktree's index", &error))?;
            checkout()?;
        }
        in_worktree().args(["clean", "-ffdq"]).run()?;
        Ok(())
    }

    /// Moves the linked worktree in `folder` to `to` (a folder that does not exist yet).
    pub fn move_worktree(&self, folder: &Path, to: &Path) -> Result<PathBuf, GitError> {
        let (folder, to) = (absolute(folder)?, absolute(to)?);
        let _lock = self.lock_worktrees()?;
        self.command()
            .args(["worktree", "move", "--end-of-options"])
            .arg(&folder)
            .arg(&to)
            .run()?;
        Ok(to)
    }
}
