//! A lexical pre-pass over the source: it bounds nesting before the recursive-descent parser
//! runs, and finds the `//` comments the formatter must keep.
//!
//! It knows just enough of the lexical structure to tell code from the inside of strings:
//! strings, text blocks, interpolations inside them (which may hold strings themselves, as in
//! `{{ x | default("none") }}`) and comments.

use crate::span::Span;

/// The deepest nesting of brackets, strings and interpolations the parser accepts.
///
/// The parser recurses once per level; this bound keeps the stack small on any input
/// (a file of 10,000 `(` must be an error, not a stack overflow).
pub const MAX_NESTING: usize = 64;

/// A `//` comment (not a `///` doc comment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// From `//` to the end of the line, the line break excluded.
    pub span: Span,
}

/// What the scan found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Every plain comment, in order.
    pub comments: Vec<Comment>,
    /// Where nesting first went deeper than [`MAX_NESTING`].
    pub too_deep_at: Option<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Code,
    Str,
    Block,
    Interp,
}

/// Scans `text`.
pub fn scan(text: &str) -> Scan {
    let bytes = text.as_bytes();
    let mut result = Scan::default();
    let mut stack = vec![Context::Code];
    let mut brackets = 0usize;
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let context = *stack.last().unwrap_or(&Context::Code);
        let mut step = 1;
        match context {
            Context::Code | Context::Interp => {
                if rest.starts_with(b"//") {
                    let end = rest
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(bytes.len(), |n| at + n);
                    let is_doc = rest.starts_with(b"///") && !rest.starts_with(b"////");
                    if !is_doc {
                        result.comments.push(Comment {
                            span: Span::new(at, end),
                        });
                    }
                    step = end - at;
                } else if rest.starts_with(b"\"\"\"") {
                    stack.push(Context::Block);
                    step = 3;
                } else if rest[0] == b'"' {
                    stack.push(Context::Str);
                } else if context == Context::Interp && rest.starts_with(b"}}") {
                    stack.pop();
                    step = 2;
                } else if matches!(rest[0], b'(' | b'[' | b'{' | b'<') {
                    brackets += 1;
                } else if matches!(rest[0], b')' | b']' | b'}' | b'>') {
                    brackets = brackets.saturating_sub(1);
                }
            }
            Context::Str => {
                if rest[0] == b'\\' {
                    step = if rest.starts_with(b"\\{{") { 3 } else { 2 };
                } else if rest[0] == b'"' || rest[0] == b'\n' {
                    stack.pop();
                } else if rest.starts_with(b"{{") {
                    stack.push(Context::Interp);
                    step = 2;
                }
            }
            Context::Block => {
                if rest.starts_with(b"\\{{") {
                    step = 3;
                } else if rest.starts_with(b"\"\"\"") {
                    stack.pop();
                    step = 3;
                } else if rest.starts_with(b"{{") {
                    stack.push(Context::Interp);
                    step = 2;
                }
            }
        }
        if result.too_deep_at.is_none() && brackets + stack.len() - 1 > MAX_NESTING {
            result.too_deep_at = Some(at);
        }
        at += step.max(1);
    }
    result
}
