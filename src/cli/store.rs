//! What the commands that work on runs share: which backend to open (`--backend URL`, else
//! `WFC_BACKEND`, else the default store in the workspace, the current folder), finding a run
//! or one of its tasks by id, and reporting a backend error with what to do about it.
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
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// The environment variable that names the backend when `--backend` is not given.
pub const BACKEND_ENV: &str = "WFC_BACKEND";

/// The `--backend` option of every command that works on runs.
#[derive(Debug, Clone, clap::Args)]
pub struct BackendArgs {
    /// Where runs are stored: sqlite:PATH (relative to the current folder), beads:DIR[?bin=br|bd]
    /// or memory:.
    #[arg(long, value_name = "URL", env = BACKEND_ENV, default_value = DEFAULT_BACKEND)]
    pub backend: String,
}

/// An open backend and how to name it to a person.
pub struct Store {
    /// The backend.
    pub backend: Arc<dyn TaskBackend>,
    /// The store's path for `sqlite:` (as given, relative to the workspace), else its URL.
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
            None => (url.to_string(), None),
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

    /// The run `id`; an unknown id is an error that suggests a close one and `wfc runs`.
    pub fn run(&self, id: &str, output: &Output) -> Result<RunRecord, ExitCode> {
        match self.backend.get_run(id) {
            Ok(run) => Ok(run),
            Err(error) if error.kind == BackendErrorKind::NotFound => {
                let ids = self
                    .backend
                    .list_runs()
                    .map(|runs| runs.into_iter().map(|r| r.id).collect::<Vec<_>>())
                    .unwrap_or_default();
                let mut message = format!("there is no run `{id}` in {}", self.place);
                if let Some(suggestion) = did_you_mean(id, ids.iter().map(String::as_str)) {
                    message.push_str(&format!("; {suggestion}"));
                }
                output.error(&format!("error: {message}"));
                output.error("  help: `wfc runs` lists the runs");
                Err(ExitCode::from(1))
            }
            Err(error) => Err(report(&error, output)),
        }
    }

    /// The run `id`, or the newest run when `id` is `None`.
    pub fn run_or_newest(&self, id: Option<&str>, output: &Output) -> Result<RunRecord, ExitCode> {
        match id {
            Some(id) => self.run(id, output),
            None => match self.newest_run_id() {
                Ok(Some(id)) => self.run(&id, output),
                Ok(None) => {
                    output.error(&no_runs_yet(&self.place));
                    Err(ExitCode::from(1))
                }
                Err(error) => Err(report(&error, output)),
            },
        }
    }

    /// The id of the newest run, if there is one.
    pub fn newest_run_id(&self) -> Result<Option<String>, BackendError> {
        Ok(self.backend.list_runs()?.into_iter().next().map(|r| r.id))
    }

    /// What to say when there are no runs.
    pub fn no_runs_yet(&self) -> String {
        no_runs_yet(&self.place)
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

/// `word` as one shell word, quoted only when it needs to be (`review[style]` would glob), so
/// the commands wfc suggests can be pasted as they are.
pub fn shell_word(word: &str) -> Cow<'_, str> {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.,:/@%+=".contains(c));
    if plain {
        Cow::Borrowed(word)
    } else {
        Cow::Owned(format!("'{}'", word.replace('\'', r"'\''")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
