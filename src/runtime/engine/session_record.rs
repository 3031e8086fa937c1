//! What the engine keeps of each agent session it starts, for `wfc show`: the prompt exactly as
//! it is sent (a `prompt_sent` event in the run's log, so it is in the store with the rest of
//! the run) and the file the session's transcript is written to.

use super::{Arc, Engine, EventKind, TaskKey};
use crate::runtime::transcript::{transcript_path, SessionPurpose, Transcript};

impl Engine {
    /// Records `prompt` as sent to the session of `attempt` of `key` for `purpose`, and opens
    /// the session's transcript. The event goes through the bus's redactor, and the transcript
    /// has the same redactor, so neither holds a secret.
    pub(super) async fn record_session(
        &self,
        key: &TaskKey,
        attempt: u32,
        purpose: SessionPurpose,
        prompt: &str,
    ) -> Arc<Transcript> {
        self.emit(
            &key.run,
            EventKind::PromptSent,
            Some(&key.task),
            serde_json::json!({
                "attempt": attempt,
                "purpose": purpose.as_str(),
                "prompt": prompt,
            }),
        );
        let workspace = match self.run_info(&key.run).await {
            Ok(info) => info.workspace.clone().ok(),
            Err(_) => None,
        };
        Arc::new(match workspace {
            Some(workspace) => Transcript::create(
                transcript_path(&workspace, &key.run, &key.task, attempt, purpose),
                self.bus.redactor().clone(),
            ),
            None => Transcript::none(),
        })
    }
}
