//! The `folder` workspace: every task of the run works in the run's folder, and what it does
//! there is the run's result. No isolation: used outside git, with `--isolation none`,
//! and for a task of an isolated run that says `isolation = "none"`.

use super::{AttemptFolder, AttemptOf, KeptWork, Upstream, Workspace};
use std::path::PathBuf;

/// Runs every attempt in one folder.
pub struct FolderWorkspace {
    /// The run's workspace folder.
    pub root: PathBuf,
}

impl Workspace for FolderWorkspace {
    fn prepare(&self, _: &AttemptOf, _: &[Upstream]) -> Result<AttemptFolder, String> {
        Ok(AttemptFolder {
            root: self.root.clone(),
            start: None,
            env: Vec::new(),
            conflict: None,
        })
    }

    fn keep(&self, _: &AttemptOf, _: &AttemptFolder) -> Result<Option<KeptWork>, String> {
        Ok(None)
    }

    fn discard(&self, _: &AttemptOf, _: &AttemptFolder, _: bool) -> Result<Option<String>, String> {
        Ok(None)
    }

    fn finish(&self, _: &str, _: &[Upstream]) -> Result<Option<String>, String> {
        Ok(None)
    }

    fn blocks(&self) -> bool {
        false
    }
}
