//! The memory backend (`memory:`): everything in one process's memory, for tests and dry runs.
//! Its behaviour is the reference the other backends are tested against.

use crate::plan::{Plan, TaskSpec};
use crate::runtime::lifecycle::{self, TaskReset};
use crate::runtime::*;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

struct Run {
    record: RunRecord,
    /// Task ids in plan order.
    order: Vec<String>,
    tasks: HashMap<String, Task>,
    events: Vec<EventRecord>,
}

struct Task {
    record: TaskRecord,
    priority: u8,
    position: usize,
    deps: Vec<String>,
    is_gate: bool,
}

/// A backend that keeps everything in memory; one mutex makes every operation atomic.
#[derive(Default)]
pub struct MemoryBackend {
    runs: Mutex<Vec<Run>>,
}

impl MemoryBackend {
    /// An empty store.
    pub fn new() -> Self {
        MemoryBackend::default()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Run>> {
        // A panic while holding the lock leaves consistent data (every change is one
        // assignment), so a poisoned lock is still usable.
        self.runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn find<'a>(runs: &'a mut [Run], id: &str) -> BackendResult<&'a mut Run> {
    runs.iter_mut()
        .find(|r| r.record.id == id)
        .ok_or_else(|| BackendError::not_found(format!("there is no run `{id}`")))
}

fn task<'a>(run: &'a mut Run, id: &str) -> BackendResult<&'a mut Task> {
    let run_id = run.record.id.clone();
    run.tasks
        .get_mut(id)
        .ok_or_else(|| BackendError::not_found(format!("run `{run_id}` has no task `{id}`")))
}

/// The task, if `worker` holds it (claimed or running, under a lease).
fn held<'a>(run: &'a mut Run, id: &str, worker: &str) -> BackendResult<&'a mut Task> {
    let task = task(run, id)?;
    let holds = task.record.worker.as_deref() == Some(worker)
        && matches!(task.record.state, TaskState::Claimed | TaskState::Running);
    if holds {
        Ok(task)
    } else {
        Err(BackendError::conflict(format!(
            "worker `{worker}` does not hold task `{id}`"
        )))
    }
}

fn release(task: &mut Task) {
    task.record.worker = None;
    task.record.lease_until = None;
}

impl TaskBackend for MemoryBackend {
    fn create_run(
        &self,
        id: &str,
        plan: &Plan,
        place: Option<&RunPlace>,
        now: Millis,
    ) -> BackendResult<()> {
        let mut runs = self.lock();
        if runs.iter().any(|r| r.record.id == id) {
            return Err(BackendError::conflict(format!(
                "a run `{id}` exists already"
            )));
        }
        runs.push(Run {
            record: RunRecord {
                id: id.to_string(),
                state: RunState::Running,
                created_at: now,
                finished_at: None,
                plan: plan.clone(),
                place: place.cloned(),
            },
            order: Vec::new(),
            tasks: HashMap::new(),
            events: Vec::new(),
        });
        Ok(())
    }

    fn create_task(&self, run: &str, spec: &TaskSpec, position: usize) -> BackendResult<()> {
        let mut runs = self.lock();
        let run = find(&mut runs, run)?;
        if run.tasks.contains_key(&spec.id) {
            return Err(BackendError::conflict(format!(
                "run `{}` has a task `{}` already",
                run.record.id, spec.id
            )));
        }
        let record = TaskRecord {
            key: TaskKey::new(run.record.id.clone(), spec.id.clone()),
            state: TaskState::Pending,
            attempts: 0,
            max_attempts: spec.retry + 1,
            worker: None,
            lease_until: None,
            started_at: None,
            finished_at: None,
            result: None,
            last_error: None,
        };
        let is_gate = spec.action.waits_for_person();
        run.order.push(spec.id.clone());
        run.tasks.insert(
            spec.id.clone(),
            Task {
                record,
                priority: spec.priority,
                position,
                deps: Vec::new(),
                is_gate,
            },
        );
        Ok(())
    }

    fn add_dependency(&self, run: &str, child: &str, parent: &str) -> BackendResult<()> {
        let mut runs = self.lock();
        let run = find(&mut runs, run)?;
        task(run, parent)?;
        let child = task(run, child)?;
        if !child.deps.iter().any(|d| d == parent) {
            child.deps.push(parent.to_string());
        }
        Ok(())
    }

    fn get_run(&self, id: &str) -> BackendResult<RunRecord> {
        let mut runs = self.lock();
        Ok(find(&mut runs, id)?.record.clone())
    }

    fn run_state(&self, id: &str) -> BackendResult<RunState> {
        let mut runs = self.lock();
        Ok(find(&mut runs, id)?.record.state)
    }

    fn list_runs(&self) -> BackendResult<Vec<RunSummary>> {
        let runs = self.lock();
        let mut summaries: Vec<RunSummary> = runs
            .iter()
            .map(|run| RunSummary {
                id: run.record.id.clone(),
                workflow: run.record.plan.workflow.clone(),
                source: run.record.plan.source.clone(),
                state: run.record.state,
                created_at: run.record.created_at,
                finished_at: run.record.finished_at,
                tasks: run.tasks.len(),
                succeeded: run
                    .tasks
                    .values()
                    .filter(|t| t.record.state.satisfies_dependents())
                    .count(),
            })
            .collect();
        summaries.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(summaries)
    }

    fn get_task(&self, key: &TaskKey) -> BackendResult<TaskRecord> {
        let mut runs = self.lock();
        let run = find(&mut runs, &key.run)?;
        Ok(task(run, &key.task)?.record.clone())
    }

    fn list_tasks(&self, run: &str) -> BackendResult<Vec<TaskRecord>> {
        let mut runs = self.lock();
        let run = find(&mut runs, run)?;
        Ok(run
            .order
            .iter()
            .filter_map(|id| run.tasks.get(id))
            .map(|t| t.record.clone())
            .collect())
    }

    fn find_ready_tasks(
        &self,
        run: Option<&str>,
        now: Millis,
        limit: usize,
    ) -> BackendResult<Vec<TaskKey>> {
        let runs = self.lock();
        let mut ready: Vec<(u8, Millis, usize, TaskKey)> = Vec::new();
        for candidate in runs.iter() {
            if run.is_some_and(|id| id != candidate.record.id)
                || candidate.record.state != RunState::Running
            {
                continue;
            }
            for task in candidate.tasks.values() {
                let claimable = match task.record.state {
                    TaskState::Pending => task.deps.iter().all(|dep| {
                        candidate
                            .tasks
                            .get(dep)
                            .is_some_and(|d| d.record.state.satisfies_dependents())
                    }),
                    TaskState::Claimed | TaskState::Running => {
                        task.record.lease_until.is_some_and(|until| until < now)
                    }
                    _ => false,
                };
                if claimable {
                    ready.push((
                        task.priority,
                        candidate.record.created_at,
                        task.position,
                        task.record.key.clone(),
                    ));
                }
            }
        }
        ready.sort();
        Ok(ready
            .into_iter()
            .take(limit)
            .map(|(_, _, _, key)| key)
            .collect())
    }

    fn claim_task(
        &self,
        key: &TaskKey,
        worker: &str,
        now: Millis,
        lease: Millis,
    ) -> BackendResult<Option<Claim>> {
        let mut runs = self.lock();
        let run = find(&mut runs, &key.run)?;
        if run.record.state != RunState::Running {
            return Ok(None);
        }
        let deps_done = {
            let task = task(run, &key.task)?;
            let deps = task.deps.clone();
            deps.iter().all(|dep| {
                run.tasks
                    .get(dep)
                    .is_some_and(|d| d.record.state.satisfies_dependents())
            })
        };
        let task = task(run, &key.task)?;
        let expired = matches!(task.record.state, TaskState::Claimed | TaskState::Running)
            && task.record.lease_until.is_some_and(|until| until < now);
        let fresh = task.record.state == TaskState::Pending && deps_done;
        if !(fresh || expired) {
            return Ok(None);
        }
        if expired {
            let holder = task.record.worker.clone().unwrap_or_default();
            task.record.last_error = Some(format!(
                "attempt {} was interrupted: worker `{holder}` stopped renewing its lease",
                task.record.attempts
            ));
        }
        task.record.state = TaskState::Claimed;
        task.record.attempts += 1;
        task.record.worker = Some(worker.to_string());
        task.record.lease_until = Some(now.saturating_add(lease));
        Ok(Some(Claim {
            attempt: task.record.attempts,
            previous_error: task.record.last_error.clone(),
            taken_over: expired,
        }))
    }

    fn heartbeat(
        &self,
        key: &TaskKey,
        worker: &str,
        now: Millis,
        lease: Millis,
    ) -> BackendResult<bool> {
        let mut runs = self.lock();
        let run = find(&mut runs, &key.run)?;
        match held(run, &key.task, worker) {
            Ok(task) => {
                task.record.lease_until = Some(now.saturating_add(lease));
                Ok(true)
            }
            Err(error) if error.kind == BackendErrorKind::Conflict => Ok(false),
            Err(error) => Err(error),
        }
    }

    fn start_task(&self, key: &TaskKey, worker: &str, now: Millis) -> BackendResult<()> {
        let mut runs = self.lock();
        let task = held(find(&mut runs, &key.run)?, &key.task, worker)?;
        task.record.state = TaskState::Running;
        task.record.started_at = Some(now);
        Ok(())
    }

    fn complete_task(
        &self,
        key: &TaskKey,
        worker: &str,
        result: &str,
        now: Millis,
    ) -> BackendResult<()> {
        let mut runs = self.lock();
        let task = held(find(&mut runs, &key.run)?, &key.task, worker)?;
        task.record.state = TaskState::Succeeded;
        task.record.result = Some(result.to_string());
        task.record.finished_at = Some(now);
        release(task);
        Ok(())
    }

    fn fail_task(
        &self,
        key: &TaskKey,
        worker: &str,
        error: &str,
        retry: bool,
        now: Millis,
    ) -> BackendResult<()> {
        let mut runs = self.lock();
        let task = held(find(&mut runs, &key.run)?, &key.task, worker)?;
        task.record.last_error = Some(error.to_string());
        if retry && task.record.attempts < task.record.max_attempts {
            task.record.state = TaskState::Pending;
        } else {
            task.record.state = TaskState::Failed;
            task.record.finished_at = Some(now);
        }
        release(task);
        Ok(())
    }

    fn release_task(
        &self,
        key: &TaskKey,
        worker: &str,
        reason: &str,
        _now: Millis,
    ) -> BackendResult<()> {
        let mut runs = self.lock();
        let task = held(find(&mut runs, &key.run)?, &key.task, worker)?;
        lifecycle::interrupt(&mut task.record, reason);
        Ok(())
    }

    fn mark_done(&self, key: &TaskKey, result: &str, now: Millis) -> BackendResult<()> {
        let mut runs = self.lock();
        let task = task(find(&mut runs, &key.run)?, &key.task)?;
        lifecycle::mark_done(&mut task.record, result, now).map_err(|why| {
            BackendError::conflict(format!("task `{}` cannot be marked done: {why}", key.task))
        })
    }

    fn settle_run(&self, run: &str, now: Millis) -> BackendResult<RunState> {
        let mut runs = self.lock();
        let run = find(&mut runs, run)?;
        if run.record.state != RunState::Running {
            return Ok(run.record.state);
        }
        let tasks = &run.tasks;
        let progress = lifecycle::progress_of(tasks.values().map(|task| {
            let deps_done = task.deps.iter().all(|dep| {
                tasks
                    .get(dep)
                    .is_some_and(|d| d.record.state.satisfies_dependents())
            });
            (task.record.state, deps_done)
        }));
        if let Some(state) = lifecycle::settled_state(progress) {
            run.record.state = state;
            run.record.finished_at = Some(now);
        }
        Ok(run.record.state)
    }

    fn wait_gate(&self, key: &TaskKey, worker: &str, now: Millis) -> BackendResult<()> {
        let mut runs = self.lock();
        let task = held(find(&mut runs, &key.run)?, &key.task, worker)?;
        if !task.is_gate {
            return Err(BackendError::conflict(format!(
                "`{}` is not a gate",
                key.task
            )));
        }
        task.record.state = TaskState::Waiting;
        task.record.started_at = Some(now);
        release(task);
        Ok(())
    }

    fn answer_gate(
        &self,
        key: &TaskKey,
        approve: bool,
        reason: &str,
        now: Millis,
    ) -> BackendResult<()> {
        let mut runs = self.lock();
        let task = task(find(&mut runs, &key.run)?, &key.task)?;
        if !task.is_gate {
            return Err(BackendError::conflict(format!(
                "`{}` is not a gate",
                key.task
            )));
        }
        if task.record.state != TaskState::Waiting {
            return Err(BackendError::conflict(format!(
                "gate `{}` is {}, not waiting",
                key.task, task.record.state
            )));
        }
        task.record.state = if approve {
            TaskState::Approved
        } else {
            TaskState::Rejected
        };
        if approve {
            task.record.result = Some(reason.to_string());
        } else {
            task.record.last_error = Some(reason.to_string());
        }
        task.record.finished_at = Some(now);
        Ok(())
    }

    fn reset_tasks(&self, run: &str, resets: &[TaskReset], _now: Millis) -> BackendResult<()> {
        let mut runs = self.lock();
        let run = find(&mut runs, run)?;
        for reset in resets {
            task(run, &reset.id)?;
        }
        for reset in resets {
            lifecycle::reset(&mut task(run, &reset.id)?.record, reset);
        }
        run.record.state = RunState::Running;
        run.record.finished_at = None;
        Ok(())
    }

    fn finish_run(&self, run: &str, state: RunState, now: Millis) -> BackendResult<()> {
        let mut runs = self.lock();
        let run = find(&mut runs, run)?;
        run.record.state = state;
        run.record.finished_at = if state == RunState::Running {
            None
        } else {
            Some(now)
        };
        if state == RunState::Cancelled {
            for task in run.tasks.values_mut() {
                if !task.record.state.is_final() {
                    task.record.state = TaskState::Cancelled;
                    task.record.finished_at = Some(now);
                    release(task);
                }
            }
        }
        Ok(())
    }

    fn append_event(&self, run: &str, event: &NewEvent) -> BackendResult<i64> {
        let mut runs = self.lock();
        let run = find(&mut runs, run)?;
        let seq = run.events.len() as i64 + 1;
        run.events.push(EventRecord {
            seq,
            at: event.at,
            kind: event.kind.clone(),
            task: event.task.clone(),
            data: event.data.clone(),
        });
        Ok(seq)
    }

    fn read_events(&self, run: &str, after: i64, limit: usize) -> BackendResult<Vec<EventRecord>> {
        let mut runs = self.lock();
        let run = find(&mut runs, run)?;
        Ok(run
            .events
            .iter()
            .filter(|e| e.seq > after)
            .take(limit)
            .cloned()
            .collect())
    }
}
