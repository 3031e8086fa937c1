//! A scripted OpenAI Responses API server for the agent tests: it answers `POST /v1/responses`
//! on 127.0.0.1 with a server-sent event stream, so the real Codex CLI runs against it as
//! against the real service.
//!
//! It follows the same scripts as the Anthropic server (tests/model_server.rs): the first rule
//! whose `when` text appears in the request's user messages (where the CLI puts the prompt)
//! answers, with its step N, where N is how many model turns (assistant messages and function
//! calls) the request's input already has. A tool call becomes a `function_call` item whose
//! arguments are the tool's input, so the CLI runs its own tool and sends the output back in the
//! next request. Every request is kept, for the tests to read.

use crate::model_server::{
    fastrand_id, read_request, scripted, spawn_server, unix_seconds, write_response,
    write_response_with, Reply, Rule,
};
use serde_json::{json, Value};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

/// Input tokens each scripted response reports, of which [`CACHED_TOKENS`] were cached.
pub const INPUT_TOKENS: u64 = 120;
/// Cached input tokens each response reports (part of [`INPUT_TOKENS`]).
pub const CACHED_TOKENS: u64 = 20;
/// Output tokens each response reports.
pub const OUTPUT_TOKENS: u64 = 30;

/// A running server; it stops with the test process.
pub struct OpenAiServer {
    /// Its base URL, ending in `/v1`, for a model provider's `base_url`.
    pub url: String,
    requests: Arc<Mutex<Vec<Value>>>,
}

impl OpenAiServer {
    /// Starts a server that answers with `rules`.
    pub fn start(rules: Vec<Rule>) -> OpenAiServer {
        let (address, requests) = spawn_server(rules, serve);
        let url = format!("http://{address}/v1");
        OpenAiServer { url, requests }
    }

    /// The Responses requests received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().expect("requests").clone()
    }
}

/// The text of a request's user messages, where the rules look for their `when`.
pub fn user_text(request: &Value) -> String {
    request["input"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| item["type"] == "message" && item["role"] == "user")
        .map(|item| item["content"].to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// How many model turns a request's input already holds.
fn turns(request: &Value) -> usize {
    request["input"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| {
            item["type"] == "function_call"
                || (item["type"] == "message" && item["role"] == "assistant")
        })
        .count()
}

/// Answers one connection's request, then closes it.
fn serve(stream: TcpStream, rules: &[Rule], kept: &Mutex<Vec<Value>>) -> std::io::Result<()> {
    let request = read_request(&stream)?;
    let mut out = stream;
    if !request.line.starts_with("POST") || !request.line.contains("/responses") {
        let error = json!({"error": {"message": "not found", "type": "invalid_request_error"}});
        return write_response(
            &mut out,
            404,
            "application/json",
            error.to_string().as_bytes(),
        );
    }
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    kept.lock().expect("requests").push(body.clone());
    let reply = scripted(rules, &user_text(&body), turns(&body)).next();
    let output: Vec<Value> = match reply {
        Reply::RateLimited | Reply::Overloaded | Reply::UsageLimit(_) | Reply::Queue(..) => {
            return write_limit(&mut out, &reply)
        }
        Reply::Error(status, message) => {
            let error = json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": "scripted_error"}});
            return write_response(
                &mut out,
                status,
                "application/json",
                error.to_string().as_bytes(),
            );
        }
        Reply::Text(text) => vec![json!({
            "type": "message", "id": format!("msg_{}", fastrand_id()), "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        })],
        Reply::Tools(calls) => calls
            .into_iter()
            .map(|(name, input)| {
                let id = fastrand_id();
                json!({
                    "type": "function_call", "id": format!("fc_{id}"), "call_id": format!("call_{id}"),
                    "name": name, "arguments": input.to_string(), "status": "completed",
                })
            })
            .collect(),
    };
    let body = sse(&body, &output);
    write_response(&mut out, 200, "text/event-stream", body.as_bytes())
}

/// Writes a provider's limit as OpenAI's APIs answer it: HTTP 429 `rate_limit_exceeded`
/// (with the wait in words), 503 `server_is_overloaded`, or 429 `usage_limit_reached` (a
/// ChatGPT plan's limit, with its reset time in seconds since the epoch). A
/// `retry-after-ms` of 10 makes the CLIs that retry by themselves (OpenCode, the OpenAI
/// client in Aider) retry at once, so a test does not wait for their backoff.
pub fn write_limit(out: &mut TcpStream, reply: &Reply) -> std::io::Result<()> {
    let (status, error) = match reply {
        Reply::Overloaded => (
            503,
            json!({"message": "The server is overloaded", "type": "server_error", "param": null, "code": "server_is_overloaded"}),
        ),
        Reply::UsageLimit(seconds) => (
            429,
            json!({"message": "The usage limit has been reached", "type": "usage_limit_reached",
                   "resets_at": unix_seconds() + seconds, "resets_in_seconds": seconds}),
        ),
        _ => (
            429,
            json!({"message": "Rate limit reached for requests. Please try again in 1s.", "type": "requests", "param": null, "code": "rate_limit_exceeded"}),
        ),
    };
    let body = json!({ "error": error }).to_string();
    write_response_with(
        out,
        status,
        "application/json",
        "retry-after-ms: 10\r\n",
        body.as_bytes(),
    )
}

/// The events of one streamed response: created, each output item done, completed with usage.
fn sse(request: &Value, output: &[Value]) -> String {
    let id = format!("resp_{}", fastrand_id());
    let model = request["model"].as_str().unwrap_or("gpt-5-codex");
    let mut events = vec![json!({
        "type": "response.created",
        "response": {"id": id, "object": "response", "model": model, "status": "in_progress", "output": []},
    })];
    for (index, item) in output.iter().enumerate() {
        events.push(
            json!({"type": "response.output_item.added", "output_index": index, "item": item}),
        );
        if item["type"] == "message" {
            events.push(json!({
                "type": "response.output_text.delta", "output_index": index, "content_index": 0,
                "item_id": item["id"], "delta": item["content"][0]["text"],
            }));
        }
        events.push(
            json!({"type": "response.output_item.done", "output_index": index, "item": item}),
        );
    }
    events.push(json!({
        "type": "response.completed",
        "response": {
            "id": id, "object": "response", "model": model, "status": "completed", "output": output,
            "usage": {
                "input_tokens": INPUT_TOKENS,
                "input_tokens_details": {"cached_tokens": CACHED_TOKENS},
                "output_tokens": OUTPUT_TOKENS,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS,
            },
        },
    }));
    events
        .into_iter()
        .map(|event| {
            format!(
                "event: {}\ndata: {event}\n\n",
                event["type"].as_str().unwrap_or("")
            )
        })
        .collect()
}
