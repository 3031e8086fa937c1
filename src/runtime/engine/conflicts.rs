//! An attempt whose upstream tasks' work conflicts (`on_conflict = "agent"` or `"human"`):
//! the workspace checks the conflict out with git's markers, and the engine has it resolved
//! before the task's own work, by a fresh agent session or by a person while the task waits.

use super::{shell_word, AgentRequest, Arc, AttemptFolder, AttemptOf, Duration};
use super::{Action, AttemptStart, Claim, Engine, EngineError, RunInfo, TaskKey, TaskSpec};
use crate::runtime::transcript::SessionPurpose;
use crate::workspaces::conflicts::{resolution_prompt, resolution_question};
use tokio::sync::watch;

impl Engine {
    /// Has a fresh session of the task's agent (a command task's: the run's default agent)
    /// resolve the conflict checked out in `folder`, then takes the resolution as the
    /// attempt's start. Returns the folder to go on in, and why the attempt fails if it does.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn resolve_conflict(
        self: &Arc<Self>,
        info: &RunInfo,
        key: &TaskKey,
        spec: &TaskSpec,
        (claim, start): (&Claim, &Arc<AttemptStart>),
        of: &AttemptOf,
        folder: AttemptFolder,
        cancel: watch::Receiver<bool>,
    ) -> (AttemptFolder, Result<(), String>) {
        let Some(conflict) = folder.conflict.clone() else {
            return (folder, Ok(()));
        };
        let (profile, agent) = match &spec.action {
            Action::Agent { profile, agent, .. } => (profile.clone(), agent.clone()),
            _ => (None, None),
        };
        let env = match self.task_env(key, spec, claim, &folder.env) {
            Ok(env) => env,
            Err(error) => return (folder, Err(error)),
        };
        let sandbox = match self.sandbox_of(key, spec, &folder).await {
            Ok(sandbox) => sandbox,
            Err(error) => return (folder, Err(error)),
        };
        // The session is paid from the run's budget like any other, or not started.
        let max_budget_usd = match self.conflict_budget(key, spec).await {
            Ok(Ok(allowance)) => allowance.max_usd,
            Ok(Err(_)) => {
                let why = "the budget cannot pay for a session to resolve the conflict";
                return (folder, Err(why.to_string()));
            }
            Err(error) => return (folder, Err(error.to_string())),
        };
        let prompt = resolution_prompt(&key.task, &spec.title, &conflict);
        let transcript = self
            .record_session(key, claim.attempt, SessionPurpose::ResolveConflict, &prompt)
            .await;
        let request = AgentRequest {
            key: key.clone(),
            attempt: claim.attempt,
            prompt,
            transcript,
            profile,
            agent,
            on_spawn: Some(Self::spawn_hook(start)),
            workdir: folder.root.clone(),
            env,
            timeout: spec.timeout_secs.map(Duration::from_secs),
            progress: self.progress(key),
            sandbox,
            max_budget_usd,
            output_schema: None,
        };
        let reply = self.agents.execute(request, cancel).await;
        // Counted like any session: in the run's spending, and its limit makes the profile wait.
        self.session_ended(key, spec, claim.attempt, &reply, Some("resolve a conflict"));
        if let Err(error) = reply.outcome {
            return (
                folder,
                Err(format!(
                    "the session resolving the conflict failed: {error}"
                )),
            );
        }
        let Ok(work) = &info.work else {
            return (folder, Err("the run's workspace is gone".to_string()));
        };
        let (of, unresolved) = (of.clone(), folder.clone());
        match crate::workspaces::call(work, move |work| work.resolved(&of, &unresolved)).await {
            Ok(resolved) => (resolved, Ok(())),
            Err(why) => (folder, Err(why)),
        }
    }

    /// Puts a task whose upstream work conflicts in waiting, for a person to resolve the
    /// conflict checked out in `folder` (`on_conflict = "human"`); approved, it runs again
    /// from the resolution.
    pub(super) async fn wait_for_resolution(
        &self,
        key: &TaskKey,
        folder: &AttemptFolder,
    ) -> Result<(), EngineError> {
        let Some(conflict) = &folder.conflict else {
            return Ok(());
        };
        let (run, task) = (key.run.as_str(), shell_word(&key.task));
        self.wait_with_question(
            key,
            serde_json::json!({
                "ask": resolution_question(run, &task, &folder.root, conflict),
                "human_task": false,
                "conflict": conflict.files,
                "worktree": folder.root.display().to_string(),
                "approve": format!("wfc approve {run} {task}"),
                "reject": format!("wfc reject {run} {task} --reason \"…\""),
            }),
        )
        .await
    }
}
