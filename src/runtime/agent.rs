//! The AgentExecutor port (ARCHITECTURE.md "Ports"): how the engine runs an agent task in a
//! fresh session. The adapters (Claude Code, Codex, …) in `crate::agents` implement it; the
//! engine works with any implementation.

use super::model::TaskKey;
use crate::plan::AgentSpec;
use serde::Serialize;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Everything one attempt of an agent task needs. Each attempt is a new session: nothing
/// carries over from an earlier attempt except what the prompt says.
#[derive(Clone)]
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
    /// Where the adapter reports what the session does while it runs (a tool call, a message),
    /// one short line at a time; the engine turns the lines into `task_output` events.
    pub progress: ProgressFn,
    /// Told the session's process group when it has started.
    pub on_spawn: Option<crate::runtime::process::SpawnHook>,
    /// The sandbox the session runs in (`sandbox = "bwrap"`), before the adapter adds the
    /// home paths its CLI needs; `None` runs it unconfined.
    pub sandbox: Option<crate::runtime::sandbox::BwrapSandbox>,
    /// Where the adapter keeps what the session prints, stdout and stderr, line by line
    /// (redacted as it is written), for `wfc show`.
    pub transcript: Arc<crate::runtime::transcript::Transcript>,
    /// The most the session may spend, in US dollars, by the run's and the task's budgets;
    /// adapters whose CLI can stop a session at a cost pass it on.
    pub max_budget_usd: Option<f64>,
    /// The JSON Schema of the task's typed output (`output:`), for adapters whose CLI can
    /// hold the answer to one.
    pub output_schema: Option<serde_json::Value>,
}

/// Receives a session's progress lines.
pub type ProgressFn = Arc<dyn Fn(&str) + Send + Sync>;

impl std::fmt::Debug for AgentRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The environment and prompt may hold secrets; a debug print names the task only.
        f.debug_struct("AgentRequest")
            .field("key", &self.key)
            .field("attempt", &self.attempt)
            .field("profile", &self.profile)
            .field("workdir", &self.workdir)
            .finish_non_exhaustive()
    }
}

/// What a session used, as far as its CLI reports it. Stored in the run's log (the
/// `agent_session` event) and summed by `wfc status`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SessionUsage {
    /// The session's id, where the CLI reports one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// What the session cost, in US dollars, where the CLI reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// Input tokens, including tokens read from or written to a prompt cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Output tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    /// Model turns the session took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turns: Option<u64>,
    /// How long the agent's process ran, in milliseconds: the engine's own overhead is an
    /// attempt's time minus this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_ms: Option<u64>,
    /// The provider's limit the session ran into, when that is why it failed: the attempt is
    /// then not a failure, and the profile waits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<ProviderLimit>,
}

/// A limit of the model provider that stopped a session: the work did not fail, the provider
/// refused it for a while.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProviderLimit {
    /// Which limit.
    pub kind: LimitKind,
    /// When the provider said the limit ends, in [`Millis`](super::Millis); `None` when it did
    /// not say, and the engine backs off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resets_at: Option<super::Millis>,
    /// The CLI's own words.
    pub message: String,
}

/// The kinds of provider limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// The account's usage limit (a subscription's session or weekly limit).
    UsageLimit,
    /// Too many requests (HTTP 429 `rate_limit_error`).
    RateLimit,
    /// The provider is overloaded (HTTP 529 `overloaded_error`).
    Overloaded,
}

impl LimitKind {
    /// How people read it: `usage limit`.
    pub fn words(self) -> &'static str {
        match self {
            LimitKind::UsageLimit => "usage limit",
            LimitKind::RateLimit => "rate limit",
            LimitKind::Overloaded => "overload",
        }
    }
}

/// What a finished session reports: its result (the agent's final message) or why the attempt
/// failed (shown to the next attempt), and in both cases what it used.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentReply {
    /// The task's result, or the reason the attempt failed.
    pub outcome: Result<String, String>,
    /// What the session used.
    pub usage: SessionUsage,
}

impl AgentReply {
    /// A failed attempt that started no session (a missing CLI, a bad profile).
    pub fn failed(reason: impl Into<String>) -> Self {
        AgentReply {
            outcome: Err(reason.into()),
            usage: SessionUsage::default(),
        }
    }
}

/// A session's outcome.
pub type AgentFuture<'a> = Pin<Box<dyn Future<Output = AgentReply> + Send + 'a>>;

/// Runs agent sessions.
pub trait AgentExecutor: Send + Sync {
    /// Runs one attempt in a fresh session; stops it when `cancel` turns true.
    fn execute(&self, request: AgentRequest, cancel: watch::Receiver<bool>) -> AgentFuture<'_>;
}
