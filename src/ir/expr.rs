//! Checked expressions, as in `when`, `for each` and `use` arguments.

use super::{NodeId, ParamId, Type, Value};
use crate::span::Span;

/// A checked expression with its type.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What it computes.
    pub kind: ExprKind,
    /// Its type.
    pub ty: Type,
    /// Where it was written.
    pub span: Span,
}

/// The forms of a checked expression.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A constant.
    Value(Value),
    /// A parameter's value.
    Param(ParamId),
    /// The current element of the task's `for each`.
    LoopVar,
    /// `X.output.a.b`: a list in an upstream task's typed output, known only when X has run:
    /// the list of a run-time `for each`.
    Output(NodeId, Vec<String>),
    /// A list built of expressions.
    List(Vec<Expr>),
    /// Boolean negation.
    Not(Box<Expr>),
    /// Equality.
    Eq(Box<Expr>, Box<Expr>),
    /// Inequality.
    Ne(Box<Expr>, Box<Expr>),
    /// Membership of the left value in the right list.
    In(Box<Expr>, Box<Expr>),
    /// All operands are true.
    And(Vec<Expr>),
    /// Any operand is true.
    Or(Vec<Expr>),
}
