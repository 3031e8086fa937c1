//! The fields of blocks: which exist where, repeated and unknown ones, and reading their
//! values as the types they must have.

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{SettingKind, Value};
use crate::suggest::did_you_mean;
use crate::syntax::ast::{Block, ExprKind, Field, Name, StrLit};

/// The fields a task may have, for checking and for editors' completion.
pub const TASK_FIELDS: [&str; 23] = [
    "title",
    "prompt",
    "run",
    "accept",
    "verify",
    "agent",
    "retry",
    "timeout",
    "priority",
    "labels",
    "workdir",
    "env",
    "pass_env",
    "context",
    "isolation",
    "on_conflict",
    "retry_from",
    "setup",
    "copy_ignored",
    "sandbox",
    "budget",
    "output",
    "max",
];

/// The fields a gate may have.
pub const GATE_FIELDS: [&str; 2] = ["ask", "timeout"];

/// The fields `defaults` may set.
pub const DEFAULTS_FIELDS: [&str; 16] = [
    "agent",
    "retry",
    "timeout",
    "priority",
    "labels",
    "workdir",
    "env",
    "pass_env",
    "context",
    "isolation",
    "on_conflict",
    "retry_from",
    "setup",
    "copy_ignored",
    "sandbox",
    "budget",
];

/// A block's fields with repeats reported and dropped: each name maps to its first field.
pub(crate) struct FieldSet<'a> {
    fields: Vec<&'a Field>,
}

impl<'a> FieldSet<'a> {
    /// Collects `block`'s fields, reporting each repeated one.
    pub fn new(block: &'a Block, diagnostics: &mut Vec<Diagnostic>) -> Self {
        let mut fields: Vec<&'a Field> = Vec::new();
        for field in &block.fields {
            let typed = matches!(field.value.kind, ExprKind::Type(_));
            if typed != (field.name.text == "output") {
                let (message, help) = if typed {
                    (
                        format!("`{}` takes a value, not a type", field.name.text),
                        format!(
                            "write `{} = …`; only `output` declares a type",
                            field.name.text
                        ),
                    )
                } else {
                    (
                        "`output` declares a type".to_string(),
                        "write `output: TYPE`, e.g. `output: list<string>`".to_string(),
                    )
                };
                diagnostics.push(
                    Diagnostic::new(Code::Field, message, field.name.span, "written here")
                        .with_help(help),
                );
                continue;
            }
            if let Some(first) = fields.iter().find(|f| f.name.text == field.name.text) {
                diagnostics.push(
                    Diagnostic::new(
                        Code::Field,
                        format!("`{}` is set twice", field.name.text),
                        field.name.span,
                        "set again here",
                    )
                    .with_label(first.name.span, "first set here")
                    .with_help("remove one of them"),
                );
            } else {
                fields.push(field);
            }
        }
        FieldSet { fields }
    }

    /// The field called `name`.
    pub fn get(&self, name: &str) -> Option<&'a Field> {
        self.fields.iter().copied().find(|f| f.name.text == name)
    }

    /// Every field, first occurrences only, in source order.
    pub fn iter(&self) -> impl Iterator<Item = &'a Field> + '_ {
        self.fields.iter().copied()
    }

    /// Reports every field not in `known`; `what` names the block ("a task").
    pub fn report_unknown(&self, known: &[&str], what: &str, diagnostics: &mut Vec<Diagnostic>) {
        for field in self.iter() {
            let name = field.name.text.as_str();
            if known.contains(&name) {
                continue;
            }
            let elsewhere = if GATE_FIELDS.contains(&name) && !known.contains(&"ask") {
                Some("gates".to_string())
            } else if TASK_FIELDS.contains(&name) {
                Some("tasks".to_string())
            } else {
                None
            };
            let help = match (
                crate::suggest::foreign_word_help(name)
                    .or_else(|| did_you_mean(name, known.iter().copied())),
                elsewhere,
            ) {
                (Some(hint), _) => hint,
                (None, Some(owner)) => format!(
                    "`{name}` is a field of {owner}; {what} takes: {}",
                    known.join(", ")
                ),
                (None, None) => format!("{what} takes: {}", known.join(", ")),
            };
            diagnostics.push(
                Diagnostic::new(
                    Code::Field,
                    format!("{what} has no field `{name}`"),
                    field.name.span,
                    "unknown field",
                )
                .with_help(help),
            );
        }
    }
}

fn type_error(field: &Field, expected: &str, help: Option<&str>) -> Diagnostic {
    let found = describe_value(&field.value.kind);
    let d = Diagnostic::new(
        Code::Type,
        format!("`{}` takes {expected}, not {found}", field.name.text),
        field.value.span,
        format!("expected {expected}"),
    );
    match help {
        Some(help) => d.with_help(help),
        None => d,
    }
}

/// How a value is called in messages.
pub(crate) fn describe_value(kind: &ExprKind) -> &'static str {
    match kind {
        ExprKind::Str(lit) if lit.block => "a text block",
        ExprKind::Str(_) => "a string",
        ExprKind::Int(_) => "a number",
        ExprKind::Bool(_) => "a boolean",
        ExprKind::Duration(_) => "a duration",
        ExprKind::List(_) => "a list",
        ExprKind::Map(_) => "a map",
        ExprKind::Ref(path) if path.len() > 1 => "a dotted name",
        ExprKind::Ref(_) => "a name",
        ExprKind::Type(_) => "a type",
        _ => "an expression",
    }
}

/// A string or text block.
pub(crate) fn expect_str<'a>(
    field: &'a Field,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<&'a StrLit> {
    match &field.value.kind {
        ExprKind::Str(lit) => Some(lit),
        _ => {
            diagnostics.push(type_error(field, "a string", None));
            None
        }
    }
}

/// A one-line string (not a text block).
pub(crate) fn expect_line<'a>(
    field: &'a Field,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<&'a StrLit> {
    let lit = expect_str(field, diagnostics)?;
    if lit.block {
        diagnostics.push(type_error(
            field,
            "a one-line string",
            Some("write it as `\"…\"` on one line"),
        ));
        return None;
    }
    Some(lit)
}

/// A list of strings.
pub(crate) fn expect_str_list<'a>(
    field: &'a Field,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Vec<&'a StrLit>> {
    let ExprKind::List(items) = &field.value.kind else {
        let help =
            matches!(field.value.kind, ExprKind::Str(_)).then_some("put it in brackets: `[\"…\"]`");
        diagnostics.push(type_error(field, "a list of strings", help));
        return None;
    };
    let mut strings = Vec::new();
    for item in items {
        match &item.kind {
            ExprKind::Str(lit) => strings.push(lit),
            other => {
                diagnostics.push(Diagnostic::new(
                    Code::Type,
                    format!(
                        "`{}` takes a list of strings, but this element is {}",
                        field.name.text,
                        describe_value(other)
                    ),
                    item.span,
                    "expected a string",
                ));
                return None;
            }
        }
    }
    Some(strings)
}

/// A map of strings.
pub(crate) fn expect_map<'a>(
    field: &'a Field,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Vec<(&'a Name, &'a StrLit)>> {
    let ExprKind::Map(entries) = &field.value.kind else {
        diagnostics.push(type_error(field, "a map `{ KEY = \"value\" }`", None));
        return None;
    };
    let mut out: Vec<(&Name, &StrLit)> = Vec::new();
    for entry in entries {
        if let Some((first, _)) = out.iter().find(|(key, _)| key.text == entry.key.text) {
            diagnostics.push(
                Diagnostic::new(
                    Code::Duplicate,
                    format!(
                        "`{}` appears twice in `{}`",
                        entry.key.text, field.name.text
                    ),
                    entry.key.span,
                    "again here",
                )
                .with_label(first.span, "first here"),
            );
            continue;
        }
        match &entry.value.kind {
            ExprKind::Str(lit) => out.push((&entry.key, lit)),
            other => diagnostics.push(Diagnostic::new(
                Code::Type,
                format!(
                    "the values of `{}` are strings, not {}",
                    field.name.text,
                    describe_value(other)
                ),
                entry.value.span,
                "expected a string",
            )),
        }
    }
    Some(out)
}

/// A whole number within `range`.
pub(crate) fn expect_int(
    field: &Field,
    min: i64,
    max: i64,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<i64> {
    let ExprKind::Int(n) = field.value.kind else {
        diagnostics.push(type_error(field, "a number", None));
        return None;
    };
    if n < min || n > max {
        diagnostics.push(Diagnostic::new(
            Code::Type,
            format!("`{}` must be from {min} to {max}, not {n}", field.name.text),
            field.value.span,
            "out of range",
        ));
        return None;
    }
    Some(n)
}

/// An amount of US dollars, more than zero: a whole number (`budget = 20`) or a string with
/// cents (`budget = "2.50"`), since the language has no fractional numbers.
pub(crate) fn expect_dollars(field: &Field, diagnostics: &mut Vec<Diagnostic>) -> Option<f64> {
    let amount = match &field.value.kind {
        ExprKind::Int(n) => Some(*n as f64),
        ExprKind::Str(lit) if !lit.block => lit
            .plain_text()
            .and_then(|text| text.trim().trim_start_matches('$').parse::<f64>().ok())
            .filter(|amount| amount.is_finite()),
        _ => {
            diagnostics.push(type_error(
                field,
                "an amount of US dollars",
                Some("write a whole number (`20`) or a string with cents (`\"2.50\"`)"),
            ));
            return None;
        }
    };
    match amount {
        Some(amount) if amount > 0.0 && amount <= 1_000_000.0 => Some(amount),
        _ => {
            diagnostics.push(Diagnostic::new(
                Code::Type,
                format!(
                    "`{}` must be an amount of US dollars more than 0 and at most 1000000",
                    field.name.text
                ),
                field.value.span,
                "not such an amount",
            ));
            None
        }
    }
}

/// A positive duration, in seconds.
pub(crate) fn expect_duration(field: &Field, diagnostics: &mut Vec<Diagnostic>) -> Option<u64> {
    match field.value.kind {
        ExprKind::Duration(0) => {
            diagnostics.push(Diagnostic::new(
                Code::Type,
                format!("`{}` must be longer than zero", field.name.text),
                field.value.span,
                "zero",
            ));
            None
        }
        ExprKind::Duration(seconds) => Some(seconds),
        ExprKind::Int(n) => {
            diagnostics.push(type_error(
                field,
                "a duration",
                Some(&format!("give it a unit: `{n}s`, `{n}m`, `{n}h` or `{n}d`")),
            ));
            None
        }
        _ => {
            diagnostics.push(type_error(field, "a duration such as `30m`", None));
            None
        }
    }
}

/// A name (an agent profile's).
pub(crate) fn expect_name<'a>(
    field: &'a Field,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<&'a Name> {
    match &field.value.kind {
        ExprKind::Ref(path) if path.len() == 1 => Some(&path[0]),
        ExprKind::Ref(_) => {
            diagnostics.push(type_error(
                field,
                "the name of an agent profile in this file",
                Some("agent profiles are not imported with a module; declare the profile in this file"),
            ));
            None
        }
        ExprKind::Str(lit) => {
            let text = lit.plain_text().unwrap_or_default();
            diagnostics.push(type_error(
                field,
                "the name of an agent profile",
                Some(&format!(
                    "write the name without quotes: `{} = {text}`",
                    field.name.text
                )),
            ));
            None
        }
        _ => {
            diagnostics.push(type_error(field, "the name of an agent profile", None));
            None
        }
    }
}

/// An agent setting's value, checked against its kind. Settings are constants.
pub(crate) fn setting_value(
    field: &Field,
    kind: SettingKind,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Value> {
    let constant = |lit: &StrLit, diagnostics: &mut Vec<Diagnostic>| -> Option<String> {
        let text = lit.plain_text();
        if text.is_none() {
            diagnostics.push(
                Diagnostic::new(Code::Unbound, "agent settings cannot interpolate", lit.span, "no parameters in scope here")
                    .with_help("an agent profile stands outside any workflow; put per-task values in the task's `env`"),
            );
        }
        text
    };
    match kind {
        SettingKind::String => {
            let lit = expect_line(field, diagnostics)?;
            constant(lit, diagnostics).map(Value::String)
        }
        SettingKind::Int => expect_int(field, 1, 10_000, diagnostics).map(Value::Int),
        SettingKind::Strings => {
            let items = expect_str_list(field, diagnostics)?;
            let values: Option<Vec<Value>> = items
                .into_iter()
                .map(|lit| constant(lit, diagnostics).map(Value::String))
                .collect();
            values.map(Value::List)
        }
        SettingKind::Map => {
            let entries = expect_map(field, diagnostics)?;
            for (key, _) in &entries {
                if key.text.starts_with("WF_") {
                    diagnostics.push(
                        Diagnostic::new(
                            Code::Field,
                            format!(
                                "`{}` is reserved: wfc sets the WF_ variables itself",
                                key.text
                            ),
                            key.span,
                            "reserved name",
                        )
                        .with_help("choose a name that does not start with WF_"),
                    );
                }
            }
            let values: Option<Vec<Value>> = entries
                .into_iter()
                .map(|(key, lit)| {
                    constant(lit, diagnostics).map(|v| {
                        Value::List(vec![Value::String(key.text.clone()), Value::String(v)])
                    })
                })
                .collect();
            values.map(Value::List)
        }
    }
}
