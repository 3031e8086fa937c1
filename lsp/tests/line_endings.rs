//! Files with `\r\n` and lone `\r` line endings: LSP counts each (and `\n`) as a line break,
//! and a line break is not part of its line, so positions and formatting edits must agree.

use crate::support::{apply, Server, TempDir};
use serde_json::{json, Value};

/// An unformatted workflow with a text block, with `\n` line breaks.
const UNFORMATTED: &str = "workflow w {\n    param name: string\n  task a {\n      run=\"echo {{ name }}\"\n    retry = 1\n  }\n\n\n\n  task b after a {\n    prompt = \"\"\"\n      Hello {{ name }}.\n        Indented.\n      \"\"\"\n  }\n  task c after b { run = \"echo {{ nope }}\" }\n}\n";

/// The LSP position of byte `offset` where `\r\n` and `\r` also end lines.
fn lsp_position(text: &str, offset: usize) -> Value {
    let before = &text[..offset];
    let line = before
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .matches('\n')
        .count();
    let line_start = before.rfind(['\n', '\r']).map_or(0, |at| at + 1);
    let character = before[line_start..].encode_utf16().count();
    json!({ "line": line, "character": character })
}

fn format(server: &mut Server, uri: &str) -> Value {
    server.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } }),
    )
}

/// Checks positions and formatting on `text`, which has `line_break`s; formatting gives
/// `wfc fmt`'s layout with `formatted_break`s.
fn check_line_break(text: &str, line_break: &str, formatted_break: &str, name: &str) {
    let folder = TempDir::new("wfc-lsp-eol");
    let uri = folder.write(name, text);
    let mut server = Server::start();
    server.open(&uri, text);
    // The unbound `nope` is reported on its own line and columns.
    let diagnostics: Vec<Value> = server
        .diagnostics(&uri, 1)
        .into_iter()
        .filter(|d| d["code"] == "wf::unbound")
        .collect();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let nope = text.find("nope").expect("nope");
    assert_eq!(diagnostics[0]["range"]["start"], lsp_position(text, nope));
    assert_eq!(
        diagnostics[0]["range"]["start"]["line"],
        text[..nope].matches(line_break).count()
    );
    assert_eq!(diagnostics[0]["range"]["end"], lsp_position(text, nope + 4));
    // Definition from `after a` lands on `task a`'s name.
    let after_a = text.find("after a").expect("after a") + 6;
    let found = server.at("textDocument/definition", &uri, lsp_position(text, after_a));
    let task_a = text.find("task a").expect("task a") + 5;
    assert_eq!(found["range"]["start"], lsp_position(text, task_a));
    assert_eq!(found["range"]["start"]["line"], 2);
    let name = text.find("Hello {{ name").expect("the block") + 9;
    assert_eq!(
        lsp_position(text, name)["line"],
        text[..name].matches(line_break).count()
    );
    // A hover on the `name` of the text block.
    let hover = server.at("textDocument/hover", &uri, lsp_position(text, name));
    assert!(
        hover["contents"]["value"]
            .as_str()
            .is_some_and(|v| v.contains("param name: string")),
        "{hover}"
    );
    // Formatting, applied as a conforming client does, gives `wfc fmt`'s layout with the
    // file's own line breaks, and formatting again changes nothing.
    let edits = format(&mut server, &uri);
    let formatted = apply(text, &edits);
    // `wfc fmt` keeps a text block's raw line breaks; every break is the file's own after.
    let expected = wfc::fmt::format_source(text)
        .expect("the text parses")
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', formatted_break);
    assert_eq!(formatted, expected, "{edits}");
    server.replace(&uri, 2, &formatted);
    assert_eq!(format(&mut server, &uri), json!([]));
    // An edit that splits nothing but a line break's `\r` from its `\n` cannot be expressed:
    // formatting a text whose only change is at a line's end still converges.
    let trailing = formatted.replacen(
        &format!("retry = 1{formatted_break}"),
        &format!("retry = 1  {formatted_break}"),
        1,
    );
    server.replace(&uri, 3, &trailing);
    let edits = format(&mut server, &uri);
    assert_eq!(apply(&trailing, &edits), expected, "{edits}");
}

#[test]
fn crlf_positions_and_formatting_converge() {
    check_line_break(
        &UNFORMATTED.replace('\n', "\r\n"),
        "\r\n",
        "\r\n",
        "crlf.wf",
    );
}

#[test]
fn lone_cr_positions_and_formatting_converge() {
    // The compiler reads a lone `\r` as a space, so fields share a line unless a comma parts
    // them; formatting gives `\n` breaks, which the compiler reads as lines.
    let text = "workflow w {\r    param name: string\r  task a { run=\"echo {{ name }}\", retry = 1 }\r\r\r  task b after a { prompt = \"\"\"\r      Hello {{ name }}.\r        Indented.\r      \"\"\" }\r  task c after b { run = \"echo {{ nope }}\" }\r}\r";
    check_line_break(text, "\r", "\n", "cr.wf");
}
