//! The engine's side of outcome conditions and run-time `when`s (`crate::plan::condition`):
//! a claimed task whose condition does not hold is skipped, and a task that waits for an
//! upstream's failure stops waiting for its success once that upstream can never succeed.

use super::{now_millis, Engine, EngineError, EventKind, TaskKey};
use crate::plan::condition::Unreadable;
use crate::plan::TaskSpec;
use crate::runtime::lifecycle;
use crate::runtime::model::TaskRecord;
use std::collections::HashMap;

/// How many times letting go of edges is tried again when the run's plan changed between
/// reading it and replacing it.
const ATTEMPTS: usize = 8;

impl Engine {
    /// Why the claimed task `key` must be skipped: an outcome condition or a run-time `when`
    /// of `spec` that does not hold; `None` when it runs.
    pub(super) async fn condition_fails(
        &self,
        key: &TaskKey,
        spec: &TaskSpec,
    ) -> Result<Option<String>, EngineError> {
        if spec.outcomes.is_empty() && spec.condition.is_none() {
            return Ok(None);
        }
        let run = key.run.clone();
        let tasks = self.call(move |b| b.list_tasks(&run)).await?;
        let by_id: HashMap<&str, _> = tasks.iter().map(|t| (t.key.task.as_str(), t)).collect();
        for outcome in &spec.outcomes {
            let ended = by_id
                .get(outcome.task.as_str())
                .map_or(crate::plan::condition::Ended::NotDone, |t| {
                    lifecycle::ended_at_claim(t.state)
                });
            if outcome.holds(ended) == Some(false) {
                let state = by_id
                    .get(outcome.task.as_str())
                    .map_or("missing".to_string(), |t| t.state.to_string());
                return Ok(Some(format!(
                    "`after {}` does not hold: `{}` {state}",
                    outcome.text(),
                    outcome.task
                )));
            }
        }
        let Some(condition) = &spec.condition else {
            return Ok(None);
        };
        let output = |task: &str| by_id.get(task).and_then(|t| t.typed_output.clone());
        Ok(match condition.holds(&output) {
            Ok(true) => None,
            Ok(false) => Some(format!("`when {}` is false", condition.text())),
            Err(Unreadable(why)) => {
                Some(format!("`when {}` cannot be read: {why}", condition.text()))
            }
        })
    }

    /// Skips the claimed task `key`, because `why`.
    pub(super) async fn skip(&self, key: &TaskKey, why: &str) -> Result<(), EngineError> {
        let (k, w, reason) = (key.clone(), self.config.worker.clone(), why.to_string());
        self.call(move |b| b.skip_task(&k, &w, &reason, now_millis()))
            .await?;
        self.emit(
            &key.run,
            EventKind::TaskSkipped,
            Some(&key.task),
            serde_json::json!({ "reason": why }),
        );
        Ok(())
    }

    /// After the attempt of `key` ended: if it failed for good and the run has outcome
    /// conditions, lets go of the edges waiting for it at once, so its handlers start while
    /// other tasks still run. (Settling the run does so too, for every other way a task ends.)
    pub(super) async fn after_outcome(&self, key: &TaskKey) -> Result<(), EngineError> {
        if !self.run_info(&key.run).await?.has_outcomes {
            return Ok(());
        }
        let k = key.clone();
        let state = self.call(move |b| b.get_task(&k)).await?.state;
        if state.is_final() && !state.satisfies_dependents() {
            self.resolve_outcomes(&key.run).await?;
        }
        Ok(())
    }

    /// Lets the tasks of `run` that wait for an upstream's failure stop waiting for its
    /// success once it can never succeed ([`lifecycle::resolve_outcomes`]), in one replan
    /// step of the backend, so they become ready.
    pub(super) async fn resolve_outcomes(&self, run: &str) -> Result<(), EngineError> {
        // Most plans have no outcome condition: the cached plan says so without a read.
        if !self.run_info(run).await?.has_outcomes {
            return Ok(());
        }
        for _ in 0..ATTEMPTS {
            let id = run.to_string();
            let read = self.call(move |b| b.get_run(&id)).await?;
            if read.plan.tasks.iter().all(|t| t.outcomes.is_empty()) {
                return Ok(());
            }
            let id = run.to_string();
            let records = self.call(move |b| b.list_tasks(&id)).await?;
            let Some(resolved) = lifecycle::resolve_outcomes(&read.plan, &records) else {
                return Ok(());
            };
            let stored = self
                .store_plan_step(run, read.plan, resolved, |new, records| {
                    let by_id: HashMap<&str, &TaskRecord> =
                        records.iter().map(|r| (r.key.task.as_str(), r)).collect();
                    Ok(new
                        .tasks
                        .iter()
                        .filter_map(|spec| by_id.get(spec.id.as_str()).map(|r| (*r).clone()))
                        .collect())
                })
                .await?;
            if stored {
                return Ok(());
            }
        }
        Ok(())
    }
}
