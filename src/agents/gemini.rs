//! The `gemini` adapter: Google's Gemini CLI in headless mode.
//!
//! `gemini -o json --approval-mode yolo [-m M] -p "…"`: the task's prompt goes on stdin, which
//! the CLI puts before the `-p` text, so argv carries only a fixed instruction. Without an
//! approval mode that allows edits, headless mode removes the tools that need approval. The
//! output is one JSON object, `{session_id, response, stats, error?}`; the exit code says what
//! failed (41 authentication, 42 input, 52 configuration, 53 turn limit, 54 a tool).

use super::cli::{readable_error, CliAgent, CliInfo, Ended, SessionParser};
use super::profile::Profile;
use super::reading::Step;
use super::session::no_result;
use crate::runtime::agent::{AgentReply, SessionUsage};
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
        let mut args: Vec<OsString> = vec!["-o".into(), "json".into(), "--approval-mode".into()];
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

/// Collects `gemini -o json` output, one object possibly printed over several lines.
#[derive(Default)]
struct GeminiParser {
    text: String,
}

impl SessionParser for GeminiParser {
    fn line(&mut self, line: &str) -> Option<String> {
        self.text.push_str(line);
        self.text.push('\n');
        None
    }

    fn finish(&mut self, ended: &Ended<'_>) -> AgentReply {
        // The object is the output's last top-level JSON value; anything before it (a warning
        // printed to stdout) is skipped. When the model's API refuses a request, the CLI
        // prints the object to stderr instead, after the error's stack.
        let parsed = last_object(&self.text).or_else(|| last_object(ended.stderr_tail));
        let Some(object) = parsed else {
            return AgentReply::failed(
                exit_reason(ended).unwrap_or_else(|| no_result(ended, "gemini")),
            );
        };
        let usage = usage_of(&object);
        let outcome = if let Some(error) = object.get("error").filter(|e| !e.is_null()) {
            let message = readable_error(
                error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("no message"),
            );
            let kind = error.get("type").and_then(Value::as_str).unwrap_or("error");
            Err(format!(
                "the session failed ({kind}): {message}{}",
                exit_reason(ended)
                    .map(|r| format!("; {r}"))
                    .unwrap_or_default()
            ))
        } else if let Some(reason) = exit_reason(ended) {
            Err(reason)
        } else {
            Ok(object
                .get("response")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string())
        };
        AgentReply { outcome, usage }
    }
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

/// The steps of a Gemini CLI session (`-o json`: one JSON object at the end, which may span
/// lines), for `wfc show`: the tools it called, by name and count (the object lists no
/// inputs), and its response.
pub(super) fn transcript_steps(stdout: &[&str]) -> Vec<Step> {
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
