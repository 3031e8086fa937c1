//! A gate's transitions: a worker that claims a gate puts it in `waiting` and lets it go; a
//! person's answer (`wfc approve`, `wfc reject`) ends it.
//!
//! A task waits the same way when a person must resolve the conflict between the work of the
//! tasks it waits for (`on_conflict = "human"`): its wait uses up no attempt, and the answer
//! does not end it: approved, it is pending again, to go on from the person's resolution;
//! rejected, it fails.

use super::attempt::{holds, let_go, TaskFacts};
use crate::runtime::backend::{BackendError, BackendResult};
use crate::runtime::model::{Millis, TaskRecord, TaskState};

/// Moves the gate `worker` holds to `waiting` for a person, releasing the worker; a task that
/// is not a gate waits for a person to resolve a conflict, and its attempt is not counted.
pub fn wait_gate(
    task: &mut TaskRecord,
    facts: &TaskFacts,
    worker: &str,
    now: Millis,
) -> BackendResult<()> {
    if !holds(task, worker) {
        return Err(BackendError::conflict(format!(
            "worker `{worker}` does not hold task `{}`",
            task.key.task
        )));
    }
    if !facts.is_gate {
        task.attempts = task.attempts.saturating_sub(1);
    }
    task.state = TaskState::Waiting;
    task.started_at = Some(now);
    let_go(task);
    Ok(())
}

/// Answers a waiting gate: `approved` with `reason` as its result, or `rejected` with it as
/// the error the tasks retried before it are told. A waiting task that is not a gate is
/// pending again when approved, and failed when rejected.
pub fn answer_gate(
    task: &mut TaskRecord,
    facts: &TaskFacts,
    approve: bool,
    reason: &str,
    now: Millis,
) -> BackendResult<()> {
    if task.state != TaskState::Waiting {
        return Err(BackendError::conflict(format!(
            "gate `{}` is {}, not waiting",
            task.key.task, task.state
        )));
    }
    if !facts.is_gate {
        if approve {
            task.state = TaskState::Pending;
        } else {
            task.state = TaskState::Failed;
            task.last_error = Some(format!("a person rejected it: {reason}"));
            task.finished_at = Some(now);
        }
        return Ok(());
    }
    if approve {
        task.state = TaskState::Approved;
        task.result = Some(reason.to_string());
    } else {
        task.state = TaskState::Rejected;
        task.last_error = Some(reason.to_string());
    }
    task.finished_at = Some(now);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{claim, task_in};
    use super::*;
    use crate::runtime::model::RunState;

    #[test]
    fn a_gate_waits_once_and_is_answered_once() {
        let gate = TaskFacts {
            run_state: RunState::Running,
            is_gate: true,
            deps_done: true,
            plan_generation: 0,
        };
        let mut task = task_in(TaskState::Pending);
        claim(&mut task, &gate, "w", 1, 5).expect("claimed");
        assert!(wait_gate(&mut task.clone(), &gate, "v", 2).is_err());
        wait_gate(&mut task, &gate, "w", 2).expect("waits");
        assert_eq!(
            (task.state, task.worker.as_deref()),
            (TaskState::Waiting, None)
        );
        answer_gate(&mut task, &gate, false, "no tests", 3).expect("answered");
        assert_eq!(task.last_error.as_deref(), Some("no tests"));
        let twice = answer_gate(&mut task, &gate, true, "yes", 4).expect_err("answered already");
        assert_eq!(twice.message, "gate `t` is rejected, not waiting");
    }

    #[test]
    fn a_task_waiting_for_a_resolution_uses_no_attempt_and_goes_on_when_approved() {
        let facts = TaskFacts {
            run_state: RunState::Running,
            is_gate: false,
            deps_done: true,
            plan_generation: 0,
        };
        let mut task = task_in(TaskState::Pending);
        claim(&mut task, &facts, "w", 1, 5).expect("claimed");
        wait_gate(&mut task, &facts, "w", 2).expect("waits");
        assert_eq!((task.state, task.attempts), (TaskState::Waiting, 0));
        let mut rejected = task.clone();
        answer_gate(&mut task, &facts, true, "", 3).expect("approved");
        assert_eq!((task.state, task.finished_at), (TaskState::Pending, None));
        let again = claim(&mut task, &facts, "w", 4, 5).expect("claimed again");
        assert_eq!(again.attempt, 1);
        answer_gate(&mut rejected, &facts, false, "not now", 3).expect("rejected");
        assert_eq!(rejected.state, TaskState::Failed);
        assert_eq!(
            rejected.last_error.as_deref(),
            Some("a person rejected it: not now")
        );
    }
}
