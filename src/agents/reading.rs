//! Reading a stored transcript back the way a person reads a session: each CLI's event stream
//! (or plain text) turned into steps — what the agent said, the tools it called with their
//! input, what they returned, its final message. `wfc show` prints these; `--raw` prints the
//! stream itself.

use super::{claude, codex, gemini, opencode};
use crate::ir::Adapter;
use serde::Serialize;

/// One step of a session, as `wfc show` prints it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// The session started (its id, its model).
    Started {
        /// What the CLI said about it.
        text: String,
    },
    /// Something the agent said along the way.
    Message {
        /// Its words.
        text: String,
    },
    /// A tool call and its input.
    ToolCall {
        /// The tool's name.
        tool: String,
        /// Its input, as the CLI reported it (a command, a path, JSON).
        input: String,
    },
    /// What a tool returned.
    ToolResult {
        /// Its output.
        output: String,
        /// Whether the tool reported a failure.
        failed: bool,
    },
    /// The session's final message: the task's result when it succeeded.
    Final {
        /// Its words.
        text: String,
    },
    /// An error the CLI reported.
    Error {
        /// What it said.
        text: String,
    },
    /// A line that is none of these (plain output, or a line the reader did not know).
    Text {
        /// The line.
        text: String,
    },
}

/// The steps of a session of `adapter` that printed `stdout` (its lines, in order).
pub fn session_steps(adapter: &str, stdout: &[&str]) -> Vec<Step> {
    let mut steps = match Adapter::from_name(adapter) {
        Some(Adapter::ClaudeCode) => per_line(stdout, claude::transcript_steps),
        Some(Adapter::Codex) => per_line(stdout, codex::transcript_steps),
        Some(Adapter::Opencode) => per_line(stdout, opencode::transcript_steps),
        Some(Adapter::Gemini) => gemini::transcript_steps(stdout),
        _ => plain(stdout),
    };
    final_message(&mut steps);
    steps
}

/// Marks the final message: a CLI that ends with a result (Claude Code's `result`) repeats its
/// last message there, which is then dropped; one that does not (Codex, OpenCode) ends with a
/// message, which is the final one.
fn final_message(steps: &mut Vec<Step>) {
    let last_message = steps
        .iter()
        .rposition(|step| matches!(step, Step::Message { .. }));
    let final_text = steps.iter().find_map(|step| match step {
        Step::Final { text } => Some(text.clone()),
        _ => None,
    });
    match (last_message, final_text) {
        (Some(index), Some(text)) => {
            if matches!(&steps[index], Step::Message { text: said } if said.trim() == text.trim()) {
                steps.remove(index);
            }
        }
        (Some(index), None) => {
            if let Step::Message { text } = steps[index].clone() {
                steps[index] = Step::Final { text };
            }
        }
        _ => {}
    }
}

/// Steps read line by line; a line the reader makes nothing of is kept as text unless it is
/// an event of the stream (JSON) with nothing to show.
fn per_line(stdout: &[&str], read: fn(&serde_json::Value) -> Vec<Step>) -> Vec<Step> {
    let mut steps = Vec::new();
    for line in stdout {
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(event) if event.is_object() => steps.extend(read(&event)),
            _ if line.trim().is_empty() => {}
            _ => steps.push(Step::Text {
                text: line.to_string(),
            }),
        }
    }
    steps
}

/// Plain output: one text step per line.
fn plain(stdout: &[&str]) -> Vec<Step> {
    stdout
        .iter()
        .map(|line| Step::Text {
            text: line.to_string(),
        })
        .collect()
}

/// `value` as a tool's input reads: a string as it is, anything else as compact JSON.
pub(super) fn input_text(value: Option<&serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

/// The text of a tool result's content: a string, or the text blocks of a list.
pub(super) fn content_text(value: Option<&serde_json::Value>) -> String {
    match value {
        Some(serde_json::Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|block| {
                block
                    .get("text")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_string)
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => input_text(other),
    }
}
