//! Turning a finished attempt's folder into its output commit, without touching any index but
//! a private one: the commit's tree is exactly what the folder holds (tracked, changed, new
//! and deleted files, honouring `.gitignore`), its one parent the attempt's start commit.

use super::commit_message::CommitMessage;
use super::error::GitError;
use super::git::{absolute, Git};
use super::oid::Oid;
use std::path::{Path, PathBuf};

impl Git {
    /// Commits everything `folder` holds, compared with `start`, as one commit whose parent is
    /// `start`; returns `start` itself if nothing changed.
    ///
    /// `folder` is usually a worktree made by [`Git::add_worktree`], but nothing here reads its
    /// `.git` file or its index: git is pointed at the repository and the folder explicitly,
    /// with a temporary index filled from `start`, so a task that deleted or replaced `.git`,
    /// moved the worktree's HEAD or made commits of its own still yields exactly the folder's
    /// content, and the user's index is never read or written.
    pub fn commit_all(
        &self,
        folder: &Path,
        start: &Oid,
        message: &CommitMessage,
    ) -> Result<Oid, GitError> {
        self.commit_all_from(folder, start, None, message)
    }

    /// [`Git::commit_all`], with the private index seeded from `seed`: a copy of the index
    /// git wrote when it checked `start` out in `folder`, taken before any task ran there.
    /// Its entries carry the files' stat data, so `add --all` hashes only the files that
    /// changed instead of every file. Without a seed (or with one that cannot be read) the
    /// index is filled from `start`, as before.
    pub fn commit_all_from(
        &self,
        folder: &Path,
        start: &Oid,
        seed: Option<&Path>,
        message: &CommitMessage,
    ) -> Result<Oid, GitError> {
        let folder = absolute(folder)?;
        if !folder.is_dir() {
            return Err(GitError::invalid(format!(
                "cannot commit `{}`: the folder is gone",
                folder.display()
            )));
        }
        let index = TemporaryIndex::new()?;
        let in_folder = || {
            let mut git_dir = std::ffi::OsString::from("--git-dir=");
            git_dir.push(self.common_dir());
            let mut work_tree = std::ffi::OsString::from("--work-tree=");
            work_tree.push(&folder);
            self.command_in(&folder)
                .arg(git_dir)
                .arg(work_tree)
                .env("GIT_INDEX_FILE", index.path())
        };
        let seeded = seed.is_some_and(|seed| std::fs::copy(seed, index.path()).is_ok());
        if !seeded {
            in_folder()
                .args(["read-tree", "--end-of-options"])
                .arg(start)
                .run()?;
        }
        in_folder().args(["add", "--all"]).run()?;
        let tree = in_folder().arg("write-tree").run()?.oid()?;
        if tree == self.tree_of(start)? {
            return Ok(start.clone());
        }
        self.commit_tree(&tree, std::slice::from_ref(start), message)
    }

    /// Makes a commit of `tree` with `parents` (in order) and `message`, as wfc, unsigned.
    pub fn commit_tree(
        &self,
        tree: &Oid,
        parents: &[Oid],
        message: &CommitMessage,
    ) -> Result<Oid, GitError> {
        let mut command = self.command().args(["commit-tree", "--no-gpg-sign"]);
        for parent in parents {
            command = command.arg("-p").arg(parent);
        }
        command
            .args(["-F", "-"])
            .arg(tree)
            .stdin(message.render().into_bytes())
            .run()?
            .oid()
    }
}

/// An index file of wfc's own, in a new folder of the system's temporary folder that is
/// removed (with the index and git's lock file) when dropped.
struct TemporaryIndex(PathBuf);

impl TemporaryIndex {
    fn new() -> Result<TemporaryIndex, GitError> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.subsec_nanos());
        let name = format!(
            "wfc-index-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let folder = std::env::temp_dir().join(name);
        // A new folder (`create_dir` fails if it exists), so git never reads a stranger's
        // index as ours.
        std::fs::create_dir(&folder)
            .map_err(|error| GitError::io("create a temporary index folder", &error))?;
        Ok(TemporaryIndex(folder))
    }

    fn path(&self) -> PathBuf {
        self.0.join("index")
    }
}

impl Drop for TemporaryIndex {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
