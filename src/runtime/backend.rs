//! The TaskBackend port (ARCHITECTURE.md "Ports"): everything the engine stores goes through
//! it, so SQLite, memory, beads and Postgres are interchangeable.
//!
//! The port is synchronous on purpose: every real backend does blocking I/O (a SQLite file,
//! a `bd` process, a Postgres socket through a blocking client), and the engine calls it
//! from `tokio::task::spawn_blocking`. Each method that changes state is one atomic write, so
//! a crash between two calls loses nothing that was committed.

use super::lifecycle::{self, TaskFacts, TaskReset};
use super::model::*;
use crate::plan::{Plan, TaskSpec};
use std::fmt;

/// Why a backend operation failed, with what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendError {
    /// What kind of failure.
    pub kind: BackendErrorKind,
    /// What failed, naming the store and the operation.
    pub message: String,
    /// What the user can do, if anything.
    pub hint: Option<String>,
}

/// The kinds of backend failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendErrorKind {
    /// The run or task does not exist.
    NotFound,
    /// The operation does not fit the current state (a worker that lost its lease, a gate
    /// answered twice, a run created twice).
    Conflict,
    /// The store could not be read or written.
    Storage,
}

impl BackendError {
    /// A `NotFound` error.
    pub fn not_found(message: impl Into<String>) -> Self {
        BackendError {
            kind: BackendErrorKind::NotFound,
            message: message.into(),
            hint: None,
        }
    }

    /// A `Conflict` error.
    pub fn conflict(message: impl Into<String>) -> Self {
        BackendError {
            kind: BackendErrorKind::Conflict,
            message: message.into(),
            hint: None,
        }
    }

    /// A `Storage` error with a hint.
    pub fn storage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        BackendError {
            kind: BackendErrorKind::Storage,
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for BackendError {}

/// The result of a backend operation.
pub type BackendResult<T> = Result<T, BackendError>;

/// The start of an attempt written with its success: when its first process started, and
/// the events that go with it (the run's queued ones, then the record of that process).
pub type StartWithSuccess<'a> = Option<(Millis, &'a [NewEvent])>;

/// A new event for a run's log.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    /// When it happened.
    pub at: Millis,
    /// What happened.
    pub kind: String,
    /// The task it concerns, if any.
    pub task: Option<String>,
    /// Details, already free of secrets.
    pub data: serde_json::Value,
}

/// The rule [`TaskBackend::update_task`] applies to a task's record and its facts: returns
/// whether it changed the record (to be written back).
pub type TaskChange<'a> = dyn FnMut(&mut TaskRecord, &TaskFacts) -> BackendResult<bool> + 'a;

/// What [`TaskBackend::end_run_if_over`] found: the run's state after it, and whether this
/// call ended the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunSettled {
    pub state: RunState,
    pub ended_now: bool,
}

impl RunSettled {
    /// A run this call did not end, in `state`.
    pub fn as_it_was(state: RunState) -> Self {
        RunSettled {
            state,
            ended_now: false,
        }
    }

    /// A run this call ended, in `state`.
    pub fn ended(state: RunState) -> Self {
        RunSettled {
            state,
            ended_now: true,
        }
    }
}

/// The decision [`TaskBackend::replan_run`] applies to a run and its tasks as they are inside
/// its atomic step: one record per task of the new plan, in its order.
pub type ReplanDecision<'a> =
    dyn FnMut(&RunRecord, &[TaskRecord]) -> BackendResult<Vec<TaskRecord>> + 'a;

/// A store of runs, tasks and events.
pub trait TaskBackend: Send + Sync {
    /// Stores a new run with its plan snapshot, where it works, and no tasks yet.
    fn create_run(
        &self,
        id: &str,
        plan: &Plan,
        place: Option<&RunPlace>,
        now: Millis,
    ) -> BackendResult<()>;

    /// Creates run `id` with every task of `plan` and their dependencies, in one atomic step
    /// where the store can: no engine ever sees the run without its tasks (a worker would find
    /// nothing to do in it, and could end it as over before its tasks exist). The default
    /// creates the run, then its tasks.
    fn create_run_with_tasks(
        &self,
        id: &str,
        plan: &Plan,
        place: Option<&RunPlace>,
        now: Millis,
    ) -> BackendResult<()> {
        self.create_run(id, plan, place, now)?;
        self.create_tasks(id, plan)
    }

    /// Adds one task of the plan to run `run`, `pending`, with `position` its index in the plan.
    fn create_task(&self, run: &str, task: &TaskSpec, position: usize) -> BackendResult<()>;

    /// Records that `child` waits for `parent`, both tasks of `run`.
    fn add_dependency(&self, run: &str, child: &str, parent: &str) -> BackendResult<()>;

    /// Adds every task of the run's plan with its dependencies. Backends that can batch
    /// override this; the default calls [`TaskBackend::create_task`] and
    /// [`TaskBackend::add_dependency`] in plan order, so dependencies always exist first.
    fn create_tasks(&self, run: &str, plan: &Plan) -> BackendResult<()> {
        for (position, task) in plan.tasks.iter().enumerate() {
            self.create_task(run, task, position)?;
        }
        for task in &plan.tasks {
            for dep in &task.deps {
                self.add_dependency(run, &task.id, dep)?;
            }
        }
        Ok(())
    }

    /// The run `id`.
    fn get_run(&self, id: &str) -> BackendResult<RunRecord>;

    /// The state of run `id`, without reading its plan: what an engine polls while it waits.
    fn run_state(&self, id: &str) -> BackendResult<RunState> {
        self.get_run(id).map(|run| run.state)
    }

    /// Every run, newest first.
    fn list_runs(&self) -> BackendResult<Vec<RunSummary>>;

    /// The task `key`.
    fn get_task(&self, key: &TaskKey) -> BackendResult<TaskRecord>;

    /// Every task of run `run`, in plan order.
    fn list_tasks(&self, run: &str) -> BackendResult<Vec<TaskRecord>>;

    /// Up to `limit` tasks a worker may claim now, of run `run` or of every running run:
    /// pending tasks (and gates) whose dependencies all succeeded, and claimed or running
    /// tasks whose lease ended before `now`. Ordered by priority, then plan order.
    fn find_ready_tasks(
        &self,
        run: Option<&str>,
        now: Millis,
        limit: usize,
    ) -> BackendResult<Vec<TaskKey>>;

    /// Up to `limit` tasks of every running run that are ready now, as
    /// [`find_ready_tasks`](Self::find_ready_tasks) finds them but passing over none: a look
    /// that decides whether any work is left (an idle worker's last look before it exits),
    /// not which task to claim. A store whose claim look skips the tasks other engines hold
    /// at that instant answers this without skipping them.
    fn peek_ready_tasks(&self, now: Millis, limit: usize) -> BackendResult<Vec<TaskKey>> {
        self.find_ready_tasks(None, now, limit)
    }

    /// The one write every task transition goes through: in one atomic step, reads task `key`
    /// with its [`TaskFacts`], lets `change` alter the record (a rule of
    /// [`lifecycle`](super::lifecycle)), and, if `change` returns `Ok(true)`, writes the record
    /// back and appends `events` to the run's log. An `Err` from `change` writes nothing.
    /// `doing` names the transition for errors ("claim", "record the result of").
    fn update_task(
        &self,
        key: &TaskKey,
        doing: &str,
        events: &[NewEvent],
        change: &mut TaskChange<'_>,
    ) -> BackendResult<()>;

    /// Does what [`update_task`](Self::update_task) does on `key` and then, if `change`
    /// wrote, `then` on each task of `next` in order until one writes, skipping those that
    /// are missing: a transition and the one it makes possible (the success of a task and the
    /// claim of the task it let go) for the cost of one. Returns the position in `next` of the
    /// task `then` wrote. A store that can join them does all of it in one atomic step; the
    /// default does each as an `update_task` of its own, which is what the engine did before
    /// there was this step: each transition is still atomic.
    fn update_task_then(
        &self,
        key: &TaskKey,
        doing: &str,
        events: &[NewEvent],
        change: &mut TaskChange<'_>,
        next: &[TaskKey],
        then: &mut TaskChange<'_>,
    ) -> BackendResult<Option<usize>> {
        let mut wrote = false;
        self.update_task(key, doing, events, &mut |task, facts| {
            wrote = change(task, facts)?;
            Ok(wrote)
        })?;
        if !wrote {
            return Ok(None);
        }
        first_taken(next, |candidate| {
            let mut taken = false;
            let step = self.update_task(candidate, "claim", &[], &mut |task, facts| {
                taken = then(task, facts)?;
                Ok(taken)
            });
            unless_missing(step.map(|()| taken))
        })
    }

    /// Claims `key` for `worker` until `now + lease`, atomically: of several claimers exactly
    /// one gets `Some` ([`lifecycle::claim`](super::lifecycle::claim)).
    fn claim_task(
        &self,
        key: &TaskKey,
        worker: &str,
        now: Millis,
        lease: Millis,
    ) -> BackendResult<Option<Claim>> {
        let mut claimed = None;
        self.update_task(key, "claim", &[], &mut |task, facts| {
            claimed = lifecycle::claim(task, facts, worker, now, lease);
            Ok(claimed.is_some())
        })?;
        Ok(claimed)
    }

    /// Extends `worker`'s lease on `key` to `now + lease`; `false` if the worker no longer
    /// holds it (its lease expired and another worker claimed it).
    fn heartbeat(
        &self,
        key: &TaskKey,
        worker: &str,
        now: Millis,
        lease: Millis,
    ) -> BackendResult<bool> {
        let mut renewed = false;
        self.update_task(key, "renew the lease on", &[], &mut |task, _| {
            renewed = lifecycle::heartbeat(task, worker, now, lease);
            Ok(renewed)
        })?;
        Ok(renewed)
    }

    /// Marks a claimed task as running and appends `events` (the record of the attempt's
    /// processes, which a `kill -9` a moment later must not lose) to its run's log, in one
    /// atomic step.
    fn start_task(
        &self,
        key: &TaskKey,
        worker: &str,
        now: Millis,
        events: &[NewEvent],
    ) -> BackendResult<()> {
        self.update_task(key, "start", events, &mut |task, _| {
            lifecycle::start(task, worker, now).map(|()| true)
        })
    }

    /// Marks a task `worker` holds as succeeded with `result`.
    fn complete_task(
        &self,
        key: &TaskKey,
        worker: &str,
        result: &str,
        now: Millis,
    ) -> BackendResult<()> {
        self.complete_task_with_output(key, worker, result, None, now)
    }

    /// Marks a task `worker` holds as succeeded with `result` and, in a run isolated in git
    /// worktrees, the output commit its work became, in one transition.
    fn complete_task_with_output(
        &self,
        key: &TaskKey,
        worker: &str,
        result: &str,
        output: Option<&str>,
        now: Millis,
    ) -> BackendResult<()> {
        let done = lifecycle::Completion {
            commit: output,
            typed_output: None,
        };
        self.finish_task(key, worker, result, done, now)
    }

    /// Marks a task `worker` holds as succeeded with `result` and everything else `done`
    /// says it produced (its output commit, its typed output), in one transition.
    fn finish_task(
        &self,
        key: &TaskKey,
        worker: &str,
        result: &str,
        done: lifecycle::Completion<'_>,
        now: Millis,
    ) -> BackendResult<()> {
        self.update_task(key, "record the result of", &[], &mut |task, _| {
            lifecycle::complete(task, worker, result, done, now).map(|()| true)
        })
    }

    /// Whether every transition of this store is its rule applied by
    /// [`update_task`](Self::update_task), so two can be joined in one
    /// [`update_task_then`](Self::update_task_then). A store that overrides a transition to
    /// tell another tool of it (beads closes an issue when a task succeeds) says no, and its
    /// transitions are never joined.
    fn joins_transitions(&self) -> bool {
        true
    }

    /// Whether this store lives in this process or a local file, so a call returns in about
    /// the time of a write to that file: the engine then makes the calls of a task's hot path
    /// (its success) on the thread it is on instead of handing them to a blocking thread, a
    /// hand-over that cost more than the call. A store behind a network or another program
    /// says no.
    fn is_embedded(&self) -> bool {
        false
    }

    /// Marks a task `worker` holds as succeeded, as [`finish_task`](Self::finish_task) does,
    /// and claims for `worker` the first task of `next` that its success made claimable (the
    /// next task of a chain), as [`claim_task`](Self::claim_task) does, passing over those
    /// that are missing. Returns the task claimed. In a store that
    /// [joins transitions](Self::joins_transitions) both are one step: the claim needs no
    /// commit of its own. Otherwise one comes after the other, each atomic.
    ///
    /// An attempt over before its start was written (see the engine's `attempt_start`) gives
    /// it as `started`: the task is marked running first, as
    /// [`start_task`](Self::start_task) does, in the same step.
    #[allow(clippy::too_many_arguments)]
    fn finish_task_and_claim(
        &self,
        key: &TaskKey,
        worker: &str,
        result: &str,
        done: lifecycle::Completion<'_>,
        now: Millis,
        next: &[TaskKey],
        lease: Millis,
        started: StartWithSuccess<'_>,
    ) -> BackendResult<Option<(TaskKey, Claim)>> {
        let mut claimed = None;
        let position = if self.joins_transitions() {
            let (started_at, events) = started.map_or((None, &[][..]), |(at, e)| (Some(at), e));
            self.update_task_then(
                key,
                "record the result of",
                events,
                &mut |task, _| {
                    if let Some(at) = started_at {
                        lifecycle::start(task, worker, at)?;
                    }
                    lifecycle::complete(task, worker, result, done, now).map(|()| true)
                },
                next,
                &mut |task, facts| {
                    claimed = lifecycle::claim(task, facts, worker, now, lease);
                    Ok(claimed.is_some())
                },
            )?
        } else {
            if let Some((at, events)) = started {
                self.start_task(key, worker, at, events)?;
            }
            self.finish_task(key, worker, result, done, now)?;
            first_taken(next, |candidate| {
                let step = self.claim_task(candidate, worker, now, lease).map(|claim| {
                    claimed = claim;
                    claimed.is_some()
                });
                unless_missing(step)
            })?
        };
        Ok(position
            .zip(claimed)
            .map(|(at, claim)| (next[at].clone(), claim)))
    }

    /// Skips a task `worker` holds, whose condition does not hold, with `why` as its result
    /// ([`lifecycle::skip`](super::lifecycle::skip)).
    fn skip_task(&self, key: &TaskKey, worker: &str, why: &str, now: Millis) -> BackendResult<()> {
        self.update_task(key, "skip", &[], &mut |task, _| {
            lifecycle::skip(task, worker, why, now).map(|()| true)
        })
    }

    /// Records a failed attempt of a task `worker` holds: back to `pending` for another
    /// attempt if `retry` and attempts remain, otherwise `failed`.
    fn fail_task(
        &self,
        key: &TaskKey,
        worker: &str,
        error: &str,
        retry: bool,
        now: Millis,
    ) -> BackendResult<()> {
        self.update_task(key, "record the failure of", &[], &mut |task, _| {
            lifecycle::fail(task, worker, error, retry, now).map(|_| true)
        })
    }

    /// Gives back `worker`'s claim on `key` because its attempt was interrupted (the engine
    /// was stopped): pending again at once, with no retry used up
    /// ([`lifecycle::interrupt`](super::lifecycle::interrupt)), so another engine need not
    /// wait for the lease to end.
    fn release_task(
        &self,
        key: &TaskKey,
        worker: &str,
        reason: &str,
        _now: Millis,
    ) -> BackendResult<()> {
        self.update_task(key, "give back", &[], &mut |task, _| {
            lifecycle::release(task, worker, reason).map(|()| true)
        })
    }

    /// Gives back `worker`'s claim on `key`, made but not started on, as if it had not been
    /// made ([`lifecycle::unclaim`](super::lifecycle::unclaim)): the attempt is not counted.
    /// An engine does this when another engine took the last place of the task's pool first.
    fn unclaim_task(&self, key: &TaskKey, worker: &str, _now: Millis) -> BackendResult<()> {
        self.update_task(key, "give back the claim on", &[], &mut |task, _| {
            lifecycle::unclaim(task, worker).map(|()| true)
        })
    }

    /// Marks `key` succeeded by hand with `result` and its typed output, if it has one, as
    /// [`lifecycle::mark_done`](super::lifecycle::mark_done) allows (a `Conflict` otherwise).
    fn mark_done(
        &self,
        key: &TaskKey,
        result: &str,
        typed_output: Option<&str>,
        now: Millis,
    ) -> BackendResult<()> {
        self.update_task(key, "mark done", &[], &mut |task, _| {
            lifecycle::mark_done(task, result, typed_output, now).map(|()| true)
        })
    }

    /// Ends run `run` if nothing more can happen in it, deciding and writing its final state
    /// in one atomic step ([`lifecycle::settled_state`](super::lifecycle::settled_state)), so
    /// no other engine's claim can come between the decision and the write. Returns the run's
    /// state afterwards (`Running` while it goes on) and whether this call is the one that
    /// ended it: several engines may look at once, and only that one tells of the end.
    fn end_run_if_over(&self, run: &str, now: Millis) -> BackendResult<RunSettled>;

    /// The state of run `run` after [`end_run_if_over`](Self::end_run_if_over).
    fn settle_run(&self, run: &str, now: Millis) -> BackendResult<RunState> {
        self.end_run_if_over(run, now).map(|settled| settled.state)
    }

    /// Moves a claimed gate to `waiting`, releasing the worker, and appends `events` (what it
    /// asks) to its run's log in the same step.
    fn wait_gate(
        &self,
        key: &TaskKey,
        worker: &str,
        now: Millis,
        events: &[NewEvent],
    ) -> BackendResult<()> {
        self.update_task(key, "put in waiting", events, &mut |task, facts| {
            lifecycle::wait_gate(task, facts, worker, now).map(|()| true)
        })
    }

    /// Answers a waiting gate: `approved` with the reason as its result, or `rejected`.
    fn answer_gate(
        &self,
        key: &TaskKey,
        approve: bool,
        reason: &str,
        now: Millis,
    ) -> BackendResult<()> {
        self.update_task(key, "answer", &[], &mut |task, facts| {
            lifecycle::answer_gate(task, facts, approve, reason, now).map(|()| true)
        })
    }

    /// Puts tasks of run `run` back to `pending`, each as
    /// [`lifecycle::reset`](super::lifecycle::reset) says (attempt numbers go on, the retry
    /// budget is renewed, the next attempt is told why), and the run back to `running`.
    fn reset_tasks(&self, run: &str, resets: &[TaskReset], now: Millis) -> BackendResult<()>;

    /// Replaces run `run`'s plan with `plan` in one atomic step: reads the run and its tasks,
    /// lets `decide` (a [`lifecycle::replan`](super::lifecycle::replan) over them) give one
    /// record per task of `plan`, in its order, then stores `plan` as the run's snapshot, the
    /// records with `plan`'s positions, priorities and dependencies, drops the tasks `plan`
    /// no longer has, puts the run back to `running`, and counts one more plan generation.
    /// An `Err` from `decide` writes nothing.
    fn replan_run(
        &self,
        run: &str,
        plan: &Plan,
        decide: &mut ReplanDecision<'_>,
    ) -> BackendResult<()>;

    /// Ends run `run` in `state`; cancelling also cancels every task that is not final.
    fn finish_run(&self, run: &str, state: RunState, now: Millis) -> BackendResult<()>;

    /// Deletes run `run` that has ended, with its tasks, dependencies and events, in one
    /// atomic step (`wfc runs --prune`). A run that is still running is a `Conflict` and stays:
    /// an engine may be working on it. A backend that cannot delete runs says so as a
    /// `Conflict` with what to do instead.
    fn delete_run(&self, run: &str) -> BackendResult<()>;

    /// Appends an event to run `run`'s log and returns its sequence number.
    fn append_event(&self, run: &str, event: &NewEvent) -> BackendResult<i64>;

    /// Appends several events to run `run`'s log, in order. Backends that can write them in
    /// one transaction override this.
    fn append_events(&self, run: &str, events: &[NewEvent]) -> BackendResult<()> {
        for event in events {
            self.append_event(run, event)?;
        }
        Ok(())
    }

    /// Up to `limit` events of run `run` with a sequence number above `after`, in order.
    fn read_events(&self, run: &str, after: i64, limit: usize) -> BackendResult<Vec<EventRecord>>;

    /// A signal that changes when tasks may have become claimable (a run created, a task
    /// succeeded, answered, given back or reset), so an idle engine wakes at once instead of
    /// at its next poll; `None` (the default) when the store sends no such signal and
    /// engines find new work by polling alone. The signal may also change for nothing: an
    /// engine just looks again.
    fn work_signal(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }
}

/// The position in `next` of the first task `take` took: the loop of a transition's
/// candidates (the tasks its success may let this engine claim). `take` says `Ok(false)` for
/// one it passed over; see [`unless_missing`].
pub(crate) fn first_taken<E>(
    next: &[TaskKey],
    mut take: impl FnMut(&TaskKey) -> Result<bool, E>,
) -> Result<Option<usize>, E> {
    for (position, candidate) in next.iter().enumerate() {
        if take(candidate)? {
            return Ok(Some(position));
        }
    }
    Ok(None)
}

/// `step` on a candidate, with a candidate that is missing (a plan changed since the engine
/// read it) passed over rather than an error.
fn unless_missing(step: BackendResult<bool>) -> BackendResult<bool> {
    match step {
        Err(error) if error.kind == BackendErrorKind::NotFound => Ok(false),
        step => step,
    }
}
