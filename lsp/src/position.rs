//! Conversion between the compiler's byte offsets and LSP positions, whose columns count
//! UTF-16 code units.
//!
//! The compiler's spans are byte ranges and its `LineIndex` counts columns in characters; LSP
//! counts in UTF-16 units, so an emoji is two columns and a CJK character one. This is the
//! only place that knows, which keeps the rest of the server in byte offsets.

use tower_lsp_server::ls_types::{Position, Range};
use wfc::span::{LineIndex, Span};

/// The compiler's table of line starts of one text, read in LSP positions: the lines are
/// the compiler's, only the columns are counted differently.
#[derive(Clone, Debug)]
pub struct LineMap {
    lines: LineIndex,
}

impl LineMap {
    /// Indexes `text`. A line ends after `\n`; a `\r` before it belongs to the line's text,
    /// which is how LSP clients count for files with `\r\n` endings too, since a position
    /// past the `\r` is clamped to the line's end.
    pub fn new(text: &str) -> Self {
        LineMap {
            lines: LineIndex::new(text),
        }
    }

    /// The LSP position of byte `offset` in `text`. Offsets past the end map to the end, and
    /// an offset inside a character maps to that character's start.
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let line = self.lines.line_of(offset);
        // Every line the index returns has a start, so the fallback is never taken.
        let start = self.lines.line_start(line).unwrap_or_default();
        let column: usize = text[start..offset].chars().map(char::len_utf16).sum();
        Position::new(to_u32(line), to_u32(column))
    }

    /// The LSP range of a byte span.
    pub fn range(&self, text: &str, span: Span) -> Range {
        Range::new(
            self.position(text, span.start),
            self.position(text, span.end),
        )
    }

    /// The byte offset of an LSP position. A line past the last maps to the end of the text,
    /// and a column past the end of its line (or inside a surrogate pair) to the nearest
    /// character boundary before it, so every result can slice `text`.
    pub fn offset(&self, text: &str, position: Position) -> usize {
        let line = position.line as usize;
        let Some(start) = self.lines.line_start(line) else {
            return text.len();
        };
        let end = self
            .lines
            .line_start(line + 1)
            .map_or(text.len(), |next| next - 1);
        let line = &text[start..end];
        let line = line.strip_suffix('\r').unwrap_or(line);
        let wanted = position.character as usize;
        let mut units = 0;
        for (at, ch) in line.char_indices() {
            if units + ch.len_utf16() > wanted {
                return start + at;
            }
            units += ch.len_utf16();
        }
        start + line.len()
    }

    /// The byte span of an LSP range.
    pub fn span(&self, text: &str, range: Range) -> Span {
        let start = self.offset(text, range.start);
        let end = self.offset(text, range.end).max(start);
        Span::new(start, end)
    }
}

/// The largest character boundary of `text` at or before `offset`.
fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Line and column numbers beyond `u32` cannot occur in a text the parser accepts (it refuses
/// files over 64 MiB), so saturating is only a guard.
fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_positions_round_trip() {
        let text = "ab\ncd\n";
        let map = LineMap::new(text);
        assert_eq!(map.position(text, 4), Position::new(1, 1));
        assert_eq!(map.offset(text, Position::new(1, 1)), 4);
        assert_eq!(map.position(text, text.len()), Position::new(2, 0));
    }

    #[test]
    fn emoji_take_two_utf16_units_and_cjk_one() {
        let text = "x = \"🚀 日本\" y";
        let map = LineMap::new(text);
        let y = text.find('y').expect("y");
        assert_eq!(map.position(text, y), Position::new(0, 12));
        assert_eq!(map.offset(text, Position::new(0, 12)), y);
        let cjk = text.find('日').expect("cjk");
        assert_eq!(map.position(text, cjk), Position::new(0, 8));
    }

    #[test]
    fn positions_inside_a_surrogate_pair_or_past_the_line_clamp() {
        let text = "🚀a\r\nb";
        let map = LineMap::new(text);
        assert_eq!(map.offset(text, Position::new(0, 1)), 0);
        assert_eq!(
            map.offset(text, Position::new(0, 99)),
            text.find('\r').expect("cr")
        );
        assert_eq!(map.offset(text, Position::new(9, 0)), text.len());
    }
}
