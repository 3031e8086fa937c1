//! Why a git operation could not be done. Outcomes a caller must decide about (a merge
//! conflict, a ref that moved, an operation in progress) are typed values, not errors.

use super::version::{GitVersion, MINIMUM_VERSION};
use std::fmt;
use std::path::PathBuf;

/// Why a git operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GitError {
    /// The git program could not be started.
    Missing {
        /// The program, as given.
        program: PathBuf,
        /// Why it could not be started.
        reason: String,
    },
    /// The git program is older than wfc needs.
    TooOld {
        /// The program, as given.
        program: PathBuf,
        /// What `git --version` printed.
        found: String,
        /// The oldest version that works.
        needed: GitVersion,
    },
    /// The folder is not inside a git repository.
    NotARepository {
        /// The folder.
        path: PathBuf,
        /// What git said.
        reason: String,
    },
    /// A git command ended with a failure.
    Failed {
        /// The command, for the message (never run from this text).
        command: String,
        /// Its exit code, or `None` if a signal ended it.
        code: Option<i32>,
        /// What it printed on standard error.
        stderr: String,
    },
    /// A git command printed something wfc does not understand.
    Unexpected {
        /// The command, for the message.
        command: String,
        /// What was wrong with its output.
        reason: String,
    },
    /// A file operation around git failed (a temporary index, a worktree folder).
    Io {
        /// What was being done.
        action: String,
        /// Why it failed.
        reason: String,
    },
    /// A value cannot be used as asked (an invalid ref name, an empty list of commits, a
    /// folder that is not one of the repository's worktrees).
    Invalid {
        /// What was wrong, naming the value.
        reason: String,
    },
}

impl GitError {
    /// A [`GitError::Invalid`] with `reason`.
    pub fn invalid(reason: impl Into<String>) -> GitError {
        GitError::Invalid {
            reason: reason.into(),
        }
    }

    /// An [`GitError::Io`] for `action` that failed with `error`.
    pub fn io(action: impl Into<String>, error: &std::io::Error) -> GitError {
        GitError::Io {
            action: action.into(),
            reason: error.to_string(),
        }
    }
}

impl fmt::Display for GitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GitError::Missing { program, reason } => write!(
                f,
                "cannot run git (`{}`): {reason}; isolation needs git {} or newer on the PATH",
                program.display(),
                MINIMUM_VERSION
            ),
            GitError::TooOld {
                program,
                found,
                needed,
            } => write!(
                f,
                "`{}` is `{found}`, but isolation needs git {needed} or newer (for \
                 `git merge-tree --write-tree`); install a newer git",
                program.display()
            ),
            GitError::NotARepository { path, reason } => write!(
                f,
                "`{}` is not inside a git repository: {reason}",
                path.display()
            ),
            GitError::Failed {
                command,
                code,
                stderr,
            } => {
                let code = match code {
                    Some(code) => format!("exit code {code}"),
                    None => "killed by a signal".to_string(),
                };
                let stderr = stderr.trim();
                if stderr.is_empty() {
                    write!(f, "`{command}` failed ({code})")
                } else {
                    write!(f, "`{command}` failed ({code}): {stderr}")
                }
            }
            GitError::Unexpected { command, reason } => {
                write!(f, "`{command}` printed something unexpected: {reason}")
            }
            GitError::Io { action, reason } => write!(f, "cannot {action}: {reason}"),
            GitError::Invalid { reason } => f.write_str(reason),
        }
    }
}

impl std::error::Error for GitError {}
