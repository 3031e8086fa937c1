//! Templates: strings with interpolations, each knowing where its value comes from and
//! in which context it will be rendered (LANGUAGE.md §4–§5).

use super::{NodeId, ParamId};
use crate::span::Span;

/// Where a template's text goes, which decides how values are rendered into it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// Shell text (`run`, `verify`): values become quoted environment variable references.
    Shell,
    /// Text an agent or a person reads (`prompt`, `accept`, `ask`, `context`, `title`):
    /// scalars inline, free text as fenced data blocks.
    Prompt,
    /// A value for an environment variable (`env`): passed as it is, never through a shell.
    Env,
    /// Plain data (`labels`, `workdir`): inserted as it is.
    Plain,
}

/// A checked string.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    /// The context it renders in.
    pub context: Context,
    /// Literal text and interpolations, in order.
    pub segments: Vec<Segment>,
    /// The literal's span.
    pub span: Span,
}

impl Template {
    /// The template's text when it has no interpolation.
    pub fn literal(&self) -> Option<String> {
        let mut text = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Text(t) => text.push_str(t),
                Segment::Value(_) => return None,
            }
        }
        Some(text)
    }

    /// The interpolations in order.
    pub fn interpolations(&self) -> impl Iterator<Item = &Interpolation> {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Value(interpolation) => Some(interpolation),
            Segment::Text(_) => None,
        })
    }
}

/// A piece of a template.
#[derive(Clone, Debug, PartialEq)]
pub enum Segment {
    /// Literal text.
    Text(String),
    /// A value filled in at instantiation or, for results, at run time.
    Value(Interpolation),
}

/// One `{{ … }}`, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Interpolation {
    /// Where the value comes from.
    pub source: Source,
    /// The filters to apply, in order.
    pub filters: Vec<Filter>,
    /// How the value is placed in the surrounding text.
    pub placement: Placement,
    /// Whether the value (after filters) is free text rather than a scalar.
    pub free_text: bool,
    /// The `{{ … }}`'s span.
    pub span: Span,
}

/// Where an interpolated value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A parameter of the workflow.
    Param(ParamId),
    /// The current element of the task's `for each`.
    LoopVar,
    /// `run.id`.
    RunId,
    /// `task.id`.
    TaskId,
    /// `X.result`: an upstream task's result, filled in by the runtime.
    Result(NodeId),
    /// `X.output.a.b`: a field of an upstream task's typed output (no fields for the whole
    /// output), filled in by the runtime.
    Output(NodeId, Vec<String>),
}

/// How an interpolation sits in its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// In running text (or any non-shell context).
    Inline,
    /// Alone on its line in a prompt: free text there becomes a fenced data block.
    OwnLine,
    /// Outside any quotes in shell text: rendered as `"$WF_ARG_n"`.
    ShellUnquoted,
    /// Inside double quotes in shell text: rendered as `${WF_ARG_n}`.
    ShellDoubleQuoted,
}

/// A filter applied to an interpolated value. It is also how a plan stores the filters the
/// runtime applies to results and secrets, so it serializes as `{"filter": NAME, "arg": …}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "filter", content = "arg", rename_all = "snake_case")]
pub enum Filter {
    /// Lower-case words joined by `-`, with everything else removed.
    Slug,
    /// Upper case.
    Upper,
    /// Lower case.
    Lower,
    /// Leading and trailing white space removed.
    Trim,
    /// A list's elements joined by the separator.
    Join(String),
    /// A list's elements as separate words of shell text, each its own quoted variable
    /// (`"$WF_ARG_1_1" "$WF_ARG_1_2"`), so a loop or a command gets one argument per
    /// element and no element can become syntax.
    Words,
    /// The value as JSON.
    Json,
    /// The text used when the value is missing (a result of a task left out by `when`).
    Default(String),
}

impl Filter {
    /// The filter's name as written.
    pub fn name(&self) -> &'static str {
        match self {
            Filter::Slug => "slug",
            Filter::Upper => "upper",
            Filter::Lower => "lower",
            Filter::Trim => "trim",
            Filter::Join(_) => "join",
            Filter::Words => "words",
            Filter::Json => "json",
            Filter::Default(_) => "default",
        }
    }
}

/// The names of every filter, for messages and completion.
pub const FILTER_NAMES: [&str; 8] = [
    "slug", "upper", "lower", "trim", "join", "words", "json", "default",
];

/// Whether a filter name is known.
pub fn is_filter(name: &str) -> bool {
    FILTER_NAMES.contains(&name)
}

/// Keeps the list of names next to the type it describes.
impl Source {
    /// The node whose result or output this reads, if it is one.
    pub fn result_of(&self) -> Option<NodeId> {
        match self {
            Source::Result(node) | Source::Output(node, _) => Some(*node),
            _ => None,
        }
    }

    /// The parameter this reads, if it is one.
    pub fn param(&self) -> Option<ParamId> {
        match self {
            Source::Param(param) => Some(*param),
            _ => None,
        }
    }
}
