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
    // Every diagnostic has a primary label; the fallback only keeps a broken one visible.
    let (primary, others) = diagnostic
        .labels
        .split_first()
        .map_or((Span::default(), &[][..]), |(first, rest)| {
            if !first.message.is_empty() {
                message.push_str(&format!(" ({})", first.message));
            }
            (first.span, rest)
        });
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
        range: range(primary),
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
