//! Rendering diagnostics: miette's graphical report for people, JSON for programs
//! (LANGUAGE.md §6). The language server renders the same [`Diagnostic`] values itself.

use crate::diagnostic::{Diagnostic, Severity};
use crate::span::LineIndex;
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde::Serialize;
use std::fmt;

/// How to draw human-readable reports.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// The width to wrap text at.
    pub width: usize,
    /// Whether to use colours.
    pub color: bool,
}

impl Style {
    /// Fixed width, no colour: what tests and snapshots use.
    pub fn plain(width: usize) -> Self {
        Style {
            width,
            color: false,
        }
    }
}

/// A source text with the name to show for it.
struct NamedText<'a> {
    name: &'a str,
    text: &'a str,
}

impl SourceCode for NamedText<'_> {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let contents = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.to_string(),
            contents.data(),
            *contents.span(),
            contents.line(),
            contents.column(),
            contents.line_count(),
        )))
    }
}

/// A diagnostic together with its source, in the shape miette renders.
struct Report<'a> {
    diagnostic: &'a Diagnostic,
    source: NamedText<'a>,
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diagnostic.code.as_str()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let text_len = self.source.text.len();
        let labels = self
            .diagnostic
            .labels
            .iter()
            .enumerate()
            .map(move |(index, label)| {
                let start = label.span.start.min(text_len);
                let len = label.span.end.min(text_len).saturating_sub(start);
                let message = (!label.message.is_empty()).then(|| label.message.clone());
                let span = SourceSpan::new(start.into(), len);
                if index == 0 {
                    LabeledSpan::new_primary_with_span(message, span)
                } else {
                    LabeledSpan::new_with_span(message, span)
                }
            });
        Some(Box::new(labels))
    }
}

/// Renders one diagnostic as miette's graphical report.
pub fn render_human(diagnostic: &Diagnostic, name: &str, text: &str, style: Style) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(style.width);
    let report = Report {
        diagnostic,
        source: NamedText { name, text },
    };
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        out = format!("{}: {}\n", diagnostic.code, diagnostic.message);
    }
    out
}

/// One file's diagnostics as LANGUAGE.md §6 prints them.
#[derive(Debug, Serialize)]
pub struct JsonFile {
    /// The file's name as shown to the user.
    pub file: String,
    /// Its diagnostics.
    pub diagnostics: Vec<JsonDiagnostic>,
}

/// One diagnostic in JSON.
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic {
    /// The stable code.
    pub code: &'static str,
    /// `error` or `warning`.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The primary label first.
    pub labels: Vec<JsonLabel>,
}

/// One label in JSON: bytes for programs, 1-based line and character column for people.
#[derive(Debug, Serialize)]
pub struct JsonLabel {
    /// What the label says.
    pub message: String,
    /// Byte offset.
    pub offset: usize,
    /// Length in bytes.
    pub length: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

/// Builds the JSON object for one file.
pub fn json_file(name: &str, text: &str, diagnostics: &[Diagnostic]) -> JsonFile {
    let index = LineIndex::new(text);
    JsonFile {
        file: name.to_string(),
        diagnostics: diagnostics
            .iter()
            .map(|d| JsonDiagnostic {
                code: d.code.as_str(),
                severity: d.severity,
                message: d.message.clone(),
                help: d.help.clone(),
                labels: d
                    .labels
                    .iter()
                    .map(|label| {
                        let (line, column) = index.line_column(text, label.span.start);
                        JsonLabel {
                            message: label.message.clone(),
                            offset: label.span.start,
                            length: label.span.len(),
                            line,
                            column,
                        }
                    })
                    .collect(),
            })
            .collect(),
    }
}
