//! A small LSP client for the tests: it starts the real `wfc-lsp` binary and speaks JSON-RPC
//! to it over its standard input and output, with `Content-Length` framing.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long any one answer may take before a test fails; generous, since the machine
/// running the tests may be busy compiling.
const PATIENCE: Duration = Duration::from_secs(30);

/// The folder of the test fixtures.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The text of a fixture.
pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).expect("the fixture exists")
}

/// A `file://` URI for a path.
pub fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The LSP position (UTF-16 columns) of the start of the `nth` (0-based) occurrence of
/// `needle` in `text`, plus `shift` characters.
pub fn position(text: &str, needle: &str, nth: usize, shift: usize) -> Value {
    let (at, _) = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("`{needle}` occurs {} times", nth + 1));
    let at = at
        + needle[..]
            .chars()
            .take(shift)
            .map(char::len_utf8)
            .sum::<usize>();
    position_of_offset(text, at)
}

/// The LSP position of a byte offset, counted independently of the server's code.
pub fn position_of_offset(text: &str, offset: usize) -> Value {
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let character: usize = before[line_start..].encode_utf16().count();
    json!({ "line": line, "character": character })
}

/// The LSP range of the `nth` occurrence of `needle`.
pub fn range(text: &str, needle: &str, nth: usize) -> Value {
    word_range(text, needle, nth, needle)
}

/// A running server.
pub struct Server {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    /// Notifications that arrived while waiting for something else.
    notifications: Vec<Value>,
    next_id: i64,
    cache: TempDir,
}

impl Server {
    /// Starts the server and initializes it.
    pub fn start() -> Server {
        let cache = TempDir::new("wfc-lsp-cache");
        let log = std::fs::File::create(cache.path().join("stderr.log")).expect("a log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_wfc-lsp"))
            .env("XDG_CACHE_HOME", cache.path())
            .env("WFC_LSP_TEST_HOOKS", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("wfc-lsp starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, messages) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                if sender.send(message).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child,
            stdin,
            messages,
            notifications: Vec::new(),
            next_id: 0,
            cache,
        };
        let capabilities = server.request(
            "initialize",
            json!({ "processId": null, "rootUri": null, "capabilities": {} }),
        );
        assert_eq!(capabilities["serverInfo"]["name"], "wfc-lsp");
        server.notify("initialized", json!({}));
        server
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        self.stdin.flush().expect("flush");
    }

    /// Writes raw bytes to the server's standard input, framed or not.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).expect("write");
        self.stdin.flush().expect("flush");
    }

    /// The next request id [`Server::call`] will use; lets a test send a request by hand.
    pub fn reserve_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// Sends a notification.
    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Sends a request and returns its response: `Ok(result)` or `Err(error)`.
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        let deadline = Instant::now() + PATIENCE;
        loop {
            let message = self.receive(deadline);
            if message.get("id") == Some(&json!(id)) && message.get("method").is_none() {
                return match message.get("error") {
                    Some(error) => Err(error.clone()),
                    None => Ok(message["result"].clone()),
                };
            }
            self.notifications.push(message);
        }
    }

    /// Sends many requests at once, without waiting between them as an editor does while
    /// the user types, and returns their responses in the order of `requests`.
    pub fn call_many(&mut self, requests: &[(&str, Value)]) -> Vec<Result<Value, Value>> {
        let first = self.next_id + 1;
        for (method, params) in requests {
            self.next_id += 1;
            let id = self.next_id;
            self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        }
        let mut answers: Vec<Option<Result<Value, Value>>> = vec![None; requests.len()];
        let mut missing = requests.len();
        let deadline = Instant::now() + PATIENCE;
        while missing > 0 {
            let message = self.receive(deadline);
            let slot = message
                .get("id")
                .and_then(Value::as_i64)
                .filter(|_| message.get("method").is_none())
                .and_then(|id| usize::try_from(id - first).ok())
                .filter(|at| *at < answers.len());
            match slot {
                Some(at) => {
                    answers[at] = Some(match message.get("error") {
                        Some(error) => Err(error.clone()),
                        None => Ok(message["result"].clone()),
                    });
                    missing -= 1;
                }
                None => self.notifications.push(message),
            }
        }
        answers.into_iter().flatten().collect()
    }

    /// Sends a request that must succeed and returns its result.
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        self.call(method, params)
            .unwrap_or_else(|error| panic!("{method} failed: {error}"))
    }

    fn receive(&mut self, deadline: Instant) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.messages.recv_timeout(left) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => panic!("no message from wfc-lsp in time"),
            Err(RecvTimeoutError::Disconnected) => panic!("wfc-lsp closed its output"),
        }
    }

    /// Opens a document with the given text, as version 1.
    pub fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "wf", "version": 1, "text": text } }),
        );
    }

    /// Replaces a document's whole text.
    pub fn replace(&mut self, uri: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": uri, "version": version },
                "contentChanges": [{ "text": text }],
            }),
        );
    }

    /// Replaces `range` of a document with `text`.
    pub fn edit(&mut self, uri: &str, version: i64, range: Value, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": uri, "version": version },
                "contentChanges": [{ "range": range, "text": text }],
            }),
        );
    }

    /// Waits for the diagnostics of `uri` at `version` and returns them; diagnostics of
    /// earlier versions that arrive first are skipped.
    pub fn diagnostics(&mut self, uri: &str, version: i64) -> Vec<Value> {
        let deadline = Instant::now() + PATIENCE;
        let matches = |message: &Value| {
            message["method"] == "textDocument/publishDiagnostics"
                && message["params"]["uri"] == uri
                && message["params"]["version"] == version
        };
        loop {
            if let Some(at) = self.notifications.iter().position(matches) {
                let message = self.notifications.remove(at);
                return message["params"]["diagnostics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
            }
            let message = self.receive(deadline);
            self.notifications.push(message);
        }
    }

    /// Waits for a notification that `wanted` accepts and returns it.
    pub fn notification(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(at) = self.notifications.iter().position(&wanted) {
                return self.notifications.remove(at);
            }
            let message = self.receive(deadline);
            self.notifications.push(message);
        }
    }

    /// Every diagnostics notification received so far for `uri`, oldest first, removed
    /// from the queue.
    pub fn published(&mut self, uri: &str) -> Vec<Value> {
        let (mine, rest) = std::mem::take(&mut self.notifications)
            .into_iter()
            .partition(|m: &Value| {
                m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri
            });
        self.notifications = rest;
        mine
    }

    /// A request about a position in a document.
    pub fn at(&mut self, method: &str, uri: &str, position: Value) -> Value {
        self.request(
            method,
            json!({ "textDocument": { "uri": uri }, "position": position }),
        )
    }

    /// What the server wrote to its standard error so far: its log, and any panic message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.cache.path().join("stderr.log")).unwrap_or_default()
    }

    /// Asks the server to shut down and exit, as an editor does (leaving its standard input
    /// open), and returns how long the process took to end, if it did within `limit`.
    pub fn shut_down(&mut self, limit: Duration) -> Option<Duration> {
        self.request("shutdown", Value::Null);
        let started = Instant::now();
        self.notify("exit", Value::Null);
        while started.elapsed() < limit {
            if !self.is_running() {
                return Some(started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A polite shutdown when the server still answers; a kill otherwise.
        if self.is_running() && !std::thread::panicking() {
            let _ = self.call("shutdown", Value::Null);
            self.notify("exit", Value::Null);
            let deadline = Instant::now() + Duration::from_secs(5);
            while self.is_running() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads one framed message, or `None` at the end of the stream.
fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length:") {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// A fresh folder under the system's temporary folder, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Makes a new, empty folder whose name starts with `prefix`.
    pub fn new(prefix: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "{prefix}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let path = std::env::temp_dir().join(unique);
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("temporary folder");
        TempDir(path)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `text` to `name` inside the folder and returns the file's URI.
    pub fn write(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write a test file");
        uri(&path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // The stdlib cache files are read-only; removing the folder still works on Unix,
        // where only the folder's own permissions matter.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The feature fixture and its import, written to a fresh folder and opened. Returns the
/// server, the folder, the feature file's URI and its text.
pub fn open_feature() -> (Server, TempDir, String, String) {
    let folder = TempDir::new("wfc-lsp-feature");
    let text = fixture("feature.wf");
    let uri = folder.write("feature.wf", &text);
    folder.write("common.wf", &fixture("common.wf"));
    let mut server = Server::start();
    server.open(&uri, &text);
    assert_eq!(
        server.diagnostics(&uri, 1),
        Vec::<Value>::new(),
        "the fixture is clean"
    );
    (server, folder, uri, text)
}

/// The range of `word` inside the `nth` occurrence of `context`, such as `design` in
/// `after design`.
pub fn word_range(text: &str, context: &str, nth: usize, word: &str) -> Value {
    let (at, _) = text
        .match_indices(context)
        .nth(nth)
        .unwrap_or_else(|| panic!("`{context}` occurs {} times", nth + 1));
    let start = at + context.find(word).expect("the word is in its context");
    json!({
        "start": position_of_offset(text, start),
        "end": position_of_offset(text, start + word.len()),
    })
}

/// The byte offset of an LSP position in `text`, as a conforming client computes it: `\n`,
/// `\r\n` and `\r` end lines, and a column past a line's text is clamped to its end.
pub fn offset_of_position(text: &str, position: &Value) -> usize {
    let line = position["line"].as_u64().expect("line") as usize;
    let character = position["character"].as_u64().expect("character") as usize;
    let mut start = 0;
    for _ in 0..line {
        match text[start..].find(['\n', '\r']) {
            Some(at) => {
                let at = start + at;
                start = at + if text[at..].starts_with("\r\n") { 2 } else { 1 };
            }
            None => return text.len(),
        }
    }
    let end = text[start..]
        .find(['\n', '\r'])
        .map_or(text.len(), |at| start + at);
    let mut units = 0;
    for (at, c) in text[start..end].char_indices() {
        if units >= character {
            return start + at;
        }
        units += c.len_utf16();
    }
    end
}

/// Applies a list of LSP text edits to `text` as a conforming client does.
pub fn apply(text: &str, edits: &Value) -> String {
    let mut edits: Vec<(usize, usize, String)> = edits
        .as_array()
        .expect("edits")
        .iter()
        .map(|e| {
            (
                offset_of_position(text, &e["range"]["start"]),
                offset_of_position(text, &e["range"]["end"]),
                e["newText"].as_str().expect("new text").to_string(),
            )
        })
        .collect();
    edits.sort_by_key(|(start, _, _)| std::cmp::Reverse(*start));
    let mut text = text.to_string();
    for (start, end, new) in edits {
        text.replace_range(start..end, &new);
    }
    text
}
