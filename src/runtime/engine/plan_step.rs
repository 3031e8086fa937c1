//! One change of a run's plan the engine decides from the plan it read (a fan-out's
//! expansion, letting go of the edges of outcome conditions): stored with `replan_run` only
//! if the run's plan is still the one read, so two engines never both apply a change.

use super::{Engine, EngineError};
use crate::events::EventKind;
use crate::plan::Plan;
use crate::runtime::backend::{BackendError, BackendErrorKind, BackendResult};
use crate::runtime::model::{now_millis, Claim, TaskKey, TaskRecord};

/// The conflict a change meets when the plan it was made from is no longer the run's.
const PLAN_CHANGED: &str = "the run's plan changed since it was read";

impl Engine {
    /// Replaces `run`'s plan `read` with `new`, the tasks' records as `records` gives them
    /// from those stored, in one step of the backend; `Ok(false)` when the run's plan is no
    /// longer `read`, so the caller reads it again and decides anew.
    pub(super) async fn store_plan_step(
        &self,
        run: &str,
        read: Plan,
        new: Plan,
        records: impl Fn(&Plan, &[TaskRecord]) -> BackendResult<Vec<TaskRecord>> + Send + 'static,
    ) -> Result<bool, EngineError> {
        let run = run.to_string();
        self.call(move |b| {
            let replaced = b.replan_run(&run, &new, &mut |stored, tasks| {
                if stored.plan != read {
                    return Err(BackendError::conflict(PLAN_CHANGED));
                }
                records(&new, tasks)
            });
            match replaced {
                Ok(()) => Ok(true),
                Err(error)
                    if error.kind == BackendErrorKind::Conflict
                        && error.message == PLAN_CHANGED =>
                {
                    Ok(false)
                }
                Err(error) => Err(error),
            }
        })
        .await
    }

    /// Fails `key`, claimed as `claim`, for good, with `why`: the plan step it needed cannot
    /// be made (a fan-out's list, a loop's decision), and trying again would read the same.
    pub(super) async fn fail_for_good(
        &self,
        key: &TaskKey,
        claim: &Claim,
        why: String,
    ) -> Result<(), EngineError> {
        let (k, w, e) = (key.clone(), self.config.worker.clone(), why.clone());
        self.call(move |b| b.fail_task(&k, &w, &e, false, now_millis()))
            .await?;
        self.emit(
            &key.run,
            EventKind::TaskFailed,
            Some(&key.task),
            serde_json::json!({ "attempt": claim.attempt, "error": why }),
        );
        Ok(())
    }
}
