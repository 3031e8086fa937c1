//! What an agent CLI adapter says about its CLI: the program, its argv, how it gets the prompt,
//! which credential variables it needs, and how its output decides the attempt.

use super::profile::Profile;
use crate::runtime::agent::AgentReply;
use crate::runtime::process::ExitStatusKind;
use crate::runtime::sandbox::HomePath;
use std::ffi::OsString;
use std::path::PathBuf;

/// How the prompt reaches the CLI. Never argv: argv is visible to every user of the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptVia {
    /// Written to stdin, which is then closed.
    Stdin,
    /// Written to a private file whose path is an argument; stdin is `/dev/null`.
    File,
}

/// How a session's process ended, for the parser's verdict.
pub struct Ended<'a> {
    /// The exit status.
    pub status: ExitStatusKind,
    /// The end of stdout.
    pub stdout_tail: &'a str,
    /// The end of stderr.
    pub stderr_tail: &'a str,
}

/// Reads one session's stdout and decides its outcome.
pub trait SessionParser: Send {
    /// Takes one line of stdout; returns a short line of progress to show, if the line says
    /// something worth showing (a tool call, a message).
    fn line(&mut self, line: &str) -> Option<String>;

    /// The session's outcome once its process ended: the result or why it failed, and the
    /// usage it reported. The caller adds the adapter's name to the error.
    fn finish(&mut self, ended: &Ended<'_>) -> AgentReply;
}

/// What wfc knows about an agent CLI besides how to run it: names, variables, hints.
pub struct CliInfo {
    /// The adapter's name, as in `adapter = "…"`.
    pub name: &'static str,
    /// The program run when the profile sets no `bin`.
    pub default_bin: &'static str,
    /// What to tell a user whose machine lacks the program.
    pub install_hint: &'static str,
    /// The variables that hold the CLI's API keys: passed from wfc's environment, and redacted
    /// from everything the session reports.
    pub key_vars: &'static [&'static str],
    /// Further variables the CLI reads for its account or endpoint (base URLs, config
    /// folders), passed from wfc's environment when set.
    pub config_vars: &'static [&'static str],
    /// What to tell a user whose session failed without any key variable set.
    pub login_hint: &'static str,
    /// The paths of the home the CLI needs inside the sandbox (`sandbox = "bwrap"` hides the
    /// rest of the home): its settings, credentials and the state it writes.
    pub home_paths: &'static [HomePath],
    /// The variables that name a folder or file the CLI uses instead of a home path
    /// (`CODEX_HOME`, `CLAUDE_CONFIG_DIR`): when set, what they name stays writable in the
    /// sandbox.
    pub path_vars: &'static [&'static str],
}

/// An agent CLI.
pub trait CliAgent: Send + Sync {
    /// Its names, variables and hints.
    fn info(&self) -> &'static CliInfo;

    /// The adapter's name, as in `adapter = "…"`.
    fn name(&self) -> &'static str {
        self.info().name
    }

    /// Every variable passed from wfc's environment: keys, then configuration.
    fn credential_vars(&self) -> Vec<&'static str> {
        let info = self.info();
        let mut vars = info.key_vars.to_vec();
        vars.extend_from_slice(info.config_vars);
        vars
    }

    /// How the prompt reaches the CLI.
    fn prompt_via(&self) -> PromptVia {
        PromptVia::Stdin
    }

    /// The arguments (after the program) for one fresh headless session; the profile's own
    /// `args` are appended after these. `prompt_file` is set when [`CliAgent::prompt_via`] is
    /// [`PromptVia::File`].
    fn args(&self, profile: &Profile<'_>, prompt_file: Option<&PathBuf>) -> Vec<OsString>;

    /// [`CliAgent::args`] for a session wfc runs in its own sandbox (`sandbox = "bwrap"`),
    /// for a CLI that would otherwise start a sandbox of its own inside it.
    fn args_in_sandbox(
        &self,
        profile: &Profile<'_>,
        prompt_file: Option<&PathBuf>,
    ) -> Vec<OsString> {
        self.args(profile, prompt_file)
    }

    /// Arguments that stop the session once it has spent `max_usd` US dollars, for a CLI
    /// that can (Claude Code's `--max-budget-usd`); none for the others, whose sessions the
    /// budget bounds only before they start.
    fn budget_args(&self, max_usd: f64) -> Vec<OsString> {
        let _ = max_usd;
        Vec::new()
    }

    /// Arguments that hold the session's final answer to `schema`, the JSON Schema of the
    /// task's typed output, for a CLI that can (Claude Code's `--json-schema`); none for the
    /// others, which are asked for it in the prompt only.
    fn output_schema_args(&self, schema: &serde_json::Value) -> Vec<OsString> {
        let _ = schema;
        Vec::new()
    }

    /// A parser for one session's output.
    fn parser(&self) -> Box<dyn SessionParser>;
}

/// A short, one-line form of `text` for a progress line.
pub fn short(text: &str, limit: usize) -> String {
    let line = text.trim().lines().next().unwrap_or("").trim();
    if line.chars().count() <= limit {
        line.to_string()
    } else {
        let cut: String = line.chars().take(limit).collect();
        format!("{cut}…")
    }
}

/// An error message as a person reads it. When a provider refuses a request, CLIs pass on the
/// response body, an API error object (`{"error":{"message":…,"code":…}}`, in OpenAI's and
/// Google's forms); its message and code say the same without the JSON around them. Any other
/// message is kept as it is.
pub fn readable_error(message: &str) -> String {
    // The Gemini CLI wraps the API's body: `[API Error: {"error":{…}}]`.
    let body_text = message
        .trim()
        .strip_prefix("[API Error: ")
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(message.trim());
    let Ok(body) = serde_json::from_str::<serde_json::Value>(body_text) else {
        return message.to_string();
    };
    let error = body.get("error").unwrap_or(&body);
    let Some(text) = error.get("message").and_then(|m| m.as_str()) else {
        return message.to_string();
    };
    let code = ["code", "status", "type"]
        .iter()
        .find_map(|name| error.get(*name).and_then(|c| c.as_str()));
    match code {
        Some(code) => format!("{text} ({code})"),
        None => text.to_string(),
    }
}
