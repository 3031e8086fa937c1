//! The output without a terminal (a CI log, a pipe): a line per state change, a heartbeat
//! line for each task running longer than the heartbeat interval, and, for `wfc worker` and
//! `wfc resume`, a line saying what the engine waits for when it has nothing to run.

use super::heartbeat::Heartbeats;
use super::ticker::Ticker;
use super::waiting::waiting_for;
use super::{Event, EventKind, EventSink};
use crate::runtime::TaskBackend;
use std::io::Write;
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long an engine has had nothing to run before it says what it waits for; a claimed
/// task starts well within it, so a claim is never mistaken for a wait.
const IDLE_BEFORE_SAYING: Duration = Duration::from_secs(2);

/// How often the background thread looks at the clock and the store.
const TICK: Duration = Duration::from_secs(1);

/// What the plain output is for.
pub struct PlainOptions {
    /// The run the engine works on, or `None` for a worker, which serves every run.
    pub run: Option<String>,
    /// Whether an idle engine says what it waits for (`wfc worker`, `wfc resume`).
    pub say_waits: bool,
    /// How often a long task gets a heartbeat line.
    pub heartbeat: Duration,
}

/// Plain lines, heartbeats and waits.
pub struct PlainSink {
    shared: Arc<Shared>,
    ticker: Ticker,
}

struct Shared {
    backend: Arc<dyn TaskBackend>,
    options: PlainOptions,
    state: Mutex<PlainState>,
}

struct PlainState {
    beats: Heartbeats,
    /// Since when nothing has run in this process, while nothing does.
    idle_since: Option<Instant>,
    /// The wait last said, so it is said once until something changes.
    said: Option<String>,
    /// Whether the run has ended (nothing more to wait for).
    ended: bool,
}

impl PlainSink {
    /// Starts the plain output, reading the store through `backend` for what waits.
    pub fn start(backend: Arc<dyn TaskBackend>, options: PlainOptions) -> Self {
        let shared = Arc::new(Shared {
            backend,
            state: Mutex::new(PlainState {
                beats: Heartbeats::new(options.heartbeat),
                idle_since: Some(Instant::now()),
                said: None,
                ended: false,
            }),
            options,
        });
        let (stop, stopped) = channel::<()>();
        let ticking = Arc::clone(&shared);
        let ticker = Ticker::start(
            "wfc-plain-output",
            move || {
                let _ = stop.send(());
            },
            move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
                    ticking.tick();
                }
            },
        );
        PlainSink { shared, ticker }
    }
}

impl Shared {
    /// `line` as printed: a worker serves several runs, so its lines name theirs.
    fn print(&self, run: &str, line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = if self.options.run.is_none() && !line.starts_with("run ") {
            writeln!(out, "[{run}] {line}")
        } else {
            writeln!(out, "{line}")
        };
        let _ = out.flush();
    }

    /// Prints the heartbeats that are due, and what an idle engine waits for.
    fn tick(&self) {
        let now = Instant::now();
        let ask = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            for (run, line) in state.beats.due(now) {
                self.print(&run, &line);
            }
            self.options.say_waits
                && !state.ended
                && state
                    .idle_since
                    .is_some_and(|since| now.duration_since(since) >= IDLE_BEFORE_SAYING)
        };
        if !ask {
            return;
        }
        // The store is read without the lock: events keep flowing meanwhile.
        let Some(wait) = waiting_for(&*self.backend, self.options.run.as_deref()) else {
            return;
        };
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.idle_since.is_some() && !state.ended && state.said.as_ref() != Some(&wait) {
            let _ = writeln!(std::io::stdout().lock(), "{wait}");
            state.said = Some(wait);
        }
    }
}

impl EventSink for PlainSink {
    fn emit(&self, event: &Event) {
        let mut state = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        state.beats.see(event, now);
        match event.kind {
            // New work: a later wait is said again, even if it is the same.
            EventKind::TaskStarted => state.said = None,
            EventKind::RunFinished if self.shared.options.run.is_some() => state.ended = true,
            _ => {}
        }
        state.idle_since = match (state.beats.running(), state.idle_since) {
            (0, None) => Some(now),
            (0, since) => since,
            _ => None,
        };
        if let Some(line) = super::console::line(event) {
            self.shared.print(&event.run, &line);
        }
    }

    fn flush(&self, _within: Duration) {
        self.ticker.stop();
    }
}

impl Drop for PlainSink {
    fn drop(&mut self) {
        self.ticker.stop();
    }
}
