//! The engine's side of a bounded loop (`crate::plan::repeat`): a claimed task that decides
//! a loop's round is not run but decided. Its `until` holding ends the loop; a false one
//! makes the next round, stored with the decision's success in one atomic step; a false one
//! after the last round fails it.

use super::plan_step::Growth;
use super::{now_millis, Engine, EngineError, EventKind, TaskKey};
use crate::plan::condition::Unreadable;
use crate::plan::repeat::{next_round, LoopSpec};
use crate::runtime::model::Claim;
use std::collections::HashMap;

impl Engine {
    /// Decides the round of the loop `key`, claimed as `claim`, from its round's outputs.
    pub(super) async fn decide_round(
        &self,
        key: &TaskKey,
        claim: &Claim,
        repeat: &LoopSpec,
    ) -> Result<(), EngineError> {
        let run = key.run.clone();
        let tasks = self.call(move |b| b.list_tasks(&run)).await?;
        let outputs: HashMap<&str, Option<String>> = tasks
            .iter()
            .map(|t| (t.key.task.as_str(), t.typed_output.clone()))
            .collect();
        let output = |task: &str| outputs.get(task).cloned().flatten();
        let until = repeat.until.text();
        let round = repeat.round;
        match repeat.until.holds(&output) {
            Ok(true) => {
                let result = format!("the loop ended in round {round}: `until {until}` holds");
                let (k, w, r) = (key.clone(), self.config.worker.clone(), result);
                self.call(move |b| b.complete_task(&k, &w, &r, now_millis()))
                    .await?;
                self.emit(
                    &key.run,
                    EventKind::TaskSucceeded,
                    Some(&key.task),
                    serde_json::json!({ "attempt": claim.attempt, "round": round }),
                );
                Ok(())
            }
            Ok(false) if round >= repeat.max => {
                let why = format!(
                    "the loop `{}` did not converge in {} rounds: `until {until}` was still false after round {round}",
                    repeat.name, repeat.max
                );
                self.fail_for_good(key, claim, why).await
            }
            Ok(false) => self.run_next_round(key, claim, repeat).await,
            Err(Unreadable(why)) => {
                let why = format!("`until {until}` cannot be read after round {round}: {why}");
                self.fail_for_good(key, claim, why).await
            }
        }
    }

    /// Adds the round after the one `key` decides to the run, and records the decision's
    /// success, in one step.
    async fn run_next_round(
        &self,
        key: &TaskKey,
        claim: &Claim,
        repeat: &LoopSpec,
    ) -> Result<(), EngineError> {
        let what = "the loop's next round was made";
        self.grow_plan(key, claim, what, |plan| {
            let (plan, ids) = next_round(plan, &key.task)?;
            let result = format!(
                "`until {}` is false after round {}; round {} made: {}",
                repeat.until.text(),
                repeat.round,
                repeat.round + 1,
                ids.join(", ")
            );
            Ok(Growth {
                plan,
                ids,
                result,
                event: serde_json::json!({ "round": repeat.round }),
            })
        })
        .await
    }
}
