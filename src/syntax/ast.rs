//! The syntax tree of a `.wf` file: what was written, with byte spans, before any checking.

use crate::span::Span;

/// A name as written, with its span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    /// The name's text.
    pub text: String,
    /// Where it stands.
    pub span: Span,
}

/// Consecutive `///` lines before an item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Docs {
    /// The lines' text, each without `///` and one following space.
    pub lines: Vec<String>,
    /// The span of all the lines.
    pub span: Span,
}

impl Docs {
    /// The documentation as one text, lines joined by line breaks.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// A parsed `.wf` file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct File {
    /// The items in source order, including broken ones.
    pub items: Vec<Item>,
}

/// A top-level item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// `import "…" as M`.
    Import(Import),
    /// `agent NAME { … }`.
    Agent(Agent),
    /// `workflow NAME { … }`.
    Workflow(Workflow),
    /// Text the parser could not read; a syntax error was reported for it.
    Broken(Broken),
}

impl Item {
    /// The span of the whole item.
    pub fn span(&self) -> Span {
        match self {
            Item::Import(item) => item.span,
            Item::Agent(item) => item.span,
            Item::Workflow(item) => item.span,
            Item::Broken(item) => item.span,
        }
    }
}

/// A region the parser skipped after a syntax error, and the name it seemed to declare.
///
/// The checker treats that name as declared, so one typo does not also cause
/// "unknown" errors everywhere the name is used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    /// The skipped text.
    pub span: Span,
    /// The keyword it started with, such as `task`, if any.
    pub keyword: Option<String>,
    /// The name after the keyword, if one could be read.
    pub name: Option<Name>,
    /// The skipped text itself, so the checker can tell which names it mentions.
    pub text: String,
}

/// `import "PATH" as ALIAS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// Documentation.
    pub docs: Option<Docs>,
    /// The module path: `std/NAME` or a relative `./file.wf`.
    pub path: StrLit,
    /// The name the module is known by in this file.
    pub alias: Name,
    /// The whole item.
    pub span: Span,
}

/// `agent NAME { … }`: an agent profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    /// Documentation.
    pub docs: Option<Docs>,
    /// The profile's name.
    pub name: Name,
    /// Its settings.
    pub block: Block,
    /// The whole item.
    pub span: Span,
}

/// `workflow NAME { … }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workflow {
    /// Documentation.
    pub docs: Option<Docs>,
    /// The workflow's name.
    pub name: Name,
    /// Parameters, defaults, tasks, gates and uses in source order.
    pub members: Vec<Member>,
    /// Where the closing `}` is missing, the place it was expected.
    pub unclosed: Option<Span>,
    /// The opening `{`.
    pub open_brace: Span,
    /// The whole item.
    pub span: Span,
}

/// A member of a workflow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Member {
    /// `param NAME: TYPE …`.
    Param(Param),
    /// `defaults { … }`.
    Defaults(Defaults),
    /// `task NAME … { … }`.
    Task(Task),
    /// `gate NAME … { … }`.
    Gate(Gate),
    /// `use M.W(…) as NAME …`.
    Use(Use),
    /// `repeat NAME … { … }`: a bounded loop, holding its own members.
    Repeat(Repeat),
    /// Text the parser could not read.
    Broken(Broken),
}

impl Member {
    /// The span of the whole member.
    pub fn span(&self) -> Span {
        match self {
            Member::Param(member) => member.span,
            Member::Defaults(member) => member.span,
            Member::Task(member) => member.span,
            Member::Gate(member) => member.span,
            Member::Use(member) => member.span,
            Member::Repeat(member) => member.span,
            Member::Broken(member) => member.span,
        }
    }
}

impl Workflow {
    /// Every member, a loop's own members right after the loop: the order of the source,
    /// for the passes that treat a task in a loop as any other task.
    pub fn all_members(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().flat_map(|member| {
            let inner: &[Member] = match member {
                Member::Repeat(repeat) => &repeat.members,
                _ => &[],
            };
            std::iter::once(member).chain(inner)
        })
    }
}

/// `repeat NAME [after …] max N until EXPR { … }`: tasks run again, round after round, until
/// a condition on their outputs holds, at most `max` rounds (GRAMMAR.md, "Bounded loops").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repeat {
    /// Documentation.
    pub docs: Option<Docs>,
    /// The loop's name, which other members wait for.
    pub name: Name,
    /// What must succeed before the first round.
    pub after: Vec<Name>,
    /// `max N` or `max PARAM`: the most rounds; `None` when missing.
    pub max: Option<Expr>,
    /// `until EXPR`: the condition that ends the loop; `None` when missing.
    pub until: Option<Expr>,
    /// The tasks, gates and uses of one round (broken ones too), in source order.
    pub members: Vec<Member>,
    /// The opening `{`.
    pub open_brace: Span,
    /// Where the closing `}` is missing, the place it was expected.
    pub unclosed: Option<Span>,
    /// The whole member.
    pub span: Span,
}

/// `param NAME: TYPE [matching "REGEX"] [= DEFAULT]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// Documentation.
    pub docs: Option<Docs>,
    /// The parameter's name.
    pub name: Name,
    /// Its declared type.
    pub ty: TypeExpr,
    /// The pattern a string's value must match.
    pub matching: Option<StrLit>,
    /// The default value; without one the parameter is required.
    pub default: Option<Expr>,
    /// The whole member.
    pub span: Span,
}

/// A type as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeExpr {
    /// Which type.
    pub kind: TypeExprKind,
    /// Where it was written.
    pub span: Span,
}

/// The forms of a type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeExprKind {
    /// A type named by one word, such as `string`.
    Named(Name),
    /// `enum("a", "b")`.
    Enum(Vec<StrLit>),
    /// `list<T>`.
    List(Box<TypeExpr>),
    /// `{ NAME: TYPE, … }`: a record of named fields, in source order.
    Record(Vec<(Name, TypeExpr)>),
}

/// `defaults { … }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Defaults {
    /// The default field values.
    pub block: Block,
    /// The `defaults` keyword.
    pub keyword: Span,
    /// The whole member.
    pub span: Span,
}

/// `task NAME [for each …] [after …] [when …] { … }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    /// Documentation.
    pub docs: Option<Docs>,
    /// The task's id.
    pub name: Name,
    /// The fan-out clause.
    pub for_each: Option<ForEach>,
    /// What must end first: succeed, unless `outcomes` says otherwise.
    pub after: Vec<Name>,
    /// The references of `after` written with an outcome: `after build (failed)`.
    pub outcomes: Vec<AfterOutcome>,
    /// The condition under which the task is part of the plan.
    pub when: Option<Expr>,
    /// The fields.
    pub block: Block,
    /// The whole member.
    pub span: Span,
}

/// `for each VAR in EXPR`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForEach {
    /// The loop variable.
    pub var: Name,
    /// The list it walks.
    pub iter: Expr,
    /// The whole clause.
    pub span: Span,
}

/// `gate NAME [after …] [when …] { … }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gate {
    /// Documentation.
    pub docs: Option<Docs>,
    /// The gate's id.
    pub name: Name,
    /// What must succeed first.
    pub after: Vec<Name>,
    /// The condition under which the gate is part of the plan.
    pub when: Option<Expr>,
    /// The fields.
    pub block: Block,
    /// The whole member.
    pub span: Span,
}

/// `use MODULE.WORKFLOW(ARG = EXPR, …) as NAME [after …] [when …]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Use {
    /// Documentation.
    pub docs: Option<Docs>,
    /// The import alias.
    pub module: Name,
    /// The workflow inside that module.
    pub workflow: Name,
    /// The arguments.
    pub args: Vec<UseArg>,
    /// The id of the inlined block.
    pub alias: Name,
    /// What must succeed first.
    pub after: Vec<Name>,
    /// The condition under which the block is part of the plan.
    pub when: Option<Expr>,
    /// The whole member.
    pub span: Span,
}

/// `NAME = EXPR` in a `use`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UseArg {
    /// The callee's parameter.
    pub name: Name,
    /// The value given to it.
    pub value: Expr,
}

/// `{ FIELD = VALUE … }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The fields that could be read, in source order.
    pub fields: Vec<Field>,
    /// Fields that could not be read; a syntax error was reported for each.
    pub broken: Vec<Broken>,
    /// Where the closing `}` is missing, the place it was expected.
    pub unclosed: Option<Span>,
    /// The whole block, braces included.
    pub span: Span,
}

impl Block {
    /// The first field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|field| field.name.text == name)
    }

    /// Whether a broken field seemed to be called `name`.
    pub fn has_broken(&self, name: &str) -> bool {
        self.broken
            .iter()
            .any(|broken| broken.name.as_ref().is_some_and(|n| n.text == name))
    }
}

/// `NAME = VALUE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field's name.
    pub name: Name,
    /// Its value.
    pub value: Expr,
    /// The whole field.
    pub span: Span,
}

/// An expression or value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it was written.
    pub span: Span,
}

/// The forms of an expression.
///
/// `&&` and `||` chains are flat lists and `!` runs are counted, so the depth of the tree
/// is bounded by the nesting of brackets, which the parser limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExprKind {
    /// A string or text block.
    Str(StrLit),
    /// A decimal integer.
    Int(i64),
    /// `true` or `false`.
    Bool(bool),
    /// A duration such as `30m`, in seconds.
    Duration(u64),
    /// `[a, b]`.
    List(Vec<Expr>),
    /// `{ key = value }`.
    Map(Vec<MapEntry>),
    /// A dotted reference such as `name` or `claude`.
    Ref(Vec<Name>),
    /// `!x`, `!!x`: `count` negations of the operand.
    Not {
        /// How many `!`.
        count: usize,
        /// What is negated.
        operand: Box<Expr>,
    },
    /// `a == b`, `a != b`, `a in b`.
    Compare {
        /// Which comparison.
        op: CompareOp,
        /// The span of the operator.
        op_span: Span,
        /// The left operand.
        lhs: Box<Expr>,
        /// The right operand.
        rhs: Box<Expr>,
    },
    /// `a && b && …`, two or more operands.
    And(Vec<Expr>),
    /// `a || b || …`, two or more operands.
    Or(Vec<Expr>),
    /// `( e )`, kept so the formatter can print what was written.
    Paren(Box<Expr>),
    /// The type of a field written `NAME: TYPE` (`output: list<string>`).
    Type(TypeExpr),
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `in`.
    In,
}

impl CompareOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::In => "in",
        }
    }
}

/// `key = value` in a map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapEntry {
    /// The key.
    pub key: Name,
    /// The value.
    pub value: Expr,
}

/// A string or text block, cooked: escapes applied and a text block's indentation removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrLit {
    /// Literal text and interpolations in order.
    pub parts: Vec<StrPart>,
    /// Whether it was written as a `"""` text block.
    pub block: bool,
    /// The whole literal, quotes included.
    pub span: Span,
}

impl StrLit {
    /// The literal's value when it has no interpolation.
    pub fn plain_text(&self) -> Option<String> {
        let mut text = String::new();
        for part in &self.parts {
            match part {
                StrPart::Text { value, .. } => text.push_str(value),
                StrPart::Interp(_) => return None,
            }
        }
        Some(text)
    }

    /// The interpolations in order.
    pub fn interpolations(&self) -> impl Iterator<Item = &Interp> {
        self.parts.iter().filter_map(|part| match part {
            StrPart::Interp(interp) => Some(interp),
            StrPart::Text { .. } => None,
        })
    }
}

/// A piece of a string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StrPart {
    /// Literal text, after escapes and dedenting.
    Text {
        /// The text.
        value: String,
        /// Where it came from (approximate after dedenting).
        span: Span,
    },
    /// `{{ … }}`.
    Interp(Interp),
}

/// `{{ path | filter … }}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interp {
    /// The dotted name read, such as `name` or `design.result`.
    pub path: Vec<Name>,
    /// The filters applied, in order.
    pub filters: Vec<FilterCall>,
    /// The whole `{{ … }}`.
    pub span: Span,
}

impl Interp {
    /// The span of the dotted name.
    pub fn path_span(&self) -> Span {
        let first = self.path[0].span;
        self.path
            .iter()
            .fold(first, |span, name| span.to(name.span))
    }

    /// The dotted name as text.
    pub fn path_text(&self) -> String {
        self.path
            .iter()
            .map(|n| n.text.as_str())
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// `| name` or `| name(args)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterCall {
    /// The filter's name.
    pub name: Name,
    /// Its literal arguments.
    pub args: Vec<Expr>,
    /// The whole filter, from `|`.
    pub span: Span,
}

/// A reference of a task's `after` that waits for an outcome other than success.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AfterOutcome {
    /// The upstream it names (also in the task's `after`).
    pub name: Name,
    /// What the task waits for.
    pub outcome: Outcome,
    /// `(failed)` as written.
    pub span: Span,
}

/// On which outcome of an upstream a task runs (GRAMMAR.md, "Outcome conditions").
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// `(failed)`: the upstream failed, was rejected or cancelled, or can never run.
    Failed,
    /// `(always)`: the upstream ended, however.
    Always,
}

impl Outcome {
    /// The outcome as written between the parentheses.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Failed => "failed",
            Outcome::Always => "always",
        }
    }
}
