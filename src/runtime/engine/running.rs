//! The tasks an engine is running, one a slot, shared by its loop and its attempts.
//!
//! The loop fills free slots with the tasks its looks claim. An attempt whose success claimed
//! the next task of its chain (`chain`) runs that task itself, in its slot, when every slot
//! is taken: the loop would only have handed the claim on (no look needs a free slot), and
//! waking it for each task of a chain cost the loop's thread and the worker it woke a switch
//! each (2,700 of the 9,200 context switches of a run of 2,000 no-op tasks,
//! docs/performance.md). With a slot free the attempt ends and the loop hands the claim on
//! and looks, as the success may have let other tasks go.

use crate::runtime::TaskKey;
use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The keys of the tasks running, at most `jobs` of them.
pub(super) struct Running {
    jobs: usize,
    keys: Mutex<HashSet<TaskKey>>,
}

impl Running {
    pub(super) fn new(jobs: usize) -> Self {
        Running {
            jobs: jobs.max(1),
            keys: Mutex::new(HashSet::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashSet<TaskKey>> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many slots are free.
    pub(super) fn free(&self) -> usize {
        self.jobs - self.lock().len().min(self.jobs)
    }

    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    pub(super) fn contains(&self, key: &TaskKey) -> bool {
        self.lock().contains(key)
    }

    pub(super) fn insert(&self, key: TaskKey) {
        self.lock().insert(key);
    }

    pub(super) fn remove(&self, key: &TaskKey) {
        self.lock().remove(key);
    }

    /// Gives the slot of `done` to `next`, the task its success claimed, if every slot is
    /// taken; returns whether it did (if not, `done` keeps its slot until the loop frees it).
    pub(super) fn pass_on(&self, done: &TaskKey, next: &TaskKey) -> bool {
        let mut keys = self.lock();
        if keys.len() < self.jobs {
            return false;
        }
        keys.remove(done);
        keys.insert(next.clone());
        true
    }

    /// Empties the slots, returning the tasks that were in them.
    pub(super) fn take_all(&self) -> HashSet<TaskKey> {
        std::mem::take(&mut *self.lock())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(task: &str) -> TaskKey {
        TaskKey::new("r".to_string(), task.to_string())
    }

    #[test]
    fn a_slot_passes_to_the_next_task_only_when_none_is_free() {
        let running = Running::new(2);
        running.insert(key("a"));
        assert_eq!(running.free(), 1);
        assert!(!running.pass_on(&key("a"), &key("b")));
        assert!(running.contains(&key("a")) && !running.contains(&key("b")));
        running.insert(key("c"));
        assert_eq!(running.free(), 0);
        assert!(running.pass_on(&key("a"), &key("b")));
        assert!(!running.contains(&key("a")) && running.contains(&key("b")));
        assert_eq!(running.len(), 2);
        let all = running.take_all();
        assert_eq!(all, HashSet::from([key("b"), key("c")]));
        assert!(running.is_empty());
    }
}
