//! Diagnostics: published on open and on every change, with the checker's codes, exact
//! ranges, related information and the document's version.

use crate::support::{range, Server, TempDir};
use serde_json::{json, Value};

const WITH_ERRORS: &str = r#"workflow w {
  param name: string
  task a { run = "echo {{ nam }}" }
  task b after a {
    run = "true"
    colour = "red"
  }
}
"#;

const FIXED: &str = r#"workflow w {
  param name: string
  task a { run = "echo {{ name }}" }
  task b after a {
    run = "true"
  }
}
"#;

#[test]
fn open_publishes_the_checkers_diagnostics_in_document_order_with_exact_ranges() {
    let folder = TempDir::new("wfc-lsp-diagnostics");
    let uri = folder.write("errors.wf", WITH_ERRORS);
    let mut server = Server::start();
    server.open(&uri, WITH_ERRORS);
    let diagnostics = server.diagnostics(&uri, 1);
    assert_eq!(diagnostics.len(), 2, "{diagnostics:#?}");
    let unbound = &diagnostics[0];
    assert_eq!(unbound["code"], "wf::unbound");
    assert_eq!(unbound["severity"], 1);
    assert_eq!(unbound["source"], "wfc");
    assert_eq!(unbound["range"], range(WITH_ERRORS, "nam", 1));
    assert_eq!(
        unbound["message"],
        "`nam` is not a parameter or loop variable (not in scope)\nhelp: did you mean `name`?"
    );
    let field = &diagnostics[1];
    assert_eq!(field["code"], "wf::field");
    assert_eq!(field["range"], range(WITH_ERRORS, "colour", 0));
}

#[test]
fn a_change_that_fixes_the_errors_publishes_no_diagnostics() {
    let folder = TempDir::new("wfc-lsp-diagnostics");
    let uri = folder.write("errors.wf", WITH_ERRORS);
    let mut server = Server::start();
    server.open(&uri, WITH_ERRORS);
    assert_eq!(server.diagnostics(&uri, 1).len(), 2);
    server.replace(&uri, 2, FIXED);
    assert_eq!(server.diagnostics(&uri, 2), Vec::<Value>::new());
}

#[test]
fn incremental_edits_apply_to_the_text_the_server_holds() {
    let folder = TempDir::new("wfc-lsp-diagnostics");
    let uri = folder.write("errors.wf", WITH_ERRORS);
    let mut server = Server::start();
    server.open(&uri, WITH_ERRORS);
    assert_eq!(server.diagnostics(&uri, 1).len(), 2);
    // `nam` becomes `name` by inserting one letter, then the `colour` line goes.
    let after_nam = range(WITH_ERRORS, "nam }}", 0)["start"].clone();
    let mut insert_at = after_nam.clone();
    insert_at["character"] = json!(after_nam["character"].as_i64().unwrap_or(0) + 3);
    server.edit(
        &uri,
        2,
        json!({ "start": insert_at, "end": insert_at }),
        "e",
    );
    let remaining = server.diagnostics(&uri, 2);
    assert_eq!(remaining.len(), 1);
    assert_eq!(remaining[0]["code"], "wf::field");
    server.edit(
        &uri,
        3,
        json!({ "start": { "line": 5, "character": 0 }, "end": { "line": 6, "character": 0 } }),
        "",
    );
    assert_eq!(server.diagnostics(&uri, 3), Vec::<Value>::new());
}

#[test]
fn a_cycle_lists_its_other_edges_as_related_information() {
    let text = "workflow w {\n  task a after c { run = \"true\" }\n  task b after a { run = \"true\" }\n  task c after b { run = \"true\" }\n}\n";
    let folder = TempDir::new("wfc-lsp-diagnostics");
    let uri = folder.write("cycle.wf", text);
    let mut server = Server::start();
    server.open(&uri, text);
    let diagnostics = server.diagnostics(&uri, 1);
    assert_eq!(diagnostics.len(), 1);
    let cycle = &diagnostics[0];
    assert_eq!(cycle["code"], "wf::cycle");
    assert_eq!(
        cycle["range"],
        json!({ "start": { "line": 1, "character": 15 }, "end": { "line": 1, "character": 16 } })
    );
    let related = cycle["relatedInformation"].as_array().expect("related");
    assert_eq!(related.len(), 2);
    assert_eq!(related[0]["message"], "`b` waits for `a`");
    assert_eq!(related[0]["location"]["uri"], uri.as_str());
    assert_eq!(
        related[0]["location"]["range"],
        json!({ "start": { "line": 2, "character": 15 }, "end": { "line": 2, "character": 16 } })
    );
    assert_eq!(related[1]["message"], "`c` waits for `b`");
}

#[test]
fn syntax_errors_are_published_with_the_checkers_words() {
    let text = "workflow w {\n  task a { run = \"true\" \n  task b after a { run = = }\n}\n";
    let folder = TempDir::new("wfc-lsp-diagnostics");
    let uri = folder.write("broken.wf", text);
    let mut server = Server::start();
    server.open(&uri, text);
    let diagnostics = server.diagnostics(&uri, 1);
    let codes: Vec<&Value> = diagnostics.iter().map(|d| &d["code"]).collect();
    assert_eq!(codes, [&json!("wf::syntax"), &json!("wf::syntax")]);
    assert!(diagnostics[0]["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("the `{` of task `a` is never closed")));
    assert_eq!(
        diagnostics[1]["range"],
        json!({ "start": { "line": 2, "character": 25 }, "end": { "line": 2, "character": 26 } })
    );
}

#[test]
fn closing_a_document_clears_its_diagnostics() {
    let folder = TempDir::new("wfc-lsp-diagnostics");
    let uri = folder.write("errors.wf", WITH_ERRORS);
    let mut server = Server::start();
    server.open(&uri, WITH_ERRORS);
    assert_eq!(server.diagnostics(&uri, 1).len(), 2);
    server.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": uri } }),
    );
    let cleared = server.notification(|m| {
        m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri.as_str()
    });
    assert_eq!(cleared["params"]["diagnostics"], json!([]));
    assert!(cleared["params"]["version"].is_null());
}
