//! Agent adapters: the implementations of the AgentExecutor port, chosen by each task's
//! profile (`adapter = "…"`), or by the run's `--agent` for tasks that name none.
//!
//! Each CLI adapter (one file each) says how to start one fresh headless session of its CLI
//! and how to judge its output; `session.rs` runs it the same way for all. The `command`
//! adapter runs any program. The `human` adapter never reaches here: the engine turns a human
//! task into a wait for `wfc approve`, like a gate.

mod aider;
mod claude;
mod cli;
mod codex;
mod command;
mod cursor;
mod gemini;
mod limit_words;
mod opencode;
mod preflight;
mod profile;
mod reading;
mod session;

pub use claude::DEFAULT_MAX_TURNS;
pub use cli::{CliAgent, Ended, PromptVia, SessionParser};
pub use preflight::check_programs;
pub use profile::Profile;
pub use reading::{session_steps, Step};
pub use session::DEFAULT_AGENT_TIMEOUT;

use crate::ir::Adapter;
use crate::plan::AgentSpec;
use crate::runtime::agent::{AgentExecutor, AgentFuture, AgentReply, AgentRequest};
use std::collections::HashMap;
use tokio::sync::watch;

/// The CLI adapter called `name`, if it is one.
pub fn cli_agent(name: &str) -> Option<&'static dyn CliAgent> {
    match Adapter::from_name(name)? {
        Adapter::ClaudeCode => Some(&claude::ClaudeCode),
        Adapter::Codex => Some(&codex::Codex),
        Adapter::Gemini => Some(&gemini::Gemini),
        Adapter::Aider => Some(&aider::Aider),
        Adapter::Opencode => Some(&opencode::Opencode),
        Adapter::Cursor => Some(&cursor::Cursor),
        Adapter::Command | Adapter::Human => None,
    }
}

/// The values of every CLI adapter's key variables set in wfc's environment, so the run's
/// redactor can keep them out of events, results and errors.
pub fn credential_values() -> Vec<String> {
    Adapter::ALL
        .iter()
        .filter_map(|adapter| cli_agent(adapter.name()))
        .flat_map(|agent| agent.info().key_vars.iter())
        .filter_map(|name| std::env::var(name).ok())
        .filter(|value| value.len() >= 4)
        .collect()
}

/// Runs each agent task with the adapter its profile names.
#[derive(Default)]
pub struct Adapters {
    /// The adapter for tasks that name no profile (`wfc run --agent ADAPTER`).
    default: Option<Adapter>,
    /// Profiles rebound to another adapter (`wfc run --agent PROFILE=ADAPTER`).
    rebound: HashMap<String, Adapter>,
}

impl Adapters {
    /// The adapters, with no default and no rebinding.
    pub fn new() -> Self {
        Adapters::default()
    }

    /// The adapters as `--agent` options choose: `ADAPTER` sets the default for tasks without
    /// a profile; `PROFILE=ADAPTER` runs a profile with another adapter (with the settings that
    /// adapter accepts).
    pub fn from_options(options: &[String]) -> Result<Self, String> {
        let mut adapters = Adapters::new();
        for option in options {
            let (profile, name) = match option.split_once('=') {
                Some((profile, name)) => (Some(profile.trim()), name.trim()),
                None => (None, option.trim()),
            };
            let Some(adapter) = Adapter::from_name(name) else {
                let known: Vec<&str> = Adapter::ALL.iter().map(|a| a.name()).collect();
                let typo = crate::suggest::did_you_mean(name, known.iter().copied())
                    .map(|hint| format!(" ({hint})"))
                    .unwrap_or_default();
                return Err(format!(
                    "`--agent {option}`: `{name}` is not an adapter{typo}; the adapters are {}",
                    known.join(", ")
                ));
            };
            if adapter == Adapter::Human || adapter == Adapter::Command {
                return Err(format!(
                    "`--agent {option}`: the `{name}` adapter needs its own profile in the workflow file (`agent NAME {{ adapter = \"{name}\" … }}`)"
                ));
            }
            match profile {
                Some(profile) if !profile.is_empty() => {
                    adapters.rebound.insert(profile.to_string(), adapter);
                }
                _ => adapters.default = Some(adapter),
            }
        }
        Ok(adapters)
    }

    /// The adapter and settings that run a task of `profile` (declared as `agent` in the
    /// file, if it is), or why there are none.
    fn choose(
        &self,
        profile: Option<&str>,
        agent: Option<&AgentSpec>,
    ) -> Result<AgentSpec, String> {
        let rebound = profile
            .and_then(|profile| self.rebound.get(profile))
            .copied();
        match (agent, rebound, self.default) {
            (Some(spec), Some(adapter), _) => {
                // Keep the settings the new adapter accepts; the others belong to the old one.
                let accepted = adapter.settings();
                Ok(AgentSpec {
                    adapter: adapter.name().to_string(),
                    settings: spec
                        .settings
                        .iter()
                        .filter(|(name, _)| accepted.iter().any(|(n, _)| n == name))
                        .cloned()
                        .collect(),
                })
            }
            (Some(spec), None, _) => Ok(spec.clone()),
            (None, Some(adapter), _) | (None, None, Some(adapter)) => Ok(AgentSpec {
                adapter: adapter.name().to_string(),
                settings: Vec::new(),
            }),
            (None, None, None) => Err(match profile {
                Some(profile) => format!(
                    "the agent profile `{profile}` is not declared in the workflow; declare it (`agent {profile} {{ adapter = \"claude-code\" }}`) or bind it with `--agent {profile}=claude-code`"
                ),
                None => "this task names no agent profile; set `agent = NAME` in the task or in `defaults`, or choose an adapter for the run with `--agent claude-code`".to_string(),
            }),
        }
    }
}

impl AgentExecutor for Adapters {
    fn execute(&self, request: AgentRequest, cancel: watch::Receiver<bool>) -> AgentFuture<'_> {
        Box::pin(async move {
            let spec = match self.choose(request.profile.as_deref(), request.agent.as_ref()) {
                Ok(spec) => spec,
                Err(reason) => return AgentReply::failed(reason),
            };
            let profile = Profile::of(&spec);
            if spec.adapter == Adapter::Command.name() {
                return command::run(request, &profile, cancel).await;
            }
            match cli_agent(&spec.adapter) {
                Some(agent) => session::run_session(agent, &profile, &request, cancel).await,
                None if spec.adapter == Adapter::Human.name() => AgentReply::failed(
                    "a `human` task is answered with `wfc approve RUN TASK --result TEXT`; this engine was asked to run it as a session",
                ),
                None => AgentReply::failed(format!(
                    "`{}` is not an agent adapter of this build of wfc",
                    spec.adapter
                )),
            }
        })
    }
}
