//! Removing secrets' values from everything that leaves the engine: events, logs, stored
//! errors and results.

use super::secret_forms::secret_forms;
use super::Event;
use crate::plan::FilterSpec;
use aho_corasick::{AhoCorasick, MatchKind};

/// What replaces a secret's value.
pub const REDACTED: &str = "[redacted]";

/// Replaces every occurrence of every form of known secret values (see
/// [`secret_forms`](super::secret_forms::secret_forms)).
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    /// The forms, matched in one pass, the longest at each position, so a form that contains
    /// another is replaced whole and a replacement is never searched again.
    matcher: Option<AhoCorasick>,
    /// The forms, longest first: the longest suffix of a text that begins one is held back
    /// by [`Redactor::split_complete`].
    forms: Vec<String>,
}

impl Redactor {
    /// A redactor for `secrets` and every form of them any chain of filters makes.
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        Redactor::with_chains(secrets.into_iter().map(|s| (s, Vec::new())))
    }

    /// A redactor for secrets, each with the chains of filters a plan applies to it (which
    /// are added however long they are). Empty secrets are ignored.
    pub fn with_chains(secrets: impl IntoIterator<Item = (String, Vec<Vec<FilterSpec>>)>) -> Self {
        let mut forms: Vec<String> = secrets
            .into_iter()
            .filter(|(secret, _)| !secret.is_empty())
            .flat_map(|(secret, chains)| secret_forms(&secret, &chains))
            .collect();
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        forms.dedup();
        if forms.is_empty() {
            return Redactor::default();
        }
        // Building fails only past the automaton's size limits; then the forms are replaced
        // one by one, longest first, which hides the same text.
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&forms)
            .ok();
        Redactor { matcher, forms }
    }

    /// Whether there is nothing to redact.
    fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// `text` with every secret replaced.
    pub fn text(&self, text: &str) -> String {
        match &self.matcher {
            Some(matcher) => matcher.replace_all(text, &vec![REDACTED; self.forms.len()]),
            None => {
                let mut out = text.to_string();
                for form in &self.forms {
                    if out.contains(form.as_str()) {
                        out = out.replace(form.as_str(), REDACTED);
                    }
                }
                out
            }
        }
    }

    /// `text` split where it can be shown now: the first part ends before the longest suffix
    /// of `text` that could be the start of a secret's form, which the second part holds back
    /// until more text follows. Output read in pieces is shown this way, so a secret written
    /// across two reads is still redacted whole.
    pub fn split_complete<'t>(&self, text: &'t str) -> (&'t str, &'t str) {
        let mut keep = 0;
        for form in &self.forms {
            for (cut, _) in form.char_indices().skip(1) {
                let prefix = &form[..cut];
                if prefix.len() > keep && text.ends_with(prefix) {
                    keep = prefix.len();
                }
            }
        }
        text.split_at(text.len() - keep)
    }

    /// `text`, the end of a longer text, with every secret replaced, and also the end of one
    /// the cut left at its start (which alone no longer matches a form).
    pub fn tail(&self, text: &str) -> String {
        let mut cut = 0;
        for form in &self.forms {
            for (start, _) in form.char_indices().skip(1) {
                let suffix = &form[start..];
                if suffix.len() > cut && text.starts_with(suffix) {
                    cut = suffix.len();
                }
            }
        }
        if cut == 0 {
            self.text(text)
        } else {
            format!("{REDACTED}{}", self.text(&text[cut..]))
        }
    }

    /// `value` with every string (keys included) redacted.
    pub fn json(&self, value: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        if self.is_empty() {
            return value;
        }
        match value {
            Value::String(text) => Value::String(self.text(&text)),
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.json(v)).collect()),
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| (self.text(&k), self.json(v)))
                    .collect(),
            ),
            other => other,
        }
    }

    /// `event` with every secret removed.
    pub fn event(&self, mut event: Event) -> Event {
        if self.is_empty() {
            return event;
        }
        event.task = event.task.map(|t| self.text(&t));
        event.data = self.json(event.data);
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_replaced_wherever_they_appear() {
        let redactor = Redactor::new(["hunter2".to_string(), "a\"b".to_string(), String::new()]);
        assert_eq!(
            redactor.text("pw=hunter2; again HUNTER2"),
            "pw=[redacted]; again [redacted]"
        );
        // The JSON string of a secret (its `json` filter's output) is caught whole, and its
        // escaped text inside a longer JSON string too.
        assert_eq!(redactor.text(r#"{"x":"a\"b"}"#), r#"{"x":[redacted]}"#);
        assert_eq!(
            redactor.text(r#"{"x":"y a\"b"}"#),
            r#"{"x":"y [redacted]"}"#
        );
        let value = serde_json::json!({ "hunter2": ["x hunter2 y", 3] });
        assert_eq!(
            redactor.json(value),
            serde_json::json!({ "[redacted]": ["x [redacted] y", 3] })
        );
        assert_eq!(Redactor::new(Vec::new()).text("hunter2"), "hunter2");
    }

    #[test]
    fn a_replacement_is_not_searched_again() {
        // `dact` occurs in `[redacted]`; one pass does not redact the replacement.
        let redactor = Redactor::new(["dact".to_string()]);
        assert_eq!(redactor.text("a dact b"), "a [redacted] b");
    }

    #[test]
    fn the_start_of_a_secret_is_held_back() {
        let redactor = Redactor::new(["hunter2".to_string()]);
        assert_eq!(redactor.split_complete("pw=hunt"), ("pw=", "hunt"));
        assert_eq!(redactor.split_complete("pw=HUNTER"), ("pw=", "HUNTER"));
        assert_eq!(redactor.split_complete("done\n"), ("done\n", ""));
        assert_eq!(redactor.split_complete("hunter2"), ("hunter2", ""));
    }

    #[test]
    fn the_end_of_a_secret_cut_off_at_the_start_is_replaced() {
        let redactor = Redactor::new(["hunter2".to_string()]);
        assert_eq!(
            redactor.tail("nter2 and hunter2"),
            "[redacted] and [redacted]"
        );
        assert_eq!(redactor.tail("output"), "output");
    }
}
