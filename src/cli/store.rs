//! What the commands that work on runs share: which backend to open (`--backend URL`, else
//! `WFC_BACKEND`, else the default store in the workspace, the current folder), finding a run
//! (by its id, `latest`, or a unique prefix or suffix of its id) or one of its tasks by id,
//! and reporting a backend error with what to do about it.
//!
//! Exit codes: 1 for what the user named wrongly or at the wrong time (an unknown run or task,
//! a task in the wrong state, no store or no runs yet), 2 for a store that cannot be opened or
//! read (damaged, another program's, a newer wfc's).
//!
//! Only `wfc run` creates a store; the commands that read (`status`, `runs`, `logs`, `store
//! check`) open it read-only, and the others need one that exists.

use super::output::Output;
use crate::backends::{open_backend_with, Access, DEFAULT_BACKEND};
use crate::plan::TaskSpec;
use crate::runtime::{BackendError, BackendErrorKind, RunRecord, TaskBackend};
use crate::suggest::did_you_mean;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// The environment variable that names the backend when `--backend` is not given.
pub const BACKEND_ENV: &str = "WFC_BACKEND";

/// The `--backend` option of every command that works on runs.
#[derive(Debug, Clone, clap::Args)]
pub struct BackendArgs {
    /// Where runs are stored: sqlite:PATH (relative to the current folder),
    /// postgres://USER@HOST:PORT/DB[?schema=NAME], beads:DIR[?bin=br|bd] or memory:.
    #[arg(long, value_name = "URL", env = BACKEND_ENV, default_value = DEFAULT_BACKEND)]
    pub backend: String,
}

/// An open backend and how to name it to a person.
pub struct Store {
    /// The backend.
    pub backend: Arc<dyn TaskBackend>,
    /// The store's path for `sqlite:` (as given, relative to the workspace), else its URL
    /// without any password.
    pub place: String,
    /// The store's file, for `sqlite:`.
    pub file: Option<PathBuf>,
}

/// The file an `sqlite:` URL names, resolved against `workspace` exactly as
/// [`open_backend`] does; `None` for other URLs.
pub fn sqlite_path(url: &str, workspace: &Path) -> Option<(PathBuf, String)> {
    let path = url.strip_prefix("sqlite:")?;
    if path.is_empty() {
        return None;
    }
    let path = path.strip_prefix("//").unwrap_or(path);
    Some((workspace.join(path), path.to_string()))
}

/// The default store of the nearest folder above `folder` that has one, when `folder` has
/// none and `url` is the default: from a subfolder of a project, wfc uses the project's store
/// (as git finds `.git`) instead of making a new one.
fn found_upward(url: &str, folder: &Path) -> Option<String> {
    let relative = url
        .strip_prefix("sqlite:")
        .filter(|_| url == DEFAULT_BACKEND)?;
    if std::fs::symlink_metadata(folder.join(relative)).is_ok() {
        return None;
    }
    folder
        .ancestors()
        .skip(1)
        .map(|above| above.join(relative))
        .find(|store| store.is_file())
        .map(|store| format!("sqlite:{}", store.display()))
}

impl Store {
    /// Opens the backend `args` name, in the current folder, as `access` allows; on failure
    /// prints why and returns the exit code.
    pub fn open(args: &BackendArgs, access: Access, output: &Output) -> Result<Store, ExitCode> {
        let workspace = std::env::current_dir()
            .map_err(|error| output.fail(&format!("cannot read the current folder: {error}")))?;
        Store::open_in(&args.backend, &workspace, access, output)
    }

    /// Opens the backend `url` with relative paths under `workspace`, as `access` allows. A
    /// store that does not exist is created only for [`Access::Create`]; otherwise its
    /// absence is said plainly (exit 1), as these commands work on existing runs and must not
    /// leave an empty store behind.
    pub fn open_in(
        url: &str,
        workspace: &Path,
        access: Access,
        output: &Output,
    ) -> Result<Store, ExitCode> {
        let found = found_upward(url, workspace);
        let url = found.as_deref().unwrap_or(url);
        let (place, file) = match sqlite_path(url, workspace) {
            Some((path, shown)) => {
                // `symlink_metadata`: a dangling link is something in the way, not an absence.
                if access != Access::Create && std::fs::symlink_metadata(&path).is_err() {
                    output.error(&no_store(&path));
                    return Err(ExitCode::from(1));
                }
                (shown, Some(path))
            }
            None => (crate::backends::postgres::redact(url), None),
        };
        let backend =
            open_backend_with(url, workspace, access).map_err(|message| output.fail(&message))?;
        Ok(Store {
            backend,
            place,
            file,
        })
    }

    /// Opens the store as [`Store::open`] does and reads the run `id` in it, as
    /// [`Store::run`] does: what every command about one run starts with.
    pub fn open_run(
        args: &BackendArgs,
        id: &str,
        access: Access,
        output: &Output,
    ) -> Result<(Store, RunRecord), ExitCode> {
        let store = Store::open(args, access, output)?;
        let record = store.run(id, output)?;
        Ok((store, record))
    }

    /// The run `id` names: the run with exactly that id, else `latest` for the newest run,
    /// else the one run whose id starts or ends with `id`. An ambiguous `id` is an error that
    /// lists the runs it could mean; an unknown one suggests a close id and `wfc runs`.
    pub fn run(&self, id: &str, output: &Output) -> Result<RunRecord, ExitCode> {
        match self.backend.get_run(id) {
            Ok(run) => return Ok(run),
            Err(error) if error.kind == BackendErrorKind::NotFound => {}
            Err(error) => return Err(report(&error, output)),
        }
        let runs = self.backend.list_runs().map_err(|e| report(&e, output))?;
        let ids: Vec<&str> = runs.iter().map(|r| r.id.as_str()).collect();
        let found = match RunMatch::of(id, &ids) {
            RunMatch::One(found) => found.to_string(),
            RunMatch::Ambiguous(candidates) => {
                output.error(&format!(
                    "error: `{id}` names {} runs in {}: {}",
                    candidates.len(),
                    self.place,
                    candidates.join(", ")
                ));
                output.error("  help: give more of the run's id");
                return Err(ExitCode::from(1));
            }
            RunMatch::None if id == LATEST => {
                output.error(&no_runs_yet(&self.place));
                return Err(ExitCode::from(1));
            }
            RunMatch::None => {
                let mut message = format!("there is no run `{id}` in {}", self.place);
                if let Some(suggestion) = did_you_mean(id, ids.iter().copied()) {
                    message.push_str(&format!("; {suggestion}"));
                }
                output.error(&format!("error: {message}"));
                output.error("  help: `wfc runs` lists the runs");
                return Err(ExitCode::from(1));
            }
        };
        self.backend.get_run(&found).map_err(|e| report(&e, output))
    }

    /// The run `id` names as [`Store::run`] reads it, or the newest run when `id` is `None`.
    pub fn run_or_newest(&self, id: Option<&str>, output: &Output) -> Result<RunRecord, ExitCode> {
        self.run(id.unwrap_or(LATEST), output)
    }

    /// What to say when there are no runs.
    pub fn no_runs_yet(&self) -> String {
        no_runs_yet(&self.place)
    }
}

/// The word that names the newest run wherever a run id is asked for.
pub const LATEST: &str = "latest";

/// What a word given as a run id matches among the ids of a store, newest first.
#[derive(Debug, PartialEq, Eq)]
enum RunMatch<'a> {
    /// Exactly one run.
    One(&'a str),
    /// Several runs, all listed.
    Ambiguous(Vec<&'a str>),
    /// No run.
    None,
}

impl<'a> RunMatch<'a> {
    /// What `word` names among `ids` (newest first): the id itself, `latest` for the newest,
    /// or the ids that start or end with it. A run id is a timestamp and a random part
    /// (`20250101-120000-a1b2c`), so a prefix picks runs by time and a suffix by their
    /// random part; either is enough when it is unique.
    fn of(word: &str, ids: &[&'a str]) -> RunMatch<'a> {
        if let Some(exact) = ids.iter().find(|id| **id == word) {
            return RunMatch::One(exact);
        }
        if word == LATEST {
            return ids.first().map_or(RunMatch::None, |id| RunMatch::One(id));
        }
        if word.is_empty() {
            return RunMatch::None;
        }
        let candidates: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| id.starts_with(word) || id.ends_with(word))
            .collect();
        match candidates.as_slice() {
            [] => RunMatch::None,
            [one] => RunMatch::One(one),
            _ => RunMatch::Ambiguous(candidates),
        }
    }
}

/// What to say when there is no store at `path`.
pub fn no_store(path: &Path) -> String {
    let folder = path.parent().unwrap_or(Path::new("."));
    format!(
        "error: no wfc store in {} (no file `{}`); start a run with `wfc run FILE`",
        folder.display(),
        path.file_name().unwrap_or_default().to_string_lossy()
    )
}

fn no_runs_yet(place: &str) -> String {
    format!("no runs yet in {place}; start one with `wfc run FILE`")
}

/// The task `id` of `run`'s plan; an unknown id is an error that suggests a close one.
pub fn task<'a>(run: &'a RunRecord, id: &str, output: &Output) -> Result<&'a TaskSpec, ExitCode> {
    if let Some(task) = run.plan.task(id) {
        return Ok(task);
    }
    let mut message = format!("run `{}` has no task `{id}`", run.id);
    let ids = run.plan.tasks.iter().map(|t| t.id.as_str());
    if let Some(suggestion) = did_you_mean(id, ids) {
        message.push_str(&format!("; {suggestion}"));
    }
    output.error(&format!("error: {message}"));
    output.error(&format!(
        "  help: `wfc status {}` lists its tasks",
        shell_word(&run.id)
    ));
    Err(ExitCode::from(1))
}

/// Prints a backend error with its hint and returns the exit code: 1 for a missing run or
/// task or a state that does not allow the operation, 2 for a store that cannot be read or
/// written.
pub fn report(error: &BackendError, output: &Output) -> ExitCode {
    output.error(&format!("error: {}", error.message));
    if let Some(hint) = &error.hint {
        output.error(&format!("  help: {hint}"));
    }
    match error.kind {
        BackendErrorKind::NotFound | BackendErrorKind::Conflict => ExitCode::from(1),
        BackendErrorKind::Storage => ExitCode::from(2),
    }
}

/// Prints a user-level failure (exit 1): the run or task is not in a state that allows it.
pub fn refuse(message: &str, output: &Output) -> ExitCode {
    output.error(&format!("error: {message}"));
    ExitCode::from(1)
}

pub use crate::shell_word::shell_word;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_named_by_its_id_latest_or_a_unique_prefix_or_suffix() {
        let ids = [
            "20250102-090000-bbbbb",
            "20250101-120000-aaaaa",
            "20250101-110000-ccc12",
        ];
        assert_eq!(RunMatch::of("latest", &ids), RunMatch::One(ids[0]));
        assert_eq!(RunMatch::of("latest", &[]), RunMatch::None);
        assert_eq!(RunMatch::of(ids[1], &ids), RunMatch::One(ids[1]));
        assert_eq!(RunMatch::of("20250102", &ids), RunMatch::One(ids[0]));
        assert_eq!(RunMatch::of("aaaaa", &ids), RunMatch::One(ids[1]));
        assert_eq!(
            RunMatch::of("20250101", &ids),
            RunMatch::Ambiguous(vec![ids[1], ids[2]])
        );
        assert_eq!(RunMatch::of("zzz", &ids), RunMatch::None);
        assert_eq!(RunMatch::of("", &ids), RunMatch::None);
    }

    #[test]
    fn words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("build-1.2"), "build-1.2");
        assert_eq!(shell_word("review[style]"), "'review[style]'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn sqlite_paths_resolve_like_open_backend() {
        let workspace = Path::new("/w");
        assert_eq!(
            sqlite_path("sqlite:.wfc/state.db", workspace),
            Some((PathBuf::from("/w/.wfc/state.db"), ".wfc/state.db".into()))
        );
        assert_eq!(
            sqlite_path("sqlite:///tmp/s.db", workspace).map(|p| p.0),
            Some(PathBuf::from("/tmp/s.db"))
        );
        assert_eq!(sqlite_path("memory:", workspace), None);
        assert_eq!(sqlite_path("sqlite:", workspace), None);
    }
}
