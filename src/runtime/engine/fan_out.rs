//! The engine's side of a run-time fan-out (`crate::plan::fan_out`): a claimed template is
//! not run but expanded, its instances and its success stored in one atomic step.

use super::{now_millis, Engine, EngineError, EventKind, TaskKey};
use crate::plan::fan_out::{elements, expand, FanOutSpec};
use crate::runtime::lifecycle;
use crate::runtime::model::Claim;

/// How many times an expansion is tried again when another one changed the run's plan
/// between reading it and replacing it.
const ATTEMPTS: usize = 8;

impl Engine {
    /// Expands the template `key`, claimed as `claim`, into the instances its list holds:
    /// the run's plan and tasks gain them, and the template succeeds, in one step. A list
    /// that cannot be read or is longer than the template's `max` fails the template.
    pub(super) async fn expand_fan_out(
        &self,
        key: &TaskKey,
        claim: &Claim,
        fan_out: &FanOutSpec,
    ) -> Result<(), EngineError> {
        let source = TaskKey::new(key.run.as_str(), fan_out.from.as_str());
        let typed = self.call(move |b| b.get_task(&source)).await?.typed_output;
        let items = match elements(fan_out, typed.as_deref()) {
            Ok(items) => items,
            Err(why) => return self.fail_for_good(key, claim, why).await,
        };
        for _ in 0..ATTEMPTS {
            let id = key.run.clone();
            let run = self.call(move |b| b.get_run(&id)).await?;
            let (plan, ids) = match expand(&run.plan, &key.task, &items) {
                Ok(expanded) => expanded,
                Err(why) => return self.fail_for_good(key, claim, why).await,
            };
            let result = match ids.as_slice() {
                [] => format!("expanded to no task: `{}` is empty", fan_out.source_text()),
                ids => format!("expanded to {} task(s): {}", ids.len(), ids.join(", ")),
            };
            let (k, worker, text) = (key.clone(), self.config.worker.clone(), result.clone());
            let stored = self
                .store_plan_step(&key.run, run.plan, plan, move |new, records| {
                    lifecycle::expansion_records(new, records, &k, &worker, &text, now_millis())
                })
                .await?;
            if stored {
                self.emit(
                    &key.run,
                    EventKind::TaskSucceeded,
                    Some(&key.task),
                    serde_json::json!({ "attempt": claim.attempt, "expanded": ids }),
                );
                return Ok(());
            }
        }
        self.fail_for_good(
            key,
            claim,
            "the run's plan kept changing while the fan-out expanded".into(),
        )
        .await
    }
}
