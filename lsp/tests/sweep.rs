//! Every request the server answers, at every position of every example, every stdlib module
//! and a file dense with multi-byte text: none may answer an error. Positions count UTF-16
//! units, so this also asks at the second unit of every surrogate pair and one past every
//! line's end, which conforming clients send too.

use crate::support::{fixture, Server, TempDir};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The LSP lines of `text`: `\n`, `\r\n` and `\r` each end one.
fn lsp_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(['\n', '\r']) {
        lines.push(&rest[..at]);
        let skip = if rest[at..].starts_with("\r\n") { 2 } else { 1 };
        rest = &rest[at + skip..];
    }
    lines.push(rest);
    lines
}

/// The position-independent requests, then every position request at every position.
fn requests(uri: &str, text: &str) -> Vec<(&'static str, Value)> {
    let document = json!({ "uri": uri });
    let mut all = vec![
        (
            "textDocument/documentSymbol",
            json!({ "textDocument": document }),
        ),
        (
            "textDocument/formatting",
            json!({ "textDocument": document, "options": { "tabSize": 2, "insertSpaces": true } }),
        ),
    ];
    for (line, content) in lsp_lines(text).iter().enumerate() {
        let width = content.encode_utf16().count();
        for character in 0..=width + 1 {
            let at = json!({ "textDocument": document, "position": { "line": line, "character": character } });
            let mut with = |method: &'static str, extra: Value| {
                let mut params = at.clone();
                if let (Some(params), Some(extra)) = (params.as_object_mut(), extra.as_object()) {
                    params.extend(extra.clone());
                }
                all.push((method, params));
            };
            with("textDocument/hover", json!({}));
            with("textDocument/completion", json!({}));
            with("textDocument/definition", json!({}));
            with(
                "textDocument/references",
                json!({ "context": { "includeDeclaration": true } }),
            );
            with("textDocument/prepareRename", json!({}));
            with("textDocument/rename", json!({ "newName": "renamed" }));
        }
    }
    all
}

/// Asks every request about `text` (already open as `uri`) and returns the failures, each
/// with the request that caused it.
fn failures(server: &mut Server, uri: &str, text: &str, name: &str) -> Vec<String> {
    let requests = requests(uri, text);
    let mut failed = Vec::new();
    for chunk in requests.chunks(600) {
        for ((method, params), answer) in chunk.iter().zip(server.call_many(chunk)) {
            let Err(error) = answer else { continue };
            // Rename may refuse a name it cannot change (a workflow, a stdlib name), with a
            // message for the user; that is an answer, not a failure.
            let refusal = method.contains("ename") && error["code"] == -32803;
            if !refusal {
                failed.push(format!(
                    "{name}: {method} at {}: {error}",
                    params["position"]
                ));
            }
        }
    }
    failed
}

fn sources(folder: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("the folder exists")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "wf"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{folder} has .wf files");
    files
}

/// Opens each file in a copy of its folder (so its relative imports resolve), sweeps it, and
/// returns every failure.
fn sweep(files: &[(String, String)]) -> Vec<String> {
    let folder = TempDir::new("wfc-lsp-sweep");
    for (name, text) in files {
        folder.write(name, text);
    }
    let mut server = Server::start();
    let mut failed = Vec::new();
    for (name, text) in files {
        let uri = crate::support::uri(&folder.path().join(name));
        server.open(&uri, text);
        failed.extend(failures(&mut server, &uri, text, name));
        server.notify(
            "textDocument/didClose",
            json!({ "textDocument": { "uri": uri } }),
        );
    }
    assert!(server.is_running());
    failed
}

fn read_all(folder: &str) -> Vec<(String, String)> {
    sources(folder)
        .into_iter()
        .map(|path| {
            let name = path
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read_to_string(&path).expect("readable"))
        })
        .collect()
}

/// Fails with the first 20 of `failed`, if there are any.
fn assert_none(failed: &[String]) {
    assert!(
        failed.is_empty(),
        "{} failures:\n{}",
        failed.len(),
        failed[..failed.len().min(20)].join("\n")
    );
}

#[test]
fn no_request_fails_anywhere_in_the_examples() {
    let failed = sweep(&read_all("examples"));
    assert_none(&failed);
}

#[test]
fn no_request_fails_anywhere_in_the_stdlib() {
    let failed = sweep(&read_all("stdlib"));
    assert_none(&failed);
}

#[test]
fn no_request_fails_anywhere_in_dense_multi_byte_text() {
    let text = fixture("multibyte.wf");
    // The same text half-typed (so answers come from the last good analysis, carried across
    // multi-byte text), with CRLF endings, and with lone CR endings.
    let broken = format!("{text}\nworkflow 壊れ {{ task 半 {{ prompt = \"{{{{ 日本 🎉 e\u{301}");
    let files = vec![
        ("multibyte.wf".to_string(), text.clone()),
        ("broken.wf".to_string(), broken.clone()),
        ("crlf.wf".to_string(), text.replace('\n', "\r\n")),
        ("cr.wf".to_string(), text.replace('\n', "\r")),
    ];
    let mut failed = sweep(&files);
    // The half-typed text again, as an edit of the clean one, so the last good analysis is
    // the clean text's.
    let folder = TempDir::new("wfc-lsp-sweep-edit");
    let uri = folder.write("edited.wf", &text);
    let mut server = Server::start();
    server.open(&uri, &text);
    server.diagnostics(&uri, 1);
    server.replace(&uri, 2, &broken);
    server.diagnostics(&uri, 2);
    failed.extend(failures(&mut server, &uri, &broken, "edited.wf"));
    assert_none(&failed);
}
