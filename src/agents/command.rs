//! The `command` adapter: any program runs the task. The prompt goes to its stdin, its
//! environment has `WF_RUN_ID`, `WF_TASK_ID` and `WF_ATTEMPT`; exit code 0 means done, and
//! its stdout is the result.

use crate::runtime::agent::{AgentReply, AgentRequest};
use crate::runtime::engine::RESULT_LIMIT;
use crate::runtime::process::{run_process, ExitStatusKind, ProcessSpec, Stdin};
use std::ffi::OsString;
use tokio::sync::watch;

/// Runs one attempt with `argv` (from the profile's `command` setting).
pub async fn run(
    request: AgentRequest,
    argv: &[String],
    env: &[(String, String)],
    cancel: watch::Receiver<bool>,
) -> Result<AgentReply, String> {
    let Some((program, args)) = argv.split_first() else {
        return Err(
            "the `command` adapter needs `command = [\"program\", …]` in its profile".into(),
        );
    };
    let mut spec = ProcessSpec::new(
        program,
        args.iter().map(OsString::from).collect::<Vec<_>>(),
        request.workdir.clone(),
    );
    spec.env = request.env.clone();
    spec.env.extend(env.iter().cloned());
    spec.stdin = Stdin::Bytes(request.prompt.into_bytes());
    spec.timeout = request.timeout;
    spec.output_limit = RESULT_LIMIT;
    let outcome = run_process(spec, cancel, |_| {})
        .await
        .map_err(|e| format!("command adapter: {e}"))?;
    let stdout = String::from_utf8_lossy(&outcome.stdout_tail).into_owned();
    match outcome.status {
        ExitStatusKind::Code(0) => Ok(AgentReply {
            result: stdout,
            ..AgentReply::default()
        }),
        ExitStatusKind::TimedOut => Err(format!(
            "command adapter: `{program}` timed out; it and every process it started were stopped"
        )),
        ExitStatusKind::Cancelled => Err("command adapter: the attempt was stopped".into()),
        status => {
            let stderr = String::from_utf8_lossy(&outcome.stderr_tail);
            let text = if stderr.trim().is_empty() {
                stdout.as_str()
            } else {
                stderr.as_ref()
            };
            let tail: Vec<&str> = text
                .trim_end()
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            Err(format!(
                "command adapter: `{program}` failed ({status}):\n{}",
                tail.join("\n")
            ))
        }
    }
}
