//! What `wfc resume --replan` does to a run's tasks when its workflow is planned again from
//! the edited file: make-style reuse. A task whose rendered spec is unchanged, and all of whose
//! upstream tasks keep their results, keeps its result; a changed task, and everything
//! downstream of one, runs again; new tasks are added and tasks the file no longer has are
//! dropped.

use super::operator::{reset, TaskReset};
use crate::plan::Plan;
use crate::runtime::backend::{BackendError, BackendResult};
use crate::runtime::model::{Millis, TaskKey, TaskRecord, TaskState};
use std::collections::{HashMap, HashSet};

/// What becomes of one task of the new plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Unchanged, and so is everything upstream: its result (or its waiting gate) stays.
    Kept,
    /// Unchanged, but it had not succeeded: it runs again, as `wfc retry` would run it.
    Again,
    /// Its spec changed: it runs again.
    Changed,
    /// Unchanged itself, but a task upstream runs again, so its inputs may change.
    Downstream,
    /// New in the file.
    Added,
}

impl Fate {
    /// The word `wfc resume --replan` shows for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Fate::Kept => "kept",
            Fate::Again => "again",
            Fate::Changed => "changed",
            Fate::Downstream => "downstream",
            Fate::Added => "added",
        }
    }
}

/// The run's tasks after planning again: one record per task of the new plan, in its order,
/// with what became of it, and the ids of the old tasks the new plan no longer has.
#[derive(Clone, Debug, PartialEq)]
pub struct Replanned {
    /// The new plan's tasks, in plan order.
    pub tasks: Vec<(TaskRecord, Fate)>,
    /// The tasks dropped, in the old plan's order.
    pub removed: Vec<String>,
}

impl Replanned {
    /// The ids of the tasks of `fate`, in plan order.
    pub fn ids(&self, fate: Fate) -> Vec<String> {
        self.tasks
            .iter()
            .filter(|(_, f)| *f == fate)
            .map(|(task, _)| task.key.task.clone())
            .collect()
    }

    /// Whether planning again changes nothing at all.
    pub fn is_unchanged(&self) -> bool {
        self.removed.is_empty() && self.tasks.iter().all(|(_, fate)| *fate == Fate::Kept)
    }
}

/// Decides the tasks of run `run` planned again as `new`, from its `old` plan and its tasks'
/// `records` as they are now (read in the same atomic step that writes the outcome). A task
/// some engine holds under a live lease is refused: its engine must stop first, or the
/// attempt's outcome would land on a task that no longer means the same.
pub fn replan(
    run: &str,
    old: &Plan,
    records: &[TaskRecord],
    new: &Plan,
    now: Millis,
) -> BackendResult<Replanned> {
    if let Some(busy) = records.iter().find(|task| {
        matches!(task.state, TaskState::Claimed | TaskState::Running)
            && task.lease_until.is_none_or(|until| until >= now)
    }) {
        return Err(BackendError::conflict(format!(
            "task `{}` of run `{run}` is {} (worker `{}`): stop the engine that runs it \
             (Ctrl-C, or `wfc cancel`), then plan again",
            busy.key.task,
            busy.state,
            busy.worker.as_deref().unwrap_or_default()
        )));
    }
    let old_specs: HashMap<&str, _> = old.tasks.iter().map(|t| (t.id.as_str(), t)).collect();
    let old_records: HashMap<&str, &TaskRecord> =
        records.iter().map(|t| (t.key.task.as_str(), t)).collect();
    // A loop's decision that made the next round decides again: the file plans the first
    // round only, so the rounds after it are made anew (or the loop ends) from the outputs
    // then, and what follows the loop waits for them.
    let made_next: HashSet<&str> = old
        .tasks
        .iter()
        .filter_map(|task| {
            let repeat = task.repeat.as_ref()?;
            let next = crate::plan::repeat::round_id(&repeat.name, repeat.round + 1);
            old_specs
                .contains_key(next.as_str())
                .then_some(task.id.as_str())
        })
        .collect();
    // A plan lists every task after the tasks it waits for, so one pass in order knows each
    // upstream task's fate before its dependents.
    let mut runs_again: HashSet<&str> = HashSet::new();
    let mut tasks = Vec::with_capacity(new.tasks.len());
    for spec in &new.tasks {
        let before = old_records.get(spec.id.as_str()).copied();
        let fate = match (old_specs.get(spec.id.as_str()), before) {
            (Some(old_spec), Some(_)) if *old_spec != spec => Fate::Changed,
            (Some(_), Some(_)) if spec.deps.iter().any(|d| runs_again.contains(d.as_str())) => {
                Fate::Downstream
            }
            (Some(_), Some(_)) if made_next.contains(spec.id.as_str()) => Fate::Again,
            (Some(_), Some(record))
                if record.state.satisfies_dependents() || record.state == TaskState::Waiting =>
            {
                Fate::Kept
            }
            (Some(_), Some(_)) => Fate::Again,
            _ => Fate::Added,
        };
        if fate != Fate::Kept {
            runs_again.insert(spec.id.as_str());
        }
        let record = match (fate, before) {
            (Fate::Kept, Some(record)) => record.clone(),
            // Attempt numbers go on, so no attempt's files or logs are overwritten; the
            // retry budget is the new spec's.
            (_, Some(record)) => {
                let mut record = record.clone();
                reset(
                    &mut record,
                    &TaskReset {
                        id: spec.id.clone(),
                        retry: spec.retry,
                        why: None,
                    },
                );
                record.started_at = None;
                record
            }
            (_, None) => TaskRecord::new(TaskKey::new(run, spec.id.clone()), spec.retry),
        };
        tasks.push((record, fate));
    }
    let kept: HashSet<&str> = new.tasks.iter().map(|t| t.id.as_str()).collect();
    let removed = old
        .tasks
        .iter()
        .filter(|t| !kept.contains(t.id.as_str()))
        .map(|t| t.id.clone())
        .collect();
    Ok(Replanned { tasks, removed })
}

/// `Ok` if `records` are one per task of `plan`, in its order: what a backend checks before it
/// stores what a `decide` step of `replan_run` gave it.
pub fn records_fit(plan: &Plan, records: &[TaskRecord]) -> BackendResult<()> {
    let fits = plan.tasks.len() == records.len()
        && plan
            .tasks
            .iter()
            .zip(records)
            .all(|(spec, record)| spec.id == record.key.task);
    if fits {
        Ok(())
    } else {
        Err(BackendError::conflict(
            "the tasks planned again do not match the new plan's tasks".to_string(),
        ))
    }
}
