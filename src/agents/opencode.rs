//! The `opencode` adapter: OpenCode's `run` command.
//!
//! `opencode run --format json [-m provider/model]`, the prompt on stdin. Its JSON events
//! (one per line, each with a `sessionID`): `text` parts make up the final message,
//! `tool_use` parts are shown as progress, `step_finish` carries each step's cost and tokens and
//! its `reason` (`stop` ends the session), and `error` reports a failure. It can exit 0 with
//! no output when a permission was refused, so success needs exit code 0, no `error`, a last
//! step that stopped, and a non-empty message.
//!
//! A provider's limit: OpenCode retries a 429 or a 5xx itself (as the `retry-after-ms` or
//! `retry-after` header asks, else with a growing backoff; nine requests in all) and then
//! reports an `error` event whose `data` holds the `statusCode`, the `responseHeaders` and the
//! `responseBody`, from which the kind and the reset time are read.

use super::cli::{short, CliAgent, CliInfo, Ended, SessionParser};
use super::limit_words::{duration_millis, kind_of_status, retry_after, to_millis, wait_in_words};
use super::profile::Profile;
use super::reading::{input_text, Step};
use super::session::no_result;
use crate::runtime::agent::{AgentReply, ProviderLimit, SessionUsage};
use crate::runtime::process::ExitStatusKind;
use crate::runtime::sandbox::HomePath;
use crate::runtime::Millis;
use serde_json::Value;
use std::ffi::OsString;
use std::path::PathBuf;

/// The OpenCode adapter.
pub struct Opencode;

/// OpenCode's names, variables and hints.
const INFO: CliInfo = CliInfo {
    name: "opencode",
    default_bin: "opencode",
    install_hint: "Install OpenCode (`npm install -g opencode-ai`) so that `opencode` is on PATH, or set `bin` in the agent profile",
    key_vars: &[
            "ANTHROPIC_API_KEY",
            "OPENAI_API_KEY",
            "OPENROUTER_API_KEY",
            "GEMINI_API_KEY",
        ],
    config_vars: &[
            "OPENCODE_CONFIG",
            "OPENCODE_CONFIG_CONTENT",
            "XDG_CONFIG_HOME",
            "XDG_DATA_HOME",
        ],
    login_hint: "set the API key variable of the model's provider, or run `opencode auth login` once",
    // OpenCode keeps its config, logins and sessions in the XDG folders of the home.
    home_paths: &[
        HomePath { path: ".config/opencode", writable: true },
        HomePath { path: ".local/share/opencode", writable: true },
        HomePath { path: ".local/state/opencode", writable: true },
        HomePath { path: ".cache/opencode", writable: true },
    ],
    path_vars: &["OPENCODE_CONFIG", "XDG_CONFIG_HOME", "XDG_DATA_HOME"],
};

impl CliAgent for Opencode {
    fn info(&self) -> &'static CliInfo {
        &INFO
    }

    fn args(&self, profile: &Profile<'_>, _prompt_file: Option<&PathBuf>) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["run".into(), "--format".into(), "json".into()];
        if let Some(model) = profile.string("model") {
            args.push("-m".into());
            args.push(model.into());
        }
        args
    }

    fn parser(&self) -> Box<dyn SessionParser> {
        Box::new(OpencodeParser::default())
    }
}

/// Reads `opencode run --format json` events.
#[derive(Default)]
struct OpencodeParser {
    text: String,
    error: Option<String>,
    last_reason: Option<String>,
    usage: SessionUsage,
    /// The provider's limit the last `error` reported, if it was one.
    limit: Option<ProviderLimit>,
}

impl SessionParser for OpencodeParser {
    fn line(&mut self, line: &str) -> Option<String> {
        let event: Value = serde_json::from_str(line).ok()?;
        if let Some(id) = event.get("sessionID").and_then(Value::as_str) {
            self.usage.session_id.get_or_insert_with(|| id.to_string());
        }
        let part = event.get("part");
        match event.get("type").and_then(Value::as_str)? {
            "text" => {
                let text = part?.get("text").and_then(Value::as_str).unwrap_or("");
                self.text.push_str(text);
                (!text.trim().is_empty()).then(|| format!("says: {}", short(text, 120)))
            }
            "tool_use" => {
                let tool = part?.get("tool").and_then(Value::as_str).unwrap_or("tool");
                let status = part?
                    .pointer("/state/status")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                Some(format!("{tool} {status}").trim_end().to_string())
            }
            "step_finish" => {
                let part = part?;
                self.last_reason = part
                    .get("reason")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if let Some(cost) = part.get("cost").and_then(Value::as_f64) {
                    *self.usage.cost_usd.get_or_insert(0.0) += cost;
                }
                let tokens = |path: &str| part.pointer(path).and_then(Value::as_u64);
                let input: u64 = ["/tokens/input", "/tokens/cache/read", "/tokens/cache/write"]
                    .iter()
                    .filter_map(|p| tokens(p))
                    .sum();
                *self.usage.input_tokens.get_or_insert(0) += input;
                let output: u64 = ["/tokens/output", "/tokens/reasoning"]
                    .iter()
                    .filter_map(|p| tokens(p))
                    .sum();
                *self.usage.output_tokens.get_or_insert(0) += output;
                *self.usage.turns.get_or_insert(0) += 1;
                None
            }
            "error" => {
                let error = event.get("error");
                let name = error
                    .and_then(|e| e.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("error");
                let message = error
                    .and_then(|e| e.pointer("/data/message"))
                    .and_then(Value::as_str)
                    .unwrap_or("no message");
                self.error = Some(format!("{name}: {message}"));
                self.limit = error.and_then(|e| limit_of(e, crate::runtime::now_millis()));
                Some(format!("error: {}", short(message, 120)))
            }
            _ => None,
        }
    }

    fn finish(&mut self, ended: &Ended<'_>) -> AgentReply {
        let outcome = if let Some(error) = &self.error {
            Err(format!("the session failed: {error}"))
        } else if ended.status != ExitStatusKind::Code(0) {
            Err(no_result(ended, "opencode"))
        } else if self.last_reason.as_deref() != Some("stop") {
            Err(format!(
                "the session ended without finishing its last step (last step: {}); a permission may have been refused: allow its tools in OpenCode's configuration",
                self.last_reason.as_deref().unwrap_or("none")
            ))
        } else if self.text.trim().is_empty() {
            Err("the session finished with an empty message".to_string())
        } else {
            Ok(self.text.clone())
        };
        let mut usage = self.usage.clone();
        if outcome.is_err() {
            usage.limit = self.limit.clone();
        }
        AgentReply { outcome, usage }
    }
}

/// The provider's limit an `error` event reports: its status, and when it ends by the
/// response's headers (`retry-after-ms`, `retry-after`, OpenAI's `x-ratelimit-reset-*`) or
/// the provider's words.
fn limit_of(error: &Value, now: Millis) -> Option<ProviderLimit> {
    let data = error.get("data")?;
    let text = |key: &str| data.get(key).and_then(Value::as_str).unwrap_or("");
    let (message, body) = (text("message"), text("responseBody"));
    let status = data.get("statusCode").and_then(Value::as_u64)?;
    let kind = kind_of_status(status, &format!("{message} {body}"))?;
    let header = |name: &str| {
        data.get("responseHeaders")
            .and_then(|headers| headers.get(name))
            .and_then(Value::as_str)
    };
    let resets_at = header("retry-after-ms")
        .and_then(|ms| ms.trim().parse::<f64>().ok())
        .and_then(to_millis)
        .map(|wait| now + wait)
        .or_else(|| header("retry-after").and_then(|value| retry_after(value, now)))
        .or_else(|| {
            ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"]
                .iter()
                .find_map(|name| header(name).and_then(duration_millis))
                .map(|wait| now + wait)
        })
        .or_else(|| wait_in_words(message, now))
        .or_else(|| wait_in_words(body, now));
    Some(ProviderLimit {
        kind,
        resets_at,
        message: message.to_string(),
    })
}

/// The steps of one event of OpenCode's stream (`opencode run --format json`), for
/// `wfc show`.
pub(super) fn transcript_steps(event: &Value) -> Vec<Step> {
    let error = || Step::Error {
        text: event
            .pointer("/error/data/message")
            .and_then(Value::as_str)
            .unwrap_or("no message")
            .to_string(),
    };
    let Some(part) = event.get("part") else {
        return match event.get("type").and_then(Value::as_str) {
            Some("error") => vec![error()],
            _ => Vec::new(),
        };
    };
    let text_of = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    match event.get("type").and_then(Value::as_str) {
        Some("text") => match text_of(part, "text") {
            Some(text) if !text.trim().is_empty() => vec![Step::Message { text }],
            _ => Vec::new(),
        },
        Some("tool_use") => {
            let state = part.get("state");
            let mut steps = vec![Step::ToolCall {
                tool: text_of(part, "tool").unwrap_or_else(|| "tool".into()),
                input: input_text(state.and_then(|s| s.get("input"))),
            }];
            let status = state.and_then(|s| s.get("status")).and_then(Value::as_str);
            let output = state
                .and_then(|s| s.get("output").or(s.get("error")))
                .map(|o| input_text(Some(o)));
            if let Some(output) = output {
                steps.push(Step::ToolResult {
                    output,
                    failed: status == Some("error"),
                });
            }
            steps
        }
        Some("error") => vec![error()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::agent::LimitKind;
    use serde_json::json;

    /// An `error` event's `error` as the real CLI (1.18) reports a refused request.
    fn refused(status: u64, headers: Value, body: &str) -> Value {
        json!({"name": "APIError", "data": {
            "message": serde_json::from_str::<Value>(body).ok().and_then(|b| b.pointer("/error/message").cloned()).unwrap_or_default(),
            "statusCode": status, "isRetryable": true, "responseHeaders": headers,
            "responseBody": body, "metadata": {"url": "http://127.0.0.1:1/v1/chat/completions"}}})
    }

    #[test]
    fn the_limits_opencode_reports_are_read_from_its_error_event() {
        let rate = refused(
            429,
            json!({"retry-after": "2"}),
            r#"{"error":{"message":"Rate limit reached for requests","type":"requests","code":"rate_limit_exceeded"}}"#,
        );
        let limit = limit_of(&rate, 1_000).expect("a limit");
        assert_eq!(
            (limit.kind, limit.resets_at),
            (LimitKind::RateLimit, Some(3_000))
        );
        assert_eq!(limit.message, "Rate limit reached for requests");
        let quota = refused(
            429,
            json!({}),
            r#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","code":"insufficient_quota"}}"#,
        );
        let limit = limit_of(&quota, 0).expect("a limit");
        assert_eq!((limit.kind, limit.resets_at), (LimitKind::UsageLimit, None));
        let busy = refused(
            503,
            json!({"retry-after-ms": "10"}),
            r#"{"error":{"message":"The server is overloaded","type":"server_error"}}"#,
        );
        let limit = limit_of(&busy, 0).expect("a limit");
        assert_eq!(
            (limit.kind, limit.resets_at),
            (LimitKind::Overloaded, Some(10))
        );
        let openai = refused(
            429,
            json!({"x-ratelimit-reset-requests": "1m30s"}),
            r#"{"error":{"message":"Rate limit reached"}}"#,
        );
        assert_eq!(limit_of(&openai, 0).and_then(|l| l.resets_at), Some(90_000));
        let words = refused(
            429,
            json!({}),
            r#"{"error":{"message":"Rate limit reached. Please try again in 7s."}}"#,
        );
        assert_eq!(limit_of(&words, 0).and_then(|l| l.resets_at), Some(7_000));
        assert_eq!(
            limit_of(
                &refused(400, json!({}), r#"{"error":{"message":"bad"}}"#),
                0
            ),
            None
        );
    }
}
