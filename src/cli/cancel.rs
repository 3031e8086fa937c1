//! `wfc cancel RUN`: end a running run as `cancelled`, with every task that has not ended,
//! and log a `run_finished` event so `wfc logs` and the engine running it see it.

use super::human;
use super::output::Output;
use super::store::{self, BackendArgs, Store};
use crate::backends::Access;
use crate::events::EventKind;
use crate::runtime::{now_millis, NewEvent, RunState};
use serde_json::json;
use std::process::ExitCode;

/// Runs `wfc cancel`.
pub fn run(args: &BackendArgs, run: &str, output: &Output) -> ExitCode {
    let (store, record) = match Store::open_run(args, run, Access::Write, output) {
        Ok(found) => found,
        Err(code) => return code,
    };
    if record.state != RunState::Running {
        return store::refuse(
            &format!(
                "run `{}` already ended: {}; there is nothing to cancel",
                record.id, record.state
            ),
            output,
        );
    }
    let open = match store.backend.list_tasks(&record.id) {
        Ok(tasks) => tasks.iter().filter(|t| !t.state.is_final()).count(),
        Err(error) => return store::report(&error, output),
    };
    let now = now_millis();
    if let Err(error) = store
        .backend
        .finish_run(&record.id, RunState::Cancelled, now)
    {
        return store::report(&error, output);
    }
    let event = NewEvent {
        at: now,
        kind: EventKind::RunFinished.as_str().to_string(),
        task: None,
        data: json!({ "state": RunState::Cancelled, "by": "wfc cancel" }),
    };
    if let Err(error) = store.backend.append_event(&record.id, &event) {
        output.error(&format!("run `{}` was cancelled, but:", record.id));
        return store::report(&error, output);
    }
    output.stdout_line(&if open == 0 {
        format!("cancelled run {}", record.id)
    } else {
        format!(
            "cancelled run {} and its {} not yet ended",
            record.id,
            human::plural(open, "task")
        )
    });
    ExitCode::SUCCESS
}
