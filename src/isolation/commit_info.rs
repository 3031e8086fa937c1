//! What a commit says of itself: its parents and the wfc trailers naming the run, task and
//! attempt that made it, so `wfc diff` can tell a task's own output commit (one parent, its
//! trailers) from a start commit it left unchanged.

use super::commit_message::{ATTEMPT_TRAILER, RUN_TRAILER, TASK_TRAILER};
use super::{Git, GitError, Oid};

/// A commit's parents and wfc trailers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitInfo {
    /// Its parents, in order.
    pub parents: Vec<Oid>,
    /// `Wfc-Run`, if it has one.
    pub run: Option<String>,
    /// `Wfc-Task`, if it has one.
    pub task: Option<String>,
    /// `Wfc-Attempt`, if it has one.
    pub attempt: Option<String>,
}

impl CommitInfo {
    /// Whether this is the commit an attempt of `task` of `run` made of its work (not a merge
    /// that started it, nor a commit of someone else's).
    pub fn is_work_of(&self, run: &str, task: &str) -> bool {
        self.parents.len() == 1
            && self.run.as_deref() == Some(run)
            && self.task.as_deref() == Some(task)
    }
}

impl Git {
    /// The parents and wfc trailers of `commit`.
    pub fn commit_info(&self, commit: &Oid) -> Result<CommitInfo, GitError> {
        let format = format!(
            "--format=%P%x00%(trailers:key={RUN_TRAILER},valueonly,separator=%x20)%x00\
             %(trailers:key={TASK_TRAILER},valueonly,separator=%x20)%x00\
             %(trailers:key={ATTEMPT_TRAILER},valueonly,separator=%x20)"
        );
        let output = self
            .command()
            .args([
                "log",
                "-1",
                "--no-show-signature",
                &format,
                "--end-of-options",
            ])
            .arg(commit.as_str())
            .run()?;
        let text = output.text();
        let fields: Vec<&str> = text.trim_end_matches('\n').split('\0').collect();
        let [parents, run, task, attempt] = fields.as_slice() else {
            return Err(output.unexpected("expected parents and three trailers"));
        };
        let value = |field: &str| {
            let field = field.trim();
            (!field.is_empty()).then(|| field.to_string())
        };
        Ok(CommitInfo {
            parents: parents
                .split_whitespace()
                .map(Oid::parse)
                .collect::<Result<_, _>>()?,
            run: value(run),
            task: value(task),
            attempt: value(attempt),
        })
    }
}
