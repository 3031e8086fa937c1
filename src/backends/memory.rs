//! The memory backend (`memory:`): everything in one process's memory, for tests and dry runs.
//! Its behaviour is the reference the other backends are tested against.

use crate::plan::{Plan, TaskSpec};
use crate::runtime::lifecycle::{self, TaskFacts, TaskReset};
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

/// The error for deleting a run that has not ended.
fn still_running(run: &str) -> BackendError {
    BackendError::conflict(format!(
        "run `{run}` is still running; only a run that ended can be deleted"
    ))
}

/// Whether every task `task` waits for succeeded.
fn deps_done(run: &Run, task: &Task) -> bool {
    task.deps.iter().all(|dep| {
        run.tasks
            .get(dep)
            .is_some_and(|d| d.record.state.satisfies_dependents())
    })
}

/// Appends `event` to `run`'s log and returns its sequence number.
fn push_event(run: &mut Run, event: &NewEvent) -> i64 {
    let seq = run.events.len() as i64 + 1;
    run.events.push(EventRecord {
        seq,
        at: event.at,
        kind: event.kind.clone(),
        task: event.task.clone(),
        data: event.data.clone(),
    });
    seq
}

impl TaskBackend for MemoryBackend {
    fn is_embedded(&self) -> bool {
        true
    }

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
                plan_generation: 0,
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
        let record = TaskRecord::new(
            TaskKey::new(run.record.id.clone(), spec.id.clone()),
            spec.retry,
        );
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
                if lifecycle::claimable(&task.record, deps_done(candidate, task), now) {
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

    fn update_task(
        &self,
        key: &TaskKey,
        _doing: &str,
        events: &[NewEvent],
        change: &mut TaskChange<'_>,
    ) -> BackendResult<()> {
        let mut runs = self.lock();
        let run = find(&mut runs, &key.run)?;
        task(run, &key.task)?;
        let current = &run.tasks[&key.task];
        let facts = TaskFacts {
            run_state: run.record.state,
            is_gate: current.is_gate,
            deps_done: current.record.state == TaskState::Pending && deps_done(run, current),
            plan_generation: run.record.plan_generation,
        };
        // The change works on a copy, so a refused change leaves the task as it was.
        let mut record = current.record.clone();
        if change(&mut record, &facts)? {
            task(run, &key.task)?.record = record;
            for event in events {
                push_event(run, event);
            }
        }
        Ok(())
    }

    fn end_run_if_over(&self, run: &str, now: Millis) -> BackendResult<RunSettled> {
        let mut runs = self.lock();
        let run = find(&mut runs, run)?;
        if run.record.state != RunState::Running {
            return Ok(RunSettled::as_it_was(run.record.state));
        }
        let progress = lifecycle::progress_of(
            run.tasks
                .values()
                .map(|task| (task.record.state, deps_done(run, task))),
        );
        let Some(state) = lifecycle::settled_state(progress) else {
            return Ok(RunSettled::as_it_was(RunState::Running));
        };
        run.record.state = state;
        run.record.finished_at = Some(now);
        Ok(RunSettled::ended(state))
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

    fn replan_run(
        &self,
        run: &str,
        plan: &Plan,
        decide: &mut ReplanDecision<'_>,
    ) -> BackendResult<()> {
        let mut runs = self.lock();
        let run = find(&mut runs, run)?;
        let records: Vec<TaskRecord> = run
            .order
            .iter()
            .filter_map(|id| run.tasks.get(id))
            .map(|t| t.record.clone())
            .collect();
        let records = decide(&run.record, &records)?;
        lifecycle::records_fit(plan, &records)?;
        run.order = plan.tasks.iter().map(|spec| spec.id.clone()).collect();
        run.tasks = plan
            .tasks
            .iter()
            .zip(records)
            .enumerate()
            .map(|(position, (spec, record))| {
                let task = Task {
                    record,
                    priority: spec.priority,
                    position,
                    deps: spec.deps.clone(),
                    is_gate: spec.action.waits_for_person(),
                };
                (spec.id.clone(), task)
            })
            .collect();
        run.record.plan = plan.clone();
        run.record.state = RunState::Running;
        run.record.finished_at = None;
        run.record.plan_generation = run.record.plan_generation.saturating_add(1);
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
                lifecycle::cancel(&mut task.record, now);
            }
        }
        Ok(())
    }

    fn delete_run(&self, run: &str) -> BackendResult<()> {
        let mut runs = self.lock();
        let found = find(&mut runs, run)?;
        if found.record.state == RunState::Running {
            return Err(still_running(run));
        }
        runs.retain(|r| r.record.id != run);
        Ok(())
    }

    fn append_event(&self, run: &str, event: &NewEvent) -> BackendResult<i64> {
        let mut runs = self.lock();
        Ok(push_event(find(&mut runs, run)?, event))
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
