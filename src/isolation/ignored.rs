//! Whether git ignores a path in a worktree: a file copied into a worktree must be one git
//! ignores, or it would become part of the attempt's commit.

use super::error::GitError;
use super::git::{absolute, Git};
use std::path::Path;

impl Git {
    /// Whether the `.gitignore` rules (and `info/exclude`) of the worktree in `folder` ignore
    /// `path`, relative to it; a tracked path is never ignored. `is_folder` says whether
    /// `path` names a folder, which rules such as `node_modules/` match only.
    pub fn is_ignored(&self, folder: &Path, path: &str, is_folder: bool) -> Result<bool, GitError> {
        let folder = absolute(folder)?;
        let mut path = path.to_string();
        if is_folder && !path.ends_with('/') {
            path.push('/');
        }
        let output = self
            .command_in(&folder)
            .args(["check-ignore", "--quiet", "--end-of-options"])
            .arg(&path)
            .output()?;
        match output.code {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(output.failure()),
        }
    }
}
