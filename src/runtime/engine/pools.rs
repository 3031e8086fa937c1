//! Pools: an agent profile with `max_parallel = N` runs at most N sessions at once, across
//! every engine sharing the store (`-j` stays each engine's own cap).
//!
//! No backend stores a pool: the engine counts the tasks of the profile that are claimed or
//! running in every running run (`list_tasks`, and each run's plan for the tasks' profiles).
//! Two engines may count at the same moment, so a claim is counted again after it is
//! committed; an engine whose recount finds the pool over its size gives the claim back,
//! uncounted (`unclaim_task`: the attempt never began, so it is neither an attempt nor an
//! interruption). Of
//! the engines that go on, the one that recounted last saw every claim of the others (each
//! was committed before its own recount), so at most N go on.

use super::limits::profile_of;
use super::{Engine, EngineError, TaskKey};
use crate::plan::{Action, TaskSpec};
use crate::runtime::{now_millis, RunState, TaskState};

/// The pool of an agent task: its profile's name and size, when the profile sets
/// `max_parallel`.
pub(super) fn pool_of(spec: &TaskSpec) -> Option<(String, usize)> {
    let Action::Agent {
        agent: Some(agent), ..
    } = &spec.action
    else {
        return None;
    };
    let size = agent
        .settings
        .iter()
        .find(|(name, _)| name == "max_parallel")?
        .1
        .as_u64()?;
    Some((
        profile_of(spec)?,
        usize::try_from(size).unwrap_or(usize::MAX),
    ))
}

impl Engine {
    /// How many tasks of `profile` are claimed or running now, in every running run of the
    /// store.
    pub(super) async fn pool_in_use(&self, profile: &str) -> Result<usize, EngineError> {
        let runs = self.call(|b| b.list_runs()).await?;
        let mut in_use = 0;
        for run in runs.into_iter().filter(|r| r.state == RunState::Running) {
            let id = run.id.clone();
            let tasks = self.call(move |b| b.list_tasks(&id)).await?;
            let held: Vec<_> = tasks
                .into_iter()
                .filter(|t| matches!(t.state, TaskState::Claimed | TaskState::Running))
                .collect();
            if held.is_empty() {
                continue;
            }
            let plan = self.plan(&run.id).await?;
            in_use += held
                .iter()
                .filter_map(|t| plan.task(&t.key.task))
                .filter(|spec| pool_of(spec).is_some_and(|(name, _)| name == profile))
                .count();
        }
        Ok(in_use)
    }

    /// After claiming `key`, whether its pool still has room for it; if not, the claim is
    /// given back uncounted (the attempt never began) and `false` returned.
    pub(super) async fn keep_pool_claim(
        &self,
        key: &TaskKey,
        spec: &TaskSpec,
    ) -> Result<bool, EngineError> {
        let Some((profile, size)) = pool_of(spec) else {
            return Ok(true);
        };
        if self.pool_in_use(&profile).await? <= size {
            return Ok(true);
        }
        let (k, w) = (key.clone(), self.config.worker.clone());
        self.call(move |b| b.unclaim_task(&k, &w, now_millis()))
            .await?;
        Ok(false)
    }
}
