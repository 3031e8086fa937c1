//! The `aider` adapter: Aider, one message and exit.
//!
//! `aider --message-file F --yes-always --no-auto-commits … [--model M]`: the prompt is read
//! from a private file. Aider prints plain text only, and exits 0 even when it never reached a
//! model, so a line naming a `litellm` error fails the attempt whatever the exit code. Tokens
//! and cost are read from its `Tokens: … sent, … received.` and `Cost: $… session.` lines; it
//! has no session id. The result is its output without those lines.
//!
//! A provider's limit: Aider retries a rate limit or an overload itself (the OpenAI client in
//! litellm twice per request, honouring `retry-after`; Aider then waits 0.25 s, doubling, up
//! to a minute in all) and prints each error as `litellm.RateLimitError: … - {the provider's
//! words, wrapped at 80 columns}`, then its own explanation and "Retrying in 0.5 seconds...".
//! The error it gave up on (no reply after it) is read for the kind (`RateLimitError`, a
//! usage limit when the words say a quota ran out; `ServiceUnavailableError`) and for a wait
//! in words ("Please try again in 7s").

use super::cli::{CliAgent, CliInfo, Ended, PromptVia, SessionParser};
use super::limit_words::{kind_of_status, wait_in_words};
use super::profile::Profile;
use super::session::{last_lines, no_result};
use crate::runtime::agent::{AgentReply, LimitKind, ProviderLimit, SessionUsage};
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
    /// The error's whole text: its line and the lines its wrapped words went on to.
    error_text: String,
    /// Whether lines still continue the error's text.
    in_error: bool,
    /// Whether Aider said it retries after the error, which a reply may then follow.
    retrying: bool,
    usage: SessionUsage,
}

impl SessionParser for AiderParser {
    fn line(&mut self, line: &str) -> Option<String> {
        let trimmed = line.trim();
        if self.in_error {
            // Aider's own words end the provider's: its explanation, its retry, a blank line.
            let own = trimmed.is_empty()
                || trimmed.starts_with("The API provider")
                || trimmed.starts_with("Retrying in")
                || is_model_error(trimmed);
            if own {
                self.in_error = false;
            } else {
                self.error_text.push(' ');
                self.error_text.push_str(trimmed);
            }
        }
        if trimmed.starts_with("Retrying in") && self.error.is_some() {
            self.retrying = true;
        }
        if let Some(tokens) = trimmed.strip_prefix("Tokens:") {
            // A reply came: an error Aider retried is over.
            if std::mem::take(&mut self.retrying) {
                self.error = None;
                self.error_text.clear();
            }
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
        if (self.error.is_none() || self.retrying) && is_model_error(trimmed) {
            // After a retry, the newest error is the one that counts.
            self.retrying = false;
            self.in_error = true;
            self.error_text = trimmed.to_string();
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
        let mut usage = self.usage.clone();
        if self.error.is_some() {
            usage.limit = limit_of(&self.error_text, crate::runtime::now_millis());
        }
        AgentReply { outcome, usage }
    }
}

/// The provider's limit that the error Aider gave up on reports (its whole `text`), if any.
fn limit_of(text: &str, now: crate::runtime::Millis) -> Option<ProviderLimit> {
    let class = text
        .split(|c: char| c.is_whitespace() || c == ':')
        .find(|word| word.starts_with("litellm."))?;
    let kind = match class {
        "litellm.RateLimitError" => kind_of_status(429, text)?,
        "litellm.ServiceUnavailableError" => LimitKind::Overloaded,
        "litellm.InternalServerError" if text.to_lowercase().contains("overloaded") => {
            LimitKind::Overloaded
        }
        _ => return None,
    };
    Some(ProviderLimit {
        kind,
        resets_at: wait_in_words(text, now),
        message: text.to_string(),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What the parser makes of `output`, from a process that exited 0.
    fn reply_to(output: &str) -> AgentReply {
        let mut parser = AiderParser::default();
        for line in output.lines() {
            parser.line(line);
        }
        parser.finish(&Ended {
            status: ExitStatusKind::Code(0),
            stdout_tail: output,
            stderr_tail: "",
        })
    }

    /// The output of the real Aider (0.86) for each error it retried, `times` over.
    fn retried(error: &str, explanation: &str, times: usize) -> String {
        (0..times)
            .map(|n| {
                format!(
                    "{error}\n{explanation}\nRetrying in {}.{} seconds...\n",
                    1 << n,
                    0
                )
            })
            .collect()
    }

    #[test]
    fn the_limit_aider_gave_up_on_is_recognised_with_its_wrapped_words() {
        let rate = retried(
            "litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached for\nrequests. Please try\nagain in 7s.",
            "The API provider has rate limited you. Try again later or check your quotas.",
            3,
        );
        let reply = reply_to(&format!("Aider v0.86.2\n{rate}"));
        assert!(reply.outcome.is_err());
        let limit = reply.usage.limit.expect("a limit");
        assert_eq!(limit.kind, LimitKind::RateLimit);
        // Read a moment ago: about 7 s from now, not now, not in the past, not 7 ms.
        assert!(limit.resets_at.is_some_and(|at| {
            let wait = at - crate::runtime::now_millis();
            (6_000..=7_000).contains(&wait)
        }));
        assert!(
            limit
                .message
                .contains("Rate limit reached for requests. Please try again in 7s."),
            "{}",
            limit.message
        );

        let quota = retried(
            "litellm.RateLimitError: RateLimitError: OpenAIException - You exceeded your\ncurrent quota, please check your plan and billing details.",
            "The API provider has rate limited you. Try again later or check your quotas.",
            2,
        );
        let limit = reply_to(&quota).usage.limit.expect("a limit");
        assert_eq!((limit.kind, limit.resets_at), (LimitKind::UsageLimit, None));

        let busy = retried(
            "litellm.ServiceUnavailableError: ServiceUnavailableError: OpenAIException - The\nserver is overloaded",
            "The API provider's servers are down or overloaded.",
            2,
        );
        assert_eq!(
            reply_to(&busy).usage.limit.map(|l| l.kind),
            Some(LimitKind::Overloaded)
        );

        let refused =
            "litellm.AuthenticationError: AuthenticationError: OpenAIException - bad key\n";
        assert_eq!(reply_to(refused).usage.limit, None);
    }

    #[test]
    fn a_limit_aider_retried_past_is_no_failure() {
        let output = format!(
            "{}calc.sh\n```\necho 5\n```\nTokens: 150 sent, 25 received.\nApplied edit to calc.sh\n",
            retried(
                "litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached",
                "The API provider has rate limited you. Try again later or check your quotas.",
                1,
            )
        );
        let reply = reply_to(&output);
        assert!(reply.outcome.is_ok(), "{reply:?}");
        assert_eq!(reply.usage.limit, None);
    }
}
