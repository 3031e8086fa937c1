//! Cutting text to a terminal's width: a line longer than the terminal would wrap, and a
//! wrapped status line can no longer be erased by one redraw, which leaves stacked copies.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// The columns `text` takes on a terminal (a CJK character takes two, a combining mark none).
pub fn columns(text: &str) -> usize {
    text.width()
}

/// `text` cut to at most `width` columns, ending in `…` where it was cut. Control characters
/// (a stray tab, an escape from a command's output) are shown as spaces, so the line's width
/// is what the terminal draws.
pub fn fit(text: &str, width: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if columns(&clean) <= width {
        return clean;
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in clean.chars() {
        let w = c.width().unwrap_or(0);
        // One column is kept for the `…`.
        if used + w > width - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_fits_is_left_alone() {
        assert_eq!(fit("✓ build (0.1s)", 20), "✓ build (0.1s)");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis_to_the_width() {
        let cut = fit("abcdefghij", 6);
        assert_eq!(cut, "abcde…");
        assert_eq!(columns(&cut), 6);
    }

    #[test]
    fn wide_characters_count_two_columns() {
        let cut = fit("日本語のテキスト", 7);
        assert_eq!(cut, "日本語…");
        assert!(columns(&cut) <= 7);
    }

    #[test]
    fn control_characters_become_spaces() {
        assert_eq!(fit("a\tb\x1b[31m", 20), "a b [31m");
    }
}
