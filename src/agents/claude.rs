//! The `claude-code` adapter: Anthropic's Claude Code CLI in print mode.
//!
//! `claude -p --output-format stream-json --verbose`, the prompt on stdin (then closed), one
//! fresh session per attempt. Every stdout line is one JSON event: `system` (`init` carries the
//! session id), `assistant` (text and tool calls, shown as progress), `user` (tool results)
//! and last `result`, which decides the attempt. Exit code 0 alone proves nothing (an API error
//! can end with `subtype: "success"`, `is_error: true`), so success needs all of: a `result`
//! event, `is_error` false, `subtype` `success`, no `permission_denials`, and exit code 0.

use super::cli::{short, CliAgent, CliInfo, Ended, SessionParser};
use super::profile::Profile;
use super::reading::{content_text, input_text, Step};
use super::session::{last_lines, no_result};
use crate::runtime::agent::{AgentReply, LimitKind, ProviderLimit, SessionUsage};
use crate::runtime::process::ExitStatusKind;
use crate::runtime::sandbox::HomePath;
use serde_json::Value;
use std::ffi::OsString;
use std::path::PathBuf;

/// Turns a session may take when the profile sets no `max_turns`. Without the flag the CLI's
/// own cap has ended runs after a few turns with a success status; a large explicit cap is
/// predictable.
pub const DEFAULT_MAX_TURNS: u64 = 100;

/// The Claude Code adapter.
pub struct ClaudeCode;

/// Claude Code's names, variables and hints.
const INFO: CliInfo = CliInfo {
    name: "claude-code",
    default_bin: "claude",
    install_hint: "Install Claude Code (`npm install -g @anthropic-ai/claude-code`) so that `claude` is on PATH, or set `bin` in the agent profile",
    key_vars: &[
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_AUTH_TOKEN",
            "CLAUDE_CODE_OAUTH_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        ],
    config_vars: &[
            "ANTHROPIC_BASE_URL",
            "ANTHROPIC_MODEL",
            "CLAUDE_CONFIG_DIR",
            "CLAUDE_CODE_USE_BEDROCK",
            "CLAUDE_CODE_USE_VERTEX",
            "ANTHROPIC_VERTEX_PROJECT_ID",
            "CLOUD_ML_REGION",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "AWS_REGION",
            "AWS_PROFILE",
            "AWS_ACCESS_KEY_ID",
        ],
    login_hint: "set ANTHROPIC_API_KEY, or run `claude setup-token` and set CLAUDE_CODE_OAUTH_TOKEN, or log in once with `claude`",
    // Claude Code keeps its settings, sessions and login in `~/.claude` and `~/.claude.json`;
    // Bedrock and Vertex logins come from the AWS and gcloud folders.
    home_paths: &[
        HomePath { path: ".claude", writable: true },
        HomePath { path: ".claude.json", writable: true },
        HomePath { path: ".claude.json.backup", writable: true },
        HomePath { path: ".config/claude", writable: true },
        HomePath { path: ".aws", writable: false },
        HomePath { path: ".config/gcloud", writable: false },
    ],
    path_vars: &["CLAUDE_CONFIG_DIR"],
};

impl CliAgent for ClaudeCode {
    fn info(&self) -> &'static CliInfo {
        &INFO
    }

    fn args(&self, profile: &Profile<'_>, _prompt_file: Option<&PathBuf>) -> Vec<OsString> {
        let mut args: Vec<OsString> = ["-p", "--output-format", "stream-json", "--verbose"]
            .into_iter()
            .map(OsString::from)
            .collect();
        if let Some(model) = profile.string("model") {
            args.push("--model".into());
            args.push(model.into());
        }
        let turns = profile.number("max_turns").unwrap_or(DEFAULT_MAX_TURNS);
        args.push("--max-turns".into());
        args.push(turns.to_string().into());
        if let Some(mode) = profile.string("permission_mode") {
            args.push("--permission-mode".into());
            args.push(mode.into());
        }
        // The `=` form keeps each tool one argument: the options are variadic, and a tool rule
        // such as `Bash(npm test:*)` must not be split or swallow the next argument.
        for tool in profile.strings("allow") {
            args.push(format!("--allowedTools={tool}").into());
        }
        for tool in profile.strings("deny") {
            args.push(format!("--disallowedTools={tool}").into());
        }
        args
    }

    fn budget_args(&self, max_usd: f64) -> Vec<OsString> {
        // Cents rounded down: the CLI must stop at or under what the budget leaves.
        let cents = (max_usd * 100.0).floor().max(0.0) / 100.0;
        vec!["--max-budget-usd".into(), format!("{cents:.2}").into()]
    }

    fn output_schema_args(&self, schema: &Value) -> Vec<OsString> {
        // One argument, so the schema can never be read as another option.
        vec![format!("--json-schema={schema}").into()]
    }

    fn parser(&self) -> Box<dyn SessionParser> {
        Box::new(StreamParser::new("claude"))
    }
}

/// Reads Claude Code's `stream-json` events (also Cursor's, which copies the format).
pub struct StreamParser {
    program: &'static str,
    session_id: Option<String>,
    result: Option<Value>,
    other_lines: usize,
    first_other: Option<String>,
    /// The `rate_limit_info` of a `rate_limit_event` whose status is `rejected`: the account's
    /// usage limit, with when it resets.
    rejected: Option<Value>,
}

impl StreamParser {
    /// A parser for the output of `program` (named in error messages).
    pub fn new(program: &'static str) -> Self {
        StreamParser {
            program,
            session_id: None,
            result: None,
            other_lines: 0,
            first_other: None,
            rejected: None,
        }
    }
}

impl SessionParser for StreamParser {
    fn line(&mut self, line: &str) -> Option<String> {
        if line.trim().is_empty() {
            return None;
        }
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            self.other_lines += 1;
            if self.first_other.is_none() {
                self.first_other = Some(short(line, 200));
            }
            return None;
        };
        if let Some(id) = event.get("session_id").and_then(Value::as_str) {
            self.session_id.get_or_insert_with(|| id.to_string());
        }
        match event.get("type").and_then(Value::as_str) {
            Some("result") => {
                self.result = Some(event);
                None
            }
            Some("assistant") => describe_message(&event),
            Some("rate_limit_event") => {
                let info = event.get("rate_limit_info")?;
                // A server's rate limit (HTTP 429 without the account's limit) comes as a
                // rejected event too, but names no limit and no reset: the `result` says it.
                let named = info.get("rateLimitType").is_some() || info.get("resetsAt").is_some();
                if info.get("status").and_then(Value::as_str) != Some("rejected") || !named {
                    return None;
                }
                self.rejected = Some(info.clone());
                Some(format!(
                    "the account's usage limit ({}) was reached",
                    info.get("rateLimitType")
                        .and_then(Value::as_str)
                        .unwrap_or("unnamed")
                ))
            }
            Some("system") => match event.get("subtype").and_then(Value::as_str) {
                Some("init") => Some(format!(
                    "session {} started (model {})",
                    self.session_id.as_deref().unwrap_or("?"),
                    event.get("model").and_then(Value::as_str).unwrap_or("?")
                )),
                Some("api_retry") => Some(format!(
                    "API request failed; retry {} of {}",
                    event.get("attempt").and_then(Value::as_u64).unwrap_or(0),
                    event
                        .get("max_retries")
                        .and_then(Value::as_u64)
                        .unwrap_or(0)
                )),
                _ => None,
            },
            _ => None,
        }
    }

    fn finish(&mut self, ended: &Ended<'_>) -> AgentReply {
        let Some(result) = self.result.take() else {
            let mut reason = no_result(ended, self.program);
            if let Some(first) = &self.first_other {
                reason.push_str(&format!(
                    "\n({} line(s) of its output were not JSON events, the first: {first})",
                    self.other_lines
                ));
            }
            return AgentReply {
                outcome: Err(reason),
                usage: SessionUsage {
                    session_id: self.session_id.clone(),
                    ..SessionUsage::default()
                },
            };
        };
        let mut reply = judge_result(&result, ended, self.session_id.clone());
        if reply.outcome.is_err() {
            reply.usage.limit = limit_of(&result, self.rejected.as_ref());
        }
        reply
    }
}

/// The provider's limit a failed session ran into, from its `result` (`api_error_status` 429
/// or 529, the CLI having retried as it does) and a `rate_limit_event` that said the account's
/// usage limit was reached (with its reset time, in seconds since the epoch).
fn limit_of(result: &Value, rejected: Option<&Value>) -> Option<ProviderLimit> {
    let message = result
        .get("result")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if let Some(info) = rejected {
        return Some(ProviderLimit {
            kind: LimitKind::UsageLimit,
            resets_at: info
                .get("resetsAt")
                .and_then(Value::as_i64)
                .map(|seconds| seconds * 1000),
            message,
        });
    }
    let kind = match result.get("api_error_status").and_then(Value::as_u64)? {
        429 if message.contains("hit your") => LimitKind::UsageLimit,
        429 => LimitKind::RateLimit,
        529 => LimitKind::Overloaded,
        _ => return None,
    };
    Some(ProviderLimit {
        kind,
        resets_at: None,
        message,
    })
}

/// One progress line for an `assistant` event: its tool calls, or the start of its text.
fn describe_message(event: &Value) -> Option<String> {
    let blocks = event.pointer("/message/content")?.as_array()?;
    let mut parts = Vec::new();
    for block in blocks {
        match block.get("type").and_then(Value::as_str) {
            Some("tool_use") => {
                let name = block.get("name").and_then(Value::as_str).unwrap_or("tool");
                let input = block.get("input");
                let detail = [
                    "file_path",
                    "command",
                    "pattern",
                    "path",
                    "url",
                    "description",
                ]
                .iter()
                .find_map(|key| input?.get(key)?.as_str())
                .map(|d| short(d, 100))
                .unwrap_or_default();
                parts.push(format!("{name} {detail}").trim_end().to_string());
            }
            Some("text") => {
                let text = block.get("text").and_then(Value::as_str).unwrap_or("");
                if !text.trim().is_empty() {
                    parts.push(format!("says: {}", short(text, 120)));
                }
            }
            _ => {}
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The verdict on a Claude-Code-style `result` object (Claude Code's last event; Cursor's
/// whole `json` output).
pub fn judge_result(result: &Value, ended: &Ended<'_>, session_id: Option<String>) -> AgentReply {
    let usage = usage_of(result, session_id);
    let mut text = result
        .get("result")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    // With `--json-schema` the CLI gives the checked answer apart from the text (which is
    // then usually that JSON); unless the text is it, it ends the result as a fenced JSON
    // block, which is where the engine reads a typed output from.
    let structured = result.get("structured_output").filter(|v| !v.is_null());
    let said = serde_json::from_str::<Value>(text.trim()).ok();
    if let Some(structured) = structured.filter(|s| said.as_ref() != Some(*s)) {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&format!("```json\n{structured}\n```"));
    }
    let subtype = result
        .get("subtype")
        .and_then(Value::as_str)
        .unwrap_or("success");
    let is_error = result
        .get("is_error")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let denials: Vec<String> = result
        .get("permission_denials")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|d| {
                    let tool = d.get("tool_name").and_then(Value::as_str).unwrap_or("?");
                    let input = d.get("tool_input");
                    let target = ["file_path", "command", "path"]
                        .iter()
                        .find_map(|k| input?.get(k)?.as_str())
                        .map(|t| format!(" ({})", short(t, 80)))
                        .unwrap_or_default();
                    format!("{tool}{target}")
                })
                .collect()
        })
        .unwrap_or_default();
    let errors: Vec<String> = result
        .get("errors")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|e| {
                    e.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| e.to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    let outcome = if subtype == "error_max_turns" {
        Err(format!(
            "the session stopped at its turn limit before finishing (subtype error_max_turns{}); raise `max_turns` in the profile or split the task",
            if errors.is_empty() { String::new() } else { format!(": {}", errors.join("; ")) }
        ))
    } else if subtype != "success" {
        Err(format!(
            "the session failed (subtype {subtype}){}{}",
            if errors.is_empty() {
                String::new()
            } else {
                format!(": {}", errors.join("; "))
            },
            if text.is_empty() {
                String::new()
            } else {
                format!("\n{}", last_lines(&text, 20))
            }
        ))
    } else if is_error {
        let status = result
            .get("api_error_status")
            .and_then(Value::as_u64)
            .map(|s| format!(" (API status {s})"))
            .unwrap_or_default();
        Err(format!(
            "the session ended with an error{status}: {}",
            if text.is_empty() {
                "no message".to_string()
            } else {
                last_lines(&text, 20)
            }
        ))
    } else if !denials.is_empty() {
        Err(format!(
            "the session was denied permission to use {}; allow the tools it needs in the profile (`allow = [\"Write\", \"Edit\", \"Bash(cargo test:*)\"]`) or set `permission_mode`",
            denials.join(", ")
        ))
    } else if ended.status != ExitStatusKind::Code(0) {
        Err(format!(
            "the CLI reported success, but {}{}",
            ended.status,
            match last_lines(ended.stderr_tail, 10) {
                s if s.is_empty() => String::new(),
                s => format!("; its stderr ends:\n{s}"),
            }
        ))
    } else {
        Ok(text)
    };
    AgentReply { outcome, usage }
}

/// The usage a `result` object reports: session id, cost, tokens (cache reads and writes count
/// as input), turns.
fn usage_of(result: &Value, session_id: Option<String>) -> SessionUsage {
    let tokens = |names: &[&str]| -> Option<u64> {
        let usage = result.get("usage")?;
        let values: Vec<u64> = names
            .iter()
            .filter_map(|n| usage.get(n).and_then(Value::as_u64))
            .collect();
        (!values.is_empty()).then(|| values.iter().sum())
    };
    SessionUsage {
        session_id: result
            .get("session_id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or(session_id),
        cost_usd: result.get("total_cost_usd").and_then(Value::as_f64),
        input_tokens: tokens(&[
            "input_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
        ]),
        output_tokens: tokens(&["output_tokens"]),
        turns: result.get("num_turns").and_then(Value::as_u64),
        process_ms: None,
        limit: None,
    }
}

/// The steps of one event of Claude Code's stream (`--output-format stream-json`), for
/// `wfc show`.
pub(super) fn transcript_steps(event: &Value) -> Vec<Step> {
    let text_of = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    match event.get("type").and_then(Value::as_str) {
        Some("system") if event.get("subtype").and_then(Value::as_str) == Some("init") => {
            vec![Step::Started {
                text: format!(
                    "session {} (model {})",
                    text_of(event, "session_id").unwrap_or_else(|| "?".into()),
                    text_of(event, "model").unwrap_or_else(|| "?".into())
                ),
            }]
        }
        Some("assistant") | Some("user") => {
            let blocks = event
                .pointer("/message/content")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            blocks
                .iter()
                .filter_map(|block| match block.get("type").and_then(Value::as_str)? {
                    "text" => Some(Step::Message {
                        text: text_of(block, "text")?,
                    }),
                    "tool_use" => Some(Step::ToolCall {
                        tool: text_of(block, "name").unwrap_or_else(|| "tool".into()),
                        input: input_text(block.get("input")),
                    }),
                    "tool_result" => Some(Step::ToolResult {
                        output: content_text(block.get("content")),
                        failed: block.get("is_error").and_then(Value::as_bool) == Some(true),
                    }),
                    _ => None,
                })
                .collect()
        }
        Some("result") => match text_of(event, "result") {
            Some(text) if event.get("is_error").and_then(Value::as_bool) == Some(true) => {
                vec![Step::Error { text }]
            }
            Some(text) => vec![Step::Final { text }],
            None => vec![Step::Error {
                text: format!(
                    "the session ended ({})",
                    text_of(event, "subtype").unwrap_or_else(|| "no result".into())
                ),
            }],
        },
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_cap_is_passed_in_whole_cents_rounded_down() {
        let args = ClaudeCode.budget_args(1.509);
        assert_eq!(args, [OsString::from("--max-budget-usd"), "1.50".into()]);
    }
}
