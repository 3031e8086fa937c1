//! Running the beads CLI: one process a call, every value a separate argv element (never a
//! shell), a time limit on each call, and failures turned into errors that name the command
//! and say what it printed.

use crate::runtime::BackendError;
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// The two beads CLIs, which agree on the commands wfc uses except where
/// [`super::commands`] says otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// The Go `bd` (steveyegge/beads).
    Bd,
    /// The Rust `br` (the `beads_rust` crate).
    Br,
}

impl Dialect {
    /// The dialect a `--version` line announces (`br 0.7.6`, `bd version 1.0.5 (dev)`), else
    /// the one the program's file name says.
    pub fn detect(version: &str, program: &Path) -> Option<Dialect> {
        let first = version.lines().next().unwrap_or("").trim();
        if first.starts_with("bd version") || first.starts_with("bd ") {
            return Some(Dialect::Bd);
        }
        if first.starts_with("br ") || first.starts_with("beads_rust") {
            return Some(Dialect::Br);
        }
        match program.file_name().and_then(|n| n.to_str()) {
            Some("bd") => Some(Dialect::Bd),
            Some("br") => Some(Dialect::Br),
            _ => None,
        }
    }

    /// The CLI's usual name.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Bd => "bd",
            Dialect::Br => "br",
        }
    }
}

/// What a finished call printed.
#[derive(Clone, Debug)]
pub struct Output {
    /// The exit code (`-1` if a signal ended it).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Why a call did not finish with exit code 0.
#[derive(Debug)]
pub enum Failure {
    /// The program could not be started.
    Spawn(std::io::Error),
    /// It ran longer than the time limit and was killed.
    TimedOut(Duration),
    /// It exited with a non-zero code.
    Exit(Output),
}

/// Environment variables that would change what the CLIs print or which store they open;
/// wfc sets what it needs explicitly (`BEADS_DIR`, `--actor`).
const CLEARED_ENV: &[&str] = &[
    "BEADS_DB",
    "BD_JSON_ENVELOPE",
    "BR_OUTPUT_FORMAT",
    "TOON_DEFAULT_FORMAT",
    "BEADS_ACTOR",
    "BD_ACTOR",
];

/// How long a call that timed out and was killed may take to be reaped.
const REAP_LIMIT: Duration = Duration::from_secs(5);

/// One beads CLI bound to one store.
#[derive(Debug)]
pub struct Cli {
    program: PathBuf,
    dialect: Dialect,
    dir: PathBuf,
    beads_dir: PathBuf,
    timeout: Duration,
    calls: AtomicU64,
}

impl Cli {
    /// Finds which CLI `program` is by running `program --version` in `dir` (the folder that
    /// holds `.beads`).
    pub fn detect(program: &Path, dir: &Path, timeout: Duration) -> Result<Cli, BackendError> {
        let mut cli = Cli {
            program: program.to_path_buf(),
            dialect: Dialect::Br,
            dir: dir.to_path_buf(),
            beads_dir: dir.join(".beads"),
            timeout,
            calls: AtomicU64::new(0),
        };
        let args = ["--version".to_string()];
        let output = cli.run(&args, None).map_err(|f| cli.error(&args, f))?;
        cli.dialect = Dialect::detect(&output.stdout, program).ok_or_else(|| {
            BackendError::storage(
                format!(
                    "`{} --version` printed `{}`, which is neither bd nor br",
                    program.display(),
                    output.stdout.trim()
                ),
                "name the beads CLI with `beads:DIR?bin=br` (or bd), or with WFC_BEADS_BIN",
            )
        })?;
        Ok(cli)
    }

    /// Which CLI this is.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The program run.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// How many calls this object has made, for the benchmark and tests.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Runs the CLI with `args` (and `stdin`, if given), and returns what it printed if it
    /// exited with 0; otherwise a `Storage` error naming the command and its message.
    pub fn call(&self, args: &[String], stdin: Option<&[u8]>) -> Result<Output, BackendError> {
        self.run(args, stdin).map_err(|f| self.error(args, f))
    }

    /// Runs the CLI with `args`, killing it (and what it started) after the time limit.
    pub fn run(&self, args: &[String], stdin: Option<&[u8]>) -> Result<Output, Failure> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut command = Command::new(&self.program);
        command
            .args(args.iter().map(OsString::from))
            .current_dir(&self.dir)
            .env("BEADS_DIR", &self.beads_dir)
            .env("NO_COLOR", "1")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so a timeout kills everything it started.
            .process_group(0);
        for name in CLEARED_ENV {
            command.env_remove(name);
        }
        let mut child = command.spawn().map_err(Failure::Spawn)?;
        let pid = child.id();
        let writer = match (stdin, child.stdin.take()) {
            (Some(bytes), Some(mut pipe)) => {
                let bytes = bytes.to_vec();
                // A separate thread, so a child that prints a lot before reading its input
                // cannot deadlock with us.
                Some(std::thread::spawn(move || {
                    let _ = pipe.write_all(&bytes);
                }))
            }
            _ => None,
        };
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = sender.send(child.wait_with_output());
        });
        let finished = match receiver.recv_timeout(self.timeout) {
            Ok(result) => result,
            Err(_) => {
                if let Ok(pid) = i32::try_from(pid) {
                    let _ = nix::sys::signal::killpg(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                // Reap it, so no zombie is left behind, but only for a while: a process that
                // left the group (`setsid`) and still holds the pipes would keep the waiting
                // thread (and the stdin writer) blocked for ever, and this call must end. The
                // threads are then left to finish when the pipes close.
                let _ = receiver.recv_timeout(REAP_LIMIT);
                return Err(Failure::TimedOut(self.timeout));
            }
        };
        if let Some(writer) = writer {
            let _ = writer.join();
        }
        let output = finished.map_err(Failure::Spawn)?;
        let result = Output {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        if output.status.success() {
            Ok(result)
        } else {
            Err(Failure::Exit(result))
        }
    }

    /// The error for a failed call of `args`.
    pub fn error(&self, args: &[String], failure: Failure) -> BackendError {
        let command = self.display(args);
        match failure {
            Failure::Spawn(error) if error.kind() == std::io::ErrorKind::NotFound => {
                BackendError::storage(
                    format!(
                        "beads backend: cannot run `{command}`: `{}` was not found",
                        self.program.display()
                    ),
                    super::INSTALL_HINT,
                )
            }
            Failure::Spawn(error) => BackendError::storage(
                format!("beads backend: cannot run `{command}`: {error}"),
                "check that the beads CLI is an executable file",
            ),
            Failure::TimedOut(limit) => BackendError::storage(
                format!(
                    "beads backend: `{command}` did not finish within {}s and was stopped",
                    limit.as_secs_f64()
                ),
                format!(
                    "look for a stuck {} process or a locked store in `{}`; a longer limit is \
                     `beads:DIR?timeout=SECONDS`",
                    self.dialect.name(),
                    self.beads_dir.display()
                ),
            ),
            Failure::Exit(output) => BackendError::storage(
                format!(
                    "beads backend: `{command}` failed (exit {}): {}",
                    output.code,
                    super::json::error_message(&output)
                ),
                format!(
                    "run the command in `{}` to see more; `{} doctor` checks the store",
                    self.dir.display(),
                    self.dialect.name()
                ),
            ),
        }
    }

    /// The command as a person reads it: each argument quoted when needed, long ones cut.
    pub fn display(&self, args: &[String]) -> String {
        let mut text = self
            .program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.program.display().to_string());
        for arg in args {
            text.push(' ');
            text.push_str(&shown(arg));
        }
        text
    }

    /// The folder that holds `.beads`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// One argument for an error message: at most 60 characters, line breaks as `\n`, quoted
/// when a shell would split it.
fn shown(arg: &str) -> String {
    let mut text: String = arg.chars().take(60).collect();
    if text.len() < arg.len() {
        text.push('…');
    }
    let text = text.replace('\n', "\\n");
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.,:=/@+".contains(c))
        && !text.is_empty()
    {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialects_are_told_apart_by_their_version_line() {
        let any = Path::new("/usr/local/bin/beads");
        assert_eq!(Dialect::detect("br 0.7.6\n", any), Some(Dialect::Br));
        assert_eq!(
            Dialect::detect("bd version 1.0.5 (dev: main@fbcee6c)\n", any),
            Some(Dialect::Bd)
        );
        assert_eq!(Dialect::detect("", Path::new("/x/bd")), Some(Dialect::Bd));
        assert_eq!(Dialect::detect("?", any), None);
    }

    #[test]
    fn arguments_are_shown_quoted_and_cut() {
        assert_eq!(shown("--json"), "--json");
        assert_eq!(shown("--title=a b"), "'--title=a b'");
        assert_eq!(shown("it's\nx"), r"'it'\''s\nx'");
        assert!(shown(&"y".repeat(100)).ends_with("…'"));
    }
}
