//! Turns a process's output, as it arrives in chunks, into a few `task_output` reports a
//! second, and never loses the end: whatever is held back is handed over when the process ends.

use std::time::{Duration, Instant};

/// How often output is reported while a process runs.
const INTERVAL: Duration = Duration::from_millis(250);

/// How much of the held-back output one report carries: its last characters.
const TAIL_CHARS: usize = 2000;

/// Output held back between reports.
pub struct OutputThrottle {
    pending: Vec<u8>,
    last_report: Option<Instant>,
}

impl OutputThrottle {
    /// A throttle that reports the first output at once.
    pub fn new() -> Self {
        OutputThrottle {
            pending: Vec::new(),
            last_report: None,
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
        // A character split between two chunks waits for its other half.
        let complete = complete_utf8_prefix(&self.pending);
        if complete == 0 {
            return None;
        }
        let rest = self.pending.split_off(complete);
        let text = std::mem::replace(&mut self.pending, rest);
        self.last_report = Some(Instant::now());
        Some(tail(&String::from_utf8_lossy(&text)))
    }

    /// The output still held back when the process has ended, if any.
    pub fn finish(self) -> Option<String> {
        if self.pending.is_empty() {
            None
        } else {
            Some(tail(&String::from_utf8_lossy(&self.pending)))
        }
    }
}

impl Default for OutputThrottle {
    fn default() -> Self {
        OutputThrottle::new()
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

/// The last [`TAIL_CHARS`] characters of `text`.
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
        let mut throttle = OutputThrottle::new();
        assert_eq!(throttle.push(b"first\n").as_deref(), Some("first\n"));
        assert_eq!(throttle.push(b"second\n"), None);
        assert_eq!(throttle.push(b"summary\n"), None);
        assert_eq!(throttle.finish().as_deref(), Some("second\nsummary\n"));
    }

    #[test]
    fn a_character_split_between_chunks_is_reported_whole() {
        let mut throttle = OutputThrottle::new();
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
        let mut throttle = OutputThrottle::new();
        let long = "x".repeat(5000) + "end";
        let report = throttle.push(long.as_bytes()).unwrap_or_default();
        assert_eq!(report.chars().count(), TAIL_CHARS);
        assert!(report.ends_with("end"));
    }
}
