//! Formatting: the layout `wfc fmt` prints, as one edit that replaces only the lines that
//! change, so the editor keeps the cursor and folds elsewhere.
//!
//! `wfc fmt` writes `\n` line breaks; here a document whose first line ends in `\r\n` keeps
//! `\r\n`, so formatting a Windows file does not rewrite every line. (Lone `\r` breaks become
//! `\n`: the compiler does not read them as line breaks.) The edit
//! never starts or ends between the `\r` and `\n` of a line break: LSP has no position there
//! (clients clamp it to the line's end), so such an edit would leave a stray `\r` behind and
//! formatting would never settle.

use crate::position::LineMap;
use crate::text_diff::TextDiff;
use tower_lsp_server::ls_types::TextEdit;
use wfc::span::Span;

/// The edits that bring `text` to the canonical layout; none when it is already formatted,
/// and `None` when it does not parse (the formatter never guesses at broken text).
pub fn format(text: &str, lines: &LineMap) -> Option<Vec<TextEdit>> {
    let formatted = wfc::fmt::format_source(text).ok()?;
    // Text blocks keep their raw lines, `\r` and all, so every break is made `\n` first.
    let normalized = || formatted.replace("\r\n", "\n").replace('\r', "\n");
    let formatted = match line_break(text) {
        LineBreak::CrLf => normalized().replace('\n', "\r\n"),
        LineBreak::Cr => normalized(),
        LineBreak::Lf => formatted.clone(),
    };
    if formatted == text {
        return Some(Vec::new());
    }
    let (old, new) = TextDiff::new(text, &formatted).changed();
    let (old, new) = whole_line_breaks(text, &formatted, old, new);
    Some(vec![TextEdit::new(
        lines.range(text, old),
        formatted[new.start..new.end].to_string(),
    )])
}

/// A text's line breaks.
enum LineBreak {
    Lf,
    CrLf,
    /// Lone `\r`, which LSP counts as a line break but the compiler reads as a space: the
    /// formatted text gets `\n`, so that it means what its lines show.
    Cr,
}

/// The line break `text` uses: that of its first line, or `\n` if it has one line.
fn line_break(text: &str) -> LineBreak {
    match text.find(['\n', '\r']).map(|at| &text[at..]) {
        Some(rest) if rest.starts_with("\r\n") => LineBreak::CrLf,
        Some(rest) if rest.starts_with('\r') => LineBreak::Cr,
        _ => LineBreak::Lf,
    }
}

/// Widens the changed spans `old` (of `text`) and `new` (of `formatted`) so that neither
/// starts or ends inside a `\r\n`. The text around them is common to both, so the same widening
/// fits both.
fn whole_line_breaks(text: &str, formatted: &str, old: Span, new: Span) -> (Span, Span) {
    let splits =
        |s: &str, at: usize| at > 0 && s[..at].ends_with('\r') && s[at..].starts_with('\n');
    let back = usize::from(splits(text, old.start) || splits(formatted, new.start));
    let forward = usize::from(splits(text, old.end) || splits(formatted, new.end));
    (
        Span::new(old.start - back, old.end + forward),
        Span::new(new.start - back, new.end + forward),
    )
}
