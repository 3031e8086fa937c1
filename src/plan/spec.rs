//! The Plan: a workflow instantiated with its parameters, as a DAG of fully rendered task
//! specs. It is what a run stores as its snapshot and what the runtime executes, so it is
//! serde-serializable and versioned, and it never holds a secret's value.

use crate::ir::{Filter, OnConflict, RetryFrom, Sandbox, TaskIsolation};
use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The version of the Plan format; a run refuses a snapshot of another version.
pub const PLAN_VERSION: u32 = 1;

/// An instantiated workflow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_VERSION`] when it was made.
    pub version: u32,
    /// The module the workflow came from (`examples/hello.wf`, `std/review`).
    pub source: String,
    /// The workflow's name.
    pub workflow: String,
    /// Every parameter with the value it was bound to; secrets show only their names.
    pub params: Vec<BoundParam>,
    /// The secret parameters the run needs, by name; their values are read from the
    /// environment (`WF_SECRET_<NAME>`) or a file when the run starts, never stored.
    pub secrets: Vec<String>,
    /// The tasks in a topological order: every task comes after all its dependencies, and
    /// otherwise in the order of the source.
    pub tasks: Vec<TaskSpec>,
    /// How the run keeps its tasks' work apart, decided when it starts (`wfc plan` shows
    /// none): absent in the snapshots of runs that worked in their folder.
    #[serde(default, skip_serializing_if = "Isolation::is_none")]
    pub isolation: Isolation,
    /// Where `wfc run --events` also sent the run's events (`jsonl:` with an absolute path, or
    /// an http URL), so that `wfc resume` sends them there too; decided when the run starts
    /// (`wfc plan` shows none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub event_sinks: Vec<String>,
    /// The most the run's agent sessions may cost, in US dollars: `budget` in the workflow's
    /// `defaults`. `wfc run --budget` and `wfc resume --budget` record another in an event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<f64>,
}

/// How a run keeps its tasks' work apart.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Isolation {
    /// Every task works in the run's workspace folder.
    #[default]
    None,
    /// Every attempt works in a git worktree of its own at its start commit: the run's base,
    /// its upstream task's output commit, or a merge of its upstream tasks' outputs
    /// (docs/architecture.md, "Isolation").
    Git {
        /// The commit the run started from (`HEAD` of the workspace then).
        base: String,
        /// The branch that gets the run's result: the merge of its final tasks' outputs.
        branch: String,
        /// A branch of the user's that the result is handed to when it fast-forwards
        /// (`wfc run --into BRANCH`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        into: Option<String>,
    },
}

impl Isolation {
    /// Whether tasks work in the run's folder.
    pub fn is_none(&self) -> bool {
        *self == Isolation::None
    }
}

impl Plan {
    /// The task with id `id`.
    pub fn task(&self, id: &str) -> Option<&TaskSpec> {
        self.tasks.iter().find(|task| task.id == id)
    }

    /// The plan as a petgraph DAG: node `i` is `tasks[i]`, and an edge runs from each
    /// dependency to the task that waits for it. Dependencies that name no task are left out
    /// (see [`Plan::validate`]).
    pub fn graph(&self) -> DiGraph<usize, ()> {
        let mut graph = DiGraph::with_capacity(self.tasks.len(), self.tasks.len());
        let nodes: Vec<NodeIndex> = (0..self.tasks.len()).map(|i| graph.add_node(i)).collect();
        let index: HashMap<&str, usize> = self
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.as_str(), i))
            .collect();
        for (i, task) in self.tasks.iter().enumerate() {
            for dep in &task.deps {
                if let Some(&d) = index.get(dep.as_str()) {
                    graph.add_edge(nodes[d], nodes[i], ());
                }
            }
        }
        graph
    }

    /// Checks what the runtime relies on: the version, unique task ids, dependencies that name
    /// tasks of the plan and come before them, and no cycle.
    pub fn validate(&self) -> Result<(), String> {
        if self.version != PLAN_VERSION {
            return Err(format!(
                "the plan has version {}; this wfc reads version {PLAN_VERSION}",
                self.version
            ));
        }
        let mut position: HashMap<&str, usize> = HashMap::with_capacity(self.tasks.len());
        for (i, task) in self.tasks.iter().enumerate() {
            if position.insert(task.id.as_str(), i).is_some() {
                return Err(format!("two tasks have the id `{}`", task.id));
            }
        }
        for (i, task) in self.tasks.iter().enumerate() {
            for dep in &task.deps {
                match position.get(dep.as_str()) {
                    None => {
                        return Err(format!(
                            "`{}` waits for `{dep}`, which is not in the plan",
                            task.id
                        ))
                    }
                    Some(&d) if d >= i => {
                        return Err(format!(
                            "`{}` waits for `{dep}`, which comes after it",
                            task.id
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
        toposort(&self.graph(), None).map(|_| ()).map_err(|cycle| {
            let task = &self.tasks[cycle.node_id().index()];
            format!("the plan has a cycle through `{}`", task.id)
        })
    }
}

/// A parameter and its bound value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoundParam {
    /// The parameter's name.
    pub name: String,
    /// Its type, as written (`list<string>`).
    #[serde(rename = "type")]
    pub ty: String,
    /// Its value as JSON; `null` for a secret, whose value is never part of a plan.
    pub value: serde_json::Value,
}

/// One task of the plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// The task's id: `design`, `review[style]`, `final_review.summary`.
    pub id: String,
    /// Shown in status and the backend.
    pub title: String,
    /// What runs.
    pub action: Action,
    /// The ids of the tasks that must succeed first.
    pub deps: Vec<String>,
    /// Extra attempts after a failure.
    pub retry: u32,
    /// The per-attempt time limit, in seconds.
    pub timeout_secs: Option<u64>,
    /// 0 (most urgent) to 4.
    pub priority: u8,
    /// Labels copied to the backend.
    pub labels: Vec<String>,
    /// Where it runs, relative to the workspace (`.` when not set).
    pub workdir: String,
    /// Extra environment variables for the command or agent.
    pub env: Vec<EnvVar>,
    /// Variables passed through from the environment of the engine that runs the task.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pass_env: Vec<String>,
    /// Shell commands that must all pass after the agent (or command) finishes.
    pub verify: Vec<Shell>,
    /// Where and how its attempts work; absent when every setting is the default.
    #[serde(default, skip_serializing_if = "WorkSpec::is_default")]
    pub work: WorkSpec,
    /// `budget`: the most the task's agent sessions may cost in all its attempts, in US
    /// dollars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<f64>,
    /// `output:`: the type of the JSON value the task returns, checked when an attempt ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<super::output::OutputSpec>,
    /// For a `for each` over an upstream task's output: the template (`implement[*]`) that
    /// stands for its instances until the list is known, and expands into them when claimed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fan_out: Option<super::fan_out::FanOutSpec>,
    /// `after X (failed)` / `after X (always)`: the upstream tasks among `deps` it waits for
    /// on an outcome other than success (GRAMMAR.md, "Outcome conditions").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<super::condition::OutcomeDep>,
    /// A `when` that reads upstream outputs, decided when the task is claimed: false skips it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<super::condition::RunCondition>,
    /// For a bounded loop: the task (`review_loop#2`) that decides, once its round has run,
    /// whether the loop ends or runs another round; it runs nothing itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<super::repeat::LoopSpec>,
}

impl TaskSpec {
    /// A task `id` that does `action` after `deps`, titled by its id, with every other setting
    /// the default a workflow gives when it says nothing: no retry, no time limit, priority 2,
    /// in the workspace, no labels, environment, verify, budget or output.
    pub fn new(id: &str, action: Action, deps: Vec<String>) -> TaskSpec {
        TaskSpec {
            id: id.to_string(),
            title: id.to_string(),
            action,
            deps,
            retry: 0,
            timeout_secs: None,
            priority: 2,
            labels: Vec::new(),
            workdir: ".".into(),
            env: Vec::new(),
            pass_env: Vec::new(),
            verify: Vec::new(),
            work: WorkSpec::default(),
            budget_usd: None,
            output: None,
            fan_out: None,
            outcomes: Vec::new(),
            condition: None,
            repeat: None,
        }
    }

    /// What it waits for as a workflow writes it: `build (failed), fetch`; an edge that
    /// waits for an outcome other than success says which.
    pub fn after_text(&self) -> String {
        let deps: Vec<String> = self
            .deps
            .iter()
            .map(|dep| match self.outcomes.iter().find(|o| o.task == *dep) {
                Some(outcome) => outcome.text(),
                None => dep.clone(),
            })
            .collect();
        deps.join(", ")
    }
}

/// Where and how a task's attempts work (GRAMMAR.md, "Where a task works").
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkSpec {
    /// `isolation`: where its attempts work; `None`, as the run decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolation: Option<TaskIsolation>,
    /// `on_conflict`: what a conflict between its upstream tasks' work does.
    #[serde(default, skip_serializing_if = "is_default")]
    pub on_conflict: OnConflict,
    /// `retry_from`: what a retry's worktree starts from.
    #[serde(default, skip_serializing_if = "is_default")]
    pub retry_from: RetryFrom,
    /// `setup`: commands run in each attempt's worktree before the task.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub setup: Vec<Shell>,
    /// `copy_ignored`: ignored files copied from the run's folder into each worktree.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub copy_ignored: Vec<String>,
    /// `sandbox`: what its processes may touch.
    #[serde(default, skip_serializing_if = "is_default")]
    pub sandbox: Sandbox,
}

impl WorkSpec {
    /// Whether every setting is the default, so a snapshot need not hold it.
    pub fn is_default(&self) -> bool {
        *self == WorkSpec::default()
    }

    /// Whether the task's attempts work in the run's folder even in a run isolated in git.
    pub fn in_folder(&self) -> bool {
        self.isolation == Some(TaskIsolation::None)
    }
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// What a task does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// A fresh agent session with the assembled prompt.
    Agent {
        /// The agent profile's name; `None` means the run's default agent.
        profile: Option<String>,
        /// The adapter and its settings, when the profile is declared in the file.
        agent: Option<AgentSpec>,
        /// The full prompt, assembled as ARCHITECTURE.md "Prompt assembly" says; results of
        /// upstream tasks are references the runtime fills in.
        prompt: Vec<PromptPart>,
    },
    /// A shell command, run without an agent.
    Command {
        /// The command.
        run: Shell,
    },
    /// A human approval.
    Gate {
        /// The question.
        ask: Vec<PromptPart>,
        /// How long to wait, in seconds.
        timeout_secs: Option<u64>,
    },
}

impl Action {
    /// Whether the task waits for a person's answer (`wfc approve`/`wfc reject`) instead of
    /// running: a gate, or an agent task whose profile uses the `human` adapter.
    pub fn waits_for_person(&self) -> bool {
        match self {
            Action::Gate { .. } => true,
            Action::Agent {
                agent: Some(agent), ..
            } => agent.adapter == "human",
            _ => false,
        }
    }
}

/// An agent profile as the runtime needs it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentSpec {
    /// The adapter's name (`claude-code`).
    pub adapter: String,
    /// The profile's settings, by name, as JSON values.
    pub settings: Vec<(String, serde_json::Value)>,
}

/// A piece of assembled text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PromptPart {
    /// Literal text, values already rendered into it.
    Text {
        /// The text.
        text: String,
    },
    /// The result of upstream tasks, filled in by the runtime.
    Result {
        /// The task ids whose results are read (several for a fan-out, in order).
        tasks: Vec<String>,
        /// Filters to apply to the result.
        filters: Vec<FilterSpec>,
        /// Whether it goes in as a fenced data block (free text on its own line).
        fenced: bool,
        /// The text to use when none of the tasks is in the plan (left out by `when`).
        fallback: Option<String>,
        /// For `X.output.a.b`: the fields read in the task's typed output (empty for
        /// `X.output`); absent for `X.result`, the text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        output: Option<Vec<String>>,
    },
    /// The element of a run-time `for each`, in a template: filled in when it expands.
    Element {
        /// Filters to apply.
        filters: Vec<FilterSpec>,
        /// Whether it goes in as a fenced data block.
        fenced: bool,
    },
}

/// A shell command: a script whose interpolations are references to environment variables,
/// and the values of those variables. No value is ever part of the script.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shell {
    /// The script for `sh -c`, with `"$WF_ARG_n"` and `${WF_ARG_n}` where values go.
    pub script: String,
    /// The command as a person reads it: values known at planning shell-quoted in place,
    /// secrets and results as `<secret NAME>` and `<result of TASK>`. Never executed.
    pub display: String,
    /// The value of each `WF_ARG_n` the script references.
    pub args: Vec<EnvVar>,
}

/// An environment variable and where its value comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnvVar {
    /// The variable's name.
    pub name: String,
    /// Its value.
    pub value: EnvValue,
}

/// Where an environment variable's value comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EnvValue {
    /// A value known when the plan was made.
    Text {
        /// The value.
        text: String,
    },
    /// Pieces joined at run time: text, secrets and results.
    Parts {
        /// The pieces, in order.
        parts: Vec<ValuePart>,
    },
}

/// A piece of a value filled in at run time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ValuePart {
    /// Known text.
    Text {
        /// The text.
        text: String,
    },
    /// A secret parameter's value, read when the run starts.
    Secret {
        /// The parameter's name.
        name: String,
        /// Filters to apply.
        filters: Vec<FilterSpec>,
    },
    /// The result of upstream tasks.
    Result {
        /// The task ids.
        tasks: Vec<String>,
        /// Filters to apply.
        filters: Vec<FilterSpec>,
        /// The text to use when none of the tasks is in the plan.
        fallback: Option<String>,
        /// For `X.output.a.b`: the fields read in the task's typed output; absent for
        /// `X.result`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        output: Option<Vec<String>>,
    },
    /// The element of a run-time `for each`, in a template: filled in when it expands.
    Element {
        /// Filters to apply.
        filters: Vec<FilterSpec>,
    },
}

/// A filter applied at run time: the IR's [`Filter`], which serializes as
/// `{"filter": NAME, "arg": …}`.
pub type FilterSpec = Filter;
