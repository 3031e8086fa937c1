//! Rename: a task, gate, use, parameter, loop variable, agent profile or import alias, with
//! every reference to it in the open documents.
//!
//! Workflows are not renamed: files that are not open may `use` them. Nothing in the stdlib
//! is renamed, since the stdlib is part of `wfc`.

use crate::analysis::Analysis;
use crate::cursor::KEYWORDS;
use crate::definition::occurrences;
use crate::documents::Analyses;
use crate::index::{DefKind, Definition, Target};
use crate::module_uri::ModuleUris;
use crate::view::View;
use std::collections::HashMap;
use std::sync::Arc;
use tower_lsp_server::ls_types::{Range, TextEdit, Uri, WorkspaceEdit};
use wfc::check::ModuleKey;

/// The range of the renameable name at `offset`; `None` where there is no name (LSP's
/// answer for "nothing to rename here", which editors handle quietly), or why the name there
/// cannot be renamed.
pub fn prepare(analyses: &Analyses, offset: usize) -> Result<Option<Range>, String> {
    let found = analyses.first(offset, |view, offset| {
        let (span, target) = view.analysis.index().at(offset)?;
        Some((view.current_range(span), renameable(view, &target)))
    });
    match found {
        // A name in text that changed since it last parsed has no range to offer.
        None | Some((None, Ok(_))) => Ok(None),
        Some((_, Err(why))) => Err(why),
        Some((Some(range), Ok(_))) => Ok(Some(range)),
    }
}

/// The edits that rename what the name at `offset` names to `new_name`; `None` where there is
/// no name.
pub fn rename(
    analyses: &Analyses,
    open: &[Arc<Analysis>],
    uris: &ModuleUris,
    offset: usize,
    new_name: &str,
) -> Result<Option<WorkspaceEdit>, String> {
    if !is_identifier(new_name) {
        return Err(format!(
            "`{new_name}` is not a name: a name is a letter or `_`, then letters, digits and `_`"
        ));
    }
    if KEYWORDS.contains(&new_name) {
        return Err(format!("`{new_name}` is a keyword"));
    }
    analyses
        .first(offset, |view, offset| {
            let (_, target) = view.analysis.index().at(offset)?;
            Some(edits(view, open, uris, &target, new_name))
        })
        .transpose()
}

fn edits(
    view: &View<'_>,
    open: &[Arc<Analysis>],
    uris: &ModuleUris,
    target: &Target,
    new_name: &str,
) -> Result<WorkspaceEdit, String> {
    let definition = renameable(view, target)?;
    if let Some(clash) = clash(view, target, &definition, new_name) {
        return Err(format!(
            "`{new_name}` is already a {} here",
            clash.kind.noun()
        ));
    }
    let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
    for location in occurrences(view, open, uris, target, true) {
        changes
            .entry(location.uri)
            .or_default()
            .push(TextEdit::new(location.range, new_name.to_string()));
    }
    Ok(WorkspaceEdit::new(changes))
}

/// The declaration `target` names, if it may be renamed.
fn renameable(view: &View<'_>, target: &Target) -> Result<Definition, String> {
    if let ModuleKey::Std(name) = &target.module {
        return Err(format!("`std/{name}` is part of wfc and cannot be changed"));
    }
    let module = view
        .analysis
        .find(&target.module)
        .ok_or_else(|| "the declaration was not found".to_string())?;
    let definition = view.analysis.indexes[module]
        .definition(target.span)
        .cloned()
        .ok_or_else(|| "a file is renamed in the file manager, not here".to_string())?;
    match definition.kind {
        DefKind::Workflow => {
            Err("a workflow is not renamed, since files that are not open may use it".to_string())
        }
        _ => Ok(definition),
    }
}

/// A declaration that already has `new_name` where the renamed one is visible.
fn clash(
    view: &View<'_>,
    target: &Target,
    renamed: &Definition,
    new_name: &str,
) -> Option<Definition> {
    let module = view.analysis.find(&target.module)?;
    let same_namespace = |other: DefKind| match renamed.kind {
        DefKind::Task | DefKind::Gate | DefKind::Use | DefKind::Loop => other.is_node(),
        DefKind::Param | DefKind::LoopVar => other == DefKind::Param,
        kind => other == kind,
    };
    view.analysis.indexes[module]
        .definitions
        .iter()
        .find(|d| {
            d.name == new_name
                && d.name_span != renamed.name_span
                && d.workflow == renamed.workflow
                && same_namespace(d.kind)
        })
        .cloned()
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
