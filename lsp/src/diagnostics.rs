//! The compiler's diagnostics as LSP diagnostics: the same code, severity, message and help
//! that `wfc check` prints, the primary label as the range and the other labels as related
//! information.

use crate::analysis::Analysis;
use tower_lsp_server::ls_types::{
    Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
};
use wfc::diagnostic::{self, Severity};
use wfc::span::Span;

/// The diagnostics of the document's own module, in document order.
pub fn to_lsp(analysis: &Analysis) -> Vec<Diagnostic> {
    analysis
        .module()
        .diagnostics
        .iter()
        .map(|d| convert(analysis, d))
        .collect()
}

fn convert(analysis: &Analysis, diagnostic: &diagnostic::Diagnostic) -> Diagnostic {
    let text = analysis.text();
    let range = |span| analysis.lines.range(text, span);
    let mut message = diagnostic.message.clone();
    // Every diagnostic has a primary label; the fallbacks only keep a broken one visible.
    let primary = diagnostic.labels.first();
    let others = diagnostic.labels.get(1..).unwrap_or_default();
    if let Some(label) = primary.filter(|label| !label.message.is_empty()) {
        message.push_str(&format!(" ({})", label.message));
    }
    if let Some(help) = &diagnostic.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    let related: Vec<DiagnosticRelatedInformation> = others
        .iter()
        .map(|label| DiagnosticRelatedInformation {
            location: Location::new(analysis.uri.clone(), range(label.span)),
            message: label.message.clone(),
        })
        .collect();
    Diagnostic {
        range: range(primary.map_or(Span::default(), |label| label.span)),
        severity: Some(match diagnostic.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(diagnostic.code.as_str().to_string())),
        source: Some("wfc".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..Diagnostic::default()
    }
}
