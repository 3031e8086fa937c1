//! The symbol index of one module: every name it declares and every place it refers to a
//! name, resolved to the declaration, in this module or an imported one.
//!
//! The index is built from the syntax tree, with the same scoping rules as the checker
//! (a loop variable before a parameter, `X.result` names a node, `use M.W(p = …)` names the
//! workflow `W` and its parameter `p` in module `M`). It reads the tree rather than the IR
//! because the tree holds every name with its span, also in items the checker rejected, so a
//! file with a mistake still answers hover and go-to-definition everywhere else.

use std::collections::HashMap;
use wfc::check::{CheckedModule, ModuleKey};
use wfc::span::Span;
use wfc::syntax::ast::{
    Block, Broken, Expr, ExprKind, Item, Member, Name, StrLit, StrPart, Task, Use, Workflow,
};

/// What kind of thing a name declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefKind {
    /// `import "…" as NAME`.
    Import,
    /// `agent NAME { … }`.
    Agent,
    /// `workflow NAME { … }`.
    Workflow,
    /// `param NAME: …`.
    Param,
    /// `task NAME …`.
    Task,
    /// `gate NAME …`.
    Gate,
    /// `use … as NAME`.
    Use,
    /// `repeat NAME …`.
    Loop,
    /// `for each NAME in …`.
    LoopVar,
}

impl DefKind {
    /// The keyword or phrase users know the kind by.
    pub fn noun(self) -> &'static str {
        match self {
            DefKind::Import => "import",
            DefKind::Agent => "agent",
            DefKind::Workflow => "workflow",
            DefKind::Param => "param",
            DefKind::Task => "task",
            DefKind::Gate => "gate",
            DefKind::Use => "use",
            DefKind::Loop => "repeat",
            DefKind::LoopVar => "loop variable",
        }
    }

    /// Whether the kind is a node of a workflow's graph, which `after` can name.
    pub fn is_node(self) -> bool {
        matches!(
            self,
            DefKind::Task | DefKind::Gate | DefKind::Use | DefKind::Loop
        )
    }
}

/// A declaration.
#[derive(Clone, Debug)]
pub struct Definition {
    /// What it declares.
    pub kind: DefKind,
    /// The declared name.
    pub name: String,
    /// The name where it is declared.
    pub name_span: Span,
    /// The whole declaration.
    pub span: Span,
    /// The workflow it belongs to, for parameters, nodes and loop variables.
    pub workflow: Option<String>,
    /// The task whose `for each` declares it, for loop variables.
    pub task: Option<String>,
    /// Whether the declaration was in text the parser could not read.
    pub broken: bool,
}

/// A declaration anywhere: the module and the span of its name. The whole module (the target
/// of an import's path) has an empty span at offset 0.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    /// The module that declares it.
    pub module: ModuleKey,
    /// The declared name's span in that module.
    pub span: Span,
}

/// A use of a name.
#[derive(Clone, Debug)]
pub struct Reference {
    /// The name as written here.
    pub span: Span,
    /// What it names.
    pub target: Target,
}

/// Every declaration and reference of one module.
#[derive(Clone, Debug)]
pub struct Index {
    /// The module indexed.
    pub key: ModuleKey,
    /// Declarations in source order.
    pub definitions: Vec<Definition>,
    /// References in source order.
    pub references: Vec<Reference>,
}

impl Index {
    /// Indexes `modules[id]`; the other modules are the ones its imports name.
    pub fn build(id: usize, modules: &[CheckedModule]) -> Index {
        let module = &modules[id];
        let mut builder = Builder {
            index: Index {
                key: module.key.clone(),
                definitions: Vec::new(),
                references: Vec::new(),
            },
            imports: HashMap::new(),
            agents: HashMap::new(),
            modules,
        };
        builder.items(module);
        builder.index.references.sort_by_key(|r| r.span.start);
        builder.index
    }

    /// The declaration whose name is at `span` in this module.
    pub fn definition(&self, span: Span) -> Option<&Definition> {
        self.definitions.iter().find(|d| d.name_span == span)
    }

    /// The name at `offset`, declared or referred to, with what it names. When a name ends
    /// where another starts, the narrower one wins.
    pub fn at(&self, offset: usize) -> Option<(Span, Target)> {
        let declared = self
            .definitions
            .iter()
            .filter(|d| d.name_span.contains(offset))
            .map(|d| (d.name_span, self.target(d.name_span)));
        let referred = self
            .references
            .iter()
            .filter(|r| r.span.contains(offset))
            .map(|r| (r.span, r.target.clone()));
        declared.chain(referred).min_by_key(|(span, _)| span.len())
    }

    /// Every place in this module that declares or names `target`.
    pub fn occurrences<'a>(&'a self, target: &'a Target) -> impl Iterator<Item = Span> + 'a {
        let declared = (target.module == self.key)
            .then(|| self.definition(target.span).map(|d| d.name_span))
            .flatten();
        declared.into_iter().chain(
            self.references
                .iter()
                .filter(move |r| &r.target == target)
                .map(|r| r.span),
        )
    }

    /// The declarations of the workflow called `workflow`, in source order.
    pub fn in_workflow<'a>(&'a self, workflow: &'a str) -> impl Iterator<Item = &'a Definition> {
        self.definitions
            .iter()
            .filter(move |d| d.workflow.as_deref() == Some(workflow))
    }

    fn target(&self, span: Span) -> Target {
        Target {
            module: self.key.clone(),
            span,
        }
    }
}

/// The names a workflow's members can see: its parameters and its nodes.
#[derive(Default)]
struct Scope {
    params: HashMap<String, Span>,
    nodes: HashMap<String, Span>,
    loop_var: Option<(String, Span)>,
}

struct Builder<'m> {
    index: Index,
    /// Import aliases: their span and the module they load, if it loaded.
    imports: HashMap<String, (Span, Option<usize>)>,
    agents: HashMap<String, Span>,
    modules: &'m [CheckedModule],
}

impl Builder<'_> {
    fn items(&mut self, module: &CheckedModule) {
        let mut import_number = 0;
        for item in &module.parsed.file.items {
            match item {
                Item::Import(import) => {
                    // The checker keeps one resolved import per readable import path, in
                    // source order; interpolated paths are skipped by both.
                    let resolved = if import.path.plain_text().is_some() {
                        let resolved = module.ir.imports.get(import_number);
                        import_number += 1;
                        resolved.and_then(|i| i.module).map(|m| m.0 as usize)
                    } else {
                        None
                    };
                    self.imports
                        .insert(import.alias.text.clone(), (import.alias.span, resolved));
                    self.define(DefKind::Import, &import.alias, import.span, None, None);
                    if let Some(target) = resolved.and_then(|m| self.modules.get(m)) {
                        self.refer(
                            import.path.span,
                            Target {
                                module: target.key.clone(),
                                span: Span::empty(0),
                            },
                        );
                    }
                }
                Item::Agent(agent) => {
                    self.agents.insert(agent.name.text.clone(), agent.name.span);
                    self.define(DefKind::Agent, &agent.name, agent.span, None, None);
                }
                Item::Workflow(workflow) => {
                    self.define(DefKind::Workflow, &workflow.name, workflow.span, None, None);
                }
                Item::Broken(broken) => {
                    let kind = match broken.keyword.as_deref() {
                        Some("agent") => DefKind::Agent,
                        Some("workflow") => DefKind::Workflow,
                        _ => continue,
                    };
                    if let Some(name) = &broken.name {
                        if kind == DefKind::Agent {
                            self.agents.insert(name.text.clone(), name.span);
                        }
                        self.define_broken(kind, name, broken, None);
                    }
                }
            }
        }
        // References are resolved after every item is declared, since an agent may be
        // declared after the workflow that uses it.
        for item in &module.parsed.file.items {
            if let Item::Workflow(workflow) = item {
                self.workflow(workflow);
            }
        }
    }

    fn workflow(&mut self, workflow: &Workflow) {
        let owner = Some(workflow.name.text.as_str());
        let mut scope = Scope::default();
        for member in workflow.all_members() {
            match member {
                Member::Param(param) => {
                    scope
                        .params
                        .insert(param.name.text.clone(), param.name.span);
                    self.define(DefKind::Param, &param.name, param.span, owner, None);
                }
                Member::Task(task) => {
                    scope.nodes.insert(task.name.text.clone(), task.name.span);
                    self.define(DefKind::Task, &task.name, task.span, owner, None);
                }
                Member::Gate(gate) => {
                    scope.nodes.insert(gate.name.text.clone(), gate.name.span);
                    self.define(DefKind::Gate, &gate.name, gate.span, owner, None);
                }
                Member::Use(use_decl) => {
                    scope
                        .nodes
                        .insert(use_decl.alias.text.clone(), use_decl.alias.span);
                    self.define(DefKind::Use, &use_decl.alias, use_decl.span, owner, None);
                }
                Member::Repeat(repeat) => {
                    scope
                        .nodes
                        .insert(repeat.name.text.clone(), repeat.name.span);
                    self.define(DefKind::Loop, &repeat.name, repeat.span, owner, None);
                }
                Member::Broken(broken) => {
                    let Some(name) = &broken.name else { continue };
                    let kind = match broken.keyword.as_deref() {
                        Some("param") => DefKind::Param,
                        Some("task") => DefKind::Task,
                        Some("gate") => DefKind::Gate,
                        Some("use") => DefKind::Use,
                        _ => continue,
                    };
                    let names = if kind == DefKind::Param {
                        &mut scope.params
                    } else {
                        &mut scope.nodes
                    };
                    names.entry(name.text.clone()).or_insert(name.span);
                    self.define_broken(kind, name, broken, owner);
                }
                Member::Defaults(_) => {}
            }
        }
        for member in workflow.all_members() {
            match member {
                Member::Param(param) => {
                    if let Some(default) = &param.default {
                        self.expr(default, &scope);
                    }
                }
                Member::Defaults(defaults) => self.block(&defaults.block, &scope),
                Member::Task(task) => self.task(task, owner, &mut scope),
                Member::Gate(gate) => {
                    self.after(&gate.after, &scope);
                    if let Some(when) = &gate.when {
                        self.expr(when, &scope);
                    }
                    self.block(&gate.block, &scope);
                }
                Member::Use(use_decl) => self.use_block(use_decl, &scope),
                Member::Repeat(repeat) => {
                    self.after(&repeat.after, &scope);
                    if let Some(until) = &repeat.until {
                        self.expr(until, &scope);
                    }
                }
                Member::Broken(_) => {}
            }
        }
    }

    fn task(&mut self, task: &Task, owner: Option<&str>, scope: &mut Scope) {
        self.after(&task.after, scope);
        if let Some(for_each) = &task.for_each {
            self.expr(&for_each.iter, scope);
            self.define(
                DefKind::LoopVar,
                &for_each.var,
                for_each.span,
                owner,
                Some(&task.name.text),
            );
            scope.loop_var = Some((for_each.var.text.clone(), for_each.var.span));
        }
        if let Some(when) = &task.when {
            self.expr(when, scope);
        }
        self.block(&task.block, scope);
        scope.loop_var = None;
    }

    fn use_block(&mut self, use_decl: &Use, scope: &Scope) {
        self.after(&use_decl.after, scope);
        if let Some(when) = &use_decl.when {
            self.expr(when, scope);
        }
        for arg in &use_decl.args {
            self.expr(&arg.value, scope);
        }
        let Some(&(alias_span, module)) = self.imports.get(&use_decl.module.text) else {
            return;
        };
        self.refer(use_decl.module.span, self.local(alias_span));
        let Some(callee) = module.and_then(|m| self.modules.get(m)) else {
            return;
        };
        let Some((_, workflow)) = callee.ir.workflow(&use_decl.workflow.text) else {
            return;
        };
        let remote = |span| Target {
            module: callee.key.clone(),
            span,
        };
        self.refer(use_decl.workflow.span, remote(workflow.name_span));
        for arg in &use_decl.args {
            if let Some((_, param)) = workflow.param(&arg.name.text) {
                self.refer(arg.name.span, remote(param.name_span));
            }
        }
    }

    fn after(&mut self, after: &[Name], scope: &Scope) {
        for name in after {
            if let Some(&span) = scope.nodes.get(&name.text) {
                self.refer(name.span, self.local(span));
            }
        }
    }

    fn block(&mut self, block: &Block, scope: &Scope) {
        for field in &block.fields {
            match (&field.name.text[..], &field.value.kind) {
                ("agent", ExprKind::Ref(path)) if path.len() == 1 => {
                    if let Some(&span) = self.agents.get(&path[0].text) {
                        self.refer(path[0].span, self.local(span));
                    }
                }
                _ => self.expr(&field.value, scope),
            }
        }
    }

    fn expr(&mut self, expr: &Expr, scope: &Scope) {
        match &expr.kind {
            ExprKind::Str(literal) => self.string(literal, scope),
            ExprKind::Ref(path) => match path.as_slice() {
                [name] => self.value_name(name, scope),
                // `X.output…` in a `when` or a loop's `until` reads task X.
                [task, output, ..] if output.text == "output" => {
                    if let Some(&span) = scope.nodes.get(&task.text) {
                        self.refer(task.span, self.local(span));
                    }
                }
                _ => {}
            },
            ExprKind::List(items) | ExprKind::And(items) | ExprKind::Or(items) => {
                for item in items {
                    self.expr(item, scope);
                }
            }
            ExprKind::Map(entries) => {
                for entry in entries {
                    self.expr(&entry.value, scope);
                }
            }
            ExprKind::Not { operand, .. } | ExprKind::Paren(operand) => self.expr(operand, scope),
            ExprKind::Compare { lhs, rhs, .. } => {
                self.expr(lhs, scope);
                self.expr(rhs, scope);
            }
            ExprKind::Int(_) | ExprKind::Bool(_) | ExprKind::Duration(_) | ExprKind::Type(_) => {}
        }
    }

    fn string(&mut self, literal: &StrLit, scope: &Scope) {
        for part in &literal.parts {
            let StrPart::Interp(interp) = part else {
                continue;
            };
            let Some(first) = interp.path.first() else {
                continue;
            };
            match interp.path.len() {
                1 => self.value_name(first, scope),
                _ => {
                    if let Some(&span) = scope.nodes.get(&first.text) {
                        self.refer(first.span, self.local(span));
                    }
                }
            }
        }
    }

    /// A name that reads a value: the loop variable in scope, else a parameter.
    fn value_name(&mut self, name: &Name, scope: &Scope) {
        let span = match &scope.loop_var {
            Some((var, span)) if *var == name.text => Some(*span),
            _ => scope.params.get(&name.text).copied(),
        };
        if let Some(span) = span {
            self.refer(name.span, self.local(span));
        }
    }

    fn local(&self, span: Span) -> Target {
        Target {
            module: self.index.key.clone(),
            span,
        }
    }

    fn refer(&mut self, span: Span, target: Target) {
        self.index.references.push(Reference { span, target });
    }

    fn define(
        &mut self,
        kind: DefKind,
        name: &Name,
        span: Span,
        workflow: Option<&str>,
        task: Option<&str>,
    ) {
        self.index.definitions.push(Definition {
            kind,
            name: name.text.clone(),
            name_span: name.span,
            span,
            workflow: workflow.map(str::to_string),
            task: task.map(str::to_string),
            broken: false,
        });
    }

    fn define_broken(
        &mut self,
        kind: DefKind,
        name: &Name,
        broken: &Broken,
        workflow: Option<&str>,
    ) {
        self.define(kind, name, broken.span, workflow, None);
        if let Some(definition) = self.index.definitions.last_mut() {
            definition.broken = true;
        }
    }
}
