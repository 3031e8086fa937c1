//! The engine's side of a run-time fan-out (`crate::plan::fan_out`): a claimed template is
//! not run but expanded, its instances and its success stored in one atomic step.

use super::plan_step::Growth;
use super::{Engine, EngineError, TaskKey};
use crate::plan::fan_out::{elements, expand, FanOutSpec};
use crate::runtime::model::Claim;

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
        let what = "the fan-out expanded";
        self.grow_plan(key, claim, what, |plan| {
            let (plan, ids) = expand(plan, &key.task, &items)?;
            let result = match ids.as_slice() {
                [] => format!("expanded to no task: `{}` is empty", fan_out.source_text()),
                ids => format!("expanded to {} task(s): {}", ids.len(), ids.join(", ")),
            };
            Ok(Growth {
                plan,
                ids,
                result,
                event: serde_json::json!({}),
            })
        })
        .await
    }
}
