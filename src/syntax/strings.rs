//! Cooking string literals: escapes, and the dedenting of text blocks.

use super::ast::StrPart;
use crate::span::Span;

/// The character an escape sequence (backslash included) stands for, or `None` if unknown.
pub fn unescape(escape: &str) -> Option<String> {
    let body = escape.strip_prefix('\\')?;
    match body {
        "\"" => Some("\"".into()),
        "\\" => Some("\\".into()),
        "n" => Some("\n".into()),
        "t" => Some("\t".into()),
        "r" => Some("\r".into()),
        "{{" => Some("{{".into()),
        _ => {
            let hex = body.strip_prefix("u{")?.strip_suffix('}')?;
            let code = u32::from_str_radix(hex, 16).ok()?;
            char::from_u32(code).map(String::from)
        }
    }
}

/// Applies the text-block layout rules of LANGUAGE.md §2 to the parts of a `"""` block:
/// a first line break right after the opening quotes is dropped, a last line holding only
/// indentation before the closing quotes is dropped (its line break is kept), and the common
/// leading indentation of the non-blank lines is removed. Lines holding only white space
/// become empty.
pub fn dedent_block(parts: Vec<StrPart>) -> Vec<StrPart> {
    let mut parts = parts;
    // A file saved with CRLF line endings means the same text as one with LF.
    for part in &mut parts {
        if let StrPart::Text { value, .. } = part {
            if value.contains('\r') {
                *value = value.replace("\r\n", "\n");
            }
        }
    }
    drop_opening_line_break(&mut parts);
    drop_closing_indentation(&mut parts);
    let indent = common_indent(&parts);
    strip_indent(parts, indent)
}

fn drop_opening_line_break(parts: &mut [StrPart]) {
    if let Some(StrPart::Text { value, span }) = parts.first_mut() {
        let blank_prefix = value.len() - value.trim_start_matches([' ', '\t', '\r']).len();
        if value[blank_prefix..].starts_with('\n') {
            value.drain(..=blank_prefix);
            span.start = (span.start + blank_prefix + 1).min(span.end);
        }
    }
}

fn drop_closing_indentation(parts: &mut [StrPart]) {
    if let Some(StrPart::Text { value, .. }) = parts.last_mut() {
        if let Some(newline) = value.rfind('\n') {
            if value[newline + 1..].chars().all(|c| c == ' ' || c == '\t') {
                value.truncate(newline + 1);
            }
        }
    }
}

/// The smallest indentation, in characters, of the lines that hold anything but white space.
/// An interpolation makes its line non-blank.
fn common_indent(parts: &[StrPart]) -> usize {
    let mut smallest: Option<usize> = None;
    let mut at_line_start = true;
    let mut indent = 0;
    for part in parts {
        match part {
            StrPart::Text { value, .. } => {
                for c in value.chars() {
                    if at_line_start {
                        match c {
                            ' ' | '\t' => indent += 1,
                            '\n' | '\r' => indent = 0,
                            _ => {
                                smallest = Some(smallest.map_or(indent, |s| s.min(indent)));
                                at_line_start = false;
                            }
                        }
                    } else if c == '\n' {
                        at_line_start = true;
                        indent = 0;
                    }
                }
            }
            StrPart::Interp(_) => {
                if at_line_start {
                    smallest = Some(smallest.map_or(indent, |s| s.min(indent)));
                    at_line_start = false;
                }
            }
        }
    }
    smallest.unwrap_or(0)
}

fn strip_indent(parts: Vec<StrPart>, indent: usize) -> Vec<StrPart> {
    let mut out = Vec::with_capacity(parts.len());
    let mut at_line_start = true;
    let count = parts.len();
    for (index, part) in parts.into_iter().enumerate() {
        match part {
            StrPart::Text { value, span } => {
                let next_is_interp = index + 1 < count;
                let mut cooked = String::with_capacity(value.len());
                let mut lines = value.split('\n').peekable();
                while let Some(line) = lines.next() {
                    let is_last = lines.peek().is_none();
                    let mut line = line;
                    if at_line_start {
                        let blank = line.chars().all(|c| c == ' ' || c == '\t' || c == '\r');
                        if blank && !(is_last && next_is_interp) {
                            line = "";
                        } else {
                            let mut strip = 0;
                            for c in line.chars().take(indent) {
                                if c != ' ' && c != '\t' {
                                    break;
                                }
                                strip += c.len_utf8();
                            }
                            line = &line[strip..];
                        }
                    }
                    cooked.push_str(line);
                    if !is_last {
                        cooked.push('\n');
                        at_line_start = true;
                    } else if !line.is_empty() {
                        at_line_start = false;
                    }
                }
                if !cooked.is_empty() {
                    out.push(StrPart::Text {
                        value: cooked,
                        span,
                    });
                }
            }
            interp @ StrPart::Interp(_) => {
                at_line_start = false;
                out.push(interp);
            }
        }
    }
    out
}

/// Joins adjacent text parts, so a cooked literal alternates text and interpolations.
pub fn merge_text(parts: Vec<StrPart>) -> Vec<StrPart> {
    let mut out: Vec<StrPart> = Vec::with_capacity(parts.len());
    for part in parts {
        if let (
            Some(StrPart::Text {
                value: last,
                span: last_span,
            }),
            StrPart::Text { value, span },
        ) = (out.last_mut(), &part)
        {
            last.push_str(value);
            *last_span = Span::new(last_span.start, span.end);
            continue;
        }
        out.push(part);
    }
    // Merged parts leave room behind; a large file's tree keeps tens of thousands of these.
    out.shrink_to_fit();
    out
}
