//! The live view on a terminal: the lines of the console sink, with a status line under them
//! that shows done/total, what runs and waits now, the cost and a clock.
//!
//! Invariant: the run's events in the store are the one source of the view. A background
//! thread reads the events stored after the last one it showed (by their `seq`) and the tasks'
//! states, twice a second, so what another process did (`wfc approve` in another terminal, a
//! `wfc worker` finishing a task of this run) is shown like what this process did, and nothing
//! is shown twice. The same thread redraws on every tick (the clock moves even when nothing
//! happens) and at once on SIGWINCH, measuring the terminal each time.
//!
//! Invariant: the status line is cut with `…` to three columns less than the terminal's
//! width, so it never wraps, not even when the terminal echoes `^C` after it: it always sits on one row, and clearing that row erases it, so a redraw
//! never leaves a stacked copy. The lines above it are printed whole and end with a newline
//! (the terminal wraps a long one, and it is never drawn again): they carry what a person
//! must read in full, a gate's `wfc approve` command or a failure's reason.

use super::status_line::{status_line, Tally};
use super::ticker::Ticker;
use super::{Event, EventKind, EventSink};
use crate::runtime::{EventRecord, TaskBackend};
use crossterm::{cursor::MoveToColumn, queue, terminal};
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often the view reads the store and redraws.
const TICK: Duration = Duration::from_millis(500);

/// The most events read from the store at once.
const PAGE: usize = 256;

/// The width assumed when the terminal cannot be measured.
const FALLBACK_WIDTH: usize = 80;

/// The live view of one run.
pub struct ProgressSink {
    view: Arc<View>,
    ticker: Ticker,
}

struct View {
    backend: Arc<dyn TaskBackend>,
    run: String,
    started: Instant,
    state: Mutex<ViewState>,
}

struct ViewState {
    /// The `seq` of the last stored event shown.
    shown_up_to: i64,
    /// The cost of the run's agent sessions seen so far.
    cost_usd: Option<f64>,
    /// The last tally read from the store.
    tally: Tally,
    /// Whether the status line is on the screen (it is cleared at the end).
    status_drawn: bool,
    /// Whether the view has ended: nothing more is drawn.
    ended: bool,
    /// A store error already said, so it is said once.
    said_error: Option<String>,
}

impl ProgressSink {
    /// Starts the live view of `run`, whose events and tasks are read from `backend`. Events
    /// stored before now (a resumed run's history) are not shown again.
    pub fn start(backend: Arc<dyn TaskBackend>, run: &str) -> Self {
        let mut shown_up_to = 0;
        while let Ok(page) = backend.read_events(run, shown_up_to, PAGE) {
            match page.last() {
                Some(last) => shown_up_to = last.seq,
                None => break,
            }
        }
        let view = Arc::new(View {
            backend,
            run: run.to_string(),
            started: Instant::now(),
            state: Mutex::new(ViewState {
                shown_up_to,
                cost_usd: None,
                tally: Tally::default(),
                status_drawn: false,
                ended: false,
                said_error: None,
            }),
        });
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let ticking = Arc::clone(&view);
        let ticker = Ticker::start(
            "wfc-live-view",
            move || {
                let _ = stop.send(true);
            },
            move || tick(&ticking, stopped),
        );
        ProgressSink { view, ticker }
    }
}

/// The ticking thread: reads and redraws every `TICK`, and at once when the terminal is
/// resized, until `stopped` turns true.
fn tick(view: &View, mut stopped: tokio::sync::watch::Receiver<bool>) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(_) => return,
    };
    runtime.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut resized = signal(SignalKind::window_change()).ok();
        let mut ticks = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                _ = ticks.tick() => view.refresh(),
                Some(()) = async {
                    match resized.as_mut() {
                        Some(resized) => resized.recv().await,
                        None => std::future::pending().await,
                    }
                } => view.redraw(),
                _ = stopped.changed() => break,
            }
        }
    });
}

/// The terminal's width in columns, measured now.
fn width() -> usize {
    terminal::size()
        .map(|(columns, _)| usize::from(columns))
        .ok()
        .filter(|&columns| columns > 0)
        .unwrap_or(FALLBACK_WIDTH)
}

/// A stored event as the bus carried it, or `None` for a kind this wfc does not know.
fn as_event(run: &str, record: EventRecord) -> Option<Event> {
    let kind: EventKind = serde_json::from_value(serde_json::Value::String(record.kind)).ok()?;
    Some(Event {
        at: record.at,
        run: run.to_string(),
        kind,
        task: record.task,
        data: record.data,
    })
}

/// The line the view prints for `event`: the console's line, except for a start, which the
/// status line shows.
fn view_line(event: &Event) -> Option<String> {
    match event.kind {
        EventKind::TaskStarted => None,
        _ => super::console::line(event),
    }
}

impl View {
    /// Reads what was stored since the last refresh and draws it.
    fn refresh(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.ended {
            return;
        }
        let mut lines = Vec::new();
        let mut problem = None;
        loop {
            match self.backend.read_events(&self.run, state.shown_up_to, PAGE) {
                Ok(page) => {
                    let full = page.len() == PAGE;
                    for record in page {
                        state.shown_up_to = record.seq;
                        let Some(event) = as_event(&self.run, record) else {
                            continue;
                        };
                        if event.kind == EventKind::AgentSession {
                            if let Some(cost) = event.data["cost_usd"].as_f64() {
                                *state.cost_usd.get_or_insert(0.0) += cost;
                            }
                        }
                        lines.extend(view_line(&event));
                    }
                    if !full {
                        break;
                    }
                }
                Err(error) => {
                    problem = Some(error.to_string());
                    break;
                }
            }
        }
        match self.backend.list_tasks(&self.run) {
            Ok(tasks) => state.tally = Tally::of(&tasks),
            Err(error) => problem = problem.or(Some(error.to_string())),
        }
        state.tally.cost_usd = state.cost_usd;
        if let Some(problem) = problem {
            if state.said_error.as_ref() != Some(&problem) {
                lines.push(format!(
                    "warning: the live view cannot read the run: {problem}"
                ));
                state.said_error = Some(problem);
            }
        }
        self.draw(&mut state, &lines);
    }

    /// Draws the status line again (the terminal was resized).
    fn redraw(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if !state.ended {
            self.draw(&mut state, &[]);
        }
    }

    /// Prints `lines` above the status line, and the status line under them.
    fn draw(&self, state: &mut ViewState, lines: &[String]) {
        // Two columns for the `^C` the terminal echoes at the cursor, one so the cursor never
        // waits at the last column to wrap.
        let width = width().saturating_sub(3).max(1);
        let mut out = std::io::stdout().lock();
        let _ = clear_row(&mut out);
        for line in lines {
            let _ = writeln!(out, "{line}");
        }
        let status = status_line(&state.tally, self.started.elapsed(), width);
        let _ = write!(out, "{status}");
        let _ = out.flush();
        state.status_drawn = true;
    }

    /// Prints `text` above the status line: each of its lines, cut to the width.
    fn note(&self, text: &str) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        if state.ended {
            let mut err = std::io::stderr().lock();
            for line in lines {
                let _ = writeln!(err, "{line}");
            }
            return;
        }
        self.draw(&mut state, &lines);
    }

    /// Shows what is left to show, and clears the status line for good.
    fn end(&self) {
        self.refresh();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.status_drawn {
            let mut out = std::io::stdout().lock();
            let _ = clear_row(&mut out);
            let _ = out.flush();
        }
        state.status_drawn = false;
        state.ended = true;
    }
}

/// Clears the row the cursor is on and returns to its start.
fn clear_row(out: &mut impl Write) -> std::io::Result<()> {
    queue!(
        out,
        MoveToColumn(0),
        terminal::Clear(terminal::ClearType::CurrentLine)
    )
}

impl EventSink for ProgressSink {
    /// The view shows the store, not the bus: an event this process emits is shown when the
    /// ticking thread reads it back, like another process's.
    fn emit(&self, _event: &Event) {}

    fn note(&self, text: &str) -> bool {
        self.view.note(text);
        true
    }

    fn flush(&self, _within: Duration) {
        self.ticker.stop();
        self.view.end();
    }
}

impl Drop for ProgressSink {
    fn drop(&mut self) {
        self.ticker.stop();
    }
}
