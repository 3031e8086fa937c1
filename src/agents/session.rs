//! Runs one agent CLI session: the process (fresh, in the task's workdir, with a minimal
//! environment, stdin fed then closed), its stdout read line by line by the adapter's parser,
//! and the failures every CLI shares (missing program, time-out, stop) reported the same way.

use super::cli::{CliAgent, Ended, PromptVia};
use super::profile::Profile;
use crate::runtime::agent::{AgentReply, AgentRequest};
use crate::runtime::process::{
    run_process, ExitStatusKind, OutputStream, ProcessError, ProcessSpec, Stdin,
};
use crate::runtime::sandbox::{BwrapSandbox, BWRAP, INSTALL_HINT};
use crate::runtime::transcript::LineSplitter;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The time limit of a session whose task sets none. An agent that never ends would hold its
/// task forever; an hour is longer than any sensible single task.
pub const DEFAULT_AGENT_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// How much of stdout and stderr is kept for error messages. The parser sees every line; this
/// bounds only the tails.
const TAIL_LIMIT: usize = 64 * 1024;

/// The longest stdout line the parser is given whole: a result event with a long final message
/// is far below this, and a runaway line must not grow memory without bound.
const LINE_LIMIT: usize = 16 * 1024 * 1024;

/// Variables that configure the network rather than the agent; every CLI may need them.
const NETWORK_VARS: [&str; 8] = [
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "NODE_EXTRA_CA_CERTS",
];

/// Runs one attempt of `request` with the CLI `agent` describes.
pub async fn run_session(
    agent: &dyn CliAgent,
    profile: &Profile<'_>,
    request: &AgentRequest,
    cancel: watch::Receiver<bool>,
) -> AgentReply {
    let name = agent.name();
    let program = profile
        .string("bin")
        .map(str::to_string)
        .unwrap_or_else(|| agent.info().default_bin.to_string());
    let prompt_file = match agent.prompt_via() {
        PromptVia::File => match PromptFile::write(request) {
            Ok(file) => Some(file),
            Err(error) => {
                return AgentReply::failed(format!("{name}: cannot write the prompt file: {error}"))
            }
        },
        PromptVia::Stdin => None,
    };
    let prompt_path = prompt_file.as_ref().map(|f| &f.path);
    let mut args: Vec<OsString> = if request.sandbox.is_some() {
        agent.args_in_sandbox(profile, prompt_path)
    } else {
        agent.args(profile, prompt_path)
    };
    if let Some(max_usd) = request.max_budget_usd {
        args.extend(agent.budget_args(max_usd));
    }
    if let Some(schema) = &request.output_schema {
        args.extend(agent.output_schema_args(schema));
    }
    args.extend(profile.strings("args").into_iter().map(OsString::from));
    let mut spec = ProcessSpec::new(&program, args, request.workdir.clone());
    spec.on_spawn = request.on_spawn.clone();
    spec.env = session_env(agent, profile, request);
    spec.stdin = match agent.prompt_via() {
        PromptVia::Stdin => Stdin::Bytes(request.prompt.clone().into_bytes()),
        PromptVia::File => Stdin::Null,
    };
    let timeout = request.timeout.unwrap_or(DEFAULT_AGENT_TIMEOUT);
    spec.timeout = Some(timeout);
    spec.output_limit = TAIL_LIMIT;
    if let Some(sandbox) = &request.sandbox {
        spec = confined(agent, sandbox, prompt_file.as_ref(), spec);
    }

    let mut parser = agent.parser();
    let transcript = &request.transcript;
    transcript.header(name, request.attempt);
    let mut stdout_lines = LineSplitter::new(LINE_LIMIT);
    let mut stderr_lines = LineSplitter::new(LINE_LIMIT);
    let progress = request.progress.clone();
    let mut stdout_line = |text: &str, overlong: bool| {
        transcript.stdout(text);
        // A line cut short is no event the parser could read.
        if !overlong {
            if let Some(note) = parser.line(text) {
                progress(&note);
            }
        }
    };
    let started = Instant::now();
    let result = run_process(spec, cancel, |chunk| match chunk.stream {
        OutputStream::Stdout => stdout_lines.feed(chunk.bytes, &mut stdout_line),
        _ => stderr_lines.feed(chunk.bytes, |text, _| transcript.stderr(text)),
    })
    .await;
    let process_ms = started.elapsed().as_millis() as u64;
    drop(prompt_file);
    stdout_lines.finish(&mut stdout_line);
    stderr_lines.finish(|text, _| transcript.stderr(text));
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(ProcessError::Spawn {
            program: spawned,
            reason,
        }) if spawned.as_os_str() == BWRAP => {
            return AgentReply::failed(format!(
                "{name}: cannot start the sandbox `{BWRAP}`: {reason}; {INSTALL_HINT}"
            ));
        }
        Err(ProcessError::Spawn { reason, .. }) => {
            return AgentReply::failed(format!(
                "{name}: cannot start `{program}`: {reason}. {}",
                agent.info().install_hint
            ));
        }
        Err(error) => return AgentReply::failed(format!("{name}: {error}")),
    };
    let stderr = String::from_utf8_lossy(&outcome.stderr_tail).into_owned();
    let stdout = String::from_utf8_lossy(&outcome.stdout_tail).into_owned();
    let ended = Ended {
        status: outcome.status,
        stdout_tail: &stdout,
        stderr_tail: &stderr,
    };
    let mut reply = parser.finish(&ended);
    reply.usage.process_ms = Some(process_ms);
    reply.outcome = match outcome.status {
        ExitStatusKind::TimedOut => Err(format!(
            "{name}: the session ran past the task's time limit ({}s); `{program}` and every process it started were stopped",
            timeout.as_secs()
        )),
        ExitStatusKind::Cancelled => Err(format!("{name}: the attempt was stopped")),
        _ => reply.outcome.map_err(|error| {
            let mut error = format!("{name}: {error}");
            if let Some(hint) = missing_credentials(agent, &spec_env_names(agent, profile)) {
                error.push_str(&hint);
            }
            error
        }),
    };
    // A CLI may echo its credentials (a failed request, a debug line): the run's redactor,
    // which holds every adapter's key values (`credential_values`), removes them before the
    // outcome is stored or shown.
    reply
}

/// `spec` run in `sandbox`, with the home paths and the folders the CLI's variables name
/// (`CODEX_HOME`) kept, and the prompt file readable.
fn confined(
    agent: &dyn CliAgent,
    sandbox: &BwrapSandbox,
    prompt_file: Option<&PromptFile>,
    spec: ProcessSpec,
) -> ProcessSpec {
    let mut sandbox = sandbox.clone();
    sandbox.home.extend_from_slice(agent.info().home_paths);
    sandbox
        .writable
        .extend(agent.info().path_vars.iter().filter_map(|var| {
            let value = spec.env.iter().rev().find(|(name, _)| name == var)?;
            Some(PathBuf::from(&value.1)).filter(|path| path.is_absolute())
        }));
    sandbox
        .readable
        .extend(prompt_file.map(|file| file.path.clone()));
    sandbox.wrap(spec)
}

/// The environment a session gets: the minimal environment and the task's `env` (already in
/// the request), the adapter's credential and network variables taken from wfc's own
/// environment, then the profile's `env`.
fn session_env(
    agent: &dyn CliAgent,
    profile: &Profile<'_>,
    request: &AgentRequest,
) -> Vec<(String, String)> {
    let mut env = request.env.clone();
    for name in agent.credential_vars().iter().chain(NETWORK_VARS.iter()) {
        if let Ok(value) = std::env::var(name) {
            env.push((name.to_string(), value));
        }
    }
    env.extend(profile.variables());
    env
}

/// The names of the credential variables a session gets, from wfc's environment or its profile.
fn spec_env_names(agent: &dyn CliAgent, profile: &Profile<'_>) -> Vec<String> {
    let mut names: Vec<String> = agent
        .credential_vars()
        .iter()
        .filter(|name| std::env::var_os(name).is_some())
        .map(|name| name.to_string())
        .collect();
    names.extend(profile.env().into_iter().map(|(name, _)| name));
    names
}

/// A hint for a failed session that had none of its adapter's credential variables.
fn missing_credentials(agent: &dyn CliAgent, present: &[String]) -> Option<String> {
    let keys = agent.info().key_vars;
    if keys.is_empty() || keys.iter().any(|key| present.iter().any(|p| p == key)) {
        return None;
    }
    Some(format!(
        "\n(no {} was set in wfc's environment; {})",
        keys.join(" or "),
        agent.info().login_hint
    ))
}

/// A prompt written to a private file for CLIs that read it from a path (argv is visible to
/// every user of the machine; a file with mode 0600 is not). Removed when dropped.
struct PromptFile {
    path: PathBuf,
}

impl PromptFile {
    fn write(request: &AgentRequest) -> std::io::Result<PromptFile> {
        use std::os::unix::fs::OpenOptionsExt;
        let safe: String = format!("{}-{}", request.key.run, request.key.task)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = std::env::temp_dir().join(format!(
            "wfc-prompt-{safe}-{}-{}.md",
            request.attempt,
            std::process::id()
        ));
        // The temporary folder is shared: the file is created anew (never through a link
        // someone else put at this name); one left by a crashed wfc with the same pid goes first.
        let open = || {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
        };
        let mut file = match open() {
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                std::fs::remove_file(&path)?;
                open()?
            }
            other => other?,
        };
        file.write_all(request.prompt.as_bytes())?;
        file.sync_all()?;
        Ok(PromptFile { path })
    }
}

impl Drop for PromptFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The last `count` lines of `text`, for an error message.
pub fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

/// Why a session that printed no usable result failed: its exit status and what it printed.
pub fn no_result(ended: &Ended<'_>, program_name: &str) -> String {
    let mut message = format!(
        "`{program_name}` ended ({}) without a result it can be judged by",
        ended.status
    );
    let stderr = last_lines(ended.stderr_tail, 10);
    if !stderr.is_empty() {
        message.push_str(&format!("; its stderr ends:\n{stderr}"));
    }
    let stdout = last_lines(ended.stdout_tail, 5);
    if !stdout.is_empty() {
        message.push_str(&format!("\nits output ends:\n{stdout}"));
    }
    message
}
