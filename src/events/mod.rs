//! Events (ARCHITECTURE.md "Events"): every transition of a run, sent to sinks that must
//! never crash or stall the engine. Secrets are redacted before any sink sees an event.

mod console;
mod fit;
mod heartbeat;
mod http;
mod jsonl;
mod plain;
mod progress;
mod redact;
mod secret_forms;
mod status_line;
mod ticker;
mod waiting;

pub use http::HttpSink;

/// How many events the HTTP sink queues before it drops new ones.
pub fn http_queue_capacity() -> usize {
    http::QUEUE_CAPACITY
}
pub use heartbeat::Heartbeats;
pub use jsonl::JsonlSink;
pub use plain::{PlainOptions, PlainSink};
pub use progress::ProgressSink;
pub use redact::Redactor;
pub use secret_forms::{secret_forms, MIN_DERIVED_CHARS};

use crate::runtime::Millis;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A run began (or resumed).
    RunStarted,
    /// A task's dependencies all succeeded.
    TaskReady,
    /// A worker claimed a task.
    TaskClaimed,
    /// An attempt started.
    TaskStarted,
    /// A command or agent printed something (throttled).
    TaskOutput,
    /// An agent session did something worth showing (a tool call, a message).
    AgentActivity,
    /// An agent session ended: its id, cost and tokens, whatever its outcome.
    AgentSession,
    /// A verify command failed.
    VerifyFailed,
    /// A task succeeded.
    TaskSucceeded,
    /// A task failed for good.
    TaskFailed,
    /// A task was skipped: its outcome condition or run-time `when` does not hold.
    TaskSkipped,
    /// A failed attempt will be retried.
    TaskRetrying,
    /// A gate waits for a person.
    GateWaiting,
    /// A person answered a gate.
    GateAnswered,
    /// A run ended.
    RunFinished,
    /// What an earlier attempt of a task left running on this machine was stopped before the
    /// task was taken over.
    AttemptStopped,
    /// The run's plan was replaced by planning its file again (`wfc resume --replan`).
    RunReplanned,
    /// Where a run that succeeded left its result (its branch, in a run isolated in git).
    RunResult,
    /// A prompt was sent to an agent session, as it was sent (redacted like every event).
    PromptSent,
    /// The run's budget was set (`wfc run --budget`, `wfc resume --budget`): the newest one
    /// counts, over `budget` in the workflow's `defaults`.
    BudgetSet,
    /// The engine starts no more agent sessions of the run: its budget cannot pay the next
    /// one. The run stays running and `wfc resume RUN --budget MORE` goes on.
    RunPaused,
    /// An agent profile waits for a provider's limit to end (a usage limit, HTTP 429 or 529):
    /// the attempt that met it gave its claim back with no retry used.
    ProfileWaiting,
    /// An engine gave a task back because this machine could not reach the shared remote
    /// the run's work moves through (a fetch or push failed): pending again for another
    /// engine, with no retry used.
    TaskGivenBack,
}

impl EventKind {
    /// The kind's name, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::RunStarted => "run_started",
            EventKind::TaskReady => "task_ready",
            EventKind::TaskClaimed => "task_claimed",
            EventKind::TaskStarted => "task_started",
            EventKind::TaskOutput => "task_output",
            EventKind::AgentActivity => "agent_activity",
            EventKind::AgentSession => "agent_session",
            EventKind::VerifyFailed => "verify_failed",
            EventKind::TaskSucceeded => "task_succeeded",
            EventKind::TaskFailed => "task_failed",
            EventKind::TaskSkipped => "task_skipped",
            EventKind::TaskRetrying => "task_retrying",
            EventKind::GateWaiting => "gate_waiting",
            EventKind::GateAnswered => "gate_answered",
            EventKind::RunFinished => "run_finished",
            EventKind::AttemptStopped => "attempt_stopped",
            EventKind::RunReplanned => "run_replanned",
            EventKind::RunResult => "run_result",
            EventKind::PromptSent => "prompt_sent",
            EventKind::BudgetSet => "budget_set",
            EventKind::RunPaused => "run_paused",
            EventKind::ProfileWaiting => "profile_waiting",
            EventKind::TaskGivenBack => "task_given_back",
        }
    }
}

/// One event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened.
    pub at: Millis,
    /// The run it belongs to.
    pub run: String,
    /// What happened.
    pub kind: EventKind,
    /// The task it concerns, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// Details.
    pub data: serde_json::Value,
}

/// Where events go. `emit` must return quickly and never panic: a sink that cannot keep up
/// drops events (and says so), it does not make the engine wait.
pub trait EventSink: Send + Sync {
    /// Takes one event, already redacted.
    fn emit(&self, event: &Event);

    /// Waits up to `within` for queued events to be delivered, when the run ends.
    fn flush(&self, within: std::time::Duration) {
        let _ = within;
    }

    /// Shows `text`, a message for the person watching (not an event), if this sink draws
    /// the screen; returns whether it did. The live view prints it above its status line.
    fn note(&self, text: &str) -> bool {
        let _ = text;
        false
    }
}

/// Sends every event, redacted, to every sink.
pub struct EventBus {
    redactor: Redactor,
    sinks: Vec<Arc<dyn EventSink>>,
}

impl EventBus {
    /// A bus that redacts `redactor`'s secrets and feeds `sinks`.
    pub fn new(redactor: Redactor, sinks: Vec<Arc<dyn EventSink>>) -> Self {
        EventBus { redactor, sinks }
    }

    /// Redacts `event` and hands it to every sink.
    pub fn emit(&self, event: Event) {
        let event = self.redactor.event(event);
        for sink in &self.sinks {
            sink.emit(&event);
        }
    }

    /// Gives every sink up to `within` to deliver what it queued.
    pub fn flush(&self, within: std::time::Duration) {
        for sink in &self.sinks {
            sink.flush(within);
        }
    }

    /// Shows a message for the person watching (the Ctrl-C message): through the sink that
    /// draws the screen, so it lands above the live view's status line, or else on stderr.
    pub fn note(&self, text: &str) {
        let text = self.redactor.text(text);
        if !self.sinks.iter().any(|sink| sink.note(&text)) {
            eprintln!("{text}");
        }
    }

    /// The redactor, for text that goes elsewhere (logs, stored errors).
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }
}
