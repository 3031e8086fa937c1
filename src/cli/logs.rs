//! `wfc logs [RUN] [TASK] [--follow] [--json]`: a run's event log (the newest run's when none
//! is named), one line an event (local time, kind, task, and the most useful detail),
//! optionally only one task's events; `--follow` keeps reading new events until the run is no
//! longer running.

use super::human::{self, Paint, Tone};
use super::output::Output;
use super::store::{self, BackendArgs, Store};
use crate::backends::Access;
use crate::runtime::{EventRecord, RunState};
use serde_json::Value;
use std::process::ExitCode;
use std::time::Duration;

/// How often `--follow` looks for new events.
const POLL: Duration = Duration::from_millis(200);

/// How many events one read asks for.
const PAGE: usize = 500;

/// Runs `wfc logs`.
pub fn run(
    args: &BackendArgs,
    run: Option<&str>,
    task: Option<&str>,
    follow: bool,
    as_json: bool,
    output: &Output,
) -> ExitCode {
    let store = match Store::open(args, Access::Read, output) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let record = match store.run_or_newest(run, output) {
        Ok(record) => record,
        Err(code) => return code,
    };
    if let Some(task) = task {
        if let Err(code) = store::task(&record, task, output) {
            return code;
        }
    }
    let paint = Paint::stdout();
    let mut after = 0;
    loop {
        // The state is read before the events, so every event written before the run ended
        // is read before the loop stops.
        let state = if follow {
            match store.backend.get_run(&record.id) {
                Ok(now) => now.state,
                Err(error) => return store::report(&error, output),
            }
        } else {
            record.state
        };
        loop {
            let events = match store.backend.read_events(&record.id, after, PAGE) {
                Ok(events) => events,
                Err(error) => return store::report(&error, output),
            };
            for event in &events {
                after = after.max(event.seq);
                if task.is_some() && event.task.as_deref() != task {
                    continue;
                }
                if as_json {
                    output.stdout_line(&serde_json::to_string(event).unwrap_or_default());
                } else {
                    for line in lines(event, paint) {
                        output.stdout_line(&line);
                    }
                }
            }
            if events.len() < PAGE {
                break;
            }
        }
        if !follow || state != RunState::Running {
            return ExitCode::SUCCESS;
        }
        std::thread::sleep(POLL);
    }
}

/// The lines of one event: one, or one per line of output for `task_output`.
fn lines(event: &EventRecord, paint: Paint) -> Vec<String> {
    let kind = format!("{:<14}", event.kind);
    let mut prefix = format!(
        "{}  {}",
        human::clock(event.at),
        paint.tone(&kind, kind_tone(&event.kind))
    );
    if let Some(task) = &event.task {
        prefix.push_str("  ");
        prefix.push_str(task);
    }
    let details = details(&event.kind, &event.data);
    if details.is_empty() {
        return vec![prefix.trim_end().to_string()];
    }
    details
        .iter()
        .map(|detail| format!("{prefix}  {detail}").trim_end().to_string())
        .collect()
}

fn kind_tone(kind: &str) -> Tone {
    match kind {
        "task_succeeded" => Tone::Good,
        "task_failed" | "verify_failed" => Tone::Bad,
        "task_retrying" | "task_given_back" | "gate_waiting" => Tone::Busy,
        "task_output" | "agent_activity" | "agent_session" | "prompt_sent" => Tone::Quiet,
        _ => Tone::Plain,
    }
}

/// The most useful part of an event's data, as the text after its kind and task.
fn details(kind: &str, data: &Value) -> Vec<String> {
    match kind {
        "task_output" => {
            if let Some(text) = field(data, &["text", "output", "lines", "line", "chunk"]) {
                return text.lines().map(str::to_string).collect();
            }
        }
        "gate_answered" => {
            let verdict = match data.get("approved").and_then(Value::as_bool) {
                Some(true) => "approved",
                Some(false) => "rejected",
                None => "answered",
            };
            return vec![match field(data, &["reason"]).filter(|r| !r.is_empty()) {
                Some(reason) => format!("{verdict}: {}", human::first_line(&reason)),
                None => verdict.to_string(),
            }];
        }
        "task_claimed" | "task_started" | "task_succeeded" | "task_failed" | "task_retrying"
        | "task_given_back" => {
            let mut text = Vec::new();
            if let Some(attempt) = data.get("attempt").and_then(Value::as_u64) {
                text.push(format!("attempt {attempt}"));
            }
            if let Some(worker) = field(data, &["worker"]) {
                text.push(format!("by {worker}"));
            }
            if let Some(seconds) = data.get("seconds").and_then(Value::as_f64) {
                text.push(format!(
                    "after {}",
                    human::duration((seconds * 1000.0) as i64)
                ));
            }
            let mut text = text.join(" ");
            if let Some(error) = field(data, &["error", "reason"]) {
                if !text.is_empty() {
                    text.push_str(": ");
                }
                text.push_str(&human::first_line(&error));
            }
            if !text.is_empty() {
                return vec![text];
            }
        }
        "run_replanned" => {
            let counts: Vec<String> =
                ["changed", "added", "downstream", "again", "kept", "removed"]
                    .into_iter()
                    .filter_map(|fate| {
                        let n = data.get(fate).and_then(Value::as_array).map_or(0, Vec::len);
                        (n > 0).then(|| format!("{fate} {n}"))
                    })
                    .collect();
            let source = field(data, &["source"]).unwrap_or_default();
            return vec![format!(
                "planned again from {source}: {}",
                counts.join(", ")
            )];
        }
        "attempt_process" | "attempt_stopped" => {
            let attempt = data.get("attempt").and_then(Value::as_u64).unwrap_or(0);
            let group = data.get("pgid").and_then(Value::as_i64).unwrap_or(0);
            return vec![if kind == "attempt_process" {
                let host = field(data, &["host"]).unwrap_or_default();
                format!("attempt {attempt} runs as process group {group} on {host}")
            } else {
                format!("stopped what attempt {attempt} left running (process group {group})")
            }];
        }
        "verify_failed" => {
            if let (Some(command), Some(error)) =
                (field(data, &["command"]), field(data, &["error"]))
            {
                return vec![format!(
                    "`{}`: {}",
                    human::first_line(&command),
                    human::first_line(&error)
                )];
            }
        }
        "agent_activity" => {
            if let Some(activity) = field(data, &["activity"]) {
                return vec![human::first_line(&activity)];
            }
        }
        "agent_session" => return vec![super::usage::usage_text(data)],
        "run_started" => {
            if let Some(worker) = field(data, &["worker"]) {
                return vec![format!("by worker {worker}")];
            }
        }
        "prompt_sent" => {
            // The prompt is long; `wfc show RUN TASK` prints it whole.
            let lines = data["prompt"].as_str().map_or(0, |p| p.lines().count());
            return vec![format!(
                "attempt {}: prompt sent ({lines} lines; `wfc show` prints it)",
                data["attempt"]
            )];
        }
        "gate_waiting" => {
            if let Some(ask) = field(data, &["ask"]).filter(|a| !a.trim().is_empty()) {
                return vec![human::first_line(&ask)];
            }
        }
        _ => {}
    }
    let keys = [
        "error", "message", "reason", "state", "result", "output", "text", "command",
    ];
    if let Some(text) = field(data, &keys) {
        return vec![human::first_line(&text)];
    }
    match data {
        Value::Null => Vec::new(),
        Value::Object(map) if map.is_empty() => Vec::new(),
        other => vec![human::truncate(&other.to_string(), 200)],
    }
}

/// The first of `keys` present in `data` as text: a string, a list of strings (one a line),
/// a number or a boolean.
fn field(data: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|key| match data.get(key)? {
        Value::String(text) => Some(text.clone()),
        Value::Array(items) => Some(
            items
                .iter()
                .map(|item| match item {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(kind: &str, task: Option<&str>, data: Value) -> EventRecord {
        EventRecord {
            seq: 1,
            at: 1_714_566_896_789,
            kind: kind.into(),
            task: task.map(str::to_string),
            data,
        }
    }

    #[test]
    fn each_kind_shows_its_most_useful_field() {
        // Lines show local time; the expectations are written in UTC.
        let off = |e: &EventRecord| -> Vec<String> {
            lines(e, Paint::plain())
                .into_iter()
                .map(|l| l.replacen(&human::clock(e.at), "12:34:56.789", 1))
                .collect()
        };
        assert_eq!(
            off(&event(
                "task_failed",
                Some("b"),
                json!({"error": "exit 1\nmore"})
            )),
            ["12:34:56.789  task_failed     b  exit 1 (+1 more line)"]
        );
        assert_eq!(
            off(&event(
                "task_output",
                Some("b"),
                json!({"text": "one\ntwo\n"})
            )),
            [
                "12:34:56.789  task_output     b  one",
                "12:34:56.789  task_output     b  two"
            ]
        );
        assert_eq!(
            off(&event(
                "gate_answered",
                Some("g"),
                json!({"approved": false, "reason": "no"})
            )),
            ["12:34:56.789  gate_answered   g  rejected: no"]
        );
        assert_eq!(
            off(&event("run_started", None, json!({}))),
            ["12:34:56.789  run_started"]
        );
        assert_eq!(
            off(&event(
                "task_claimed",
                Some("a"),
                json!({"attempt": 2, "worker": "w1"})
            )),
            ["12:34:56.789  task_claimed    a  attempt 2 by w1"]
        );
        assert_eq!(
            off(&event(
                "task_failed",
                Some("b"),
                json!({"attempt": 2, "error": "exit 1", "seconds": 1.25})
            )),
            ["12:34:56.789  task_failed     b  attempt 2 after 1.2s: exit 1"]
        );
        assert_eq!(
            off(&event(
                "verify_failed",
                Some("b"),
                json!({"command": "cargo test", "error": "exit 101"})
            )),
            ["12:34:56.789  verify_failed   b  `cargo test`: exit 101"]
        );
        assert_eq!(
            off(&event(
                "gate_waiting",
                Some("g"),
                json!({"ask": "Ship it?\nReally?", "approve": "wfc approve r g"})
            )),
            ["12:34:56.789  gate_waiting    g  Ship it? (+1 more line)"]
        );
        assert_eq!(
            off(&event(
                "run_finished",
                None,
                json!({"state": "failed", "tasks": {}})
            )),
            ["12:34:56.789  run_finished    failed"]
        );
        assert_eq!(
            off(&event(
                "run_replanned",
                None,
                json!({"source": "ci.wf", "changed": ["b"], "kept": ["a", "c"]})
            )),
            ["12:34:56.789  run_replanned   planned again from ci.wf: changed 1, kept 2"]
        );
        assert_eq!(
            off(&event("custom", None, json!({"n": 1}))),
            [r#"12:34:56.789  custom          {"n":1}"#]
        );
    }
}
