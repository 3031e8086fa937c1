//! Typed task outputs in the checker (GRAMMAR.md, "Typed outputs"): the type a task's
//! `output:` declares, and `X.output` and `X.output.FIELD` read in strings, typed by it.

use super::workflow::{NodeTag, WorkflowChecker};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{self, Source, Type};
use crate::suggest::did_you_mean;
use crate::syntax::ast::{self, ExprKind};

/// What `X.output…` resolves to: its source, type, and whether its values are free text and
/// may start with `-`.
pub(crate) struct OutputRead {
    pub source: Source,
    pub ty: Type,
    pub free: bool,
    pub leading_dash: bool,
}

impl WorkflowChecker<'_, '_> {
    /// The type a task's block declares with `output: TYPE`, reported where it cannot be an
    /// output; `None` without one (or with one written `output = …`, which the task's fields
    /// report).
    pub(crate) fn declared_output(&mut self, block: &ast::Block) -> Option<Type> {
        let field = block.fields.iter().find(|f| f.name.text == "output")?;
        let ExprKind::Type(written) = &field.value.kind else {
            return None;
        };
        let ty = self.lower_type(written);
        if let Some(what) = not_an_output(&ty) {
            self.report(
                Diagnostic::new(
                    Code::OutputType,
                    format!("a task's output cannot hold {what}"),
                    written.span,
                    "not an output type",
                )
                .with_help("outputs are string, text, int, bool, enum(…), list<…> and records { NAME: TYPE, … }"),
            );
            return Some(Type::Error);
        }
        Some(ty)
    }

    /// Reports a parameter whose type is, or holds, a record: records describe outputs.
    pub(crate) fn forbid_record_param(&mut self, ty: &Type, written: &ast::TypeExpr) {
        if holds_record(ty) {
            self.report(
                Diagnostic::new(
                    Code::OutputType,
                    "a parameter cannot be a record",
                    written.span,
                    "a record type",
                )
                .with_help("records describe what a task returns (`output: { … }`); give each field its own parameter"),
            );
        }
    }

    /// Resolves `X.output` or `X.output.a.b` (X a node of the workflow), reporting a task
    /// without `output:` and a field the output does not have.
    pub(crate) fn resolve_output(
        &mut self,
        node: usize,
        path: &[ast::Name],
        text: &str,
    ) -> Option<OutputRead> {
        let first = &path[0];
        if self.nodes[node].tag != NodeTag::Task {
            self.report(Diagnostic::new(
                Code::NoOutput,
                format!(
                    "`{}` is a {}, which has no output",
                    first.text,
                    self.nodes[node].tag.noun()
                ),
                first.span,
                "no output",
            ));
            return None;
        }
        let Some(declared) = self.nodes[node].output.clone() else {
            self.report(
                Diagnostic::new(
                    Code::NoOutput,
                    format!("`{}` declares no `output`, so `{text}` does not exist", first.text),
                    path[1].span,
                    "no typed output",
                )
                .with_help(format!(
                    "declare what it returns, e.g. `output: list<string>` in `{}`; or read its text: `{{{{ {}.result }}}}`",
                    first.text, first.text
                )),
            );
            return None;
        };
        if self.nodes[node].fan_out {
            self.report(
                Diagnostic::new(
                    Code::NoOutput,
                    format!(
                        "`{}` runs once per element of its `for each`, so it has no one output",
                        first.text
                    ),
                    first.span,
                    "a fan-out",
                )
                .with_help(format!(
                    "read the instances' text instead: `{{{{ {}.result }}}}`",
                    first.text
                )),
            );
            return None;
        }
        let mut ty = declared;
        let mut fields = Vec::with_capacity(path.len().saturating_sub(2));
        for name in &path[2..] {
            let next = match &ty {
                Type::Record(record) => match record.iter().find(|(f, _)| *f == name.text) {
                    Some((_, field)) => field.clone(),
                    None => {
                        let names = record.iter().map(|(f, _)| f.as_str());
                        let help = did_you_mean(&name.text, names).unwrap_or_else(|| {
                            let all: Vec<String> =
                                record.iter().map(|(f, _)| format!("`{f}`")).collect();
                            format!("its fields are {}", all.join(", "))
                        });
                        self.report(
                            Diagnostic::new(
                                Code::OutputField,
                                format!(
                                    "the output of `{}` has no field `{}`",
                                    first.text, name.text
                                ),
                                name.span,
                                "unknown field",
                            )
                            .with_help(help),
                        );
                        return None;
                    }
                },
                Type::Error => Type::Error,
                other => {
                    self.report(Diagnostic::new(
                        Code::OutputField,
                        format!(
                            "`{}` is {other}, which has no field `{}`",
                            path[..2 + fields.len()]
                                .iter()
                                .map(|n| n.text.as_str())
                                .collect::<Vec<_>>()
                                .join("."),
                            name.text
                        ),
                        name.span,
                        "no fields here",
                    ));
                    return None;
                }
            };
            fields.push(name.text.clone());
            ty = next;
        }
        let (free, leading_dash) = match &ty {
            Type::Int | Type::Bool => (false, false),
            Type::Enum(values) => (false, values.iter().any(|v| v.starts_with('-'))),
            _ => (true, true),
        };
        Some(OutputRead {
            source: Source::Output(ir::NodeId(node as u32), fields),
            ty,
            free,
            leading_dash,
        })
    }
}

impl WorkflowChecker<'_, '_> {
    /// The list of a run-time `for each` (`for each step in plan.output.steps`): an upstream
    /// task's output, or a field of it, that is a list. Returns the lowered expression and
    /// whether its elements are free text; reports what does not fit.
    pub(crate) fn run_time_list(
        &mut self,
        path: &[ast::Name],
        span: crate::span::Span,
        scope: &super::workflow::Scope,
    ) -> Option<(ir::Expr, bool)> {
        let node = self.node_index(&path[0].text)?;
        let text: String = path
            .iter()
            .map(|n| n.text.as_str())
            .collect::<Vec<_>>()
            .join(".");
        let read = self.resolve_output(node, path, &text)?;
        let Source::Output(id, fields) = read.source else {
            return None;
        };
        let Type::List(element) = &read.ty else {
            self.report(
                Diagnostic::new(
                    Code::FanOut,
                    format!("`for each` walks a list, and `{text}` is {}", read.ty),
                    span,
                    "not a list",
                )
                .with_help("declare the field as a list in the task's `output:`, e.g. `steps: list<string>`"),
            );
            return None;
        };
        let free = matches!(**element, Type::String | Type::Text);
        match scope.current {
            Some(current) if current != node => {
                // Settled with the results once every edge is known: `X` must run first.
                self.result_reads.push((node, current, span, false));
            }
            _ => {
                self.report(Diagnostic::new(
                    Code::FanOut,
                    format!("a task cannot fan out over its own output `{text}`"),
                    span,
                    "its own output",
                ));
                return None;
            }
        }
        let ty = read.ty.clone();
        Some((
            ir::Expr {
                kind: ir::ExprKind::Output(id, fields),
                ty,
                span,
            },
            free,
        ))
    }
}

impl WorkflowChecker<'_, '_> {
    /// Applies the task's `max` to its run-time `for each` (reporting a `max` without one,
    /// and a `when` on one, which cannot be decided before the list is known).
    pub(crate) fn fan_out_max(
        &mut self,
        task: &ast::Task,
        for_each: Option<(ir::ForEach, bool)>,
        fields: &super::fields::FieldSet<'_>,
    ) -> Option<(ir::ForEach, bool)> {
        let run_time = for_each.as_ref().is_some_and(|(fe, _)| fe.at_run_time());
        let max = fields.get("max");
        if let (Some(field), false) = (max, run_time) {
            self.report(
                Diagnostic::new(
                    Code::Field,
                    format!(
                        "`max` bounds a `for each` over a task's output, and `{}` has none",
                        task.name.text
                    ),
                    field.name.span,
                    "nothing to bound",
                )
                .with_help("a list known when the plan is made needs no bound; remove `max`"),
            );
        }
        if let (Some(when), true) = (&task.when, run_time) {
            self.report(
                Diagnostic::new(
                    Code::FanOut,
                    format!("`{}` fans out when its list is known, so a `when` cannot decide it before", task.name.text),
                    when.span,
                    "a condition on a run-time fan-out",
                )
                .with_help("put the condition on a task it waits for, or filter the list in the task that makes it"),
            );
        }
        let (mut fe, free) = for_each?;
        if let (Some(field), true) = (max, run_time) {
            match field.value.kind {
                ExprKind::Int(n) if (1..=super::workflow::LARGEST_FAN_OUT_MAX).contains(&n) => {
                    fe.max = usize::try_from(n).ok();
                }
                _ => self.report(
                    Diagnostic::new(
                        Code::Type,
                        format!(
                            "`max` is a number from 1 to {}",
                            super::workflow::LARGEST_FAN_OUT_MAX
                        ),
                        field.value.span,
                        "not a bound",
                    )
                    .with_help("write, e.g., `max = 50`"),
                ),
            }
        }
        Some((fe, free))
    }
}

/// What a type holds that an output cannot: a secret or a path (an agent's answer is neither
/// hidden nor checked against the workspace).
fn not_an_output(ty: &Type) -> Option<&'static str> {
    match ty {
        Type::Secret => Some("a secret"),
        Type::Path => Some("a path"),
        Type::List(element) => not_an_output(element),
        Type::Record(fields) => fields.iter().find_map(|(_, ty)| not_an_output(ty)),
        _ => None,
    }
}

/// Whether a type is, or holds, a record.
fn holds_record(ty: &Type) -> bool {
    match ty {
        Type::Record(_) => true,
        Type::List(element) => holds_record(element),
        _ => false,
    }
}

impl WorkflowChecker<'_, '_> {
    /// `X.output…` read in a task's `when` (GRAMMAR.md, "`when` on outputs"): typed by X's
    /// `output:`, and X must be upstream of the task, which decides the condition when it is
    /// claimed. `None` when the reference is something else, which the caller reports.
    pub(crate) fn output_in_when(
        &mut self,
        path: &[ast::Name],
        span: crate::span::Span,
        text: &str,
        scope: &super::workflow::Scope,
    ) -> Option<(ir::ExprKind, Type)> {
        if !self.in_task_when || path.len() < 2 || path[1].text != "output" {
            return None;
        }
        let node = self.node_index(&path[0].text)?;
        let Some(current) = scope.current.filter(|&c| c != node) else {
            self.report(
                Diagnostic::new(
                    Code::Condition,
                    format!("a task's `when` cannot read its own output `{text}`"),
                    span,
                    "its own output",
                )
                .with_help(
                    "the condition is decided before the task runs; read an upstream task's output",
                ),
            );
            return Some((ir::ExprKind::Value(ir::Value::Bool(false)), Type::Error));
        };
        let Some(read) = self.resolve_output(node, path, text) else {
            return Some((ir::ExprKind::Value(ir::Value::Bool(false)), Type::Error));
        };
        let Source::Output(id, fields) = read.source else {
            return None;
        };
        // Settled once every edge is known: X must run first. A left-out X has no output,
        // which skips the task rather than failing the check, so no default is needed.
        self.result_reads.push((node, current, span, true));
        Some((ir::ExprKind::Output(id, fields), read.ty))
    }
}

impl WorkflowChecker<'_, '_> {
    /// Reports an outcome condition (`after X (failed)`) on a task that fans out at run time:
    /// its instances are not known when the plan is made, so no edge to one of them can wait
    /// for its failure.
    pub(crate) fn check_outcomes(&mut self, task: &ast::Task, fans_out_at_run_time: &[bool]) {
        for outcome in &task.outcomes {
            let Some(node) = self.node_index(&outcome.name.text) else {
                continue;
            };
            if fans_out_at_run_time.get(node) == Some(&true) {
                self.report(
                    Diagnostic::new(
                        Code::Condition,
                        format!(
                            "`{}` fans out when its list is known, so `after {} ({})` cannot wait for its outcome",
                            outcome.name.text,
                            outcome.name.text,
                            outcome.outcome.as_str()
                        ),
                        outcome.span,
                        "an outcome of a run-time fan-out",
                    )
                    .with_help(format!(
                        "add a task after `{}` and wait for its outcome instead",
                        outcome.name.text
                    )),
                );
            }
        }
    }
}

/// Whether `task` fans out over an upstream task's output, so its instances are known only
/// at run time.
pub(crate) fn fans_out_at_run_time(task: &ast::Task) -> bool {
    task.for_each.as_ref().is_some_and(|fe| {
        matches!(&fe.iter.kind, ExprKind::Ref(path) if path.len() >= 2 && path[1].text == "output")
    })
}
