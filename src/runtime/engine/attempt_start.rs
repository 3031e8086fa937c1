//! An attempt's start: the write that marks its task running and records where its first
//! process group runs, made a moment after that process started — or together with the
//! attempt's success, when the success comes first.
//!
//! A task used to cost two commits of its own, its start and its success (joined with the
//! next claim of its chain), and the start's commit held up the thread that started the
//! process. A task whose attempt is over within [`LINGER`] of its first process, as the
//! command tasks of a chain mostly are, now costs one: its success writes its start in the
//! same transaction. A longer one is marked running by a timer, [`LINGER`] after its start,
//! off the attempt's way. Its other processes (verify commands) are recorded when they start,
//! after the start.
//!
//! What that costs: for up to [`LINGER`] after an attempt's first process started, an engine
//! killed with `kill -9` leaves a process group that no record in the log names (before, only
//! for the instant between the spawn and its commit). Such a group is still found, on its
//! machine, by the variables the engine gave it (`WF_RUN_ID`, `WF_TASK_ID`, `WF_ATTEMPT`; see
//! `AttemptProcess::found_here`), when the task is taken over or `wfc gc` cleans up after the run. And
//! `wfc status` shows such a task as claimed, not running, for that long.

use super::event_log::Queue;
use crate::runtime::attempt_process::AttemptProcess;
use crate::runtime::backend::{BackendErrorKind, BackendResult, StartWithSuccess, TaskBackend};
use crate::runtime::process::Started;
use crate::runtime::{now_millis, Millis, TaskKey};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How long after its first process started an attempt is marked running, unless it is over
/// before.
pub const LINGER: Duration = Duration::from_millis(20);

/// Sets another [`LINGER`], in milliseconds: for tests of what an engine killed before an
/// attempt's start was written leaves behind.
pub const LINGER_ENV: &str = "WFC_START_LINGER_MS";

/// The start of one attempt, shared by the hook its processes report to, the timer that
/// writes it and the step that records the attempt's outcome.
pub(super) struct AttemptStart {
    key: TaskKey,
    attempt: u32,
    worker: String,
    backend: Arc<dyn TaskBackend>,
    queue: Arc<Queue>,
    /// Held while the start is written, so the outcome's step, which takes it, waits for a
    /// write the timer began.
    state: Mutex<StartState>,
}

enum StartState {
    /// No process of the attempt has started.
    NotYet,
    /// The first process started at `at`; the start is not written.
    Pending { at: Millis, process: AttemptProcess },
    /// The start is written, or is no longer to be (the attempt ended without it).
    Over,
}

impl AttemptStart {
    pub(super) fn new(
        key: &TaskKey,
        attempt: u32,
        worker: &str,
        backend: Arc<dyn TaskBackend>,
        queue: Arc<Queue>,
    ) -> Arc<Self> {
        Arc::new(AttemptStart {
            key: key.clone(),
            attempt,
            worker: worker.to_string(),
            backend,
            queue,
            state: Mutex::new(StartState::NotYet),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StartState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A process group of the attempt started: the first makes the start pending (written by
    /// a timer unless the outcome comes first), a later one is recorded at once, after it.
    pub(super) fn process_started(self: &Arc<Self>, started: Started) {
        let process = AttemptProcess::started_here(self.attempt, &self.worker, started);
        let at = now_millis();
        {
            let mut state = self.lock();
            if matches!(*state, StartState::NotYet) {
                *state = StartState::Pending { at, process };
                drop(state);
                self.write_later();
                return;
            }
        }
        self.write_now();
        let event = process.event(&self.key.task, at);
        let recorded = self.queue.write_with(&self.key.run, event, |events| {
            self.backend.append_events(&self.key.run, events)
        });
        if let Err(error) = recorded {
            eprintln!(
                "warning: cannot record the processes of {}: {error}",
                self.key
            );
        }
    }

    /// Has the pending start written after [`LINGER`], on a thread that may block.
    fn write_later(self: &Arc<Self>) {
        let start = Arc::clone(self);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    tokio::time::sleep(linger()).await;
                    if start.is_pending() {
                        let _ = tokio::task::spawn_blocking(move || start.write_now()).await;
                    }
                });
            }
            // Outside the engine's runtime nothing could write it later: now, then.
            Err(_) => start.write_now(),
        }
    }

    fn is_pending(&self) -> bool {
        matches!(*self.lock(), StartState::Pending { .. })
    }

    /// Writes the start now if it is pending: before any outcome but a success, and before
    /// the attempt's later processes are recorded. Blocks on the store.
    pub(super) fn write_now(&self) {
        let mut state = self.lock();
        let StartState::Pending { at, process } = std::mem::replace(&mut *state, StartState::Over)
        else {
            return;
        };
        let event = process.event(&self.key.task, at);
        let written = self.queue.write_with(&self.key.run, event, |events| {
            self.backend.start_task(&self.key, &self.worker, at, events)
        });
        match written {
            Ok(()) => {}
            // The claim was lost (the engine was starved past its lease and another one took
            // the task over): nothing may run for it now, so what is left of the group is
            // stopped at once, before it can overlap the attempt that took over, which cannot
            // know of it.
            // (After the attempt ended its group is gone, and there is nothing to say.)
            Err(error) if error.kind == BackendErrorKind::Conflict => {
                let stopped = process.may_be_alive_here()
                    && nix::sys::signal::killpg(
                        nix::unistd::Pid::from_raw(process.pgid),
                        nix::sys::signal::Signal::SIGKILL,
                    )
                    .is_ok();
                if stopped {
                    eprintln!(
                        "warning: {} was taken over while its process ran, so it was stopped: {error}",
                        self.key
                    );
                }
            }
            Err(error) => {
                eprintln!(
                    "warning: cannot record the processes of {}: {error}",
                    self.key
                );
            }
        }
    }

    /// Runs `write`, the step that records the attempt's success, with the start to write in
    /// the same transaction if it is still pending (`None` if it was written, or no process
    /// started). Blocks on the store.
    pub(super) fn with_success<T>(
        &self,
        write: impl FnOnce(StartWithSuccess<'_>) -> BackendResult<T>,
    ) -> BackendResult<T> {
        let mut state = self.lock();
        match std::mem::replace(&mut *state, StartState::Over) {
            StartState::Pending { at, process } => {
                let event = process.event(&self.key.task, at);
                self.queue
                    .write_with(&self.key.run, event, |events| write(Some((at, events))))
            }
            _ => write(None),
        }
    }

    /// The attempt was dropped (its engine stops, and its processes were killed): a start
    /// not written yet no longer is.
    pub(super) fn abandon(&self) {
        *self.lock() = StartState::Over;
    }
}

/// [`LINGER`], or what [`LINGER_ENV`] says.
fn linger() -> Duration {
    static LINGER_SET: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *LINGER_SET.get_or_init(|| {
        std::env::var(LINGER_ENV)
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map_or(LINGER, Duration::from_millis)
    })
}

/// Held by an attempt: dropped with it when its engine stops mid-attempt (its processes are
/// killed then), it lets the start go unwritten, so a timer cannot mark the task running
/// after its claim was given back.
pub(super) struct AbandonOnDrop(pub Arc<AttemptStart>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.abandon();
    }
}
