//! The `gemini` adapter: Google's Gemini CLI in headless mode.
//!
//! `gemini -o stream-json --approval-mode yolo [-m M] -p "…"`: the task's prompt goes on stdin,
//! which the CLI puts before the `-p` text, so argv carries only a fixed instruction. Without an
//! approval mode that allows edits, headless mode removes the tools that need approval. The
//! output is one JSON event a line: `init {session_id, model}`, `message {role, content,
//! delta?}`, `tool_use {tool_name, tool_id, parameters}`, `tool_result {tool_id, status,
//! output?, error?}`, `error {severity, message}` and last `result {status, error?, stats}`, so
//! the session's tool calls show as they happen and its transcript holds their inputs. When the
//! model's API refuses a request the CLI may print a `-o json` style object
//! (`{session_id, response, stats, error}`) to stderr instead, which is read too. The exit code
//! says what failed (41 authentication, 42 input, 52 configuration, 53 turn limit, 54 a tool).
//!
//! A provider's limit: the CLI retries (`general.maxAttempts` in its settings, 10 by default,
//! waiting as the API asks) and then names on stderr the error it gave up on:
//! `TerminalQuotaError` (a daily quota, the account's usage limit) or `RetryableQuotaError`
//! (a per-minute quota, HTTP 429; or an overloaded model, `status: 503`), with the wait the
//! API asked for (`retryDelayMs: 3000`); its result says "Suggested retry after 3s.".

use super::cli::{readable_error, short, CliAgent, CliInfo, Ended, SessionParser};
use super::limit_words::wait_in_words;
use super::profile::Profile;
use super::reading::Step;
use super::session::no_result;
use crate::runtime::agent::{AgentReply, LimitKind, ProviderLimit, SessionUsage};
use crate::runtime::process::ExitStatusKind;
use crate::runtime::sandbox::HomePath;
use serde_json::Value;
use std::ffi::OsString;
use std::path::PathBuf;

/// The approval mode when the profile sets none: edits and commands run without asking, as no
/// one is there to answer.
pub const DEFAULT_APPROVAL_MODE: &str = "yolo";

/// The `-p` text: the task itself arrives on stdin, ahead of it.
const INSTRUCTION: &str = "Carry out the task described above.";

/// The Gemini CLI adapter.
pub struct Gemini;

/// The Gemini CLI's names, variables and hints.
const INFO: CliInfo = CliInfo {
    name: "gemini",
    default_bin: "gemini",
    install_hint: "Install the Gemini CLI (`npm install -g @google/gemini-cli`) so that `gemini` is on PATH, or set `bin` in the agent profile",
    key_vars: &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
    config_vars: &[
            "GOOGLE_GENAI_USE_VERTEXAI",
            "GOOGLE_CLOUD_PROJECT",
            "GOOGLE_CLOUD_LOCATION",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "GOOGLE_GEMINI_BASE_URL",
            // Trusts the workspace for the session; in an untrusted folder the CLI turns
            // `--approval-mode yolo` back into `default`, and headless mode then has no tool
            // that writes.
            "GEMINI_CLI_TRUST_WORKSPACE",
        ],
    login_hint: "set GEMINI_API_KEY, or log in once with `gemini`",
    // The Gemini CLI keeps its settings, login and history in `~/.gemini`; a Google login
    // may come from gcloud's credentials.
    home_paths: &[
        HomePath { path: ".gemini", writable: true },
        HomePath { path: ".config/gcloud", writable: false },
    ],
    path_vars: &[],
};

impl CliAgent for Gemini {
    fn info(&self) -> &'static CliInfo {
        &INFO
    }

    fn args(&self, profile: &Profile<'_>, _prompt_file: Option<&PathBuf>) -> Vec<OsString> {
        let mut args: Vec<OsString> =
            vec!["-o".into(), "stream-json".into(), "--approval-mode".into()];
        args.push(
            profile
                .string("approval_mode")
                .unwrap_or(DEFAULT_APPROVAL_MODE)
                .into(),
        );
        if let Some(model) = profile.string("model") {
            args.push("-m".into());
            args.push(model.into());
        }
        args.push("-p".into());
        args.push(INSTRUCTION.into());
        args
    }

    fn parser(&self) -> Box<dyn SessionParser> {
        Box::new(GeminiParser::default())
    }
}

/// Reads `gemini -o stream-json` events as they come.
#[derive(Default)]
struct GeminiParser {
    /// Every line, for the fallback of an object printed whole.
    text: String,
    session_id: Option<String>,
    /// The assistant's words, joined from its `message` events.
    response: String,
    /// How many times the model answered: a turn starts with the model's first words or tool
    /// call after the results of the tools it called (the events number no requests).
    turns: u64,
    /// Whether a tool's result came since the model's last words or call.
    after_tool_result: bool,
    /// The `result` event.
    result: Option<Value>,
}

impl SessionParser for GeminiParser {
    fn line(&mut self, line: &str) -> Option<String> {
        self.text.push_str(line);
        self.text.push('\n');
        let event = serde_json::from_str::<Value>(line.trim()).ok()?;
        let text = |key: &str| event.get(key).and_then(Value::as_str).unwrap_or("");
        match text("type") {
            "init" => {
                self.session_id = Some(text("session_id").to_string());
                Some(format!(
                    "session {} started (model {})",
                    text("session_id"),
                    text("model")
                ))
            }
            "message" if text("role") == "assistant" => {
                self.count_turn();
                self.response.push_str(text("content"));
                None
            }
            "tool_use" => {
                self.count_turn();
                Some(format!(
                    "{} {}",
                    text("tool_name"),
                    short(&parameters_text(event.get("parameters")), 120)
                ))
            }
            "tool_result" if text("status") != "error" => {
                self.after_tool_result = true;
                None
            }
            "tool_result" => Some(format!(
                "a tool failed: {}",
                short(
                    event
                        .pointer("/error/message")
                        .and_then(Value::as_str)
                        .unwrap_or("no message"),
                    200
                )
            )),
            "error" => Some(format!(
                "{}: {}",
                text("severity"),
                short(text("message"), 200)
            )),
            "result" => {
                self.result = Some(event.clone());
                None
            }
            _ => None,
        }
    }

    fn finish(&mut self, ended: &Ended<'_>) -> AgentReply {
        let mut reply = self.judge(ended);
        if let Err(error) = &reply.outcome {
            reply.usage.limit = limit_of(error, ended.stderr_tail, crate::runtime::now_millis());
        }
        reply
    }
}

impl GeminiParser {
    /// The session's reply, from its `result` event or the object the CLI printed instead.
    fn judge(&mut self, ended: &Ended<'_>) -> AgentReply {
        let Some(result) = self.result.take() else {
            return self.finish_object(ended);
        };
        let failed = result.get("status").and_then(Value::as_str) != Some("success");
        // A request the model's API refused: the CLI's object on stderr says it best.
        if failed && last_object(ended.stderr_tail).is_some_and(|o| o.get("error").is_some()) {
            return self.finish_object(ended);
        }
        let mut usage = SessionUsage {
            session_id: self.session_id.clone(),
            turns: (self.turns > 0).then_some(self.turns),
            ..SessionUsage::default()
        };
        let stat = |name: &str| {
            result
                .pointer(&format!("/stats/{name}"))
                .and_then(Value::as_u64)
        };
        usage.input_tokens = stat("input_tokens");
        usage.output_tokens = stat("output_tokens");
        let no_error = Value::Object(serde_json::Map::new());
        let error = failed.then(|| result.get("error").unwrap_or(&no_error));
        let outcome = outcome_of(error, None, ended, || self.response.trim().to_string());
        AgentReply { outcome, usage }
    }

    /// Counts a turn of the model's when its words or a tool call start one.
    fn count_turn(&mut self) {
        if self.turns == 0 || self.after_tool_result {
            self.turns += 1;
            self.after_tool_result = false;
        }
    }

    /// A session that printed no `result` event: the CLI printed an object of the `-o json`
    /// form instead (to stderr, after the stack of an error the model's API returned), or
    /// nothing wfc can read.
    fn finish_object(&self, ended: &Ended<'_>) -> AgentReply {
        let parsed = last_object(&self.text)
            .filter(|object| object.get("type").is_none())
            .or_else(|| last_object(ended.stderr_tail));
        let Some(object) = parsed else {
            return AgentReply::failed(
                exit_reason(ended).unwrap_or_else(|| no_result(ended, "gemini")),
            );
        };
        let mut usage = usage_of(&object);
        if usage.session_id.is_none() {
            usage.session_id = self.session_id.clone();
        }
        let error = object.get("error").filter(|e| !e.is_null());
        let outcome = outcome_of(error, Some("error"), ended, || {
            object
                .get("response")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        });
        AgentReply { outcome, usage }
    }
}

/// A session's outcome: failed with `error` (`{type?, message?}`, its type `default_kind`
/// when it has none) or by its exit code, else `response`.
fn outcome_of(
    error: Option<&Value>,
    default_kind: Option<&str>,
    ended: &Ended<'_>,
    response: impl FnOnce() -> String,
) -> Result<String, String> {
    let Some(error) = error else {
        return match exit_reason(ended) {
            Some(reason) => Err(reason),
            None => Ok(response()),
        };
    };
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no message");
    // The CLI calls an error it has no type for `unknown`, which says nothing.
    let kind = error
        .get("type")
        .and_then(Value::as_str)
        .or(default_kind)
        .filter(|kind| *kind != "unknown")
        .map(|kind| format!(" ({kind})"))
        .unwrap_or_default();
    Err(format!(
        "the session failed{kind}: {}{}",
        readable_error(message),
        exit_reason(ended)
            .map(|r| format!("; {r}"))
            .unwrap_or_default()
    ))
}

/// The provider's limit a failed session ran into, from the error the CLI names on `stderr`
/// and the wait the API asked for (on stderr, or in the session's `error`).
fn limit_of(error: &str, stderr: &str, now: crate::runtime::Millis) -> Option<ProviderLimit> {
    let number_after = |label: &str| -> Option<i64> {
        let start = stderr.rfind(label)? + label.len();
        let digits: String = stderr[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    let kind = if stderr.contains("TerminalQuotaError") {
        LimitKind::UsageLimit
    } else if stderr.contains("RetryableQuotaError") {
        match number_after("status: ") {
            Some(503 | 529) => LimitKind::Overloaded,
            _ => LimitKind::RateLimit,
        }
    } else {
        return None;
    };
    let resets_at = number_after("retryDelayMs: ")
        .map(|wait| now + wait)
        .or_else(|| wait_in_words(error, now));
    Some(ProviderLimit {
        kind,
        resets_at,
        message: error.lines().next().unwrap_or("").to_string(),
    })
}

/// A tool call's parameters as one line: the command or path it names, or its JSON.
fn parameters_text(parameters: Option<&Value>) -> String {
    let Some(parameters) = parameters else {
        return String::new();
    };
    ["command", "file_path", "absolute_path", "path", "pattern"]
        .iter()
        .find_map(|key| parameters.get(key).and_then(Value::as_str))
        .map_or_else(|| parameters.to_string(), str::to_string)
}

/// The last JSON object in `text` that starts a line: the CLI prints its object pretty, from a
/// line's start, and may print warnings or a stack trace (with `{` inside lines) before it.
fn last_object(text: &str) -> Option<Value> {
    text.match_indices('{')
        .map(|(index, _)| index)
        .filter(|&index| index == 0 || text[..index].ends_with('\n'))
        .rev()
        .find_map(|start| {
            serde_json::Deserializer::from_str(&text[start..])
                .into_iter::<Value>()
                .next()
                .and_then(Result::ok)
                .filter(Value::is_object)
        })
}

/// What a non-zero exit code means, per the CLI's headless documentation.
fn exit_reason(ended: &Ended<'_>) -> Option<String> {
    let meaning = match ended.status {
        ExitStatusKind::Code(0) => return None,
        ExitStatusKind::Code(41) => "authentication failed",
        ExitStatusKind::Code(42) => "the input was rejected",
        ExitStatusKind::Code(52) => "its configuration is invalid",
        ExitStatusKind::Code(53) => "the session reached its turn limit",
        ExitStatusKind::Code(54) => "a tool failed fatally",
        _ => "it failed",
    };
    let stderr = super::session::last_lines(ended.stderr_tail, 10);
    Some(format!(
        "`gemini` {}: {meaning}{}",
        ended.status,
        if stderr.is_empty() {
            String::new()
        } else {
            format!("; its stderr ends:\n{stderr}")
        }
    ))
}

/// Tokens summed over the models the session used; the CLI reports no cost.
fn usage_of(object: &Value) -> SessionUsage {
    let mut usage = SessionUsage {
        session_id: object
            .get("session_id")
            .and_then(Value::as_str)
            .map(str::to_string),
        ..SessionUsage::default()
    };
    if let Some(models) = object.pointer("/stats/models").and_then(Value::as_object) {
        for model in models.values() {
            let tokens = |name: &str| {
                model
                    .pointer(&format!("/tokens/{name}"))
                    .and_then(Value::as_u64)
            };
            if let Some(prompt) = tokens("prompt") {
                *usage.input_tokens.get_or_insert(0) += prompt;
            }
            if let Some(out) = tokens("candidates") {
                *usage.output_tokens.get_or_insert(0) += out;
            }
            if let Some(requests) = model.pointer("/api/totalRequests").and_then(Value::as_u64) {
                *usage.turns.get_or_insert(0) += requests;
            }
        }
    }
    usage
}

/// The steps of a Gemini CLI session, for `wfc show`: from its `stream-json` events (each
/// tool call with its input, each result, its words), or, for a transcript of the `-o json`
/// form, the tools it called by name and count and its response.
pub(super) fn transcript_steps(stdout: &[&str]) -> Vec<Step> {
    let events: Vec<Value> = stdout
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line.trim()).ok())
        .filter(|event| event.get("type").is_some())
        .collect();
    if events.is_empty() {
        return object_steps(stdout);
    }
    let mut steps = Vec::new();
    let mut words = String::new();
    let flush = |words: &mut String, steps: &mut Vec<Step>| {
        if !words.trim().is_empty() {
            steps.push(Step::Message {
                text: words.trim().to_string(),
            });
        }
        words.clear();
    };
    for event in &events {
        let text = |key: &str| {
            event
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        match text("type").as_str() {
            "init" => steps.push(Step::Started {
                text: format!("session {} (model {})", text("session_id"), text("model")),
            }),
            "message" if text("role") == "assistant" => words.push_str(&text("content")),
            "tool_use" => {
                flush(&mut words, &mut steps);
                steps.push(Step::ToolCall {
                    tool: text("tool_name"),
                    input: parameters_text(event.get("parameters")),
                });
            }
            "tool_result" => {
                let failed = text("status") == "error";
                let output = if failed {
                    event
                        .pointer("/error/message")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                } else {
                    text("output")
                };
                steps.push(Step::ToolResult { output, failed });
            }
            "error" => {
                flush(&mut words, &mut steps);
                steps.push(Step::Error {
                    text: readable_error(&text("message")),
                });
            }
            "result" => {
                if let Some(message) = event.pointer("/error/message").and_then(Value::as_str) {
                    steps.push(Step::Error {
                        text: readable_error(message),
                    });
                }
            }
            _ => {}
        }
    }
    if !words.trim().is_empty() {
        steps.push(Step::Final {
            text: words.trim().to_string(),
        });
    }
    steps
}

/// The steps of a transcript of the `-o json` form: one JSON object at the end, which may
/// span lines and lists the tools by name and count, not their inputs.
fn object_steps(stdout: &[&str]) -> Vec<Step> {
    let text = stdout.join("\n");
    let Some(object) = last_object(&text) else {
        return stdout
            .iter()
            .map(|line| Step::Text {
                text: line.to_string(),
            })
            .collect();
    };
    let mut steps = Vec::new();
    if let Some(tools) = object
        .pointer("/stats/tools/byName")
        .and_then(Value::as_object)
    {
        for (tool, stats) in tools {
            let count = |key: &str| stats.get(key).and_then(Value::as_u64).unwrap_or(0);
            steps.push(Step::ToolCall {
                tool: tool.clone(),
                input: format!(
                    "{} call(s): {} succeeded, {} failed",
                    count("count"),
                    count("success"),
                    count("fail")
                ),
            });
        }
    }
    if let Some(error) = object.get("error").filter(|e| !e.is_null()) {
        steps.push(Step::Error {
            text: readable_error(
                error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("no message"),
            ),
        });
    }
    if let Some(response) = object.get("response").and_then(Value::as_str) {
        steps.push(Step::Final {
            text: response.to_string(),
        });
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The end of the real CLI's stderr (0.61) when it gave up on `class` with `status`.
    fn stderr(class: &str, status: u16, delay: &str) -> String {
        format!("Attempt 1 failed: You exceeded your current quota.. Max attempts reached\nError when talking to Gemini API Full report available at: /tmp/r.json {class}: You exceeded your current quota\n    at classifyGoogleError (file:///x.js:1:2)\n  cause: {{\n    code: {status},\n    message: 'You exceeded your current quota',\n    details: [ [Object], [Object] ]\n  }},\n  retryDelayMs: {delay},\n  status: {status}\n}}\n")
    }

    #[test]
    fn the_limits_the_gemini_cli_gives_up_on_are_recognised() {
        let error = "the session failed: [API Error: You exceeded your current quota, please check your plan and billing details.\nSuggested retry after 3s.]";
        let rate =
            limit_of(error, &stderr("RetryableQuotaError", 429, "3000"), 1_000).expect("a limit");
        assert_eq!(
            (rate.kind, rate.resets_at),
            (LimitKind::RateLimit, Some(4_000))
        );
        let daily =
            limit_of(error, &stderr("TerminalQuotaError", 429, "undefined"), 0).expect("a limit");
        // No delay on stderr: the one in the CLI's words.
        assert_eq!(
            (daily.kind, daily.resets_at),
            (LimitKind::UsageLimit, Some(3_000))
        );
        let busy = limit_of(
            "the session failed: [API Error: The model is overloaded.]",
            &stderr("RetryableQuotaError", 503, "undefined"),
            0,
        )
        .expect("a limit");
        assert_eq!((busy.kind, busy.resets_at), (LimitKind::Overloaded, None));
        assert_eq!(limit_of(error, "ApiError: bad request", 0), None);
    }
}
