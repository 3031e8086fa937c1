//! Where two versions of a text differ, so positions in the current text can be carried into
//! the last analysis that parsed cleanly, and its answers carried back.
//!
//! Editing usually changes one region: the text before it and after it is the same in both
//! versions. Offsets in those parts map exactly; offsets inside the changed region have no
//! counterpart, and a request there is answered from the current analysis only.

use wfc::span::Span;

/// The one changed region between an old and a new text, found from their common prefix and
/// common suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextDiff {
    /// Bytes at the start that both texts share.
    prefix: usize,
    /// Where the shared suffix starts in the old text.
    old_suffix: usize,
    /// Where the shared suffix starts in the new text.
    new_suffix: usize,
}

impl TextDiff {
    /// Compares `old` with `new`.
    pub fn new(old: &str, new: &str) -> Self {
        let mut prefix = old
            .bytes()
            .zip(new.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        while !(old.is_char_boundary(prefix) && new.is_char_boundary(prefix)) {
            prefix -= 1;
        }
        let longest = old.len().min(new.len()) - prefix;
        let mut suffix = old
            .bytes()
            .rev()
            .zip(new.bytes().rev())
            .take(longest)
            .take_while(|(a, b)| a == b)
            .count();
        while !(old.is_char_boundary(old.len() - suffix)
            && new.is_char_boundary(new.len() - suffix))
        {
            suffix -= 1;
        }
        TextDiff {
            prefix,
            old_suffix: old.len() - suffix,
            new_suffix: new.len() - suffix,
        }
    }

    /// The changed region: its span in the old text and its span in the new text.
    pub fn changed(&self) -> (Span, Span) {
        (
            Span::new(self.prefix, self.old_suffix),
            Span::new(self.prefix, self.new_suffix),
        )
    }

    /// The old text's offset for an offset of the new text, unless it lies in the change.
    pub fn old_offset(&self, offset: usize) -> Option<usize> {
        map(offset, self.prefix, self.new_suffix, self.old_suffix)
    }

    /// The new text's span for a span of the old text, unless it touches the change.
    pub fn new_span(&self, span: Span) -> Option<Span> {
        let start = map(span.start, self.prefix, self.old_suffix, self.new_suffix)?;
        let end = map(span.end, self.prefix, self.old_suffix, self.new_suffix)?;
        // A span that starts before the change and ends after it covers changed text.
        (start <= end && (span.end <= self.prefix || span.start >= self.old_suffix))
            .then(|| Span::new(start, end))
    }
}

/// Maps `offset` from a text whose changed region is `prefix..from_suffix` into one whose
/// changed region is `prefix..to_suffix`.
fn map(offset: usize, prefix: usize, from_suffix: usize, to_suffix: usize) -> Option<usize> {
    if offset <= prefix {
        Some(offset)
    } else if offset >= from_suffix {
        Some(offset - from_suffix + to_suffix)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_around_an_insertion_map_and_inside_it_do_not() {
        let old = "task a after b {}";
        let new = "task a after b, c {}";
        let diff = TextDiff::new(old, new);
        assert_eq!(diff.old_offset(5), Some(5));
        assert_eq!(diff.old_offset(new.len()), Some(old.len()));
        assert_eq!(diff.old_offset(16), None);
        let b = Span::new(13, 14);
        assert_eq!(diff.new_span(b), Some(b));
        assert_eq!(diff.new_span(Span::new(15, 17)), Some(Span::new(18, 20)));
    }

    #[test]
    fn multi_byte_characters_are_never_split() {
        let diff = TextDiff::new("a🚀b", "a🚁b");
        assert_eq!(diff.old_offset(1), Some(1));
        assert_eq!(diff.old_offset(2), None);
        assert_eq!(diff.old_offset(5), Some(5));
    }
}
