//! The formatter: snapshots of `tests/fixtures/fmt`, and over every `.wf` file of the
//! repository the properties ruff checks for its formatter: formatting twice changes
//! nothing, the syntax tree is unchanged by formatting, and no comment is lost or duplicated.

use crate::support::{relative, wf_files};
use regex::Regex;
use std::path::{Path, PathBuf};
use wfc::diagnostic::Code;
use wfc::fmt::format_source;
use wfc::syntax::parse;

/// Formats a file that must parse, naming it in the failure.
fn format_ok(name: &str, text: &str) -> String {
    match format_source(text) {
        Ok(formatted) => formatted,
        Err(diagnostics) => panic!("{name} does not parse: {diagnostics:#?}"),
    }
}

/// The snapshot of one fixture: its source and its formatted text.
fn snapshot(source: &str, formatted: &str) -> String {
    format!("── SOURCE ──\n{source}\n── FORMATTED ──\n{formatted}")
}

#[test]
fn fixtures_format_as_their_snapshots() {
    let files = wf_files("tests/fixtures/fmt");
    assert!(files.len() >= 8, "expected at least 8 formatter fixtures");
    for path in files {
        let name = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .unwrap_or_default()
            .replace('-', "_");
        let source = std::fs::read_to_string(&path).expect("fixture is UTF-8");
        let formatted = format_ok(&relative(&path), &source);
        insta::assert_snapshot!(name, snapshot(&source, &formatted));
    }
}

/// Every `.wf` file the repository holds that parses: fixtures of all phases, the examples
/// and the stdlib, with its text.
fn corpus() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for dir in ["tests/fixtures", "examples", "stdlib"] {
        for path in wf_files(dir) {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let Ok(text) = String::from_utf8(bytes) else {
                continue;
            };
            if !parse(&text).has_errors() {
                files.push((path, text));
            }
        }
    }
    assert!(!files.is_empty(), "no .wf files to format");
    files
}

#[test]
fn formatting_is_idempotent() {
    for (path, text) in corpus() {
        let name = relative(&path);
        let once = format_ok(&name, &text);
        let twice = format_ok(&name, &once);
        assert_eq!(once, twice, "formatting {name} twice changed it");
    }
}

/// The layout rules that hold for every formatted file: `\n` line endings, one final line
/// break, and no trailing white space, outside text blocks (whose value holds their white
/// space and `\r`s, so they keep them).
#[test]
fn formatted_text_is_clean() {
    for (path, text) in corpus() {
        let name = relative(&path);
        let formatted = format_ok(&name, &text);
        if !formatted.is_empty() {
            assert!(
                formatted.ends_with('\n') && !formatted.ends_with("\n\n"),
                "{name}: not one final line break"
            );
        }
        let inside = text_block_lines(&formatted);
        for (number, line) in formatted.split('\n').enumerate() {
            if !inside.contains(&number) && !line.contains("\"\"\"") {
                assert_eq!(
                    line,
                    line.trim_end(),
                    "{name}:{}: trailing white space",
                    number + 1
                );
            }
        }
    }
}

/// The 0-based numbers of the lines that lie inside a text block of `text`: after an odd
/// number of `\"\"\"` that are not in comments.
fn text_block_lines(text: &str) -> Vec<usize> {
    let comments: Vec<(usize, usize)> = parse(text)
        .comments
        .iter()
        .map(|c| (c.span.start, c.span.end))
        .collect();
    let mut inside = Vec::new();
    let mut open = false;
    let mut offset = 0;
    for (number, line) in text.split('\n').enumerate() {
        if open {
            inside.push(number);
        }
        for (at, _) in line.match_indices("\"\"\"") {
            let at = offset + at;
            if !comments.iter().any(|&(start, end)| start <= at && at < end) {
                open = !open;
            }
        }
        offset += line.len() + 1;
    }
    inside
}

/// The syntax tree of `text` printed with every span left out.
fn tree_without_spans(text: &str) -> String {
    let file = parse(text).file;
    let spans = Regex::new(r"Span \{ start: \d+, end: \d+ \}").expect("valid regex");
    spans.replace_all(&format!("{file:?}"), "Span").into_owned()
}

#[test]
fn formatting_keeps_the_syntax_tree() {
    for (path, text) in corpus() {
        let name = relative(&path);
        let formatted = format_ok(&name, &text);
        let before = tree_without_spans(&text);
        let after = tree_without_spans(&formatted);
        if before != after {
            // The trees are long; pointing at the first difference makes the failure readable.
            let at = before
                .bytes()
                .zip(after.bytes())
                .take_while(|(a, b)| a == b)
                .count();
            let from = at.saturating_sub(200);
            panic!(
                "formatting {name} changed its syntax tree near\nbefore: …{}\nafter:  …{}",
                before.get(from..(at + 200).min(before.len())).unwrap_or(""),
                after.get(from..(at + 200).min(after.len())).unwrap_or(""),
            );
        }
    }
}

/// The text of every `//` comment of `text`, sorted: the multiset the formatter must keep.
fn comment_texts(text: &str) -> Vec<String> {
    let mut texts: Vec<String> = parse(text)
        .comments
        .iter()
        .map(|comment| {
            text[comment.span.start..comment.span.end]
                .trim_end()
                .to_string()
        })
        .collect();
    texts.sort();
    texts
}

#[test]
fn formatting_keeps_every_comment_once() {
    for (path, text) in corpus() {
        let name = relative(&path);
        let formatted = format_ok(&name, &text);
        assert_eq!(
            comment_texts(&text),
            comment_texts(&formatted),
            "{name}: comments changed"
        );
    }
}

#[test]
fn the_comment_fixture_has_comments_to_keep() {
    // The corpus test above would pass vacuously without comments; the fixtures have many.
    let path = Path::new("tests/fixtures/fmt/comments.wf");
    let text =
        std::fs::read_to_string(crate::support::root().join(path)).expect("fixture is readable");
    assert!(comment_texts(&text).len() > 20);
}

#[test]
fn a_syntax_error_is_reported_not_formatted() {
    let diagnostics = format_source("workflow w {\n  task t {\n    run \"make\"\n  }\n}\n")
        .expect_err("a file with a syntax error is not formatted");
    assert!(!diagnostics.is_empty());
    assert!(
        diagnostics.iter().all(|d| d.code == Code::Syntax),
        "{diagnostics:#?}"
    );
}

#[test]
fn an_empty_file_stays_empty() {
    assert_eq!(format_source("").ok().as_deref(), Some(""));
    assert_eq!(format_source("\n\n  \n").ok().as_deref(), Some(""));
    assert_eq!(
        format_source("// only\n").ok().as_deref(),
        Some("// only\n")
    );
}

#[test]
fn crlf_line_endings_become_line_feeds() {
    let text = "// c\r\nworkflow w {\r\n  task t {\r\n    run = \"true\"  // why\r\n  }\r\n}\r\n";
    let formatted = format_ok("crlf", text);
    assert_eq!(
        formatted,
        "// c\nworkflow w {\n  task t {\n    run = \"true\"  // why\n  }\n}\n"
    );
}

/// A small deterministic xorshift generator, so the mutation test needs no dependency and
/// fails the same way every time.
struct Xorshift(u64);

impl Xorshift {
    /// A number below `bound` (0 when `bound` is 0).
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound.max(1) as u64) as usize
    }
}

/// Mutates the fixtures (deleting text, inserting comments, line breaks, brackets, text-block
/// quotes, …) and checks the formatter's properties on every mutant that still parses:
/// hand-written fixtures only cover the layouts someone thought of.
#[test]
fn mutated_fixtures_keep_the_formatter_properties() {
    const PIECES: [&str; 28] = [
        "// c\n",
        "\n",
        " ",
        "\"\"\"\n",
        "\n\"\"\"",
        "{",
        "}",
        ",",
        "[",
        "]",
        " // x",
        "\n\n",
        "/// d\n",
        "  ",
        "\t",
        "(",
        ")",
        "!",
        "\"a\"",
        "x",
        "\r\n",
        "{{ a }}",
        "\ntask z {}\n",
        "\nparam y: int // p\n",
        " after a",
        " when x",
        " = [1]",
        "\"\"\"",
    ];
    let mut random = Xorshift(0x2545_f491_4f6c_dd1d);
    let mut formatted = 0;
    for path in wf_files("tests/fixtures/fmt") {
        let base = std::fs::read_to_string(&path).expect("fixture is UTF-8");
        for _ in 0..150 {
            let mut text = base.clone();
            for _ in 0..=random.below(3) {
                let mut at = random.below(text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                if random.below(3) == 0 {
                    let mut end = (at + random.below(8)).min(text.len());
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    text.replace_range(at..end, "");
                } else {
                    text.insert_str(at, PIECES[random.below(PIECES.len())]);
                }
            }
            let Ok(once) = format_source(&text) else {
                continue;
            };
            formatted += 1;
            let context = format!(
                "mutant of {}:\n{text}\n── formatted ──\n{once}",
                relative(&path)
            );
            assert_eq!(
                format_ok(&context, &once),
                once,
                "not idempotent: {context}"
            );
            assert_eq!(
                tree_without_spans(&text),
                tree_without_spans(&once),
                "tree changed: {context}"
            );
            assert_eq!(
                comment_texts(&text),
                comment_texts(&once),
                "comments changed: {context}"
            );
        }
    }
    assert!(
        formatted > 100,
        "too few mutants parsed ({formatted}) to test anything"
    );
}

#[test]
fn a_text_block_with_crlf_lines_is_kept_as_written() {
    // Its value holds the `\r`s; a text block has no escape to write them otherwise.
    let text = "workflow w {\r\n  task t {\r\n      prompt = \"\"\"\r\n    hi\r\n    \"\"\"\r\n  }\r\n}\r\n";
    let formatted = format_ok("crlf text block", text);
    assert_eq!(
        formatted,
        "workflow w {\n  task t {\n    prompt = \"\"\"\r\n    hi\r\n    \"\"\"\n  }\n}\n"
    );
    assert_eq!(tree_without_spans(text), tree_without_spans(&formatted));
}

/// The typed IR of `text`, checked as the file at `path`, printed with every span left out.
fn ir_without_spans(path: &Path, text: &str) -> String {
    let loader = crate::check::FileLoader;
    let mut session = wfc::check::Session::new(&loader);
    let key = wfc::check::ModuleKey::File(PathBuf::from(relative(path)));
    let id = session.check_text(key, text.to_string());
    let spans = Regex::new(r"Span \{ start: \d+, end: \d+ \}").expect("valid regex");
    spans
        .replace_all(&format!("{:?}", session.module(id).ir), "Span")
        .into_owned()
}

#[test]
fn formatting_keeps_the_typed_ir() {
    for (path, text) in corpus() {
        let name = relative(&path);
        let formatted = format_ok(&name, &text);
        assert_eq!(
            ir_without_spans(&path, &text),
            ir_without_spans(&path, &formatted),
            "formatting {name} changed its IR"
        );
    }
}
