//! The fields that say how a task's attempts work (GRAMMAR.md, "Where a task works"):
//! `isolation`, `on_conflict`, `retry_from`, `setup`, `copy_ignored` and `sandbox`, in a task
//! or in `defaults`.

use super::fields::{describe_value, expect_str_list, FieldSet};
use super::workflow::{check_relative_path, Scope, WorkflowChecker};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{self, Choice, Context, OnConflict, RetryFrom, Sandbox, TaskIsolation};
use crate::suggest::did_you_mean;
use crate::syntax::ast::{ExprKind, Field};

/// The work fields one block sets, each `None` where it does not.
#[derive(Clone, Default)]
pub(super) struct WorkFields {
    isolation: Option<TaskIsolation>,
    on_conflict: Option<OnConflict>,
    retry_from: Option<RetryFrom>,
    setup: Option<Vec<ir::Template>>,
    copy_ignored: Option<Vec<String>>,
    sandbox: Option<Sandbox>,
}

impl WorkFields {
    /// The settings of a task that sets `self`, in a workflow whose `defaults` set `defaults`:
    /// each field the task sets wins whole.
    pub fn over(self, defaults: &WorkFields) -> ir::WorkSettings {
        let defaults = defaults.clone();
        ir::WorkSettings {
            isolation: self.isolation.or(defaults.isolation),
            on_conflict: self
                .on_conflict
                .or(defaults.on_conflict)
                .unwrap_or_default(),
            retry_from: self.retry_from.or(defaults.retry_from).unwrap_or_default(),
            setup: self.setup.or(defaults.setup).unwrap_or_default(),
            copy_ignored: self
                .copy_ignored
                .or(defaults.copy_ignored)
                .unwrap_or_default(),
            sandbox: self.sandbox.or(defaults.sandbox).unwrap_or_default(),
        }
    }
}

/// The value of `field`, one of `T`'s choices, written as a string.
fn expect_choice<T: Choice>(field: &Field, diagnostics: &mut Vec<Diagnostic>) -> Option<T> {
    let spellings: Vec<&str> = T::CHOICES.iter().map(|(name, _)| *name).collect();
    let quoted = spellings
        .iter()
        .map(|name| format!("\"{name}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let text = match &field.value.kind {
        ExprKind::Str(lit) => lit.plain_text(),
        ExprKind::Ref(path) if path.len() == 1 => {
            let name = &path[0].text;
            let help = if spellings.contains(&name.as_str()) {
                format!("write it in quotes: `{} = \"{name}\"`", field.name.text)
            } else {
                format!("write one of {quoted}")
            };
            diagnostics.push(
                Diagnostic::new(
                    Code::Type,
                    format!("`{}` takes a string, not a name", field.name.text),
                    field.value.span,
                    "expected a string",
                )
                .with_help(help),
            );
            return None;
        }
        other => {
            diagnostics.push(
                Diagnostic::new(
                    Code::Type,
                    format!(
                        "`{}` takes one of {quoted}, not {}",
                        field.name.text,
                        describe_value(other)
                    ),
                    field.value.span,
                    "expected a string",
                )
                .with_help(format!("write one of {quoted}")),
            );
            return None;
        }
    };
    let Some(text) = text else {
        diagnostics.push(
            Diagnostic::new(
                Code::Type,
                format!(
                    "`{}` is chosen when the file is written: it cannot interpolate",
                    field.name.text
                ),
                field.value.span,
                "interpolation here",
            )
            .with_help(format!("write one of {quoted}")),
        );
        return None;
    };
    if let Some(choice) = T::parse(&text) {
        return Some(choice);
    }
    let help = did_you_mean(&text, spellings.iter().copied())
        .unwrap_or_else(|| format!("write one of {quoted}"));
    diagnostics.push(
        Diagnostic::new(
            Code::Type,
            format!("{text:?} is not a value of `{}`", field.name.text),
            field.value.span,
            format!("expected one of {quoted}"),
        )
        .with_help(help),
    );
    None
}

impl WorkflowChecker<'_, '_> {
    /// The work fields of a block whose fields are `fields`, checked in `scope`.
    pub(super) fn work_fields(&mut self, fields: &FieldSet<'_>, scope: &Scope) -> WorkFields {
        let mut work = WorkFields::default();
        if let Some(field) = fields.get("isolation") {
            work.isolation = expect_choice(field, self.diagnostics);
        }
        if let Some(field) = fields.get("on_conflict") {
            work.on_conflict = expect_choice(field, self.diagnostics);
        }
        if let Some(field) = fields.get("retry_from") {
            work.retry_from = expect_choice(field, self.diagnostics);
        }
        if let Some(field) = fields.get("sandbox") {
            work.sandbox = expect_choice(field, self.diagnostics);
        }
        if let Some(field) = fields.get("setup") {
            work.setup = Some(self.template_list(field, Context::Shell, scope));
        }
        if let Some(field) = fields.get("copy_ignored") {
            work.copy_ignored = Some(self.copy_ignored(field));
        }
        if work.isolation == Some(TaskIsolation::None) {
            self.report_worktree_only(fields);
        }
        work
    }

    /// The paths of `copy_ignored`: plain paths inside the workspace, outside `.git`.
    fn copy_ignored(&mut self, field: &Field) -> Vec<String> {
        let Some(items) = expect_str_list(field, self.diagnostics) else {
            return Vec::new();
        };
        let mut paths = Vec::new();
        for lit in items {
            let problem = match lit.plain_text() {
                None => Err("a path to copy is written as it is, without `{{ }}`".to_string()),
                Some(path) => match check_relative_path(&path) {
                    Err(why) => Err(why),
                    Ok(()) => {
                        let normal = crate::workspace_path::normalize(&path)
                            .unwrap_or_else(|_| path.clone());
                        if normal == "." {
                            Err("it names the whole workspace".to_string())
                        } else if normal == ".git" || normal.starts_with(".git/") {
                            Err("git's own folder is not copied".to_string())
                        } else {
                            Ok(normal)
                        }
                    }
                },
            };
            match problem {
                Ok(path) if !paths.contains(&path) => paths.push(path),
                Ok(_) => {}
                Err(why) => self.report(
                    Diagnostic::new(
                        Code::Type,
                        "`copy_ignored` names files inside the workspace",
                        lit.span,
                        why,
                    )
                    .with_help("write paths relative to the workspace, such as `copy_ignored = [\".env\"]`"),
                ),
            }
        }
        paths
    }

    /// Reports the fields that only mean something in a worktree, set beside `isolation =
    /// "none"` in the same block.
    fn report_worktree_only(&mut self, fields: &FieldSet<'_>) {
        let isolation = fields.get("isolation").map(|f| f.span);
        for name in ["on_conflict", "retry_from", "setup", "copy_ignored"] {
            if let Some(field) = fields.get(name) {
                let mut diagnostic = Diagnostic::new(
                    Code::Field,
                    format!(
                        "`{name}` is about a task's worktree, and this one works in the folder"
                    ),
                    field.name.span,
                    "no worktree to apply it to",
                )
                .with_help("remove it, or remove `isolation = \"none\"`");
                if let Some(span) = isolation {
                    diagnostic = diagnostic.with_label(span, "works in the folder");
                }
                self.report(diagnostic);
            }
        }
    }
}
