//! Positions on lines with emoji and CJK text: LSP counts columns in UTF-16 units, so an
//! emoji is two columns and a CJK character one, while the compiler counts bytes.

use crate::support::{fixture, position, word_range, Server, TempDir};
use serde_json::json;

fn open_unicode() -> (Server, TempDir, String, String) {
    let folder = TempDir::new("wfc-lsp-unicode");
    let text = fixture("unicode.wf");
    let uri = folder.write("unicode.wf", &text);
    let mut server = Server::start();
    server.open(&uri, &text);
    (server, folder, uri, text)
}

#[test]
fn diagnostic_ranges_count_utf16_units() {
    let (mut server, _folder, uri, text) = open_unicode();
    let diagnostics = server.diagnostics(&uri, 1);
    assert_eq!(diagnostics.len(), 2, "{diagnostics:#?}");
    assert_eq!(diagnostics[0]["code"], "wf::inline-text");
    // `日本語 🌸 ` before it: 3 CJK characters (one unit each) and an emoji (two).
    assert_eq!(
        diagnostics[0]["range"],
        word_range(&text, "{{ first.result }}", 0, "{{ first.result }}")
    );
    assert_eq!(diagnostics[0]["range"]["start"]["character"], 45);
    assert_eq!(diagnostics[1]["code"], "wf::unbound");
    assert_eq!(
        diagnostics[1]["range"],
        word_range(&text, "{{ missing }}", 0, "missing")
    );
}

#[test]
fn hover_and_definition_after_emoji_find_the_right_name() {
    let (mut server, _folder, uri, text) = open_unicode();
    server.diagnostics(&uri, 1);
    // The second `lang` of the title follows `🚀 翻訳` and `🎉`.
    let hover = server.at(
        "textDocument/hover",
        &uri,
        position(&text, "{{ lang }}", 1, 4),
    );
    assert_eq!(hover["range"], word_range(&text, "{{ lang }}", 1, "lang"));
    assert!(hover["contents"]["value"]
        .as_str()
        .is_some_and(|v| v.contains("param lang: string") && v.contains("原文の言語 🌏")));
    let found = server.at(
        "textDocument/definition",
        &uri,
        position(&text, "{{ lang }}", 2, 3),
    );
    assert_eq!(found["range"], word_range(&text, "param lang", 0, "lang"));
    let found = server.at(
        "textDocument/definition",
        &uri,
        position(&text, "first.result", 0, 2),
    );
    assert_eq!(found["range"], word_range(&text, "task first", 0, "first"));
}

#[test]
fn edits_after_emoji_land_where_the_editor_put_them() {
    let (mut server, _folder, uri, text) = open_unicode();
    assert_eq!(server.diagnostics(&uri, 1).len(), 2);
    // Replace `missing` (after `日本語 🌸 {{ first.result }} {{ `) with `lang`.
    server.edit(
        &uri,
        2,
        word_range(&text, "{{ missing }}", 0, "missing"),
        "lang",
    );
    let diagnostics = server.diagnostics(&uri, 2);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0]["code"], "wf::inline-text");
    // Typing an emoji and then a name right after it, in two edits.
    let at = word_range(&text, "{{ lang }} 🎉", 0, "🎉")["end"].clone();
    server.edit(&uri, 3, json!({ "start": at, "end": at }), " 🐙");
    let mut after = at.clone();
    after["character"] = json!(at["character"].as_i64().unwrap_or(0) + 3);
    server.edit(
        &uri,
        4,
        json!({ "start": after, "end": after }),
        " {{ lang }}",
    );
    let diagnostics = server.diagnostics(&uri, 4);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
}
