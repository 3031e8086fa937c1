//! The words in which the agent CLIs other than Claude Code report a provider's limit: HTTP
//! statuses, `Retry-After` headers, and waits written out ("Please try again in 7s",
//! "Suggested retry after 3s.", "try again at 4:42 AM"). Each adapter knows where its CLI
//! puts them (docs/agents.md, "Provider limits"); the reading of times and kinds is here,
//! once for all of them.

use crate::runtime::agent::LimitKind;
use crate::runtime::Millis;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// The limit an HTTP status means: 429 is a rate limit, or the account's usage limit when the
/// provider's `words` say a quota or a usage limit ran out; 503 and 529 are an overload.
pub(super) fn kind_of_status(status: u64, words: &str) -> Option<LimitKind> {
    match status {
        429 if says_quota(words) => Some(LimitKind::UsageLimit),
        429 => Some(LimitKind::RateLimit),
        503 | 529 => Some(LimitKind::Overloaded),
        _ => None,
    }
}

/// Whether the provider's words say that the account's quota or usage limit ran out (OpenAI's
/// `insufficient_quota`, "You've hit your usage limit"), which waiting a minute does not end.
pub(super) fn says_quota(words: &str) -> bool {
    let lower = words.to_lowercase();
    ["quota", "usage limit", "insufficient credits"]
        .iter()
        .any(|phrase| lower.contains(phrase))
}

/// A duration as the providers write it, in milliseconds: `7s`, `1.5s`, `20ms`, `6m0s`,
/// `1h2m3s`, or a number and a word (`20 seconds`, `2 minutes`). `None` for anything else.
pub(super) fn duration_millis(text: &str) -> Option<Millis> {
    let end_of_word = ['.', ',', ')', ']'];
    let mut words = text
        .split_whitespace()
        .map(|word| word.trim_end_matches(end_of_word));
    let first = words.next()?;
    if let Ok(number) = first.parse::<f64>() {
        let unit = words.next().unwrap_or("s");
        let scale = match unit {
            "ms" => 1.0,
            "s" | "sec" | "secs" | "second" | "seconds" => 1_000.0,
            "min" | "mins" | "minute" | "minutes" => 60_000.0,
            "h" | "hour" | "hours" => 3_600_000.0,
            _ => return None,
        };
        return to_millis(number * scale);
    }
    // Go's and OpenAI's form: numbers each followed by its unit, with nothing between.
    let (mut total, mut number) = (0.0, String::new());
    let mut chars = first.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let value: f64 = std::mem::take(&mut number).parse().ok()?;
        let scale = match c {
            'h' => 3_600_000.0,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                1.0
            }
            'm' => 60_000.0,
            's' => 1_000.0,
            _ => return None,
        };
        total += value * scale;
    }
    if !number.is_empty() {
        return None;
    }
    to_millis(total)
}

/// Whole milliseconds, rounded up, of a wait `value` in milliseconds; none for a negative or
/// not finite one.
pub(super) fn to_millis(value: f64) -> Option<Millis> {
    (value.is_finite() && value >= 0.0).then(|| value.ceil() as Millis)
}

/// When a wait written out in `text` ends, counted from `now`: "Please try again in 7s",
/// "Suggested retry after 3s.", "retry in 20 seconds".
pub(super) fn wait_in_words(text: &str, now: Millis) -> Option<Millis> {
    let lower = text.to_lowercase();
    ["try again in ", "retry after ", "retry in "]
        .iter()
        .filter_map(|marker| {
            let start = lower.find(marker)? + marker.len();
            let rest: String = lower[start..]
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            duration_millis(&rest)
        })
        .next()
        .map(|wait| now + wait)
}

/// When an HTTP `Retry-After` header's wait ends: seconds, or an HTTP date.
pub(super) fn retry_after(value: &str, now: Millis) -> Option<Millis> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return to_millis(seconds * 1000.0).map(|wait| now + wait);
    }
    jiff::fmt::rfc2822::parse(value)
        .ok()
        .map(|zoned| zoned.timestamp().as_millisecond())
}

/// The end of the minute of a local clock time in `text` after `marker` ("try again at"), in
/// `zone`: a time of day ("4:42 AM", today, or tomorrow when that minute is over at `now`), or
/// a date and a time ("Dec 8th, 2026 3:42 AM"), as Codex writes its usage limit's reset. The
/// reset is somewhere in the minute written, so its end is the first moment surely after it.
pub(super) fn clock_time(text: &str, marker: &str, now: Millis, zone: &TimeZone) -> Option<Millis> {
    // ASCII lower case keeps every byte where it was, so a place found in `lower` is the same
    // place in `text` (full Unicode lower case may change a character's length).
    let lower = text.to_ascii_lowercase();
    let start = lower.find(&marker.to_ascii_lowercase())? + marker.len();
    let rest = &text[start..];
    let end = ["AM", "PM"]
        .iter()
        .filter_map(|half| rest.find(half).map(|at| at + 2))
        .min()?;
    let words: Vec<&str> = rest[..end].split_whitespace().collect();
    let (clock, half) = match words.as_slice() {
        [.., clock, half] => (*clock, *half),
        _ => return None,
    };
    let (hour, minute) = clock.split_once(':')?;
    let (hour, minute): (i8, i8) = (hour.parse().ok()?, minute.parse().ok()?);
    if !(1..=12).contains(&hour) {
        return None;
    }
    let hour = hour % 12 + if half == "PM" { 12 } else { 0 };
    let time = Time::new(hour, minute, 0, 0).ok()?;
    let today = Timestamp::from_millisecond(now)
        .ok()?
        .to_zoned(zone.clone())
        .date();
    let moment = |date: Date| {
        date.to_datetime(time)
            .to_zoned(zone.clone())
            .ok()
            .map(|zoned| zoned.timestamp().as_millisecond() + 60_000)
    };
    match words.as_slice() {
        [_, _] => {
            let at = moment(today)?;
            if at > now {
                Some(at)
            } else {
                moment(today.tomorrow().ok()?)
            }
        }
        [month, day, year, _, _] => {
            let month = MONTHS.iter().position(|name| month.starts_with(name))? as i8 + 1;
            let day: i8 = day
                .trim_end_matches(',')
                .trim_end_matches(char::is_alphabetic)
                .parse()
                .ok()?;
            let year: i16 = year.trim_end_matches(',').parse().ok()?;
            moment(Date::new(year, month, day).ok()?)
        }
        _ => None,
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_read_in_the_providers_forms() {
        assert_eq!(duration_millis("7s."), Some(7_000));
        assert_eq!(duration_millis("1.5s"), Some(1_500));
        assert_eq!(duration_millis("20ms"), Some(20));
        assert_eq!(duration_millis("6m0s"), Some(360_000));
        assert_eq!(duration_millis("1h2m3s"), Some(3_723_000));
        assert_eq!(duration_millis("20 seconds."), Some(20_000));
        assert_eq!(duration_millis("2 minutes"), Some(120_000));
        assert_eq!(duration_millis("soon"), None);
        assert_eq!(duration_millis("7x"), None);
        assert_eq!(duration_millis("12"), Some(12_000));
    }

    #[test]
    fn waits_written_out_are_found() {
        let openai =
            "Rate limit reached for gpt-5 on tokens per min. Please try again in 7s. Visit …";
        assert_eq!(wait_in_words(openai, 1_000), Some(8_000));
        let gemini = "[API Error: You exceeded your current quota.\nSuggested retry after 3s.]";
        assert_eq!(wait_in_words(gemini, 0), Some(3_000));
        assert_eq!(wait_in_words("Please wait and try again later.", 0), None);
    }

    #[test]
    fn retry_after_is_seconds_or_a_date() {
        assert_eq!(retry_after("2", 1_000), Some(3_000));
        assert_eq!(
            retry_after("Sat, 05 Dec 2026 03:48:14 GMT", 0),
            Some(1_796_442_494_000)
        );
        assert_eq!(retry_after("later", 0), None);
    }

    #[test]
    fn codex_clock_times_are_read_in_the_local_zone() {
        let utc = TimeZone::UTC;
        // 2026-12-05 03:42:36 UTC.
        let now = 1_796_442_156_000;
        let today = "You’ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro) or try again at 4:42 AM.";
        let minute = 60_000;
        assert_eq!(
            clock_time(today, "try again at", now, &utc),
            Some(1_796_445_720_000 + minute)
        );
        // A time already past today is tomorrow's.
        let early = "You’ve hit your usage limit. Try again at 1:05 AM.";
        assert_eq!(
            clock_time(early, "try again at", now, &utc),
            Some(1_796_432_700_000 + 86_400_000 + minute)
        );
        let later = "You’ve hit your usage limit. Try again at Dec 8th, 2026 3:42 PM.";
        assert_eq!(
            clock_time(later, "try again at", now, &utc),
            Some(1_796_744_520_000 + minute)
        );
        // 4:42 AM an hour east of UTC is 3:42 UTC: the minute that goes on now.
        let east = TimeZone::fixed(jiff::tz::offset(1));
        assert_eq!(
            clock_time(today, "try again at", now, &east),
            Some(1_796_445_720_000 - 3_600_000 + minute)
        );
        assert_eq!(
            clock_time("Try again later.", "try again at", now, &utc),
            None
        );
    }

    #[test]
    fn a_429_is_a_usage_limit_when_the_words_say_a_quota_ran_out() {
        assert_eq!(
            kind_of_status(429, "Rate limit reached"),
            Some(LimitKind::RateLimit)
        );
        assert_eq!(
            kind_of_status(429, "You exceeded your current quota"),
            Some(LimitKind::UsageLimit)
        );
        assert_eq!(kind_of_status(529, ""), Some(LimitKind::Overloaded));
        assert_eq!(kind_of_status(400, "quota"), None);
    }
}
