//! An attempt's transitions: a worker claims a task under a lease, renews the lease, starts,
//! and ends the attempt by success, failure or interruption. Every one but the claim needs the
//! worker to hold the task, so a worker whose lease ran out (and whose task another worker
//! took over) can no longer change it.

use crate::runtime::backend::{BackendError, BackendResult};
use crate::runtime::model::{Claim, Millis, RunState, TaskRecord, TaskState};

/// What a transition needs to know besides the task's own record, read by the backend in the
/// same atomic step as the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskFacts {
    /// The state of the task's run: only a running run's tasks are claimed.
    pub run_state: RunState,
    /// Whether the task waits for a person (a gate).
    pub is_gate: bool,
    /// Whether every task it waits for succeeded. Backends read this only for a pending task,
    /// the one state where it matters (a claim), and pass `false` otherwise, so the other
    /// transitions cost no look at the dependencies.
    pub deps_done: bool,
    /// How many times the run's plan was replaced (`wfc resume --replan`), which a claim
    /// hands the engine, so an engine that keeps the plan knows when to read it again.
    pub plan_generation: u32,
}

/// Whether `worker` holds `task`: claimed or running under its lease.
pub fn holds(task: &TaskRecord, worker: &str) -> bool {
    task.worker.as_deref() == Some(worker)
        && matches!(task.state, TaskState::Claimed | TaskState::Running)
}

/// Whether a worker holds `task` under a lease that ended before `now`: its engine stopped
/// renewing it (it was killed, or lost its store), so the task may be taken over.
pub fn lease_expired(task: &TaskRecord, now: Millis) -> bool {
    matches!(task.state, TaskState::Claimed | TaskState::Running)
        && task.lease_until.is_some_and(|until| until < now)
}

/// Whether a worker may claim `task` at `now`: it is pending with every dependency done
/// (`deps_done`), or its holder's lease ended.
pub fn claimable(task: &TaskRecord, deps_done: bool, now: Millis) -> bool {
    (task.state == TaskState::Pending && deps_done) || lease_expired(task, now)
}

/// Claims `task` for `worker` until `now + lease`, if its run is running and the task is
/// [`claimable`]; `None` otherwise. The claim counts a new attempt; taking over an expired
/// lease records that the previous attempt was interrupted, which the next session is told.
pub fn claim(
    task: &mut TaskRecord,
    facts: &TaskFacts,
    worker: &str,
    now: Millis,
    lease: Millis,
) -> Option<Claim> {
    if facts.run_state != RunState::Running || !claimable(task, facts.deps_done, now) {
        return None;
    }
    let taken_over = lease_expired(task, now);
    // A worker never takes over its own claim: while its engine lives (and it is the one
    // claiming) the attempt is still running there, starved past its lease, or about to be
    // given back; a second attempt would run beside the first. A restarted engine is another
    // worker.
    if taken_over && task.worker.as_deref() == Some(worker) {
        return None;
    }
    if taken_over {
        let holder = task.worker.as_deref().unwrap_or_default();
        task.last_error = Some(super::interrupted_error(
            task.attempts,
            &format!("worker `{holder}` stopped renewing its lease"),
        ));
    }
    task.state = TaskState::Claimed;
    task.attempts = task.attempts.saturating_add(1);
    task.worker = Some(worker.to_string());
    task.lease_until = Some(now.saturating_add(lease));
    Some(Claim {
        attempt: task.attempts,
        previous_error: task.last_error.clone(),
        taken_over,
        plan_generation: facts.plan_generation,
    })
}

/// Extends `worker`'s lease on `task` to `now + lease`; `false` if the worker no longer holds
/// it (its lease ran out and another worker took the task over).
pub fn heartbeat(task: &mut TaskRecord, worker: &str, now: Millis, lease: Millis) -> bool {
    if !holds(task, worker) {
        return false;
    }
    task.lease_until = Some(now.saturating_add(lease));
    true
}

/// `Ok` if `worker` holds `task`, else the `Conflict` every attempt transition refuses with.
pub(super) fn require_held(task: &TaskRecord, worker: &str) -> BackendResult<()> {
    if holds(task, worker) {
        Ok(())
    } else {
        Err(BackendError::conflict(format!(
            "worker `{worker}` does not hold task `{}`",
            task.key.task
        )))
    }
}

/// Gives up the worker and its lease: the task is no longer anyone's.
pub(super) fn let_go(task: &mut TaskRecord) {
    task.worker = None;
    task.lease_until = None;
}

/// Marks the task `worker` holds as running since `now`.
pub fn start(task: &mut TaskRecord, worker: &str, now: Millis) -> BackendResult<()> {
    require_held(task, worker)?;
    task.state = TaskState::Running;
    task.started_at = Some(now);
    Ok(())
}

/// What a successful attempt leaves: its result, and what else it produced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Completion<'a> {
    /// The commit its work became, in a run isolated in git worktrees.
    pub commit: Option<&'a str>,
    /// The JSON of its typed output, checked against its `output:` type.
    pub typed_output: Option<&'a str>,
}

/// Marks the task `worker` holds as succeeded with `result`, and what else `done` says it
/// produced (the commit its work became, its typed output): all in the one transition, so a
/// task never succeeds without them nor has them without succeeding.
pub fn complete(
    task: &mut TaskRecord,
    worker: &str,
    result: &str,
    done: Completion<'_>,
    now: Millis,
) -> BackendResult<()> {
    require_held(task, worker)?;
    task.state = TaskState::Succeeded;
    task.result = Some(result.to_string());
    task.output = done.commit.map(str::to_string);
    task.typed_output = done.typed_output.map(str::to_string);
    task.finished_at = Some(now);
    let_go(task);
    Ok(())
}

/// Records a failed attempt of the task `worker` holds: pending again for another attempt
/// when `retry` is asked and attempts remain (returns `true`), otherwise failed for good.
pub fn fail(
    task: &mut TaskRecord,
    worker: &str,
    error: &str,
    retry: bool,
    now: Millis,
) -> BackendResult<bool> {
    require_held(task, worker)?;
    let again = retry && task.attempts < task.max_attempts;
    task.last_error = Some(error.to_string());
    if again {
        task.state = TaskState::Pending;
    } else {
        task.state = TaskState::Failed;
        task.finished_at = Some(now);
    }
    let_go(task);
    Ok(again)
}

/// Gives back the claim `worker` holds because its attempt was interrupted (its engine was
/// stopped), as [`interrupt`](super::interrupt) says: pending again at once, no retry used.
pub fn release(task: &mut TaskRecord, worker: &str, reason: &str) -> BackendResult<()> {
    require_held(task, worker)?;
    super::interrupt(task, reason);
    Ok(())
}

/// Gives back a claim `worker` made on `task` and did not start on, as if it had not been
/// made: the attempt is not counted and the task is pending again. An engine does this when
/// another engine took the last place of the task's pool first.
pub fn unclaim(task: &mut TaskRecord, worker: &str) -> BackendResult<()> {
    require_held(task, worker)?;
    if task.state != TaskState::Claimed {
        return Err(BackendError::conflict(format!(
            "task `{}` is {}: only a claim not yet started can be given back uncounted",
            task.key.task, task.state
        )));
    }
    task.attempts = task.attempts.saturating_sub(1);
    task.state = TaskState::Pending;
    let_go(task);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::task_in;
    use super::*;

    fn facts(deps_done: bool) -> TaskFacts {
        TaskFacts {
            run_state: RunState::Running,
            is_gate: false,
            deps_done,
            plan_generation: 0,
        }
    }

    #[test]
    fn a_pending_task_is_claimed_once_its_dependencies_are_done_and_its_run_runs() {
        let mut task = task_in(TaskState::Pending);
        assert_eq!(claim(&mut task, &facts(false), "w", 10, 5), None);
        let stopped = TaskFacts {
            run_state: RunState::Cancelled,
            ..facts(true)
        };
        assert_eq!(claim(&mut task, &stopped, "w", 10, 5), None);
        let claimed = claim(&mut task, &facts(true), "w", 10, 5).expect("claimed");
        assert_eq!((claimed.attempt, claimed.taken_over), (1, false));
        assert_eq!(
            (task.state, task.worker.as_deref(), task.lease_until),
            (TaskState::Claimed, Some("w"), Some(15))
        );
        // Held under a live lease: nobody else gets it.
        assert_eq!(claim(&mut task, &facts(false), "v", 15, 5), None);
    }

    #[test]
    fn an_expired_lease_is_taken_over_and_the_next_attempt_is_told() {
        let mut task = task_in(TaskState::Pending);
        claim(&mut task, &facts(true), "w", 10, 5).expect("claimed");
        start(&mut task, "w", 11).expect("started");
        let taken = claim(&mut task, &facts(false), "v", 16, 5).expect("taken over");
        assert!(taken.taken_over);
        assert_eq!(taken.attempt, 2);
        assert_eq!(
            taken.previous_error.as_deref(),
            Some("attempt 1 was interrupted: worker `w` stopped renewing its lease")
        );
        // The old holder can change it no more.
        assert!(!heartbeat(&mut task, "w", 17, 5));
        let refused =
            complete(&mut task, "w", "late", Completion::default(), 17).expect_err("not held");
        assert_eq!(refused.message, "worker `w` does not hold task `t`");
        assert!(heartbeat(&mut task, "v", 17, 5));
        assert_eq!(task.lease_until, Some(22));
    }

    #[test]
    fn a_worker_does_not_take_over_its_own_claim() {
        let mut task = task_in(TaskState::Pending);
        claim(&mut task, &facts(true), "w", 10, 5).expect("claimed");
        start(&mut task, "w", 11).expect("started");
        // Past the lease, the same worker (its engine starved) claims nothing; another does.
        assert_eq!(claim(&mut task, &facts(false), "w", 16, 5), None);
        assert_eq!((task.attempts, task.state), (1, TaskState::Running));
        assert!(claim(&mut task, &facts(false), "v", 16, 5).is_some());
    }

    #[test]
    fn a_failure_retries_while_attempts_remain_then_fails_for_good() {
        let mut task = task_in(TaskState::Pending);
        task.max_attempts = 2;
        claim(&mut task, &facts(true), "w", 1, 5).expect("claimed");
        assert!(fail(&mut task, "w", "exit 1", true, 2).expect("held"));
        assert_eq!((task.state, task.finished_at), (TaskState::Pending, None));
        claim(&mut task, &facts(true), "w", 3, 5).expect("claimed again");
        assert!(!fail(&mut task, "w", "exit 2", true, 4).expect("held"));
        assert_eq!(
            (task.state, task.finished_at, task.last_error.as_deref()),
            (TaskState::Failed, Some(4), Some("exit 2"))
        );
        assert_eq!(task.worker, None);
        // A failure that must not retry (a verify the task cannot fix) ends it at once.
        let mut once = task_in(TaskState::Pending);
        once.max_attempts = 3;
        claim(&mut once, &facts(true), "w", 1, 5).expect("claimed");
        assert!(!fail(&mut once, "w", "no", false, 2).expect("held"));
        assert_eq!(once.state, TaskState::Failed);
    }
}
