//! Transcripts: what an agent session printed, kept per attempt so `wfc show` can say what the
//! agent did. Each session's stdout lines (the CLI's JSON event stream, or plain text) and
//! stderr lines are written, redacted line by line, to a JSON-lines file in the run's
//! workspace:
//!
//! ```text
//! WORKSPACE/.wfc/transcripts/RUN/TASK/ATTEMPT.jsonl            the attempt's session
//! WORKSPACE/.wfc/transcripts/RUN/TASK/ATTEMPT-conflict.jsonl   the session that resolved a conflict
//! ```
//!
//! The first line says which adapter ran (`{"adapter":"claude-code","attempt":1}`); then one
//! object a line, `{"ms":…,"stdout":"…"}` or `{"ms":…,"stderr":"…"}` (milliseconds since the
//! session started). A transcript is cut at [`TRANSCRIPT_LIMIT`] bytes, with a last line
//! `{"cut":"…"}` that says so.
//!
//! Files, not the store: a transcript is large (a session that reads files prints them) and
//! read only by `wfc show`, while the event log is read whole by `wfc status` and `wfc logs`.
//! The run's workspace is where every engine of the run works (it refuses to work elsewhere),
//! so every attempt's transcript lands in one folder, beside the default store and the run's
//! worktrees; [`remove_run_transcripts`] deletes a run's.

use crate::events::Redactor;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

/// The most bytes one session's transcript holds: a runaway session cannot fill the disk, and
/// a session that read a few large files still fits.
pub const TRANSCRIPT_LIMIT: usize = 8 * 1024 * 1024;

/// One line of a transcript file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TranscriptLine {
    /// The first line: which adapter the session ran with.
    Header {
        /// The adapter's name, as in `adapter = "…"`.
        adapter: String,
        /// The attempt, from 1.
        attempt: u32,
    },
    /// A line the session printed on stdout.
    Stdout {
        /// Milliseconds since the session started.
        ms: u64,
        /// The line, redacted, without its newline.
        stdout: String,
    },
    /// A line the session printed on stderr.
    Stderr {
        /// Milliseconds since the session started.
        ms: u64,
        /// The line, redacted, without its newline.
        stderr: String,
    },
    /// The transcript was cut here.
    Cut {
        /// Why, and how much was kept.
        cut: String,
    },
}

/// Which session of an attempt a transcript is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionPurpose {
    /// The attempt's work.
    Work,
    /// The session that resolved its upstream tasks' conflicting work first.
    ResolveConflict,
}

impl SessionPurpose {
    /// The words `wfc show` and the `prompt_sent` event use for it.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionPurpose::Work => "work",
            SessionPurpose::ResolveConflict => "resolve a conflict",
        }
    }
}

/// The folder of every transcript of the runs of `workspace`.
pub fn transcripts_root(workspace: &Path) -> PathBuf {
    workspace.join(".wfc").join("transcripts")
}

/// The transcript file of one session of `attempt` of `task` in `run`.
pub fn transcript_path(
    workspace: &Path,
    run: &str,
    task: &str,
    attempt: u32,
    purpose: SessionPurpose,
) -> PathBuf {
    let name = match purpose {
        SessionPurpose::Work => format!("{attempt}.jsonl"),
        SessionPurpose::ResolveConflict => format!("{attempt}-conflict.jsonl"),
    };
    transcripts_root(workspace)
        .join(file_name(run))
        .join(file_name(task))
        .join(name)
}

/// The folder of every transcript of `run` in `workspace`.
pub fn run_transcripts(workspace: &Path, run: &str) -> PathBuf {
    transcripts_root(workspace).join(file_name(run))
}

/// Deletes every transcript of `run` in `workspace` (pruning a run removes them with it). A
/// run without transcripts is not an error.
pub fn remove_run_transcripts(workspace: &Path, run: &str) -> std::io::Result<()> {
    let folder = run_transcripts(workspace, run);
    match std::fs::remove_dir_all(&folder) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// `id` as one file name: task ids such as `review[a/b]` hold characters a path must not, so
/// every byte other than a letter, digit, `-`, `_` or `.` is written `%XX` (and a name of dots
/// only is escaped too).
fn file_name(id: &str) -> String {
    let mut name = String::new();
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_') {
            name.push(byte as char);
        } else if byte == b'.' && !id.bytes().all(|b| b == b'.') {
            name.push('.');
        } else {
            name.push_str(&format!("%{byte:02X}"));
        }
    }
    name
}

/// Reads a transcript file.
pub fn read_transcript(path: &Path) -> std::io::Result<Vec<TranscriptLine>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect())
}

/// Writes one session's transcript as the session prints. Writing never fails the session:
/// a transcript that cannot be written is reported once on stderr and then not kept.
pub struct Transcript {
    state: Mutex<Writer>,
    redactor: Redactor,
    started: Instant,
}

struct Writer {
    file: Option<std::fs::File>,
    written: usize,
    path: PathBuf,
}

impl Transcript {
    /// A transcript that keeps nothing (a run whose workspace this engine cannot reach).
    pub fn none() -> Transcript {
        Transcript {
            state: Mutex::new(Writer {
                file: None,
                written: 0,
                path: PathBuf::new(),
            }),
            redactor: Redactor::default(),
            started: Instant::now(),
        }
    }

    /// A new transcript at `path` (replacing one an interrupted attempt left), with no secret
    /// of `redactor` in it.
    pub fn create(path: PathBuf, redactor: Redactor) -> Transcript {
        let file =
            std::fs::create_dir_all(path.parent().unwrap_or(Path::new("."))).and_then(|()| {
                use std::os::unix::fs::OpenOptionsExt;
                std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o600)
                    .open(&path)
            });
        let file = match file {
            Ok(file) => Some(file),
            Err(error) => {
                eprintln!(
                    "warning: cannot write the transcript {}: {error}",
                    path.display()
                );
                None
            }
        };
        Transcript {
            state: Mutex::new(Writer {
                file,
                written: 0,
                path,
            }),
            redactor,
            started: Instant::now(),
        }
    }

    /// Writes the header: the adapter the session runs with.
    pub fn header(&self, adapter: &str, attempt: u32) {
        self.write(&TranscriptLine::Header {
            adapter: adapter.to_string(),
            attempt,
        });
    }

    /// Keeps a line of the session's stdout.
    pub fn stdout(&self, line: &str) {
        let ms = self.started.elapsed().as_millis() as u64;
        let stdout = self.redactor.text(line);
        self.write(&TranscriptLine::Stdout { ms, stdout });
    }

    /// Keeps a line of the session's stderr.
    pub fn stderr(&self, line: &str) {
        let ms = self.started.elapsed().as_millis() as u64;
        let stderr = self.redactor.text(line);
        self.write(&TranscriptLine::Stderr { ms, stderr });
    }

    fn write(&self, line: &TranscriptLine) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Writer {
            file,
            written,
            path,
        } = &mut *state;
        let Some(open) = file.as_mut() else { return };
        let Ok(mut text) = serde_json::to_string(line) else {
            return;
        };
        text.push('\n');
        let mut over = false;
        if *written + text.len() > TRANSCRIPT_LIMIT {
            over = true;
            let cut = TranscriptLine::Cut {
                cut: format!(
                    "the transcript was cut here, at {} MiB; the session went on",
                    TRANSCRIPT_LIMIT / (1024 * 1024)
                ),
            };
            text = serde_json::to_string(&cut).unwrap_or_default();
            text.push('\n');
        }
        if let Err(error) = open.write_all(text.as_bytes()) {
            eprintln!(
                "warning: cannot write the transcript {}: {error}",
                path.display()
            );
            over = true;
        }
        *written += text.len();
        if over {
            *file = None;
        }
    }
}

/// Splits a stream read in chunks into lines, for a transcript and a parser: a line longer
/// than `limit` is cut there (its rest dropped), and a last line without a newline is given
/// by [`LineSplitter::finish`].
pub struct LineSplitter {
    line: Vec<u8>,
    overlong: bool,
    limit: usize,
}

impl LineSplitter {
    /// A splitter that keeps at most `limit` bytes of a line.
    pub fn new(limit: usize) -> Self {
        LineSplitter {
            line: Vec::new(),
            overlong: false,
            limit,
        }
    }

    /// Feeds `bytes`; calls `each` with every line they complete, and whether it was cut.
    pub fn feed(&mut self, bytes: &[u8], mut each: impl FnMut(&str, bool)) {
        for &byte in bytes {
            if byte == b'\n' {
                let text = String::from_utf8_lossy(&self.line);
                each(text.trim_end_matches('\r'), self.overlong);
                self.line.clear();
                self.overlong = false;
            } else if self.line.len() < self.limit {
                self.line.push(byte);
            } else {
                self.overlong = true;
            }
        }
    }

    /// The last line, if the stream ended without a newline after it.
    pub fn finish(&mut self, mut each: impl FnMut(&str, bool)) {
        if !self.line.is_empty() {
            let text = String::from_utf8_lossy(&self.line);
            each(text.trim_end_matches('\r'), self.overlong);
        }
        self.line.clear();
        self.overlong = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_single_file_names() {
        assert_eq!(file_name("review[a/b]"), "review%5Ba%2Fb%5D");
        assert_eq!(file_name(".."), "%2E%2E");
        assert_eq!(file_name("v1.2"), "v1.2");
    }

    #[test]
    fn lines_are_split_and_cut() {
        let mut lines = Vec::new();
        let mut splitter = LineSplitter::new(4);
        splitter.feed(b"ab\r\ncdefgh\ni", |l, cut| {
            lines.push((l.to_string(), cut))
        });
        splitter.finish(|l, cut| lines.push((l.to_string(), cut)));
        assert_eq!(
            lines,
            [
                ("ab".to_string(), false),
                ("cdef".to_string(), true),
                ("i".to_string(), false)
            ]
        );
    }
}
