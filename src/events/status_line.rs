//! The live view's status line: `12/60 done · 1 failed · running: a, b (+3) · waiting: gate ·
//! $0.42 · 0:42`, counted from the tasks' states in the store, so what other processes did
//! (a worker finishing a task, a person approving a gate) counts as soon as it is stored.

use super::fit::{columns, fit};
use crate::runtime::{TaskRecord, TaskState};
use std::time::Duration;

/// What the status line counts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    /// Tasks in the run.
    pub total: usize,
    /// Tasks that succeeded (approved gates included).
    pub done: usize,
    /// Tasks that failed, were rejected or were cancelled.
    pub failed: usize,
    /// Tasks skipped because their condition does not hold; they count as done too.
    pub skipped: usize,
    /// Tasks an engine holds now, by name.
    pub running: Vec<String>,
    /// Tasks waiting for a person, by name.
    pub waiting: Vec<String>,
    /// What the run's agent sessions cost so far, when any said.
    pub cost_usd: Option<f64>,
}

impl Tally {
    /// The tally of a run's `tasks`.
    pub fn of(tasks: &[TaskRecord]) -> Tally {
        let mut tally = Tally {
            total: tasks.len(),
            ..Tally::default()
        };
        for task in tasks {
            let name = task.key.task.clone();
            match task.state {
                TaskState::Succeeded | TaskState::Approved => tally.done += 1,
                TaskState::Skipped => {
                    tally.done += 1;
                    tally.skipped += 1;
                }
                TaskState::Failed | TaskState::Rejected | TaskState::Cancelled => tally.failed += 1,
                TaskState::Running | TaskState::Claimed => tally.running.push(name),
                TaskState::Waiting => tally.waiting.push(name),
                TaskState::Pending => {}
            }
        }
        tally
    }
}

/// A duration as a clock: `0:42`, `12:05`, `1:02:03`.
pub fn clock(elapsed: Duration) -> String {
    let seconds = elapsed.as_secs();
    if seconds >= 3600 {
        format!(
            "{}:{:02}:{:02}",
            seconds / 3600,
            (seconds % 3600) / 60,
            seconds % 60
        )
    } else {
        format!("{}:{:02}", seconds / 60, seconds % 60)
    }
}

/// The status line for `tally` after `elapsed`, at most `width` columns: what does not fit is
/// cut with `…`, and the clock at its end is always shown.
pub fn status_line(tally: &Tally, elapsed: Duration, width: usize) -> String {
    let mut line = format!("{}/{} done", tally.done, tally.total);
    if tally.skipped > 0 {
        line.push_str(&format!(" · {} skipped", tally.skipped));
    }
    if tally.failed > 0 {
        line.push_str(&format!(" · {} failed", tally.failed));
    }
    if !tally.running.is_empty() {
        let names: Vec<&str> = tally.running.iter().map(String::as_str).take(3).collect();
        line.push_str(&format!(" · running: {}", names.join(", ")));
        let more = tally.running.len().saturating_sub(3);
        if more > 0 {
            line.push_str(&format!(" (+{more})"));
        }
    }
    if !tally.waiting.is_empty() {
        line.push_str(&format!(" · waiting: {}", tally.waiting.join(", ")));
    }
    if let Some(cost) = tally.cost_usd {
        line.push_str(&format!(" · ${cost:.2}"));
    }
    let clock = format!(" · {}", clock(elapsed));
    let room = width.saturating_sub(columns(&clock));
    fit(&line, room) + &clock
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(running: &[&str]) -> Tally {
        Tally {
            total: 60,
            done: 12,
            failed: 1,
            skipped: 0,
            running: running.iter().map(|s| s.to_string()).collect(),
            waiting: Vec::new(),
            cost_usd: None,
        }
    }

    #[test]
    fn the_status_line_names_what_runs() {
        let line = status_line(
            &tally(&["build", "docs", "lint", "test"]),
            Duration::from_secs(42),
            100,
        );
        assert_eq!(
            line,
            "12/60 done · 1 failed · running: build, docs, lint (+1) · 0:42"
        );
    }

    #[test]
    fn skipped_tasks_count_as_done_and_are_named() {
        let mut t = tally(&[]);
        t.skipped = 2;
        let line = status_line(&t, Duration::from_secs(1), 100);
        assert_eq!(line, "12/60 done · 2 skipped · 1 failed · 0:01");
        let of = Tally::of(&[
            crate::runtime::lifecycle::task_in(TaskState::Skipped),
            crate::runtime::lifecycle::task_in(TaskState::Succeeded),
        ]);
        assert_eq!((of.done, of.skipped, of.total), (2, 1, 2));
    }

    #[test]
    fn the_status_line_fits_its_width_and_keeps_the_clock() {
        let names: Vec<String> = (0..50).map(|i| format!("task-long-name-{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let line = status_line(&tally(&names), Duration::from_secs(3725), 60);
        assert_eq!(columns(&line), 60, "{line}");
        assert!(line.contains('…') && line.ends_with(" · 1:02:05"), "{line}");
    }

    #[test]
    fn cost_is_shown_in_cents() {
        let mut t = tally(&[]);
        t.cost_usd = Some(0.086_100_000_000_000_01);
        let line = status_line(&t, Duration::from_secs(5), 100);
        assert_eq!(line, "12/60 done · 1 failed · $0.09 · 0:05");
    }
}
