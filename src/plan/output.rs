//! Typed task outputs (GRAMMAR.md, "Typed outputs"): the JSON Schema a task's `output:` type
//! becomes in the plan, checking a JSON value against it, and finding the JSON value in an
//! agent's final answer.
//!
//! The plan holds the schema, not the checker's type, so a run needs nothing but its
//! snapshot, and the schema is exactly what an agent CLI with structured output is given.
//! Only the subset [`schema_of`] writes is read back: `string`, `integer`, `boolean`, `enum`,
//! `array` with `items`, and `object` with `properties` and `required`.

use crate::ir::Type;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use std::fmt;

/// What a task declares it returns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputSpec {
    /// The type as written (`{ steps: list<string>, risky: bool }`), for people.
    #[serde(rename = "type")]
    pub ty: String,
    /// The JSON Schema of the value.
    pub schema: Json,
}

impl OutputSpec {
    /// The spec of an output of type `ty`.
    pub fn of(ty: &Type) -> OutputSpec {
        OutputSpec {
            ty: ty.to_string(),
            schema: schema_of(ty),
        }
    }
}

/// The JSON Schema of a value of type `ty`, as the workflow's parameters have theirs.
pub fn schema_of(ty: &Type) -> Json {
    crate::schema::type_schema(ty)
}

/// Why a value does not fit its schema: where, what was expected, what was there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputError {
    /// The place in the value, as `$`, `$.steps`, `$.steps[2]`.
    pub path: String,
    /// What the schema asks for there.
    pub expected: String,
    /// What the value holds there.
    pub got: String,
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the output does not fit its type at {}: expected {}, got {}",
            self.path, self.expected, self.got
        )
    }
}

/// Checks `value` against `schema`; returns the value with fields the schema does not name
/// left out (an agent that adds a field of its own has still answered).
pub fn validate(schema: &Json, value: &Json) -> Result<Json, OutputError> {
    validate_at(schema, value, "$")
}

fn validate_at(schema: &Json, value: &Json, path: &str) -> Result<Json, OutputError> {
    let wrong = |expected: String| OutputError {
        path: path.to_string(),
        expected,
        got: describe(value),
    };
    let kind = schema.get("type").and_then(Json::as_str).unwrap_or("");
    match kind {
        "string" => {
            let Some(text) = value.as_str() else {
                return Err(wrong(expected_of(schema)));
            };
            if let Some(values) = schema.get("enum").and_then(Json::as_array) {
                if !values.iter().any(|v| v.as_str() == Some(text)) {
                    return Err(wrong(expected_of(schema)));
                }
            }
            Ok(value.clone())
        }
        "integer" if value.is_i64() => Ok(value.clone()),
        "boolean" if value.is_boolean() => Ok(value.clone()),
        "array" => {
            let Some(items) = value.as_array() else {
                return Err(wrong(expected_of(schema)));
            };
            let element = schema.get("items").unwrap_or(&Json::Null);
            items
                .iter()
                .enumerate()
                .map(|(index, item)| validate_at(element, item, &format!("{path}[{index}]")))
                .collect::<Result<Vec<_>, _>>()
                .map(Json::Array)
        }
        "object" => {
            let Some(fields) = value.as_object() else {
                return Err(wrong(expected_of(schema)));
            };
            let empty = Map::new();
            let properties = schema
                .get("properties")
                .and_then(Json::as_object)
                .unwrap_or(&empty);
            let mut out = Map::new();
            for (name, field_schema) in properties {
                let at = format!("{path}.{name}");
                let Some(field) = fields.get(name) else {
                    return Err(OutputError {
                        path: at,
                        expected: expected_of(field_schema),
                        got: "nothing (the field is missing)".into(),
                    });
                };
                out.insert(name.clone(), validate_at(field_schema, field, &at)?);
            }
            Ok(Json::Object(out))
        }
        _ => Err(wrong(expected_of(schema))),
    }
}

/// What a schema asks for, in words.
fn expected_of(schema: &Json) -> String {
    match schema.get("type").and_then(Json::as_str).unwrap_or("") {
        "string" => match schema.get("enum").and_then(Json::as_array) {
            Some(values) => {
                let shown: Vec<String> = values.iter().map(Json::to_string).collect();
                format!("one of {}", shown.join(", "))
            }
            None => "a string".into(),
        },
        "integer" => "an integer".into(),
        "boolean" => "true or false".into(),
        "array" => "a list (a JSON array)".into(),
        "object" => {
            let names: Vec<String> = schema
                .get("properties")
                .and_then(Json::as_object)
                .map(|p| p.keys().map(|k| format!("`{k}`")).collect())
                .unwrap_or_default();
            format!("an object with the fields {}", names.join(", "))
        }
        other => format!("a value of JSON type {other}"),
    }
}

/// A value, in words, cut short so a long answer does not flood the error.
fn describe(value: &Json) -> String {
    let what = match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(n) if n.is_i64() => "an integer",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    };
    let mut text = value.to_string();
    if text.chars().count() > 80 {
        text = text.chars().take(77).collect::<String>() + "...";
    }
    format!("{what} {text}")
}

/// The JSON value an answer gives: the whole answer if it is one JSON document, else the
/// last fenced ```json block that parses, else the last JSON object or array in the text.
pub fn find_json(answer: &str) -> Option<Json> {
    let trimmed = answer.trim();
    if let Ok(value) = serde_json::from_str::<Json>(trimmed) {
        return Some(value);
    }
    if let Some(value) = last_fenced_json(answer) {
        return Some(value);
    }
    last_embedded_json(answer)
}

/// The last fenced block (```json, or a bare ```) whose body parses as JSON.
fn last_fenced_json(answer: &str) -> Option<Json> {
    let mut found = None;
    let mut body: Option<String> = None;
    for line in answer.lines() {
        let fence = line.trim_start();
        match &mut body {
            None if fence.starts_with("```") => {
                let info = fence.trim_start_matches('`').trim();
                if info.is_empty() || info.eq_ignore_ascii_case("json") {
                    body = Some(String::new());
                }
            }
            Some(text) if fence.starts_with("```") => {
                if let Ok(value) = serde_json::from_str::<Json>(text) {
                    found = Some(value);
                }
                body = None;
            }
            Some(text) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    found
}

/// The last top-level JSON object or array written in running text: each `{` or `[` is
/// tried in order, and a value that parses is skipped whole, so an inner object is never
/// taken for the last one.
///
/// A failed try may read to the end of the answer, so tries are bounded
/// ([`MAX_FAILED_TRIES`]): an answer of many unclosed brackets would otherwise cost the
/// square of its length.
fn last_embedded_json(answer: &str) -> Option<Json> {
    let mut found = None;
    let mut at = 0;
    let mut failed = 0;
    while let Some(offset) = answer[at..].find(['{', '[']) {
        let start = at + offset;
        let mut values = serde_json::Deserializer::from_str(&answer[start..]).into_iter::<Json>();
        match values.next() {
            Some(Ok(value)) => {
                found = Some(value);
                at = start + values.byte_offset().max(1);
            }
            _ if failed == MAX_FAILED_TRIES => break,
            _ => {
                failed += 1;
                at = start + 1;
            }
        }
    }
    found
}

/// How many `{` or `[` of an answer may fail to start a JSON value before the search for one
/// stops.
const MAX_FAILED_TRIES: usize = 1_000;

/// The value an answer gives for `spec`, checked; or why it gives none.
pub fn read_output(spec: &OutputSpec, answer: &str) -> Result<Json, String> {
    let Some(value) = find_json(answer) else {
        return Err(format!(
            "the answer holds no JSON value; the task must end with its output ({}) as JSON",
            spec.ty
        ));
    };
    validate(&spec.schema, &value).map_err(|error| error.to_string())
}

/// The paragraph of the prompt that asks an agent for its output.
pub fn instructions(spec: &OutputSpec) -> String {
    let schema = serde_json::to_string_pretty(&spec.schema).unwrap_or_default();
    format!(
        "\n## Output\n\nEnd your answer with your output as one JSON value of the type `{}`, in a fenced ```json block. Its JSON Schema:\n\n```json\n{schema}\n```\n",
        spec.ty
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan_type() -> Type {
        Type::Record(vec![
            ("steps".into(), Type::List(Box::new(Type::String))),
            ("risky".into(), Type::Bool),
        ])
    }

    #[test]
    fn a_value_that_fits_keeps_only_its_declared_fields() {
        let schema = schema_of(&plan_type());
        let value = json!({"steps": ["a"], "risky": false, "extra": 1});
        assert_eq!(
            validate(&schema, &value),
            Ok(json!({"steps": ["a"], "risky": false}))
        );
    }

    #[test]
    fn a_misfit_names_its_path_what_was_expected_and_what_came() {
        let schema = schema_of(&plan_type());
        let error = validate(&schema, &json!({"steps": ["a", 2], "risky": true}))
            .expect_err("does not fit");
        assert_eq!(error.path, "$.steps[1]");
        assert_eq!(error.expected, "a string");
        assert_eq!(error.got, "an integer 2");
        let missing = validate(&schema, &json!({"steps": []})).expect_err("does not fit");
        assert_eq!(missing.path, "$.risky");
        let verdict = Type::Enum(vec!["approve".into(), "changes".into()]);
        let error = validate(&schema_of(&verdict), &json!("maybe")).expect_err("does not fit");
        assert_eq!(error.expected, r#"one of "approve", "changes""#);
    }

    #[test]
    fn the_json_of_an_answer_is_found_whole_fenced_or_last_in_the_text() {
        assert_eq!(find_json(" true \n"), Some(json!(true)));
        let fenced = "Here:\n```json\n{\"a\": 1}\n```\nand later\n```json\n[2]\n```\n";
        assert_eq!(find_json(fenced), Some(json!([2])));
        let prose = "I looked at {it}. The plan is {\"steps\": [\"x\", {\"y\": 1}]} as asked.";
        assert_eq!(find_json(prose), Some(json!({"steps": ["x", {"y": 1}]})));
        assert_eq!(find_json("no json here"), None);
    }
}
