//! Checking one workflow: its parameters, the graph of its tasks, gates and `use` blocks,
//! and every field of each.

use super::fields::*;
use super::graph::{find_cycles, upstream};
use super::module::ModuleScope;
use super::work_fields::WorkFields;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{self, Context, Type, Value};
use crate::span::Span;
use crate::suggest::did_you_mean;
use crate::syntax::ast::{self, Member};
use std::collections::{HashMap, HashSet};

/// What kind of node a name in the workflow's graph is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NodeTag {
    Task,
    Gate,
    Use,
    Loop,
}

impl NodeTag {
    pub fn noun(self) -> &'static str {
        match self {
            NodeTag::Task => "task",
            NodeTag::Gate => "gate",
            NodeTag::Use => "use block",
            NodeTag::Loop => "loop",
        }
    }
}

/// What the checker knows of a node before lowering its fields.
pub(crate) struct NodeInfo {
    pub name: String,
    pub tag: NodeTag,
    pub has_when: bool,
    /// The type a task declares with `output:`.
    pub output: Option<Type>,
    /// Whether the task has a `for each`, so it runs as several instances.
    pub fan_out: bool,
    /// The loop whose rounds it runs in, by node index.
    pub in_loop: Option<usize>,
}

/// The loop variable of a fan-out task, while its fields are checked.
#[derive(Clone)]
pub(crate) struct LoopVar {
    pub name: String,
    pub ty: Type,
    /// Whether its values are free text.
    pub free: bool,
    /// Whether its values are known only at run time (a `for each` over an output).
    pub run_time: bool,
}

/// The most instances a run-time `for each` expands to when it sets no `max`.
pub(crate) const DEFAULT_FAN_OUT_MAX: usize = 100;

/// The largest `max` a run-time `for each` may set.
pub(crate) const LARGEST_FAN_OUT_MAX: i64 = 1000;

/// Where an expression or template is checked: inside which node, with which loop variable.
#[derive(Clone, Default)]
pub(crate) struct Scope {
    pub current: Option<usize>,
    pub loop_var: Option<LoopVar>,
}

/// The state of checking one workflow.
pub(crate) struct WorkflowChecker<'a, 'd> {
    pub module: &'a ModuleScope<'a>,
    pub diagnostics: &'d mut Vec<Diagnostic>,
    pub params: Vec<ir::Param>,
    pub used: Vec<bool>,
    pub nodes: Vec<NodeInfo>,
    pub node_by_name: HashMap<String, usize>,
    pub broken_params: HashSet<String>,
    pub broken_nodes: HashSet<String>,
    /// The `after` edges by node index, and whether they are free of cycles.
    pub deps: Vec<Vec<usize>>,
    pub acyclic: bool,
    /// `X.result` references to confirm once every node is lowered: (X, the node reading it,
    /// the reference's span, whether it has a `default`).
    pub result_reads: Vec<(usize, usize, Span, bool)>,
    /// Set while a task's `when` is checked: there, upstream outputs may be read.
    pub in_task_when: bool,
}

/// Field values from `defaults`, lowered once and copied into every task.
#[derive(Default)]
struct TaskDefaults {
    agent: Option<ir::AgentId>,
    retry: Option<u32>,
    timeout: Option<u64>,
    priority: Option<u8>,
    labels: Option<Vec<ir::Template>>,
    workdir: Option<ir::Template>,
    env: Vec<(String, ir::Template)>,
    pass_env: Vec<String>,
    context: Vec<(String, ir::Template)>,
    work: WorkFields,
    /// `budget` in `defaults`: the run's budget in US dollars, not a default of each task.
    run_budget: Option<f64>,
}

/// A task, gate, use or loop in the syntax tree.
#[derive(Clone, Copy)]
pub(crate) enum NodeAst<'a> {
    Task(&'a ast::Task),
    Gate(&'a ast::Gate),
    Use(&'a ast::Use),
    Loop(&'a ast::Repeat),
}

impl<'a> NodeAst<'a> {
    fn name(self) -> &'a ast::Name {
        match self {
            NodeAst::Task(t) => &t.name,
            NodeAst::Gate(g) => &g.name,
            NodeAst::Use(u) => &u.alias,
            NodeAst::Loop(r) => &r.name,
        }
    }
    fn after(self) -> &'a [ast::Name] {
        match self {
            NodeAst::Task(t) => &t.after,
            NodeAst::Gate(g) => &g.after,
            NodeAst::Use(u) => &u.after,
            NodeAst::Loop(r) => &r.after,
        }
    }
    fn when(self) -> Option<&'a ast::Expr> {
        match self {
            NodeAst::Task(t) => t.when.as_ref(),
            NodeAst::Gate(g) => g.when.as_ref(),
            NodeAst::Use(u) => u.when.as_ref(),
            NodeAst::Loop(_) => None,
        }
    }
    fn docs(self) -> Option<String> {
        match self {
            NodeAst::Task(t) => t.docs.as_ref().map(ast::Docs::text),
            NodeAst::Gate(g) => g.docs.as_ref().map(ast::Docs::text),
            NodeAst::Use(u) => u.docs.as_ref().map(ast::Docs::text),
            NodeAst::Loop(r) => r.docs.as_ref().map(ast::Docs::text),
        }
    }
    fn span(self) -> Span {
        match self {
            NodeAst::Task(t) => t.span,
            NodeAst::Gate(g) => g.span,
            NodeAst::Use(u) => u.span,
            NodeAst::Loop(r) => r.span,
        }
    }
    fn tag(self) -> NodeTag {
        match self {
            NodeAst::Task(_) => NodeTag::Task,
            NodeAst::Gate(_) => NodeTag::Gate,
            NodeAst::Use(_) => NodeTag::Use,
            NodeAst::Loop(_) => NodeTag::Loop,
        }
    }
}

pub(crate) fn check_workflow(
    workflow: &ast::Workflow,
    module: &ModuleScope<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> ir::Workflow {
    let mut checker = WorkflowChecker {
        module,
        diagnostics,
        params: Vec::new(),
        used: Vec::new(),
        nodes: Vec::new(),
        node_by_name: HashMap::new(),
        broken_params: HashSet::new(),
        broken_nodes: HashSet::new(),
        deps: Vec::new(),
        acyclic: false,
        result_reads: Vec::new(),
        in_task_when: false,
    };
    for member in workflow.all_members() {
        if let Member::Broken(broken) = member {
            if let Some(name) = &broken.name {
                match broken.keyword.as_deref() {
                    Some("param") => checker.broken_params.insert(name.text.clone()),
                    _ => checker.broken_nodes.insert(name.text.clone()),
                };
            }
        }
    }
    for member in &workflow.members {
        if let Member::Param(param) = member {
            checker.param(param);
        }
    }
    let node_asts = checker.collect_nodes(&workflow.members);
    let (mut deps, mut dep_spans) = checker.resolve_after(&node_asts);
    checker.loop_edges(&node_asts, &mut deps, &mut dep_spans);
    let cycles = find_cycles(&deps);
    for cycle in &cycles {
        checker.report_cycle(cycle, &deps, &dep_spans);
    }
    checker.acyclic = cycles.is_empty();
    checker.deps = deps.clone();
    let defaults = checker.defaults(&workflow.members);
    let mut nodes = Vec::with_capacity(node_asts.len());
    let run_time: Vec<bool> = node_asts
        .iter()
        .map(|node| matches!(node, NodeAst::Task(t) if super::output::fans_out_at_run_time(t)))
        .collect();
    for (index, node) in node_asts.iter().enumerate() {
        let scope = Scope {
            current: Some(index),
            loop_var: None,
        };
        let (kind, scope) = match node {
            NodeAst::Task(task) => {
                checker.check_outcomes(task, &run_time);
                let (task, scope) = checker.task(task, scope, &defaults);
                (ir::NodeKind::Task(Box::new(task)), scope)
            }
            NodeAst::Gate(gate) => (ir::NodeKind::Gate(checker.gate(gate, &scope)), scope),
            NodeAst::Use(use_decl) => match checker.use_block(use_decl, &scope) {
                Some(block) => (ir::NodeKind::Use(block), scope),
                None => continue,
            },
            NodeAst::Loop(repeat) => {
                let block = checker.loop_block(repeat, index, &scope);
                (ir::NodeKind::Loop(block), scope)
            }
        };
        let when = node.when().map(|expr| {
            checker.in_task_when = matches!(node, NodeAst::Task(_));
            let lowered = checker.expr(expr, &scope);
            checker.in_task_when = false;
            checker.expect_type(&lowered, &Type::Bool, "a `when` condition");
            checker.forbid_secret(&lowered, "a `when` condition");
            lowered
        });
        nodes.push(ir::Node {
            name: node.name().text.clone(),
            docs: node.docs(),
            after: deps[index]
                .iter()
                .zip(&dep_spans[index])
                .map(|(&d, &s)| (ir::NodeId(d as u32), s))
                .collect(),
            outcomes: match node {
                NodeAst::Task(task) => task
                    .outcomes
                    .iter()
                    .filter_map(|o| {
                        let at = dep_spans[index].iter().position(|&s| s == o.name.span)?;
                        Some((ir::NodeId(deps[index][at] as u32), o.outcome))
                    })
                    .collect(),
                _ => Vec::new(),
            },
            when,
            kind,
            name_span: node.name().span,
            span: node.span(),
        });
    }
    checker.report_results_not_upstream();
    let broken_text: String = workflow
        .all_members()
        .flat_map(|member| match member {
            Member::Broken(broken) => vec![broken.text.as_str()],
            Member::Task(task) => task.block.broken.iter().map(|b| b.text.as_str()).collect(),
            Member::Gate(gate) => gate.block.broken.iter().map(|b| b.text.as_str()).collect(),
            Member::Defaults(defaults) => defaults
                .block
                .broken
                .iter()
                .map(|b| b.text.as_str())
                .collect(),
            _ => Vec::new(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    checker.report_unused(&broken_text);
    ir::Workflow {
        name: workflow.name.text.clone(),
        budget: defaults.run_budget,
        docs: workflow.docs.as_ref().map(ast::Docs::text),
        params: checker.params,
        nodes,
        name_span: workflow.name.span,
        span: workflow.span,
    }
}

impl WorkflowChecker<'_, '_> {
    pub fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn param(&mut self, param: &ast::Param) {
        if let Some((_, first)) = self
            .params
            .iter()
            .enumerate()
            .find(|(_, p)| p.name == param.name.text)
        {
            let first_span = first.name_span;
            self.report(
                Diagnostic::new(
                    Code::Duplicate,
                    format!("there are two parameters called `{}`", param.name.text),
                    param.name.span,
                    "second one here",
                )
                .with_label(first_span, "first one here"),
            );
            return;
        }
        let ty = self.lower_type(&param.ty);
        self.forbid_record_param(&ty, &param.ty);
        let pattern = param
            .matching
            .as_ref()
            .and_then(|lit| self.pattern(lit, &ty));
        let default = match (&param.default, &ty) {
            (Some(expr), Type::Secret) => {
                self.report(
                    Diagnostic::new(
                        Code::Secret,
                        format!("the secret `{}` has a default, which puts the secret in the file", param.name.text),
                        expr.span,
                        "a secret's value cannot be written here",
                    )
                    .with_help(format!(
                        "remove the default; pass the value as WF_SECRET_{} in the environment or with --secret {}=@FILE",
                        param.name.text.to_uppercase(),
                        param.name.text
                    )),
                );
                None
            }
            (Some(expr), ty) => {
                let value =
                    self.constant(expr, ty, &format!("the default of `{}`", param.name.text));
                if let (Some(value), Some(pattern)) = (&value, &pattern) {
                    self.check_pattern(value, pattern, expr.span);
                }
                value
            }
            (None, _) => None,
        };
        self.params.push(ir::Param {
            name: param.name.text.clone(),
            docs: param.docs.as_ref().map(ast::Docs::text),
            ty,
            pattern: pattern.map(|(source, _)| source),
            default,
            name_span: param.name.span,
            span: param.span,
        });
        self.used.push(false);
    }

    pub(crate) fn lower_type(&mut self, ty: &ast::TypeExpr) -> Type {
        match &ty.kind {
            ast::TypeExprKind::Named(name) => match name.text.as_str() {
                "string" => Type::String,
                "text" => Type::Text,
                "int" => Type::Int,
                "bool" => Type::Bool,
                "path" => Type::Path,
                "secret" => Type::Secret,
                "" => Type::Error,
                other => {
                    const TYPES: [&str; 8] = [
                        "string", "text", "int", "bool", "path", "secret", "enum", "list",
                    ];
                    let help = match other {
                        "list" => "a list names its element type: `list<string>`".to_string(),
                        "enum" => "an enum lists its values: `enum(\"a\", \"b\")`".to_string(),
                        _ => did_you_mean(other, TYPES).unwrap_or_else(|| {
                            "the types are string, text, int, bool, path, secret, enum(…) and list<…>".into()
                        }),
                    };
                    self.report(
                        Diagnostic::new(
                            Code::Type,
                            format!("there is no type `{other}`"),
                            name.span,
                            "unknown type",
                        )
                        .with_help(help),
                    );
                    Type::Error
                }
            },
            ast::TypeExprKind::Enum(values) => {
                let mut out: Vec<String> = Vec::new();
                for lit in values {
                    let Some(value) = lit.plain_text() else {
                        self.report(Diagnostic::new(
                            Code::Type,
                            "enum values cannot interpolate",
                            lit.span,
                            "interpolation here",
                        ));
                        continue;
                    };
                    if out.contains(&value) {
                        self.report(Diagnostic::new(
                            Code::Duplicate,
                            format!("the enum lists {value:?} twice"),
                            lit.span,
                            "again here",
                        ));
                        continue;
                    }
                    out.push(value);
                }
                if values.is_empty() {
                    self.report(
                        Diagnostic::new(
                            Code::Type,
                            "an enum needs at least one value",
                            ty.span,
                            "no values",
                        )
                        .with_help("list the values: `enum(\"a\", \"b\")`"),
                    );
                    return Type::Error;
                }
                Type::Enum(out)
            }
            ast::TypeExprKind::List(element) => {
                let inner = self.lower_type(element);
                match inner {
                    Type::List(_) => {
                        self.report(Diagnostic::new(
                            Code::Type,
                            "a list holds scalar values, not lists",
                            element.span,
                            "a list inside a list",
                        ));
                        Type::Error
                    }
                    Type::Secret => {
                        self.report(
                            Diagnostic::new(
                                Code::Type,
                                "a list cannot hold secrets",
                                element.span,
                                "secret element type",
                            )
                            .with_help("declare one `secret` parameter per secret"),
                        );
                        Type::Error
                    }
                    inner => Type::List(Box::new(inner)),
                }
            }
            ast::TypeExprKind::Record(fields) => {
                let mut out: Vec<(String, Type)> = Vec::with_capacity(fields.len());
                for (name, field) in fields {
                    let lowered = self.lower_type(field);
                    if out.iter().any(|(seen, _)| *seen == name.text) {
                        self.report(Diagnostic::new(
                            Code::Duplicate,
                            format!("the record has two fields called `{}`", name.text),
                            name.span,
                            "second one here",
                        ));
                        continue;
                    }
                    out.push((name.text.clone(), lowered));
                }
                if out.is_empty() {
                    self.report(
                        Diagnostic::new(
                            Code::OutputType,
                            "a record needs at least one field",
                            ty.span,
                            "no fields",
                        )
                        .with_help("name its fields: `{ steps: list<string>, risky: bool }`"),
                    );
                    return Type::Error;
                }
                Type::Record(out)
            }
        }
    }

    /// The regular expression of a `matching` clause, anchored so it must match the whole value.
    fn pattern(&mut self, lit: &ast::StrLit, ty: &Type) -> Option<(String, regex::Regex)> {
        let applies = matches!(ty, Type::String | Type::Error)
            || matches!(ty, Type::List(e) if **e == Type::String);
        if !applies {
            self.report(
                Diagnostic::new(
                    Code::Type,
                    format!("`matching` applies to string parameters, not {ty}"),
                    lit.span,
                    "not a string parameter",
                )
                .with_help("remove `matching`, or make the parameter a `string`"),
            );
            return None;
        }
        let Some(source) = lit.plain_text() else {
            self.report(Diagnostic::new(
                Code::Type,
                "a pattern cannot interpolate",
                lit.span,
                "interpolation here",
            ));
            return None;
        };
        match regex::Regex::new(&format!("^(?:{source})$")) {
            Ok(regex) => Some((source, regex)),
            Err(error) => {
                let detail = error.to_string();
                let last = detail
                    .lines()
                    .last()
                    .unwrap_or("invalid")
                    .trim()
                    .to_string();
                self.report(Diagnostic::new(
                    Code::Type,
                    "this is not a valid regular expression",
                    lit.span,
                    last,
                ));
                None
            }
        }
    }

    fn check_pattern(
        &mut self,
        value: &Value,
        (source, regex): &(String, regex::Regex),
        span: Span,
    ) {
        let values: Vec<&Value> = match value {
            Value::List(items) => items.iter().collect(),
            other => vec![other],
        };
        for value in values {
            if let Value::String(text) = value {
                if !regex.is_match(text) {
                    self.report(Diagnostic::new(
                        Code::Type,
                        format!("{text:?} does not match the pattern \"{source}\""),
                        span,
                        "does not match",
                    ));
                }
            }
        }
    }

    /// A constant of type `ty`, as in a default value.
    pub fn constant(&mut self, expr: &ast::Expr, ty: &Type, what: &str) -> Option<Value> {
        use ast::ExprKind as K;
        match (ty, &expr.kind) {
            (Type::Error, _) => None,
            (Type::String | Type::Text | Type::Path | Type::Enum(_), K::Str(lit)) => {
                let Some(text) = lit.plain_text() else {
                    self.report(Diagnostic::new(
                        Code::Type,
                        format!("{what} is a constant; it cannot interpolate"),
                        lit.span,
                        "interpolation here",
                    ));
                    return None;
                };
                match ty {
                    Type::String if text.contains('\n') => {
                        self.report(
                            Diagnostic::new(
                                Code::Type,
                                format!("{what} must be one line of text"),
                                lit.span,
                                "holds a line break",
                            )
                            .with_help("declare the parameter as `text` for multi-line values"),
                        );
                        None
                    }
                    Type::Enum(values) if !values.contains(&text) => {
                        self.report(enum_mismatch(
                            values,
                            &text,
                            lit.span,
                            &ty.to_string(),
                            "not an allowed value",
                        ));
                        None
                    }
                    Type::Path => match check_relative_path(&text) {
                        Ok(()) => Some(Value::String(text)),
                        Err(why) => {
                            self.report(Diagnostic::new(Code::Type, format!("{what} is not a path inside the workspace"), lit.span, why).with_help("paths are relative to the workspace, without `..` that leaves it"));
                            None
                        }
                    },
                    _ => Some(Value::String(text)),
                }
            }
            (Type::Int, K::Int(n)) => Some(Value::Int(*n)),
            (Type::Bool, K::Bool(b)) => Some(Value::Bool(*b)),
            (Type::List(element), K::List(items)) => {
                let values: Vec<Option<Value>> = items
                    .iter()
                    .map(|item| self.constant(item, element, what))
                    .collect();
                values
                    .into_iter()
                    .collect::<Option<Vec<_>>>()
                    .map(Value::List)
            }
            (ty, kind) => {
                let mut d = Diagnostic::new(
                    Code::Type,
                    format!(
                        "{what} must be {}, not {}",
                        describe_type(ty),
                        describe_value(kind)
                    ),
                    expr.span,
                    format!("expected {}", describe_type(ty)),
                );
                if let (Type::List(_), K::Str(_)) = (ty, kind) {
                    d = d.with_help("put the value in brackets: `[\"…\"]`");
                }
                if let K::Ref(_) = kind {
                    d = d.with_help("a default is a constant; it cannot name another parameter");
                }
                self.report(d);
                None
            }
        }
    }

    /// Registers each task, gate and use under its name, reporting duplicates.
    /// A loop comes before its own members, which are registered as in it.
    fn collect_nodes<'m>(&mut self, members: &'m [Member]) -> Vec<NodeAst<'m>> {
        let mut nodes: Vec<NodeAst<'m>> = Vec::new();
        let mut by_name: HashMap<&str, usize> = HashMap::new();
        let mut in_loop: Option<usize> = None;
        let flat = members.iter().flat_map(|member| {
            let inner: &[Member] = match member {
                Member::Repeat(repeat) => &repeat.members,
                _ => &[],
            };
            std::iter::once((member, false)).chain(inner.iter().map(|m| (m, true)))
        });
        for (member, inside) in flat {
            if !inside {
                in_loop = None;
            }
            let node = match member {
                Member::Task(task) => NodeAst::Task(task),
                Member::Gate(gate) => NodeAst::Gate(gate),
                Member::Use(use_decl) => NodeAst::Use(use_decl),
                Member::Repeat(repeat) => NodeAst::Loop(repeat),
                _ => continue,
            };
            let name = node.name();
            if name.text.is_empty() {
                continue;
            }
            if let Some(&first) = by_name.get(name.text.as_str()) {
                let first_node = nodes[first];
                self.report(
                    Diagnostic::new(
                        Code::Duplicate,
                        format!(
                            "the {} `{}` has the same name as a {} before it",
                            node.tag().noun(),
                            name.text,
                            first_node.tag().noun()
                        ),
                        name.span,
                        "second one here",
                    )
                    .with_label(first_node.name().span, "first one here")
                    .with_help("tasks, gates and use blocks share one set of names; rename one"),
                );
                continue;
            }
            by_name.insert(&name.text, nodes.len());
            self.node_by_name
                .insert(name.text.clone(), self.nodes.len());
            let (output, fan_out) = match node {
                NodeAst::Task(task) => (self.declared_output(&task.block), task.for_each.is_some()),
                _ => (None, false),
            };
            self.nodes.push(NodeInfo {
                name: name.text.clone(),
                tag: node.tag(),
                has_when: node.when().is_some(),
                output,
                fan_out,
                in_loop: if inside { in_loop } else { None },
            });
            if matches!(node, NodeAst::Loop(_)) {
                in_loop = Some(nodes.len());
            }
            nodes.push(node);
        }
        nodes
    }

    /// The node called `name`.
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.node_by_name.get(name).copied()
    }

    fn resolve_after(&mut self, nodes: &[NodeAst<'_>]) -> (Vec<Vec<usize>>, Vec<Vec<Span>>) {
        let mut deps = Vec::with_capacity(nodes.len());
        let mut spans = Vec::with_capacity(nodes.len());
        for node in nodes {
            let mut node_deps: Vec<usize> = Vec::new();
            let mut node_spans: Vec<Span> = Vec::new();
            for reference in node.after() {
                match self.node_index(&reference.text) {
                    Some(dep) => {
                        if let Some(position) = node_deps.iter().position(|&d| d == dep) {
                            let first = node_spans[position];
                            self.report(
                                Diagnostic::new(
                                    Code::Duplicate,
                                    format!("`{}` is listed twice in `after`", reference.text),
                                    reference.span,
                                    "again here",
                                )
                                .with_label(first, "first here"),
                            );
                            continue;
                        }
                        node_deps.push(dep);
                        node_spans.push(reference.span);
                    }
                    None if self.broken_nodes.contains(&reference.text) => {}
                    None => {
                        let names: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
                        let mut d = Diagnostic::new(
                            Code::UnknownRef,
                            format!("`after` names `{}`, but there is no task, gate or use block by that name", reference.text),
                            reference.span,
                            "unknown name",
                        );
                        let help = if self.params.iter().any(|p| p.name == reference.text) {
                            Some(format!(
                                "`{}` is a parameter; `after` lists tasks, gates and use blocks",
                                reference.text
                            ))
                        } else {
                            did_you_mean(&reference.text, names)
                        };
                        if let Some(help) = help {
                            d = d.with_help(help);
                        }
                        self.report(d);
                    }
                }
            }
            deps.push(node_deps);
            spans.push(node_spans);
        }
        (deps, spans)
    }

    fn report_cycle(&mut self, cycle: &[(usize, usize)], deps: &[Vec<usize>], spans: &[Vec<Span>]) {
        // `cycle` is in dependency order (each waits for the next); users read run order.
        let mut order: Vec<&str> = cycle
            .iter()
            .rev()
            .map(|&(node, _)| self.nodes[node].name.as_str())
            .collect();
        order.rotate_right(1);
        let first = order.first().copied().unwrap_or_default();
        let path = order
            .iter()
            .chain(std::iter::once(&first))
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(" → ");
        let message = if cycle.len() == 1 {
            format!("`{first}` waits for itself")
        } else {
            format!("these tasks wait for each other in a cycle: {path}")
        };
        let mut labels: Vec<(Span, String)> = cycle
            .iter()
            .map(|&(node, edge)| {
                let dep = deps[node][edge];
                (
                    spans[node][edge],
                    format!(
                        "`{}` waits for `{}`",
                        self.nodes[node].name, self.nodes[dep].name
                    ),
                )
            })
            .collect();
        labels.sort_by_key(|(span, _)| span.start);
        let mut labels = labels.into_iter();
        let Some((span, label)) = labels.next() else {
            return;
        };
        let mut d = Diagnostic::new(Code::Cycle, message, span, label)
            .with_help("remove one of these `after` references so the tasks can run in some order");
        for (span, label) in labels {
            d = d.with_label(span, label);
        }
        self.report(d);
    }

    fn defaults(&mut self, members: &[Member]) -> TaskDefaults {
        let mut result = TaskDefaults::default();
        let mut seen: Option<Span> = None;
        for member in members {
            let Member::Defaults(defaults) = member else {
                continue;
            };
            if let Some(first) = seen {
                self.report(
                    Diagnostic::new(
                        Code::Duplicate,
                        "a workflow has one `defaults` block",
                        defaults.keyword,
                        "second one here",
                    )
                    .with_label(first, "first one here")
                    .with_help("merge the two blocks"),
                );
                continue;
            }
            seen = Some(defaults.keyword);
            let fields = FieldSet::new(&defaults.block, self.diagnostics);
            fields.report_unknown(&DEFAULTS_FIELDS, "`defaults`", self.diagnostics);
            let scope = Scope::default();
            if let Some(field) = fields.get("agent") {
                result.agent = self.agent_ref(field);
            }
            if let Some(field) = fields.get("retry") {
                result.retry = expect_int(field, 0, 100, self.diagnostics).map(|n| n as u32);
            }
            if let Some(field) = fields.get("timeout") {
                result.timeout = expect_duration(field, self.diagnostics);
            }
            if let Some(field) = fields.get("priority") {
                result.priority = expect_int(field, 0, 4, self.diagnostics).map(|n| n as u8);
            }
            if let Some(field) = fields.get("labels") {
                result.labels = Some(self.template_list(field, Context::Plain, &scope));
            }
            if let Some(field) = fields.get("workdir") {
                result.workdir = self.workdir(field, &scope);
            }
            if let Some(field) = fields.get("env") {
                result.env = self.env(field, &scope);
            }
            if let Some(field) = fields.get("pass_env") {
                result.pass_env = self.pass_env(field);
            }
            if let Some(field) = fields.get("context") {
                result.context = self.template_map(field, Context::Prompt, &scope);
            }
            result.work = self.work_fields(&fields, &scope);
            if let Some(field) = fields.get("budget") {
                result.run_budget = expect_dollars(field, self.diagnostics);
            }
        }
        result
    }

    fn agent_ref(&mut self, field: &ast::Field) -> Option<ir::AgentId> {
        let name = expect_name(field, self.diagnostics)?;
        if let Some(index) = self.module.agents.iter().position(|a| a.name == name.text) {
            return Some(ir::AgentId(index as u32));
        }
        if self.module.broken.contains(&name.text) {
            return None;
        }
        let names: Vec<&str> = self.module.agents.iter().map(|a| a.name.as_str()).collect();
        let help = did_you_mean(&name.text, names.iter().copied()).unwrap_or_else(|| {
            if names.is_empty() {
                format!(
                    "declare it: `agent {} {{ adapter = \"claude-code\" }}`",
                    name.text
                )
            } else {
                format!("the agent profiles in this file are: {}", names.join(", "))
            }
        });
        self.report(
            Diagnostic::new(
                Code::UnknownRef,
                format!("there is no agent profile called `{}`", name.text),
                name.span,
                "unknown agent",
            )
            .with_help(help),
        );
        None
    }

    pub(super) fn template_list(
        &mut self,
        field: &ast::Field,
        context: Context,
        scope: &Scope,
    ) -> Vec<ir::Template> {
        let Some(items) = expect_str_list(field, self.diagnostics) else {
            return Vec::new();
        };
        items
            .into_iter()
            .map(|lit| self.template(lit, context, &field.name.text, scope))
            .collect()
    }

    fn template_map(
        &mut self,
        field: &ast::Field,
        context: Context,
        scope: &Scope,
    ) -> Vec<(String, ir::Template)> {
        let Some(entries) = expect_map(field, self.diagnostics) else {
            return Vec::new();
        };
        entries
            .into_iter()
            .map(|(key, lit)| {
                (
                    key.text.clone(),
                    self.template(lit, context, &field.name.text, scope),
                )
            })
            .collect()
    }

    fn env(&mut self, field: &ast::Field, scope: &Scope) -> Vec<(String, ir::Template)> {
        let entries = self.template_map(field, Context::Env, scope);
        if let ast::ExprKind::Map(items) = &field.value.kind {
            for item in items {
                if item.key.text.starts_with("WF_") {
                    self.report(
                        Diagnostic::new(
                            Code::Field,
                            format!(
                                "`{}` is reserved: wfc sets the WF_ variables itself",
                                item.key.text
                            ),
                            item.key.span,
                            "reserved name",
                        )
                        .with_help("choose a name that does not start with WF_"),
                    );
                }
            }
        }
        entries
            .into_iter()
            .filter(|(key, _)| !key.starts_with("WF_"))
            .collect()
    }

    /// The names of `pass_env`: plain names of environment variables, none of wfc's own.
    fn pass_env(&mut self, field: &ast::Field) -> Vec<String> {
        let Some(items) = expect_str_list(field, self.diagnostics) else {
            return Vec::new();
        };
        let mut names = Vec::new();
        for lit in items {
            let text = lit.plain_text();
            let problem = match &text {
                None => Some("a variable's name is written as it is, without `{{ }}`"),
                Some(name) if !is_variable_name(name) => Some(
                    "a variable's name is letters, digits and `_`, and does not start with a digit",
                ),
                Some(name) if name.starts_with("WF_") => Some("wfc sets the WF_ variables itself"),
                Some(_) => None,
            };
            match (problem, text) {
                (Some(why), _) => self.report(
                    Diagnostic::new(
                        Code::Type,
                        "`pass_env` names environment variables",
                        lit.span,
                        why,
                    )
                    .with_help("write the names, such as `pass_env = [\"SSH_AUTH_SOCK\"]`"),
                ),
                (None, Some(name)) if !names.contains(&name) => names.push(name),
                (None, _) => {}
            }
        }
        names
    }

    fn workdir(&mut self, field: &ast::Field, scope: &Scope) -> Option<ir::Template> {
        let lit = expect_line(field, self.diagnostics)?;
        if let Some(text) = lit.plain_text() {
            if let Err(why) = check_relative_path(&text) {
                self.report(
                    Diagnostic::new(
                        Code::Type,
                        "`workdir` must be a path inside the workspace",
                        lit.span,
                        why,
                    )
                    .with_help("write it relative to the workspace, without `..` that leaves it"),
                );
                return None;
            }
        }
        Some(self.template(lit, Context::Plain, "workdir", scope))
    }

    fn task(
        &mut self,
        task: &ast::Task,
        mut scope: Scope,
        defaults: &TaskDefaults,
    ) -> (ir::Task, Scope) {
        let for_each = task
            .for_each
            .as_ref()
            .and_then(|fe| self.for_each(fe, &scope));
        if let Some(fe) = &for_each {
            scope.loop_var = Some(LoopVar {
                name: fe.0.var.clone(),
                ty: fe.0.element.clone(),
                free: fe.1,
                run_time: fe.0.at_run_time(),
            });
        }
        let fields = FieldSet::new(&task.block, self.diagnostics);
        fields.report_unknown(&TASK_FIELDS, "a task", self.diagnostics);
        let for_each = self.fan_out_max(task, for_each, &fields);
        let action = match (fields.get("prompt"), fields.get("run")) {
            (Some(prompt), Some(run)) => {
                let second = if prompt.span.start < run.span.start {
                    run
                } else {
                    prompt
                };
                let first = if second.name.text == "run" {
                    prompt
                } else {
                    run
                };
                self.report(
                    Diagnostic::new(Code::Field, format!("task `{}` has both `prompt` and `run`", task.name.text), second.name.span, "second one here")
                        .with_label(first.name.span, "first one here")
                        .with_help("an agent task has a `prompt`; a command task has `run`; split it into two tasks"),
                );
                None
            }
            (Some(prompt), None) => expect_str(prompt, self.diagnostics).map(|lit| {
                ir::Action::Prompt(self.template(lit, Context::Prompt, "prompt", &scope))
            }),
            (None, Some(run)) => expect_str(run, self.diagnostics)
                .map(|lit| ir::Action::Run(self.template(lit, Context::Shell, "run", &scope))),
            (None, None) => {
                if !task.block.has_broken("prompt") && !task.block.has_broken("run") {
                    self.report(
                        Diagnostic::new(Code::Field, format!("task `{}` has neither `prompt` nor `run`", task.name.text), task.name.span, "nothing to do")
                            .with_help("give it a `prompt = \"…\"` for an agent, or `run = \"…\"` for a shell command"),
                    );
                }
                None
            }
        };
        let is_command = fields.get("run").is_some();
        let title = fields
            .get("title")
            .and_then(|f| expect_line(f, self.diagnostics))
            .map(|lit| self.template(lit, Context::Prompt, "title", &scope));
        let accept = fields
            .get("accept")
            .map(|f| self.template_list(f, Context::Prompt, &scope))
            .unwrap_or_default();
        let verify = fields
            .get("verify")
            .map(|f| self.template_list(f, Context::Shell, &scope))
            .unwrap_or_default();
        let agent = match fields.get("agent") {
            Some(field) if is_command => {
                self.report(
                    Diagnostic::new(
                        Code::Field,
                        format!(
                            "task `{}` runs a command, so it takes no agent",
                            task.name.text
                        ),
                        field.name.span,
                        "not used by a command task",
                    )
                    .with_help("remove `agent`, or replace `run` with a `prompt`"),
                );
                None
            }
            Some(field) => self.agent_ref(field),
            None if is_command => None,
            None => defaults.agent,
        };
        // Reported after the task's own fields, whose errors matter more.
        let names_no_agent = fields.get("agent").is_none()
            && defaults.agent.is_none()
            && matches!(action, Some(ir::Action::Prompt(_)));
        if is_command {
            if let Some(field) = fields.get("accept") {
                self.report(
                    Diagnostic::new(
                        Code::Field,
                        "acceptance criteria are for agents; a command task has none",
                        field.name.span,
                        "not used by a command task",
                    )
                    .with_help("check the command's outcome with `verify` instead"),
                );
            }
        }
        let retry = fields
            .get("retry")
            .and_then(|f| expect_int(f, 0, 100, self.diagnostics))
            .map(|n| n as u32)
            .or(defaults.retry)
            .unwrap_or(0);
        let timeout = fields
            .get("timeout")
            .and_then(|f| expect_duration(f, self.diagnostics))
            .or(defaults.timeout);
        let priority = fields
            .get("priority")
            .and_then(|f| expect_int(f, 0, 4, self.diagnostics))
            .map(|n| n as u8)
            .or(defaults.priority)
            .unwrap_or(2);
        let labels = match fields.get("labels") {
            Some(field) => self.template_list(field, Context::Plain, &scope),
            None => defaults.labels.clone().unwrap_or_default(),
        };
        let workdir = match fields.get("workdir") {
            Some(field) => self.workdir(field, &scope),
            None => defaults.workdir.clone(),
        };
        let env = merge(
            &defaults.env,
            fields
                .get("env")
                .map(|f| self.env(f, &scope))
                .unwrap_or_default(),
        );
        let mut pass_env = defaults.pass_env.clone();
        if let Some(field) = fields.get("pass_env") {
            for name in self.pass_env(field) {
                if !pass_env.contains(&name) {
                    pass_env.push(name);
                }
            }
        }
        let context = merge(
            &defaults.context,
            fields
                .get("context")
                .map(|f| self.template_map(f, Context::Prompt, &scope))
                .unwrap_or_default(),
        );
        let work = self.work_fields(&fields, &scope).over(&defaults.work);
        if names_no_agent {
            self.report(
                Diagnostic::new(
                    Code::NoAgent,
                    format!(
                        "task `{}` names no agent profile, and `defaults` sets none",
                        task.name.text
                    ),
                    task.name.span,
                    "which agent runs this?",
                )
                .with_help(
                    "set `agent = NAME` in the task or in `defaults`; otherwise `wfc run` \
                     needs `--agent ADAPTER` (such as `--agent claude-code`)",
                ),
            );
        }
        let task = ir::Task {
            for_each: for_each.map(|(fe, _)| fe),
            title,
            action: action.unwrap_or(ir::Action::Run(ir::Template {
                context: Context::Shell,
                segments: Vec::new(),
                span: task.name.span,
            })),
            accept,
            verify,
            agent,
            retry,
            timeout,
            priority,
            labels,
            workdir,
            env,
            pass_env,
            context,
            work,
            budget: fields
                .get("budget")
                .and_then(|f| expect_dollars(f, self.diagnostics)),
            output: scope
                .current
                .and_then(|index| self.nodes[index].output.clone()),
        };
        (task, scope)
    }

    /// The fan-out clause, and whether its elements are free text.
    fn for_each(&mut self, for_each: &ast::ForEach, scope: &Scope) -> Option<(ir::ForEach, bool)> {
        if let Some((_, param)) = self
            .params
            .iter()
            .enumerate()
            .find(|(_, p)| p.name == for_each.var.text)
        {
            let first = param.name_span;
            self.report(
                Diagnostic::new(
                    Code::Duplicate,
                    format!(
                        "the loop variable `{}` hides the parameter of that name",
                        for_each.var.text
                    ),
                    for_each.var.span,
                    "loop variable",
                )
                .with_label(first, "parameter")
                .with_help("give the loop variable another name"),
            );
        }
        if let ast::ExprKind::Ref(path) = &for_each.iter.kind {
            if path.len() >= 2
                && path[1].text == "output"
                && self.node_index(&path[0].text).is_some()
            {
                // A list that does not fit was reported; the loop variable is still declared,
                // as an error type, so its uses are not reported again.
                let (iter, free) = self
                    .run_time_list(path, for_each.iter.span, scope)
                    .unwrap_or_else(|| {
                        let node = self.node_index(&path[0].text).unwrap_or(0);
                        let kind = ir::ExprKind::Output(ir::NodeId(node as u32), Vec::new());
                        let (ty, span) = (Type::Error, for_each.iter.span);
                        (ir::Expr { kind, ty, span }, false)
                    });
                let element = match &iter.ty {
                    Type::List(element) => (**element).clone(),
                    _ => Type::Error,
                };
                return Some((
                    ir::ForEach {
                        var: for_each.var.text.clone(),
                        iter,
                        element,
                        var_span: for_each.var.span,
                        max: Some(DEFAULT_FAN_OUT_MAX),
                    },
                    free,
                ));
            }
        }
        let iter = self.expr(&for_each.iter, scope);
        self.forbid_secret(&iter, "a `for each` list");
        let element = match &iter.ty {
            Type::List(element) => (**element).clone(),
            Type::Error => Type::Error,
            other => {
                self.report(
                    Diagnostic::new(Code::Type, format!("`for each` walks a list, but this is {}", describe_type(other)), iter.span, "not a list")
                        .with_help("declare the parameter as `list<string>`, or write a list: `[\"a\", \"b\"]`"),
                );
                Type::Error
            }
        };
        let free = match &iter.kind {
            ir::ExprKind::Param(id) => {
                let param = &self.params[id.0 as usize];
                super::template::is_free(&element, param.pattern.is_some())
            }
            ir::ExprKind::Value(Value::List(items)) => items
                .iter()
                .any(|v| matches!(v, Value::String(s) if !is_word(s))),
            _ => element == Type::Text || element == Type::String,
        };
        Some((
            ir::ForEach {
                var: for_each.var.text.clone(),
                iter,
                element,
                var_span: for_each.var.span,
                max: None,
            },
            free,
        ))
    }

    fn gate(&mut self, gate: &ast::Gate, scope: &Scope) -> ir::Gate {
        let fields = FieldSet::new(&gate.block, self.diagnostics);
        fields.report_unknown(&GATE_FIELDS, "a gate", self.diagnostics);
        let ask = match fields.get("ask") {
            Some(field) => expect_str(field, self.diagnostics)
                .map(|lit| self.template(lit, Context::Prompt, "ask", scope)),
            None => {
                if !gate.block.has_broken("ask") {
                    self.report(
                        Diagnostic::new(
                            Code::Field,
                            format!("gate `{}` does not say what to ask", gate.name.text),
                            gate.name.span,
                            "no `ask` field",
                        )
                        .with_help("add `ask = \"Approve …?\"`: the question the approver answers"),
                    );
                }
                None
            }
        };
        let timeout = fields
            .get("timeout")
            .and_then(|f| expect_duration(f, self.diagnostics));
        ir::Gate {
            ask: ask.unwrap_or(ir::Template {
                context: Context::Prompt,
                segments: Vec::new(),
                span: gate.name.span,
            }),
            timeout,
        }
    }

    fn use_block(&mut self, use_decl: &ast::Use, scope: &Scope) -> Option<ir::UseBlock> {
        let module = self.module;
        let Some(import) = module
            .imports
            .iter()
            .find(|i| i.alias == use_decl.module.text)
        else {
            if !module.broken.contains(&use_decl.module.text) {
                let aliases: Vec<&str> = module.imports.iter().map(|i| i.alias.as_str()).collect();
                let help = did_you_mean(&use_decl.module.text, aliases).unwrap_or_else(|| {
                    format!(
                        "import it first: `import \"std/{0}\" as {0}`",
                        use_decl.module.text
                    )
                });
                self.report(
                    Diagnostic::new(
                        Code::UnknownRef,
                        format!("there is no import called `{}`", use_decl.module.text),
                        use_decl.module.span,
                        "unknown module",
                    )
                    .with_help(help),
                );
            }
            return None;
        };
        let module_id = import.module?;
        let callee_module = &module.modules[module_id.0 as usize];
        let Some((workflow_id, callee)) = callee_module.ir.workflow(&use_decl.workflow.text) else {
            let names: Vec<&str> = callee_module
                .ir
                .workflows
                .iter()
                .map(|w| w.name.as_str())
                .collect();
            let help = did_you_mean(&use_decl.workflow.text, names.iter().copied())
                .unwrap_or_else(|| format!("`{}` has: {}", import.path, names.join(", ")));
            self.report(
                Diagnostic::new(
                    Code::UnknownRef,
                    format!(
                        "`{}` has no workflow called `{}`",
                        import.path, use_decl.workflow.text
                    ),
                    use_decl.workflow.span,
                    "unknown workflow",
                )
                .with_help(help),
            );
            return None;
        };
        let mut args: Vec<(ir::ParamId, ir::Expr)> = Vec::new();
        let mut given: Vec<(&str, Span)> = Vec::new();
        for arg in &use_decl.args {
            let value = self.expr(&arg.value, scope);
            let Some((param_id, param)) = callee.param(&arg.name.text) else {
                let names: Vec<&str> = callee.params.iter().map(|p| p.name.as_str()).collect();
                let help =
                    did_you_mean(&arg.name.text, names.iter().copied()).unwrap_or_else(|| {
                        format!("`{}` takes: {}", use_decl.workflow.text, names.join(", "))
                    });
                self.report(
                    Diagnostic::new(
                        Code::UnknownRef,
                        format!(
                            "`{}` has no parameter called `{}`",
                            use_decl.workflow.text, arg.name.text
                        ),
                        arg.name.span,
                        "unknown parameter",
                    )
                    .with_help(help),
                );
                continue;
            };
            if let Some((_, first)) = given.iter().find(|(n, _)| *n == arg.name.text) {
                self.report(
                    Diagnostic::new(
                        Code::Duplicate,
                        format!("`{}` is given twice", arg.name.text),
                        arg.name.span,
                        "again here",
                    )
                    .with_label(*first, "first here"),
                );
                continue;
            }
            given.push((&arg.name.text, arg.name.span));
            if !matches!(value.kind, ir::ExprKind::Param(_)) {
                self.forbid_secret(&value, "an expression; pass it on as it is");
            }
            match (&param.ty, &value.ty) {
                (Type::Secret, Type::Secret | Type::Error) | (Type::Error, _) => {}
                (Type::Secret, _) => self.report(
                    Diagnostic::new(Code::Secret, format!("`{}` is a secret; pass it a secret parameter", arg.name.text), value.span, "not a secret")
                        .with_help("declare `param NAME: secret` in this workflow and pass it on, so the value never appears in the file"),
                ),
                (_, Type::Secret) => self.report(
                    Diagnostic::new(Code::Secret, format!("a secret would flow into `{}`, which is not a secret parameter", arg.name.text), value.span, "secret value")
                        .with_help("only pass secrets to parameters declared `secret`"),
                ),
                (Type::Enum(_), Type::String) if matches!(value.kind, ir::ExprKind::Value(_)) => {}
                (Type::Path, Type::String) if matches!(value.kind, ir::ExprKind::Value(_)) => {
                    if let ir::ExprKind::Value(Value::String(text)) = &value.kind {
                        if let Err(why) = check_relative_path(text) {
                            self.report(
                                Diagnostic::new(Code::Type, format!("`{}` takes a path inside the workspace", arg.name.text), value.span, why)
                                    .with_help("paths are relative to the workspace, without `..` that leaves it"),
                            );
                        }
                    }
                }
                (expected, found) if !expected.accepts(found) => self.report(Diagnostic::new(
                    Code::Type,
                    format!("`{}` takes {}, not {}", arg.name.text, describe_type(expected), describe_type(found)),
                    value.span,
                    format!("expected {}", describe_type(expected)),
                )),
                _ => {}
            }
            if let (Type::Enum(values), ir::ExprKind::Value(Value::String(text))) =
                (&param.ty, &value.kind)
            {
                if !values.contains(text) {
                    let what = format!("`{}`", arg.name.text);
                    self.report(enum_mismatch(
                        values,
                        text,
                        value.span,
                        &what,
                        "not an allowed value",
                    ));
                }
            }
            if let (Some(source), ir::ExprKind::Value(Value::String(text))) =
                (&param.pattern, &value.kind)
            {
                if regex::Regex::new(&format!("^(?:{source})$")).is_ok_and(|re| !re.is_match(text))
                {
                    self.report(Diagnostic::new(
                        Code::Type,
                        format!(
                            "{text:?} does not match the pattern of `{}`: \"{source}\"",
                            arg.name.text
                        ),
                        value.span,
                        "does not match",
                    ));
                }
            }
            args.push((param_id, value));
        }
        for param in &callee.params {
            if param.default.is_none() && !given.iter().any(|(n, _)| *n == param.name) {
                self.report(
                    Diagnostic::new(
                        Code::Type,
                        format!(
                            "`{}.{}` needs the argument `{}`",
                            use_decl.module.text, use_decl.workflow.text, param.name
                        ),
                        use_decl.workflow.span,
                        format!("`{}` is missing", param.name),
                    )
                    .with_help(format!(
                        "add `{} = …` ({}) to the arguments",
                        param.name,
                        describe_type(&param.ty)
                    )),
                );
            }
        }
        Some(ir::UseBlock {
            module: module_id,
            workflow: workflow_id,
            args,
        })
    }

    /// Reports a secret that would decide the shape of the plan: which tasks exist is
    /// visible to everyone who can see the plan, so it would leak the secret.
    pub fn forbid_secret(&mut self, expr: &ir::Expr, place: &str) {
        let mut stack = vec![expr];
        while let Some(expr) = stack.pop() {
            match &expr.kind {
                ir::ExprKind::Param(id) if self.params[id.0 as usize].ty == Type::Secret => {
                    let name = self.params[id.0 as usize].name.clone();
                    self.report(
                        Diagnostic::new(Code::Secret, format!("the secret `{name}` cannot be used in {place}"), expr.span, "secret value")
                            .with_help("which tasks run is visible in the plan, so it would reveal the secret; pass secrets only to `env`, shell text, or a `secret` parameter of a `use`"),
                    );
                }
                ir::ExprKind::List(items) | ir::ExprKind::And(items) | ir::ExprKind::Or(items) => {
                    stack.extend(items)
                }
                ir::ExprKind::Not(inner) => stack.push(inner),
                ir::ExprKind::Eq(a, b) | ir::ExprKind::Ne(a, b) | ir::ExprKind::In(a, b) => {
                    stack.push(a);
                    stack.push(b);
                }
                _ => {}
            }
        }
    }

    /// Reports each `X.result` read by a node that does not certainly run after X, and then
    /// each read of a result that `when` may leave out without a fallback.
    fn report_results_not_upstream(&mut self) {
        let reads = std::mem::take(&mut self.result_reads);
        let queries: Vec<(usize, usize)> = reads.iter().map(|&(x, node, _, _)| (x, node)).collect();
        let answers = upstream(&self.deps, &queries);
        // For the help: whether the reader is itself upstream of X, so `after X` would loop.
        let reverse: Vec<(usize, usize)> = reads.iter().map(|&(x, node, _, _)| (node, x)).collect();
        let reversed = upstream(&self.deps, &reverse);
        for ((&(x, node, span, has_default), ok), runs_later) in
            reads.iter().zip(answers).zip(reversed)
        {
            let (name, reader) = (self.nodes[x].name.clone(), self.nodes[node].name.clone());
            if !ok {
                let help = if runs_later {
                    format!("`{name}` runs after `{reader}`, so `{reader}` can never read its result; move the work that needs it into a task after `{name}`")
                } else {
                    format!("add `after {name}` to `{reader}`")
                };
                self.report(
                    Diagnostic::new(
                        Code::NotUpstream,
                        format!("`{name}` is not upstream of `{reader}`, so its result may not exist yet"),
                        span,
                        "not a dependency",
                    )
                    .with_help(help),
                );
            } else if self.nodes[x].has_when && !has_default {
                self.report_conditional_result(x, span);
            }
        }
    }

    fn report_unused(&mut self, broken_text: &str) {
        for (param, used) in self.params.iter().zip(&self.used) {
            // A parameter mentioned in text that did not parse may well be used there.
            let mentioned = broken_text
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .any(|word| word == param.name);
            if !used && !mentioned {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::Unused,
                        format!("the parameter `{}` is never used", param.name),
                        param.name_span,
                        "unused",
                    )
                    .with_help(format!(
                        "use it as `{{{{ {} }}}}`, or remove it",
                        param.name
                    )),
                );
            }
        }
    }
}

/// Defaults first, then the task's own entries, which replace defaults with the same key.
fn merge(
    defaults: &[(String, ir::Template)],
    own: Vec<(String, ir::Template)>,
) -> Vec<(String, ir::Template)> {
    let mut merged: Vec<(String, ir::Template)> = defaults
        .iter()
        .filter(|(key, _)| !own.iter().any(|(k, _)| k == key))
        .cloned()
        .collect();
    merged.extend(own);
    merged
}

/// Whether `text` is a single plain word, safe to inline anywhere.
pub(crate) fn is_word(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

/// How a type is called in messages: "a string", "a list<string>".
pub(crate) fn describe_type(ty: &Type) -> String {
    match ty {
        Type::Int => "a number (int)".into(),
        Type::Bool => "`true` or `false` (bool)".into(),
        Type::Error => "a value".into(),
        Type::Enum(values) => {
            format!(
                "an enum value ({})",
                values
                    .iter()
                    .map(|v| format!("{v:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
        other => format!("a {other}"),
    }
}

/// The `wf::type` error for `text` where one of an enum's `values` is expected; `owner`
/// names the enum ("`depth`" or its type).
pub(crate) fn enum_mismatch(
    values: &[String],
    text: &str,
    span: Span,
    owner: &str,
    label: &str,
) -> Diagnostic {
    let list = values
        .iter()
        .map(|v| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let help = match did_you_mean(text, values.iter().map(String::as_str)) {
        Some(hint) => format!("{hint} The values are {list}"),
        None => format!("the values are {list}"),
    };
    Diagnostic::new(
        Code::Type,
        format!("{text:?} is not one of the values of {owner}"),
        span,
        label,
    )
    .with_help(help)
}

/// Whether `path` is relative and stays inside the directory it is relative to.
pub fn check_relative_path(path: &str) -> Result<(), String> {
    crate::workspace_path::normalize(path)
        .map(|_| ())
        .map_err(str::to_string)
}

/// Whether `name` can name an environment variable a shell can read: letters, digits and
/// `_`, not starting with a digit.
fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
