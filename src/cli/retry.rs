//! `wfc retry RUN [TASK] [--from] [--note TEXT] [--no-run]`: put tasks that failed, were
//! cancelled or were rejected back to `pending` — every one of the run's, or TASK; with
//! `--from`, TASK and every task downstream of it, whatever their state — and run the run
//! again (`--no-run`: later, with `wfc resume RUN`). Attempt numbers go on and each task gets
//! its retries again (`runtime::lifecycle::reset`); the next attempt is told why it runs.

use super::human;
use super::output::Output;
use super::store::{self, shell_word, BackendArgs, Store};
use crate::backends::Access;
use crate::plan::Plan;
use crate::runtime::lifecycle::TaskReset;
use crate::runtime::{now_millis, TaskRecord, TaskState};
use std::collections::{HashMap, HashSet};
use std::process::ExitCode;

/// What `wfc retry` was asked.
pub struct Retry<'a> {
    /// The run.
    pub run: &'a str,
    /// The positional TASK.
    pub task: Option<&'a str>,
    /// `--from`: `Some(None)` when given without a value (it applies to the positional TASK).
    pub from: Option<Option<&'a str>>,
    /// `--note`: why the tasks run again.
    pub note: Option<&'a str>,
    /// `--no-run`: only put the tasks back.
    pub no_run: bool,
}

/// Whether a task in `state` is one a plain retry puts back.
fn ended_without_success(state: TaskState) -> bool {
    matches!(
        state,
        TaskState::Failed | TaskState::Cancelled | TaskState::Rejected
    )
}

/// Runs `wfc retry`.
pub fn run(retry: &Retry<'_>, exec: &super::run::ExecArgs, output: &Output) -> ExitCode {
    // Which task, and whether what follows it too; `None`: every task that ended without
    // success.
    let target =
        match (retry.task, retry.from) {
            (Some(task), None) => Some((task, false)),
            (Some(task), Some(None)) | (None, Some(Some(task))) => Some((task, true)),
            (Some(a), Some(Some(b))) if a == b => Some((a, true)),
            (Some(_), Some(Some(_))) => return output.fail(
                "name the task once: `wfc retry RUN TASK --from` or `wfc retry RUN --from TASK`",
            ),
            (None, Some(None)) => {
                return output.fail("`--from` needs a task: `wfc retry RUN --from TASK`")
            }
            (None, None) => None,
        };
    let args = BackendArgs {
        backend: exec.backend.clone(),
    };
    let (store, record) = match Store::open_run(&args, retry.run, Access::Write, output) {
        Ok(found) => found,
        Err(code) => return code,
    };
    if let Some((task, _)) = target {
        if let Err(code) = store::task(&record, task, output) {
            return code;
        }
    }
    let tasks = match store.backend.list_tasks(&record.id) {
        Ok(tasks) => tasks,
        Err(error) => return store::report(&error, output),
    };
    let by_id: HashMap<&str, &TaskRecord> =
        tasks.iter().map(|t| (t.key.task.as_str(), t)).collect();
    let state_of = |id: &str| by_id.get(id).map_or(TaskState::Pending, |t| t.state);
    let run_word = shell_word(&record.id);
    let chosen: Vec<&str> = match target {
        Some((task, true)) => {
            let below = descendants(&record.plan, task);
            record
                .plan
                .tasks
                .iter()
                .map(|t| t.id.as_str())
                .filter(|id| *id == task || below.contains(id))
                .collect()
        }
        Some((task, false)) => {
            let state = state_of(task);
            if !ended_without_success(state) {
                return store::refuse(
                    &format!(
                        "task `{task}` is {state}; only a failed, cancelled or rejected task is \
                         retried (`wfc retry {run_word} {} --from` runs it and what follows it again)",
                        shell_word(task)
                    ),
                    output,
                );
            }
            vec![task]
        }
        None => {
            let ended: Vec<&str> = record
                .plan
                .tasks
                .iter()
                .map(|t| t.id.as_str())
                .filter(|id| ended_without_success(state_of(id)))
                .collect();
            if ended.is_empty() {
                return store::refuse(
                    &format!(
                        "run {} has no failed, rejected or cancelled task to retry \
                         (`wfc retry {run_word} TASK --from` runs a task and what follows it again)",
                        record.id
                    ),
                    output,
                );
            }
            ended
        }
    };
    if let Some(busy) = chosen
        .iter()
        .find(|id| matches!(state_of(id), TaskState::Claimed | TaskState::Running))
    {
        return store::refuse(
            &format!(
                "task `{busy}` is {} now; wait for it to end, or stop the run with \
                 `wfc cancel {run_word}` first",
                state_of(busy)
            ),
            output,
        );
    }
    // An expanded fan-out's instances are tasks of the run's plan now: resetting its template
    // (or what it reads) would run them with their old elements and then expand again into
    // the same ids. Until a retry can take an expansion back, it is refused before anything
    // changes, naming a way that works.
    if let Some(expanded) = chosen.iter().find(|id| {
        state_of(id) == TaskState::Succeeded
            && record
                .plan
                .task(id)
                .is_some_and(|spec| spec.fan_out.is_some())
    }) {
        return store::refuse(
            &format!(
                "`{expanded}` was expanded into tasks of this run, and a retry cannot take an \
                 expansion back yet; retry its instances one by one (`wfc retry {run_word} \
                 TASK`), or start a new run"
            ),
            output,
        );
    }
    // A loop's decision that made the next round is the same: resetting it would decide
    // again and make that round again, into the same ids.
    if let Some(decided) = chosen.iter().find(|id| {
        state_of(id) == TaskState::Succeeded
            && record
                .plan
                .task(id)
                .and_then(|spec| spec.repeat.as_ref())
                .is_some_and(|repeat| {
                    let next = crate::plan::repeat::round_id(&repeat.name, repeat.round + 1);
                    record.plan.task(&next).is_some()
                })
    }) {
        return store::refuse(
            &format!(
                "`{decided}` made its loop's next round, and a retry cannot take a round back \
                 yet; retry the tasks of a later round (`wfc retry {run_word} TASK`), or start \
                 a new run"
            ),
            output,
        );
    }
    let resets = resets(&record.plan, &chosen, &by_id, retry.note);
    if let Err(error) = store.backend.reset_tasks(&record.id, &resets, now_millis()) {
        return store::report(&error, output);
    }
    for id in &chosen {
        output.stdout_line(&format!("reset {id} (was {})", state_of(id)));
    }
    if let Some((task, false)) = target {
        let below = descendants(&record.plan, task);
        note_stuck_descendants(&tasks, &below, task, &run_word, output);
    }
    drop(store);
    if retry.no_run {
        output.stdout_line(&format!(
            "run `wfc resume {run_word}` to run {}",
            if chosen.len() == 1 { "it" } else { "them" }
        ));
        return ExitCode::SUCCESS;
    }
    super::run::resume(&record.id, exec, super::run::Replan::default(), output)
}

/// The resets of `chosen`: each with its `retry` from the plan, and told why it runs again:
/// the operator's note, and the reason a person gave for rejecting a gate after it that runs
/// again too.
fn resets(
    plan: &Plan,
    chosen: &[&str],
    tasks: &HashMap<&str, &TaskRecord>,
    note: Option<&str>,
) -> Vec<TaskReset> {
    let rejected: Vec<(&str, &str)> = chosen
        .iter()
        .filter_map(|id| {
            let task = tasks.get(id)?;
            (task.state == TaskState::Rejected)
                .then(|| (*id, task.last_error.as_deref().unwrap_or("no reason given")))
        })
        .collect();
    chosen
        .iter()
        .map(|id| {
            let below = descendants(plan, id);
            let mut why: Vec<String> = rejected
                .iter()
                .filter(|(gate, _)| below.contains(gate))
                .map(|(gate, reason)| {
                    format!("A person rejected `{gate}`, which comes after this task: {reason}")
                })
                .collect();
            if let Some(note) = note {
                why.insert(
                    0,
                    format!("A note from the person who retried the task: {note}"),
                );
            }
            TaskReset {
                id: id.to_string(),
                retry: plan.task(id).map_or(0, |spec| spec.retry),
                why: (!why.is_empty()).then(|| why.join("\n\n")),
            }
        })
        .collect()
}

/// Every task that waits, directly or through others, for `task`.
fn descendants<'a>(plan: &'a Plan, task: &str) -> HashSet<&'a str> {
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    for spec in &plan.tasks {
        for dep in &spec.deps {
            children
                .entry(dep.as_str())
                .or_default()
                .push(spec.id.as_str());
        }
    }
    let mut found = HashSet::new();
    let mut todo: Vec<&str> = children.get(task).cloned().unwrap_or_default();
    while let Some(next) = todo.pop() {
        if found.insert(next) {
            todo.extend(children.get(next).into_iter().flatten().copied());
        }
    }
    found
}

/// Tells the user about tasks after `task` that ended without success and that a plain retry
/// leaves as they are.
fn note_stuck_descendants(
    tasks: &[TaskRecord],
    below: &HashSet<&str>,
    task: &str,
    run_word: &str,
    output: &Output,
) {
    let stuck: Vec<&str> = tasks
        .iter()
        .filter(|t| below.contains(t.key.task.as_str()))
        .filter(|t| {
            matches!(
                t.state,
                TaskState::Failed | TaskState::Cancelled | TaskState::Rejected
            )
        })
        .map(|t| t.key.task.as_str())
        .collect();
    if !stuck.is_empty() {
        output.stdout_line(&format!(
            "note: {} after it ended without success and stay so ({}); \
             `wfc retry {run_word} {} --from` resets them too",
            human::plural(stuck.len(), "task"),
            stuck.join(", "),
            shell_word(task)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Shell, TaskSpec, PLAN_VERSION};

    fn plan(tasks: &[(&str, &[&str])]) -> Plan {
        Plan {
            version: PLAN_VERSION,
            source: "t.wf".into(),
            workflow: "t".into(),
            params: Vec::new(),
            isolation: Default::default(),
            event_sinks: Vec::new(),
            budget_usd: None,
            secrets: Vec::new(),
            tasks: tasks
                .iter()
                .map(|(id, deps)| {
                    let action = Action::Command {
                        run: Shell {
                            script: "true".into(),
                            display: "true".into(),
                            args: Vec::new(),
                        },
                    };
                    TaskSpec::new(id, action, deps.iter().map(|d| d.to_string()).collect())
                })
                .collect(),
        }
    }

    #[test]
    fn descendants_are_transitive_and_nothing_else() {
        let p = plan(&[
            ("a", &[]),
            ("b", &["a"]),
            ("c", &["b"]),
            ("d", &[]),
            ("e", &["c", "d"]),
        ]);
        let mut below: Vec<_> = descendants(&p, "b").into_iter().collect();
        below.sort();
        assert_eq!(below, ["c", "e"]);
        assert!(descendants(&p, "e").is_empty());
    }
}
