//! Malformed frames on standard input: each is answered (when it may be a request) or
//! dropped, and the server keeps serving. tower-lsp-server alone ends the stream, and the
//! server, at the first frame it cannot decode.

use crate::support::{open_feature, position, word_range, Server};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn frame(length: usize, body: &[u8]) -> Vec<u8> {
    let mut frame = format!("Content-Length: {length}\r\n\r\n").into_bytes();
    frame.extend_from_slice(body);
    frame
}

/// A hover request with id `id` at `after design` of the feature fixture, as JSON text.
fn hover_request(id: i64, uri: &str, text: &str) -> String {
    json!({
        "jsonrpc": "2.0", "id": id, "method": "textDocument/hover",
        "params": { "textDocument": { "uri": uri }, "position": position(text, "after design", 0, 7) },
    })
    .to_string()
}

/// The server still answers a request, with the right result.
fn still_serves(server: &mut Server, uri: &str, text: &str) {
    let found = server.at(
        "textDocument/definition",
        uri,
        position(text, "after design", 0, 7),
    );
    assert_eq!(found["range"], word_range(text, "task design", 0, "design"));
    assert!(server.is_running());
}

/// Waits for the response whose id is `id` (null for a parse error).
fn response(server: &mut Server, id: Value) -> Value {
    server.notification(|m| m.get("method").is_none() && m.get("id") == Some(&id))
}

#[test]
fn a_body_that_is_not_json_is_answered_with_a_parse_error() {
    let (mut server, _folder, uri, text) = open_feature();
    server.send_raw(&frame(9, b"{not json"));
    let answer = response(&mut server, Value::Null);
    assert_eq!(answer["error"]["code"], -32700, "{answer}");
    still_serves(&mut server, &uri, &text);
    assert!(server.log().contains("was not JSON"), "{}", server.log());
}

#[test]
fn a_header_without_a_usable_length_is_answered_and_skipped() {
    let (mut server, _folder, uri, text) = open_feature();
    server.send_raw(b"Content-Length: twelve\r\n\r\n{\"jsonrpc\":\"2.0\"}");
    assert_eq!(response(&mut server, Value::Null)["error"]["code"], -32700);
    server.send_raw(b"Content-Type: application/vscode-jsonrpc\r\n\r\n{}");
    assert_eq!(response(&mut server, Value::Null)["error"]["code"], -32700);
    still_serves(&mut server, &uri, &text);
}

#[test]
fn lone_surrogates_and_invalid_utf8_are_repaired_and_the_message_answered() {
    let (mut server, _folder, uri, text) = open_feature();
    // A request with a lone surrogate escape in a field the server ignores.
    let id = server.reserve_id();
    let request =
        hover_request(id, &uri, &text).replacen('{', "{\"note\":\"\\ud800 x \\udc00\",", 1);
    server.send_raw(&frame(request.len(), request.as_bytes()));
    let answer = response(&mut server, json!(id));
    assert!(
        answer["result"]["contents"]["value"]
            .as_str()
            .is_some_and(|v| v.contains("task design")),
        "{answer}"
    );
    // An edit whose text has a lone surrogate and a byte that is not UTF-8: the document
    // takes it (with U+FFFD for each), so it stays in step with the editor.
    let end = text.find("workflow feature").expect("the workflow");
    let at = crate::support::position_of_offset(&text, end);
    let change = json!({
        "jsonrpc": "2.0", "method": "textDocument/didChange",
        "params": {
            "textDocument": { "uri": uri, "version": 2 },
            "contentChanges": [{ "range": { "start": at, "end": at }, "text": "// SURROGATE BYTE\n" }],
        },
    })
    .to_string()
    .replace("SURROGATE", "\\udfff")
    .into_bytes();
    let byte = change
        .windows(4)
        .position(|w| w == b"BYTE")
        .expect("the marker");
    let change = [&change[..byte], b"\xff\xfe", &change[byte + 4..]].concat();
    server.send_raw(&frame(change.len(), &change));
    assert_eq!(server.diagnostics(&uri, 2), Vec::<Value>::new());
    let edited = format!(
        "{}// \u{FFFD} \u{FFFD}\u{FFFD}\n{}",
        &text[..end],
        &text[end..]
    );
    still_serves(&mut server, &uri, &edited);
    assert!(
        server.log().contains("lone UTF-16 surrogates"),
        "{}",
        server.log()
    );
    assert!(server.log().contains("not valid UTF-8"), "{}", server.log());
}

#[test]
fn a_length_too_short_is_a_parse_error_and_the_rest_is_skipped() {
    let (mut server, _folder, uri, text) = open_feature();
    let id = server.reserve_id();
    let request = hover_request(id, &uri, &text);
    server.send_raw(&frame(request.len() - 10, request.as_bytes()));
    assert_eq!(response(&mut server, Value::Null)["error"]["code"], -32700);
    still_serves(&mut server, &uri, &text);
}

#[test]
fn a_length_too_long_ends_at_the_next_frame_or_when_input_stops() {
    let (mut server, _folder, uri, text) = open_feature();
    // Followed by another frame: both are answered at once.
    let first = server.reserve_id();
    let second = server.reserve_id();
    let request = hover_request(first, &uri, &text);
    let next = hover_request(second, &uri, &text);
    let mut bytes = frame(request.len() + 30, request.as_bytes());
    bytes.extend(frame(next.len(), next.as_bytes()));
    server.send_raw(&bytes);
    assert!(response(&mut server, json!(first))["result"].is_object());
    assert!(response(&mut server, json!(second))["result"].is_object());
    // The last frame sent: answered once nothing more comes for a while.
    let id = server.reserve_id();
    let request = hover_request(id, &uri, &text);
    let started = Instant::now();
    server.send_raw(&frame(request.len() + 1000, request.as_bytes()));
    assert!(response(&mut server, json!(id))["result"].is_object());
    assert!(started.elapsed() < Duration::from_secs(20));
    still_serves(&mut server, &uri, &text);
}

#[test]
fn json_that_is_not_json_rpc_is_answered_under_its_id_or_dropped() {
    let (mut server, _folder, uri, text) = open_feature();
    let body = br#"{"jsonrpc":"1.0","id":"odd","method":"textDocument/hover"}"#;
    server.send_raw(&frame(body.len(), body));
    let answer = response(&mut server, json!("odd"));
    assert_eq!(answer["error"]["code"], -32600, "{answer}");
    for body in [&b"[1, 2]"[..], b"42", b"{\"jsonrpc\":\"2.0\"}"] {
        server.send_raw(&frame(body.len(), body));
        assert_eq!(response(&mut server, Value::Null)["error"]["code"], -32600);
    }
    // A broken notification has nobody to answer: it is dropped, and logged.
    let body = br#"{"jsonrpc":"2.0","method":7}"#;
    server.send_raw(&frame(body.len(), body));
    let body = br#"{"method":"textDocument/didChange"}"#;
    server.send_raw(&frame(body.len(), body));
    still_serves(&mut server, &uri, &text);
    assert!(
        server.log().contains("dropped a notification"),
        "{}",
        server.log()
    );
}

#[test]
fn garbage_between_frames_is_skipped() {
    let (mut server, _folder, uri, text) = open_feature();
    server.send_raw(b"\x00\x01 hello \xff\r\n\r\n");
    still_serves(&mut server, &uri, &text);
    assert!(
        server.log().contains("not part of a message"),
        "{}",
        server.log()
    );
}

#[test]
fn exit_ends_the_server_at_once_though_standard_input_stays_open() {
    let (mut server, _folder, uri, text) = open_feature();
    still_serves(&mut server, &uri, &text);
    let took = server.shut_down(Duration::from_secs(10));
    assert!(
        took.is_some_and(|took| took < Duration::from_secs(2)),
        "the server took {took:?} to exit"
    );
}
