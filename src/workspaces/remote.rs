//! How the work of a run isolated in git moves between machines: through one shared remote
//! (`wfc run --remote URL`). Each engine works in a clone of its own; before an attempt it
//! fetches the commits the attempt starts from that its clone lacks (the run's base, its
//! upstream tasks' outputs), and once an attempt's work is kept it pushes the output commit
//! under the attempt's own ref, `refs/wfc/RUN/outputs/TASK/N` (and, for people, the task's,
//! `refs/wfc/RUN/tasks/TASK`). Every ref is written by one task's holder only, so two engines
//! pushing at once never push over each other's work, and an engine whose claim ran out while
//! it pushed cannot replace the output of the attempt after it; the run's result branch is
//! pushed once, by the engine that ends the run.
//!
//! A fetch or push that fails means this machine cannot reach the remote (or the remote lacks
//! what the store says is there): the engine gives the task back for another machine.

use super::Upstream;
use crate::isolation::{Git, GitError, Oid, Publish, RefName, RemoteUrl};
use std::path::Path;

/// What git said when talking to the remote failed: its own words, without the command line
/// (the URL and refs are in the message already).
fn said(error: &GitError) -> String {
    match error {
        GitError::Failed { stderr, .. } if !stderr.trim().is_empty() => {
            stderr.trim().replace('\n', "; ")
        }
        other => other.to_string(),
    }
}

/// Where the remote keeps a commit an attempt needs: a ref, or one of the refs in a folder.
#[derive(Clone, Debug)]
pub enum KeptIn {
    /// This ref (`refs/wfc/RUN/base`).
    Ref(RefName),
    /// One of the refs in this folder (`refs/wfc/RUN/outputs/TASK`, one ref an attempt).
    Folder(RefName),
}

/// The remote run `run`'s work moves through.
#[derive(Clone, Debug)]
pub struct SharedRemote {
    url: RemoteUrl,
    run: String,
}

impl SharedRemote {
    /// The remote at `url` (as the run recorded it) for run `run`.
    pub fn new(url: &str, run: &str, from: &Path) -> Result<SharedRemote, String> {
        let url = RemoteUrl::parse(url, from).map_err(|e| format!("the run's remote: {e}"))?;
        Ok(SharedRemote {
            url,
            run: run.to_string(),
        })
    }

    /// The remote's URL.
    pub fn url(&self) -> &RemoteUrl {
        &self.url
    }

    /// The commits an attempt starts from, each with where it is kept on the remote: the
    /// run's base, and the outputs of `upstream` (among the refs of their attempts).
    pub fn start_commits(
        &self,
        base: &Oid,
        upstream: &[Upstream],
    ) -> Result<Vec<(KeptIn, Oid)>, String> {
        let mut wanted = vec![(KeptIn::Ref(self.base_ref()?), base.clone())];
        for task in upstream {
            let folder = RefName::outputs_of(&self.run, &task.task)
                .map_err(|e| format!("the refs of task `{}`: {e}", task.task))?;
            let output = Oid::parse(&task.output)
                .map_err(|e| format!("the output of task `{}`: {e}", task.task))?;
            wanted.push((KeptIn::Folder(folder), output));
        }
        Ok(wanted)
    }

    /// Fetches, by the refs that keep them, those of `wanted` that `git`'s repository lacks;
    /// nothing is fetched when it has them all. Fails when the remote cannot be reached or
    /// does not have them.
    pub fn fetch_missing(&self, git: &Git, wanted: &[(KeptIn, Oid)]) -> Result<(), String> {
        let missing = |wanted: &[(KeptIn, Oid)]| -> Result<Vec<(KeptIn, Oid)>, String> {
            let mut missing = Vec::new();
            for (kept, commit) in wanted {
                if !git.has_commit(commit).map_err(|e| e.to_string())? {
                    missing.push((kept.clone(), commit.clone()));
                }
            }
            Ok(missing)
        };
        let lacking = missing(wanted)?;
        if lacking.is_empty() {
            return Ok(());
        }
        let (mut refs, mut folders) = (Vec::new(), Vec::new());
        for (kept, _) in &lacking {
            match kept {
                KeptIn::Ref(name) => refs.push(name.clone()),
                KeptIn::Folder(folder) => folders.push(folder.clone()),
            }
        }
        self.fetch(git, &refs, &folders)?;
        if let Some((kept, commit)) = missing(&lacking)?.first() {
            let name = match kept {
                KeptIn::Ref(name) | KeptIn::Folder(name) => name,
            };
            return Err(format!(
                "the run's remote {} does not have commit {} under `{name}`",
                self.url,
                commit.short()
            ));
        }
        Ok(())
    }

    fn fetch(&self, git: &Git, refs: &[RefName], folders: &[RefName]) -> Result<(), String> {
        git.fetch_refs(&self.url, refs, folders).map_err(|e| {
            format!(
                "cannot fetch from the run's remote {}: {}",
                self.url,
                said(&e)
            )
        })
    }

    /// Pushes `refs` to the remote in one push.
    pub fn push(&self, git: &Git, refs: &[Publish]) -> Result<(), String> {
        git.push_refs(&self.url, refs)
            .map_err(|e| format!("cannot push to the run's remote {}: {}", self.url, said(&e)))
    }

    /// Publishes `output`, the output commit of attempt `attempt` of task `task`: under the
    /// attempt's own ref, which downstream tasks fetch (an engine whose claim ran out cannot
    /// push over it), and under the task's ref, for people, replacing what an earlier attempt
    /// left there.
    pub fn push_output(
        &self,
        git: &Git,
        task: &str,
        attempt: u32,
        output: &Oid,
    ) -> Result<(), String> {
        let named = |e| format!("the refs of task `{task}`: {e}");
        let own = RefName::attempt_output(&self.run, task, attempt).map_err(named)?;
        let shown = RefName::task_output(&self.run, task).map_err(named)?;
        let publish = |to, force| Publish {
            commit: output.clone(),
            to,
            force,
        };
        self.push(git, &[publish(own, true), publish(shown, true)])
    }

    /// Fetches what the failed attempts of `task` changed (`refs/wfc/RUN/attempts/TASK/N`),
    /// wherever they ran, for a retry that starts from them (`retry_from = "failed"`).
    pub fn fetch_attempts(&self, git: &Git, task: &str) -> Result<(), String> {
        let folder = RefName::attempts_of(&self.run, task)
            .map_err(|e| format!("the attempts of task `{task}`: {e}"))?;
        self.fetch(git, &[], &[folder])
    }

    /// Publishes what failed attempt `name` changed (`changes`), so a retry on another
    /// machine can start from it.
    pub fn push_attempt(&self, git: &Git, name: &RefName, changes: &Oid) -> Result<(), String> {
        self.push(
            git,
            &[Publish {
                commit: changes.clone(),
                to: name.clone(),
                force: true,
            }],
        )
    }

    /// Publishes the run's base commit, so clones on other machines can start from it even
    /// when it was never pushed anywhere else.
    pub fn push_base(&self, git: &Git, base: &Oid) -> Result<(), String> {
        self.push(
            git,
            &[Publish {
                commit: base.clone(),
                to: self.base_ref()?,
                force: true,
            }],
        )
    }

    fn base_ref(&self) -> Result<RefName, String> {
        RefName::run_base(&self.run).map_err(|e| format!("the run's base ref: {e}"))
    }
}
