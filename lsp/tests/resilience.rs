//! The server under stress: half-typed text, a panicking request, and edits faster than it
//! can check them.

use crate::support::{open_feature, position, word_range, TempDir};
use serde_json::{json, Value};

#[test]
fn a_panic_in_a_request_answers_an_error_and_the_server_keeps_serving() {
    let (mut server, _folder, uri, text) = open_feature();
    let error = server
        .call("wfc/panic", json!({}))
        .expect_err("the hook panics");
    assert_eq!(error["code"], -32603);
    assert!(error["message"]
        .as_str()
        .is_some_and(|m| m.contains("wfc/panic failed")));
    assert!(server.is_running());
    assert!(server.log().contains("the test hook asked for a panic"));
    let found = server.at(
        "textDocument/definition",
        &uri,
        position(&text, "after design", 0, 7),
    );
    assert_eq!(
        found["range"],
        word_range(&text, "task design", 0, "design")
    );
}

#[test]
fn half_typed_text_keeps_hover_and_definition_from_the_last_good_analysis() {
    let (mut server, _folder, uri, text) = open_feature();
    // A half-typed task at the top of the workflow swallows what follows it into a syntax
    // error, but hover and definition still answer from the last text that parsed.
    let anchor = "workflow feature {\n";
    let at = text.find(anchor).expect("anchor") + anchor.len();
    let broken = format!(
        "{}  task half after {{\n    prompt = \"{{{{ na\n{}",
        &text[..at],
        &text[at..]
    );
    server.replace(&uri, 2, &broken);
    let diagnostics = server.diagnostics(&uri, 2);
    assert!(
        diagnostics.iter().any(|d| d["code"] == "wf::syntax"),
        "{diagnostics:#?}"
    );
    let hover = server.at(
        "textDocument/hover",
        &uri,
        position(&broken, "after approve", 0, 7),
    );
    assert!(
        hover["contents"]["value"]
            .as_str()
            .is_some_and(|v| v.contains("gate approve")),
        "{hover}"
    );
    assert_eq!(
        hover["range"],
        word_range(&broken, "after approve", 0, "approve")
    );
    let found = server.at(
        "textDocument/definition",
        &uri,
        position(&broken, "{{ design.result", 0, 4),
    );
    assert_eq!(
        found["range"],
        word_range(&broken, "task design", 0, "design")
    );
    // Completion in the half-typed interpolation offers the parameters.
    let cursor = position(&broken, "{{ na\n", 0, 5);
    let items = server.at("textDocument/completion", &uri, cursor);
    let labels: Vec<&str> = items
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["label"].as_str())
        .collect();
    assert!(labels.contains(&"name"), "{labels:?}");
}

#[test]
fn rapid_changes_are_applied_in_order_and_the_last_version_is_published() {
    let folder = TempDir::new("wfc-lsp-rapid");
    let start = "workflow w {\n  param name: string\n  task a {\n    run = \"\"\n  }\n}\n";
    let uri = folder.write("rapid.wf", start);
    let mut server = crate::support::Server::start();
    server.open(&uri, start);
    server.diagnostics(&uri, 1);
    let mut version = 1;
    // A burst of whole-text replacements, sent without waiting, that alternate between broken and clean text,
    // ending on a text with one known error.
    let final_text = start.replace("run = \"\"", "run = \"echo {{ name }} {{ nope }}\"");
    for round in 0..30 {
        version += 1;
        let text = if round % 2 == 0 {
            "workflow w { task"
        } else {
            start
        };
        server.replace(&uri, version, text);
    }
    version += 1;
    server.replace(&uri, version, &final_text);
    let diagnostics = server.diagnostics(&uri, version);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0]["code"], "wf::unbound");
    assert_eq!(
        diagnostics[0]["range"],
        word_range(&final_text, "{{ nope }}", 0, "nope")
    );
    // What was published on the way came in version order, each for a version before the
    // last: edits that queued up while one was checked were folded into the next check.
    let versions: Vec<i64> = server
        .published(&uri)
        .iter()
        .filter_map(|m| m["params"]["version"].as_i64())
        .collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    assert!(versions.iter().all(|v| *v < version), "{versions:?}");
}

#[test]
fn typed_changes_are_applied_in_order() {
    let folder = TempDir::new("wfc-lsp-rapid");
    let start = "workflow w {\n  param name: string\n  task a {\n    run = \"\"\n  }\n}\n";
    let uri = folder.write("typed.wf", start);
    let mut server = crate::support::Server::start();
    server.open(&uri, start);
    server.diagnostics(&uri, 1);
    let typed = "echo {{ name }}";
    let column = start
        .lines()
        .nth(3)
        .expect("line")
        .find('"')
        .expect("quote")
        + 1;
    for (i, c) in typed.chars().enumerate() {
        let at = json!({ "line": 3, "character": column + i });
        server.edit(
            &uri,
            2 + i as i64,
            json!({ "start": at, "end": at }),
            &c.to_string(),
        );
    }
    let last = 1 + typed.len() as i64;
    assert_eq!(server.diagnostics(&uri, last), Vec::<Value>::new());
}

/// Every `.wf` file of the repository's examples and stdlib.
fn repository_workflows() -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for folder in ["examples", "stdlib"] {
        for entry in std::fs::read_dir(root.join(folder))
            .expect("the folder exists")
            .flatten()
        {
            if entry.path().extension().is_some_and(|e| e == "wf") {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    files
}

#[test]
fn requests_anywhere_in_whole_and_truncated_files_never_fail() {
    let mut server = crate::support::Server::start();
    let folder = TempDir::new("wfc-lsp-anywhere");
    for (number, path) in repository_workflows().into_iter().enumerate() {
        let text = std::fs::read_to_string(&path).expect("readable");
        let name = path.file_name().and_then(|n| n.to_str()).expect("a name");
        let uri = folder.write(name, &text);
        server.open(&uri, &text);
        server.diagnostics(&uri, 1);
        // Whole: hover, definition and completion at many places.
        let mut at = number % 7;
        while at < text.len() {
            if text.is_char_boundary(at) {
                let position = crate::support::position_of_offset(&text, at);
                for method in [
                    "textDocument/hover",
                    "textDocument/definition",
                    "textDocument/completion",
                ] {
                    let answer = server.call(
                        method,
                        json!({ "textDocument": { "uri": uri }, "position": position }),
                    );
                    assert!(
                        answer.is_ok(),
                        "{method} at {position} of {name}: {answer:?}"
                    );
                }
            }
            at += 23;
        }
        // Truncated, as if typed up to there: completion at the end, and the diagnostics.
        let mut version = 1;
        for cut in (0..text.len())
            .step_by(97)
            .filter(|c| text.is_char_boundary(*c))
        {
            version += 1;
            let typed = &text[..cut];
            server.replace(&uri, version, typed);
            let end = crate::support::position_of_offset(typed, typed.len());
            let answer = server.call(
                "textDocument/completion",
                json!({ "textDocument": { "uri": uri }, "position": end }),
            );
            assert!(
                answer.is_ok(),
                "completion at the end of {cut} bytes of {name}: {answer:?}"
            );
        }
        server.diagnostics(&uri, version);
        assert!(server.is_running());
    }
    // A panic while checking would not fail a request (the document gets a diagnostic
    // saying so), but it would be in the log.
    let log = server.log();
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn an_internal_error_never_shows_the_text_it_was_reading() {
    let (mut server, _folder, uri, text) = open_feature();
    // The standard library's message for a bad slice quotes the string sliced: the hook
    // slices this text inside its first character, as the hover bug once did a document.
    let secret = "秘密の本文 api-key=hunter2 and the rest of the document";
    let error = server
        .call("wfc/panic", json!({ "slice": secret }))
        .expect_err("the hook panics");
    assert_eq!(error["code"], -32603);
    let message = error["message"].as_str().expect("a message");
    assert!(message.contains("wfc/panic failed"), "{message}");
    assert!(
        !message.contains("hunter2") && !message.contains('秘'),
        "{message}"
    );
    let log = server.log();
    assert!(log.contains("not a char boundary"), "{log}");
    assert!(!log.contains("hunter2") && !log.contains('秘'), "{log}");
    // The server still answers.
    let found = server.at(
        "textDocument/definition",
        &uri,
        position(&text, "after design", 0, 7),
    );
    assert_eq!(
        found["range"],
        word_range(&text, "task design", 0, "design")
    );
}
