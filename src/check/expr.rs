//! Checking expressions: names resolved to parameters and loop variables, types inferred.

use super::fields::describe_value;
use super::workflow::{describe_type, enum_mismatch, Scope, WorkflowChecker};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{self, ExprKind as I, Type, Value};
use crate::suggest::did_you_mean;
use crate::syntax::ast::{self, CompareOp, ExprKind as A};

impl WorkflowChecker<'_, '_> {
    /// Lowers and types an expression. Errors are reported; their parts get [`Type::Error`].
    pub fn expr(&mut self, expr: &ast::Expr, scope: &Scope) -> ir::Expr {
        let span = expr.span;
        let (kind, ty) = match &expr.kind {
            A::Str(lit) => match lit.plain_text() {
                Some(text) => (I::Value(Value::String(text)), Type::String),
                None => {
                    self.report(
                        Diagnostic::new(Code::Type, "strings in expressions cannot interpolate", lit.span, "interpolation here")
                            .with_help("write the name directly: `name == \"x\"`, not `\"{{ name }}\" == \"x\"`"),
                    );
                    (I::Value(Value::String(String::new())), Type::Error)
                }
            },
            A::Int(n) => (I::Value(Value::Int(*n)), Type::Int),
            A::Bool(b) => (I::Value(Value::Bool(*b)), Type::Bool),
            A::Duration(_) | A::Map(_) | A::Type(_) => {
                self.report(Diagnostic::new(
                    Code::Type,
                    format!(
                        "{} cannot be used in an expression",
                        describe_value(&expr.kind)
                    ),
                    span,
                    "not a value here",
                ));
                (I::Value(Value::Bool(false)), Type::Error)
            }
            A::List(items) => {
                let items: Vec<ir::Expr> =
                    items.iter().map(|item| self.expr(item, scope)).collect();
                let element = items
                    .iter()
                    .map(|item| item.ty.clone())
                    .find(|t| *t != Type::Error)
                    .unwrap_or(Type::Error);
                for item in &items {
                    if !comparable(&element, &item.ty) {
                        self.report(Diagnostic::new(
                            Code::Type,
                            format!(
                                "a list's elements have one type; this one is {}, the first {}",
                                describe_type(&item.ty),
                                describe_type(&element)
                            ),
                            item.span,
                            "different type",
                        ));
                    }
                }
                let constant: Option<Vec<Value>> = items
                    .iter()
                    .map(|item| match &item.kind {
                        I::Value(v) => Some(v.clone()),
                        _ => None,
                    })
                    .collect();
                let ty = Type::List(Box::new(element));
                match constant {
                    Some(values) => (I::Value(Value::List(values)), ty),
                    None => (I::List(items), ty),
                }
            }
            A::Ref(path) => self.reference(path, scope),
            A::Not { count, operand } => {
                let mut inner = self.expr(operand, scope);
                self.expect_type(&inner, &Type::Bool, "`!`");
                for _ in 0..(*count % 2) {
                    inner = ir::Expr {
                        kind: I::Not(Box::new(inner)),
                        ty: Type::Bool,
                        span,
                    };
                }
                return ir::Expr { span, ..inner };
            }
            A::Compare {
                op,
                op_span,
                lhs,
                rhs,
            } => {
                let left = self.expr(lhs, scope);
                let right = self.expr(rhs, scope);
                match op {
                    CompareOp::Eq | CompareOp::Ne => {
                        if !comparable(&left.ty, &right.ty) {
                            self.report(
                                Diagnostic::new(
                                    Code::Type,
                                    format!(
                                        "`{}` compares {} with {}",
                                        op.as_str(),
                                        describe_type(&left.ty),
                                        describe_type(&right.ty)
                                    ),
                                    *op_span,
                                    "these can never be equal",
                                )
                                .with_label(left.span, describe_type(&left.ty))
                                .with_label(right.span, describe_type(&right.ty)),
                            );
                        } else {
                            self.check_enum_literal(&left, &right);
                            self.check_enum_literal(&right, &left);
                        }
                        let (l, r) = (Box::new(left), Box::new(right));
                        (
                            if *op == CompareOp::Eq {
                                I::Eq(l, r)
                            } else {
                                I::Ne(l, r)
                            },
                            Type::Bool,
                        )
                    }
                    CompareOp::In => {
                        if let (Type::Enum(values), I::Value(Value::List(items))) =
                            (&left.ty, &right.kind)
                        {
                            for (item, expr) in items.iter().zip(match &rhs.kind {
                                A::List(exprs) => exprs.as_slice(),
                                _ => &[],
                            }) {
                                if let Value::String(text) = item {
                                    if !values.contains(text) {
                                        let owner = left.ty.to_string();
                                        self.report(enum_mismatch(
                                            values,
                                            text,
                                            expr.span,
                                            &owner,
                                            "never found",
                                        ));
                                    }
                                }
                            }
                        }
                        match &right.ty {
                            Type::List(element) => {
                                if !comparable(element, &left.ty) {
                                    self.report(Diagnostic::new(
                                        Code::Type,
                                        format!(
                                            "`in` looks for {} in a list of {}",
                                            describe_type(&left.ty),
                                            describe_type(element)
                                        ),
                                        *op_span,
                                        "never found",
                                    ));
                                }
                            }
                            Type::Error => {}
                            other => self.report(Diagnostic::new(
                                Code::Type,
                                format!(
                                    "`in` needs a list on its right, not {}",
                                    describe_type(other)
                                ),
                                right.span,
                                "not a list",
                            )),
                        }
                        (I::In(Box::new(left), Box::new(right)), Type::Bool)
                    }
                }
            }
            A::And(operands) | A::Or(operands) => {
                let lowered: Vec<ir::Expr> = operands
                    .iter()
                    .map(|operand| {
                        let e = self.expr(operand, scope);
                        let what = if matches!(expr.kind, A::And(_)) {
                            "`&&`"
                        } else {
                            "`||`"
                        };
                        self.expect_type(&e, &Type::Bool, what);
                        e
                    })
                    .collect();
                (
                    if matches!(expr.kind, A::And(_)) {
                        I::And(lowered)
                    } else {
                        I::Or(lowered)
                    },
                    Type::Bool,
                )
            }
            A::Paren(inner) => return self.expr(inner, scope),
        };
        ir::Expr { kind, ty, span }
    }

    fn reference(&mut self, path: &[ast::Name], scope: &Scope) -> (I, Type) {
        let Some(first) = path.first() else {
            return (I::Value(Value::Bool(false)), Type::Error);
        };
        let span = path.iter().fold(first.span, |s, n| s.to(n.span));
        if path.len() == 1 {
            if let Some(var) = scope.loop_var.as_ref().filter(|v| v.name == first.text) {
                return (I::LoopVar, var.ty.clone());
            }
            if let Some(index) = self.params.iter().position(|p| p.name == first.text) {
                self.used[index] = true;
                return (
                    I::Param(ir::ParamId(index as u32)),
                    self.params[index].ty.clone(),
                );
            }
        }
        if self.broken_params.contains(&first.text) {
            return (I::Value(Value::Bool(false)), Type::Error);
        }
        let text: String = path
            .iter()
            .map(|n| n.text.as_str())
            .collect::<Vec<_>>()
            .join(".");
        if let Some(read) = self.output_in_when(path, span, &text, scope) {
            return read;
        }
        let mut d = if self.node_index(&first.text).is_some() {
            Diagnostic::new(
                Code::Unbound,
                format!("`{text}` is not known when the plan is made"),
                span,
                "a task, not a parameter",
            )
            .with_help("conditions and arguments are decided before anything runs, so they can use parameters and loop variables, not task results")
        } else {
            let mut names: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
            if let Some(var) = &scope.loop_var {
                names.push(&var.name);
            }
            let d = Diagnostic::new(
                Code::Unbound,
                format!("`{text}` is not a parameter or loop variable"),
                span,
                "not in scope",
            );
            match did_you_mean(&first.text, names) {
                Some(hint) => d.with_help(hint),
                None => d.with_help(format!("declare it: `param {}: string`", first.text)),
            }
        };
        if path.len() > 1 && self.params.iter().any(|p| p.name == first.text) {
            d = Diagnostic::new(
                Code::Type,
                format!("the parameter `{}` has no fields", first.text),
                span,
                "no `.` after a parameter",
            );
        }
        self.report(d);
        (I::Value(Value::Bool(false)), Type::Error)
    }

    /// Reports a string literal compared with an enum that does not list it.
    fn check_enum_literal(&mut self, enum_side: &ir::Expr, literal_side: &ir::Expr) {
        if let (Type::Enum(values), I::Value(Value::String(text))) =
            (&enum_side.ty, &literal_side.kind)
        {
            if !values.contains(text) {
                let owner = enum_side.ty.to_string();
                self.report(enum_mismatch(
                    values,
                    text,
                    literal_side.span,
                    &owner,
                    "never equal",
                ));
            }
        }
    }

    /// Reports `expr` unless it has type `expected`; `what` names the place ("a `when` condition").
    pub fn expect_type(&mut self, expr: &ir::Expr, expected: &Type, what: &str) {
        if !expected.accepts(&expr.ty) {
            self.report(Diagnostic::new(
                Code::Type,
                format!(
                    "{what} needs {}, not {}",
                    describe_type(expected),
                    describe_type(&expr.ty)
                ),
                expr.span,
                format!("expected {}", describe_type(expected)),
            ));
        }
    }
}

/// Whether values of the two types can be compared for equality.
fn comparable(a: &Type, b: &Type) -> bool {
    match (a, b) {
        (Type::Error, _) | (_, Type::Error) => true,
        (Type::List(x), Type::List(y)) => comparable(x, y),
        (x, y) if x.is_textual() && y.is_textual() => true,
        (x, y) => x == y,
    }
}
