//! The typed intermediate representation: what the checker proved, in types.
//!
//! Every reference is resolved to a typed id, every type is an enum, every string is a
//! [`Template`] whose interpolations know their source and their render context. Later
//! stages (planning, the runtime, the language server) use it without re-checking strings.

mod adapter;
mod expr;
mod template;
mod types;
mod work;

pub use adapter::{Adapter, SettingKind};
pub use expr::{Expr, ExprKind};
pub use template::{
    is_filter, Context, Filter, Interpolation, Placement, Segment, Source, Template, FILTER_NAMES,
};
pub use types::{Type, Value};
pub use work::{Choice, OnConflict, RetryFrom, Sandbox, TaskIsolation, WorkSettings};

use crate::span::Span;

/// Identifies a checked module (a file or a stdlib module) within one check session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleId(pub u32);

/// Identifies an agent profile within its module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgentId(pub u32);

/// Identifies a workflow within its module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkflowId(pub u32);

/// Identifies a parameter within its workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParamId(pub u32);

/// Identifies a task, gate or `use` block within its workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

/// One checked `.wf` file or stdlib module.
#[derive(Clone, Debug, PartialEq)]
pub struct Module {
    /// Imports, in source order.
    pub imports: Vec<Import>,
    /// Agent profiles, indexed by [`AgentId`].
    pub agents: Vec<AgentProfile>,
    /// Workflows, indexed by [`WorkflowId`].
    pub workflows: Vec<Workflow>,
}

impl Module {
    /// The workflow called `name`.
    pub fn workflow(&self, name: &str) -> Option<(WorkflowId, &Workflow)> {
        self.workflows
            .iter()
            .enumerate()
            .find(|(_, w)| w.name == name)
            .map(|(i, w)| (WorkflowId(i as u32), w))
    }

    /// The agent profile called `name`.
    pub fn agent(&self, name: &str) -> Option<(AgentId, &AgentProfile)> {
        self.agents
            .iter()
            .enumerate()
            .find(|(_, a)| a.name == name)
            .map(|(i, a)| (AgentId(i as u32), a))
    }
}

/// `import "PATH" as ALIAS`, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    /// The alias.
    pub alias: String,
    /// The path as written.
    pub path: String,
    /// The module it names; `None` when it could not be loaded (an error was reported).
    pub module: Option<ModuleId>,
    /// The whole import.
    pub span: Span,
}

/// An agent profile: an adapter and its settings.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentProfile {
    /// The profile's name.
    pub name: String,
    /// Its documentation.
    pub docs: Option<String>,
    /// The adapter that runs it.
    pub adapter: Adapter,
    /// Settings other than `adapter`, in source order, each checked against the adapter.
    pub settings: Vec<(String, Value)>,
    /// The name's span.
    pub name_span: Span,
    /// The whole item.
    pub span: Span,
}

/// A checked workflow template.
#[derive(Clone, Debug, PartialEq)]
pub struct Workflow {
    /// The workflow's name.
    pub name: String,
    /// Its documentation.
    pub docs: Option<String>,
    /// Parameters, indexed by [`ParamId`].
    pub params: Vec<Param>,
    /// `budget` in `defaults`: the most a run's agent sessions may cost, in US dollars.
    pub budget: Option<f64>,
    /// Tasks, gates and `use` blocks in source order, indexed by [`NodeId`].
    pub nodes: Vec<Node>,
    /// The name's span.
    pub name_span: Span,
    /// The whole item.
    pub span: Span,
}

impl Workflow {
    /// The parameter called `name`.
    pub fn param(&self, name: &str) -> Option<(ParamId, &Param)> {
        self.params
            .iter()
            .enumerate()
            .find(|(_, p)| p.name == name)
            .map(|(i, p)| (ParamId(i as u32), p))
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<(NodeId, &Node)> {
        self.nodes
            .iter()
            .enumerate()
            .find(|(_, n)| n.name == name)
            .map(|(i, n)| (NodeId(i as u32), n))
    }
}

/// A workflow parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// The parameter's name.
    pub name: String,
    /// Its documentation.
    pub docs: Option<String>,
    /// Its type.
    pub ty: Type,
    /// The regular expression a `string` value must match (the whole value).
    pub pattern: Option<String>,
    /// The default value; `None` makes the parameter required.
    pub default: Option<Value>,
    /// The name's span.
    pub name_span: Span,
    /// The whole member.
    pub span: Span,
}

/// A task, gate or `use` block: a node of the workflow's graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The node's id within the workflow.
    pub name: String,
    /// Its documentation.
    pub docs: Option<String>,
    /// The nodes that must succeed first, each with the span of its reference.
    pub after: Vec<(NodeId, Span)>,
    /// The nodes of `after` a task waits for on an outcome other than success.
    pub outcomes: Vec<(NodeId, crate::syntax::ast::Outcome)>,
    /// The condition, evaluated at instantiation (or, when it reads upstream outputs, when
    /// the task is claimed).
    pub when: Option<Expr>,
    /// What kind of node.
    pub kind: NodeKind,
    /// The name's span.
    pub name_span: Span,
    /// The whole member.
    pub span: Span,
}

/// The kinds of node.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// A task run by an agent or as a command.
    Task(Box<Task>),
    /// A human approval.
    Gate(Gate),
    /// Another workflow, inlined.
    Use(UseBlock),
    /// `repeat NAME max N until EXPR { … }`: a bounded loop. Its own nodes are nodes of the
    /// workflow too, each waiting for what the loop waits for, and the loop waits for them:
    /// waiting for the loop is waiting for its last round.
    Loop(LoopBlock),
}

/// A bounded loop (GRAMMAR.md, "Bounded loops").
#[derive(Clone, Debug, PartialEq)]
pub struct LoopBlock {
    /// The most rounds it runs: an `int`, a literal or a parameter, from 1 to
    /// `LARGEST_LOOP_MAX` (the checker bounds a literal, planning a parameter's value).
    pub max: Expr,
    /// The condition on the outputs of its own tasks that ends it; it reads each round's.
    pub until: Expr,
    /// The nodes of one round, in source order.
    pub body: Vec<NodeId>,
}

/// A task, with `defaults` already applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    /// The fan-out, if any.
    pub for_each: Option<ForEach>,
    /// The title; `None` means the task's id.
    pub title: Option<Template>,
    /// What the task does.
    pub action: Action,
    /// Acceptance criteria, given to the agent.
    pub accept: Vec<Template>,
    /// Shell commands that must all pass after the agent finishes.
    pub verify: Vec<Template>,
    /// The agent profile, for agent tasks.
    pub agent: Option<AgentId>,
    /// Extra attempts after a failure.
    pub retry: u32,
    /// The per-attempt time limit, in seconds.
    pub timeout: Option<u64>,
    /// 0 (most urgent) to 4.
    pub priority: u8,
    /// Labels copied to the backend.
    pub labels: Vec<Template>,
    /// Where the task runs, relative to the workspace.
    pub workdir: Option<Template>,
    /// Extra environment, `defaults` first, then the task's own (which win).
    pub env: Vec<(String, Template)>,
    /// Variables passed through from the environment of the engine that runs the task,
    /// `defaults`' and the task's own, each once.
    pub pass_env: Vec<String>,
    /// Named values for the prompt's Context section.
    pub context: Vec<(String, Template)>,
    /// Where and how its attempts work.
    pub work: WorkSettings,
    /// `budget`: the most its agent sessions may cost in all, in US dollars.
    pub budget: Option<f64>,
    /// `output:`: the type of the JSON value it returns.
    pub output: Option<Type>,
}

/// `for each VAR in EXPR`.
#[derive(Clone, Debug, PartialEq)]
pub struct ForEach {
    /// The loop variable's name.
    pub var: String,
    /// The list.
    pub iter: Expr,
    /// The type of each element.
    pub element: Type,
    /// The loop variable's span.
    pub var_span: Span,
    /// `max = N`: the most instances a run-time `for each` (over an upstream task's
    /// output) may expand to; `None` for a list known when the plan is made.
    pub max: Option<usize>,
}

impl ForEach {
    /// Whether the list is an upstream task's output, so the instances are made at run time.
    pub fn at_run_time(&self) -> bool {
        matches!(self.iter.kind, ExprKind::Output(..))
    }
}

/// What a task does.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// An agent task: the instructions.
    Prompt(Template),
    /// A command task: shell text.
    Run(Template),
}

/// A human approval.
#[derive(Clone, Debug, PartialEq)]
pub struct Gate {
    /// The question.
    pub ask: Template,
    /// How long to wait, in seconds.
    pub timeout: Option<u64>,
}

/// `use M.W(args) as ID`, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct UseBlock {
    /// The module holding the workflow.
    pub module: ModuleId,
    /// The workflow in that module.
    pub workflow: WorkflowId,
    /// The arguments by the callee's parameter.
    pub args: Vec<(ParamId, Expr)>,
}
