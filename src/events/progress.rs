//! The live progress view on a terminal: the same lines as the console sink, with a status
//! line under them that shows done/total, what runs now and the elapsed time.

use super::{Event, EventKind, EventSink};
use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

struct State {
    total: usize,
    done: usize,
    failed: usize,
    running: BTreeSet<String>,
    waiting: BTreeSet<String>,
    started: Instant,
}

/// Lines for what happened, and a status line redrawn under them.
pub struct ProgressSink {
    state: Mutex<State>,
    width: usize,
}

impl ProgressSink {
    /// A view of a run of `total` tasks, drawn `width` columns wide.
    pub fn new(total: usize, width: usize) -> Self {
        ProgressSink {
            state: Mutex::new(State {
                total,
                done: 0,
                failed: 0,
                running: BTreeSet::new(),
                waiting: BTreeSet::new(),
                started: Instant::now(),
            }),
            width: width.max(40),
        }
    }
}

/// The status line: `12/60 done · 1 failed · running: a, b (+3) · waiting: gate · 0:42`.
fn status_line(state: &State, width: usize) -> String {
    let seconds = state.started.elapsed().as_secs();
    let mut line = format!("{}/{} done", state.done, state.total);
    if state.failed > 0 {
        line.push_str(&format!(" · {} failed", state.failed));
    }
    if !state.running.is_empty() {
        let names: Vec<&str> = state.running.iter().map(String::as_str).take(3).collect();
        let more = state.running.len().saturating_sub(3);
        line.push_str(&format!(" · running: {}", names.join(", ")));
        if more > 0 {
            line.push_str(&format!(" (+{more})"));
        }
    }
    if !state.waiting.is_empty() {
        let names: Vec<&str> = state.waiting.iter().map(String::as_str).collect();
        line.push_str(&format!(" · waiting: {}", names.join(", ")));
    }
    let clock = format!(" · {}:{:02}", seconds / 60, seconds % 60);
    let room = width.saturating_sub(clock.chars().count() + 1);
    if line.chars().count() > room {
        line = line
            .chars()
            .take(room.saturating_sub(1))
            .collect::<String>()
            + "…";
    }
    line + &clock
}

impl EventSink for ProgressSink {
    fn emit(&self, event: &Event) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let task = event.task.clone().unwrap_or_default();
        match event.kind {
            EventKind::TaskStarted => {
                state.running.insert(task);
            }
            EventKind::TaskSucceeded => {
                state.running.remove(&task);
                state.done += 1;
            }
            EventKind::TaskRetrying => {
                state.running.remove(&task);
            }
            EventKind::TaskFailed => {
                state.running.remove(&task);
                state.failed += 1;
            }
            EventKind::GateWaiting => {
                state.waiting.insert(task);
            }
            EventKind::GateAnswered => {
                state.waiting.remove(&task);
                if event.data["approved"] == true {
                    state.done += 1;
                }
            }
            _ => {}
        }
        let status = status_line(&state, self.width);
        let mut out = std::io::stdout().lock();
        // The status line shows what started; every other line goes above the status line,
        // which is cleared and drawn again under it (and left in place when the run ends).
        let line = match event.kind {
            EventKind::TaskStarted => None,
            _ => super::console::line(event),
        };
        let _ = match (line, event.kind) {
            (Some(line), EventKind::RunFinished) => write!(out, "\r\x1b[2K{status}\n{line}\n"),
            (Some(line), _) => write!(out, "\r\x1b[2K{line}\n{status}"),
            (None, _) => write!(out, "\r\x1b[2K{status}"),
        };
        let _ = out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_line_fits_its_width() {
        let mut state = State {
            total: 60,
            done: 12,
            failed: 1,
            running: ["build", "test", "lint", "docs"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            waiting: BTreeSet::new(),
            started: Instant::now(),
        };
        let line = status_line(&state, 100);
        assert!(
            line.starts_with("12/60 done · 1 failed · running: build, docs, lint (+1) · 0:0"),
            "{line}"
        );
        state.running = (0..50)
            .map(|i| format!("task-with-a-long-name-{i}"))
            .collect();
        let line = status_line(&state, 60);
        assert_eq!(line.chars().count(), 59, "{line}");
        assert!(line.contains('…') && line.ends_with("0:00"), "{line}");
    }
}
