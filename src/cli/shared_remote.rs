//! `wfc run --remote URL|none`: the shared remote a run isolated in git moves its work
//! through, so engines on other machines can work on it in clones of their own. Decided (and
//! the run's base pushed there) before anything is stored: a run whose remote cannot be
//! reached does not start.
//!
//! Without `--remote`, a run isolated in git on a store that engines on many machines share
//! (Postgres) takes the workspace's `origin`, if it has one; a run on a store of one machine
//! (SQLite, beads, memory) moves nothing unless asked, so a local run never pushes.

use crate::isolation::{Git, Oid, RemoteUrl};
use crate::plan::{Isolation, Plan};
use crate::runtime::RunRepository;
use crate::workspaces::remote::SharedRemote;
use std::path::{Path, PathBuf};

/// The word `--remote` takes for "no remote".
const NO_REMOTE: &str = "none";

/// The repository run `run` of `plan` (in `workspace`, on the store `backend`) moves its work
/// through, with its base pushed there, or `None`; or why the run cannot start.
pub fn decide(
    asked: Option<&str>,
    plan: &Plan,
    workspace: &Path,
    backend: &str,
    run: &str,
) -> Result<Option<RunRepository>, String> {
    let Isolation::Git { base, .. } = &plan.isolation else {
        return match asked {
            Some(url) if url != NO_REMOTE => Err(format!(
                "--remote {url}: only a run isolated in git moves its work through a remote, \
                 and this one works in the folder (`--isolation git` isolates it)"
            )),
            _ => Ok(None),
        };
    };
    let git = Git::open(workspace).map_err(|e| format!("--remote: {e}"))?;
    let (url, from) = match asked {
        Some(NO_REMOTE) => return Ok(None),
        Some(url) => (url.to_string(), "--remote"),
        None if is_shared(backend) => match git.remote_url("origin") {
            Ok(Some(url)) => (url, "the workspace's `origin`"),
            Ok(None) => return Ok(None),
            Err(error) => return Err(format!("reading the workspace's `origin`: {error}")),
        },
        None => return Ok(None),
    };
    let top = git.work_tree().unwrap_or(workspace);
    let url = RemoteUrl::parse(&url, top).map_err(|e| format!("{from}: {e}"))?;
    let base = Oid::parse(base).map_err(|e| format!("the run's base commit: {e}"))?;
    let remote = SharedRemote::new(url.as_str(), run, top)?;
    remote.push_base(&git, &base).map_err(|why| {
        format!(
            "the run's work moves through {url} ({from}), which this machine cannot reach: \
             {why}\n(`--remote URL` names another remote; `--remote none` keeps the run on \
             this machine)"
        )
    })?;
    Ok(Some(RunRepository {
        remote: url.as_str().to_string(),
        base: base.as_str().to_string(),
    }))
}

/// The top of the clone `here` is in, where a run shared through `remote` goes on when its
/// own folder is out of reach (`wfc resume` on another machine); or what to do when `here`
/// is in none.
pub fn clone_here(here: &Path, remote: &str) -> Result<PathBuf, String> {
    let git = Git::open(here).map_err(|error| {
        format!(
            "its work moves through {remote}, so it goes on in any clone of that: run this \
             command inside one (`git clone {remote}`); {} is in none ({error})",
            here.display()
        )
    })?;
    Ok(git.work_tree().unwrap_or(here).to_path_buf())
}

/// Whether the store `backend` names is one engines on many machines share.
fn is_shared(backend: &str) -> bool {
    crate::backends::url::is_postgres(backend)
}
