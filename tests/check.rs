//! Checker fixtures: every file under `tests/fixtures/syntax` and `tests/fixtures/check/CODE`
//! is checked, its diagnostics are snapshotted (rendered at a fixed width without colour,
//! and as JSON), and the diagnostic code its folder names must be among them.

use crate::support::{relative, root, wf_files};
use std::path::{Path, PathBuf};
use wfc::check::{Loader, ModuleKey, Session};
use wfc::diagnostic::{Code, Diagnostic};
use wfc::render::{json_file, render_human, Style};

/// Reads imported fixture files from disk.
pub struct FileLoader;

impl Loader for FileLoader {
    fn load(&self, path: &Path) -> Result<Vec<u8>, String> {
        std::fs::read(root().join(path)).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Checks one file as `wfc check` would; returns (name, text, diagnostics) for it and for
/// every module it imports that has diagnostics.
pub fn check_file(path: &Path) -> Vec<(String, String, Vec<Diagnostic>)> {
    let name = relative(path);
    let bytes = std::fs::read(path).expect("fixture is readable");
    let text = match wfc::syntax::decode(&bytes) {
        Ok(text) => text.to_string(),
        Err(diagnostic) => {
            return vec![(
                name,
                String::from_utf8_lossy(&bytes).into_owned(),
                vec![diagnostic],
            )]
        }
    };
    let loader = FileLoader;
    let mut session = Session::new(&loader);
    let id = session.check_text(ModuleKey::File(PathBuf::from(&name)), text);
    let mut results = Vec::new();
    for (other, module) in session.modules() {
        if other == id || !module.diagnostics.is_empty() {
            results.push((
                module.key.to_string(),
                module.text.clone(),
                module.diagnostics.clone(),
            ));
        }
    }
    results
}

/// The snapshot of one fixture: its source, the rendered diagnostics and their JSON.
fn snapshot(path: &Path) -> (String, Vec<Code>) {
    let results = check_file(path);
    let mut out = String::new();
    let mut codes = Vec::new();
    let source = String::from_utf8_lossy(&std::fs::read(path).expect("readable")).into_owned();
    out.push_str("── SOURCE ──\n");
    out.push_str(&source);
    out.push_str("\n── DIAGNOSTICS ──\n");
    for (name, text, diagnostics) in &results {
        for diagnostic in diagnostics {
            codes.push(diagnostic.code);
            out.push_str(&render_human(diagnostic, name, text, Style::plain(80)));
            out.push('\n');
        }
    }
    out.push_str("── JSON ──\n");
    for (name, text, diagnostics) in &results {
        let json = serde_json::to_string_pretty(&json_file(name, text, diagnostics))
            .expect("serializable");
        out.push_str(&json);
        out.push('\n');
    }
    (out, codes)
}

fn snapshot_name(path: &Path) -> String {
    relative(path)
        .trim_start_matches("tests/fixtures/")
        .trim_end_matches(".wf")
        .replace(['/', '-'], "_")
}

fn run_phase(dir: &str, expect: impl Fn(&Path) -> Option<Code>) {
    let files = wf_files(dir);
    assert!(!files.is_empty(), "no fixtures in {dir}");
    for path in files {
        if relative(&path).contains("/lib/") {
            continue;
        }
        let (rendered, codes) = snapshot(&path);
        match expect(&path) {
            Some(code) => assert!(
                codes.contains(&code),
                "{} should report {code}, reported {codes:?}",
                relative(&path)
            ),
            None => assert!(
                codes.is_empty(),
                "{} should check clean, reported {codes:?}",
                relative(&path)
            ),
        }
        insta::assert_snapshot!(snapshot_name(&path), rendered);
    }
}

/// The code a `check/CODE/` folder names.
fn folder_code(path: &Path) -> Option<Code> {
    let folder = path.parent()?.file_name()?.to_str()?;
    Code::ALL
        .into_iter()
        .find(|code| code.as_str() == format!("wf::{folder}"))
}

#[test]
fn syntax_fixtures_report_syntax_errors() {
    run_phase("tests/fixtures/syntax", |_| Some(Code::Syntax));
}

#[test]
fn check_fixtures_report_the_code_of_their_folder() {
    run_phase("tests/fixtures/check", |path| {
        let folder = path
            .parent()
            .and_then(Path::file_name)
            .and_then(|f| f.to_str())
            .unwrap_or("");
        if folder == "clean" {
            None
        } else {
            Some(folder_code(path).unwrap_or_else(|| panic!("{folder} names no diagnostic code")))
        }
    });
}

#[test]
fn every_code_has_a_fixture_that_reports_it() {
    let mut seen = std::collections::HashSet::new();
    for path in wf_files("tests/fixtures/syntax")
        .into_iter()
        .chain(wf_files("tests/fixtures/check"))
    {
        for (_, _, diagnostics) in check_file(&path) {
            seen.extend(diagnostics.iter().map(|d| d.code));
        }
    }
    for code in Code::ALL {
        assert!(seen.contains(&code), "no fixture reports {code}");
    }
}

#[test]
fn one_typo_gives_one_error_and_the_rest_is_still_checked() {
    let results = check_file(&root().join("tests/fixtures/syntax/several_mistakes.wf"));
    let diagnostics = &results[0].2;
    let syntax = diagnostics
        .iter()
        .filter(|d| d.code == Code::Syntax)
        .count();
    assert_eq!(
        syntax, 3,
        "three mistakes, three syntax errors: {diagnostics:#?}"
    );
    // The `after tset` typo stands after all three mistakes, and is still found.
    assert!(diagnostics
        .iter()
        .any(|d| d.code == Code::UnknownRef && d.message.contains("tset")));
}

#[test]
fn users_never_see_grammar_rule_names() {
    let rule_names = [
        "recover_",
        "strict_",
        "ident",
        "kw_",
        "str_text",
        "block_text",
        "interp_path",
        "ref_path",
        "cmp_expr",
        "and_expr",
        "EOI",
        "lbrace",
        "rbrace",
        "item_head",
        "member_head",
        "use_decl",
        "agent_decl",
    ];
    for path in wf_files("tests/fixtures/syntax") {
        for (_, _, diagnostics) in check_file(&path) {
            for diagnostic in diagnostics {
                let shown = format!(
                    "{} {} {:?}",
                    diagnostic.message,
                    diagnostic.help.clone().unwrap_or_default(),
                    diagnostic.labels
                );
                for rule in rule_names {
                    assert!(
                        !shown.contains(rule),
                        "{} shows the rule name {rule}: {shown}",
                        relative(&path)
                    );
                }
            }
        }
    }
}

#[test]
fn a_cycle_is_listed_in_order_with_a_label_on_each_edge() {
    let results = check_file(&root().join("tests/fixtures/check/cycle/three_tasks.wf"));
    let cycle = results[0]
        .2
        .iter()
        .find(|d| d.code == Code::Cycle)
        .expect("a cycle");
    assert!(
        cycle
            .message
            .ends_with("`build` → `test` → `publish` → `build`"),
        "{}",
        cycle.message
    );
    assert_eq!(cycle.labels.len(), 3);
    let text = &results[0].1;
    let labelled: Vec<&str> = cycle
        .labels
        .iter()
        .map(|l| &text[l.span.start..l.span.end])
        .collect();
    assert_eq!(labelled, ["publish", "build", "test"]);
}

#[test]
fn json_positions_count_bytes_and_characters() {
    let source = "workflow w {\n  task t {\n    prompt = \"héllo 😀 {{ nope }}\"\n  }\n}\n";
    let loader = FileLoader;
    let mut session = Session::new(&loader);
    let id = session.check_text(ModuleKey::File("mem.wf".into()), source.to_string());
    let module = session.module(id);
    let json =
        serde_json::to_value(json_file("mem.wf", source, &module.diagnostics)).expect("json");
    let unbound = json["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["code"] == "wf::unbound")
        .expect("the unbound name is reported");
    let label = &unbound["labels"][0];
    let offset = source.find("nope").expect("in source");
    assert_eq!(label["offset"], offset);
    assert_eq!(label["length"], 4);
    assert_eq!(label["line"], 3);
    // `    prompt = "héllo 😀 {{ ` is 25 characters (but 30 bytes) before `nope`.
    assert_eq!(label["column"], 26);
}

#[test]
fn every_stdlib_module_checks_clean_without_warnings() {
    let modules = wf_files("stdlib");
    assert!(!modules.is_empty(), "the stdlib has modules");
    for path in modules {
        let run = crate::support::wfc(&root(), &["check", "--deny-warnings", &relative(&path)]);
        assert_eq!(run.code, 0, "{}: {}", relative(&path), run.stderr);
    }
}
