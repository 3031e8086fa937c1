//! Chained claims: when a task succeeds, the store's step that records its success also
//! claims, for the engine that ran it, a command task that success let go (the next task of a
//! chain), as `make` goes on down a chain. The claim is as durable as any other, but it needs
//! no look for ready tasks and no commit of its own: a chain costs one commit a task (the
//! success joined with the next claim, and with the task's start when the task took less
//! than the start's delay, see `attempt_start`), not three (docs/performance.md).
//!
//! The engine's own order is kept: it chains only while no ready task it saw at its last look
//! waits ahead of the one it would chain (a more urgent priority, or another run's), and only tasks
//! it would have claimed at a look anyway — command tasks it serves, of a run it can reach.
//! Agent tasks, gates and tasks of a pool are claimed at a look, where their budget, pool and
//! limits are read.

use super::*;
use std::sync::PoisonError;

/// What the engine keeps to decide whether to chain, and to give back a chained claim its
/// loop never took (the engine was stopped while the step that made it ran).
#[derive(Default)]
pub(super) struct Chaining {
    /// The first ready task the engine's last look saw and left for lack of a free slot:
    /// `None` when that look took every ready task it saw.
    waiting: Mutex<Option<Waiting>>,
    /// The chained claims the engine's loop has not taken yet, each with the task whose
    /// success made it.
    unhanded: Mutex<HashMap<TaskKey, ChainedBy>>,
    /// Held for reading by each step that may chain a claim, until its claim is recorded in
    /// `unhanded`; a stopping engine takes it for writing to wait for them all.
    in_flight: Arc<tokio::sync::RwLock<()>>,
}

/// The task whose success made a chained claim, and the claim's attempt.
struct ChainedBy {
    task: TaskKey,
    attempt: u32,
}

/// A ready task an engine's look left waiting.
#[derive(Clone, Debug)]
pub(super) struct Waiting {
    run: String,
    priority: u8,
}

impl Waiting {
    /// Whether a task of `run` with `priority` may be chained ahead of this one: a look
    /// would have listed it first (a more urgent priority, which is a smaller number, or the
    /// same priority in the same run, where nothing orders a chain's next task after a task
    /// the look left).
    fn lets_through(&self, run: &str, priority: u8) -> bool {
        priority < self.priority || (priority == self.priority && run == self.run)
    }
}

impl Engine {
    /// Records the first ready task the last look left waiting (`None`: it left none).
    pub(super) fn note_waiting(&self, left: Option<(&TaskKey, u8)>) {
        *self
            .chaining
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = left.map(|(key, priority)| Waiting {
            run: key.run.clone(),
            priority,
        });
    }

    /// The tasks waiting for `key` this engine may claim the moment `key` succeeds, in the
    /// plan's order: none if the engine may not chain now.
    fn chain_candidates(&self, info: &RunInfo, key: &TaskKey) -> Vec<TaskKey> {
        if info.workspace.is_err() || self.remote_paused(&key.run) {
            return Vec::new();
        }
        let waiting = self
            .chaining
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        info.dependants(&key.task)
            .filter(|spec| matches!(spec.action, Action::Command { .. }))
            .filter(|spec| self.config.serves.task(spec))
            .filter(|spec| {
                waiting
                    .as_ref()
                    .is_none_or(|waiting| waiting.lets_through(&key.run, spec.priority))
            })
            .map(|spec| TaskKey::new(key.run.clone(), spec.id.clone()))
            .filter(|next| !self.resolves_conflict(next))
            .collect()
    }

    /// Records the success of `key` (as `finish_task` does) and claims a task it let go for
    /// this engine in the same step of the store, if it may ([`Engine::chain_candidates`]).
    /// Returns the task claimed, which the engine's loop takes as if its look had claimed it.
    pub(super) async fn finish_and_chain(
        &self,
        info: &RunInfo,
        key: &TaskKey,
        result: String,
        done: (Option<String>, Option<String>),
        start: &Arc<AttemptStart>,
    ) -> Result<Option<(TaskKey, Claim)>, EngineError> {
        let next = self.chain_candidates(info, key);
        let (k, w) = (key.clone(), self.config.worker.clone());
        let lease = self.config.lease.as_millis() as Millis;
        let guard = Arc::clone(&self.chaining.in_flight).read_owned().await;
        let chaining = Arc::clone(&self.chaining);
        let start = Arc::clone(start);
        self.call_hot(move |b| {
            let (commit, typed_output) = done;
            let done = crate::runtime::lifecycle::Completion {
                commit: commit.as_deref(),
                typed_output: typed_output.as_deref(),
            };
            let claimed = start.with_success(|started| {
                b.finish_task_and_claim(&k, &w, &result, done, now_millis(), &next, lease, started)
            })?;
            // Recorded before the guard goes, whether or not the attempt that asked is still
            // there to hand it on: a stopping engine gives back what its loop never took.
            if let Some((next, claim)) = &claimed {
                let by = ChainedBy {
                    task: k.clone(),
                    attempt: claim.attempt,
                };
                chaining
                    .unhanded
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(next.clone(), by);
            }
            drop(guard);
            Ok(claimed)
        })
        .await
    }

    /// Whether `key` is a chained claim of this engine that its loop has not taken yet.
    pub(super) fn is_unhanded(&self, key: &TaskKey) -> bool {
        self.chaining
            .unhanded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(key)
    }

    /// Marks the chained claim of `key` as taken by the engine's loop.
    pub(super) fn hand_over(&self, key: &TaskKey) {
        self.chaining
            .unhanded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    /// Waits for every step that may still chain a claim, then returns the chained claims
    /// the engine's loop never took: a stopping engine gives them back with its others.
    pub(super) async fn unhanded_claims(&self) -> Vec<TaskKey> {
        let _all = self.chaining.in_flight.write().await;
        self.chaining
            .unhanded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .map(|(key, _)| key)
            .collect()
    }

    /// Takes out the chained claims the success of `task` made that its attempt never
    /// handed on (it panicked after the success), with their attempts: no one else would
    /// run them, as no engine takes over its own claim.
    pub(super) fn orphaned_by(&self, task: &TaskKey) -> Vec<(TaskKey, u32)> {
        let mut orphans = Vec::new();
        self.chaining
            .unhanded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|key, by| {
                let orphan = by.task == *task;
                if orphan {
                    orphans.push((key.clone(), by.attempt));
                }
                !orphan
            });
        orphans
    }
}
