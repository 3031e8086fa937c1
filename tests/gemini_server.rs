//! A scripted Gemini API server for the agent tests: it answers
//! `POST /v1beta/models/M:streamGenerateContent?alt=sse` (server-sent events) and
//! `:generateContent` (JSON) on 127.0.0.1, so the real Gemini CLI runs against it as against the
//! real service (`GOOGLE_GEMINI_BASE_URL`).
//!
//! It follows the same scripts as the Anthropic server (tests/model_server.rs): the first rule
//! whose `when` text appears in the request's user turns (where the CLI puts the prompt)
//! answers, with its step N, where N is how many `model` turns the request's contents already
//! have. A tool call becomes a `functionCall` part whose args are the tool's input, so the CLI
//! runs its own tool and sends a `functionResponse` in the next request. Every request is kept,
//! for the tests to read.

use crate::model_server::{read_request, scripted, spawn_server, write_response, Reply, Rule};
use serde_json::{json, Value};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

/// Prompt tokens each scripted response reports.
pub const PROMPT_TOKENS: u64 = 120;
/// Candidate (output) tokens each response reports.
pub const CANDIDATE_TOKENS: u64 = 30;

/// A running server; it stops with the test process.
pub struct GeminiServer {
    /// Its base URL, for `GOOGLE_GEMINI_BASE_URL`.
    pub url: String,
    requests: Arc<Mutex<Vec<(String, Value)>>>,
}

impl GeminiServer {
    /// Starts a server that answers with `rules`.
    pub fn start(rules: Vec<Rule>) -> GeminiServer {
        let (address, requests) = spawn_server(rules, serve);
        let url = format!("http://{address}");
        GeminiServer { url, requests }
    }

    /// The requests received so far: each one's path and body.
    pub fn requests(&self) -> Vec<(String, Value)> {
        self.requests.lock().expect("requests").clone()
    }
}

/// The text of a request's user turns, where the rules look for their `when`.
fn user_text(request: &Value) -> String {
    request["contents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|turn| turn["role"] == "user")
        .flat_map(|turn| turn["parts"].as_array().into_iter().flatten())
        .filter_map(|part| part["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The error of a provider's limit as the Gemini API answers it: HTTP 429
/// `RESOURCE_EXHAUSTED` for a per-minute quota (with a `RetryInfo` of a second: the CLI's
/// `RetryableQuotaError`) or, for a usage limit, a per-day quota (its `TerminalQuotaError`);
/// 503 `UNAVAILABLE` for an overloaded model.
fn limit_error(reply: &Reply) -> Value {
    let quota = |per: &str| {
        json!({"code": 429, "status": "RESOURCE_EXHAUSTED",
               "message": "You exceeded your current quota, please check your plan and billing details.",
               "details": [
                   {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
                       "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                       "quotaId": format!("GenerateRequestsPer{per}PerProjectPerModel-FreeTier")}]},
                   {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}]})
    };
    match reply {
        Reply::Overloaded => json!({"code": 503, "status": "UNAVAILABLE",
                                    "message": "The model is overloaded. Please try again later."}),
        Reply::UsageLimit(_) => quota("Day"),
        _ => quota("Minute"),
    }
}

/// Answers one connection's request, then closes it.
fn serve(
    stream: TcpStream,
    rules: &[Rule],
    kept: &Mutex<Vec<(String, Value)>>,
) -> std::io::Result<()> {
    let request = read_request(&stream)?;
    let mut out = stream;
    let path = request
        .line
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_string();
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    kept.lock()
        .expect("requests")
        .push((path.clone(), body.clone()));
    if path.contains(":countTokens") {
        let count = json!({"totalTokens": PROMPT_TOKENS});
        return write_response(
            &mut out,
            200,
            "application/json",
            count.to_string().as_bytes(),
        );
    }
    if !path.contains(":streamGenerateContent") && !path.contains(":generateContent") {
        let error = json!({"error": {"code": 404, "message": format!("no such method: {path}"), "status": "NOT_FOUND"}});
        return write_response(
            &mut out,
            404,
            "application/json",
            error.to_string().as_bytes(),
        );
    }
    let turns = body["contents"]
        .as_array()
        .map(|contents| contents.iter().filter(|c| c["role"] == "model").count())
        .unwrap_or(0);
    let parts: Vec<Value> = match scripted(rules, &user_text(&body), turns).next() {
        reply @ (Reply::RateLimited
        | Reply::Overloaded
        | Reply::UsageLimit(_)
        | Reply::Queue(..)) => {
            let error = limit_error(&reply);
            return write_response(
                &mut out,
                error["code"].as_u64().unwrap_or(429) as u16,
                "application/json",
                json!({ "error": error }).to_string().as_bytes(),
            );
        }
        Reply::Error(status, message) => {
            let error = json!({"error": {"code": status, "message": message, "status": "INVALID_ARGUMENT"}});
            return write_response(
                &mut out,
                status,
                "application/json",
                error.to_string().as_bytes(),
            );
        }
        Reply::Text(text) => vec![json!({"text": text})],
        Reply::Tools(calls) => calls
            .into_iter()
            .map(|(name, args)| json!({"functionCall": {"name": name, "args": args}}))
            .collect(),
    };
    let model = path
        .split("/models/")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .unwrap_or("gemini-2.5-pro");
    let response = json!({
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {
            "promptTokenCount": PROMPT_TOKENS,
            "candidatesTokenCount": CANDIDATE_TOKENS,
            "totalTokenCount": PROMPT_TOKENS + CANDIDATE_TOKENS,
        },
        "modelVersion": model,
    });
    if path.contains("alt=sse") {
        let body = format!("data: {response}\r\n\r\n");
        write_response(&mut out, 200, "text/event-stream", body.as_bytes())
    } else {
        write_response(
            &mut out,
            200,
            "application/json",
            response.to_string().as_bytes(),
        )
    }
}
