//! `wfc store check`: reads every page of the SQLite store and every run in it (or, for a
//! PostgreSQL store, every run, task and dependency in one snapshot), and says what is wrong,
//! if anything. The checks `wfc` makes whenever it opens the store or reads a run
//! are cheap ones; this is the full one, which takes time in proportion to the store's size.

use super::human;
use super::output::Output;
use super::store::{self, sqlite_path, BackendArgs};
use crate::backends::{Access, PostgresBackend, SqliteBackend};
use std::process::ExitCode;

/// Runs `wfc store check`: exit 0 when the store is sound, 2 when it is damaged or cannot be
/// read, 1 when there is no store or the backend is not an SQLite one.
pub fn run(args: &BackendArgs, output: &Output) -> ExitCode {
    let workspace = match std::env::current_dir() {
        Ok(workspace) => workspace,
        Err(error) => return output.fail(&format!("cannot read the current folder: {error}")),
    };
    if crate::backends::url::is_postgres(&args.backend) {
        return check_postgres(&args.backend, output);
    }
    let Some((path, shown)) = sqlite_path(&args.backend, &workspace) else {
        return store::refuse(
            &format!(
                "`wfc store check` checks SQLite stores (`sqlite:PATH`) and PostgreSQL ones \
                 (`postgres://…`), not `{}`",
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
    let found = Found {
        shown: &shown,
        named: &path.display().to_string(),
        runs: check.runs,
        tasks: check.tasks,
        events: check.events,
        problems: &check.problems,
    };
    found.report(
        &format!(
            "move `{}` aside to start with an empty store (its runs are then lost), or \
             restore it from a backup",
            path.display()
        ),
        output,
    )
}

/// Checks the Postgres store `url` names: exit 0 when it is sound, 2 when it is damaged or
/// cannot be read, 1 when there is no store there.
fn check_postgres(url: &str, output: &Output) -> ExitCode {
    let backend = match PostgresBackend::open(url, Access::Read) {
        Ok(backend) => backend,
        Err(error) => return store::report(&error, output),
    };
    let check = match backend.check() {
        Ok(check) => check,
        Err(error) => return store::report(&error, output),
    };
    let shown = crate::backends::postgres::redact(url);
    let found = Found {
        shown: &format!("{shown} (schema version {})", check.version),
        named: &shown,
        runs: check.runs,
        tasks: check.tasks,
        events: check.events,
        problems: &check.problems,
    };
    found.report(
        "restore the database from a backup, or drop the schema (`DROP SCHEMA NAME \
         CASCADE`) to start with an empty store (its runs are then lost)",
        output,
    )
}

/// What a check found in a store, as it is reported.
struct Found<'a> {
    /// The store as the line of a sound one names it.
    shown: &'a str,
    /// The store as the error names it.
    named: &'a str,
    runs: usize,
    tasks: usize,
    events: usize,
    problems: &'a [String],
}

impl Found<'_> {
    /// Prints the result: one line for a sound store (exit 0), else every problem and `help`
    /// (exit 2).
    fn report(&self, help: &str, output: &Output) -> ExitCode {
        let contents = format!(
            "{}, {}, {}",
            human::plural(self.runs, "run"),
            human::plural(self.tasks, "task"),
            human::plural(self.events, "event")
        );
        if self.problems.is_empty() {
            output.stdout_line(&format!(
                "store {}: {contents}; no problems found",
                self.shown
            ));
            return ExitCode::SUCCESS;
        }
        output.error(&format!(
            "error: the state store `{}` is damaged ({contents}):",
            self.named
        ));
        for problem in self.problems {
            output.error(&format!("  - {problem}"));
        }
        output.error(&format!("  help: {help}"));
        ExitCode::from(2)
    }
}
