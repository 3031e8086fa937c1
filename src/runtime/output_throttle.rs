//! Turns a process's output, as it arrives in chunks, into a few `task_output` reports a
//! second, redacted, and never loses the end: whatever is held back is handed over when the
//! process ends.

use crate::events::Redactor;
use std::time::{Duration, Instant};

/// How often output is reported while a process runs.
const INTERVAL: Duration = Duration::from_millis(250);

/// How much of the held-back output one report carries: its last characters.
const TAIL_CHARS: usize = 2000;

/// Output held back between reports.
pub struct OutputThrottle<'r> {
    pending: Vec<u8>,
    last_report: Option<Instant>,
    redactor: &'r Redactor,
}

impl<'r> OutputThrottle<'r> {
    /// A throttle that reports the first output at once, with `redactor`'s secrets replaced.
    pub fn new(redactor: &'r Redactor) -> Self {
        OutputThrottle {
            pending: Vec::new(),
            last_report: None,
            redactor,
        }
    }

    /// Takes a chunk of output; returns a report when one is due.
    pub fn push(&mut self, bytes: &[u8]) -> Option<String> {
        self.pending.extend_from_slice(bytes);
        let due = self
            .last_report
            .is_none_or(|last| last.elapsed() >= INTERVAL);
        if !due {
            return None;
        }
        // A character split between two chunks waits for its other half, and text that could
        // be the start of a secret waits for what follows, so a secret is redacted whole.
        let complete = complete_utf8_prefix(&self.pending);
        let text = String::from_utf8_lossy(&self.pending[..complete]).into_owned();
        let (ready, held) = self.redactor.split_complete(&text);
        if ready.is_empty() {
            return None;
        }
        let report = tail(&self.redactor.text(ready));
        let mut rest = held.as_bytes().to_vec();
        rest.extend_from_slice(&self.pending[complete..]);
        self.pending = rest;
        self.last_report = Some(Instant::now());
        Some(report)
    }

    /// The output still held back when the process has ended, if any.
    pub fn finish(self) -> Option<String> {
        if self.pending.is_empty() {
            None
        } else {
            Some(tail(
                &self.redactor.text(&String::from_utf8_lossy(&self.pending)),
            ))
        }
    }
}

/// The length of `bytes` without a multi-byte character cut off at its end.
fn complete_utf8_prefix(bytes: &[u8]) -> usize {
    // A UTF-8 character is at most four bytes: look back at most three for its first byte.
    for back in 1..=bytes.len().min(3) {
        let byte = bytes[bytes.len() - back];
        if byte & 0b1100_0000 == 0b1000_0000 {
            continue; // A continuation byte: its lead is further back.
        }
        let width = match byte {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        return if width > back {
            bytes.len() - back
        } else {
            bytes.len()
        };
    }
    bytes.len()
}

/// The last [`TAIL_CHARS`] characters of `text` (redacted before it is cut, so a cut never
/// leaves a secret's end unrecognised).
fn tail(text: &str) -> String {
    match text.char_indices().rev().nth(TAIL_CHARS - 1) {
        Some((start, _)) => text[start..].to_string(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_output_is_reported_at_once_and_the_rest_when_the_process_ends() {
        let redactor = Redactor::default();
        let mut throttle = OutputThrottle::new(&redactor);
        assert_eq!(throttle.push(b"first\n").as_deref(), Some("first\n"));
        assert_eq!(throttle.push(b"second\n"), None);
        assert_eq!(throttle.push(b"summary\n"), None);
        assert_eq!(throttle.finish().as_deref(), Some("second\nsummary\n"));
    }

    #[test]
    fn a_character_split_between_chunks_is_reported_whole() {
        let redactor = Redactor::default();
        let mut throttle = OutputThrottle::new(&redactor);
        let text = "ü€😀".as_bytes();
        assert_eq!(throttle.push(&text[..1]), None);
        let mut reported = String::new();
        for byte in &text[1..] {
            std::thread::sleep(INTERVAL);
            if let Some(part) = throttle.push(std::slice::from_ref(byte)) {
                reported.push_str(&part);
            }
        }
        reported.push_str(&throttle.finish().unwrap_or_default());
        assert_eq!(reported, "ü€😀");
    }

    #[test]
    fn a_report_carries_the_tail_of_long_output() {
        let redactor = Redactor::default();
        let mut throttle = OutputThrottle::new(&redactor);
        let long = "x".repeat(5000) + "end";
        let report = throttle.push(long.as_bytes()).unwrap_or_default();
        assert_eq!(report.chars().count(), TAIL_CHARS);
        assert!(report.ends_with("end"));
    }

    #[test]
    fn a_secret_split_between_chunks_is_redacted_whole() {
        let redactor = Redactor::new(["hunter2".to_string()]);
        let mut throttle = OutputThrottle::new(&redactor);
        assert_eq!(throttle.push(b"pw=hun").as_deref(), Some("pw="));
        std::thread::sleep(INTERVAL);
        assert_eq!(throttle.push(b"ter2 ok").as_deref(), Some("[redacted] ok"));
        assert_eq!(throttle.finish(), None);
    }
}
