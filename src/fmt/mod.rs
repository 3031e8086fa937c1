//! The canonical formatter behind `wfc fmt`: prints a parsed `.wf` file in the one layout
//! every file is brought to.
//!
//! # The canonical layout
//!
//! - Two-space indentation, `\n` line endings, exactly one trailing newline (an empty file
//!   stays empty), no trailing white space (except inside a string or text block, whose
//!   value it is part of).
//! - Top-level items in source order. Consecutive imports stay together with no blank line
//!   between them; every other pair of items is separated by exactly one blank line.
//! - Inside a workflow, members in source order, one per line group. A blank line in the
//!   source between two members is kept as exactly one blank line (more collapse to one);
//!   there is no blank line right after `{` or right before `}`. The same holds for the
//!   fields of a block and the elements of a wrapped list or map.
//! - Headers on one line: `workflow NAME {`, `agent NAME {`,
//!   `param NAME: TYPE matching "RE" = DEFAULT`,
//!   `task ID for each VAR in EXPR after A, B when EXPR {`, `gate ID after A when EXPR {`,
//!   `use M.W(a = x, b = y) as ID after A, B when EXPR`, `defaults {`,
//!   `import "PATH" as M`. Types print as `string`, `enum("a", "b")`, `list<string>`.
//! - Blocks (agent, defaults, task, gate): one field per line, no commas, the names padded
//!   to the longest name of the block so the `=` align (`adapter   = "claude-code"`). An
//!   empty block prints as `{}` on the header line; so does an empty workflow.
//! - Strings print exactly as written, never re-escaped. A text block's opening `"""` stays
//!   on its line; its content lines are re-indented so that their common indentation is one
//!   level deeper than the line the block starts on, each keeping its relative indentation;
//!   blank lines are empty; the closing `"""` goes on its own line at the content's
//!   indentation. The block's value never changes. A text block whose content starts on the
//!   opening line, whose closing `"""` follows text, which holds a `\r`, or whose
//!   interpolation spans lines is printed exactly as written.
//! - Lists print as `[a, b, c]` when the whole line fits in 100 columns and no comment is
//!   inside; otherwise one element per line, one level deeper, each followed by `,`, with
//!   `]` on its own line. Maps likewise as `{ k = v, k2 = v2 }` or one `k = v,` per line
//!   (their keys are not aligned). Empty: `[]` and `{}`. Lists inside expressions (`when`,
//!   `for each`, `use` arguments) always stay on one line.
//! - Expressions: `a == b`, `a != b`, `x in xs`, `a && b`, `a || b`, `!x`, with parentheses
//!   only where they were written. Durations print as written, integers as decimal numbers,
//!   booleans as `true` and `false`.
//! - Doc comments print one per line right above their item, at its indentation, as
//!   `/// text` (`///` for an empty line), without trailing white space.
//! - Comments: every `//` comment is kept, once. A comment alone on its line prints on its
//!   own line at the indentation of the next element, or, if it is the last thing in a
//!   block, at the block's inner indentation before the closing `}`. A comment after code on
//!   the same line stays at the end of that element's last line, two spaces after it (after
//!   a `{` or `[`, on the opening line). A comment inside something printed on one line (a
//!   header, an expression, between a field's name and its value) moves onto its own line
//!   just above that element, after its doc comments. Blank lines before a comment are kept
//!   as at most one, except that between two top-level items the blank line always comes
//!   first, before any comment.
//! - Formatting is idempotent: formatting formatted text changes nothing, and the syntax
//!   tree of the result equals the original's apart from spans (and trimmed doc lines).

mod comments;
mod printer;
mod text_block;

use crate::diagnostic::Diagnostic;

pub use printer::MAX_WIDTH;

/// Formats `text` in the canonical layout.
///
/// Errors: the syntax diagnostics if the text does not parse; the formatter never formats
/// a file with syntax errors, since it could not know what the broken parts meant.
pub fn format_source(text: &str) -> Result<String, Vec<Diagnostic>> {
    let parsed = crate::syntax::parse(text);
    if !parsed.diagnostics.is_empty() {
        return Err(parsed.diagnostics);
    }
    Ok(printer::Printer::new(text, &parsed.comments).file(&parsed.file))
}
