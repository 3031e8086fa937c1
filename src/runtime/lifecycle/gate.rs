//! A gate's transitions: a worker that claims a gate puts it in `waiting` and lets it go; a
//! person's answer (`wfc approve`, `wfc reject`) ends it.

use super::attempt::{holds, let_go, TaskFacts};
use crate::runtime::backend::{BackendError, BackendResult};
use crate::runtime::model::{Millis, TaskRecord, TaskState};

fn require_gate(task: &TaskRecord, facts: &TaskFacts) -> BackendResult<()> {
    if facts.is_gate {
        Ok(())
    } else {
        Err(BackendError::conflict(format!(
            "`{}` is not a gate",
            task.key.task
        )))
    }
}

/// Moves the gate `worker` holds to `waiting` for a person, releasing the worker.
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
    require_gate(task, facts)?;
    task.state = TaskState::Waiting;
    task.started_at = Some(now);
    let_go(task);
    Ok(())
}

/// Answers a waiting gate: `approved` with `reason` as its result, or `rejected` with it as
/// the error the tasks retried before it are told.
pub fn answer_gate(
    task: &mut TaskRecord,
    facts: &TaskFacts,
    approve: bool,
    reason: &str,
    now: Millis,
) -> BackendResult<()> {
    require_gate(task, facts)?;
    if task.state != TaskState::Waiting {
        return Err(BackendError::conflict(format!(
            "gate `{}` is {}, not waiting",
            task.key.task, task.state
        )));
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
        let plain = TaskFacts {
            is_gate: false,
            ..gate
        };
        assert!(wait_gate(&mut task.clone(), &plain, "w", 2).is_err());
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
}
