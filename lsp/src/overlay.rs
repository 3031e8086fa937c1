//! The loader the checker reads imports through: the editor's unsaved text for documents that
//! are open, the file system for the rest.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wfc::check::Loader;
use wfc::user_file::{read_user_file, MAX_USER_FILE_BYTES};

/// Open documents by file path, in front of the file system.
#[derive(Clone, Debug, Default)]
pub struct Overlay {
    open: HashMap<PathBuf, Arc<String>>,
}

impl Overlay {
    /// An overlay of the given open documents.
    pub fn new(open: HashMap<PathBuf, Arc<String>>) -> Self {
        Overlay { open }
    }
}

impl Loader for Overlay {
    fn load(&self, path: &Path) -> Result<Vec<u8>, String> {
        if let Some(text) = self.open.get(path) {
            return Ok(text.as_bytes().to_vec());
        }
        read_user_file(path, MAX_USER_FILE_BYTES)
    }
}
