//! What an engine with nothing to run waits for, said in a line so a `wfc worker` or a
//! `wfc resume` that sits idle says why: `waiting for ready tasks of run X (2 waiting for a
//! person: approve, review)`, or `no run has ready tasks; polling…`.

use crate::runtime::{now_millis, RunState, TaskBackend, TaskRecord, TaskState};

/// What an idle engine waits for: of run `run`, or (a worker, `None`) of every run.
pub fn waiting_for(backend: &dyn TaskBackend, run: Option<&str>) -> Option<String> {
    match run {
        Some(run) => {
            let tasks = backend.list_tasks(run).ok()?;
            let why = why(&tasks);
            Some(if why.is_empty() {
                format!("waiting for ready tasks of run {run}")
            } else {
                format!("waiting for ready tasks of run {run} ({})", why.join("; "))
            })
        }
        None => {
            if !backend.peek_ready_tasks(now_millis(), 1).ok()?.is_empty() {
                // Ready tasks this engine does not take (their run's folder is out of its
                // reach) are another engine's to say.
                return None;
            }
            let runs = backend.list_runs().ok()?;
            let mut waits = Vec::new();
            for summary in runs.iter().filter(|r| r.state == RunState::Running) {
                let Ok(tasks) = backend.list_tasks(&summary.id) else {
                    continue;
                };
                let why = why(&tasks);
                if !why.is_empty() {
                    waits.push(format!("run {}: {}", summary.id, why.join("; ")));
                }
            }
            Some(if waits.is_empty() {
                "no run has ready tasks; polling…".to_string()
            } else {
                format!("no run has ready tasks; polling… ({})", waits.join("; "))
            })
        }
    }
}

/// What holds a run's tasks back: people to answer, and tasks other engines hold.
fn why(tasks: &[TaskRecord]) -> Vec<String> {
    let names = |wanted: &[TaskState]| -> Vec<&str> {
        tasks
            .iter()
            .filter(|t| wanted.contains(&t.state))
            .map(|t| t.key.task.as_str())
            .collect()
    };
    let mut why = Vec::new();
    let people = names(&[TaskState::Waiting]);
    if !people.is_empty() {
        why.push(format!(
            "{} waiting for a person: {}",
            people.len(),
            people.join(", ")
        ));
    }
    let held = names(&[TaskState::Running, TaskState::Claimed]);
    if !held.is_empty() {
        why.push(format!(
            "{} running in another process: {}",
            held.len(),
            held.join(", ")
        ));
    }
    why
}
