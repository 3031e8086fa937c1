//! Agent adapters: the implementations of the AgentExecutor port, chosen by each task's
//! profile (`adapter = "…"`).

mod command;

use crate::runtime::agent::{AgentExecutor, AgentFuture, AgentRequest};
use tokio::sync::watch;

/// Runs each agent task with the adapter its profile names.
#[derive(Default)]
pub struct Adapters;

impl Adapters {
    /// The adapters this build of wfc has.
    pub fn new() -> Self {
        Adapters
    }
}

/// A profile setting's list of strings (`args`, `command`).
fn strings(settings: &[(String, serde_json::Value)], name: &str) -> Vec<String> {
    settings
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.as_array())
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A profile's `env` setting: stored as a list of `[key, value]` pairs.
fn env(settings: &[(String, serde_json::Value)]) -> Vec<(String, String)> {
    settings
        .iter()
        .find(|(n, _)| n == "env")
        .and_then(|(_, v)| v.as_array())
        .map(|pairs| {
            pairs
                .iter()
                .filter_map(|pair| {
                    let pair = pair.as_array()?;
                    Some((
                        pair.first()?.as_str()?.to_string(),
                        pair.get(1)?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

impl AgentExecutor for Adapters {
    fn execute(&self, request: AgentRequest, cancel: watch::Receiver<bool>) -> AgentFuture<'_> {
        Box::pin(async move {
            let Some(agent) = request.agent.clone() else {
                return Err("this task names no agent profile; declare one (`agent NAME { adapter = \"…\" }`) and set `agent = NAME` in the task or in `defaults`".into());
            };
            match agent.adapter.as_str() {
                "command" => {
                    let argv = strings(&agent.settings, "command");
                    command::run(request, &argv, &env(&agent.settings), cancel).await
                }
                other => Err(format!(
                    "the `{other}` adapter is not available in this build of wfc yet; the `command` adapter runs any program with the prompt on its stdin"
                )),
            }
        })
    }
}
