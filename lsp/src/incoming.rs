//! Judging one incoming message before the LSP service sees it.
//!
//! Bytes that are not valid UTF-8 and lone UTF-16 surrogates in JSON escapes are repaired
//! (each becomes U+FFFD), since the message is otherwise whole: dropping a `didChange` over
//! one bad character would leave the server's copy of the document behind the editor's for
//! good. A body that is not JSON at all is answered with JSON-RPC's `ParseError` (id null,
//! since no id can be read from it); JSON that is not a JSON-RPC message is answered with
//! `InvalidRequest` under its id when it has one, or null when it is not even a
//! notification, and a broken notification is dropped. Every repair and refusal is logged on
//! standard error, without the message's text.

use serde_json::{json, Value};
use tower_lsp_server::jsonrpc::{Request, Response};

/// What to do with one incoming body.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// A well-formed message (maybe repaired) for the service, as JSON text.
    Forward(Vec<u8>),
    /// A message the service must not see, and the error response the client gets instead.
    Answer(Value),
    /// A broken notification: nobody waits for an answer.
    Drop,
}

/// JSON-RPC's code for a body that is not JSON.
const PARSE_ERROR: i64 = -32700;
/// JSON-RPC's code for JSON that is not a valid request.
const INVALID_REQUEST: i64 = -32600;

/// Judges one frame's body.
pub fn judge(body: &[u8]) -> Verdict {
    let text = match std::str::from_utf8(body) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => {
            eprintln!("wfc-lsp: a message was not valid UTF-8; its bad bytes became U+FFFD");
            String::from_utf8_lossy(body)
        }
    };
    let value = match serde_json::from_str::<Value>(&text) {
        Ok(value) => value,
        Err(_) => {
            let repaired = replace_lone_surrogates(&text);
            match serde_json::from_str::<Value>(&repaired) {
                Ok(value) => {
                    eprintln!("wfc-lsp: a message had lone UTF-16 surrogates; they became U+FFFD");
                    value
                }
                Err(why) => {
                    eprintln!(
                        "wfc-lsp: a message was not JSON (line {}, column {}); answered a parse error",
                        why.line(),
                        why.column()
                    );
                    return Verdict::Answer(error(Value::Null, PARSE_ERROR, "Parse error"));
                }
            }
        }
    };
    // tower-lsp-server reads a message without `method` as a request for the method "", which
    // JSON-RPC does not allow: a request names its method.
    let has_method = value.get("method").is_some_and(Value::is_string);
    let is_message = if has_method {
        serde_json::from_value::<Request>(value.clone()).is_ok()
    } else {
        serde_json::from_value::<Response>(value.clone()).is_ok()
    };
    if is_message {
        return Verdict::Forward(value.to_string().into_bytes());
    }
    let id = value
        .get("id")
        .filter(|id| id.is_number() || id.is_string())
        .cloned();
    let is_notification = id.is_none() && value.get("method").is_some();
    if is_notification {
        eprintln!("wfc-lsp: dropped a notification that is not valid JSON-RPC");
        return Verdict::Drop;
    }
    eprintln!("wfc-lsp: a message was not valid JSON-RPC; answered an invalid-request error");
    Verdict::Answer(error(
        id.unwrap_or(Value::Null),
        INVALID_REQUEST,
        "Invalid request: not a JSON-RPC 2.0 message",
    ))
}

/// The error response to a message the service never saw.
pub fn error(id: Value, code: i64, message: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
}

/// `json` with every `\uXXXX` escape of an unpaired UTF-16 surrogate replaced by `\uFFFD`.
/// Escapes are only looked for inside strings, and `\\u` is an escaped backslash, not an
/// escape.
fn replace_lone_surrogates(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut chars = json.char_indices().peekable();
    let mut in_string = false;
    while let Some((at, c)) = chars.next() {
        out.push(c);
        match c {
            '"' => in_string = !in_string,
            '\\' if in_string => {
                let Some(&(_, next)) = chars.peek() else {
                    break;
                };
                if next != 'u' {
                    out.push(next);
                    chars.next();
                    continue;
                }
                let unit = hex_unit(json, at + 2);
                let low_follows = json
                    .get(at + 6..at + 8)
                    .is_some_and(|escape| escape == "\\u")
                    && hex_unit(json, at + 8).is_some_and(|u| (0xDC00..0xE000).contains(&u));
                match unit {
                    Some(0xD800..=0xDBFF) if low_follows => {
                        // A whole pair: copied as it is, both escapes.
                        out.push_str(&json[at + 1..at + 12]);
                        skip(&mut chars, 11);
                    }
                    Some(0xD800..=0xDFFF) => {
                        out.push_str("uFFFD");
                        skip(&mut chars, 5);
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    out
}

/// The value of the four hex digits at byte `at` of `json`, if there are four.
fn hex_unit(json: &str, at: usize) -> Option<u32> {
    let digits = json.get(at..at + 4)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

fn skip(chars: &mut impl Iterator, count: usize) {
    for _ in 0..count {
        chars.next();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_surrogates_are_replaced_and_pairs_kept() {
        assert_eq!(
            replace_lone_surrogates(r#"{"a":"x\ud800y\udc00\ud83d\ude80\\ud800"}"#),
            r#"{"a":"x\uFFFDy\uFFFD\ud83d\ude80\\ud800"}"#
        );
    }

    #[test]
    fn bodies_are_forwarded_repaired_or_answered() {
        let ok = br#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#;
        assert!(matches!(judge(ok), Verdict::Forward(_)));
        assert_eq!(
            judge(b"not json"),
            Verdict::Answer(error(Value::Null, PARSE_ERROR, "Parse error"))
        );
        let Verdict::Answer(answer) = judge(br#"{"jsonrpc":"1.0","id":"x","method":"m"}"#) else {
            panic!("an invalid request is answered");
        };
        assert_eq!(answer["id"], "x");
        assert_eq!(answer["error"]["code"], INVALID_REQUEST);
        assert_eq!(judge(br#"{"jsonrpc":"1.0","method":"m"}"#), Verdict::Drop);
        let Verdict::Forward(repaired) =
            judge(b"{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":\"\xff\\udc00\"}")
        else {
            panic!("repaired");
        };
        assert_eq!(
            serde_json::from_slice::<Value>(&repaired).expect("json")["params"],
            "\u{FFFD}\u{FFFD}"
        );
    }
}
