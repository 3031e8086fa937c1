//! A lexical pre-pass over the source: it bounds nesting before the recursive-descent parser
//! runs, finds the `//` comments the formatter must keep, and finds where a workflow's members
//! start, so a large file can be parsed in pieces (`syntax::chunks`).
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

/// A place a workflow's members may be cut into pieces: the start of a line's first word,
/// `task`, `gate`, `param`, `use` or `defaults`, or of a `///` doc comment, directly inside a
/// workflow's braces, with no comment just before it (a comment there could be the docs of
/// what follows, or hold them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberStart {
    /// Where the workflow's `{` is: which workflow the member is in.
    pub workflow: usize,
    /// Where the member starts.
    pub at: usize,
}

/// What the scan found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Every plain comment, in order.
    pub comments: Vec<Comment>,
    /// Where nesting first went deeper than [`MAX_NESTING`].
    pub too_deep_at: Option<usize>,
    /// Where members start, in order.
    pub member_starts: Vec<MemberStart>,
}

/// The words that begin a workflow member.
const MEMBER_KEYWORDS: [&[u8]; 5] = [b"task", b"gate", b"param", b"use", b"defaults"];

/// Whether `rest` begins with the word `word`, not followed by a character of a name.
fn starts_with_word(rest: &[u8], word: &[u8]) -> bool {
    rest.starts_with(word)
        && rest
            .get(word.len())
            .is_none_or(|&b| !(b.is_ascii_alphanumeric() || b == b'_'))
}

/// Whether the line that `line` begins (after its indentation) starts a workflow member.
fn starts_member(line: &[u8]) -> bool {
    (line.starts_with(b"///") && !line.starts_with(b"////"))
        || MEMBER_KEYWORDS
            .iter()
            .any(|word| starts_with_word(line, word))
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
    // Whether the top-level item being read is a workflow, and where its `{` is.
    let mut in_workflow = false;
    let mut workflow_open = 0;
    // Whether the last thing read, white space aside, was a comment.
    let mut after_comment = false;
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let context = *stack.last().unwrap_or(&Context::Code);
        let mut step = 1;
        match context {
            Context::Code | Context::Interp => {
                if context == Context::Code && rest[0] == b'\n' {
                    if brackets == 1 && in_workflow && !after_comment {
                        let indent = rest[1..]
                            .iter()
                            .take_while(|&&b| b == b' ' || b == b'\t')
                            .count();
                        if starts_member(&rest[1 + indent..]) {
                            result.member_starts.push(MemberStart {
                                workflow: workflow_open,
                                at: at + 1 + indent,
                            });
                        }
                    }
                } else if brackets == 0
                    && context == Context::Code
                    && rest[0].is_ascii_alphabetic()
                    && (at == 0
                        || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_'))
                {
                    if starts_with_word(rest, b"workflow") {
                        in_workflow = true;
                    } else if starts_with_word(rest, b"agent") || starts_with_word(rest, b"import")
                    {
                        in_workflow = false;
                    }
                }
                if !rest[0].is_ascii_whitespace() {
                    after_comment = false;
                }
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
                    after_comment = true;
                } else if rest.starts_with(b"\"\"\"") {
                    stack.push(Context::Block);
                    step = 3;
                } else if rest[0] == b'"' {
                    stack.push(Context::Str);
                } else if context == Context::Interp && rest.starts_with(b"}}") {
                    stack.pop();
                    step = 2;
                } else if matches!(rest[0], b'(' | b'[' | b'{' | b'<') {
                    if brackets == 0 && rest[0] == b'{' {
                        workflow_open = at;
                    }
                    brackets += 1;
                } else if matches!(rest[0], b')' | b']' | b'}' | b'>') {
                    brackets = brackets.saturating_sub(1);
                }
            }
            Context::Str => {
                after_comment = false;
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
                after_comment = false;
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
