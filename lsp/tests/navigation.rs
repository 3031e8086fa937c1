//! Go to definition, find references and the outline: within a file, into an imported file
//! and into the stdlib.

use crate::support::{fixture, open_feature, position, position_of_offset, word_range};
use serde_json::{json, Value};

/// The location the definition request at the `nth` `needle` (plus `shift`) answers.
fn definition(needle: &str, nth: usize, shift: usize) -> (Value, String, String) {
    let mut feature = Feature::open();
    let found = feature.definition(needle, nth, shift);
    (found, feature.uri, feature.text)
}

/// A server with the feature fixture open, for several definition requests.
struct Feature {
    server: crate::support::Server,
    folder: crate::support::TempDir,
    uri: String,
    text: String,
}

impl Feature {
    fn open() -> Feature {
        let (server, folder, uri, text) = open_feature();
        Feature {
            server,
            folder,
            uri,
            text,
        }
    }

    fn definition(&mut self, needle: &str, nth: usize, shift: usize) -> Value {
        let at = position(&self.text, needle, nth, shift);
        self.server.at("textDocument/definition", &self.uri, at)
    }
}

#[test]
fn after_names_go_to_the_task_or_gate() {
    let (found, uri, text) = definition("after design", 0, 7);
    assert_eq!(found["uri"], uri.as_str());
    assert_eq!(
        found["range"],
        word_range(&text, "task design", 0, "design")
    );
    let (found, _, text) = definition("after approve", 0, 6);
    assert_eq!(
        found["range"],
        word_range(&text, "gate approve", 0, "approve")
    );
}

#[test]
fn interpolated_names_go_to_the_parameter_loop_variable_or_task() {
    let (found, _, text) = definition("{{ name }}", 2, 4);
    assert_eq!(found["range"], word_range(&text, "param name", 0, "name"));
    let (found, _, text) = definition("{{ aspect }}", 0, 3);
    assert_eq!(
        found["range"],
        word_range(&text, "each aspect", 0, "aspect")
    );
    let (found, _, text) = definition("{{ design.result }}", 0, 5);
    assert_eq!(
        found["range"],
        word_range(&text, "task design", 0, "design")
    );
    let (found, _, text) = definition("when docs", 0, 6);
    assert_eq!(found["range"], word_range(&text, "param docs", 0, "docs"));
}

#[test]
fn agents_and_import_aliases_go_to_their_declarations() {
    let (found, _, text) = definition("agent   = claude", 0, 11);
    assert_eq!(
        found["range"],
        word_range(&text, "agent claude", 0, "claude")
    );
    let (found, _, text) = definition("use review.", 0, 5);
    assert_eq!(found["range"], word_range(&text, "as review", 0, "review"));
}

#[test]
fn a_use_goes_into_the_imported_file() {
    let mut feature = Feature::open();
    let found = feature.definition("common.lint", 0, 8);
    let common_uri = crate::support::uri(&feature.folder.path().join("common.wf"));
    assert_eq!(found["uri"], common_uri.as_str());
    let common = fixture("common.wf");
    assert_eq!(
        found["range"],
        word_range(&common, "workflow lint", 0, "lint")
    );
    let found = feature.definition("dir = \"src\"", 0, 1);
    assert_eq!(found["uri"], common_uri.as_str());
    assert_eq!(found["range"], word_range(&common, "param dir", 0, "dir"));
    let found = feature.definition("\"./common.wf\"", 0, 3);
    assert_eq!(found["uri"], common_uri.as_str());
    assert_eq!(
        found["range"],
        json!({ "start": { "line": 0, "character": 0 }, "end": { "line": 0, "character": 0 } })
    );
}

#[test]
fn a_stdlib_use_goes_into_a_readable_copy_of_the_stdlib_source() {
    let mut feature = Feature::open();
    let found = feature.definition("review.pull_request", 0, 9);
    let target = found["uri"].as_str().expect("a uri").to_string();
    assert!(target.starts_with("file://"), "{target}");
    assert!(target.ends_with("/review.wf"), "{target}");
    assert!(target.contains("/wfc-lsp/stdlib-"), "{target}");
    let path = target.trim_start_matches("file://");
    let source = std::fs::read_to_string(path).expect("the stdlib file was written");
    assert_eq!(source, wfc::stdlib::source("review").expect("std/review"));
    assert_eq!(
        found["range"],
        word_range(&source, "workflow pull_request", 0, "pull_request")
    );
    let found = feature.definition("target = name", 0, 1);
    assert_eq!(found["uri"], target.as_str());
    assert_eq!(
        found["range"],
        word_range(&source, "param target", 0, "target")
    );
}

/// The ranges of every whole-word `word` outside `//` comments.
fn code_occurrences(text: &str, word: &str) -> Vec<Value> {
    let mut found = Vec::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        if !line.trim_start().starts_with("//") {
            for (at, _) in line.match_indices(word) {
                let before = line[..at].chars().next_back();
                let after = line[at + word.len()..].chars().next();
                let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                if !is_word(before) && !is_word(after) {
                    let start = line_start + at;
                    found.push(json!({
                        "start": position_of_offset(text, start),
                        "end": position_of_offset(text, start + word.len()),
                    }));
                }
            }
        }
        line_start += line.len();
    }
    found
}

fn ranges(locations: &Value) -> Vec<Value> {
    let mut ranges: Vec<Value> = locations
        .as_array()
        .expect("locations")
        .iter()
        .map(|l| l["range"].clone())
        .collect();
    ranges.sort_by_key(|r| {
        (
            r["start"]["line"].as_i64(),
            r["start"]["character"].as_i64(),
        )
    });
    ranges
}

#[test]
fn references_of_a_parameter_are_its_declaration_and_every_use() {
    let (mut server, _folder, uri, text) = open_feature();
    let found = server.request(
        "textDocument/references",
        json!({
            "textDocument": { "uri": uri },
            "position": position(&text, "{{ name }}", 0, 3),
            "context": { "includeDeclaration": true },
        }),
    );
    let expected = code_occurrences(&text, "name");
    assert_eq!(expected.len(), 8);
    assert_eq!(ranges(&found), expected);
    let without = server.request(
        "textDocument/references",
        json!({
            "textDocument": { "uri": uri },
            "position": position(&text, "{{ name }}", 0, 3),
            "context": { "includeDeclaration": false },
        }),
    );
    assert_eq!(ranges(&without), expected[1..].to_vec());
}

#[test]
fn references_of_a_task_include_after_lists_and_results() {
    let (mut server, _folder, uri, text) = open_feature();
    let found = server.request(
        "textDocument/references",
        json!({
            "textDocument": { "uri": uri },
            "position": position(&text, "task design", 0, 6),
            "context": { "includeDeclaration": true },
        }),
    );
    let expected = vec![
        word_range(&text, "task design", 0, "design"),
        word_range(&text, "after design", 0, "design"),
        word_range(&text, "{{ design.result", 0, "design"),
    ];
    assert_eq!(ranges(&found), expected);
}

#[test]
fn references_reach_other_open_documents() {
    let (mut server, folder, feature_uri, feature) = open_feature();
    let common = fixture("common.wf");
    let common_uri = crate::support::uri(&folder.path().join("common.wf"));
    server.open(&common_uri, &common);
    assert_eq!(server.diagnostics(&common_uri, 1), Vec::<Value>::new());
    let found = server.request(
        "textDocument/references",
        json!({
            "textDocument": { "uri": common_uri },
            "position": position(&common, "param dir", 0, 6),
            "context": { "includeDeclaration": true },
        }),
    );
    let mut places: Vec<(String, Value)> = found
        .as_array()
        .expect("locations")
        .iter()
        .map(|l| {
            (
                l["uri"].as_str().unwrap_or_default().to_string(),
                l["range"].clone(),
            )
        })
        .collect();
    places.sort_by_key(|(uri, range)| (uri.clone(), range["start"]["line"].as_i64()));
    assert_eq!(
        places,
        vec![
            (
                common_uri.clone(),
                word_range(&common, "param dir", 0, "dir")
            ),
            (
                common_uri.clone(),
                word_range(&common, "{{ dir }}", 0, "dir")
            ),
            (
                feature_uri.clone(),
                word_range(&feature, "dir = \"src\"", 0, "dir")
            ),
        ]
    );
}

#[test]
fn the_outline_lists_items_and_workflow_members() {
    let (mut server, _folder, uri, _text) = open_feature();
    let symbols = server.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": uri } }),
    );
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .expect("symbols")
            .iter()
            .map(|s| s["name"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(names(&symbols), ["review", "common", "claude", "feature"]);
    let feature = &symbols[3];
    assert_eq!(
        names(&feature["children"]),
        [
            "name",
            "spec",
            "reviewers",
            "docs",
            "defaults",
            "design",
            "approve",
            "implement",
            "check",
            "review",
            "write_docs",
            "final_review",
            "lint"
        ]
    );
    assert_eq!(feature["children"][0]["detail"], "string");
    assert_eq!(feature["children"][11]["detail"], "use review.pull_request");
}

#[test]
fn an_opened_stdlib_file_is_checked_as_the_stdlib_module() {
    let mut feature = Feature::open();
    let found = feature.definition("review.pull_request", 0, 9);
    let stdlib_uri = found["uri"].as_str().expect("a uri").to_string();
    let source = wfc::stdlib::source("review").expect("std/review");
    feature.server.open(&stdlib_uri, source);
    assert_eq!(
        feature.server.diagnostics(&stdlib_uri, 1),
        Vec::<Value>::new()
    );
    // From inside the stdlib's file, references find the `use` in the feature file: both
    // name the same module, `std/review`.
    let found = feature.server.request(
        "textDocument/references",
        json!({
            "textDocument": { "uri": stdlib_uri },
            "position": position(source, "workflow pull_request", 0, 10),
            "context": { "includeDeclaration": false },
        }),
    );
    assert_eq!(
        found,
        json!([{
            "uri": feature.uri,
            "range": word_range(&feature.text, "review.pull_request", 0, "pull_request"),
        }])
    );
}
