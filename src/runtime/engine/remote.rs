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
//!
//! Giving back is bounded: a remote that took the run's base but refuses every push after
//! (a protected namespace, a full disk, a quota) would otherwise make every engine give the
//! same task back for ever. The give-backs of a task are counted from the run's log, so the
//! count is across engines and machines; the one that reaches [`GIVE_BACKS_ENV`] (default
//! [`DEFAULT_GIVE_BACKS`]) since the task last failed fails the attempt instead, with no retry,
//! naming the remote and what git said. The run then ends as a failure would end it, and
//! `wfc retry` tries again once the remote is fixed.

use super::{Engine, EngineError};
use crate::events::EventKind;
use crate::runtime::model::{now_millis, RunPlace, TaskKey};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long an engine that could not reach a run's remote leaves that run's tasks to others.
pub const REMOTE_PAUSE: Duration = Duration::from_secs(30);

/// The environment variable that sets how many times a task may be given back, in all, for
/// its remote before the attempt fails (default [`DEFAULT_GIVE_BACKS`]).
pub const GIVE_BACKS_ENV: &str = "WFC_REMOTE_GIVE_BACKS";

/// Enough for a few machines cut off from the remote to leave a task to one that is not,
/// few enough that a remote refusing every push fails the run within minutes.
const DEFAULT_GIVE_BACKS: u32 = 5;

/// How many give-backs of one task fail its attempt: [`GIVE_BACKS_ENV`] when it holds a
/// positive number, else [`DEFAULT_GIVE_BACKS`].
fn give_backs_allowed() -> u32 {
    std::env::var(GIVE_BACKS_ENV)
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
        .filter(|count| *count > 0)
        .unwrap_or(DEFAULT_GIVE_BACKS)
}

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
        let allowed = give_backs_allowed();
        let given = self.given_back_since_failed(key).await?;
        if given + 1 >= allowed {
            return self.fail_given_back(key, attempt, why, given + 1).await;
        }
        self.remote_paused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key.run.clone(), Instant::now() + REMOTE_PAUSE);
        let why = self.bus.redactor().text(why);
        let reason = format!("this machine cannot reach the run's remote: {why}");
        self.release_claim(key, attempt, &reason, Some(REMOTE_PAUSE.as_secs()))
            .await
    }

    /// Gives back the claim on `key`, its attempt `attempt` not counted, and says so in a
    /// `task_given_back` event with `reason`; `pause_seconds` is how long this engine leaves
    /// the run alone (only a give-back for the run's remote has one). A claim lost meanwhile
    /// (its lease ran out and another engine took it) is not this engine's to give back: the
    /// `Conflict` is the answer, and nothing is written.
    pub(super) async fn release_claim(
        &self,
        key: &TaskKey,
        attempt: u32,
        reason: &str,
        pause_seconds: Option<u64>,
    ) -> Result<(), EngineError> {
        let (k, worker, r) = (key.clone(), self.config.worker.clone(), reason.to_string());
        let released = self
            .call(move |b| Ok(b.release_task(&k, &worker, &r, now_millis())))
            .await?;
        if released.is_ok() {
            let mut data = serde_json::json!({
                "attempt": attempt,
                "worker": self.config.worker,
                "reason": reason,
            });
            if let Some(seconds) = pause_seconds {
                data["pause_seconds"] = seconds.into();
            }
            self.emit(&key.run, EventKind::TaskGivenBack, Some(&key.task), data);
        }
        Ok(())
    }

    /// How many times `key` was given back, by any engine, since it last failed (a run
    /// retried by hand after the remote was fixed starts counting again).
    async fn given_back_since_failed(&self, key: &TaskKey) -> Result<u32, EngineError> {
        let (mut given, mut after) = (0, 0);
        loop {
            let run = key.run.clone();
            let page = self.call(move |b| b.read_events(&run, after, 1000)).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for event in page.iter().filter(|e| e.task.as_deref() == Some(&key.task)) {
                match event.kind.as_str() {
                    // Only a give-back for the remote pauses; one for the budget is not the
                    // remote's fault and does not count.
                    "task_given_back" if event.data.get("pause_seconds").is_some() => given += 1,
                    "task_failed" => given = 0,
                    _ => {}
                }
            }
        }
        Ok(given)
    }

    /// Fails attempt `attempt` of `key`, given back `count` times for the run's remote (the
    /// last time because of `why`), with no retry: the remote refuses what every engine sends.
    async fn fail_given_back(
        &self,
        key: &TaskKey,
        attempt: u32,
        why: &str,
        count: u32,
    ) -> Result<(), EngineError> {
        let why = self.bus.redactor().text(why);
        let error = format!(
            "given back {count} times because no engine could move its work through the \
             run's remote; the last time: {why}\n(fix the remote, or what refuses the pushes, \
             then `wfc retry {} {}`)",
            key.run, key.task
        );
        let (k, w, e) = (key.clone(), self.config.worker.clone(), error.clone());
        let failed = self
            .call(move |b| Ok(b.fail_task(&k, &w, &e, false, now_millis())))
            .await?;
        if failed.is_ok() {
            self.emit(
                &key.run,
                EventKind::TaskFailed,
                Some(&key.task),
                serde_json::json!({ "attempt": attempt, "error": error }),
            );
        }
        Ok(())
    }
}
