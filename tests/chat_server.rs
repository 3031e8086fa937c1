//! A scripted OpenAI Chat Completions server for the agent tests: it answers
//! `POST /v1/chat/completions` on 127.0.0.1 with a server-sent event stream, the API that
//! OpenAI-compatible providers speak, so the real OpenCode CLI runs against it as against a
//! real provider.
//!
//! It follows the same scripts as the Anthropic server (tests/model_server.rs): the first rule
//! whose `when` text appears in the request's user messages answers, with its step N, where N is
//! how many assistant messages the conversation already has. A tool call becomes a streamed
//! `tool_calls` delta whose arguments are the tool's input, so the CLI runs its own tool and
//! sends the output back as a `tool` message. For a CLI whose sessions offer tools (OpenCode),
//! requests without tools are its own side requests (a session title) and get a short text;
//! for a CLI that edits files from the model's text and never offers tools (Aider), every
//! request follows the script. It streams when asked and answers with one JSON object
//! otherwise. Every request is kept.

use crate::model_server::{
    fastrand_id, offers_tools, read_request, scripted, spawn_server, write_response, Reply, Rule,
    Serve,
};
use serde_json::{json, Value};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

/// Prompt tokens each scripted response reports.
pub const PROMPT_TOKENS: u64 = 150;
/// Completion tokens each scripted response reports.
pub const COMPLETION_TOKENS: u64 = 25;

/// A running server; it stops with the test process.
pub struct ChatServer {
    /// Its base URL, ending in `/v1`, for a provider's `baseURL`.
    pub url: String,
    requests: Arc<Mutex<Vec<Value>>>,
}

impl ChatServer {
    /// Starts a server whose `rules` answer the requests that offer tools.
    pub fn start(rules: Vec<Rule>) -> ChatServer {
        ChatServer::listen(rules, serve_sessions)
    }

    /// Starts a server whose `rules` answer every request, for CLIs that offer no tools.
    pub fn start_for_text_edits(rules: Vec<Rule>) -> ChatServer {
        ChatServer::listen(rules, serve_all)
    }

    fn listen(rules: Vec<Rule>, serve: Serve<Rule, Value>) -> ChatServer {
        let (address, requests) = spawn_server(rules, serve);
        let url = format!("http://{address}/v1");
        ChatServer { url, requests }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().expect("requests").clone()
    }

    /// The session requests (with tools) received so far.
    pub fn session_requests(&self) -> Vec<Value> {
        self.requests
            .lock()
            .expect("requests")
            .iter()
            .filter(|r| offers_tools(r))
            .cloned()
            .collect()
    }
}

/// The text of a request's user messages, where the rules look for their `when`.
pub fn user_text(request: &Value) -> String {
    messages(request, "user")
        .map(|m| m["content"].to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The messages of `role` in a request.
pub fn messages<'r>(request: &'r Value, role: &'r str) -> impl Iterator<Item = &'r Value> + 'r {
    request["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |m| m["role"] == role)
}

fn serve_sessions(
    stream: TcpStream,
    rules: &[Rule],
    kept: &Mutex<Vec<Value>>,
) -> std::io::Result<()> {
    serve(stream, rules, kept, true)
}

fn serve_all(stream: TcpStream, rules: &[Rule], kept: &Mutex<Vec<Value>>) -> std::io::Result<()> {
    serve(stream, rules, kept, false)
}

/// Answers one connection's request, then closes it; with `sessions_offer_tools`, a request
/// without tools gets a short text instead of the script's reply.
fn serve(
    stream: TcpStream,
    rules: &[Rule],
    kept: &Mutex<Vec<Value>>,
    sessions_offer_tools: bool,
) -> std::io::Result<()> {
    let request = read_request(&stream)?;
    let mut out = stream;
    if !request.line.starts_with("POST") || !request.line.contains("/chat/completions") {
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
    let reply = if offers_tools(&body) || !sessions_offer_tools {
        scripted(
            rules,
            &user_text(&body),
            messages(&body, "assistant").count(),
        )
    } else {
        Reply::text("Scripted session")
    };
    let delta = match reply.next() {
        reply @ (Reply::RateLimited
        | Reply::Overloaded
        | Reply::UsageLimit(_)
        | Reply::Queue(..)) => return crate::openai_server::write_limit(&mut out, &reply),
        Reply::Error(status, message) => {
            let error = json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": "scripted_error"}});
            return write_response(
                &mut out,
                status,
                "application/json",
                error.to_string().as_bytes(),
            );
        }
        Reply::Text(text) => (json!({"role": "assistant", "content": text}), "stop"),
        Reply::Tools(calls) => {
            let calls: Vec<Value> = calls
                .into_iter()
                .enumerate()
                .map(|(index, (name, input))| {
                    json!({"index": index, "id": format!("call_{}", fastrand_id()), "type": "function",
                           "function": {"name": name, "arguments": input.to_string()}})
                })
                .collect();
            (
                json!({"role": "assistant", "tool_calls": calls}),
                "tool_calls",
            )
        }
    };
    let model = body["model"].as_str().unwrap_or("scripted");
    let id = format!("chatcmpl-{}", fastrand_id());
    let chunks = [
        json!({"id": id, "object": "chat.completion.chunk", "created": 1, "model": model,
               "choices": [{"index": 0, "delta": delta.0, "finish_reason": null}]}),
        json!({"id": id, "object": "chat.completion.chunk", "created": 1, "model": model,
               "choices": [{"index": 0, "delta": {}, "finish_reason": delta.1}],
               "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
                         "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}}),
    ];
    if body["stream"].as_bool() != Some(true) {
        let (message, finish) = (
            &chunks[0]["choices"][0]["delta"],
            &chunks[1]["choices"][0]["finish_reason"],
        );
        let whole = json!({"id": id, "object": "chat.completion", "created": 1, "model": model,
                           "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                           "usage": chunks[1]["usage"]});
        return write_response(
            &mut out,
            200,
            "application/json",
            whole.to_string().as_bytes(),
        );
    }
    let mut text: String = chunks.iter().map(|c| format!("data: {c}\n\n")).collect();
    text.push_str("data: [DONE]\n\n");
    write_response(&mut out, 200, "text/event-stream", text.as_bytes())
}
