//! Robustness: the parser and checker never panic and never hang, whatever the input, and
//! every unreadable input gets a `wf::syntax` error.
//!
//! Inputs come from a seeded generator (so a failure can be replayed): random bytes, random
//! tokens of the language, and mutations of every fixture and example (bytes flipped,
//! deleted, duplicated, spliced), plus the classic hard cases: invalid UTF-8, huge files,
//! 10,000-deep nesting and unterminated strings.

use crate::support::{relative, wf_files};
use wfc::check::{ModuleKey, NoFiles, Session};
use wfc::diagnostic::Code;

/// A small deterministic pseudo-random generator (xorshift64*), so runs are repeatable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Parses and checks `bytes` as `wfc check` would; returns the diagnostic codes.
fn check_bytes(bytes: &[u8]) -> Vec<Code> {
    let text = match wfc::syntax::decode(bytes) {
        Ok(text) => text,
        Err(diagnostic) => return vec![diagnostic.code],
    };
    let mut session = Session::new(&NoFiles);
    let id = session.check_text(ModuleKey::File("fuzz.wf".into()), text.to_string());
    let module = session.module(id);
    // Every label must lie inside the text, on character boundaries.
    for diagnostic in &module.diagnostics {
        for label in &diagnostic.labels {
            assert!(
                label.span.start <= label.span.end && label.span.end <= text.len(),
                "label out of range: {diagnostic:?}"
            );
            assert!(
                text.is_char_boundary(label.span.start) && text.is_char_boundary(label.span.end)
            );
        }
        let rendered =
            wfc::render::render_human(diagnostic, "fuzz.wf", text, wfc::render::Style::plain(80));
        assert!(!rendered.is_empty());
    }
    // Formatting never panics either, and keeps parseable text parseable.
    if module.parsed.diagnostics.is_empty() {
        if let Ok(formatted) = wfc::fmt::format_source(text) {
            assert!(
                wfc::syntax::parse(&formatted).diagnostics.is_empty(),
                "formatting broke the text:\n{text}\n---\n{formatted}"
            );
        }
    }
    module.diagnostics.iter().map(|d| d.code).collect()
}

const TOKENS: [&str; 48] = [
    "workflow",
    "task",
    "gate",
    "use",
    "param",
    "defaults",
    "agent",
    "import",
    "after",
    "for",
    "each",
    "in",
    "when",
    "matching",
    "as",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "<",
    ">",
    "=",
    "==",
    "!=",
    "!",
    "&&",
    "||",
    ",",
    ".",
    ":",
    "\"",
    "\"\"\"",
    "{{",
    "}}",
    "|",
    "//",
    "///",
    "\n",
    " ",
    "x",
    "run",
    "prompt",
    "\"a {{ x }} b\"",
    "30m",
    "42",
    "\\",
];

#[test]
fn random_token_soup_never_panics() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for _ in 0..3000 {
        let count = rng.below(60);
        let text: String = (0..count)
            .map(|_| TOKENS[rng.below(TOKENS.len())])
            .collect::<Vec<_>>()
            .join(" ");
        check_bytes(text.as_bytes());
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x0dd_ba11_cafe_f00d);
    for _ in 0..2000 {
        let len = rng.below(300);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        check_bytes(&bytes);
    }
}

#[test]
fn mutated_fixtures_and_examples_never_panic() {
    let mut rng = Rng(0xfeed_face_dead_beef);
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    for dir in ["tests/fixtures", "examples", "stdlib"] {
        for path in wf_files(dir) {
            corpus
                .push(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", relative(&path))));
        }
    }
    assert!(!corpus.is_empty());
    for round in 0..4000 {
        let mut bytes = corpus[round % corpus.len()].clone();
        for _ in 0..=rng.below(4) {
            if bytes.is_empty() {
                break;
            }
            let at = rng.below(bytes.len());
            match rng.below(5) {
                0 => bytes[at] = rng.next() as u8,
                1 => {
                    bytes.remove(at);
                }
                2 => {
                    let end = (at + rng.below(40)).min(bytes.len());
                    bytes.drain(at..end);
                }
                3 => {
                    let end = (at + rng.below(40)).min(bytes.len());
                    let copy = bytes[at..end].to_vec();
                    let to = rng.below(bytes.len());
                    bytes.splice(to..to, copy);
                }
                _ => {
                    let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                    bytes.splice(at..at, token.iter().copied());
                }
            }
        }
        check_bytes(&bytes);
    }
}

#[test]
fn invalid_utf8_is_a_located_syntax_error() {
    let bytes = b"workflow w {\n  task t {\n    run = \"\xc3\x28\"\n  }\n}\n";
    let error = wfc::syntax::decode(bytes).expect_err("invalid");
    assert_eq!(error.code, Code::Syntax);
    let bad = bytes.iter().position(|&b| b == 0xc3).expect("the bad byte");
    assert_eq!(error.labels[0].span.start, bad);
}

#[test]
fn ten_thousand_deep_nesting_is_a_syntax_error() {
    for (open, close) in [
        ("(", ")"),
        ("[", "]"),
        ("{", "}"),
        ("\"{{ x | default(", ") }}\""),
    ] {
        let text = format!(
            "workflow w {{\n  task t when {}x{} {{ run = \"true\" }}\n}}\n",
            open.repeat(10_000),
            close.repeat(10_000)
        );
        assert!(
            check_bytes(text.as_bytes()).contains(&Code::Syntax),
            "{open}"
        );
    }
    let types = format!(
        "workflow w {{\n  param p: {}string{}\n}}\n",
        "list<".repeat(10_000),
        ">".repeat(10_000)
    );
    assert!(check_bytes(types.as_bytes()).contains(&Code::Syntax));
    let nots = format!(
        "workflow w {{\n  param on: bool = true\n  task t when {}on {{ run = \"true\" }}\n}}\n",
        "!".repeat(10_000)
    );
    // Ten thousand `!` are legal, if odd: they are counted, not nested.
    assert!(!check_bytes(nots.as_bytes()).contains(&Code::Syntax));
    let chain = format!(
        "workflow w {{\n  param on: bool = true\n  task t when on{} {{ run = \"true\" }}\n}}\n",
        " && on".repeat(10_000)
    );
    assert!(!check_bytes(chain.as_bytes()).contains(&Code::Syntax));
}

#[test]
fn unterminated_strings_are_syntax_errors() {
    for text in [
        "workflow w {\n  task t {\n    run = \"echo\n  }\n}\n",
        "workflow w {\n  task t {\n    prompt = \"\"\"\n      never closed\n  }\n}\n",
        "workflow w {\n  task t {\n    run = \"echo {{ x\"\n  }\n}\n",
        "import \"std/review",
        "\"",
        "\"\"\"",
    ] {
        assert!(
            check_bytes(text.as_bytes()).contains(&Code::Syntax),
            "{text:?}"
        );
    }
}

#[test]
fn a_huge_file_is_read_or_refused_without_panic() {
    // About 4 MB of valid tasks, then the same with a mistake at the very end.
    let mut text = String::from("workflow big {\n");
    for i in 0..40_000 {
        text.push_str(&format!("  task t{i} {{\n    run = \"echo {i}\"\n  }}\n"));
    }
    text.push_str("}\n");
    assert!(check_bytes(text.as_bytes()).is_empty());
    text.push_str("workflow broken {");
    assert_eq!(check_bytes(text.as_bytes()), vec![Code::Syntax]);
    // One enormous line, and a file over the size limit.
    let line = format!(
        "workflow w {{ task t {{ run = \"{}\" }} }}",
        "x".repeat(2_000_000)
    );
    assert!(check_bytes(line.as_bytes()).is_empty());
    let over = " ".repeat(wfc::syntax::parser::MAX_SOURCE_BYTES + 1);
    assert_eq!(check_bytes(over.as_bytes()), vec![Code::Syntax]);
}
