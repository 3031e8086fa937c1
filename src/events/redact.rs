//! Removing secrets' values from everything that leaves the engine: events, logs, stored
//! errors and results.

use super::Event;

/// What replaces a secret's value.
pub const REDACTED: &str = "[redacted]";

/// Replaces every occurrence of known secret values.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    /// The values, longest first so a secret that contains another is replaced whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor for `secrets`. Empty values are ignored (they would match everywhere).
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        // A secret is also redacted in the forms a program is likely to print it in.
        let variants: Vec<String> = secrets
            .iter()
            .flat_map(|s| {
                [
                    s.trim().to_string(),
                    serde_json::to_string(s)
                        .unwrap_or_default()
                        .trim_matches('"')
                        .to_string(),
                ]
            })
            .filter(|v| !v.is_empty())
            .collect();
        secrets.extend(variants);
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        secrets.dedup();
        Redactor { secrets }
    }

    /// `text` with every secret replaced.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }

    /// `value` with every string (keys included) redacted.
    pub fn json(&self, value: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        if self.secrets.is_empty() {
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
        if self.secrets.is_empty() {
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
            redactor.text("pw=hunter2; again hunter2"),
            "pw=[redacted]; again [redacted]"
        );
        // The JSON-escaped form of a secret is caught too.
        assert_eq!(redactor.text(r#"{"x":"a\"b"}"#), r#"{"x":"[redacted]"}"#);
        let value = serde_json::json!({ "hunter2": ["x hunter2 y", 3] });
        assert_eq!(
            redactor.json(value),
            serde_json::json!({ "[redacted]": ["x [redacted] y", 3] })
        );
        assert_eq!(Redactor::new(Vec::new()).text("hunter2"), "hunter2");
    }
}
