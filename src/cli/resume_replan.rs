//! `wfc resume RUN --replan`: plans the run's workflow again from its (edited) file, shows
//! what changes, and replaces the run's plan in one atomic step of the store, so the tasks
//! whose spec and inputs are unchanged keep their results and only the changed ones and what
//! depends on them run again (`runtime::lifecycle::replan` decides).

use super::output::Output;
use crate::events::EventKind;
use crate::plan::{Plan, PLAN_VERSION};
use crate::runtime::lifecycle::{self, Fate, Replanned};
use crate::runtime::{now_millis, NewEvent, RunRecord, TaskBackend};
use std::path::Path;

/// Plans `record`'s workflow again from its file in `workspace`, with the run's parameters.
/// Secrets are not needed to plan (a plan never holds their values); the run reads them from
/// the environment when it goes on.
pub fn plan_from_file(record: &RunRecord, workspace: &Path) -> Result<Plan, String> {
    let input = super::replan::without_secrets();
    let planned =
        super::replan::replan(&record.plan, workspace, &record.id, input).map_err(|why| {
            format!(
                "cannot plan run {} again from {}: {why}",
                record.id, record.plan.source
            )
        })?;
    let mut plan = planned.plan;
    // The run keeps how it isolates its tasks, and the base it started from.
    plan.isolation = record.plan.isolation.clone();
    plan.event_sinks = record.plan.event_sinks.clone();
    if plan.version != PLAN_VERSION {
        return Err(format!(
            "cannot plan run {} again: its plan has version {}",
            record.id, plan.version
        ));
    }
    Ok(plan)
}

/// What planning again does to the run's tasks as they are now, without storing anything
/// (`--dry-run`, and the check whether anything changes at all).
pub fn preview(
    backend: &dyn TaskBackend,
    record: &RunRecord,
    plan: &Plan,
) -> Result<Replanned, String> {
    let tasks = backend
        .list_tasks(&record.id)
        .map_err(|error| error.to_string())?;
    lifecycle::replan(&record.id, &record.plan, &tasks, plan, now_millis())
        .map_err(|error| error.to_string())
}

/// Replaces the run's plan with `plan`, deciding each task's fate on its state inside the
/// store's atomic step, records a `run_replanned` event, and returns what became of the tasks.
pub fn store(
    backend: &dyn TaskBackend,
    record: &RunRecord,
    plan: &Plan,
) -> Result<Replanned, String> {
    let run = record.id.as_str();
    let mut outcome = None;
    backend
        .replan_run(run, plan, &mut |stored, tasks| {
            let replanned = lifecycle::replan(run, &stored.plan, tasks, plan, now_millis())?;
            let records = replanned.tasks.iter().map(|(t, _)| t.clone()).collect();
            outcome = Some(replanned);
            Ok(records)
        })
        .map_err(|error| error.to_string())?;
    let replanned = outcome.ok_or_else(|| format!("run {run} was not planned again"))?;
    let mut data = serde_json::Map::new();
    data.insert("source".into(), plan.source.clone().into());
    for (fate, ids) in fates(&replanned) {
        data.insert(fate.into(), ids.into());
    }
    let event = NewEvent {
        at: now_millis(),
        kind: EventKind::RunReplanned.as_str().to_string(),
        task: None,
        data: serde_json::Value::Object(data),
    };
    // The new plan is stored; a log that cannot take the event is worth a warning only.
    if let Err(error) = backend.append_event(run, &event) {
        eprintln!("warning: cannot record that run {run} was planned again: {error}");
    }
    Ok(replanned)
}

/// The ids of each fate that has any, in the order they are shown, then the removed ones.
fn fates(replanned: &Replanned) -> Vec<(&'static str, Vec<String>)> {
    let mut fates: Vec<(&'static str, Vec<String>)> = [
        Fate::Changed,
        Fate::Added,
        Fate::Downstream,
        Fate::Again,
        Fate::Kept,
    ]
    .into_iter()
    .map(|fate| (fate.as_str(), replanned.ids(fate)))
    .collect();
    fates.push(("removed", replanned.removed.clone()));
    fates.retain(|(_, ids)| !ids.is_empty());
    fates
}

/// Shows what planning again does, one line a fate: what runs again and why, what keeps its
/// result, what is dropped.
pub fn show(replanned: &Replanned, source: &str, output: &Output) {
    output.stdout_line(&format!("planned again from {source}:"));
    for (fate, ids) in fates(replanned) {
        let meaning = match fate {
            "changed" => "its spec changed: runs again",
            "added" => "new: runs",
            "downstream" => "after a task that runs again: runs again",
            "again" => "unchanged, had not succeeded: runs again",
            "kept" => "unchanged: keeps its result",
            _ => "no longer in the file: dropped",
        };
        output.stdout_line(&format!(
            "  {fate:<10} {:>4}  {}  ({meaning})",
            ids.len(),
            super::snapshot_drift::list(&ids)
        ));
    }
}
