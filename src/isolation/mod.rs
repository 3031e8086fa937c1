//! Isolation's git layer: a small, blocking API over the real `git` CLI that the `git`
//! workspace builds on (docs/architecture.md, "The isolation git layer").
//!
//! A task attempt runs in a detached worktree at its start commit ([`worktrees`]); a start
//! commit with several upstreams is a merge built without a checkout ([`merge`]); a finished
//! attempt becomes one commit built through a private index ([`commit`]); refs keep the commits
//! alive, updated by compare-and-swap ([`refs`]); [`diff`] describes what a commit changed; and
//! [`repo_state`] says whether the user's checkout is fit to start a run from.
//!
//! Invariant: nothing here touches the user's checkout, index, HEAD or branches, except a ref
//! the caller names to [`Git::update_ref`] or [`Git::delete_ref`]. Every value is data: a path
//! is made absolute and passed after `--end-of-options`, a commit or ref name is a checked
//! [`Oid`] or [`RefName`], and a message goes on stdin; no value is ever parsed by a shell or
//! taken by git as an option.

pub mod commit;
pub mod commit_info;
pub mod commit_message;
pub mod diff;
pub mod error;
pub mod fast_forward;
pub mod git;
pub mod ignored;
pub mod merge;
pub mod oid;
pub mod ref_name;
pub mod refs;
pub mod remote;
pub mod repo_state;
pub mod version;
pub mod worktrees;

pub use commit_info::CommitInfo;
pub use commit_message::CommitMessage;
pub use diff::{ChangeKind, DiffStat, FileChange};
pub use error::GitError;
pub use fast_forward::Handed;
pub use git::Git;
pub use merge::{Conflict, MergeOutcome};
pub use oid::Oid;
pub use ref_name::RefName;
pub use refs::{Expect, RefUpdate};
pub use remote::{Publish, RemoteUrl};
pub use repo_state::{Head, Operation, RepoState};
pub use version::{GitVersion, MINIMUM_VERSION};
pub use worktrees::Worktree;
