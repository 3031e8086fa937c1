//! What expanding a run-time fan-out does to a run's tasks (`crate::plan::fan_out`): the
//! template succeeds, every other task stays as it is, and each new instance is pending.

use super::attempt::{complete, Completion};
use crate::plan::Plan;
use crate::runtime::backend::BackendResult;
use crate::runtime::model::{Millis, TaskKey, TaskRecord};
use std::collections::HashMap;

/// The records of the expanded plan `plan`'s tasks, in its order, from the run's `records`
/// as they are now (read in the step that stores them): the template `template` succeeded
/// with `result`, which only `worker`, holding it, may do (a `Conflict` otherwise, so a
/// template expands once); every other task as it is; each task new in `plan` pending.
pub fn expansion_records(
    plan: &Plan,
    records: &[TaskRecord],
    template: &TaskKey,
    worker: &str,
    result: &str,
    now: Millis,
) -> BackendResult<Vec<TaskRecord>> {
    let mut by_id: HashMap<&str, &TaskRecord> =
        records.iter().map(|r| (r.key.task.as_str(), r)).collect();
    plan.tasks
        .iter()
        .map(|spec| match by_id.remove(spec.id.as_str()) {
            Some(record) if spec.id == template.task => {
                let mut record = record.clone();
                complete(&mut record, worker, result, Completion::default(), now)?;
                Ok(record)
            }
            Some(record) => Ok(record.clone()),
            None => Ok(TaskRecord::new(
                TaskKey::new(template.run.as_str(), spec.id.as_str()),
                spec.retry,
            )),
        })
        .collect()
}
