//! The AgentExecutor port (ARCHITECTURE.md "Ports"): how the engine runs an agent task in a
//! fresh session. The adapters (Claude Code, Codex, …) implement it in their own issue; the
//! engine works with any implementation.

use super::model::TaskKey;
use crate::plan::AgentSpec;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::watch;

/// Everything one attempt of an agent task needs. Each attempt is a new session: nothing
/// carries over from an earlier attempt except what the prompt says.
#[derive(Clone, Debug)]
pub struct AgentRequest {
    /// The task.
    pub key: TaskKey,
    /// The attempt, from 1.
    pub attempt: u32,
    /// The full prompt, results filled in, and on a retry why the last attempt failed.
    pub prompt: String,
    /// The profile's name, or `None` for the run's default agent.
    pub profile: Option<String>,
    /// The profile's adapter and settings, when declared in the file.
    pub agent: Option<AgentSpec>,
    /// Where the session runs.
    pub workdir: PathBuf,
    /// The environment the session gets: the minimal environment and the task's `env`.
    pub env: Vec<(String, String)>,
    /// The per-attempt time limit.
    pub timeout: Option<Duration>,
}

/// What a finished session reports.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AgentReply {
    /// The agent's final message: the task's result.
    pub result: String,
    /// The session's id, where the CLI reports one.
    pub session_id: Option<String>,
    /// What the session cost, in US dollars, where reported.
    pub cost_usd: Option<f64>,
    /// Anything else worth storing (tokens, turns), as JSON.
    pub details: serde_json::Value,
}

/// A session's outcome: the reply, or why the attempt failed (shown to the next attempt).
pub type AgentFuture<'a> = Pin<Box<dyn Future<Output = Result<AgentReply, String>> + Send + 'a>>;

/// Runs agent sessions.
pub trait AgentExecutor: Send + Sync {
    /// Runs one attempt in a fresh session; stops it when `cancel` turns true.
    fn execute(&self, request: AgentRequest, cancel: watch::Receiver<bool>) -> AgentFuture<'_>;
}

/// The executor when no agent adapter is configured: agent tasks fail and say so, while
/// command tasks run.
pub struct NoAgents;

impl AgentExecutor for NoAgents {
    fn execute(&self, request: AgentRequest, _cancel: watch::Receiver<bool>) -> AgentFuture<'_> {
        let profile = request
            .profile
            .unwrap_or_else(|| "the default agent".into());
        Box::pin(async move {
            Err(format!(
                "no agent adapter is available to run {profile}; agent adapters come with wfc's agent support, and command tasks run without one"
            ))
        })
    }
}
