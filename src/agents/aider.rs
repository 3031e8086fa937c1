//! The `aider` adapter: Aider, one message and exit.
//!
//! `aider --message-file F --yes-always --no-auto-commits … [--model M]`: the prompt is read
//! from a private file. Aider prints plain text only, and exits 0 even when it never reached a
//! model, so a line naming a `litellm` error fails the attempt whatever the exit code. Tokens
//! and cost are read from its `Tokens: … sent, … received.` and `Cost: $… session.` lines; it
//! has no session id. The result is its output without those lines.

use super::cli::{CliAgent, CliInfo, Ended, PromptVia, SessionParser};
use super::profile::Profile;
use super::session::{last_lines, no_result};
use crate::runtime::agent::{AgentReply, SessionUsage};
use crate::runtime::process::ExitStatusKind;
use crate::runtime::sandbox::HomePath;
use std::ffi::OsString;
use std::path::PathBuf;

/// The Aider adapter.
pub struct Aider;

/// Flags for an unattended run: confirm edits, no commits of its own (the workflow decides
/// what to commit), no network checks, no shell commands (`--yes-always` answers those "no"
/// anyway), plain unstreamed output that can be read line by line.
const UNATTENDED: [&str; 10] = [
    "--yes-always",
    "--no-auto-commits",
    "--no-dirty-commits",
    "--no-analytics",
    "--no-check-update",
    "--no-detect-urls",
    "--no-suggest-shell-commands",
    "--no-pretty",
    "--no-stream",
    "--no-fancy-input",
];

/// Aider's names, variables and hints.
const INFO: CliInfo = CliInfo {
    name: "aider",
    default_bin: "aider",
    install_hint: "Install Aider (`python -m pip install aider-install && aider-install`) so that `aider` is on PATH, or set `bin` in the agent profile",
    key_vars: &[
            "ANTHROPIC_API_KEY",
            "OPENAI_API_KEY",
            "OPENROUTER_API_KEY",
            "GEMINI_API_KEY",
            "DEEPSEEK_API_KEY",
        ],
    config_vars: &["OPENAI_API_BASE", "ANTHROPIC_BASE_URL", "AIDER_MODEL"],
    login_hint: "set the API key variable of the model's provider (ANTHROPIC_API_KEY, OPENAI_API_KEY, …)",
    // Aider reads its settings from `~/.aider.*` files and writes caches in `~/.aider`.
    home_paths: &[
        HomePath { path: ".aider", writable: true },
        HomePath { path: ".aider.conf.yml", writable: false },
        HomePath { path: ".aider.model.settings.yml", writable: false },
        HomePath { path: ".aider.model.metadata.json", writable: false },
    ],
    path_vars: &[],
};

impl CliAgent for Aider {
    fn info(&self) -> &'static CliInfo {
        &INFO
    }

    fn prompt_via(&self) -> PromptVia {
        PromptVia::File
    }

    fn args(&self, profile: &Profile<'_>, prompt_file: Option<&PathBuf>) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        if let Some(file) = prompt_file {
            args.push("--message-file".into());
            args.push(file.into());
        }
        args.extend(UNATTENDED.iter().map(OsString::from));
        if let Some(model) = profile.string("model") {
            args.push("--model".into());
            args.push(model.into());
        }
        args
    }

    fn parser(&self) -> Box<dyn SessionParser> {
        Box::new(AiderParser::default())
    }
}

/// Reads Aider's plain output.
#[derive(Default)]
struct AiderParser {
    lines: Vec<String>,
    error: Option<String>,
    usage: SessionUsage,
}

impl SessionParser for AiderParser {
    fn line(&mut self, line: &str) -> Option<String> {
        let trimmed = line.trim();
        if let Some(tokens) = trimmed.strip_prefix("Tokens:") {
            // "Tokens: 2.4k sent, 120 received. Cost: $0.01 message, $0.03 session."
            let mut parts = tokens.split(',');
            let sent = parts.next().and_then(count_before("sent"));
            let received = parts.next().and_then(count_before("received"));
            if let Some(sent) = sent {
                *self.usage.input_tokens.get_or_insert(0) += sent;
            }
            if let Some(received) = received {
                *self.usage.output_tokens.get_or_insert(0) += received;
            }
            *self.usage.turns.get_or_insert(0) += 1;
            if let Some(cost) = trimmed.split("Cost:").nth(1) {
                // The session figure is cumulative: the last one is the total.
                if let Some(session) = cost.split(',').find(|p| p.contains("session")) {
                    self.usage.cost_usd = session
                        .trim()
                        .trim_start_matches('$')
                        .split_whitespace()
                        .next()
                        .and_then(|n| n.parse::<f64>().ok());
                }
            }
            return Some(trimmed.to_string());
        }
        if self.error.is_none() && is_model_error(trimmed) {
            self.error = Some(trimmed.to_string());
            return Some(format!("error: {trimmed}"));
        }
        self.lines.push(line.to_string());
        None
    }

    fn finish(&mut self, ended: &Ended<'_>) -> AgentReply {
        let text = self.lines.join("\n").trim().to_string();
        let outcome = if let Some(error) = &self.error {
            Err(format!("aider could not use its model: {error}"))
        } else if ended.status != ExitStatusKind::Code(0) {
            Err(no_result(ended, "aider"))
        } else if text.is_empty() {
            Err("aider printed nothing; it may not have reached its model".to_string())
        } else {
            Ok(last_lines(&text, 200))
        };
        AgentReply {
            outcome,
            usage: self.usage.clone(),
        }
    }
}

/// Whether an output line reports that a model request failed (`litellm.AuthenticationError`,
/// `litellm.APIConnectionError`, …).
fn is_model_error(line: &str) -> bool {
    line.split(|c: char| c.is_whitespace() || c == ':')
        .any(|word| word.starts_with("litellm.") && word.ends_with("Error"))
}

/// Reads "2.4k sent" as 2400 (for the word `unit`).
fn count_before(unit: &'static str) -> impl Fn(&str) -> Option<u64> {
    move |part: &str| {
        let number = part[..part.find(unit)?].trim();
        let (digits, scale) = match number.strip_suffix('k') {
            Some(digits) => (digits, 1000.0),
            None => (number, 1.0),
        };
        digits
            .replace(',', "")
            .parse::<f64>()
            .ok()
            .map(|n| (n * scale).round() as u64)
    }
}
