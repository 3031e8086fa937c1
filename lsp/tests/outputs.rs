//! Typed task outputs in the editor: hover shows an output's type and a field's, completion
//! after `TASK.output.` offers the record's fields, and an unknown field is a diagnostic.

use crate::support::{position, position_of_offset, Server, TempDir};
use serde_json::{json, Value};

const PLAN: &str = r#"agent claude {
  adapter = "claude-code"
}

workflow outputs {
  defaults {
    agent = claude
  }
  task plan {
    prompt = "Plan the change."
    output: { steps: list<{ title: string, risky: bool }>, summary: text }
  }
  task review after plan {
    prompt = """
      Review the steps:
      {{ plan.output.steps | json }}
      """
  }
}
"#;

/// The server with `text` open as `outputs.wf`: the server, its folder and the file's URI.
fn open(text: &str) -> (Server, TempDir, String) {
    let folder = TempDir::new("wfc-lsp-outputs");
    let uri = folder.write("outputs.wf", text);
    let mut server = Server::start();
    server.open(&uri, text);
    (server, folder, uri)
}

fn hover(text: &str, needle: &str, shift: usize) -> String {
    let (mut server, _folder, uri) = open(text);
    server.diagnostics(&uri, 1);
    let hover = server.at("textDocument/hover", &uri, position(text, needle, 0, shift));
    hover["contents"]["value"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn hover_on_an_output_and_its_fields_shows_their_types() {
    let shown = hover(PLAN, "plan.output.steps", 6);
    assert!(shown.contains("`plan.output`"), "{shown}");
    assert!(
        shown.contains("{ steps: list<{ title: string, risky: bool }>, summary: text }"),
        "{shown}"
    );
    let shown = hover(PLAN, "plan.output.steps", 13);
    assert!(shown.contains("`plan.output.steps`"), "{shown}");
    assert!(
        shown.contains("list<{ title: string, risky: bool }>"),
        "{shown}"
    );
}

/// The completion items offered when `PLAN`'s read of the steps is replaced by `typed`,
/// with the cursor at the end of `before_cursor` (in `typed`), as version `version`.
fn complete(
    server: &mut Server,
    uri: &str,
    version: i64,
    typed: &str,
    before_cursor: &str,
) -> Vec<Value> {
    let text = PLAN.replace("{{ plan.output.steps | json }}", typed);
    let cursor = text.find(before_cursor).expect("typed") + before_cursor.len();
    server.replace(uri, version, &text);
    server.diagnostics(uri, version);
    let found = server.request(
        "textDocument/completion",
        json!({ "textDocument": { "uri": uri }, "position": position_of_offset(&text, cursor) }),
    );
    match &found {
        Value::Array(items) => items.clone(),
        other => other["items"].as_array().cloned().unwrap_or_default(),
    }
}

#[test]
fn completion_after_output_offers_the_record_s_fields_and_unknown_fields_are_diagnostics() {
    let (mut server, _folder, uri) = open(PLAN);
    assert_eq!(server.diagnostics(&uri, 1), Vec::<Value>::new(), "clean");
    let items = complete(&mut server, &uri, 2, "{{ plan.output. }}", "plan.output.");
    let labels: Vec<(&str, &str)> = items
        .iter()
        .map(|i| {
            (
                i["label"].as_str().unwrap_or(""),
                i["detail"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        labels,
        [
            ("steps", "list<{ title: string, risky: bool }>"),
            ("summary", "text")
        ]
    );
    // After the task's name, its output is offered beside its result.
    let found = Value::Array(complete(&mut server, &uri, 3, "{{ plan. }}", "plan."));
    let text = found.to_string();
    assert!(
        text.contains("\"result\"") && text.contains("\"output\""),
        "{text}"
    );
    // An unknown field is the checker's diagnostic, with its code.
    let wrong = PLAN.replace("plan.output.steps", "plan.output.stpes");
    server.replace(&uri, 4, &wrong);
    let diagnostics = server.diagnostics(&uri, 4);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0]["code"], "wf::output-field");
    assert!(
        diagnostics[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("has no field `stpes`"),
        "{diagnostics:?}"
    );
}
