//! The one diagnostic model that the terminal, JSON and the language server all render.

use crate::span::Span;
use serde::Serialize;
use std::fmt;

/// The stable code of a diagnostic, as LANGUAGE.md §6 lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    /// The parser could not read the text.
    Syntax,
    /// Two items of one kind share a name.
    Duplicate,
    /// A reference names nothing that exists.
    UnknownRef,
    /// The `after` edges (or imports' workflows) loop.
    Cycle,
    /// A name is not a parameter or loop variable in scope.
    Unbound,
    /// `X.result` where X is not certainly a transitive dependency.
    NotUpstream,
    /// A value has the wrong type.
    Type,
    /// A block has a missing, unknown, repeated or misplaced field.
    Field,
    /// An interpolation could turn a value into code.
    Injection,
    /// A secret flows where it could be seen.
    Secret,
    /// An import cannot be found, or imports form a cycle.
    Import,
    /// A parameter nothing uses.
    Unused,
    /// Free text interpolated in the middle of a sentence of a prompt.
    InlineText,
    /// A value that may start with `-` begins an argument a program may read as an option.
    OptionInjection,
    /// An agent task that names no agent profile, with no default in `defaults`.
    NoAgent,
    /// An `output:` type a task cannot return, or a record type where only outputs take one.
    OutputType,
    /// `X.output` where X declares no `output:`.
    NoOutput,
    /// `X.output.f` where the output has no field `f`.
    OutputField,
    /// A run-time `for each` over something that is not a list of an upstream task's output,
    /// or with what such a loop cannot have.
    FanOut,
    /// An outcome condition or a `when` on outputs that cannot be decided while the run goes
    /// on.
    Condition,
    /// A bounded loop without a maximum, or with one out of range.
    LoopMax,
    /// A loop's `until` missing, or reading what is not an output of the loop's own tasks.
    LoopUntil,
    /// What a loop may not hold (a `use`, a run-time `for each`), or an edge into a loop
    /// from outside it, which must wait for the loop instead.
    LoopBody,
}

impl Code {
    /// Every code, in the order of LANGUAGE.md §6.
    pub const ALL: [Code; 23] = [
        Code::Syntax,
        Code::Duplicate,
        Code::UnknownRef,
        Code::Cycle,
        Code::Unbound,
        Code::NotUpstream,
        Code::Type,
        Code::Field,
        Code::Injection,
        Code::Secret,
        Code::Import,
        Code::Unused,
        Code::InlineText,
        Code::OptionInjection,
        Code::NoAgent,
        Code::OutputType,
        Code::NoOutput,
        Code::OutputField,
        Code::FanOut,
        Code::Condition,
        Code::LoopMax,
        Code::LoopUntil,
        Code::LoopBody,
    ];

    /// The code as users see it, such as `wf::cycle`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "wf::syntax",
            Code::Duplicate => "wf::duplicate",
            Code::UnknownRef => "wf::unknown-ref",
            Code::Cycle => "wf::cycle",
            Code::Unbound => "wf::unbound",
            Code::NotUpstream => "wf::not-upstream",
            Code::Type => "wf::type",
            Code::Field => "wf::field",
            Code::Injection => "wf::injection",
            Code::Secret => "wf::secret",
            Code::Import => "wf::import",
            Code::Unused => "wf::unused",
            Code::InlineText => "wf::inline-text",
            Code::OptionInjection => "wf::option-injection",
            Code::NoAgent => "wf::no-agent",
            Code::OutputType => "wf::output-type",
            Code::NoOutput => "wf::no-output",
            Code::OutputField => "wf::output-field",
            Code::FanOut => "wf::fan-out",
            Code::Condition => "wf::condition",
            Code::LoopMax => "wf::loop-max",
            Code::LoopUntil => "wf::loop-until",
            Code::LoopBody => "wf::loop-body",
        }
    }

    /// Whether diagnostics with this code are warnings rather than errors.
    pub fn severity(self) -> Severity {
        match self {
            Code::Unused | Code::InlineText | Code::OptionInjection | Code::NoAgent => {
                Severity::Warning
            }
            _ => Severity::Error,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The file cannot be used until it is fixed.
    Error,
    /// The file works, but probably not as meant.
    Warning,
}

/// A message attached to a span of the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What is wrong there; may be empty.
    pub message: String,
}

/// One problem found in one source file.
///
/// Invariant: `labels` is never empty and `labels[0]` is the primary label, on the exact
/// span of the problem; further labels point at related places in the same file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The stable code.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// One sentence saying what is wrong.
    pub message: String,
    /// How to fix it, where a fix is known.
    pub help: Option<String>,
    /// The primary label first, then related places.
    pub labels: Vec<Label>,
}

impl Diagnostic {
    /// A diagnostic with `code`'s severity and a primary label at `span`.
    pub fn new(
        code: Code,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            help: None,
            labels: vec![Label {
                span,
                message: label.into(),
            }],
        }
    }

    /// Adds help text.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a secondary label.
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// The span of the primary label.
    pub fn primary_span(&self) -> Span {
        self.labels[0].span
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Sorts diagnostics into document order, errors before warnings at the same place.
pub fn sort_diagnostics(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (a.primary_span().start, a.severity, a.code, &a.message).cmp(&(
            b.primary_span().start,
            b.severity,
            b.code,
            &b.message,
        ))
    });
}
