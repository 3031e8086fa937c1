//! Running git safely: one [`Git`] value per repository, and every command run with a fixed
//! environment, so neither the caller's environment nor a value it passes can redirect git to
//! another repository, make it prompt, page, sign, run hooks or print in another language.

use super::error::GitError;
use super::oid::Oid;
use super::version::{GitVersion, MINIMUM_VERSION};
use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The name and address wfc commits as. wfc's commits are always its own, whatever the user's
/// configuration says, so they are told apart from the user's at a glance.
pub const IDENTITY_NAME: &str = "wfc";

/// The e-mail address of [`IDENTITY_NAME`].
pub const IDENTITY_EMAIL: &str = "wfc@localhost";

/// Configuration given to every command (`git -c NAME=VALUE`), overriding the user's:
/// hooks and the file-system monitor would run the user's programs on wfc's plumbing (a
/// `post-checkout` hook on every worktree it adds); signing would prompt for a key; quoting
/// and colour would change what wfc parses.
const CONFIG: &[&str] = &[
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "commit.gpgSign=false",
    "core.quotePath=false",
    "color.ui=false",
];

/// One repository, and the git program that works on it.
#[derive(Clone, Debug)]
pub struct Git {
    program: PathBuf,
    version: GitVersion,
    work_tree: Option<PathBuf>,
    git_dir: PathBuf,
    common_dir: PathBuf,
}

impl Git {
    /// Opens the repository that holds `path` with the `git` on the PATH; fails with
    /// [`GitError::Missing`] or [`GitError::TooOld`] if that git cannot do isolation, and with
    /// [`GitError::NotARepository`] if `path` is in no repository.
    pub fn open(path: &Path) -> Result<Git, GitError> {
        Git::open_with(Path::new("git"), path)
    }

    /// Opens the repository that holds `path` with the git program `program`.
    pub fn open_with(program: &Path, path: &Path) -> Result<Git, GitError> {
        let version = Git::version_of(program)?;
        let path = absolute(path)?;
        if !path.is_dir() {
            return Err(GitError::NotARepository {
                path,
                reason: "it is not a folder".to_string(),
            });
        }
        let mut git = Git {
            program: program.to_path_buf(),
            version,
            work_tree: None,
            git_dir: PathBuf::new(),
            common_dir: PathBuf::new(),
        };
        let not_a_repository = |error: GitError| match error {
            GitError::Failed { stderr, .. } => GitError::NotARepository {
                path: path.clone(),
                reason: stderr.trim().to_string(),
            },
            other => other,
        };
        let located = git
            .command_in(&path)
            .args([
                "rev-parse",
                "--path-format=absolute",
                "--git-dir",
                "--git-common-dir",
                "--is-bare-repository",
            ])
            .run()
            .map_err(not_a_repository)?;
        let text = located.text();
        let mut lines = text.lines();
        let (Some(git_dir), Some(common_dir), Some(bare)) =
            (lines.next(), lines.next(), lines.next())
        else {
            return Err(located.unexpected("expected three lines"));
        };
        git.git_dir = PathBuf::from(git_dir);
        git.common_dir = PathBuf::from(common_dir);
        if bare != "true" {
            let top = git
                .command_in(&path)
                .args(["rev-parse", "--show-toplevel"])
                .run()
                .map_err(not_a_repository)?;
            git.work_tree = Some(PathBuf::from(top.text().trim_end_matches('\n')));
        }
        Ok(git)
    }

    /// The version of the git program `program`, if isolation works with it.
    pub fn version_of(program: &Path) -> Result<GitVersion, GitError> {
        let mut command = Command::new(program);
        command.arg("--version");
        let output =
            GitCommand::new(command, program, None)
                .output()
                .map_err(|error| match error {
                    GitError::Io { reason, .. } => GitError::Missing {
                        program: program.to_path_buf(),
                        reason,
                    },
                    other => other,
                })?;
        let line = output
            .text()
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        match GitVersion::parse(&line) {
            Some(version) if version.is_supported() => Ok(version),
            Some(_) => Err(GitError::TooOld {
                program: program.to_path_buf(),
                found: line,
                needed: MINIMUM_VERSION,
            }),
            None => Err(GitError::Missing {
                program: program.to_path_buf(),
                reason: format!("`--version` printed `{line}`, which is not git's answer"),
            }),
        }
    }

    /// The version of the git program this value runs.
    pub fn version(&self) -> GitVersion {
        self.version
    }

    /// The top folder of the repository's checkout (`None` for a bare repository).
    pub fn work_tree(&self) -> Option<&Path> {
        self.work_tree.as_deref()
    }

    /// The repository's git folder for this checkout (`.git`, or `.git/worktrees/NAME` when
    /// the repository was opened from a linked worktree).
    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    /// The git folder every worktree of the repository shares: objects, refs, config.
    pub fn common_dir(&self) -> &Path {
        &self.common_dir
    }

    /// The commit `revision` names (`HEAD`, a branch, an id). `revision` is a value: it is
    /// passed after `--end-of-options`, so it is never taken as an option.
    pub fn resolve_commit(&self, revision: &str) -> Result<Oid, GitError> {
        let output = self
            .command()
            .args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
            .arg(format!("{revision}^{{commit}}"))
            .output()?;
        if output.code != Some(0) {
            return Err(GitError::invalid(format!(
                "`{revision}` names no commit in `{}`",
                self.common_dir.display()
            )));
        }
        output.oid()
    }

    /// The tree of `commit`.
    pub fn tree_of(&self, commit: &Oid) -> Result<Oid, GitError> {
        self.command()
            .args(["rev-parse", "--verify", "--end-of-options"])
            .arg(format!("{commit}^{{tree}}"))
            .run()?
            .oid()
    }

    /// A git command for this repository, run in its top folder (its git folder if bare).
    pub(super) fn command(&self) -> GitCommand {
        let dir = self.work_tree.as_deref().unwrap_or(&self.git_dir);
        self.command_in(dir)
    }

    /// A git command run in `dir`, with the fixed environment and configuration.
    pub(super) fn command_in(&self, dir: &Path) -> GitCommand {
        let mut command = Command::new(&self.program);
        for setting in CONFIG {
            command.arg("-c").arg(setting);
        }
        GitCommand::new(command, &self.program, Some(dir))
    }
}

/// `path` made absolute against the current folder, so it can never start with `-`.
pub(super) fn absolute(path: &Path) -> Result<PathBuf, GitError> {
    std::path::absolute(path)
        .map_err(|error| GitError::io(format!("resolve `{}`", path.display()), &error))
}

/// One git command being put together; [`GitCommand::run`] or [`GitCommand::output`] runs it.
pub(super) struct GitCommand {
    command: Command,
    shown: Vec<String>,
    stdin: Option<Vec<u8>>,
    time_limit: Option<Duration>,
}

impl GitCommand {
    fn new(mut command: Command, program: &Path, dir: Option<&Path>) -> GitCommand {
        // Every inherited GIT_ variable goes: GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE,
        // GIT_OBJECT_DIRECTORY, GIT_CONFIG_PARAMETERS and their kin (set, for example, when
        // wfc runs inside a git hook) would point git at another repository, index or
        // configuration than the one this value stands for.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("GIT_") {
                command.env_remove(&name);
            }
        }
        command
            .env_remove("LANGUAGE")
            .env("LC_ALL", "C")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_PAGER", "cat")
            .env("PAGER", "cat")
            // Reading commands (`status`) must not rewrite the user's index to refresh it.
            .env("GIT_OPTIONAL_LOCKS", "0")
            .env("GIT_AUTHOR_NAME", IDENTITY_NAME)
            .env("GIT_AUTHOR_EMAIL", IDENTITY_EMAIL)
            .env("GIT_COMMITTER_NAME", IDENTITY_NAME)
            .env("GIT_COMMITTER_EMAIL", IDENTITY_EMAIL)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        let name = program
            .file_name()
            .map_or_else(|| program.to_string_lossy(), |name| name.to_string_lossy())
            .into_owned();
        GitCommand {
            command,
            shown: vec![name],
            stdin: None,
            time_limit: None,
        }
    }

    /// Adds one argument.
    pub(super) fn arg(mut self, arg: impl AsRef<OsStr>) -> GitCommand {
        self.shown.push(show(arg.as_ref()));
        self.command.arg(arg);
        self
    }

    /// Adds arguments.
    pub(super) fn args<I, S>(mut self, args: I) -> GitCommand
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for arg in args {
            self = self.arg(arg);
        }
        self
    }

    /// Sets an environment variable for this command only.
    pub(super) fn env(mut self, name: &str, value: impl AsRef<OsStr>) -> GitCommand {
        self.command.env(name, value);
        self
    }

    /// Gives the command `bytes` on standard input (otherwise it reads nothing).
    pub(super) fn stdin(mut self, bytes: Vec<u8>) -> GitCommand {
        self.stdin = Some(bytes);
        self
    }

    /// Stops the command (and every process it started) if it has not ended after `limit`:
    /// it runs in a process group of its own, which is killed then, and the command fails
    /// as one that could not talk to the other side. For commands that wait on a remote that
    /// may never answer.
    pub(super) fn time_limit(mut self, limit: Duration) -> GitCommand {
        self.command.process_group(0);
        self.time_limit = Some(limit);
        self
    }

    /// Runs the command and returns what it printed if it exited with 0, else
    /// [`GitError::Failed`] with its message.
    pub(super) fn run(self) -> Result<GitOutput, GitError> {
        let output = self.output()?;
        if output.code == Some(0) {
            Ok(output)
        } else {
            Err(output.failure())
        }
    }

    /// Runs the command and returns what it printed, whatever its exit code.
    pub(super) fn output(mut self) -> Result<GitOutput, GitError> {
        let command_text = self.shown.join(" ");
        self.command.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = self
            .command
            .spawn()
            .map_err(|error| GitError::io(format!("run `{command_text}`"), &error))?;
        let writer = match (self.stdin.take(), child.stdin.take()) {
            (Some(bytes), Some(mut pipe)) => {
                // A separate thread, so a command that prints much before reading all of its
                // input cannot deadlock with us.
                Some(std::thread::spawn(move || {
                    let _ = pipe.write_all(&bytes);
                }))
            }
            _ => None,
        };
        let waited = match self.time_limit {
            None => child.wait_with_output(),
            Some(limit) => {
                let pid = child.id();
                let (sender, receiver) = mpsc::channel();
                std::thread::spawn(move || {
                    let _ = sender.send(child.wait_with_output());
                });
                match receiver.recv_timeout(limit) {
                    Ok(waited) => waited,
                    Err(_) => return Err(stopped(pid, limit, &receiver, command_text)),
                }
            }
        };
        let output =
            waited.map_err(|error| GitError::io(format!("wait for `{command_text}`"), &error))?;
        if let Some(writer) = writer {
            let _ = writer.join();
        }
        Ok(GitOutput {
            command: command_text,
            code: output.status.code(),
            stdout: output.stdout,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}

/// How long a stopped command's processes are waited for once killed: one that left the
/// group (`setsid`) and still holds the pipes would keep the waiting thread blocked, and the
/// caller must go on; the thread then ends when the pipes close.
const REAP_LIMIT: Duration = Duration::from_secs(2);

/// Kills the process group of command `pid`, which did not end within `limit`, reaps it
/// (for [`REAP_LIMIT`] at most), and returns the failure of `command`.
fn stopped<T>(pid: u32, limit: Duration, waited: &mpsc::Receiver<T>, command: String) -> GitError {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = waited.recv_timeout(REAP_LIMIT);
    GitError::Failed {
        command,
        code: None,
        stderr: format!(
            "no answer within {} s, so git was stopped",
            limit.as_secs_f64()
        ),
    }
}

/// An argument as shown in messages: quoted when it is empty or holds spaces or quotes.
fn show(arg: &OsStr) -> String {
    let text = arg.to_string_lossy();
    if text.is_empty() || text.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
        format!("{text:?}")
    } else {
        text.into_owned()
    }
}

/// What a finished git command printed.
pub(super) struct GitOutput {
    /// The command, for messages.
    pub command: String,
    /// The exit code, or `None` if a signal ended it.
    pub code: Option<i32>,
    /// Standard output, as bytes (paths need not be UTF-8).
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: String,
}

impl GitOutput {
    /// Standard output as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Standard output split at NUL bytes (the `-z` formats), without the empty piece after the
    /// last NUL.
    pub fn fields(&self) -> Vec<String> {
        let mut fields: Vec<String> = self
            .stdout
            .split(|byte| *byte == 0)
            .map(|field| String::from_utf8_lossy(field).into_owned())
            .collect();
        if fields.last().is_some_and(String::is_empty) {
            fields.pop();
        }
        fields
    }

    /// The object id standard output holds.
    pub fn oid(&self) -> Result<Oid, GitError> {
        let text = self.text();
        Oid::parse(text.trim()).map_err(|_| self.unexpected("expected an object id"))
    }

    /// The error for this command's failure.
    pub fn failure(&self) -> GitError {
        GitError::Failed {
            command: self.command.clone(),
            code: self.code,
            stderr: self.stderr.clone(),
        }
    }

    /// The error for output that does not say what it should (`reason`).
    pub fn unexpected(&self, reason: &str) -> GitError {
        GitError::Unexpected {
            command: self.command.clone(),
            reason: format!("{reason}, got `{}`", self.text().trim()),
        }
    }
}
