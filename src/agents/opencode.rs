//! The `opencode` adapter: OpenCode's `run` command.
//!
//! `opencode run --format json [-m provider/model]`, the prompt on stdin. Its JSON events
//! (one per line, each with a `sessionID`): `text` parts make up the final message,
//! `tool_use` parts are shown as progress, `step_finish` carries each step's cost and tokens and
//! its `reason` (`stop` ends the session), and `error` reports a failure. It can exit 0 with
//! no output when a permission was refused, so success needs exit code 0, no `error`, a last
//! step that stopped, and a non-empty message.

use super::cli::{short, CliAgent, CliInfo, Ended, SessionParser};
use super::profile::Profile;
use super::reading::{input_text, Step};
use super::session::no_result;
use crate::runtime::agent::{AgentReply, SessionUsage};
use crate::runtime::process::ExitStatusKind;
use crate::runtime::sandbox::HomePath;
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
        AgentReply {
            outcome,
            usage: self.usage.clone(),
        }
    }
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
