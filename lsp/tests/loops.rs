//! Bounded loops in the editor: a file with a loop checks clean, the loop is in the outline
//! with its tasks inside it, hover says what repeats and until what, `after LOOP` goes to
//! the loop, its body is completed as a workflow's, and a loop without `max` is a
//! diagnostic.

use crate::support::{position, position_of_offset, word_range, Server, TempDir};
use serde_json::{json, Value};

const LOOP: &str = r#"workflow reviewed {
  param rounds: int = 3

  /// Review and fix until the review approves.
  repeat review_loop max rounds until review.output.verdict == "approve" {
    task review {
      run    = "cat review.json"
      output: { verdict: enum("approve", "changes") }
    }

    task fix after review when review.output.verdict == "changes" {
      run = "echo fixing"
    }
  }

  task ship after review_loop {
    run = "echo {{ review.output.verdict }}"
  }
}
"#;

/// The server with `text` open as `loop.wf`, its diagnostics read: the server, its folder,
/// the file's URI and the diagnostics.
fn open(text: &str) -> (Server, TempDir, String, Vec<Value>) {
    let folder = TempDir::new("wfc-lsp-loops");
    let uri = folder.write("loop.wf", text);
    let mut server = Server::start();
    server.open(&uri, text);
    let diagnostics = server.diagnostics(&uri, 1);
    (server, folder, uri, diagnostics)
}

fn hover(server: &mut Server, uri: &str, needle: &str, shift: usize) -> String {
    let hover = server.at("textDocument/hover", uri, position(LOOP, needle, 0, shift));
    hover["contents"]["value"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_loop_checks_clean_and_is_outlined_hovered_and_gone_to() {
    let (mut server, _folder, uri, diagnostics) = open(LOOP);
    assert_eq!(diagnostics, Vec::<Value>::new(), "no false diagnostics");
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
    let members = &symbols[0]["children"];
    assert_eq!(names(members), ["rounds", "review_loop", "ship"]);
    assert_eq!(members[1]["detail"], "repeat, at most rounds rounds");
    assert_eq!(names(&members[1]["children"]), ["review", "fix"]);
    let shown = hover(&mut server, &uri, "repeat review_loop", 8);
    for part in [
        "repeat review_loop",
        "**repeats** `review`, `fix`",
        "**until** `review.output.verdict == \"approve\"`, at most rounds rounds",
        "Review and fix until the review approves.",
    ] {
        assert!(shown.contains(part), "{part} in {shown}");
    }
    // In the loop's body, members are offered as in a workflow's.
    let body = LOOP.find("    task fix").expect("fix");
    let items = server.request(
        "textDocument/completion",
        json!({ "textDocument": { "uri": uri }, "position": position_of_offset(LOOP, body + 4) }),
    );
    let text = items.to_string();
    assert!(
        text.contains("\"task\"") && text.contains("\"gate\""),
        "{text}"
    );
    let found = server.at(
        "textDocument/definition",
        &uri,
        position(LOOP, "after review_loop", 0, 7),
    );
    assert_eq!(found["uri"], uri.as_str());
    assert_eq!(
        found["range"],
        word_range(LOOP, "repeat review_loop", 0, "review_loop")
    );
}

#[test]
fn a_loop_without_max_is_the_checker_s_diagnostic() {
    let text = LOOP.replace(" max rounds", "");
    let (_server, _folder, _uri, diagnostics) = open(&text);
    let codes: Vec<&str> = diagnostics
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert_eq!(codes, ["wf::unused", "wf::loop-max"], "{diagnostics:?}");
}

#[test]
fn renaming_a_loop_or_a_task_in_it_changes_every_reference() {
    let (mut server, _folder, uri, _) = open(LOOP);
    let rename = |server: &mut Server, needle: &str, shift: usize, name: &str| -> String {
        let edit = server.request(
            "textDocument/rename",
            json!({
                "textDocument": { "uri": uri },
                "position": position(LOOP, needle, 0, shift),
                "newName": name,
            }),
        );
        crate::support::apply(LOOP, &edit["changes"][uri.as_str()])
    };
    let renamed = rename(&mut server, "after review_loop", 7, "polish");
    assert!(renamed.contains("repeat polish max rounds"), "{renamed}");
    assert!(renamed.contains("task ship after polish {"), "{renamed}");
    let renamed = rename(&mut server, "task review", 6, "critique");
    assert!(
        renamed.contains("until critique.output.verdict == \"approve\""),
        "{renamed}"
    );
    // The `when` on its output is renamed too.
    assert!(
        renamed.contains("task fix after critique when critique.output"),
        "{renamed}"
    );
    assert!(
        renamed.contains("{{ critique.output.verdict }}"),
        "{renamed}"
    );
    server.replace(&uri, 2, &renamed);
    assert_eq!(server.diagnostics(&uri, 2), Vec::<Value>::new());
}
