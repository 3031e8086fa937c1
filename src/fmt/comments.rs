//! The `//` comments of a file being formatted, and which of them are already printed.
//!
//! Invariant: every comment is printed exactly once. Each place that prints comments takes
//! them from here, which marks them as used, so no comment can be printed twice; the file
//! printer ends by taking every comment that is still unused, so none can be lost.

use crate::span::Span;
use crate::syntax::scan::Comment;

/// The comments of one source text, in source order, each with a flag saying whether it
/// has been printed.
pub(super) struct Comments<'a> {
    src: &'a str,
    spans: Vec<Span>,
    used: Vec<bool>,
}

impl<'a> Comments<'a> {
    /// Tracks `comments`, which the scanner found in `src`.
    pub(super) fn new(src: &'a str, comments: &[Comment]) -> Self {
        let mut spans: Vec<Span> = comments.iter().map(|comment| comment.span).collect();
        // The scanner reports comments in order already; sorting keeps the binary searches
        // below correct even if that ever changes.
        spans.sort();
        let used = vec![false; spans.len()];
        Comments { src, spans, used }
    }

    /// The text of the comment at `span`, without trailing white space (a `\r` of a CRLF
    /// line ending included), as the formatter prints it.
    pub(super) fn text(&self, span: Span) -> &'a str {
        self.src.get(span.start..span.end).unwrap_or("").trim_end()
    }

    /// The indices of the comments that start inside `start..end`.
    fn range(&self, start: usize, end: usize) -> std::ops::Range<usize> {
        let first = self.spans.partition_point(|span| span.start < start);
        let last = self.spans.partition_point(|span| span.start < end);
        first..last.max(first)
    }

    /// The start of the comment that ends exactly at `end`, used or not.
    pub(super) fn start_of_comment_ending_at(&self, end: usize) -> Option<usize> {
        // Comments do not overlap, so ordered by start they are ordered by end too.
        let index = self.spans.partition_point(|span| span.end < end);
        let span = self.spans.get(index)?;
        (span.end == end).then_some(span.start)
    }

    /// Takes the unused comments that start inside `start..end`, in order.
    pub(super) fn take_in(&mut self, start: usize, end: usize) -> Vec<Span> {
        let mut taken = Vec::new();
        for index in self.range(start, end) {
            if !self.used[index] {
                self.used[index] = true;
                taken.push(self.spans[index]);
            }
        }
        taken
    }

    /// Marks the comments inside `start..end` as printed, for a string literal that is
    /// printed with the comments inside its interpolations.
    pub(super) fn mark_used_in(&mut self, start: usize, end: usize) {
        for index in self.range(start, end) {
            self.used[index] = true;
        }
    }

    /// Whether an unused comment starts inside `start..end`.
    pub(super) fn any_in(&self, start: usize, end: usize) -> bool {
        self.range(start, end).any(|index| !self.used[index])
    }

    /// Takes the comment that follows `after` on the same line, with nothing but spaces
    /// (and, when `commas` is set, the commas that separate elements) in between.
    pub(super) fn take_trailing(&mut self, after: usize, commas: bool) -> Option<Span> {
        let index = self.spans.partition_point(|span| span.start < after);
        let span = *self.spans.get(index)?;
        if self.used[index] {
            return None;
        }
        let gap = self.src.get(after..span.start)?;
        let same_line = gap
            .chars()
            .all(|c| c == ' ' || c == '\t' || (commas && c == ','));
        if !same_line {
            return None;
        }
        self.used[index] = true;
        Some(span)
    }
}
