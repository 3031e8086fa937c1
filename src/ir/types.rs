//! Parameter types and the values they hold.

use serde::Serialize;
use std::fmt;

/// The type of a parameter, loop variable or expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Type {
    /// One line of text.
    String,
    /// Free multi-line text.
    Text,
    /// An integer.
    Int,
    /// `true` or `false`.
    Bool,
    /// A relative path inside the workspace.
    Path,
    /// Text that is never shown.
    Secret,
    /// One of the listed strings.
    Enum(Vec<String>),
    /// A list of a scalar type (or, in a task's output, of records).
    List(Box<Type>),
    /// A record of named fields, in their declared order: only in a task's `output`.
    Record(Vec<(String, Type)>),
    /// The type of something already reported as wrong; it agrees with everything, so one
    /// mistake is not reported again wherever it is used.
    Error,
}

impl Type {
    /// Whether values of this type are text of some kind.
    pub fn is_textual(&self) -> bool {
        matches!(
            self,
            Type::String | Type::Text | Type::Path | Type::Secret | Type::Enum(_) | Type::Error
        )
    }

    /// Whether a value of type `other` can be used where this type is expected.
    pub fn accepts(&self, other: &Type) -> bool {
        match (self, other) {
            (Type::Error, _) | (_, Type::Error) => true,
            (Type::List(a), Type::List(b)) => a.accepts(b),
            (Type::Enum(a), Type::Enum(b)) => b.iter().all(|v| a.contains(v)),
            (Type::String | Type::Text, Type::String | Type::Enum(_) | Type::Path) => true,
            (Type::Text, Type::Text) => true,
            (a, b) => a == b,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::String => f.write_str("string"),
            Type::Text => f.write_str("text"),
            Type::Int => f.write_str("int"),
            Type::Bool => f.write_str("bool"),
            Type::Path => f.write_str("path"),
            Type::Secret => f.write_str("secret"),
            Type::Enum(values) => {
                let quoted: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
                write!(f, "enum({})", quoted.join(", "))
            }
            Type::List(element) => write!(f, "list<{element}>"),
            Type::Record(fields) => write_record(f, fields),
            Type::Error => f.write_str("unknown"),
        }
    }
}

/// A constant value: a default, an argument or a literal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// Text.
    String(String),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A list.
    List(Vec<Value>),
    /// A record's fields in their declared order: a task's typed output, read at run time.
    #[serde(serialize_with = "record_as_object")]
    Record(Vec<(String, Value)>),
}

/// Writes a record as a JSON object whose keys keep the record's order.
fn record_as_object<S: serde::Serializer>(
    fields: &[(String, Value)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(Some(fields.len()))?;
    for (name, value) in fields {
        map.serialize_entry(name, value)?;
    }
    map.end()
}

impl Value {
    /// The value of a JSON document already validated against its type: strings, integers,
    /// booleans, arrays and objects; anything else (which validation rules out) becomes the
    /// empty string.
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::String(text) => Value::String(text.clone()),
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => n
                .as_i64()
                .map(Value::Int)
                .unwrap_or_else(|| Value::String(n.to_string())),
            serde_json::Value::Array(items) => {
                Value::List(items.iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(fields) => Value::Record(
                fields
                    .iter()
                    .map(|(name, value)| (name.clone(), Value::from_json(value)))
                    .collect(),
            ),
            serde_json::Value::Null => Value::String(String::new()),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(s) => write!(f, "{s:?}"),
            Value::Int(n) => write!(f, "{n}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::List(items) => {
                let shown: Vec<String> = items.iter().map(ToString::to_string).collect();
                write!(f, "[{}]", shown.join(", "))
            }
            Value::Record(fields) => write_record(f, fields),
        }
    }
}

/// A record's fields as written: `{ name: x, other: y }`.
fn write_record<T: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    fields: &[(String, T)],
) -> fmt::Result {
    let shown: Vec<String> = fields
        .iter()
        .map(|(name, x)| format!("{name}: {x}"))
        .collect();
    write!(f, "{{ {} }}", shown.join(", "))
}
