//! How the commands that work on runs show data to a person: times (in local time), durations,
//! tables that fit the terminal, text wrapped to it, and state names in colour only when stdout is a terminal and `NO_COLOR`
//! is not set.

use crate::runtime::{Millis, RunState, TaskState};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use std::io::IsTerminal;

/// How a piece of text is coloured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Plain.
    Plain,
    /// Done well: green.
    Good,
    /// Failed: red.
    Bad,
    /// Under way or waiting: yellow.
    Busy,
    /// Nothing to see: dim.
    Quiet,
    /// Headings: bold.
    Strong,
}

impl Tone {
    /// The tone of a task state.
    pub fn task(state: TaskState) -> Tone {
        match state {
            TaskState::Succeeded | TaskState::Approved => Tone::Good,
            TaskState::Failed | TaskState::Rejected => Tone::Bad,
            TaskState::Running | TaskState::Claimed | TaskState::Waiting => Tone::Busy,
            TaskState::Pending | TaskState::Cancelled | TaskState::Skipped => Tone::Quiet,
        }
    }

    /// The tone of a run state.
    pub fn run(state: RunState) -> Tone {
        match state {
            RunState::Succeeded => Tone::Good,
            RunState::Failed => Tone::Bad,
            RunState::Running => Tone::Busy,
            RunState::Cancelled => Tone::Quiet,
        }
    }
}

/// Colours text for stdout, or leaves it plain.
#[derive(Clone, Copy, Debug)]
pub struct Paint {
    on: bool,
}

impl Paint {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset or empty.
    pub fn stdout() -> Paint {
        Paint {
            on: std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    /// Never colour.
    #[cfg(test)]
    pub fn plain() -> Paint {
        Paint { on: false }
    }

    /// `text` in `tone`.
    pub fn tone(self, text: &str, tone: Tone) -> String {
        let code = match tone {
            Tone::Plain => return text.to_string(),
            Tone::Good => "32",
            Tone::Bad => "31",
            Tone::Busy => "33",
            Tone::Quiet => "2",
            Tone::Strong => "1",
        };
        if self.on && !text.is_empty() {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text.to_string()
        }
    }
}

/// One cell of a [`table`].
pub struct Cell {
    /// Its text, without colour.
    pub text: String,
    /// Its colour.
    pub tone: Tone,
}

impl Cell {
    /// A plain cell.
    pub fn plain(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            tone: Tone::Plain,
        }
    }

    /// A coloured cell.
    pub fn toned(text: impl Into<String>, tone: Tone) -> Cell {
        Cell {
            text: text.into(),
            tone,
        }
    }
}

/// The lines of a table with `headers` and `rows`, columns two spaces apart and left
/// aligned; the last column is cut to fit `width` characters (keeping at least 20 of it).
pub fn table(headers: &[&str], rows: &[Vec<Cell>], width: usize, paint: Paint) -> Vec<String> {
    let columns = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(cell.text.chars().count());
        }
    }
    let before_last: usize = widths
        .iter()
        .take(columns.saturating_sub(1))
        .map(|w| w + 2)
        .sum();
    let last_room = width.saturating_sub(before_last).max(20);
    let line = |cells: Vec<(String, Tone)>| {
        let mut out = String::new();
        for (i, (text, tone)) in cells.into_iter().enumerate() {
            let text = if i + 1 == columns {
                truncate(&text, last_room)
            } else {
                text
            };
            let pad = widths[i].saturating_sub(text.chars().count());
            out.push_str(&paint.tone(&text, tone));
            if i + 1 < columns {
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.trim_end().to_string()
    };
    let mut lines = vec![line(
        headers
            .iter()
            .map(|h| (h.to_string(), Tone::Strong))
            .collect(),
    )];
    for row in rows {
        lines.push(line(
            row.iter()
                .map(|cell| (cell.text.clone(), cell.tone))
                .collect(),
        ));
    }
    lines
}

/// The width to fit: `COLUMNS`, else 100.
pub fn width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|&c: &usize| c > 0)
        .unwrap_or(100)
}

/// `text` cut to `max` characters, ending in `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The first line of `text`, with ` (+N more lines)` when there are more.
pub fn first_line(text: &str) -> String {
    let mut lines = text.trim().lines();
    let first = lines.next().unwrap_or("").trim_end().to_string();
    match lines.count() {
        0 => first,
        1 => format!("{first} (+1 more line)"),
        more => format!("{first} (+{more} more lines)"),
    }
}

/// `count` and `word`, with an `s` unless `count` is 1.
pub fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        format!("1 {word}")
    } else {
        format!("{count} {word}s")
    }
}

/// A duration for people: `0.4s`, `12.3s`, `3m04s`, `2h05m`.
pub fn duration(ms: Millis) -> String {
    let ms = ms.max(0);
    if ms < 60_000 {
        return format!("{}.{}s", ms / 1000, (ms % 1000) / 100);
    }
    let seconds = ms / 1000;
    if seconds < 3600 {
        return format!("{}m{:02}s", seconds / 60, seconds % 60);
    }
    format!("{}h{:02}m", seconds / 3600, (seconds % 3600) / 60)
}

/// How long ago `at` was, seen at `now`: `just now`, `42s ago`, `5m ago`, `3h ago`, `2d ago`;
/// the local date after a week.
pub fn ago(at: Millis, now: Millis) -> String {
    let seconds = (now - at).max(0) / 1000;
    match seconds {
        0..=4 => "just now".to_string(),
        5..=59 => format!("{seconds}s ago"),
        60..=3599 => format!("{}m ago", seconds / 60),
        3600..=86_399 => format!("{}h ago", seconds / 3600),
        86_400..=604_799 => format!("{}d ago", seconds / 86_400),
        _ => date(at),
    }
}

/// The time zone people read times in: the system's (`TZ`, else `/etc/localtime`), UTC when
/// it cannot be found. Only what people read is local; JSON keeps UTC milliseconds.
fn local() -> TimeZone {
    TimeZone::system()
}

/// `at` in time zone `zone`, formatted with `format` (strftime).
fn format_in(at: Millis, zone: &TimeZone, format: &str) -> String {
    match Timestamp::from_millisecond(at) {
        Ok(moment) => moment.to_zoned(zone.clone()).strftime(format).to_string(),
        Err(_) => format!("{at}ms"),
    }
}

/// A moment as `2024-05-01 14:34:56 CEST`, in local time with the zone's abbreviation.
pub fn date_time(at: Millis) -> String {
    date_time_in(at, &local())
}

fn date_time_in(at: Millis, zone: &TimeZone) -> String {
    format_in(at, zone, "%Y-%m-%d %H:%M:%S %Z")
}

/// A moment's local day as `2024-05-01`.
pub fn date(at: Millis) -> String {
    format_in(at, &local(), "%Y-%m-%d")
}

/// A moment's local time of day to the minute, for what people wait for: `18:00`; with the
/// date when it is not today.
pub fn time_of_day(at: Millis, now: Millis) -> String {
    let zone = local();
    if format_in(at, &zone, "%Y-%m-%d") == format_in(now, &zone, "%Y-%m-%d") {
        format_in(at, &zone, "%H:%M")
    } else {
        format_in(at, &zone, "%Y-%m-%d %H:%M")
    }
}

/// A moment's local time of day with milliseconds, for log lines: `14:34:56.789`.
pub fn clock(at: Millis) -> String {
    clock_in(at, &local())
}

fn clock_in(at: Millis, zone: &TimeZone) -> String {
    format!(
        "{}.{:03}",
        format_in(at, zone, "%H:%M:%S"),
        at.rem_euclid(1000)
    )
}

/// `text` broken into lines of at most `width` characters: at spaces where it can, inside a
/// word longer than a line where it must; its own line breaks are kept, and a line's indent
/// (a traceback's, a diffstat's) is kept on each of its pieces.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(10);
    let mut lines = Vec::new();
    for line in text.trim_end().lines() {
        let line = line.trim_end();
        if line.chars().count() <= width {
            lines.push(line.to_string());
            continue;
        }
        let body = line.trim_start_matches(' ');
        let indent = &line[..line.len() - body.len()];
        let indent = if indent.len() > width / 2 { "" } else { indent };
        let room = width - indent.len();
        let mut current = String::new();
        for word in body.split(' ') {
            let mut word: Vec<char> = word.chars().collect();
            let used = current.chars().count();
            if used > 0 && used + 1 + word.len() > room {
                lines.push(format!("{indent}{}", std::mem::take(&mut current)));
            }
            if !current.is_empty() {
                current.push(' ');
            }
            while current.chars().count() + word.len() > room {
                let fits = room - current.chars().count();
                current.extend(word.drain(..fits));
                lines.push(format!("{indent}{}", std::mem::take(&mut current)));
            }
            current.extend(word);
        }
        lines.push(format!("{indent}{current}"));
    }
    lines
}

/// The year, month and day of a day counted from 1970-01-01 (Howard Hinnant's algorithm).
pub(super) fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(0), "0.0s");
        assert_eq!(duration(1_234), "1.2s");
        assert_eq!(duration(59_999), "59.9s");
        assert_eq!(duration(184_000), "3m04s");
        assert_eq!(duration(7_500_000), "2h05m");
    }

    #[test]
    fn moments() {
        let utc = TimeZone::UTC;
        assert_eq!(date_time_in(0, &utc), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            date_time_in(1_714_566_896_789, &utc),
            "2024-05-01 12:34:56 UTC"
        );
        assert_eq!(
            date_time_in(951_782_400_000, &utc),
            "2000-02-29 00:00:00 UTC"
        );
        assert_eq!(clock_in(1_714_566_896_789, &utc), "12:34:56.789");
        let paris = TimeZone::fixed(jiff::tz::offset(2));
        assert_eq!(clock_in(1_714_566_896_789, &paris), "14:34:56.789");
        assert_eq!(ago(1_000, 2_000), "just now");
        assert_eq!(ago(0, 300_000), "5m ago");
        assert_eq!(ago(0, 7_200_000), "2h ago");
    }

    #[test]
    fn wrapping_breaks_at_spaces_and_inside_long_words() {
        assert_eq!(wrap("one two three four", 10), ["one two", "three four"]);
        assert_eq!(wrap("a\nb", 10), ["a", "b"]);
        assert_eq!(
            wrap("x 0123456789abcdef", 10),
            ["x", "0123456789", "abcdef"]
        );
        assert_eq!(wrap("", 10), Vec::<String>::new());
        assert_eq!(wrap("  at one two three", 12), ["  at one two", "  three"]);
    }

    #[test]
    fn text() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(first_line("one\ntwo\nthree"), "one (+2 more lines)");
        assert_eq!(plural(1, "task"), "1 task");
        assert_eq!(plural(3, "task"), "3 tasks");
    }

    #[test]
    fn tables_align_and_fit() {
        let rows = vec![
            vec![Cell::plain("a"), Cell::plain("x".repeat(50))],
            vec![Cell::plain("longer"), Cell::plain("")],
        ];
        let lines = table(&["ID", "NOTE"], &rows, 30, Paint::plain());
        assert_eq!(lines[0], "ID      NOTE");
        assert_eq!(lines[1], format!("a       {}…", "x".repeat(21)));
        assert_eq!(lines[2], "longer");
    }
}
