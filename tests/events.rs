//! Event sinks: JSON lines, HTTP to a real local server, a stalled endpoint that must not
//! stall the engine, and secrets redacted before any sink sees them.

use crate::support::TempDir;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wfc::events::{Event, EventBus, EventKind, EventSink, HttpSink, JsonlSink, Redactor};

const SECRET: &str = "s3cr3t-token-9f2c";

fn event(i: usize) -> Event {
    Event {
        at: 1_000 + i as i64,
        run: "r1".into(),
        kind: EventKind::TaskOutput,
        task: Some("build".into()),
        data: serde_json::json!({ "line": format!("{i}: using {SECRET}"), "i": i }),
    }
}

#[test]
fn jsonl_gets_one_redacted_line_per_event() {
    let dir = TempDir::new("wfc-events-jsonl");
    let path = dir.path().join("nested/events.jsonl");
    let sink: Arc<dyn EventSink> = Arc::new(JsonlSink::open(&path).expect("open"));
    let bus = EventBus::new(Redactor::new([SECRET.to_string()]), vec![sink]);
    for i in 0..100 {
        bus.emit(event(i));
    }
    let text = std::fs::read_to_string(&path).expect("events written");
    assert!(!text.contains(SECRET), "a secret reached the event file");
    let events: Vec<Event> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(events.len(), 100);
    assert_eq!(events[7].data["line"], "7: using [redacted]");
    assert_eq!(events[7].kind, EventKind::TaskOutput);
}

#[test]
fn jsonl_refuses_a_path_it_cannot_write() {
    let dir = TempDir::new("wfc-events-bad");
    let file = dir.write("plain-file", "x");
    let error = JsonlSink::open(&file.join("events.jsonl"))
        .err()
        .expect("a file is in the way");
    assert!(error.contains("plain-file"), "{error}");
}

/// A local HTTP server that answers every POST with 200 and counts the events it got.
fn server(delay: Duration) -> (String, Arc<AtomicUsize>, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/events", listener.local_addr().expect("address"));
    let count = Arc::new(AtomicUsize::new(0));
    let bodies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (c, b) = (Arc::clone(&count), Arc::clone(&bodies));
    std::thread::spawn(move || {
        for stream in listener.incoming().take(10_000) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut length = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            std::thread::sleep(delay);
            b.lock()
                .expect("lock")
                .push(String::from_utf8_lossy(&body).into_owned());
            c.fetch_add(1, Ordering::SeqCst);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        }
    });
    (url, count, bodies)
}

#[test]
fn http_posts_every_event_as_redacted_json() {
    let (url, count, bodies) = server(Duration::ZERO);
    let sink = Arc::new(HttpSink::new(&url).expect("sink"));
    let bus = EventBus::new(
        Redactor::new([SECRET.to_string()]),
        vec![sink.clone() as Arc<dyn EventSink>],
    );
    for i in 0..50 {
        bus.emit(event(i));
    }
    bus.flush(Duration::from_secs(10));
    assert_eq!(count.load(Ordering::SeqCst), 50);
    assert_eq!((sink.dropped(), sink.failed()), (0, 0));
    let bodies = bodies.lock().expect("lock");
    let first: Event = serde_json::from_str(&bodies[0]).expect("JSON body");
    assert_eq!(first.run, "r1");
    assert!(
        bodies.iter().all(|b| !b.contains(SECRET)),
        "a secret was posted"
    );
}

#[test]
fn a_stalled_endpoint_never_blocks_emit() {
    // The server takes a whole second per event: far slower than the engine emits.
    let (url, _count, _bodies) = server(Duration::from_secs(1));
    let sink = HttpSink::new(&url).expect("sink");
    let mut slowest = Duration::ZERO;
    for i in 0..(wfc::events::http_queue_capacity() * 3) {
        let started = Instant::now();
        sink.emit(&event(i));
        slowest = slowest.max(started.elapsed());
    }
    // Emitting is a queue push: it returns at once even though delivery is stuck.
    assert!(
        slowest < Duration::from_millis(200),
        "emit waited {slowest:?}"
    );
    assert!(
        sink.dropped() > 0,
        "a full queue drops events instead of waiting"
    );
}

#[test]
fn a_dead_endpoint_is_counted_not_fatal() {
    // Bind and drop a listener to find a port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port();
    let sink = HttpSink::new(&format!("http://127.0.0.1:{port}/x")).expect("sink");
    for i in 0..5 {
        sink.emit(&event(i));
    }
    sink.flush(Duration::from_secs(10));
    assert_eq!(sink.failed(), 5);
    assert!(
        HttpSink::new("https://example.invalid/").is_err(),
        "https is refused with a message"
    );
}
