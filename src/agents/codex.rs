//! The `codex` adapter: OpenAI's Codex CLI (`codex exec`).
//!
//! `codex exec --json --skip-git-repo-check -C DIR [--sandbox S] [-m M] -`: the `-` makes it
//! read the prompt from stdin, which is then closed (a prompt argument with an open stdin makes
//! it wait for more). `--json` prints JSONL events: `thread.started` (the session id),
//! `item.*` (commands, file changes, messages), `turn.completed` (token usage) or
//! `turn.failed`, and top-level `error` events, some of them transient. Success needs a
//! `turn.completed`, no `turn.failed`, and exit code 0; the result is the last agent message.
//! Codex reports tokens, not cost.
//!
//! A provider's limit shows only in the failure's words (Codex has retried first, up to its
//! provider's `request_max_retries`): "exceeded retry limit, last status: 429 Too Many
//! Requests", "unexpected status 503 …" or "… 529 …", "Selected model is at capacity",
//! "Quota exceeded", and for a ChatGPT plan "You’ve hit your usage limit … try again at
//! 4:42 AM" (local time to the minute, so wfc waits to the minute's end; a date first when
//! the reset is another day).

use super::cli::{readable_error, short, CliAgent, CliInfo, Ended, SessionParser};
use super::limit_words::{clock_time, kind_of_status};
use super::profile::Profile;
use super::reading::{input_text, Step};
use super::session::no_result;
use crate::runtime::agent::{AgentReply, LimitKind, ProviderLimit, SessionUsage};
use crate::runtime::process::ExitStatusKind;
use crate::runtime::sandbox::HomePath;
use jiff::tz::TimeZone;
use serde_json::Value;
use std::ffi::OsString;
use std::path::PathBuf;

/// The sandbox when the profile sets none: the agent may write in its workdir, not elsewhere.
pub const DEFAULT_SANDBOX: &str = "workspace-write";

/// The sandbox when the profile sets none and wfc runs the session in its own bubblewrap
/// sandbox: Codex's sandbox is bubblewrap too, and one cannot be started inside the other (it
/// cannot mount `/proc`), so wfc's sandbox alone confines the session.
pub const SANDBOX_IN_WFC_SANDBOX: &str = "danger-full-access";

/// The Codex adapter.
pub struct Codex;

/// Codex's names, variables and hints.
const INFO: CliInfo = CliInfo {
    name: "codex",
    default_bin: "codex",
    install_hint: "Install the Codex CLI (`npm install -g @openai/codex`) so that `codex` is on PATH, or set `bin` in the agent profile",
    key_vars: &["CODEX_API_KEY", "OPENAI_API_KEY"],
    config_vars: &["CODEX_HOME", "OPENAI_BASE_URL"],
    login_hint: "set CODEX_API_KEY or OPENAI_API_KEY, or run `codex login` once",
    // Codex keeps its config, login and sessions in `~/.codex` (or `$CODEX_HOME`).
    home_paths: &[
        HomePath { path: ".codex", writable: true },
    ],
    path_vars: &["CODEX_HOME"],
};

impl CliAgent for Codex {
    fn info(&self) -> &'static CliInfo {
        &INFO
    }

    fn args(&self, profile: &Profile<'_>, _prompt_file: Option<&PathBuf>) -> Vec<OsString> {
        exec_args(profile, DEFAULT_SANDBOX)
    }

    fn args_in_sandbox(
        &self,
        profile: &Profile<'_>,
        _prompt_file: Option<&PathBuf>,
    ) -> Vec<OsString> {
        exec_args(profile, SANDBOX_IN_WFC_SANDBOX)
    }

    fn parser(&self) -> Box<dyn SessionParser> {
        Box::new(CodexParser::default())
    }
}

/// `exec` and its options, with Codex's sandbox `default` unless the profile sets one.
fn exec_args(profile: &Profile<'_>, default: &str) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["exec", "--json", "--skip-git-repo-check", "--sandbox"]
        .into_iter()
        .map(OsString::from)
        .collect();
    args.push(profile.string("sandbox").unwrap_or(default).into());
    if let Some(model) = profile.string("model") {
        args.push("--model".into());
        args.push(model.into());
    }
    // The prompt comes from stdin; `-` must come last, after every option.
    args.push("-".into());
    args
}

/// Reads `codex exec --json` events.
#[derive(Default)]
struct CodexParser {
    thread_id: Option<String>,
    last_message: Option<String>,
    completed: bool,
    failure: Option<String>,
    last_error: Option<String>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    turns: u64,
    events: usize,
}

impl SessionParser for CodexParser {
    fn line(&mut self, line: &str) -> Option<String> {
        let event: Value = serde_json::from_str(line).ok()?;
        self.events += 1;
        match event.get("type").and_then(Value::as_str)? {
            "thread.started" => {
                self.thread_id = event
                    .get("thread_id")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                Some(format!(
                    "session {} started",
                    self.thread_id.as_deref().unwrap_or("?")
                ))
            }
            "turn.completed" => {
                self.completed = true;
                self.turns += 1;
                let usage = event.get("usage");
                let count = |names: &[&str]| -> u64 {
                    names
                        .iter()
                        .filter_map(|n| usage.and_then(|u| u.get(n)).and_then(Value::as_u64))
                        .sum()
                };
                // OpenAI's counts nest: `input_tokens` already includes the cached ones and
                // `output_tokens` the reasoning ones (a real session reports cached 40 of 240),
                // so adding the parts would count them twice.
                *self.input_tokens.get_or_insert(0) += count(&["input_tokens"]);
                *self.output_tokens.get_or_insert(0) += count(&["output_tokens"]);
                None
            }
            "turn.failed" => {
                let message = event
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("no message");
                self.failure = Some(readable_error(message));
                None
            }
            "error" => {
                // Top-level errors include transient ones ("Reconnecting…"); a later
                // `turn.completed` means the session recovered.
                let message = readable_error(
                    event
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("no message"),
                );
                let note = format!("error: {}", short(&message, 120));
                self.last_error = Some(message);
                Some(note)
            }
            "item.started" | "item.completed" => {
                let item = event.get("item")?;
                let started = event.get("type").and_then(Value::as_str) == Some("item.started");
                match item.get("type").and_then(Value::as_str)? {
                    "agent_message" if !started => {
                        let text = item.get("text").and_then(Value::as_str).unwrap_or("");
                        self.last_message = Some(text.to_string());
                        Some(format!("says: {}", short(text, 120)))
                    }
                    "command_execution" if started => Some(format!(
                        "$ {}",
                        short(
                            item.get("command").and_then(Value::as_str).unwrap_or(""),
                            120
                        )
                    )),
                    "file_change" if !started => Some("changed files".to_string()),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn finish(&mut self, ended: &Ended<'_>) -> AgentReply {
        let mut usage = SessionUsage {
            session_id: self.thread_id.clone(),
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            turns: (self.turns > 0).then_some(self.turns),
            ..SessionUsage::default()
        };
        let outcome = if let Some(failure) = &self.failure {
            Err(format!("the turn failed: {failure}"))
        } else if !self.completed {
            let mut reason = no_result(ended, "codex");
            if let Some(error) = &self.last_error {
                reason.push_str(&format!("\nits last error event: {error}"));
            }
            Err(reason)
        } else if ended.status != ExitStatusKind::Code(0) {
            Err(no_result(ended, "codex"))
        } else {
            Ok(self.last_message.clone().unwrap_or_default())
        };
        if outcome.is_err() {
            let said = self.failure.as_ref().or(self.last_error.as_ref());
            usage.limit = said.and_then(|message| {
                limit_of(message, crate::runtime::now_millis(), &TimeZone::system())
            });
        }
        AgentReply { outcome, usage }
    }
}

/// The provider's limit that Codex's failure `message` reports, if it reports one; a usage
/// limit's reset is read in `zone`, where Codex wrote it.
fn limit_of(message: &str, now: crate::runtime::Millis, zone: &TimeZone) -> Option<ProviderLimit> {
    let (kind, resets_at) = if message.contains("hit your usage limit") {
        let resets_at = clock_time(message, "try again at", now, zone);
        (LimitKind::UsageLimit, resets_at)
    } else if message.starts_with("Quota exceeded") {
        (LimitKind::UsageLimit, None)
    } else if message.contains("is at capacity") {
        (LimitKind::Overloaded, None)
    } else {
        (kind_of_status(status_in(message)?, message)?, None)
    };
    Some(ProviderLimit {
        kind,
        resets_at,
        message: message.to_string(),
    })
}

/// The HTTP status a Codex error names: "last status: 429 Too Many Requests", "unexpected
/// status 503 Service Unavailable: …".
fn status_in(message: &str) -> Option<u64> {
    let start = message.find("status")? + "status".len();
    message[start..]
        .trim_start_matches([':', ' '])
        .get(..3)?
        .parse()
        .ok()
}

/// The steps of one event of Codex's stream (`codex exec --json`), for `wfc show`: items are
/// read when completed, which holds the call and its result together.
pub(super) fn transcript_steps(event: &Value) -> Vec<Step> {
    let text_of = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    match event.get("type").and_then(Value::as_str) {
        Some("thread.started") => vec![Step::Started {
            text: format!(
                "session {}",
                text_of(event, "thread_id").unwrap_or_else(|| "?".into())
            ),
        }],
        Some("turn.failed") => vec![Step::Error {
            text: readable_error(
                event
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("no message"),
            ),
        }],
        Some("error") => vec![Step::Error {
            text: readable_error(&text_of(event, "message").unwrap_or_default()),
        }],
        Some("item.completed") => {
            let Some(item) = event.get("item") else {
                return Vec::new();
            };
            match item.get("type").and_then(Value::as_str).unwrap_or("") {
                "agent_message" => vec![Step::Message {
                    text: text_of(item, "text").unwrap_or_default(),
                }],
                "command_execution" => vec![
                    Step::ToolCall {
                        tool: "shell".into(),
                        input: text_of(item, "command").unwrap_or_default(),
                    },
                    Step::ToolResult {
                        output: text_of(item, "aggregated_output").unwrap_or_default(),
                        failed: item
                            .get("exit_code")
                            .and_then(Value::as_i64)
                            .is_some_and(|code| code != 0),
                    },
                ],
                "file_change" => {
                    let changes = item
                        .get("changes")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    let listed: Vec<String> = changes
                        .iter()
                        .map(|c| {
                            format!(
                                "{} {}",
                                text_of(c, "kind").unwrap_or_else(|| "change".into()),
                                text_of(c, "path").unwrap_or_default()
                            )
                        })
                        .collect();
                    vec![Step::ToolCall {
                        tool: "file_change".into(),
                        input: listed.join("\n"),
                    }]
                }
                "mcp_tool_call" => vec![
                    Step::ToolCall {
                        tool: format!(
                            "{}/{}",
                            text_of(item, "server").unwrap_or_default(),
                            text_of(item, "tool").unwrap_or_default()
                        ),
                        input: input_text(item.get("arguments")),
                    },
                    Step::ToolResult {
                        output: input_text(item.get("result").or(item.get("error"))),
                        failed: item.get("error").is_some_and(|e| !e.is_null()),
                    },
                ],
                "web_search" => vec![Step::ToolCall {
                    tool: "web_search".into(),
                    input: text_of(item, "query").unwrap_or_default(),
                }],
                "error" => vec![Step::Error {
                    text: text_of(item, "message").unwrap_or_default(),
                }],
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(message: &str) -> Option<LimitKind> {
        limit_of(message, 0, &TimeZone::UTC).map(|limit| limit.kind)
    }

    #[test]
    fn the_limits_codex_reports_are_recognised_in_its_words() {
        // The words of the real CLI (0.169) against a server answering each status.
        assert_eq!(
            kind("exceeded retry limit, last status: 429 Too Many Requests"),
            Some(LimitKind::RateLimit)
        );
        assert_eq!(
            kind("unexpected status 529 <unknown status code>: Overloaded, url: http://127.0.0.1:1/v1/responses"),
            Some(LimitKind::Overloaded)
        );
        assert_eq!(
            kind("unexpected status 503 Service Unavailable: upstream unavailable, url: …"),
            Some(LimitKind::Overloaded)
        );
        assert_eq!(
            kind("Selected model is at capacity. Please try a different model."),
            Some(LimitKind::Overloaded)
        );
        assert_eq!(
            kind("Quota exceeded. Check your plan and billing details."),
            Some(LimitKind::UsageLimit)
        );
        assert_eq!(
            kind("You’ve hit your usage limit. Try again later."),
            Some(LimitKind::UsageLimit)
        );
        assert_eq!(kind("unexpected status 400 Bad Request: no"), None);
        assert_eq!(kind("The scripted server refuses this request"), None);
        let limit = limit_of(
            "You’ve hit your usage limit. Try again at Dec 8th, 2026 3:42 AM.",
            0,
            &TimeZone::UTC,
        )
        .expect("a limit");
        assert_eq!(limit.resets_at, Some(1_796_701_320_000 + 60_000));
    }
}
