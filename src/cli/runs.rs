//! `wfc runs [--json]`: every run in the store, newest first.

use super::human::{self, Cell, Paint, Tone};
use super::output::Output;
use super::store::{self, BackendArgs, Store};
use crate::backends::Access;
use crate::runtime::{now_millis, Millis, RunSummary};
use std::process::ExitCode;

/// Runs `wfc runs`.
pub fn run(args: &BackendArgs, as_json: bool, output: &Output) -> ExitCode {
    let store = match Store::open(args, Access::Read, output) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let runs = match store.backend.list_runs() {
        Ok(runs) => runs,
        Err(error) => return store::report(&error, output),
    };
    if as_json {
        output.stdout_line(&serde_json::to_string_pretty(&runs).unwrap_or_default());
    } else if runs.is_empty() {
        output.error(&store.no_runs_yet());
    } else {
        for line in to_text(&runs, now_millis(), human::width(), Paint::stdout()) {
            output.stdout_line(&line);
        }
    }
    ExitCode::SUCCESS
}

/// The table `wfc runs` prints.
fn to_text(runs: &[RunSummary], now: Millis, width: usize, paint: Paint) -> Vec<String> {
    let rows: Vec<Vec<Cell>> = runs
        .iter()
        .map(|run| {
            vec![
                Cell::plain(run.id.clone()),
                Cell::plain(run.workflow.clone()),
                Cell::toned(run.state.as_str(), Tone::run(run.state)),
                Cell::plain(format!("{}/{}", run.succeeded, run.tasks)),
                Cell::plain(human::ago(run.created_at, now)),
                Cell::plain(run.source.clone()),
            ]
        })
        .collect();
    human::table(
        &["RUN", "WORKFLOW", "STATE", "TASKS", "CREATED", "SOURCE"],
        &rows,
        width,
        paint,
    )
}
