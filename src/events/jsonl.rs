//! `--events jsonl:PATH`: one JSON object per line, appended to a file.

use super::{Event, EventSink};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Appends each event to a file as a line of JSON.
pub struct JsonlSink {
    path: PathBuf,
    file: Mutex<Option<std::fs::File>>,
}

impl JsonlSink {
    /// Opens (creating) `path` for appending. Failing here, before the run starts, is the
    /// loud failure a user wants for a mistyped path.
    pub fn open(path: &Path) -> Result<JsonlSink, String> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open the event file {}: {e}", path.display()))?;
        Ok(JsonlSink {
            path: path.to_path_buf(),
            file: Mutex::new(Some(file)),
        })
    }
}

impl EventSink for JsonlSink {
    fn emit(&self, event: &Event) {
        let Ok(mut line) = serde_json::to_string(event) else {
            return;
        };
        line.push('\n');
        let mut guard = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(file) = guard.as_mut() {
            // One write per line keeps lines whole even when several engines append.
            if let Err(error) = file.write_all(line.as_bytes()) {
                eprintln!(
                    "warning: cannot write events to {}: {error}; no more events go there",
                    self.path.display()
                );
                *guard = None;
            }
        }
    }
}
