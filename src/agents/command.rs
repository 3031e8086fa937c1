//! The `command` adapter: any program runs the task. The prompt goes to its stdin, its
//! environment has `WF_RUN_ID`, `WF_TASK_ID` and `WF_ATTEMPT`; exit code 0 means done, and
//! its stdout is the result.
//!
//! The program may tell wfc what it does with lines on stderr (docs/agents.md, "The command
//! adapter's protocol"), so a custom agent is shown and counted like a CLI adapter:
//!
//! - `wfc:progress TEXT`: TEXT is shown live, as a CLI's tool calls are;
//! - `wfc:usage {"input_tokens":…,"output_tokens":…,"cost_usd":…,"session_id":…,"turns":…}`:
//!   the session's usage (every field optional; a later line adds its numbers to the earlier
//!   ones, a later `session_id` replaces the earlier one).
//!
//! Every line of stdout and stderr, these too, is kept in the attempt's transcript.

use super::profile::Profile;
use super::session::{last_lines, DEFAULT_AGENT_TIMEOUT};
use crate::runtime::agent::{AgentReply, AgentRequest, SessionUsage};
use crate::runtime::engine::RESULT_LIMIT;
use crate::runtime::process::{run_process, ExitStatusKind, OutputStream, ProcessSpec, Stdin};
use crate::runtime::transcript::LineSplitter;
use std::ffi::OsString;
use std::time::Instant;
use tokio::sync::watch;

/// Runs one attempt with the program and arguments of the profile's `command` setting.
pub async fn run(
    request: AgentRequest,
    profile: &Profile<'_>,
    cancel: watch::Receiver<bool>,
) -> AgentReply {
    let argv = profile.strings("command");
    let Some((program, args)) = argv.split_first() else {
        return AgentReply::failed(
            "command adapter: the profile needs `command = [\"program\", …]`",
        );
    };
    let mut spec = ProcessSpec::new(
        program,
        args.iter().map(OsString::from).collect::<Vec<_>>(),
        request.workdir.clone(),
    );
    spec.env = request.env.clone();
    spec.on_spawn = request.on_spawn.clone();
    spec.env.extend(profile.variables());
    spec.stdin = Stdin::Bytes(request.prompt.into_bytes());
    let timeout = request.timeout.unwrap_or(DEFAULT_AGENT_TIMEOUT);
    spec.timeout = Some(timeout);
    spec.output_limit = RESULT_LIMIT;
    // A program of the user's own needs nothing of the home.
    if let Some(sandbox) = &request.sandbox {
        spec = sandbox.wrap(spec);
    }
    let transcript = &request.transcript;
    transcript.header("command", request.attempt);
    let progress = request.progress.clone();
    let mut usage = SessionUsage::default();
    let mut stdout_lines = LineSplitter::new(RESULT_LIMIT);
    let mut stderr_lines = LineSplitter::new(RESULT_LIMIT);
    let mut stderr_line = |text: &str, _overlong: bool| {
        transcript.stderr(text);
        match protocol_line(text) {
            Some(Protocol::Progress(note)) => progress(note),
            Some(Protocol::Usage(reported)) => add_usage(&mut usage, reported),
            None => {}
        }
    };
    let started = Instant::now();
    let result = run_process(spec, cancel, |chunk| match chunk.stream {
        OutputStream::Stdout => stdout_lines.feed(chunk.bytes, |text, _| transcript.stdout(text)),
        _ => stderr_lines.feed(chunk.bytes, &mut stderr_line),
    })
    .await;
    stdout_lines.finish(|text, _| transcript.stdout(text));
    stderr_lines.finish(&mut stderr_line);
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(error) => return AgentReply::failed(format!("command adapter: {error}")),
    };
    usage.process_ms = Some(started.elapsed().as_millis() as u64);
    let stdout = String::from_utf8_lossy(&outcome.stdout_tail).into_owned();
    let outcome = match outcome.status {
        ExitStatusKind::Code(0) => Ok(stdout),
        ExitStatusKind::TimedOut => Err(format!(
            "command adapter: `{program}` ran past the task's time limit ({}s); it and every process it started were stopped",
            timeout.as_secs()
        )),
        ExitStatusKind::Cancelled => Err("command adapter: the attempt was stopped".into()),
        status => {
            // The protocol's lines said what the program did, not why it failed.
            let stderr: String = String::from_utf8_lossy(&outcome.stderr_tail)
                .lines()
                .filter(|line| protocol_line(line).is_none())
                .map(|line| format!("{line}\n"))
                .collect();
            let text = if stderr.trim().is_empty() {
                stdout.as_str()
            } else {
                stderr.as_str()
            };
            Err(format!(
                "command adapter: `{program}` failed ({status}):\n{}",
                last_lines(text, 20)
            ))
        }
    };
    AgentReply { outcome, usage }
}

/// A line of the protocol a program run by the `command` adapter may print on stderr.
#[derive(Debug, PartialEq)]
enum Protocol<'a> {
    /// `wfc:progress TEXT`.
    Progress(&'a str),
    /// `wfc:usage {…}`.
    Usage(SessionUsage),
}

/// The protocol line `line` is, if it is one. A `wfc:usage` line whose JSON cannot be read is
/// no protocol line: it stays in the transcript and in a failure's reason, where the program's
/// author sees it.
fn protocol_line(line: &str) -> Option<Protocol<'_>> {
    if let Some(text) = line.strip_prefix("wfc:progress ") {
        let text = text.trim();
        return (!text.is_empty()).then_some(Protocol::Progress(text));
    }
    let json = line.strip_prefix("wfc:usage ")?;
    let value: serde_json::Value = serde_json::from_str(json.trim()).ok()?;
    let object = value.as_object()?;
    let count = |name: &str| object.get(name).and_then(serde_json::Value::as_u64);
    Some(Protocol::Usage(SessionUsage {
        session_id: object
            .get("session_id")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string),
        cost_usd: object.get("cost_usd").and_then(serde_json::Value::as_f64),
        input_tokens: count("input_tokens"),
        output_tokens: count("output_tokens"),
        turns: count("turns"),
        process_ms: None,
        limit: None,
    }))
}

/// Adds what one `wfc:usage` line reported to the session's usage so far.
fn add_usage(usage: &mut SessionUsage, reported: SessionUsage) {
    fn add<T: std::ops::Add<Output = T> + Copy>(total: &mut Option<T>, more: Option<T>) {
        if let Some(more) = more {
            *total = Some(match *total {
                Some(sum) => sum + more,
                None => more,
            });
        }
    }
    if reported.session_id.is_some() {
        usage.session_id = reported.session_id;
    }
    add(&mut usage.cost_usd, reported.cost_usd);
    add(&mut usage.input_tokens, reported.input_tokens);
    add(&mut usage.output_tokens, reported.output_tokens);
    add(&mut usage.turns, reported.turns);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_lines_are_read_and_others_are_not() {
        assert_eq!(
            protocol_line("wfc:progress reading src/"),
            Some(Protocol::Progress("reading src/"))
        );
        assert_eq!(protocol_line("wfc:progress   "), None);
        assert_eq!(protocol_line("wfc:usage {not json"), None);
        assert_eq!(protocol_line("warning: wfc:progress x"), None);
        let mut usage = SessionUsage::default();
        for line in [
            r#"wfc:usage {"input_tokens":10,"cost_usd":0.5,"session_id":"s1"}"#,
            r#"wfc:usage {"input_tokens":5,"output_tokens":2}"#,
        ] {
            let Some(Protocol::Usage(reported)) = protocol_line(line) else {
                panic!("{line} is a usage line");
            };
            add_usage(&mut usage, reported);
        }
        assert_eq!(usage.input_tokens, Some(15));
        assert_eq!(usage.output_tokens, Some(2));
        assert_eq!(usage.cost_usd, Some(0.5));
        assert_eq!(usage.session_id.as_deref(), Some("s1"));
    }
}
