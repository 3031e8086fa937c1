//! One change of a run's plan the engine decides from the plan it read (a fan-out's
//! expansion, letting go of the edges of outcome conditions): stored with `replan_run` only
//! if the run's plan is still the one read, so two engines never both apply a change.

use super::{Engine, EngineError};
use crate::events::EventKind;
use crate::plan::Plan;
use crate::runtime::backend::{BackendError, BackendErrorKind, BackendResult};
use crate::runtime::lifecycle;
use crate::runtime::model::{now_millis, Claim, TaskKey, TaskRecord};

/// How many times a step that grows the plan reads the plan again when another engine changed
/// it meanwhile, before it gives up.
const GROWTH_ATTEMPTS: usize = 8;

/// What a step that grows a run's plan (a fan-out's instances, a loop's next round) makes of
/// the plan it read.
pub(super) struct Growth {
    /// The plan with the new tasks.
    pub plan: Plan,
    /// The ids of the tasks it added.
    pub ids: Vec<String>,
    /// The claimed task's result: what it added.
    pub result: String,
    /// Fields of the claimed task's success event besides its attempt and what it added.
    pub event: serde_json::Value,
}

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

    /// Grows the plan of `key`'s run by what `grow` makes of it, and records the success of
    /// `key` (claimed as `claim`), in one step; reads the plan again if another engine
    /// changed it meanwhile. `grow`'s error, or a plan that kept changing (`what` says what
    /// was being done), fails `key` for good.
    pub(super) async fn grow_plan(
        &self,
        key: &TaskKey,
        claim: &Claim,
        what: &str,
        grow: impl Fn(&Plan) -> Result<Growth, String>,
    ) -> Result<(), EngineError> {
        for _ in 0..GROWTH_ATTEMPTS {
            let id = key.run.clone();
            let run = self.call(move |b| b.get_run(&id)).await?;
            let growth = match grow(&run.plan) {
                Ok(growth) => growth,
                Err(why) => return self.fail_for_good(key, claim, why).await,
            };
            let (k, worker, result) = (key.clone(), self.config.worker.clone(), growth.result);
            let stored = self
                .store_plan_step(&key.run, run.plan, growth.plan, move |new, records| {
                    lifecycle::expansion_records(new, records, &k, &worker, &result, now_millis())
                })
                .await?;
            if stored {
                let mut data = growth.event;
                data["attempt"] = claim.attempt.into();
                data["expanded"] = growth.ids.into();
                self.emit(&key.run, EventKind::TaskSucceeded, Some(&key.task), data);
                return Ok(());
            }
        }
        let why = format!("the run's plan kept changing while {what}");
        self.fail_for_good(key, claim, why).await
    }
}
