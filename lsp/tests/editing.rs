//! Rename and formatting.

use crate::support::{apply, open_feature, position, word_range, Server, TempDir};
use serde_json::{json, Value};

fn rename(server: &mut Server, uri: &str, position: Value, new_name: &str) -> Result<Value, Value> {
    server.call(
        "textDocument/rename",
        json!({ "textDocument": { "uri": uri }, "position": position, "newName": new_name }),
    )
}

#[test]
fn renaming_a_task_changes_its_declaration_after_lists_and_results() {
    let (mut server, _folder, uri, text) = open_feature();
    let edit = rename(
        &mut server,
        &uri,
        position(&text, "after design", 0, 8),
        "draft",
    )
    .expect("the rename succeeds");
    let edits = &edit["changes"][uri.as_str()];
    assert_eq!(edits.as_array().map(Vec::len), Some(3));
    let renamed = apply(&text, edits);
    assert!(renamed.contains("task draft {"));
    assert!(renamed.contains("gate approve after draft {"));
    assert!(renamed.contains("{{ draft.result }}"));
    // The renamed text still checks cleanly.
    server.replace(&uri, 2, &renamed);
    assert_eq!(server.diagnostics(&uri, 2), Vec::<Value>::new());
}

#[test]
fn renaming_a_parameter_changes_every_use() {
    let (mut server, _folder, uri, text) = open_feature();
    let edit = rename(
        &mut server,
        &uri,
        position(&text, "param name", 0, 7),
        "feature_name",
    )
    .expect("the rename succeeds");
    let renamed = apply(&text, &edit["changes"][uri.as_str()]);
    assert_eq!(renamed.matches("feature_name").count(), 8);
    assert!(renamed.contains("use review.pull_request(target = feature_name)"));
    server.replace(&uri, 2, &renamed);
    assert_eq!(server.diagnostics(&uri, 2), Vec::<Value>::new());
}

#[test]
fn a_rename_that_would_break_the_file_is_refused() {
    let (mut server, _folder, uri, text) = open_feature();
    let at = position(&text, "task design", 0, 6);
    let error = rename(&mut server, &uri, at.clone(), "implement").expect_err("a clash");
    assert_eq!(error["message"], "`implement` is already a task here");
    let error = rename(&mut server, &uri, at.clone(), "after").expect_err("a keyword");
    assert_eq!(error["message"], "`after` is a keyword");
    let error = rename(&mut server, &uri, at, "two words").expect_err("not a name");
    assert!(error["message"]
        .as_str()
        .is_some_and(|m| m.contains("is not a name")));
}

#[test]
fn prepare_rename_gives_the_name_or_says_why_not() {
    let (mut server, _folder, uri, text) = open_feature();
    let range = server.at(
        "textDocument/prepareRename",
        &uri,
        position(&text, "after design", 0, 7),
    );
    assert_eq!(range, word_range(&text, "after design", 0, "design"));
    let refused = server.call(
        "textDocument/prepareRename",
        json!({ "textDocument": { "uri": uri }, "position": position(&text, "review.pull_request", 0, 9) }),
    );
    let error = refused.expect_err("the stdlib cannot be renamed");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("std/review")),
        "{error}"
    );
}

const UNFORMATTED: &str = "workflow w {\n    param name: string\n  task a {\n      run=\"echo {{ name }}\"\n    retry = 1\n  }\n\n\n\n  task b after a { run = \"true\" }\n}\n";

#[test]
fn formatting_gives_the_layout_of_wfc_fmt() {
    let folder = TempDir::new("wfc-lsp-format");
    let uri = folder.write("format.wf", UNFORMATTED);
    let mut server = Server::start();
    server.open(&uri, UNFORMATTED);
    let edits = server.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    let expected = wfc::fmt::format_source(UNFORMATTED).expect("the text parses");
    assert_ne!(expected, UNFORMATTED);
    assert_eq!(apply(UNFORMATTED, &edits), expected);
    server.replace(&uri, 2, &expected);
    let again = server.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    assert_eq!(again, json!([]));
}

#[test]
fn a_file_that_does_not_parse_is_not_formatted() {
    let text = "workflow w {\n  task a { run = = }\n}\n";
    let folder = TempDir::new("wfc-lsp-format");
    let uri = folder.write("broken.wf", text);
    let mut server = Server::start();
    server.open(&uri, text);
    let edits = server.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    assert!(edits.is_null(), "{edits}");
}
