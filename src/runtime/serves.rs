//! Which tasks an engine takes (`wfc worker --labels …`, `--profiles …`): a machine without
//! Codex takes no Codex task, and a machine with a GPU the tasks labelled for it, while the
//! other engines sharing the store take the rest.

use crate::plan::{Action, TaskSpec};

/// The tasks an engine serves; empty lists serve every task.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Serves {
    /// A task must carry one of these labels.
    pub labels: Vec<String>,
    /// An agent task's profile (`default` for the run's `--agent`) or its adapter must be one
    /// of these; command tasks and gates need none.
    pub profiles: Vec<String>,
}

impl Serves {
    /// Whether the engine takes `spec`.
    pub fn task(&self, spec: &TaskSpec) -> bool {
        let labelled =
            self.labels.is_empty() || spec.labels.iter().any(|label| self.labels.contains(label));
        let served_by_profile = match &spec.action {
            Action::Agent { profile, agent, .. } if !spec.action.waits_for_person() => {
                let name = profile.as_deref().unwrap_or("default");
                self.profiles.is_empty()
                    || self.profiles.iter().any(|wanted| {
                        wanted == name || agent.as_ref().is_some_and(|a| a.adapter == *wanted)
                    })
            }
            _ => true,
        };
        labelled && served_by_profile
    }
}
