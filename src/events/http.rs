//! `--events http://HOST:PORT/PATH`: each event POSTed as JSON by a background thread, from
//! a bounded queue, so a slow or dead endpoint never stalls the engine: when the queue is full
//! events are dropped and counted, and a warning says how many.

use super::{Event, EventSink};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many events wait for delivery before new ones are dropped.
pub const QUEUE_CAPACITY: usize = 1024;

/// How long one POST may take before it is abandoned.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Where to POST: `http://HOST:PORT/PATH` (plain HTTP/1.1; the endpoint is usually local).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or address.
    pub host: String,
    /// Port, 80 unless given.
    pub port: u16,
    /// Path with query, `/` unless given.
    pub path: String,
}

impl Endpoint {
    /// Parses `http://HOST[:PORT][/PATH]`.
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("`{url}` is not an http:// address (https is not supported; put a local relay in front)"))?;
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse::<u16>()
                    .map_err(|_| format!("`{port}` in `{url}` is not a port"))?,
            ),
            None => (authority, 80),
        };
        if host.is_empty() {
            return Err(format!("`{url}` names no host"));
        }
        Ok(Endpoint {
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    }
}

struct Shared {
    dropped: AtomicUsize,
    failed: AtomicUsize,
    in_flight: AtomicUsize,
}

/// POSTs events from a background thread.
pub struct HttpSink {
    sender: Mutex<Option<SyncSender<String>>>,
    shared: Arc<Shared>,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
    url: String,
}

impl HttpSink {
    /// Starts the delivery thread for `url`.
    pub fn new(url: &str) -> Result<HttpSink, String> {
        let endpoint = Endpoint::parse(url)?;
        let (sender, receiver) = sync_channel::<String>(QUEUE_CAPACITY);
        let shared = Arc::new(Shared {
            dropped: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
        });
        let worker = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("wfc-events-http".into())
                .spawn(move || deliver(&endpoint, &receiver, &shared))
                .map_err(|e| format!("cannot start the event sender: {e}"))?
        };
        Ok(HttpSink {
            sender: Mutex::new(Some(sender)),
            shared,
            worker: Mutex::new(Some(worker)),
            url: url.to_string(),
        })
    }

    /// How many events were dropped because the queue was full.
    pub fn dropped(&self) -> usize {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// How many events could not be delivered (connection refused, timeout, an error status).
    pub fn failed(&self) -> usize {
        self.shared.failed.load(Ordering::Relaxed)
    }
}

impl EventSink for HttpSink {
    fn emit(&self, event: &Event) {
        let Ok(body) = serde_json::to_string(event) else {
            return;
        };
        let guard = self
            .sender
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(sender) = guard.as_ref() else { return };
        self.shared.in_flight.fetch_add(1, Ordering::SeqCst);
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = sender.try_send(body) {
            self.shared.in_flight.fetch_sub(1, Ordering::SeqCst);
            if self.shared.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                eprintln!(
                    "warning: {} is not keeping up; events are being dropped",
                    self.url
                );
            }
        }
    }

    fn flush(&self, within: Duration) {
        let deadline = Instant::now() + within;
        while self.shared.in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let (dropped, failed) = (self.dropped(), self.failed());
        if dropped + failed > 0 {
            eprintln!(
                "warning: {dropped} events were dropped and {failed} could not be delivered to {}",
                self.url
            );
        }
    }
}

impl Drop for HttpSink {
    fn drop(&mut self) {
        // Closing the channel ends the thread once the queue is empty; it is not joined, so
        // a hung endpoint cannot hold up the process's exit beyond the request timeout.
        self.sender
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let _ = self
            .worker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
    }
}

fn deliver(endpoint: &Endpoint, receiver: &Receiver<String>, shared: &Shared) {
    while let Ok(body) = receiver.recv() {
        if post(endpoint, &body).is_err() {
            shared.failed.fetch_add(1, Ordering::Relaxed);
        }
        shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One `POST` with a JSON body; succeeds on a 2xx status.
fn post(endpoint: &Endpoint, body: &str) -> Result<(), String> {
    let address = (endpoint.host.as_str(), endpoint.port)
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("no address")?;
    let mut stream =
        TcpStream::connect_timeout(&address, REQUEST_TIMEOUT).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(REQUEST_TIMEOUT))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(REQUEST_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: wfc/{}\r\n\r\n{}",
        endpoint.path,
        endpoint.host,
        endpoint.port,
        body.len(),
        env!("CARGO_PKG_VERSION"),
        body
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut status = [0u8; 12];
    stream.read_exact(&mut status).map_err(|e| e.to_string())?;
    // "HTTP/1.1 2xx"
    if status.get(9) == Some(&b'2') {
        Ok(())
    } else {
        Err(format!("status {}", String::from_utf8_lossy(&status[9..])))
    }
}

#[cfg(test)]
mod tests {
    use super::Endpoint;

    #[test]
    fn endpoints_parse() {
        assert_eq!(
            Endpoint::parse("http://127.0.0.1:8080/hook?x=1"),
            Ok(Endpoint {
                host: "127.0.0.1".into(),
                port: 8080,
                path: "/hook?x=1".into()
            })
        );
        assert_eq!(
            Endpoint::parse("http://localhost").map(|e| (e.port, e.path)),
            Ok((80, "/".to_string()))
        );
        assert!(Endpoint::parse("https://x").is_err());
        assert!(Endpoint::parse("http://:80/").is_err());
        assert!(Endpoint::parse("http://h:notaport/").is_err());
    }
}
