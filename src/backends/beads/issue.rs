//! What the beads issue of a task holds: a title, a description a person (or an agent working
//! from beads) can act on, type `task`, the task's priority, and labels that tie it to wfc
//! and to its run.

use crate::plan::{prompt_text, Action, TaskSpec};

/// The label every issue wfc creates carries.
pub const WFC_LABEL: &str = "wfc";

/// The label gates carry besides [`WFC_LABEL`].
pub const GATE_LABEL: &str = "wfc-gate";

/// The longest title beads accepts, in characters.
const MAX_TITLE: usize = 500;

/// The label of run `run`'s issues.
pub fn run_label(run: &str) -> String {
    format!("wfc-run:{run}")
}

/// An issue to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewIssue {
    /// Its title.
    pub title: String,
    /// Its description.
    pub description: String,
    /// 0 (most urgent) to 4.
    pub priority: u8,
    /// Its labels, each valid for beads.
    pub labels: Vec<String>,
}

impl NewIssue {
    /// The issue of task `spec` of run `run`.
    pub fn for_task(run: &str, spec: &TaskSpec) -> NewIssue {
        let mut labels = vec![WFC_LABEL.to_string(), run_label(run)];
        if spec.action.waits_for_person() {
            labels.push(GATE_LABEL.to_string());
        }
        // The task's own labels go along when beads can hold them; beads allows only ASCII
        // letters, digits, `-`, `_` and `:` in at most 50 characters.
        for label in &spec.labels {
            if valid_label(label) && !labels.contains(label) {
                labels.push(label.clone());
            }
        }
        NewIssue {
            title: title(spec),
            description: arg_safe(&description(spec)),
            priority: spec.priority.min(4),
            labels,
        }
    }
}

/// Whether beads accepts `label`.
pub fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 50
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == ':')
}

/// The title: the task's, or its id when that is blank; cut to what beads accepts.
fn title(spec: &TaskSpec) -> String {
    let title = if spec.title.trim().is_empty() {
        &spec.id
    } else {
        &spec.title
    };
    let title = arg_safe(title);
    if title.chars().count() <= MAX_TITLE {
        return title;
    }
    let mut cut: String = title.chars().take(MAX_TITLE - 1).collect();
    cut.push('…');
    cut
}

/// The description: what the task does, as `wfc plan` shows it. An agent's prompt and a
/// gate's question are the text itself (with `<result of X>` where a result goes in at run
/// time); a command is its command line and verify commands. Trailing white space is left
/// out, as it means nothing to a reader.
pub fn description(spec: &TaskSpec) -> String {
    let mut text = match &spec.action {
        Action::Agent { prompt, .. } => prompt_text(prompt),
        Action::Gate { ask, .. } => prompt_text(ask),
        Action::Command { run } => format!("Command:\n\n```sh\n{}\n```", run.display),
    };
    if !spec.verify.is_empty() {
        text.push_str("\n\nVerify:\n\n```sh\n");
        for verify in &spec.verify {
            text.push_str(&verify.display);
            text.push('\n');
        }
        text.push_str("```");
    }
    text.truncate(text.trim_end().len());
    text
}

/// `text` as an argument can carry it: a NUL byte cannot be part of an argument (nor does
/// beads store one), so it becomes U+FFFD.
pub fn arg_safe(text: &str) -> String {
    text.replace('\0', "\u{fffd}")
}

pub use crate::shell_word::shell_word;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PromptPart, Shell};

    fn spec(id: &str, title: &str, action: Action) -> TaskSpec {
        TaskSpec {
            title: title.into(),
            priority: 1,
            labels: vec!["backend".into(), "has space".into(), "wfc".into()],
            ..TaskSpec::new(id, action, Vec::new())
        }
    }

    #[test]
    fn an_agent_task_becomes_its_prompt_with_run_labels() {
        let task = spec(
            "review[style]",
            "Review style",
            Action::Agent {
                profile: None,
                agent: None,
                prompt: vec![
                    PromptPart::Text {
                        text: "Review this:\n".into(),
                    },
                    PromptPart::Result {
                        tasks: vec!["build".into()],
                        filters: Vec::new(),
                        fenced: true,
                        fallback: None,
                        output: None,
                    },
                    PromptPart::Text {
                        text: "\n\n## Acceptance criteria\n\n- It is reviewed.\n".into(),
                    },
                ],
            },
        );
        let issue = NewIssue::for_task("20261124-1", &task);
        assert_eq!(issue.title, "Review style");
        assert_eq!(
            issue.description,
            "Review this:\n```text\n<result of build>\n```\n\n## Acceptance criteria\n\n- It is reviewed."
        );
        assert_eq!(issue.labels, ["wfc", "wfc-run:20261124-1", "backend"]);
        assert_eq!(issue.priority, 1);
    }

    #[test]
    fn commands_gates_and_odd_titles() {
        let command = spec(
            "build",
            "",
            Action::Command {
                run: Shell {
                    script: "make".into(),
                    display: "make \0all".into(),
                    args: Vec::new(),
                },
            },
        );
        let issue = NewIssue::for_task("r", &command);
        assert_eq!(issue.title, "build", "a blank title falls back to the id");
        assert_eq!(
            issue.description,
            "Command:\n\n```sh\nmake \u{fffd}all\n```"
        );
        let gate = spec(
            "ok",
            &"x".repeat(600),
            Action::Gate {
                ask: vec![PromptPart::Text {
                    text: "Ship?".into(),
                }],
                timeout_secs: None,
            },
        );
        let issue = NewIssue::for_task("r", &gate);
        assert_eq!(issue.title.chars().count(), 500);
        assert!(issue.labels.contains(&GATE_LABEL.to_string()));
        assert_eq!(issue.description, "Ship?");
    }
}
