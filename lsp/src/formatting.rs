//! Formatting: the layout `wfc fmt` prints, as one edit that replaces only the lines that
//! change, so the editor keeps the cursor and folds elsewhere.

use crate::position::LineMap;
use crate::text_diff::TextDiff;
use tower_lsp_server::ls_types::TextEdit;

/// The edits that bring `text` to the canonical layout; none when it is already formatted,
/// and `None` when it does not parse (the formatter never guesses at broken text).
pub fn format(text: &str, lines: &LineMap) -> Option<Vec<TextEdit>> {
    let formatted = wfc::fmt::format_source(text).ok()?;
    if formatted == text {
        return Some(Vec::new());
    }
    let (old, new) = TextDiff::new(text, &formatted).changed();
    Some(vec![TextEdit::new(
        lines.range(text, old),
        formatted[new.start..new.end].to_string(),
    )])
}
