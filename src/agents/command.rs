//! The `command` adapter: any program runs the task. The prompt goes to its stdin, its
//! environment has `WF_RUN_ID`, `WF_TASK_ID` and `WF_ATTEMPT`; exit code 0 means done, and
//! its stdout is the result.

use super::profile::Profile;
use super::session::{last_lines, DEFAULT_AGENT_TIMEOUT};
use crate::runtime::agent::{AgentReply, AgentRequest, SessionUsage};
use crate::runtime::engine::RESULT_LIMIT;
use crate::runtime::process::{run_process, ExitStatusKind, ProcessSpec, Stdin};
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
    let started = Instant::now();
    let outcome = match run_process(spec, cancel, |_| {}).await {
        Ok(outcome) => outcome,
        Err(error) => return AgentReply::failed(format!("command adapter: {error}")),
    };
    let usage = SessionUsage {
        process_ms: Some(started.elapsed().as_millis() as u64),
        ..SessionUsage::default()
    };
    let stdout = String::from_utf8_lossy(&outcome.stdout_tail).into_owned();
    let outcome = match outcome.status {
        ExitStatusKind::Code(0) => Ok(stdout),
        ExitStatusKind::TimedOut => Err(format!(
            "command adapter: `{program}` ran past the task's time limit ({}s); it and every process it started were stopped",
            timeout.as_secs()
        )),
        ExitStatusKind::Cancelled => Err("command adapter: the attempt was stopped".into()),
        status => {
            let stderr = String::from_utf8_lossy(&outcome.stderr_tail);
            let text = if stderr.trim().is_empty() {
                stdout.as_str()
            } else {
                stderr.as_ref()
            };
            Err(format!(
                "command adapter: `{program}` failed ({status}):\n{}",
                last_lines(text, 20)
            ))
        }
    };
    AgentReply { outcome, usage }
}
