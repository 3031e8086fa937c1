//! `wfc done RUN TASK [--result TEXT]`: mark a task succeeded by hand, after someone did its
//! work outside wfc (fixed what made it fail, or did it themselves). The task's result is the
//! text given, which its dependents read as `TASK.result`; the run's log records who did it.

use super::output::Output;
use super::store::{self, shell_word, BackendArgs, Store};
use crate::backends::Access;
use crate::events::EventKind;
use crate::plan::Action;
use crate::runtime::{now_millis, NewEvent, RunState, TaskKey};
use serde_json::json;
use std::process::ExitCode;

/// Runs `wfc done`.
pub fn run(
    args: &BackendArgs,
    run: &str,
    task: &str,
    result: Option<&str>,
    output: &Output,
) -> ExitCode {
    let (store, record) = match Store::open_run(args, run, Access::Write, output) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let spec = match store::task(&record, task, output) {
        Ok(spec) => spec,
        Err(code) => return code,
    };
    let run_word = shell_word(&record.id);
    if matches!(spec.action, Action::Gate { .. }) {
        return store::refuse(
            &format!(
                "`{task}` is a gate: a person answers it with `wfc approve {run_word} {}`",
                shell_word(task)
            ),
            output,
        );
    }
    if record.state == RunState::Cancelled {
        return store::refuse(
            &format!(
                "run {} was cancelled; `wfc retry {run_word}` puts its tasks back first",
                record.id
            ),
            output,
        );
    }
    let now = now_millis();
    let result = result.unwrap_or("");
    // A task that declares `output:` is done only with an output that fits: the tasks after
    // it read it.
    let typed = match &spec.output {
        None => None,
        Some(declared) => match crate::plan::output::read_output(declared, result) {
            Ok(value) => Some(value.to_string()),
            Err(why) => {
                return store::refuse(
                    &format!(
                        "`{task}` declares `output: {}`, so `--result` must give it: {why}",
                        declared.ty
                    ),
                    output,
                )
            }
        },
    };
    let key = TaskKey::new(record.id.clone(), task);
    if let Err(error) = store.backend.mark_done(&key, result, typed.as_deref(), now) {
        return store::report(&error, output);
    }
    let by = who();
    let event = NewEvent {
        at: now,
        kind: EventKind::TaskSucceeded.as_str().to_string(),
        task: Some(task.to_string()),
        data: json!({ "by_hand": true, "by": by }),
    };
    if let Err(error) = store.backend.append_event(&record.id, &event) {
        output.error(&format!("task `{task}` was marked done, but:"));
        return store::report(&error, output);
    }
    output.stdout_line(&format!(
        "marked {task} done in run {} (by {by})",
        record.id
    ));
    // A failed run whose failure this was may go on: it runs again, or is over now.
    if record.state == RunState::Failed {
        if let Err(error) = store.backend.finish_run(&record.id, RunState::Running, now) {
            return store::report(&error, output);
        }
    }
    match store.backend.settle_run(&record.id, now_millis()) {
        Ok(RunState::Running) => output.stdout_line(&format!(
            "the tasks after it can run now: `wfc resume {run_word}` (a `wfc run` still \
             running goes on by itself)"
        )),
        Ok(state) => output.stdout_line(&format!("run {} {state}", record.id)),
        Err(error) => return store::report(&error, output),
    }
    ExitCode::SUCCESS
}

/// Who marks the task done: the user and the machine, for the run's log.
fn who() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "someone".into());
    format!("{user}@{}", crate::runtime::this_host())
}
