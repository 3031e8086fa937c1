//! `wfc approve RUN GATE [--reason TEXT]` and `wfc reject RUN GATE --reason TEXT`: answer a
//! gate that waits for a person, and log a `gate_answered` event so `wfc logs` and the engine
//! running the run see it.

use super::output::Output;
use super::store::{self, shell_word, BackendArgs, Store};
use crate::backends::Access;
use crate::events::EventKind;
use crate::runtime::{now_millis, NewEvent, TaskKey, TaskState};
use serde_json::json;
use std::process::ExitCode;

/// Runs `wfc approve` (`approve`) or `wfc reject`.
pub fn run(
    args: &BackendArgs,
    run: &str,
    gate: &str,
    approve: bool,
    reason: Option<&str>,
    output: &Output,
) -> ExitCode {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if !approve && reason.is_none() {
        return output.fail("a rejection needs a reason: `--reason TEXT`");
    }
    let (store, record) = match Store::open_run(args, run, Access::Write, output) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let spec = match store::task(&record, gate, output) {
        Ok(spec) => spec,
        Err(code) => return code,
    };
    let resolves_conflict = spec.work.on_conflict == crate::ir::OnConflict::Human;
    if !spec.action.waits_for_person() && !resolves_conflict {
        return store::refuse(
            &format!("`{gate}` is a task, not a gate; only gates, `human` tasks and tasks that wait for a person to resolve a conflict (`on_conflict = \"human\"`) are approved or rejected"),
            output,
        );
    }
    let key = TaskKey::new(record.id.clone(), gate);
    let state = match store.backend.get_task(&key) {
        Ok(task) => task.state,
        Err(error) => return store::report(&error, output),
    };
    if state != TaskState::Waiting {
        let why = match state {
            TaskState::Pending | TaskState::Claimed => {
                "; it asks once the tasks it waits for have succeeded"
            }
            TaskState::Approved | TaskState::Rejected => "; it was answered already",
            _ => "",
        };
        return store::refuse(
            &format!(
                "{} `{gate}` is {state}, not waiting for an answer{why}",
                if spec.action.waits_for_person() {
                    "gate"
                } else {
                    "task"
                }
            ),
            output,
        );
    }
    let now = now_millis();
    if let Err(error) = store
        .backend
        .answer_gate(&key, approve, reason.unwrap_or(""), now)
    {
        return store::report(&error, output);
    }
    let event = NewEvent {
        at: now,
        kind: EventKind::GateAnswered.as_str().to_string(),
        task: Some(gate.to_string()),
        data: json!({ "approved": approve, "reason": reason }),
    };
    if let Err(error) = store.backend.append_event(&record.id, &event) {
        output.error(&format!("gate `{gate}` was answered, but:"));
        return store::report(&error, output);
    }
    let run_word = shell_word(&record.id);
    if approve {
        output.stdout_line(&format!("approved {gate} in run {}", record.id));
        output.stdout_line(&format!(
            "a `wfc run` still running goes on by itself; otherwise `wfc resume {run_word}`"
        ));
    } else {
        output.stdout_line(&format!(
            "rejected {gate} in run {}: {}",
            record.id,
            reason.unwrap_or("")
        ));
        output.stdout_line(&format!(
            "the tasks after it will not run; `wfc retry {run_word} {}` asks again",
            shell_word(gate)
        ));
    }
    ExitCode::SUCCESS
}
