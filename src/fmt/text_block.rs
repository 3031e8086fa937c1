//! Re-indenting `"""` text blocks without changing their value.
//!
//! The parser removes a text block's common indentation (see `syntax::strings::dedent_block`),
//! so the block's content can be moved to any indentation as long as every line keeps its
//! indentation relative to the least indented line. That is what this module does; when a
//! block is laid out in a way the rule does not cover, it is left exactly as written.

/// The text block `raw` (its source, quotes included) with its content lines indented by
/// `indent` spaces and its closing `"""` on its own line at the same indentation.
///
/// Returns `None`, meaning "print it as written", when the content starts on the opening
/// line, the closing quotes follow text on their line, the block holds a `\r` (re-indenting
/// would have to decide what a CRLF line is), or `multiline_interp` says that an
/// interpolation spans lines (its inner lines are not content lines and must not move).
pub(super) fn reindent(raw: &str, indent: usize, multiline_interp: bool) -> Option<String> {
    if multiline_interp || raw.contains('\r') {
        return None;
    }
    let inner = raw.strip_prefix("\"\"\"")?.strip_suffix("\"\"\"")?;
    let first_break = inner.find('\n')?;
    let last_break = inner.rfind('\n')?;
    if !is_blank(&inner[..first_break]) || !is_blank(&inner[last_break + 1..]) {
        return None;
    }
    let lines: Vec<&str> = if first_break == last_break {
        Vec::new()
    } else {
        inner[first_break + 1..last_break].split('\n').collect()
    };
    // The parser counts indentation in characters, a tab being one, and ignores blank lines.
    let common = lines
        .iter()
        .filter(|line| !is_blank(line))
        .map(|line| leading_blanks(line))
        .min()
        .unwrap_or(0);
    let pad = " ".repeat(indent);
    let mut out = String::from("\"\"\"\n");
    for line in &lines {
        if !is_blank(line) {
            out.push_str(&pad);
            out.push_str(strip_chars(line, common));
        }
        out.push('\n');
    }
    out.push_str(&pad);
    out.push_str("\"\"\"");
    Some(out)
}

/// Whether `line` holds only spaces and tabs, the characters the parser treats as blank.
fn is_blank(line: &str) -> bool {
    line.chars().all(|c| c == ' ' || c == '\t')
}

/// The number of spaces and tabs that start `line`.
fn leading_blanks(line: &str) -> usize {
    line.chars().take_while(|&c| c == ' ' || c == '\t').count()
}

/// `line` without its first `count` characters, which the caller knows are blanks.
fn strip_chars(line: &str, count: usize) -> &str {
    let bytes: usize = line.chars().take(count).map(char::len_utf8).sum();
    line.get(bytes..).unwrap_or(line)
}
