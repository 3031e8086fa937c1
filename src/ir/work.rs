//! How a task's attempts work (GRAMMAR.md, "Where a task works"): in a git worktree of their
//! own or in the run's folder, what prepares a new worktree, what happens when the work of
//! the tasks it waits for conflicts, where a retry starts, and the sandbox around it.

use super::Template;
use serde::{Deserialize, Serialize};

/// `isolation`: where the task's attempts work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskIsolation {
    /// A git worktree of its own at the task's start commit.
    Git,
    /// The run's folder, as it is: what the task changes there is not a commit of the run.
    None,
}

/// `on_conflict`: what happens when the work of the tasks a task waits for conflicts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnConflict {
    /// The task fails before it starts, naming the files and the tasks that changed them.
    #[default]
    Fail,
    /// A fresh session of the task's agent resolves the conflicted tree first.
    Agent,
    /// The task waits, like a gate, for a person to resolve the conflicted worktree.
    Human,
}

/// `retry_from`: what a retry's worktree starts from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryFrom {
    /// The task's start commit, clean: the failed attempt's changes are only described.
    #[default]
    Start,
    /// The failed attempt's tree: the retry goes on with its changes.
    Failed,
}

/// `sandbox`: what an attempt's processes may touch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sandbox {
    /// The processes run as the user, like any other.
    #[default]
    None,
    /// Bubblewrap: the attempt's folder writable, the rest of the file system read-only,
    /// the user's home hidden but for what the agent needs.
    Bwrap,
}

/// The choices a field of this module takes, as written in a `.wf` file.
pub trait Choice: Sized + Copy + 'static {
    /// Every choice with its spelling.
    const CHOICES: &'static [(&'static str, Self)];

    /// The choice spelled `text`.
    fn parse(text: &str) -> Option<Self> {
        Self::CHOICES
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, choice)| *choice)
    }

    /// How the choice is spelled.
    fn spelling(self) -> &'static str
    where
        Self: PartialEq,
    {
        Self::CHOICES
            .iter()
            .find(|(_, choice)| *choice == self)
            .map(|(name, _)| *name)
            .unwrap_or("")
    }
}

impl Choice for TaskIsolation {
    const CHOICES: &'static [(&'static str, Self)] =
        &[("git", TaskIsolation::Git), ("none", TaskIsolation::None)];
}

impl Choice for OnConflict {
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("fail", OnConflict::Fail),
        ("agent", OnConflict::Agent),
        ("human", OnConflict::Human),
    ];
}

impl Choice for RetryFrom {
    const CHOICES: &'static [(&'static str, Self)] =
        &[("start", RetryFrom::Start), ("failed", RetryFrom::Failed)];
}

impl Choice for Sandbox {
    const CHOICES: &'static [(&'static str, Self)] =
        &[("none", Sandbox::None), ("bwrap", Sandbox::Bwrap)];
}

/// A task's work settings, with `defaults` already applied.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkSettings {
    /// Where its attempts work; `None`: as the run decides.
    pub isolation: Option<TaskIsolation>,
    /// What a conflict between its upstream tasks' work does.
    pub on_conflict: OnConflict,
    /// What a retry starts from.
    pub retry_from: RetryFrom,
    /// Shell commands run in each attempt's new worktree before the task.
    pub setup: Vec<Template>,
    /// Files git ignores (such as `.env`) copied from the run's folder into each worktree.
    pub copy_ignored: Vec<String>,
    /// The sandbox its processes run in.
    pub sandbox: Sandbox,
}
