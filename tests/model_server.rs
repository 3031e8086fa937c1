//! A scripted model server for the agent tests: it speaks the Anthropic Messages API on
//! 127.0.0.1 (JSON, or SSE streaming when the request asks for it), so the real Claude Code CLI
//! runs against it as against the real service.
//!
//! A script is a list of rules. A request that offers tools (a session's turn) is answered by
//! the first rule whose `when` text appears in the request's first message (where the CLI puts
//! the prompt) and whose `unless` text does not; the rule's reply is its step number N, where N
//! is how many assistant turns the conversation already has. Requests without tools (the CLI's
//! own side requests, such as a session title) get a short text. Every request is kept, for the
//! tests to read.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One scripted assistant turn.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A final text message.
    Text(String),
    /// Tool calls (name, input), all in one turn.
    Tools(Vec<(String, Value)>),
    /// An HTTP error with this status and message.
    Error(u16, String),
    /// HTTP 429 `rate_limit_error`, with no time to wait.
    RateLimited,
    /// HTTP 529 `overloaded_error`.
    Overloaded,
    /// HTTP 429 for an account whose usage limit is reached, with the headers that say so
    /// and that it resets this many seconds after the reply.
    UsageLimit(i64),
    /// The replies of the queue, one a request (across sessions), then the last one always.
    Queue(Arc<Mutex<std::collections::VecDeque<Reply>>>, Box<Reply>),
}

impl Reply {
    /// A turn that calls one tool.
    pub fn tool(name: &str, input: Value) -> Reply {
        Reply::Tools(vec![(name.to_string(), input)])
    }

    /// A final text message.
    pub fn text(text: &str) -> Reply {
        Reply::Text(text.to_string())
    }

    /// The reply itself, or for a queue its next reply.
    pub fn next(self) -> Reply {
        match self {
            Reply::Queue(queue, then) => queue.lock().expect("queue").pop_front().unwrap_or(*then),
            reply => reply,
        }
    }

    /// A queue of `replies`, one a request (across sessions), then `then` always.
    pub fn queue(replies: Vec<Reply>, then: Reply) -> Reply {
        Reply::Queue(
            Arc::new(Mutex::new(replies.into_iter().collect())),
            Box::new(then),
        )
    }
}

/// Seconds since the epoch, for the reset times the servers announce.
pub fn unix_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Which conversation a rule answers, and its turns.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Text the first message must contain.
    pub when: String,
    /// Text it must not contain.
    pub unless: Option<String>,
    /// The reply for each turn; past the end, the last one again.
    pub steps: Vec<Reply>,
}

impl Rule {
    /// A rule for prompts containing `when`.
    pub fn new(when: &str, steps: Vec<Reply>) -> Rule {
        Rule {
            when: when.to_string(),
            unless: None,
            steps,
        }
    }

    /// The same rule, not for prompts containing `text`.
    pub fn unless(mut self, text: &str) -> Rule {
        self.unless = Some(text.to_string());
        self
    }
}

/// A running server; it stops with the test process.
pub struct ModelServer {
    /// Its base URL, for `ANTHROPIC_BASE_URL`.
    pub url: String,
    requests: Arc<Mutex<Vec<Value>>>,
}

impl ModelServer {
    /// Starts a server that answers with `rules`.
    pub fn start(rules: Vec<Rule>) -> ModelServer {
        let (address, requests) = spawn_server(rules, serve);
        let url = format!("http://{address}");
        ModelServer { url, requests }
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

/// Answers one connection with the script, keeping what the test will read of the request.
pub type Serve<Script, Kept> = fn(TcpStream, &[Script], &Mutex<Vec<Kept>>) -> std::io::Result<()>;

/// Accepts connections on a free port of 127.0.0.1 and answers each on its own thread with
/// `serve`, which gets the script and the log of requests the test reads later. Returns the
/// address and that log.
pub fn spawn_server<Script, Kept>(
    script: Vec<Script>,
    serve: Serve<Script, Kept>,
) -> (SocketAddr, Arc<Mutex<Vec<Kept>>>)
where
    Script: Send + Sync + 'static,
    Kept: Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a scripted server");
    let address = listener.local_addr().expect("its address");
    let requests = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&requests);
    let script = Arc::new(script);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let script = Arc::clone(&script);
            let kept = Arc::clone(&kept);
            std::thread::spawn(move || {
                let _ = serve(stream, &script, &kept);
            });
        }
    });
    (address, requests)
}

/// Whether a request offers the model tools: a session's turn, not a CLI's side request.
pub fn offers_tools(request: &Value) -> bool {
    request["tools"].as_array().is_some_and(|t| !t.is_empty())
}

/// One HTTP request: its request line (`POST /v1/messages HTTP/1.1`) and its body.
pub struct HttpRequest {
    pub line: String,
    pub body: Vec<u8>,
}

/// Reads one HTTP/1.1 request from `stream`: the line, the headers (only the body's length and
/// encoding matter here) and the body, plain or chunked.
pub fn read_request(stream: &TcpStream) -> std::io::Result<HttpRequest> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut length = 0usize;
    let mut chunked = false;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
        let lower = header.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    let body = if chunked {
        read_chunked(&mut reader)?
    } else {
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        body
    };
    Ok(HttpRequest { line, body })
}

/// Answers one connection's request, then closes it.
fn serve(stream: TcpStream, rules: &[Rule], kept: &Mutex<Vec<Value>>) -> std::io::Result<()> {
    let HttpRequest {
        line: request_line,
        body,
    } = read_request(&stream)?;
    let mut out = stream;
    if !request_line.starts_with("POST") {
        return write_response(&mut out, 200, "application/json", b"{}");
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    kept.lock().expect("requests").push(request.clone());
    if request_line.contains("count_tokens") {
        return write_response(
            &mut out,
            200,
            "application/json",
            br#"{"input_tokens":100}"#,
        );
    }
    let reply = if offers_tools(&request) {
        choose(rules, &request)
    } else {
        Reply::text("Scripted session")
    };
    let model = request["model"].as_str().unwrap_or("claude-sonnet-4-5");
    let reply = reply.next();
    let (content, stop) = match reply {
        Reply::RateLimited | Reply::Overloaded | Reply::UsageLimit(_) => {
            return write_limit(&mut out, &reply)
        }
        Reply::Queue(..) => (vec![json!({"type": "text", "text": "queue in a queue"})], "end_turn"),
        Reply::Error(status, message) => {
            let error = json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}});
            return write_response(&mut out, status, "application/json", error.to_string().as_bytes());
        }
        Reply::Text(text) => (vec![json!({"type": "text", "text": text})], "end_turn"),
        Reply::Tools(calls) => (
            calls
                .into_iter()
                .enumerate()
                .map(|(n, (name, input))| {
                    json!({"type": "tool_use", "id": format!("toolu_{:08}", fastrand_id() + n as u64), "name": name, "input": input})
                })
                .collect(),
            "tool_use",
        ),
    };
    let usage = json!({"input_tokens": 120, "output_tokens": 30});
    if request["stream"].as_bool() == Some(true) {
        let body = sse(model, &content, stop, &usage);
        write_response(&mut out, 200, "text/event-stream", body.as_bytes())
    } else {
        let message = json!({
            "id": format!("msg_{}", fastrand_id()), "type": "message", "role": "assistant",
            "model": model, "content": content, "stop_reason": stop, "stop_sequence": null,
            "usage": usage,
        });
        write_response(
            &mut out,
            200,
            "application/json",
            message.to_string().as_bytes(),
        )
    }
}

/// The reply the script gives `request`.
fn choose(rules: &[Rule], request: &Value) -> Reply {
    let messages = request["messages"].as_array().cloned().unwrap_or_default();
    let first = messages.first().map(Value::to_string).unwrap_or_default();
    let turns = messages.iter().filter(|m| m["role"] == "assistant").count();
    scripted(rules, &first, turns)
}

/// The reply of the first rule that matches `prompt`, for the conversation's step `turns` (how
/// many model turns it already has); each server finds both in its own API's request.
pub fn scripted(rules: &[Rule], prompt: &str, turns: usize) -> Reply {
    let rule = rules.iter().find(|rule| {
        prompt.contains(&rule.when)
            && rule
                .unless
                .as_ref()
                .is_none_or(|unless| !prompt.contains(unless))
    });
    match rule {
        Some(rule) => rule
            .steps
            .get(turns)
            .or(rule.steps.last())
            .cloned()
            .unwrap_or_else(|| Reply::text("done")),
        None => Reply::text("No scripted reply matches this prompt."),
    }
}

/// The SSE events of one streamed message.
fn sse(model: &str, content: &[Value], stop: &str, usage: &Value) -> String {
    let mut events = vec![(
        "message_start",
        json!({"type": "message_start", "message": {
            "id": format!("msg_{}", fastrand_id()), "type": "message", "role": "assistant",
            "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": usage["input_tokens"], "output_tokens": 1}}}),
    )];
    for (index, block) in content.iter().enumerate() {
        if block["type"] == "text" {
            events.push(("content_block_start", json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})));
            events.push(("content_block_delta", json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": block["text"]}})));
        } else {
            events.push(("content_block_start", json!({"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}})));
            events.push(("content_block_delta", json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": block["input"].to_string()}})));
        }
        events.push((
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
    }
    events.push(("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": usage["output_tokens"]}})));
    events.push(("message_stop", json!({"type": "message_stop"})));
    events
        .into_iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}

/// Writes the response of a provider's limit, as the Anthropic API does: the error body, and
/// for a usage limit the `anthropic-ratelimit-unified-*` headers with its reset time.
fn write_limit(out: &mut TcpStream, reply: &Reply) -> std::io::Result<()> {
    let (status, kind, message) = match reply {
        Reply::Overloaded => (529, "overloaded_error", "Overloaded"),
        Reply::UsageLimit(_) => (429, "rate_limit_error", "usage limit reached"),
        _ => (
            429,
            "rate_limit_error",
            "Number of requests has exceeded your rate limit",
        ),
    };
    let mut headers = String::new();
    if let Reply::UsageLimit(seconds) = reply {
        let reset = unix_seconds() + seconds;
        headers = format!(
            "anthropic-ratelimit-unified-status: rejected\r\n\
             anthropic-ratelimit-unified-reset: {reset}\r\n\
             anthropic-ratelimit-unified-representative-claim: five_hour\r\n\
             anthropic-ratelimit-unified-5h-status: rejected\r\n\
             anthropic-ratelimit-unified-5h-reset: {reset}\r\n"
        );
    }
    let body = json!({"type": "error", "error": {"type": kind, "message": message}}).to_string();
    write_response_with(out, status, "application/json", &headers, body.as_bytes())
}

/// Writes one whole response and ends the connection.
pub fn write_response(
    out: &mut TcpStream,
    status: u16,
    kind: &str,
    body: &[u8],
) -> std::io::Result<()> {
    write_response_with(out, status, kind, "", body)
}

/// [`write_response`] with more header lines (each ending in CRLF).
pub fn write_response_with(
    out: &mut TcpStream,
    status: u16,
    kind: &str,
    headers: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: {kind}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n",
        if status == 200 { "OK" } else { "Error" },
        body.len()
    );
    out.write_all(head.as_bytes())?;
    out.write_all(body)?;
    out.flush()
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size)?;
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk)?;
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

/// A number that differs between calls, for message and tool ids.
pub fn fastrand_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(100, Ordering::Relaxed)
}
