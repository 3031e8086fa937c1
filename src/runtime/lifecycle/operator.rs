//! What operators do to tasks outside an attempt (`wfc retry`, `wfc done`, `wfc cancel`), and
//! what an interrupted attempt leaves behind.

use super::attempt::let_go;
use crate::runtime::backend::{BackendError, BackendResult};
use crate::runtime::model::{Millis, TaskRecord, TaskState};

/// Gives back a claim whose attempt was interrupted (its engine was stopped): the task is
/// pending again at once, the attempt keeps its number, and it uses up no retry (the next
/// attempt is one more than the task would otherwise have).
pub fn interrupt(task: &mut TaskRecord, reason: &str) {
    task.last_error = Some(interrupted_error(task.attempts, reason));
    task.state = TaskState::Pending;
    task.max_attempts = task.max_attempts.saturating_add(1);
    let_go(task);
}

/// The `last_error` of an attempt that was interrupted for `reason`, which
/// [`interruption`] reads back.
pub fn interrupted_error(attempt: u32, reason: &str) -> String {
    format!("attempt {attempt} was interrupted: {reason}")
}

/// Why the attempt whose `last_error` is `error` was interrupted, if it was interrupted
/// rather than failed.
pub fn interruption(error: &str) -> Option<&str> {
    let rest = error.strip_prefix("attempt ")?;
    let (number, reason) = rest.split_once(" was interrupted: ")?;
    number.parse::<u32>().ok()?;
    Some(reason)
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
    task.output = None;
    task.typed_output = None;
    let_go(task);
}

/// Whether `task` may be marked succeeded by hand (`wfc done`): one that is not
/// running and not waiting for a person's answer (which `wfc approve` gives), and has not
/// succeeded already.
pub fn may_mark_done(task: &TaskRecord) -> BackendResult<()> {
    let state = task.state;
    let refusal = match state {
        TaskState::Pending | TaskState::Failed | TaskState::Cancelled => return Ok(()),
        TaskState::Claimed | TaskState::Running => {
            format!("it is {state} now; stop its engine (or `wfc cancel` the run) first")
        }
        TaskState::Waiting => "it waits for a person's answer: `wfc approve` gives it".to_string(),
        TaskState::Succeeded | TaskState::Approved => format!("it is {state} already"),
        TaskState::Skipped => "it was skipped: its condition does not hold".to_string(),
        TaskState::Rejected => "it is a rejected gate: `wfc retry --from` asks again".to_string(),
    };
    Err(BackendError::conflict(format!(
        "task `{}` cannot be marked done: {refusal}",
        task.key.task
    )))
}

/// Marks `task` succeeded by hand with `result` (someone did its work outside wfc) and, for
/// a task with `output:`, the typed output read from it, if [`may_mark_done`] allows it.
pub fn mark_done(
    task: &mut TaskRecord,
    result: &str,
    typed_output: Option<&str>,
    now: Millis,
) -> BackendResult<()> {
    may_mark_done(task)?;
    task.state = TaskState::Succeeded;
    task.result = Some(result.to_string());
    task.output = None;
    task.typed_output = typed_output.map(str::to_string);
    task.last_error = None;
    task.finished_at = Some(now);
    let_go(task);
    Ok(())
}

/// Cancels `task` with its run (`wfc cancel`) if it has not ended; returns whether it changed.
pub fn cancel(task: &mut TaskRecord, now: Millis) -> bool {
    if task.state.is_final() {
        return false;
    }
    task.state = TaskState::Cancelled;
    task.finished_at = Some(now);
    let_go(task);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::TaskKey;

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
            output: None,
            typed_output: None,
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
            output: None,
            typed_output: None,
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
