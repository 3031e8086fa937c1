//! Handing a run's result to the user (`wfc run --into BRANCH`): a branch moves to the result
//! only when that is a fast-forward, by compare-and-swap; when the branch is checked out in
//! the user's clean checkout at the commit it was, the checkout's files follow, exactly as
//! `git merge --ff-only` would. Anything else is left as it is, and the caller says why.

use super::refs::{Expect, RefUpdate};
use super::{Git, GitError, Head, Oid, RefName};

/// What became of the branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handed {
    /// The branch (not checked out anywhere) now points at the result.
    Moved,
    /// The branch was checked out in the user's clean checkout: it and the files followed.
    CheckedOut,
    /// The branch was made, at the result.
    Created,
    /// The branch was at the result already (the run changed nothing).
    AtResult,
    /// Left as it was, and why.
    Left(String),
}

impl Git {
    /// Whether `ancestor` is `commit` or one of its ancestors.
    pub fn is_ancestor(&self, ancestor: &Oid, commit: &Oid) -> Result<bool, GitError> {
        let output = self
            .command()
            .args(["merge-base", "--is-ancestor", "--end-of-options"])
            .arg(ancestor)
            .arg(commit)
            .output()?;
        match output.code {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(output.failure()),
        }
    }

    /// Moves branch `branch` to `result` if that is a fast-forward (see the module's text).
    pub fn fast_forward(&self, branch: &str, result: &Oid) -> Result<Handed, GitError> {
        let name = RefName::branch(branch)?;
        let Some(current) = self.read_ref(&name)? else {
            return Ok(match self.update_ref(&name, result, &Expect::Missing)? {
                RefUpdate::Done => Handed::Created,
                RefUpdate::Stale { .. } => Handed::Left(format!("`{branch}` was made meanwhile")),
            });
        };
        if &current == result {
            return Ok(Handed::AtResult);
        }
        if !self.is_ancestor(&current, result)? {
            return Ok(Handed::Left(format!(
                "`{branch}` has commits the result does not have (it moved since the run \
                 started): merge the result yourself"
            )));
        }
        let worktrees = self.worktrees()?;
        let checked_out = worktrees
            .iter()
            .position(|worktree| worktree.branch.as_deref() == Some(name.as_str()));
        match checked_out {
            None => Ok(
                match self.update_ref(&name, result, &Expect::Value(current))? {
                    RefUpdate::Done => Handed::Moved,
                    RefUpdate::Stale { .. } => Handed::Left(format!("`{branch}` moved meanwhile")),
                },
            ),
            Some(0) => self.fast_forward_checkout(branch, &current, result),
            Some(_) => Ok(Handed::Left(format!(
                "`{branch}` is checked out in another worktree of yours"
            ))),
        }
    }

    /// Fast-forwards the user's checkout, on `branch` at `current`, to `result`, if it is
    /// clean; its files follow.
    fn fast_forward_checkout(
        &self,
        branch: &str,
        current: &Oid,
        result: &Oid,
    ) -> Result<Handed, GitError> {
        let state = self.repo_state()?;
        let at_current = matches!(&state.head, Head::Branch { commit, .. } if commit == current);
        if !state.operations.is_empty() || !at_current {
            return Ok(Handed::Left(format!(
                "your checkout of `{branch}` is busy (an operation in progress)"
            )));
        }
        if !state.is_clean() {
            return Ok(Handed::Left(format!(
                "your checkout of `{branch}` has uncommitted changes"
            )));
        }
        self.command()
            .args([
                "merge",
                "--ff-only",
                "--quiet",
                "--no-edit",
                "--end-of-options",
            ])
            .arg(result)
            .run()?;
        Ok(Handed::CheckedOut)
    }
}
