//! Checking bounded loops (GRAMMAR.md, "Bounded loops"): `repeat NAME max N until EXPR { … }`.
//!
//! A loop is a node of the workflow's graph, and so is each of its own members. Its members
//! wait for what the loop waits for, and the loop waits for them, so waiting for the loop is
//! waiting for its last round, and an output a member returns is upstream of the loop's
//! `until`. The repetition itself is no edge: each round is a DAG, the next round made at
//! run time after the one before, so a cycle written with `after` stays a `wf::cycle`
//! inside a loop as anywhere else.

use super::workflow::{NodeAst, Scope, WorkflowChecker};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{self, ExprKind, Type};
use crate::span::Span;
use crate::syntax::ast;

/// The most rounds a loop may run (`max`).
pub const LARGEST_LOOP_MAX: i64 = 100;

impl WorkflowChecker<'_, '_> {
    /// Refuses edges into a loop from outside it (they would wait for its first round
    /// only) and what a loop may not hold; then adds the loop's own edges: each member waits
    /// for what the loop waits for, and the loop for each member.
    pub(crate) fn loop_edges(
        &mut self,
        nodes: &[NodeAst<'_>],
        deps: &mut [Vec<usize>],
        spans: &mut [Vec<Span>],
    ) {
        for index in 0..nodes.len() {
            let mut at = 0;
            while at < deps[index].len() {
                let dep = deps[index][at];
                match self.nodes[dep].in_loop {
                    Some(owner) if self.nodes[index].in_loop != Some(owner) => {
                        self.report_edge_into_loop(index, dep, owner, spans[index][at]);
                        deps[index].remove(at);
                        spans[index].remove(at);
                    }
                    _ => at += 1,
                }
            }
        }
        // What each loop itself waits for, before its members are added to it.
        let outer: Vec<(Vec<usize>, Vec<Span>)> = (0..nodes.len())
            .map(|index| match nodes[index] {
                NodeAst::Loop(_) => (deps[index].clone(), spans[index].clone()),
                _ => (Vec::new(), Vec::new()),
            })
            .collect();
        for (index, node) in nodes.iter().enumerate() {
            let Some(owner) = self.nodes[index].in_loop else {
                continue;
            };
            self.refuse_in_loop(*node, owner);
            let NodeAst::Loop(repeat) = nodes[owner] else {
                continue;
            };
            let (outer, outer_spans) = &outer[owner];
            for (&dep, &span) in outer.iter().zip(outer_spans) {
                if !deps[index].contains(&dep) {
                    deps[index].push(dep);
                    spans[index].push(span);
                }
            }
            deps[owner].push(index);
            spans[owner].push(repeat.name.span);
        }
    }

    fn report_edge_into_loop(&mut self, reader: usize, dep: usize, owner: usize, span: Span) {
        let (name, loop_name) = (&self.nodes[dep].name, &self.nodes[owner].name);
        let diagnostic = Diagnostic::new(
            Code::LoopBody,
            format!(
                "`{}` waits for `{name}`, which runs once per round of the loop `{loop_name}`",
                self.nodes[reader].name
            ),
            span,
            "inside a loop",
        )
        .with_help(format!(
            "wait for the loop instead: `after {loop_name}` waits for its last round, and \
             `{name}.output` then reads the last round's"
        ));
        self.report(diagnostic);
    }

    /// Reports what a loop's round may not hold: a `use` (its tasks are not known to the
    /// loop when the plan is made) and a `for each` over an output (its instances are made
    /// at run time, as the loop's rounds are).
    fn refuse_in_loop(&mut self, node: NodeAst<'_>, owner: usize) {
        let loop_name = self.nodes[owner].name.clone();
        let (what, span) = match node {
            NodeAst::Use(use_decl) => ("a `use`", use_decl.alias.span),
            NodeAst::Task(task) if super::output::fans_out_at_run_time(task) => (
                "a `for each` over an output",
                task.for_each.as_ref().map_or(task.name.span, |f| f.span),
            ),
            _ => return,
        };
        self.report(
            Diagnostic::new(
                Code::LoopBody,
                format!("the loop `{loop_name}` cannot hold {what}"),
                span,
                "not in a loop",
            )
            .with_help(
                "a loop's round holds tasks and gates; move this out of the loop, before or after it",
            ),
        );
    }

    /// Lowers the loop at node `index`: its maximum, its `until` (typed as a `when` that
    /// reads outputs, and reading only its own members'), and its members.
    pub(crate) fn loop_block(
        &mut self,
        repeat: &ast::Repeat,
        index: usize,
        scope: &Scope,
    ) -> ir::LoopBlock {
        let name = &repeat.name.text;
        let max = match &repeat.max {
            Some(expr) => {
                let lowered = self.expr(expr, scope);
                self.expect_type(&lowered, &Type::Int, "a loop's `max`");
                self.forbid_secret(&lowered, "a loop's `max`");
                if let ExprKind::Value(ir::Value::Int(max)) = lowered.kind {
                    if !(1..=LARGEST_LOOP_MAX).contains(&max) {
                        self.report(
                            Diagnostic::new(
                                Code::LoopMax,
                                format!("the loop `{name}` may run {max} rounds; a loop runs 1 to {LARGEST_LOOP_MAX}"),
                                expr.span,
                                "out of range",
                            )
                            .with_help("say how many rounds at most, such as `max 3`"),
                        );
                    }
                }
                lowered
            }
            None => {
                self.report(
                    Diagnostic::new(
                        Code::LoopMax,
                        format!("the loop `{name}` has no maximum"),
                        repeat.name.span,
                        "no `max`",
                    )
                    .with_help(format!(
                        "a loop must end even when its condition never holds: write `repeat {name} max 3 until …`"
                    )),
                );
                ir::Expr {
                    kind: ExprKind::Value(ir::Value::Int(1)),
                    ty: Type::Error,
                    span: repeat.name.span,
                }
            }
        };
        let until = match &repeat.until {
            Some(expr) => {
                self.in_task_when = true;
                let lowered = self.expr(expr, scope);
                self.in_task_when = false;
                self.expect_type(&lowered, &Type::Bool, "a loop's `until`");
                self.forbid_secret(&lowered, "a loop's `until`");
                self.until_reads_own_members(&lowered, index);
                lowered
            }
            None => {
                self.report(
                    Diagnostic::new(
                        Code::LoopUntil,
                        format!("the loop `{name}` does not say when it ends"),
                        repeat.name.span,
                        "no `until`",
                    )
                    .with_help(
                        "add `until TASK.output… == …`: a condition on an output of the loop's own tasks",
                    ),
                );
                ir::Expr {
                    kind: ExprKind::Value(ir::Value::Bool(true)),
                    ty: Type::Error,
                    span: repeat.name.span,
                }
            }
        };
        // A loop's members are registered right after it, so they are found without a walk
        // of every node per loop.
        let body = (index + 1..self.nodes.len())
            .take_while(|&n| self.nodes[n].in_loop == Some(index))
            .map(|n| ir::NodeId(n as u32))
            .collect();
        ir::LoopBlock { max, until, body }
    }

    /// Reports each output `until` reads that is not of a task of the loop at `index`: the
    /// condition is decided on each round's outputs, which only the loop's own tasks have.
    fn until_reads_own_members(&mut self, expr: &ir::Expr, index: usize) {
        let mut outside = Vec::new();
        visit_outputs(expr, &mut |node, span| {
            if self.nodes[node].in_loop != Some(index) {
                outside.push((node, span));
            }
        });
        let loop_name = self.nodes[index].name.clone();
        for (node, span) in outside {
            let name = self.nodes[node].name.clone();
            self.report(
                Diagnostic::new(
                    Code::LoopUntil,
                    format!("the `until` of the loop `{loop_name}` reads `{name}`, which is not one of its tasks"),
                    span,
                    "not in the loop",
                )
                .with_help("`until` reads the outputs of the loop's own tasks, which each round returns anew"),
            );
        }
    }
}

/// Calls `seen` with the node and span of every `X.output…` that `expr` reads.
fn visit_outputs(expr: &ir::Expr, seen: &mut dyn FnMut(usize, Span)) {
    match &expr.kind {
        ExprKind::Output(node, _) => seen(node.0 as usize, expr.span),
        ExprKind::Not(inner) => visit_outputs(inner, seen),
        ExprKind::Eq(a, b) | ExprKind::Ne(a, b) | ExprKind::In(a, b) => {
            visit_outputs(a, seen);
            visit_outputs(b, seen);
        }
        ExprKind::And(items) | ExprKind::Or(items) | ExprKind::List(items) => {
            for item in items {
                visit_outputs(item, seen);
            }
        }
        ExprKind::Value(_) | ExprKind::Param(_) | ExprKind::LoopVar => {}
    }
}
