//! The console sink: one plain line per event that matters to a person watching the run.

use super::{Event, EventKind, EventSink};
use std::io::Write;

/// Prints a line for each task that starts, succeeds, fails, retries or waits, and for the
/// end of the run.
pub struct ConsoleSink;

impl EventSink for ConsoleSink {
    fn emit(&self, event: &Event) {
        if let Some(line) = line(event) {
            let _ = writeln!(std::io::stdout(), "{line}");
        }
    }
}

/// The line a person reads for `event`, or `None` for events not worth a line.
pub(super) fn line(event: &Event) -> Option<String> {
    let task = event.task.as_deref().unwrap_or("");
    let seconds = event
        .data
        .get("seconds")
        .and_then(serde_json::Value::as_f64)
        .map(|s| format!(" ({s:.1}s)"))
        .unwrap_or_default();
    let first_line = |field: &str| {
        event
            .data
            .get(field)
            .and_then(serde_json::Value::as_str)
            .and_then(|s| s.lines().next())
            .unwrap_or("")
            .to_string()
    };
    Some(match event.kind {
        EventKind::TaskStarted => format!("▶ {task}"),
        EventKind::TaskSucceeded => format!("✓ {task}{seconds}"),
        EventKind::TaskRetrying => format!("↻ {task} will be retried: {}", first_line("error")),
        EventKind::TaskFailed => format!("✗ {task}{seconds}: {}", first_line("error")),
        EventKind::AgentActivity => format!("  {task}: {}", first_line("activity")),
        EventKind::VerifyFailed => format!("  {task}: verify failed: {}", first_line("command")),
        EventKind::GateWaiting => {
            format!(
                "⏸ {task} waits for approval: {}   (answer with `{}`)",
                first_line("ask"),
                first_line("approve")
            )
        }
        EventKind::GateAnswered => {
            let verdict = if event.data["approved"] == true {
                "approved"
            } else {
                "rejected"
            };
            // The reason says why, and for a question nobody answered in time, what to do.
            match first_line("reason") {
                reason if reason.is_empty() => format!("  {task}: {verdict}"),
                reason => format!("  {task}: {verdict}: {reason}"),
            }
        }
        EventKind::RunFinished => format!("run {} {}", event.run, first_line("state")),
        EventKind::RunResult => format!("  {}", first_line("message")),
        EventKind::AttemptStopped => format!(
            "  {task}: stopped what attempt {} left running (process group {})",
            event.data["attempt"], event.data["pgid"]
        ),
        _ => return None,
    })
}
