//! Running one external process: command tasks, `verify` commands and agent CLIs.
//!
//! ARCHITECTURE.md "Task lifecycle" asks three things of every process the engine starts, and
//! this module is the one place that does them:
//!
//! - **The whole process group dies on a timeout or a cancel.** The child is started in a new
//!   process group of its own (`process_group(0)`, so its group id is its pid); stopping it sends
//!   `SIGTERM` (then `SIGCONT`, so a stopped member sees it) to the *group*, waits
//!   [`ProcessSpec::grace`], then sends `SIGKILL` to the group. Grandchildren (`sh -c 'a & b'`)
//!   die with their parent, and a child that ignores `SIGTERM` dies by `SIGKILL`.
//! - **Agent CLIs get stdin closed.** [`Stdin::Null`] is the default: several CLIs wait forever on
//!   an open stdin (reference/agent-clis.md §0.1). [`Stdin::Bytes`] writes a prompt from a
//!   separate task and then closes the pipe.
//! - **Output is bounded.** stdout and stderr are read concurrently while the process runs (a
//!   full pipe never blocks it), every chunk goes to the caller's `on_output`, and only the last
//!   [`ProcessSpec::output_limit`] bytes of each are kept.
//!
//! Values never go through a shell: [`ProcessSpec::args`] is the argv, one element per value,
//! and a shell script ([`sh`]) gets its values only through the environment.
//!
//! When the direct child exits on its own, any process it left behind in its group (a
//! background job still running) is a leftover of the task: it is stopped the same way (TERM,
//! grace, KILL) and [`ProcessOutcome::killed_leftovers`] says so. A process that leaves the group
//! on purpose (`setsid`, a double-forking daemon) is out of reach of a group signal; the runner
//! then stops waiting for its end of the output pipes after a short bound and returns.

use super::process_start;
use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The default time between `SIGTERM` and `SIGKILL`.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// The default number of bytes kept from the end of stdout and of stderr.
pub const DEFAULT_OUTPUT_LIMIT: usize = 64 * 1024;

/// How long to wait for the end of the output pipes once every process of the group is gone
/// (or was sent `SIGKILL`): only a process that left the group can still hold them open.
const EOF_WAIT: Duration = Duration::from_secs(2);

/// How often to look whether a process group still has live members while stopping it.
const POLL: Duration = Duration::from_millis(25);

/// The size of one read from stdout or stderr.
const READ_BUF: usize = 16 * 1024;

/// What the child reads on stdin.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Stdin {
    /// `/dev/null`: the child sees end of input at once. The default, and what agent CLIs need.
    #[default]
    Null,
    /// These bytes, written from a separate task, then the pipe is closed. A child that does not
    /// read them all is not an error.
    Bytes(Vec<u8>),
}

/// What to run and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessSpec {
    /// The program: a path, or a name looked up in the `PATH` of [`ProcessSpec::env`].
    pub program: PathBuf,
    /// The arguments, each a separate argv element; nothing is split or interpreted by a shell.
    pub args: Vec<OsString>,
    /// The name the program is told it was started by (its `argv[0]`), when that is not
    /// `program` itself: a command found on the `PATH` is started by its full name but told
    /// the name it was written with, as a shell would.
    pub arg0: Option<OsString>,
    /// The working directory; it must exist.
    pub cwd: PathBuf,
    /// The complete environment: the child gets these variables and no other (see
    /// [`minimal_env`]). A later entry with the same name wins.
    pub env: Vec<(String, String)>,
    /// What the child reads on stdin.
    pub stdin: Stdin,
    /// How long the process may run; `None` for no limit.
    pub timeout: Option<Duration>,
    /// The time between `SIGTERM` and `SIGKILL` when stopping the process group.
    pub grace: Duration,
    /// How many bytes of the end of stdout, and of stderr, to keep in the outcome.
    pub output_limit: usize,
    /// Told the process group's id as soon as the process has started.
    pub on_spawn: Option<SpawnHook>,
}

/// Receives a started process's group (the engine records it, so that a later engine can
/// stop what an abandoned attempt left running).
#[derive(Clone)]
pub struct SpawnHook(pub std::sync::Arc<dyn Fn(Started) + Send + Sync>);

/// A process group that just started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Started {
    /// The group's id (its leader's pid).
    pub pgid: i32,
    /// When its leader started, in the clock ticks of `/proc`, when the clock around the
    /// start tells it ([`crate::runtime::process_start`]).
    pub start_ticks: Option<u64>,
}

impl std::fmt::Debug for SpawnHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpawnHook")
    }
}

impl PartialEq for SpawnHook {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SpawnHook {}

impl ProcessSpec {
    /// A spec with the defaults: [`minimal_env`] with nothing extra, stdin closed, no timeout,
    /// [`DEFAULT_GRACE`] and [`DEFAULT_OUTPUT_LIMIT`].
    pub fn new<I, A>(program: impl Into<PathBuf>, args: I, cwd: impl Into<PathBuf>) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<OsString>,
    {
        ProcessSpec {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            arg0: None,
            cwd: cwd.into(),
            env: minimal_env(&[]),
            stdin: Stdin::Null,
            timeout: None,
            grace: DEFAULT_GRACE,
            output_limit: DEFAULT_OUTPUT_LIMIT,
            on_spawn: None,
        }
    }
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExitStatusKind {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal, not sent by the runner.
    Signal(i32),
    /// It ran past [`ProcessSpec::timeout`] and its group was stopped.
    TimedOut,
    /// The caller cancelled it and its group was stopped.
    Cancelled,
}

impl ExitStatusKind {
    /// Whether the process exited with code 0.
    pub fn success(self) -> bool {
        self == ExitStatusKind::Code(0)
    }

    fn from_status(status: ExitStatus) -> Self {
        match (status.code(), status.signal()) {
            (Some(code), _) => ExitStatusKind::Code(code),
            (None, Some(signal)) => ExitStatusKind::Signal(signal),
            // Neither a code nor a signal: not produced by a terminated process on Unix.
            (None, None) => ExitStatusKind::Signal(0),
        }
    }
}

impl fmt::Display for ExitStatusKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatusKind::Code(code) => write!(f, "exited with code {code}"),
            ExitStatusKind::Signal(signal) => match Signal::try_from(*signal) {
                Ok(name) => write!(f, "killed by signal {signal} ({name})"),
                Err(_) => write!(f, "killed by signal {signal}"),
            },
            ExitStatusKind::TimedOut => f.write_str("timed out"),
            ExitStatusKind::Cancelled => f.write_str("cancelled"),
        }
    }
}

/// What a finished process left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessOutcome {
    /// How it ended.
    pub status: ExitStatusKind,
    /// The last [`ProcessSpec::output_limit`] bytes of stdout.
    pub stdout_tail: Vec<u8>,
    /// The last [`ProcessSpec::output_limit`] bytes of stderr.
    pub stderr_tail: Vec<u8>,
    /// Whether stdout was longer than what `stdout_tail` keeps.
    pub stdout_truncated: bool,
    /// Whether stderr was longer than what `stderr_tail` keeps.
    pub stderr_truncated: bool,
    /// Whether the direct child exited on its own but left processes running in its group,
    /// which were then stopped (TERM, grace, KILL).
    pub killed_leftovers: bool,
    /// From the start of the process to the return of [`run_process`].
    pub duration: Duration,
}

impl ProcessOutcome {
    /// Whether the process exited with code 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }
}

/// Which stream a chunk of output came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutputStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Bytes the process just wrote, as they were read (not split at lines or characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputChunk<'a> {
    /// The stream they came from.
    pub stream: OutputStream,
    /// The bytes.
    pub bytes: &'a [u8],
}

/// Why a process could not be run. A process that ran and failed is an [`ProcessOutcome`], not
/// an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcessError {
    /// The program could not be started (missing, not executable).
    Spawn {
        /// The program, as given.
        program: PathBuf,
        /// Why, with what to check.
        reason: String,
    },
    /// The working directory is missing or not a directory.
    Cwd {
        /// The program, as given.
        program: PathBuf,
        /// The working directory.
        cwd: PathBuf,
        /// Why.
        reason: String,
    },
    /// An environment variable cannot be passed to a process.
    InvalidEnv {
        /// The variable's name.
        name: String,
        /// Why.
        reason: String,
    },
    /// Waiting for the process failed; its group was killed.
    Wait {
        /// The program, as given.
        program: PathBuf,
        /// Why.
        reason: String,
    },
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcessError::Spawn { program, reason } => {
                write!(f, "cannot start `{}`: {reason}", program.display())
            }
            ProcessError::Cwd {
                program,
                cwd,
                reason,
            } => write!(
                f,
                "cannot run `{}` in `{}`: {reason}",
                program.display(),
                cwd.display()
            ),
            ProcessError::InvalidEnv { name, reason } => {
                write!(f, "cannot pass environment variable `{name}`: {reason}")
            }
            ProcessError::Wait { program, reason } => {
                write!(f, "lost track of `{}`: {reason}", program.display())
            }
        }
    }
}

impl std::error::Error for ProcessError {}

/// The program and arguments that run `script` with `/bin/sh -c`.
///
/// The script must not contain any value: values go only in [`ProcessSpec::env`] (as
/// `WF_ARG_n`, which the script reads as `"$WF_ARG_n"`), so no value is ever parsed by the
/// shell. That is how a plan's [`Shell`](crate::plan::Shell) is run.
pub fn sh(script: &str) -> (PathBuf, Vec<OsString>) {
    (
        PathBuf::from("/bin/sh"),
        vec![OsString::from("-c"), OsString::from(script)],
    )
}

/// The variables `names` (a task's or profile's `pass_env`) with their values in this
/// process's environment, for those that are set and UTF-8. wfc's own `WF_` variables (the
/// secrets among them) are never passed this way.
pub fn passed_env(names: &[String]) -> Vec<(String, String)> {
    names
        .iter()
        .filter(|name| !name.starts_with("WF_"))
        .filter_map(|name| Some((name.clone(), std::env::var(name).ok()?)))
        .collect()
}

/// The environment a child gets: `PATH` and `HOME` from the current environment (`PATH` falls
/// back to `/usr/local/bin:/usr/bin:/bin` when unset), `LANG`, `LC_ALL`, `TERM` and `TMPDIR` when
/// set, then `extra`, which replaces a variable of the same name. Agents and commands never see
/// the engine's whole environment (its secrets, tokens, other runs' settings). Variables whose
/// values are not UTF-8 are left out.
pub fn minimal_env(extra: &[(String, String)]) -> Vec<(String, String)> {
    // wfc never changes its own environment, so what it passes on is read once per process,
    // not once per task.
    static PASSED_ON: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    let mut env = PASSED_ON
        .get_or_init(|| {
            let mut env = Vec::new();
            let path =
                std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
            env.push(("PATH".into(), path));
            for name in ["HOME", "LANG", "LC_ALL", "TERM", "TMPDIR"] {
                if let Ok(value) = std::env::var(name) {
                    env.push((name.into(), value));
                }
            }
            env
        })
        .clone();
    env.reserve(extra.len());
    for (name, value) in extra {
        match env.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value.clone(),
            None => env.push((name.clone(), value.clone())),
        }
    }
    env
}

/// A cancellation signal that never fires, for callers that do not cancel.
pub fn no_cancel() -> watch::Receiver<bool> {
    let (_sender, receiver) = watch::channel(false);
    receiver
}

/// Runs one process to its end and returns how it ended and the tails of its output.
///
/// `cancel` cancels the process once its value is `true` (a dropped sender means no cancel);
/// `on_output` is called with every chunk read from stdout or stderr, in the order read.
/// A timeout or a cancel stops the whole process group (TERM, [`ProcessSpec::grace`], KILL) and
/// returns promptly after that, even when a process that left the group still holds a pipe.
/// If the returned future is dropped before it finishes, the group is sent `SIGKILL`.
pub async fn run_process(
    spec: ProcessSpec,
    mut cancel: watch::Receiver<bool>,
    mut on_output: impl FnMut(OutputChunk<'_>) + Send,
) -> Result<ProcessOutcome, ProcessError> {
    let start = Instant::now();
    validate_env(&spec.env)?;
    if !spec.cwd.is_dir() {
        return Err(ProcessError::Cwd {
            program: spec.program.clone(),
            cwd: spec.cwd.clone(),
            reason: "it does not exist or is not a directory".into(),
        });
    }
    if *cancel.borrow() {
        return Ok(ProcessOutcome {
            status: ExitStatusKind::Cancelled,
            stdout_tail: Vec::new(),
            stderr_tail: Vec::new(),
            stdout_truncated: false,
            stderr_truncated: false,
            killed_leftovers: false,
            duration: start.elapsed(),
        });
    }

    let mut command = tokio::process::Command::new(&spec.program);
    if let Some(arg0) = &spec.arg0 {
        command.arg0(arg0);
    }
    command
        .args(&spec.args)
        .current_dir(&spec.cwd)
        .env_clear()
        .envs(spec.env.iter().map(|(name, value)| (name, value)))
        .stdin(match spec.stdin {
            Stdin::Null => Stdio::null(),
            Stdin::Bytes(_) => Stdio::piped(),
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    // The process is created inside `spawn`: the clock around it tells when (mostly).
    let before = process_start::ticks_now();
    let spawned = command.spawn();
    let after = process_start::ticks_now();
    let mut child = spawned.map_err(|error| spawn_error(&spec.program, &error))?;
    let Some(pgid) = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .map(Pid::from_raw)
    else {
        // A freshly spawned child always has an id; if not, there is nothing we can signal.
        let _ = child.start_kill();
        return Err(ProcessError::Spawn {
            program: spec.program.clone(),
            reason: "the started process has no usable id".into(),
        });
    };
    let mut guard = GroupGuard { pgid, armed: true };
    if let Some(hook) = &spec.on_spawn {
        (hook.0)(Started {
            pgid: pgid.as_raw(),
            start_ticks: process_start::between(before, after),
        });
    }

    let _writer = match (spec.stdin, child.stdin.take()) {
        (Stdin::Bytes(bytes), Some(mut pipe)) => Some(AbortOnDrop(tokio::spawn(async move {
            // A child that exits or closes stdin early makes this fail with EPIPE: not an error.
            let _ = pipe.write_all(&bytes).await;
            let _ = pipe.shutdown().await;
        }))),
        _ => None,
    };

    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    // Read into spare capacity: a buffer that is never zeroed costs nothing for the many
    // commands that print little.
    let mut out_buf = Vec::with_capacity(READ_BUF);
    let mut err_buf = Vec::with_capacity(READ_BUF);
    let mut out_tail = Tail::new(spec.output_limit);
    let mut err_tail = Tail::new(spec.output_limit);

    let deadline = spec.timeout.map(|timeout| start + timeout);
    let mut cancel_closed = false;
    let mut exit: Option<ExitStatus> = None;
    let mut stopped_for: Option<ExitStatusKind> = None;
    let mut killed_leftovers = false;
    let mut group_gone = false;
    let mut phase = Phase::Running;
    let mut next_poll = Instant::now();

    loop {
        let now = Instant::now();
        let eof = stdout.is_none() && stderr.is_none();
        let done = match phase {
            Phase::Running | Phase::Terminating { .. } => false,
            Phase::Killed { until } => (exit.is_some() && eof && group_gone) || now >= until,
            Phase::Draining { until } => eof || now >= until,
        };
        if done {
            break;
        }
        let wake = match phase {
            Phase::Running => None,
            Phase::Terminating { kill_at } if exit.is_some() => Some(next_poll.min(kill_at)),
            Phase::Terminating { kill_at } => Some(kill_at),
            Phase::Killed { until } if exit.is_some() && !group_gone => Some(next_poll.min(until)),
            Phase::Killed { until } => Some(until),
            Phase::Draining { until } => Some(until),
        };
        let running = matches!(phase, Phase::Running) && exit.is_none();

        tokio::select! {
            read = read_some(&mut stdout, &mut out_buf), if stdout.is_some() => match read {
                Ok(n) if n > 0 => {
                    let bytes = &out_buf[..n];
                    out_tail.push(bytes);
                    on_output(OutputChunk { stream: OutputStream::Stdout, bytes });
                }
                _ => stdout = None,
            },
            read = read_some(&mut stderr, &mut err_buf), if stderr.is_some() => match read {
                Ok(n) if n > 0 => {
                    let bytes = &err_buf[..n];
                    err_tail.push(bytes);
                    on_output(OutputChunk { stream: OutputStream::Stderr, bytes });
                }
                _ => stderr = None,
            },
            waited = child.wait(), if exit.is_none() => match waited {
                Ok(status) => {
                    exit = Some(status);
                    next_poll = Instant::now();
                    if matches!(phase, Phase::Running) {
                        if group_has_live_members(pgid) {
                            killed_leftovers = true;
                            phase = terminate(pgid, spec.grace);
                        } else {
                            group_gone = true;
                            guard.armed = false;
                            phase = Phase::Draining { until: Instant::now() + EOF_WAIT };
                        }
                    }
                }
                Err(error) => {
                    let _ = killpg(pgid, Signal::SIGKILL);
                    guard.armed = false;
                    return Err(ProcessError::Wait {
                        program: spec.program.clone(),
                        reason: error.to_string(),
                    });
                }
            },
            () = sleep_until(deadline), if running && deadline.is_some() => {
                stopped_for = Some(ExitStatusKind::TimedOut);
                phase = terminate(pgid, spec.grace);
            },
            cancelled = async { cancel.wait_for(|c| *c).await.map(|_| ()) },
                if running && !cancel_closed => match cancelled {
                Ok(()) => {
                    stopped_for = Some(ExitStatusKind::Cancelled);
                    phase = terminate(pgid, spec.grace);
                }
                Err(_) => cancel_closed = true,
            },
            () = sleep_until(wake), if wake.is_some() => {
                let now = Instant::now();
                next_poll = now + POLL;
                match phase {
                    Phase::Terminating { kill_at } => {
                        if exit.is_some() && !group_has_live_members(pgid) {
                            group_gone = true;
                            guard.armed = false;
                            phase = Phase::Draining { until: now + EOF_WAIT };
                        } else if now >= kill_at {
                            let _ = killpg(pgid, Signal::SIGKILL);
                            phase = Phase::Killed { until: now + EOF_WAIT };
                        }
                    }
                    Phase::Killed { .. }
                        if exit.is_some() && !group_gone && !group_has_live_members(pgid) =>
                    {
                        group_gone = true;
                        guard.armed = false;
                    }
                    _ => {}
                }
            },
        }
    }

    if exit.is_none() {
        // SIGKILL was sent and the child still was not reaped (stuck in the kernel):
        // `kill_on_drop` and tokio's orphan reaper take it from here.
        let _ = child.start_kill();
    }
    guard.armed = false;
    let status = match (stopped_for, exit) {
        (Some(reason), _) => reason,
        (None, Some(status)) => ExitStatusKind::from_status(status),
        (None, None) => ExitStatusKind::Signal(Signal::SIGKILL as i32),
    };
    let (stdout_tail, stdout_truncated) = out_tail.finish();
    let (stderr_tail, stderr_truncated) = err_tail.finish();
    Ok(ProcessOutcome {
        status,
        stdout_tail,
        stderr_tail,
        stdout_truncated,
        stderr_truncated,
        killed_leftovers,
        duration: start.elapsed(),
    })
}

/// Where the runner is in stopping a process.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Running; nothing sent.
    Running,
    /// `SIGTERM` sent; `SIGKILL` at `kill_at` unless the group is gone before.
    Terminating { kill_at: Instant },
    /// `SIGKILL` sent; wait for the child and the pipes until `until`.
    Killed { until: Instant },
    /// Every process of the group is gone; read what is left in the pipes until `until`.
    Draining { until: Instant },
}

/// Sends `SIGTERM` to the group (and `SIGCONT`, so stopped members act on it).
fn terminate(pgid: Pid, grace: Duration) -> Phase {
    let _ = killpg(pgid, Signal::SIGTERM);
    let _ = killpg(pgid, Signal::SIGCONT);
    Phase::Terminating {
        kill_at: Instant::now() + grace,
    }
}

/// Stops what is left of process group `pgid`, which this process did not start (an earlier
/// engine's attempt): `SIGTERM` (and `SIGCONT`), then `SIGKILL` if members are left after
/// `grace`. Returns whether the group had live members.
pub async fn stop_leftover_group(pgid: i32, grace: Duration) -> bool {
    let pgid = Pid::from_raw(pgid);
    if !group_has_live_members(pgid) {
        return false;
    }
    let _ = killpg(pgid, Signal::SIGTERM);
    let _ = killpg(pgid, Signal::SIGCONT);
    let deadline = Instant::now() + grace;
    while group_has_live_members(pgid) {
        if Instant::now() >= deadline {
            let _ = killpg(pgid, Signal::SIGKILL);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

/// Whether any process of the group is alive (zombies do not count: they hold nothing open
/// and may wait a long time for a parent, or an init that does not reap, to collect them).
fn group_has_live_members(pgid: Pid) -> bool {
    match killpg(pgid, None) {
        Err(Errno::ESRCH) => false,
        Err(_) => true,
        Ok(()) => live_members_in_proc(pgid).unwrap_or(true),
    }
}

/// Looks through `/proc` for a process of the group that is not a zombie; `None` when `/proc`
/// cannot be read (not Linux, or not mounted).
fn live_members_in_proc(pgid: Pid) -> Option<bool> {
    let entries = std::fs::read_dir("/proc").ok()?;
    let wanted = pgid.as_raw().to_string();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid pgrp ...`; comm may contain spaces and parentheses.
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let mut fields = stat[close + 1..].split_whitespace();
        let state = fields.next();
        let pgrp = fields.nth(1);
        if pgrp == Some(wanted.as_str()) && !matches!(state, Some("Z") | Some("X")) {
            return Some(true);
        }
    }
    Some(false)
}

/// Kills the group if the run is abandoned (its future dropped) while processes may be alive.
struct GroupGuard {
    pgid: Pid,
    armed: bool,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            let _ = killpg(self.pgid, Signal::SIGKILL);
        }
    }
}

/// Aborts the stdin writer when the run ends, even if a process still holds stdin unread.
/// A spawned task that is stopped when its handle is dropped (a plain tokio handle lets it
/// run on), so it never outlives what it serves, even one unwound by a panic.
pub(crate) struct AbortOnDrop(pub(crate) JoinHandle<()>);

impl AbortOnDrop {
    /// Stops the task now.
    pub(crate) fn abort(&self) {
        self.0.abort();
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The last `limit` bytes of a stream.
struct Tail {
    bytes: VecDeque<u8>,
    limit: usize,
    truncated: bool,
}

impl Tail {
    fn new(limit: usize) -> Self {
        Tail {
            bytes: VecDeque::with_capacity(limit.min(READ_BUF)),
            limit,
            truncated: false,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        if self.bytes.len() + chunk.len() > self.limit {
            self.truncated = true;
        }
        if chunk.len() >= self.limit {
            self.bytes.clear();
            self.bytes.extend(&chunk[chunk.len() - self.limit..]);
            return;
        }
        let overflow = (self.bytes.len() + chunk.len()).saturating_sub(self.limit);
        self.bytes.drain(..overflow);
        self.bytes.extend(chunk);
    }

    fn finish(self) -> (Vec<u8>, bool) {
        (self.bytes.into(), self.truncated)
    }
}

/// Reads from a pipe that is still open; never completes for one that is closed.
async fn read_some<R: AsyncRead + Unpin>(
    pipe: &mut Option<R>,
    buf: &mut Vec<u8>,
) -> io::Result<usize> {
    match pipe {
        Some(pipe) => {
            // What the last read left was handled; its room (the capacity, which clearing
            // keeps) is read into again.
            buf.clear();
            pipe.read_buf(buf).await
        }
        None => std::future::pending().await,
    }
}

/// Sleeps until `at`; never completes for `None`.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn validate_env(env: &[(String, String)]) -> Result<(), ProcessError> {
    for (name, value) in env {
        let reason = if name.is_empty() {
            "the name is empty"
        } else if name.contains('=') {
            "the name contains `=`"
        } else if name.contains('\0') {
            "the name contains a NUL byte"
        } else if value.contains('\0') {
            "the value contains a NUL byte"
        } else {
            continue;
        };
        return Err(ProcessError::InvalidEnv {
            name: name.clone(),
            reason: reason.into(),
        });
    }
    Ok(())
}

fn spawn_error(program: &Path, error: &io::Error) -> ProcessError {
    let reason = match error.kind() {
        io::ErrorKind::NotFound => "no such program (is it installed and on PATH? if it is a \
                                    script, is its interpreter?)"
            .to_string(),
        io::ErrorKind::PermissionDenied => {
            "permission denied (is it executable, and can its directory be read?)".to_string()
        }
        io::ErrorKind::InvalidInput => {
            format!("{error} (an argument or the program path contains a NUL byte?)")
        }
        _ => error.to_string(),
    };
    ProcessError::Spawn {
        program: program.to_path_buf(),
        reason,
    }
}
