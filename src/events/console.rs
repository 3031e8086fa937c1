//! The line a person reads for an event that matters to someone watching the run: a task
//! that starts, succeeds, fails, retries or waits, and the end of the run. The live view and
//! the output without a terminal both print these lines.

use super::{Event, EventKind};

/// How many lines of a failure's reason the console prints; the rest is one command away.
const REASON_LINES: usize = 5;

/// How many characters of each line of a reason the console prints: a line of a minified file
/// or a long JSON error would otherwise fill the screen.
const REASON_WIDTH: usize = 160;

/// The text a person reads for `event`, or `None` for events not worth it: one line, or for
/// a task that failed a line and the first lines of its reason under it.
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
        EventKind::TaskSkipped => format!("↷ {task} skipped: {}", first_line("reason")),
        EventKind::TaskRetrying => format!("↻ {task} will be retried: {}", first_line("error")),
        EventKind::TaskGivenBack => format!("↩ {task} given back: {}", first_line("reason")),
        EventKind::TaskFailed => format!(
            "✗ {task}{seconds}: {}",
            reason(event, event.data["error"].as_str().unwrap_or(""))
        ),
        EventKind::AgentActivity => format!("  {task}: {}", first_line("activity")),
        EventKind::VerifyFailed => format!("  {task}: verify failed: {}", first_line("command")),
        EventKind::GateWaiting => {
            let what = if event.data.get("conflict").is_some() {
                "waits for a person to resolve a conflict"
            } else if event.data["human_task"] == true {
                "waits for a person's answer"
            } else {
                "waits for approval"
            };
            let ask = event.data["ask"].as_str().unwrap_or("").trim_end();
            if ask.lines().count() <= 1 {
                format!(
                    "⏸ {task} {what}: {ask}   (answer with `{}`)",
                    first_line("approve")
                )
            } else {
                // A question of several lines is what the person must judge (a diffstat, the
                // files in conflict): it is shown, not cut to its first line.
                format!(
                    "⏸ {task} {what} (answer with `{}`):\n{}",
                    first_line("approve"),
                    question(ask)
                )
            }
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
        EventKind::ProfileWaiting => format!(
            "⏳ {task}: {} of {} (not a failure); its sessions resume in {}s",
            event.data["what"].as_str().unwrap_or("a limit"),
            first_line("profile"),
            event.data["seconds"]
        ),
        EventKind::RunPaused => format!("⏸ run {} paused: {}", event.run, first_line("message")),
        EventKind::AttemptStopped => format!(
            "  {task}: stopped what attempt {} left running (process group {})",
            event.data["attempt"], event.data["pgid"]
        ),
        _ => return None,
    })
}

/// How many lines of a question the console prints; `wfc status` shows it whole.
const QUESTION_LINES: usize = 60;

/// A question of several lines, indented under its heading; a very long one (the diffs of a
/// conflict) is cut after [`QUESTION_LINES`] lines with a note saying where the rest is.
fn question(ask: &str) -> String {
    let lines: Vec<&str> = ask.lines().collect();
    let mut text: Vec<String> = lines
        .iter()
        .take(QUESTION_LINES)
        .map(|line| {
            if line.is_empty() {
                String::new()
            } else {
                format!("    {line}")
            }
        })
        .collect();
    if lines.len() > QUESTION_LINES {
        text.push(format!(
            "    … {} more lines: `wfc status` shows the question whole",
            lines.len() - QUESTION_LINES
        ));
    }
    text.join("\n")
}

/// The first [`REASON_LINES`] lines of a failure's reason, each cut to [`REASON_WIDTH`]
/// characters, the first after the heading and the others indented under it; when there is
/// more, a last line says how much and which command shows it whole.
fn reason(event: &Event, text: &str) -> String {
    let lines: Vec<&str> = text
        .trim()
        .lines()
        .map(str::trim_end)
        .filter(|line| !line.trim().is_empty())
        .collect();
    let mut out = String::new();
    for (i, line) in lines.iter().take(REASON_LINES).enumerate() {
        if i > 0 {
            out.push_str("\n    ");
        }
        out.push_str(&cut(line));
    }
    let more = lines.len().saturating_sub(REASON_LINES);
    if more > 0 {
        let task = event.task.as_deref().unwrap_or_default();
        out.push_str(&format!(
            "\n    … {more} more line{}: `wfc show {} {}`",
            if more == 1 { "" } else { "s" },
            crate::shell_word::shell_word(&event.run),
            crate::shell_word::shell_word(task)
        ));
    }
    out
}

/// `line` cut to [`REASON_WIDTH`] characters, ending in `…` when cut.
fn cut(line: &str) -> String {
    if line.chars().count() <= REASON_WIDTH {
        return line.to_string();
    }
    let mut cut: String = line.chars().take(REASON_WIDTH - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(error: &str) -> Event {
        Event {
            at: 0,
            run: "20250101-120000-abcde".into(),
            kind: EventKind::TaskFailed,
            task: Some("build".into()),
            data: serde_json::json!({ "error": error, "seconds": 1.25 }),
        }
    }

    #[test]
    fn a_question_of_several_lines_is_shown_whole_and_says_what_waits() {
        let waiting = Event {
            at: 0,
            run: "r".into(),
            kind: EventKind::GateWaiting,
            task: Some("join".into()),
            data: serde_json::json!({
                "ask": "The work conflicts in:\n\n- README (changed by `a` and `b`)\n",
                "conflict": ["README"],
                "approve": "wfc approve r join",
            }),
        };
        assert_eq!(
            line(&waiting).as_deref(),
            Some(
                "⏸ join waits for a person to resolve a conflict (answer with `wfc approve r join`):\n    The work conflicts in:\n\n    - README (changed by `a` and `b`)"
            )
        );
    }

    #[test]
    fn a_failure_shows_the_first_lines_of_its_reason() {
        assert_eq!(
            line(&failed(
                "failed (exited with code 3):\nerror: no such file\n"
            ))
            .as_deref(),
            Some("✗ build (1.2s): failed (exited with code 3):\n    error: no such file")
        );
    }

    #[test]
    fn a_long_reason_says_where_the_rest_is() {
        let reason: Vec<String> = (1..=8).map(|n| format!("line {n}")).collect();
        let text = line(&failed(&reason.join("\n"))).unwrap_or_default();
        assert_eq!(
            text,
            "✗ build (1.2s): line 1\n    line 2\n    line 3\n    line 4\n    line 5\n    \
             … 3 more lines: `wfc show 20250101-120000-abcde build`"
        );
        let wide = line(&failed(&"x".repeat(500))).unwrap_or_default();
        assert!(wide.ends_with('…') && wide.chars().count() < 200, "{wide}");
    }
}
