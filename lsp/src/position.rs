//! Conversion between the compiler's byte offsets and LSP positions, whose columns count
//! UTF-16 code units.
//!
//! The compiler's spans are byte ranges and its `LineIndex` counts columns in characters; LSP
//! counts in UTF-16 units, so an emoji is two columns and a CJK character one. LSP also has
//! its own line breaks: `\n`, `\r\n` and a lone `\r` each end a line, and a line break is
//! not part of its line, so a column past a line's text is that line's end. This is the only
//! place that knows, which keeps the rest of the server in byte offsets.

use tower_lsp_server::ls_types::{Position, Range};
use wfc::span::Span;

/// The table of LSP line starts of one text.
#[derive(Clone, Debug)]
pub struct LineMap {
    /// The byte offset where each line starts; the first is 0.
    starts: Vec<usize>,
}

impl LineMap {
    /// Indexes `text`: a line ends after `\n`, after `\r\n`, and after a `\r` that no `\n`
    /// follows.
    pub fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        for (at, &byte) in bytes.iter().enumerate() {
            let breaks = byte == b'\n' || (byte == b'\r' && bytes.get(at + 1) != Some(&b'\n'));
            if breaks {
                starts.push(at + 1);
            }
        }
        LineMap { starts }
    }

    /// The 0-based line that holds `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset) - 1
    }

    /// The byte range of `line`'s text, without its line break.
    fn line_text(&self, text: &str, line: usize) -> Option<Span> {
        let start = *self.starts.get(line)?;
        // Every line but the last ends in a line break of one byte, or two for `\r\n`.
        let end = self.starts.get(line + 1).map_or(text.len(), |&next| {
            next - if text[..next].ends_with("\r\n") { 2 } else { 1 }
        });
        Some(Span::new(start, end))
    }

    /// The LSP position of byte `offset` in `text`. Offsets past the end map to the end, an
    /// offset inside a character maps to that character's start, and one inside a line break
    /// (between `\r` and `\n`) to the end of its line.
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let line = self.line_of(offset);
        let Some(content) = self.line_text(text, line) else {
            return Position::new(0, 0);
        };
        let offset = offset.min(content.end);
        let column: usize = text[content.start..offset]
            .chars()
            .map(char::len_utf16)
            .sum();
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
        let Some(content) = self.line_text(text, position.line as usize) else {
            return text.len();
        };
        let wanted = position.character as usize;
        let mut units = 0;
        for (at, ch) in text[content.start..content.end].char_indices() {
            if units + ch.len_utf16() > wanted {
                return content.start + at;
            }
            units += ch.len_utf16();
        }
        content.end
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
    fn cr_lf_and_lone_cr_each_end_a_line() {
        let text = "a\r\nbc\rd\ne";
        let map = LineMap::new(text);
        assert_eq!(map.position(text, 3), Position::new(1, 0));
        assert_eq!(map.position(text, 6), Position::new(2, 0));
        assert_eq!(map.position(text, 8), Position::new(3, 0));
        // Between `\r` and `\n` is the end of the line's text, as is any column past it.
        assert_eq!(map.position(text, 2), Position::new(0, 1));
        assert_eq!(map.offset(text, Position::new(0, 5)), 1);
        assert_eq!(map.offset(text, Position::new(1, 9)), 5);
        assert_eq!(map.offset(text, Position::new(3, 1)), text.len());
    }

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
