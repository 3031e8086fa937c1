//! The engine's side of runs whose work moves between machines through a shared remote
//! (`workspaces::remote`): which folder such a run works in on this machine, and what becomes
//! of a task whose commits this machine cannot fetch or push.
//!
//! A run that records a repository is not tied to its folder: an engine given a clone of its
//! own (`wfc worker --workspace CLONE`) works on it there, on any machine; one without works
//! in the run's folder when it can reach it, else in its own folder if that is a clone. A
//! task this machine cannot fetch the start of, or push the output of, is given back at once
//! (pending again, no retry used) and the engine leaves that run's tasks to others for
//! [`REMOTE_PAUSE`] before it tries the remote again.

use super::{Engine, EngineError};
use crate::events::EventKind;
use crate::runtime::model::{now_millis, RunPlace, TaskKey};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long an engine that could not reach a run's remote leaves that run's tasks to others.
pub const REMOTE_PAUSE: Duration = Duration::from_secs(30);

impl Engine {
    /// The folder the run recorded at `place` works in on this machine, or why this engine
    /// cannot work on it.
    pub(super) fn folder_of(&self, place: Option<&RunPlace>) -> Result<PathBuf, String> {
        let Some(place) = place else {
            // A run that recorded no workspace (made by an older wfc) runs in this engine's.
            return Ok(self.config.workspace.clone());
        };
        let shared = place.repository.is_some();
        if let (true, Some(clone)) = (shared, &self.config.own_clone) {
            return Ok(clone.clone());
        }
        match place.unreachable() {
            None => Ok(PathBuf::from(&place.workspace)),
            Some(_) if shared => Ok(self.config.workspace.clone()),
            Some(why) => Err(why),
        }
    }

    /// Whether this engine leaves the tasks of `run` to others for now: it could not reach
    /// the run's remote a moment ago.
    pub(super) fn remote_paused(&self, run: &str) -> bool {
        let mut paused = self
            .remote_paused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match paused.get(run) {
            Some(until) if Instant::now() < *until => true,
            Some(_) => {
                paused.remove(run);
                false
            }
            None => false,
        }
    }

    /// Gives the claim of attempt `attempt` of `key` back because this machine could not reach
    /// the run's remote (`why`): the task is pending again with no retry used, and this engine
    /// leaves the run's tasks to others for a while.
    pub(super) async fn give_back(
        &self,
        key: &TaskKey,
        attempt: u32,
        why: &str,
    ) -> Result<(), EngineError> {
        self.remote_paused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key.run.clone(), Instant::now() + REMOTE_PAUSE);
        let why = self.bus.redactor().text(why);
        let reason = format!("this machine cannot reach the run's remote: {why}");
        let (k, worker, r) = (key.clone(), self.config.worker.clone(), reason.clone());
        // A claim lost meanwhile (its lease ran out and another engine took it) is not this
        // engine's to give back: the `Conflict` is the answer, and nothing is written.
        let released = self
            .call(move |b| Ok(b.release_task(&k, &worker, &r, now_millis())))
            .await?;
        if released.is_ok() {
            self.emit(
                &key.run,
                EventKind::TaskGivenBack,
                Some(&key.task),
                serde_json::json!({
                    "attempt": attempt,
                    "worker": self.config.worker,
                    "reason": reason,
                    "pause_seconds": REMOTE_PAUSE.as_secs(),
                }),
            );
        }
        Ok(())
    }
}
