//! Reading `Content-Length` frames from a stream that may be damaged.
//!
//! tower-lsp-server's own reader ends the stream at the first frame it cannot decode, and the
//! server with it, so the editor loses every open document over one bad message. This reader
//! never gives up: a header it cannot read is reported and skipped, garbage between frames is
//! skipped up to the next header, and a frame whose `Content-Length` is wrong is cut where the
//! next frame's header begins (too long) or reported as a body that is not JSON, after which
//! the rest is skipped as garbage (too short). What a body holds is judged by
//! [`crate::incoming`].

use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The header that starts every frame; the name is matched without regard to case, as HTTP
/// header names are.
const CONTENT_LENGTH: &[u8] = b"content-length";
/// The other header LSP defines, which may come first.
const CONTENT_TYPE: &[u8] = b"content-type";
/// Headers longer than this are not headers: the bytes are skipped.
const MAX_HEADER: usize = 4096;
/// The largest body accepted: the parser refuses files over 64 MiB, and JSON escapes can
/// double a text.
const MAX_BODY: usize = 160 << 20;

/// What the next frame on the stream was.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A frame's body, as bytes: not necessarily UTF-8 or JSON.
    Body(Vec<u8>),
    /// A header block that gives no usable length, and why; its body cannot be found.
    BadHeader(&'static str),
}

/// Reads frames from `input`, resynchronising after damage.
pub struct FrameReader<R> {
    input: R,
    buffer: Vec<u8>,
    /// How long a body that has not fully arrived is waited for once nothing more comes:
    /// after that, it is taken as it is (its `Content-Length` claimed too much).
    patience: Duration,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader of `input` that waits `patience` for the rest of a body that stopped arriving.
    pub fn new(input: R, patience: Duration) -> Self {
        FrameReader {
            input,
            buffer: Vec::new(),
            patience,
        }
    }

    /// Reads more input into the buffer; `false` at the end of the stream or on an error.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 1 << 16];
        match self.input.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(read) => {
                self.buffer.extend_from_slice(&chunk[..read]);
                true
            }
        }
    }

    /// The next frame, or `None` at the end of the stream.
    pub async fn next(&mut self) -> Option<Frame> {
        loop {
            match find_any(&self.buffer, &[CONTENT_LENGTH, CONTENT_TYPE]) {
                Some(start) => {
                    self.skip(start);
                    if let Some(end) = find(&self.buffer, b"\r\n\r\n") {
                        let header: Vec<u8> = self.buffer.drain(..end + 4).collect();
                        return Some(match content_length(&header[..end]) {
                            Ok(length) => self.body(length).await,
                            Err(why) => Frame::BadHeader(why),
                        });
                    }
                    if self.buffer.len() > MAX_HEADER {
                        // Skipping the header's name moves the search on to the next one.
                        self.skip(CONTENT_TYPE.len().min(self.buffer.len()));
                        return Some(Frame::BadHeader("a header that does not end"));
                    }
                }
                // Keep only what may be the start of a header name cut off by the read.
                None => self.skip(self.buffer.len().saturating_sub(CONTENT_LENGTH.len())),
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// Drops the first `count` bytes, which are not part of any frame, and says so if they
    /// were more than white space.
    fn skip(&mut self, count: usize) {
        let skipped: Vec<u8> = self.buffer.drain(..count).collect();
        if skipped.iter().any(|b| !b.is_ascii_whitespace()) {
            eprintln!(
                "wfc-lsp: skipped {} bytes that were not part of a message",
                skipped.len()
            );
        }
    }

    /// The body of a frame whose header said `length` bytes.
    async fn body(&mut self, length: usize) -> Frame {
        // Where the search for a following header goes on from, so a long body that arrives
        // in many reads is searched once.
        let mut searched = 0;
        loop {
            if self.buffer.len() >= length {
                // A body that is not JSON but is followed, within its claimed length, by
                // another frame's header claimed too much: it ends where that header begins.
                let cut =
                    match serde_json::from_slice::<serde::de::IgnoredAny>(&self.buffer[..length]) {
                        Ok(_) => length,
                        Err(_) => json_before_header(
                            &self.buffer[..(length + CONTENT_LENGTH.len()).min(self.buffer.len())],
                            0,
                        )
                        .filter(|&cut| cut < length)
                        .unwrap_or(length),
                    };
                return Frame::Body(self.buffer.drain(..cut).collect());
            }
            if let Some(cut) = json_before_header(&self.buffer, searched) {
                return Frame::Body(self.buffer.drain(..cut).collect());
            }
            searched = self.buffer.len().saturating_sub(CONTENT_LENGTH.len());
            match tokio::time::timeout(self.patience, self.fill()).await {
                Ok(true) => {}
                // The stream ended or went quiet before the body was complete: what came is
                // all there is.
                Ok(false) | Err(_) => return Frame::Body(std::mem::take(&mut self.buffer)),
            }
        }
    }
}

/// The offset of a frame header in `bytes` (searched from `from`) that follows a complete
/// JSON value: where a body whose `Content-Length` claimed too much really ended.
fn json_before_header(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(found) = find_any(&bytes[at..], &[CONTENT_LENGTH]) {
        let header = at + found;
        if header > 0 && serde_json::from_slice::<serde::de::IgnoredAny>(&bytes[..header]).is_ok() {
            return Some(header);
        }
        at = header + 1;
    }
    None
}

/// The `Content-Length` of a header block, or why there is none.
fn content_length(header: &[u8]) -> Result<usize, &'static str> {
    let header = std::str::from_utf8(header).map_err(|_| "a header that is not text")?;
    let mut length = None;
    for line in header.split("\r\n") {
        let Some((name, value)) = line.split_once(':') else {
            return Err("a header line without `:`");
        };
        if name.trim().eq_ignore_ascii_case("content-length") {
            let value: usize = value
                .trim()
                .parse()
                .map_err(|_| "a Content-Length that is not a number")?;
            length = Some(value);
        }
    }
    match length {
        None => Err("a header without Content-Length"),
        Some(length) if length > MAX_BODY => Err("a Content-Length over the limit"),
        Some(length) => Ok(length),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The first offset where any of `names` starts, matched without regard to ASCII case.
fn find_any(haystack: &[u8], names: &[&[u8]]) -> Option<usize> {
    (0..haystack.len()).find(|&at| {
        names.iter().any(|name| {
            haystack
                .get(at..at + name.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(name))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames(input: &[u8]) -> Vec<Frame> {
        let mut reader = FrameReader::new(input, Duration::from_millis(50));
        let mut frames = Vec::new();
        while let Some(frame) = reader.next().await {
            frames.push(frame);
        }
        frames
    }

    fn framed(length: usize, body: &str) -> String {
        format!("Content-Length: {length}\r\n\r\n{body}")
    }

    #[tokio::test]
    async fn well_formed_frames_and_garbage_between_them() {
        let input = format!("{}junk{}", framed(2, "{}"), framed(4, "[1] "));
        assert_eq!(
            frames(input.as_bytes()).await,
            vec![Frame::Body(b"{}".to_vec()), Frame::Body(b"[1] ".to_vec())]
        );
    }

    #[tokio::test]
    async fn a_length_too_long_is_cut_at_the_next_header() {
        let input = format!("{}{}", framed(12, "{}"), framed(2, "[]"));
        assert_eq!(
            frames(input.as_bytes()).await,
            vec![Frame::Body(b"{}".to_vec()), Frame::Body(b"[]".to_vec())]
        );
        // The last frame, with nothing after it, is taken once the stream ends.
        assert_eq!(
            frames(framed(99, "{}").as_bytes()).await,
            vec![Frame::Body(b"{}".to_vec())]
        );
    }

    #[tokio::test]
    async fn a_length_too_short_gives_a_broken_body_and_the_rest_is_skipped() {
        let input = format!("{}{}", framed(3, "{\"a\":1}"), framed(2, "[]"));
        assert_eq!(
            frames(input.as_bytes()).await,
            vec![Frame::Body(b"{\"a".to_vec()), Frame::Body(b"[]".to_vec())]
        );
    }

    #[tokio::test]
    async fn headers_without_a_length_are_reported_and_skipped() {
        let input = format!(
            "Content-Length: x\r\n\r\n{{}}Content-Type: a\r\n\r\n{}",
            framed(2, "{}")
        );
        assert_eq!(
            frames(input.as_bytes()).await,
            vec![
                Frame::BadHeader("a Content-Length that is not a number"),
                Frame::BadHeader("a header without Content-Length"),
                Frame::Body(b"{}".to_vec())
            ]
        );
    }
}
