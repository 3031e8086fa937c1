//! Filters and the text of values: shared by planning (for parameter values) and the runtime
//! (for results and secrets, known only when a task runs), so both render alike.

use super::spec::FilterSpec;
use crate::ir::Value;

/// The text of a value: strings as they are, numbers in decimal, `true`/`false`, and a
/// list (which no filter joined) as JSON.
pub fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Int(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::List(_) | Value::Record(_) => json_of(value),
    }
}

fn json_of(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Applies `filters` in order and returns the text of the result.
pub fn apply(value: &Value, filters: &[FilterSpec]) -> String {
    let result = filters
        .iter()
        .fold(value.clone(), |value, filter| match filter {
            FilterSpec::Slug => Value::String(slug(&text_of(&value))),
            FilterSpec::Upper => Value::String(text_of(&value).to_uppercase()),
            FilterSpec::Lower => Value::String(text_of(&value).to_lowercase()),
            FilterSpec::Trim => Value::String(text_of(&value).trim().to_string()),
            FilterSpec::Join(separator) => match &value {
                Value::List(items) => Value::String(
                    items
                        .iter()
                        .map(text_of)
                        .collect::<Vec<_>>()
                        .join(separator),
                ),
                _ => value,
            },
            // Only shell text takes `words`, and planning gives each element its own
            // variable there; anywhere else the elements read as words joined by spaces.
            FilterSpec::Words => match &value {
                Value::List(items) => {
                    Value::String(items.iter().map(text_of).collect::<Vec<_>>().join(" "))
                }
                _ => value,
            },
            FilterSpec::Json => Value::String(json_of(&value)),
            FilterSpec::Default(_) => value,
        });
    text_of(&result)
}

/// The text a `default(…)` filter gives for a missing value, if there is one.
pub fn fallback(filters: &[FilterSpec]) -> Option<String> {
    filters.iter().find_map(|filter| match filter {
        FilterSpec::Default(text) => Some(text.clone()),
        _ => None,
    })
}

/// Lower-case ASCII letters and digits, with every other run of characters turned into one
/// `-`, and no `-` at either end: safe in file names, branch names and prose.
pub fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_dash = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.push(c.to_ascii_lowercase());
        } else {
            pending_dash = true;
        }
    }
    out
}

/// A fenced data block holding `text`: the fence is longer than any run of backticks in
/// the text, so nothing inside can close it early.
pub fn fenced(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    let body = text.strip_suffix('\n').unwrap_or(text);
    format!("{fence}text\n{body}\n{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_keep_letters_and_digits_only() {
        assert_eq!(slug("  Hello, World! 42 "), "hello-world-42");
        assert_eq!(slug("$(rm -rf /)"), "rm-rf");
        assert_eq!(slug("ünïcode"), "n-code");
    }

    #[test]
    fn fences_outgrow_the_backticks_inside() {
        assert_eq!(fenced("plain"), "```text\nplain\n```");
        assert_eq!(fenced("a ``` b"), "````text\na ``` b\n````");
        assert_eq!(fenced("`````"), "``````text\n`````\n``````");
    }

    #[test]
    fn filters_apply_in_order() {
        let list = Value::List(vec![Value::String("a".into()), Value::String("b c".into())]);
        assert_eq!(
            apply(&list, &[FilterSpec::Join(", ".into()), FilterSpec::Upper]),
            "A, B C"
        );
        assert_eq!(apply(&list, &[FilterSpec::Json]), r#"["a","b c"]"#);
        assert_eq!(apply(&Value::Int(3), &[FilterSpec::Json]), "3");
        assert_eq!(
            apply(&Value::String("x\"y".into()), &[FilterSpec::Json]),
            r#""x\"y""#
        );
        assert_eq!(apply(&Value::Bool(true), &[]), "true");
    }
}
