//! `wfc store check`: reads every page of the SQLite store and every run in it, and says what
//! is wrong, if anything. The checks `wfc` makes whenever it opens the store or reads a run
//! are cheap ones; this is the full one, which takes time in proportion to the store's size.

use super::human;
use super::output::Output;
use super::store::{self, sqlite_path, BackendArgs};
use crate::backends::{Access, SqliteBackend};
use std::process::ExitCode;

/// Runs `wfc store check`: exit 0 when the store is sound, 2 when it is damaged or cannot be
/// read, 1 when there is no store or the backend is not an SQLite one.
pub fn run(args: &BackendArgs, output: &Output) -> ExitCode {
    let workspace = match std::env::current_dir() {
        Ok(workspace) => workspace,
        Err(error) => return output.fail(&format!("cannot read the current folder: {error}")),
    };
    let Some((path, shown)) = sqlite_path(&args.backend, &workspace) else {
        return store::refuse(
            &format!(
                "`wfc store check` checks SQLite stores (`sqlite:PATH`), not `{}`",
                crate::backends::postgres::redact(&args.backend)
            ),
            output,
        );
    };
    if std::fs::symlink_metadata(&path).is_err() {
        output.error(&store::no_store(&path));
        return ExitCode::from(1);
    }
    // Read-only, as every reading command opens it: a check changes nothing.
    let backend = match SqliteBackend::open_with(&path, Access::Read) {
        Ok(backend) => backend,
        Err(error) => return store::report(&error, output),
    };
    let check = match backend.check() {
        Ok(check) => check,
        Err(error) => return store::report(&error, output),
    };
    let contents = format!(
        "{}, {}, {}",
        human::plural(check.runs, "run"),
        human::plural(check.tasks, "task"),
        human::plural(check.events, "event")
    );
    if check.problems.is_empty() {
        output.stdout_line(&format!("store {shown}: {contents}; no problems found"));
        return ExitCode::SUCCESS;
    }
    output.error(&format!(
        "error: the state store `{}` is damaged ({contents}):",
        path.display()
    ));
    for problem in &check.problems {
        output.error(&format!("  - {problem}"));
    }
    output.error(&format!(
        "  help: move `{}` aside to start with an empty store (its runs are then lost), or \
         restore it from a backup",
        path.display()
    ));
    ExitCode::from(2)
}
