//! The rules of a run's lifecycle that every backend applies the same way, as plain functions
//! over what the backend reads inside its own atomic step: when a run is over, and what an
//! interrupted attempt leaves behind. Backends store; these decide.

use super::model::{RunState, TaskRecord, TaskState};

/// What a backend reads about a run's tasks, inside the transaction that may end the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunProgress {
    /// A task is claimed, running or waiting for a person: something is still happening.
    pub any_active: bool,
    /// A pending task has every dependency done: it can start now.
    pub any_ready: bool,
    /// Every task succeeded (or is an approved gate).
    pub all_succeeded: bool,
}

/// The state a running run ends in now, or `None` while it goes on. A run is never failed
/// while a task runs or can still start; once neither is true, what is left pending waits
/// for something that failed, and the run has failed.
pub fn settled_state(progress: RunProgress) -> Option<RunState> {
    if progress.any_active || progress.any_ready {
        None
    } else if progress.all_succeeded {
        Some(RunState::Succeeded)
    } else {
        Some(RunState::Failed)
    }
}

/// The progress of a run whose tasks' states (and whether each one's dependencies are done)
/// are at hand: what the memory and beads backends, which hold a run's tasks together, pass
/// to [`settled_state`].
pub fn progress_of(tasks: impl IntoIterator<Item = (TaskState, bool)>) -> RunProgress {
    let mut progress = RunProgress {
        any_active: false,
        any_ready: false,
        all_succeeded: true,
    };
    for (state, deps_done) in tasks {
        progress.any_active |= matches!(
            state,
            TaskState::Claimed | TaskState::Running | TaskState::Waiting
        );
        progress.any_ready |= state == TaskState::Pending && deps_done;
        progress.all_succeeded &= state.satisfies_dependents();
    }
    progress
}

/// Gives back a claim whose attempt was interrupted (its engine was stopped): the task is
/// pending again at once, the attempt keeps its number, and it uses up no retry (the next
/// attempt is one more than the task would otherwise have).
pub fn interrupt(task: &mut TaskRecord, reason: &str) {
    task.last_error = Some(format!(
        "attempt {} was interrupted: {reason}",
        task.attempts
    ));
    task.state = TaskState::Pending;
    task.max_attempts = task.max_attempts.saturating_add(1);
    task.worker = None;
    task.lease_until = None;
}

/// A task `wfc retry` puts back to run: which, how many more attempts it gets (its `retry`
/// plus one, as when it was new), and why it runs again (an operator's note, a person's
/// rejection downstream), which its next attempt is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskReset {
    /// The task's id.
    pub id: String,
    /// The task's `retry`: extra attempts after a failure.
    pub retry: u32,
    /// Why it runs again, if a person said.
    pub why: Option<String>,
}

/// Puts `task` back to pending for `reset`. Attempt numbers go on from where they were (the
/// next attempt is one more than the last; its files and logs never overwrite an earlier
/// attempt's), and the task gets its whole retry budget again. Its next attempt is told
/// why: the person's words, then how the last attempt ended if it failed.
pub fn reset(task: &mut TaskRecord, reset: &TaskReset) {
    let failed = task.attempts > 0 && !task.state.satisfies_dependents();
    let last = task.last_error.take().filter(|_| failed);
    task.last_error = match (&reset.why, last) {
        (Some(why), Some(last)) => Some(format!(
            "{why}\n\nAttempt {} had failed: {last}",
            task.attempts
        )),
        (Some(why), None) => Some(why.clone()),
        (None, last) => last,
    };
    task.state = TaskState::Pending;
    task.max_attempts = task.attempts.saturating_add(reset.retry).saturating_add(1);
    task.finished_at = None;
    task.result = None;
    task.worker = None;
    task.lease_until = None;
}

/// Whether a task in `state` may be marked succeeded by hand (`wfc done`): one that is not
/// running and not waiting for a person's answer (which `wfc approve` gives), and has not
/// succeeded already.
pub fn may_mark_done(state: TaskState) -> Result<(), String> {
    match state {
        TaskState::Pending | TaskState::Failed | TaskState::Cancelled => Ok(()),
        TaskState::Claimed | TaskState::Running => Err(format!(
            "it is {state} now; stop its engine (or `wfc cancel` the run) first"
        )),
        TaskState::Waiting => {
            Err("it waits for a person's answer: `wfc approve` gives it".to_string())
        }
        TaskState::Succeeded | TaskState::Approved => Err(format!("it is {state} already")),
        TaskState::Rejected => {
            Err("it is a rejected gate: `wfc retry --from` asks again".to_string())
        }
    }
}

/// Marks `task` succeeded by hand with `result` (someone did its work outside wfc), if
/// [`may_mark_done`] allows it.
pub fn mark_done(task: &mut TaskRecord, result: &str, now: super::Millis) -> Result<(), String> {
    may_mark_done(task.state)?;
    task.state = TaskState::Succeeded;
    task.result = Some(result.to_string());
    task.last_error = None;
    task.finished_at = Some(now);
    task.worker = None;
    task.lease_until = None;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::TaskKey;

    #[test]
    fn a_run_ends_only_when_nothing_runs_and_nothing_can_start() {
        use TaskState::*;
        let settle = |tasks: &[(TaskState, bool)]| settled_state(progress_of(tasks.to_vec()));
        assert_eq!(
            settle(&[(Succeeded, true), (Approved, true)]),
            Some(RunState::Succeeded)
        );
        // A failure with a task still running, or one that can start: not over.
        assert_eq!(settle(&[(Failed, true), (Running, true)]), None);
        assert_eq!(settle(&[(Failed, true), (Pending, true)]), None);
        assert_eq!(settle(&[(Failed, true), (Waiting, true)]), None);
        // What is left waits for the failure: failed.
        assert_eq!(
            settle(&[(Failed, true), (Pending, false)]),
            Some(RunState::Failed)
        );
        assert_eq!(settle(&[(Rejected, true)]), Some(RunState::Failed));
    }

    #[test]
    fn a_reset_task_goes_on_counting_and_is_told_why() {
        let mut task = TaskRecord {
            key: TaskKey::new("r", "t"),
            state: TaskState::Failed,
            attempts: 2,
            max_attempts: 2,
            worker: None,
            lease_until: None,
            started_at: Some(1),
            finished_at: Some(5),
            result: None,
            last_error: Some("exit 1".into()),
        };
        let why = TaskReset {
            id: "t".into(),
            retry: 1,
            why: Some("note: use the v2 API".into()),
        };
        reset(&mut task, &why);
        assert_eq!(
            (task.state, task.attempts, task.max_attempts),
            (TaskState::Pending, 2, 4)
        );
        assert_eq!(
            task.last_error.as_deref(),
            Some("note: use the v2 API\n\nAttempt 2 had failed: exit 1")
        );
        // A task that had succeeded keeps no stale error, and needs no reason.
        let mut done = task.clone();
        done.state = TaskState::Succeeded;
        done.last_error = Some("an old failure".into());
        reset(&mut done, &TaskReset { why: None, ..why });
        assert_eq!(done.last_error, None);
    }

    #[test]
    fn an_interrupted_attempt_uses_up_no_retry() {
        let mut task = TaskRecord {
            key: TaskKey::new("r", "t"),
            state: TaskState::Running,
            attempts: 2,
            max_attempts: 2,
            worker: Some("w".into()),
            lease_until: Some(10),
            started_at: Some(1),
            finished_at: None,
            result: None,
            last_error: None,
        };
        interrupt(&mut task, "the engine was stopped");
        assert_eq!(task.state, TaskState::Pending);
        assert_eq!((task.attempts, task.max_attempts), (2, 3));
        assert_eq!(task.worker, None);
        assert_eq!(
            task.last_error.as_deref(),
            Some("attempt 2 was interrupted: the engine was stopped")
        );
    }
}
