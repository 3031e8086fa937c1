//! What outcome conditions and run-time `when`s do to a run's tasks (GRAMMAR.md, "Outcome
//! conditions"): a task whose condition does not hold is skipped, and a task that waits for
//! an upstream's failure stops waiting for its success once that upstream can never succeed.

use super::attempt::{let_go, require_held};
use crate::plan::condition::Ended;
use crate::plan::Plan;
use crate::runtime::backend::BackendResult;
use crate::runtime::model::{Millis, TaskRecord, TaskState};
use std::collections::{HashMap, HashSet};

/// Skips the task `worker` holds (claimed, not started): its condition does not hold,
/// `why` says which. The claim is no attempt, so it is not counted. A skipped task counts as
/// done for the tasks that wait for it.
pub fn skip(task: &mut TaskRecord, worker: &str, why: &str, now: Millis) -> BackendResult<()> {
    require_held(task, worker)?;
    task.attempts = task.attempts.saturating_sub(1);
    task.state = TaskState::Skipped;
    task.result = Some(why.to_string());
    task.finished_at = Some(now);
    let_go(task);
    Ok(())
}

/// How a task in `state` ended, for an outcome condition on it, once the task that waits is
/// claimed: every upstream it still waits for is done then, and one it no longer waits for
/// was let go of by [`resolve_outcomes`] because it can never succeed.
pub fn ended_at_claim(state: TaskState) -> Ended {
    if state.satisfies_dependents() {
        Ended::Done
    } else {
        Ended::NotDone
    }
}

/// The plan `plan` with every edge of an outcome condition whose upstream can never succeed
/// (it failed, was rejected or cancelled, or waits, through edges that need success, for
/// one that did) dropped from the waiting task's `deps`, so it becomes ready; `None` when
/// no such edge is left. The condition itself stays in the task's `outcomes`.
pub fn resolve_outcomes(plan: &Plan, records: &[TaskRecord]) -> Option<Plan> {
    if plan.tasks.iter().all(|t| t.outcomes.is_empty()) {
        return None;
    }
    let states: HashMap<&str, TaskState> = records
        .iter()
        .map(|r| (r.key.task.as_str(), r.state))
        .collect();
    // Passes until nothing changes, so the order of the plan's tasks does not matter (an
    // expanded fan-out's instances come after the tasks that wait for them).
    let mut doomed: HashSet<&str> = HashSet::new();
    loop {
        let before = doomed.len();
        for task in &plan.tasks {
            let state = states.get(task.id.as_str()).copied();
            let failed = matches!(
                state,
                Some(TaskState::Failed | TaskState::Rejected | TaskState::Cancelled)
            );
            let waits_for_doomed = state == Some(TaskState::Pending)
                && task
                    .deps
                    .iter()
                    .filter(|dep| !task.outcomes.iter().any(|o| &o.task == *dep))
                    .any(|dep| doomed.contains(dep.as_str()));
            if failed || waits_for_doomed {
                doomed.insert(task.id.as_str());
            }
        }
        if doomed.len() == before {
            break;
        }
    }
    let mut resolved = plan.clone();
    let mut changed = false;
    for task in &mut resolved.tasks {
        if states.get(task.id.as_str()) != Some(&TaskState::Pending) {
            continue;
        }
        let before = task.deps.len();
        let outcomes = &task.outcomes;
        task.deps.retain(|dep| {
            !(doomed.contains(dep.as_str()) && outcomes.iter().any(|o| &o.task == dep))
        });
        changed |= task.deps.len() != before;
    }
    changed.then_some(resolved)
}
