//! `wfc retry RUN TASK [--from]` (or `wfc retry RUN --from TASK`): put a task that failed,
//! was cancelled or was rejected back to `pending` with its attempts reset; with `--from`,
//! that task and every task downstream of it in the run's plan, whatever their state. The
//! tasks run again on `wfc resume RUN`.

use super::human;
use super::output::Output;
use super::store::{self, shell_word, BackendArgs, Store};
use crate::backends::Access;
use crate::plan::Plan;
use crate::runtime::{now_millis, TaskRecord, TaskState};
use std::collections::{HashMap, HashSet};
use std::process::ExitCode;

/// Runs `wfc retry`. `task` is the positional TASK; `from` is `--from` (`Some(None)` when
/// given without a value, so it applies to the positional TASK).
pub fn run(
    args: &BackendArgs,
    run: &str,
    task: Option<&str>,
    from: Option<Option<&str>>,
    output: &Output,
) -> ExitCode {
    let (task, downstream) = match (task, from) {
        (Some(task), None) => (task, false),
        (Some(task), Some(None)) | (None, Some(Some(task))) => (task, true),
        (Some(a), Some(Some(b))) if a == b => (a, true),
        (Some(_), Some(Some(_))) => {
            return output.fail("name the task once: `wfc retry RUN TASK --from` or `wfc retry RUN --from TASK`")
        }
        (None, _) => {
            return output.fail("name the task to retry: `wfc retry RUN TASK`, or `wfc retry RUN --from TASK` for it and everything after it")
        }
    };
    let store = match Store::open(args, Access::Write, output) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let record = match store.run(run, output) {
        Ok(record) => record,
        Err(code) => return code,
    };
    if let Err(code) = store::task(&record, task, output) {
        return code;
    }
    let tasks = match store.backend.list_tasks(&record.id) {
        Ok(tasks) => tasks,
        Err(error) => return store::report(&error, output),
    };
    let states: HashMap<&str, TaskState> = tasks
        .iter()
        .map(|t| (t.key.task.as_str(), t.state))
        .collect();
    let state_of = |id: &str| states.get(id).copied().unwrap_or(TaskState::Pending);
    let run_word = shell_word(&record.id);
    let below = descendants(&record.plan, task);
    let chosen: Vec<&str> = if downstream {
        record
            .plan
            .tasks
            .iter()
            .map(|t| t.id.as_str())
            .filter(|id| *id == task || below.contains(id))
            .collect()
    } else {
        let state = state_of(task);
        if !matches!(
            state,
            TaskState::Failed | TaskState::Cancelled | TaskState::Rejected
        ) {
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
    let ids: Vec<String> = chosen.iter().map(|id| id.to_string()).collect();
    if let Err(error) = store.backend.reset_tasks(&record.id, &ids, now_millis()) {
        return store::report(&error, output);
    }
    for id in &chosen {
        output.stdout_line(&format!("reset {id} (was {})", state_of(id)));
    }
    if !downstream {
        note_stuck_descendants(&tasks, &below, task, &run_word, output);
    }
    output.stdout_line(&format!(
        "run `wfc resume {run_word}` to run {}",
        if chosen.len() == 1 { "it" } else { "them" }
    ));
    ExitCode::SUCCESS
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
            secrets: Vec::new(),
            tasks: tasks
                .iter()
                .map(|(id, deps)| TaskSpec {
                    id: id.to_string(),
                    title: id.to_string(),
                    action: Action::Command {
                        run: Shell {
                            script: "true".into(),
                            display: "true".into(),
                            args: Vec::new(),
                        },
                    },
                    deps: deps.iter().map(|d| d.to_string()).collect(),
                    retry: 0,
                    timeout_secs: None,
                    priority: 2,
                    labels: Vec::new(),
                    workdir: ".".into(),
                    env: Vec::new(),
                    pass_env: Vec::new(),
                    verify: Vec::new(),
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
