//! The engine's event log writer: events go to the runs' logs from one background thread,
//! many per transaction, so recording an event never blocks a task and costs a fraction of a
//! commit. The task states are the source of truth; the log is the history `wfc logs` shows.
//!
//! A transition that writes events of its own (an attempt's start, with the record of its
//! process) takes the run's queued events first and writes them in its transaction before its
//! own, so the log keeps the order in which things happened: what the engine queued a moment
//! earlier (the claim, the start) never lands after the process record.

use crate::runtime::backend::{BackendResult, TaskBackend};
use crate::runtime::NewEvent;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The most events written in one transaction.
const BATCH: usize = 512;

/// How long the writer waits for more events after the first of a batch: a busy engine's
/// events then cost one transaction per batch, not one or two per task (2,352 of the 6,400
/// transactions of 2,000 no-op tasks were event batches), and a follower of the log sees them
/// at most this much later.
const LINGER: Duration = Duration::from_millis(20);

/// The events not written yet, in the order they were queued, shared by the engine, the
/// writer and the transitions that take a run's events with them.
#[derive(Default)]
pub(super) struct Queue {
    state: Mutex<Pending>,
    /// Signalled when an event is queued or the queue is closed.
    changed: Condvar,
    /// Held by whoever takes events out of the queue until they are written (the writer with
    /// a batch, a transition with its run's events), so no later event is committed before
    /// an earlier one. Taken before `state`.
    writing: Mutex<()>,
}

#[derive(Default)]
struct Pending {
    events: Vec<(String, NewEvent)>,
    closed: bool,
    /// Whether the writer sleeps until an event is queued (not lingering over a batch).
    writer_idle: bool,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `event` of run `run`; nothing once the log is closed.
    fn push(&self, run: &str, event: NewEvent) {
        let mut pending = self.lock();
        if pending.closed {
            return;
        }
        pending.events.push((run.to_string(), event));
        // The writer is woken by the first event of a batch, or by a full one; while it
        // lingers it sleeps until its time is up, not woken once per event. Transitions that
        // take their run's events with them empty the queue often, so "the first event" is
        // the writer's being idle, not a queue of one: each needless wake-up cost the pushing
        // thread a system call and the writer a switch (2,000 of them in a run of 2,000
        // no-op tasks).
        if pending.writer_idle || pending.events.len() == BATCH {
            pending.writer_idle = false;
            self.changed.notify_one();
        }
    }

    /// Writes `event` of run `run` in the step `write` makes, with the run's queued events
    /// before it, in their order: for a transition whose events must be in the log by the
    /// time anyone sees it (a process's record, the question of a task that waits for a
    /// person). The other runs' events stay queued, and nothing else is written to the log
    /// until `write` returns. If the step fails, the run's queued events are queued again
    /// ahead of the rest and `event` is dropped.
    pub(super) fn write_with<T>(
        &self,
        run: &str,
        event: NewEvent,
        write: impl FnOnce(&[NewEvent]) -> BackendResult<T>,
    ) -> BackendResult<T> {
        let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let mut events: Vec<NewEvent> = {
            let mut pending = self.lock();
            if pending.events.iter().any(|(r, _)| r == run) {
                let (taken, kept) = std::mem::take(&mut pending.events)
                    .into_iter()
                    .partition::<Vec<_>, _>(|(r, _)| r == run);
                pending.events = kept;
                taken.into_iter().map(|(_, event)| event).collect()
            } else {
                Vec::new()
            }
        };
        let queued = events.len();
        events.push(event);
        let written = write(&events);
        if written.is_err() && queued > 0 {
            events.truncate(queued);
            let mut pending = self.lock();
            let later = std::mem::take(&mut pending.events);
            pending.events = events
                .into_iter()
                .map(|event| (run.to_string(), event))
                .chain(later)
                .collect();
            pending.writer_idle = false;
            self.changed.notify_one();
        }
        written
    }

    /// Waits until there is a batch to write: the events queued up to [`LINGER`] after the
    /// writer was woken by one (or until [`BATCH`] are queued, or the log is closed); the
    /// batch may be empty when transitions took those events with them meanwhile. `false`
    /// once the log is closed and empty.
    fn wait_for_batch(&self) -> bool {
        let mut pending = self.lock();
        if pending.events.is_empty() {
            if pending.closed {
                return false;
            }
            // Until a push clears the mark: a transition may take the event that woke the
            // writer before it runs, and waiting for the next one from here would wake it
            // again for each (300 times a run of 2,000 no-op tasks).
            pending.writer_idle = true;
            while pending.writer_idle && !pending.closed {
                pending = self
                    .changed
                    .wait(pending)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            pending.writer_idle = false;
        }
        let until = Instant::now() + LINGER;
        while pending.events.len() < BATCH && !pending.closed {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            pending = self
                .changed
                .wait_timeout(pending, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    /// Writes up to [`BATCH`] of the queued events, oldest first.
    fn write_batch(&self, backend: &dyn TaskBackend) {
        let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let batch: Vec<(String, NewEvent)> = {
            let mut pending = self.lock();
            let count = pending.events.len().min(BATCH);
            pending.events.drain(..count).collect()
        };
        write(backend, batch);
    }
}

/// The writer thread and its queue.
pub(super) struct EventLog {
    queue: Arc<Queue>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl EventLog {
    pub(super) fn new(backend: Arc<dyn TaskBackend>) -> Self {
        let queue = Arc::new(Queue::default());
        let writer = {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name("wfc-event-log".into())
                .spawn(move || {
                    while queue.wait_for_batch() {
                        queue.write_batch(&*backend);
                    }
                })
                .ok()
        };
        // Without a writer nothing would ever read the queue; then the log is not kept at all.
        if writer.is_none() {
            eprintln!("warning: cannot start the event-log writer; events are not stored");
            queue.lock().closed = true;
        }
        EventLog {
            queue,
            writer: Mutex::new(writer),
        }
    }

    /// The queue, for a transition that takes its run's events with it.
    pub(super) fn queue(&self) -> Arc<Queue> {
        Arc::clone(&self.queue)
    }

    pub(super) fn push(&self, run: &str, event: NewEvent) {
        self.queue.push(run, event);
    }

    /// Writes what is queued and stops the writer.
    pub(super) fn close(&self) {
        self.queue.lock().closed = true;
        self.queue.changed.notify_all();
        if let Some(writer) = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = writer.join();
        }
    }
}

/// Writes `batch` to the runs' logs: the events of one run keep their order, and runs are
/// written one after another.
fn write(backend: &dyn TaskBackend, batch: Vec<(String, NewEvent)>) {
    if batch.is_empty() {
        return;
    }
    let mut runs: Vec<(String, Vec<NewEvent>)> = Vec::new();
    for (run, event) in batch {
        match runs.iter_mut().find(|(r, _)| *r == run) {
            Some((_, events)) => events.push(event),
            None => runs.push((run, vec![event])),
        }
    }
    for (run, events) in runs {
        if let Err(error) = backend.append_events(&run, &events) {
            eprintln!("warning: cannot record events of run {run}: {error}");
        }
    }
}
