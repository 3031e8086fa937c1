//! When a run is over: the rule `settle_run` applies in the transaction that decides it.

use crate::runtime::model::{RunState, TaskState};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
