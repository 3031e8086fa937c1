//! What the user's checkout is when a run starts: which commit and branch, whether it has
//! changes, and whether an operation (a rebase, a merge, …) is half done. Each is a value the
//! caller judges; reading it writes nothing (not even the index's cached file times).

use super::error::GitError;
use super::git::Git;
use super::oid::Oid;

/// What HEAD is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Head {
    /// On a branch.
    Branch {
        /// The branch's short name (`main`).
        name: String,
        /// Its commit.
        commit: Oid,
    },
    /// A commit, on no branch.
    Detached {
        /// The commit.
        commit: Oid,
    },
    /// On a branch that has no commit yet (a new repository).
    Unborn {
        /// The branch's short name.
        name: String,
    },
}

/// An operation that stopped half done and waits for the user to continue or abort it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `git rebase`.
    Rebase,
    /// `git am`.
    Am,
    /// `git merge`.
    Merge,
    /// `git cherry-pick`.
    CherryPick,
    /// `git revert`.
    Revert,
    /// `git bisect`.
    Bisect,
}

impl Operation {
    /// The git command that started it, for messages.
    pub fn command(self) -> &'static str {
        match self {
            Operation::Rebase => "git rebase",
            Operation::Am => "git am",
            Operation::Merge => "git merge",
            Operation::CherryPick => "git cherry-pick",
            Operation::Revert => "git revert",
            Operation::Bisect => "git bisect",
        }
    }
}

/// The state of a checkout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoState {
    /// What HEAD is.
    pub head: Head,
    /// Tracked paths with changes, staged or not, and unmerged paths; sorted.
    pub changed: Vec<String>,
    /// Untracked paths that are not ignored (a new folder as one entry); sorted.
    pub untracked: Vec<String>,
    /// Operations in progress (usually none, at most a few).
    pub operations: Vec<Operation>,
}

impl RepoState {
    /// Whether no tracked file differs from HEAD (untracked files do not count).
    pub fn is_clean(&self) -> bool {
        self.changed.is_empty()
    }

    /// The commit HEAD points at, unless the branch is unborn.
    pub fn commit(&self) -> Option<&Oid> {
        match &self.head {
            Head::Branch { commit, .. } | Head::Detached { commit } => Some(commit),
            Head::Unborn { .. } => None,
        }
    }
}

/// The files and folders in the git folder that show an operation in progress.
const MARKERS: &[(&str, Operation)] = &[
    ("rebase-merge", Operation::Rebase),
    ("MERGE_HEAD", Operation::Merge),
    ("CHERRY_PICK_HEAD", Operation::CherryPick),
    ("REVERT_HEAD", Operation::Revert),
    ("BISECT_LOG", Operation::Bisect),
];

impl Git {
    /// The state of the repository's checkout; a bare repository has none.
    pub fn repo_state(&self) -> Result<RepoState, GitError> {
        if self.work_tree().is_none() {
            return Err(GitError::invalid(format!(
                "`{}` is a bare repository: it has no checkout",
                self.common_dir().display()
            )));
        }
        // Porcelain v2 is git's stable, parseable status; renames off, so every entry names
        // one path.
        let output = self
            .command()
            .args([
                "status",
                "--porcelain=v2",
                "--branch",
                "-z",
                "--no-renames",
                "--untracked-files=normal",
            ])
            .run()?;
        let mut oid = None;
        let mut branch = None;
        let mut changed = Vec::new();
        let mut untracked = Vec::new();
        for entry in output.fields() {
            if let Some(value) = entry.strip_prefix("# branch.oid ") {
                oid = Oid::parse(value).ok();
            } else if let Some(value) = entry.strip_prefix("# branch.head ") {
                branch = (value != "(detached)").then(|| value.to_string());
            } else if let Some(path) = entry.strip_prefix("? ") {
                untracked.push(path.to_string());
            } else if entry.starts_with("1 ") {
                // `1 XY SUB MODE MODE MODE OID OID PATH`
                changed.extend(entry.splitn(9, ' ').nth(8).map(str::to_string));
            } else if entry.starts_with("u ") {
                // `u XY SUB MODE MODE MODE MODE OID OID OID PATH`
                changed.extend(entry.splitn(11, ' ').nth(10).map(str::to_string));
            }
        }
        let head = match (branch, oid) {
            (Some(name), Some(commit)) => Head::Branch { name, commit },
            (Some(name), None) => Head::Unborn { name },
            (None, Some(commit)) => Head::Detached { commit },
            (None, None) => return Err(output.unexpected("expected HEAD's branch or commit")),
        };
        changed.sort();
        untracked.sort();
        let mut operations: Vec<Operation> = MARKERS
            .iter()
            .filter(|(marker, _)| self.git_dir().join(marker).exists())
            .map(|(_, operation)| *operation)
            .collect();
        // `rebase-apply` is shared: `git am` marks it with an `applying` file.
        let apply = self.git_dir().join("rebase-apply");
        if apply.join("applying").exists() {
            operations.push(Operation::Am);
        } else if apply.exists() {
            operations.push(Operation::Rebase);
        }
        Ok(RepoState {
            head,
            changed,
            untracked,
            operations,
        })
    }
}
