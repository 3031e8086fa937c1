//! Go to definition and find references: the name under the cursor, resolved by the symbol
//! index, across the open documents, imported files and the stdlib.

use crate::analysis::Analysis;
use crate::documents::Analyses;
use crate::index::Target;
use crate::module_uri::ModuleUris;
use crate::view::View;
use std::sync::Arc;
use tower_lsp_server::ls_types::Location;

/// Where the name at `offset` is declared.
pub fn definition(analyses: &Analyses, uris: &ModuleUris, offset: usize) -> Option<Location> {
    analyses.first(offset, |view, offset| {
        let (_, target) = view.analysis.index().at(offset)?;
        view.location(uris, &target.module, target.span)
    })
}

/// Every place that names what the name at `offset` names: in this document, and in the
/// other open documents' newest analyses. The declaration comes first when it is wanted.
pub fn references(
    analyses: &Analyses,
    open: &[Arc<Analysis>],
    uris: &ModuleUris,
    offset: usize,
    with_declaration: bool,
) -> Vec<Location> {
    analyses
        .first(offset, |view, offset| {
            let (_, target) = view.analysis.index().at(offset)?;
            Some(occurrences(view, open, uris, &target, with_declaration))
        })
        .unwrap_or_default()
}

/// The locations of `target`'s declaration (if wanted) and of every reference to it.
pub fn occurrences(
    view: &View<'_>,
    open: &[Arc<Analysis>],
    uris: &ModuleUris,
    target: &Target,
    with_declaration: bool,
) -> Vec<Location> {
    let declaration = view.location(uris, &target.module, target.span);
    let mut found: Vec<Location> = Vec::new();
    if with_declaration {
        found.extend(declaration.clone());
    }
    let here = view
        .analysis
        .index()
        .occurrences(target)
        .filter_map(|span| {
            let range = view.current_range(span)?;
            Some(Location::new(view.current.uri.clone(), range))
        });
    found.extend(here);
    for other in open.iter().filter(|a| a.uri != view.current.uri) {
        found.extend(
            other.index().occurrences(target).map(|span| {
                Location::new(other.uri.clone(), other.lines.range(other.text(), span))
            }),
        );
    }
    let mut unique = Vec::with_capacity(found.len());
    for location in found {
        let is_declaration = !with_declaration && declaration.as_ref() == Some(&location);
        if !is_declaration && !unique.contains(&location) {
            unique.push(location);
        }
    }
    unique
}
