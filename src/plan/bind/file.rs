//! Reading a `--params` file (JSON or TOML) into a small tree of values that remember where
//! they were written, so every complaint about a value can point at its line and column.
//!
//! JSON is first checked by `serde_json`, whose errors carry the position; a short scanner
//! then walks the (now known to be valid) text to find where each key and value starts,
//! because `serde_json` values do not keep their positions. TOML comes from the `toml`
//! crate's spanned document tree.

use toml::de::{DeTable, DeValue};

/// The formats a `--params` file can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Format {
    /// JSON, chosen by a `.json` name or by a guess.
    Json,
    /// TOML, chosen by a `.toml` name or by a guess.
    Toml,
}

impl Format {
    /// The format's name, for messages.
    pub(super) fn name(self) -> &'static str {
        match self {
            Format::Json => "JSON",
            Format::Toml => "TOML",
        }
    }
}

/// A value from a file, with the byte offset where it starts.
#[derive(Clone, Debug)]
pub(super) struct Node {
    /// Byte offset of the value's first character in the file.
    pub offset: usize,
    /// What the value is.
    pub kind: Kind,
}

/// The kinds of value a JSON or TOML file can hold.
#[derive(Clone, Debug)]
pub(super) enum Kind {
    /// A string.
    Str(String),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// An integer that does not fit in 64 bits, as written.
    BigInt(String),
    /// A number with a fraction or an exponent.
    Float,
    /// A boolean.
    Bool(bool),
    /// JSON's `null`.
    Null,
    /// A TOML date or time.
    Datetime,
    /// An array.
    Array(Vec<Node>),
    /// A JSON object or a TOML table, in the order of the file.
    Table(Vec<Entry>),
}

impl Kind {
    /// "a string", "an array", …: what the value is, for "must be X, not Y" messages.
    pub(super) fn describe(&self, format: Format) -> &'static str {
        match self {
            Kind::Str(_) => "a string",
            Kind::Int(_) | Kind::BigInt(_) => "an integer",
            Kind::Float => "a float",
            Kind::Bool(_) => "a boolean",
            Kind::Null => "null",
            Kind::Datetime => "a date-time",
            Kind::Array(_) => "an array",
            Kind::Table(_) => match format {
                Format::Json => "an object",
                Format::Toml => "a table",
            },
        }
    }
}

/// One key of an object or table and its value.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    /// The key, unquoted and unescaped.
    pub key: String,
    /// Byte offset of the key as written (its opening quote, if quoted).
    pub key_offset: usize,
    /// The value.
    pub value: Node,
}

/// Why a file could not be read as its format.
#[derive(Clone, Debug)]
pub(super) struct SyntaxError {
    /// The format the file was read as.
    pub format: Format,
    /// Byte offset of the problem.
    pub offset: usize,
    /// What the parser said, without its own position.
    pub message: String,
}

/// Parses a `--params` file: JSON if `name` ends in `.json`, TOML if in `.toml`, otherwise
/// JSON if it parses as JSON, else TOML. When a guessed file parses as neither, the error
/// reported is the JSON one if the text looks like JSON (starts with `{` or `[`), since
/// that is what its author most likely meant.
pub(super) fn parse(name: &str, text: &str) -> Result<(Format, Node), SyntaxError> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".json") {
        return parse_json(text).map(|node| (Format::Json, node));
    }
    if lower.ends_with(".toml") {
        return parse_toml(text).map(|node| (Format::Toml, node));
    }
    let json = match parse_json(text) {
        Ok(node) => return Ok((Format::Json, node)),
        Err(error) => error,
    };
    match parse_toml(text) {
        Ok(node) => Ok((Format::Toml, node)),
        Err(toml_error) => {
            if text.trim_start().starts_with(['{', '[']) {
                Err(json)
            } else {
                Err(toml_error)
            }
        }
    }
}

/// Parses a JSON document into a [`Node`] tree.
pub(super) fn parse_json(text: &str) -> Result<Node, SyntaxError> {
    if let Err(error) = serde_json::from_str::<serde_json::Value>(text) {
        return Err(SyntaxError {
            format: Format::Json,
            // At the end of the text the problem is where more was expected, just past the
            // last character, rather than at the last character `serde_json` points to.
            offset: if error.is_eof() {
                text.len()
            } else {
                json_error_offset(text, error.line(), error.column())
            },
            message: strip_position(&error.to_string()),
        });
    }
    let mut scanner = JsonScanner { text, pos: 0 };
    scanner.skip_whitespace();
    // The text was valid, so the scanner cannot fail on it; if the two ever disagree, say
    // so at the start of the file rather than panicking or guessing.
    scanner.value(0).ok_or_else(|| SyntaxError {
        format: Format::Json,
        offset: 0,
        message: "the file could not be read as JSON".into(),
    })
}

/// Parses a TOML document into a [`Node`] tree (its root is a [`Kind::Table`]).
pub(super) fn parse_toml(text: &str) -> Result<Node, SyntaxError> {
    match DeTable::parse(text) {
        Ok(table) => Ok(Node {
            offset: 0,
            kind: toml_table(table.get_ref()),
        }),
        Err(error) => Err(SyntaxError {
            format: Format::Toml,
            offset: error.span().map_or(0, |span| span.start),
            message: error.message().trim().to_string(),
        }),
    }
}

/// The 1-based line and column of byte `offset` in `text`, columns counted in characters.
/// An offset past the end or inside a character is moved back to the nearest character.
pub(super) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The byte offset `serde_json` means by a 1-based `line` and a `column` that counts bytes
/// up to and including the offending one (0 when the problem is at the start of a line).
fn json_error_offset(text: &str, line: usize, column: usize) -> usize {
    let mut line_start = 0;
    for _ in 1..line {
        match text[line_start..].find('\n') {
            Some(i) => line_start += i + 1,
            None => break,
        }
    }
    (line_start + column.saturating_sub(1)).min(text.len())
}

/// `serde_json`'s message without the " at line L column C" it appends, since the caller
/// reports the position itself.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Walks JSON text that `serde_json` has already accepted, noting where each value starts.
/// Every step returns `None` rather than panicking if the text is not what it expects.
struct JsonScanner<'t> {
    text: &'t str,
    pos: usize,
}

/// Deeper nesting than this is refused; `serde_json` refuses it first anyway (at 128).
const MAX_DEPTH: usize = 256;

impl JsonScanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_whitespace();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Some(())
        } else {
            None
        }
    }

    fn value(&mut self, depth: usize) -> Option<Node> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_whitespace();
        let offset = self.pos;
        let kind = match self.peek()? {
            b'{' => self.object(depth)?,
            b'[' => self.array(depth)?,
            b'"' => Kind::Str(self.string()?),
            _ => self.scalar()?,
        };
        Some(Node { offset, kind })
    }

    fn object(&mut self, depth: usize) -> Option<Kind> {
        self.pos += 1;
        let mut entries = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Some(Kind::Table(entries));
        }
        loop {
            self.skip_whitespace();
            let key_offset = self.pos;
            if self.peek() != Some(b'"') {
                return None;
            }
            let key = self.string()?;
            self.expect(b':')?;
            let value = self.value(depth + 1)?;
            entries.push(Entry {
                key,
                key_offset,
                value,
            });
            self.skip_whitespace();
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Some(Kind::Table(entries));
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<Kind> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Some(Kind::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_whitespace();
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Some(Kind::Array(items));
                }
                _ => return None,
            }
        }
    }

    /// A string starting at the current `"`; `serde_json` decodes its escapes.
    fn string(&mut self) -> Option<String> {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.peek()? {
                b'\\' => self.pos += 2,
                b'"' => {
                    self.pos += 1;
                    break;
                }
                _ => self.pos += 1,
            }
        }
        serde_json::from_str(self.text.get(start..self.pos)?).ok()
    }

    /// A number, `true`, `false` or `null`: everything up to the next delimiter.
    fn scalar(&mut self) -> Option<Kind> {
        let start = self.pos;
        while let Some(byte) = self.peek() {
            if matches!(byte, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r') {
                break;
            }
            self.pos += 1;
        }
        let raw = self.text.get(start..self.pos)?;
        // An integer too large for 64 bits reaches `serde_json` as a float; it is told apart
        // here so the message can say it is too large rather than that it has a fraction.
        let digits = raw.strip_prefix('-').unwrap_or(raw);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return Some(match raw.parse::<i64>() {
                Ok(n) => Kind::Int(n),
                Err(_) => Kind::BigInt(raw.to_string()),
            });
        }
        Some(match serde_json::from_str::<serde_json::Value>(raw).ok()? {
            serde_json::Value::Bool(b) => Kind::Bool(b),
            serde_json::Value::Null => Kind::Null,
            serde_json::Value::Number(_) => Kind::Float,
            _ => return None,
        })
    }
}

/// A TOML table's entries, in the order of the file (the parser keeps them sorted by key).
fn toml_table(table: &DeTable<'_>) -> Kind {
    let mut entries: Vec<Entry> = table
        .iter()
        .map(|(key, value)| Entry {
            key: key.get_ref().to_string(),
            key_offset: key.span().start,
            value: toml_value(value.get_ref(), value.span().start),
        })
        .collect();
    entries.sort_by_key(|entry| entry.key_offset);
    Kind::Table(entries)
}

fn toml_value(value: &DeValue<'_>, offset: usize) -> Node {
    let kind = match value {
        DeValue::String(s) => Kind::Str(s.to_string()),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => Kind::Int(n),
            Err(_) => Kind::BigInt(i.to_string()),
        },
        DeValue::Float(_) => Kind::Float,
        DeValue::Boolean(b) => Kind::Bool(*b),
        DeValue::Datetime(_) => Kind::Datetime,
        DeValue::Array(items) => Kind::Array(
            items
                .iter()
                .map(|item| toml_value(item.get_ref(), item.span().start))
                .collect(),
        ),
        DeValue::Table(table) => toml_table(table),
    };
    Node { offset, kind }
}
