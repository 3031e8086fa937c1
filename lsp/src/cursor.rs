//! Where the cursor is, read from the text itself, for completion.
//!
//! Completion happens in half-typed text, which the parser reads only in part, so this scan
//! does not use the syntax tree. It walks the text up to the cursor once, skipping comments
//! and strings, keeping a stack of the blocks it is in (with the names their headers declare)
//! and the tokens since the last brace, and says what may be typed at the cursor.

use wfc::span::Span;

/// What may be typed at the cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// At the start of a top-level item.
    TopLevel,
    /// At the start of a workflow member.
    WorkflowMember,
    /// In the list after `after`.
    AfterList,
    /// After `NAME (` in a task's `after`: an outcome, `failed` or `always`.
    Outcome,
    /// Where a field name goes in a block.
    FieldName(BlockKind),
    /// A field's value, inside its quotes or not.
    FieldValue {
        /// The block the field is in.
        block: BlockKind,
        /// The field's name.
        field: String,
        /// Whether the cursor is inside a string.
        quoted: bool,
    },
    /// Where an argument's name goes in `use MODULE.WORKFLOW(…)`.
    UseArgument {
        /// The import alias.
        module: String,
        /// The workflow in that module.
        workflow: String,
        /// The arguments already given, which are not offered again.
        given: Vec<String>,
    },
    /// After `use MODULE.`: a workflow of the imported module.
    UseWorkflow(String),
    /// After `param NAME:`, or inside `list<` there.
    ParamType {
        /// Whether the type is a list's element type.
        in_list: bool,
    },
    /// After `for each VAR in`: a list to loop over.
    ForEachList,
    /// After `when`, `!`, `(`, `&&` or `||` in a `when` condition.
    Condition,
    /// Inside an import's path.
    ImportPath,
    /// Inside `{{ … }}`, before any `|`: the dotted segments already typed before the one
    /// at the cursor.
    Interpolation(Vec<String>),
    /// Inside `{{ … }}`, after a `|`.
    Filter,
    /// In a comment, a plain string, or anywhere nothing in particular is expected.
    Nothing,
}

/// The kinds of block a field can be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    /// `agent NAME { … }`.
    Agent,
    /// `defaults { … }`.
    Defaults,
    /// `task NAME { … }`.
    Task,
    /// `gate NAME { … }`.
    Gate,
}

/// The cursor's place and the declarations around it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// What may be typed.
    pub place: Place,
    /// The workflow the cursor is in.
    pub workflow: Option<String>,
    /// The task, gate or use whose header or block the cursor is in.
    pub node: Option<String>,
    /// The loop variable of that task.
    pub loop_var: Option<String>,
    /// The agent profile whose block the cursor is in.
    pub agent: Option<String>,
    /// The innermost block the cursor is in.
    pub block: Option<BlockKind>,
    /// The field whose value holds the cursor, for an interpolation: the field a string, a
    /// list or a map belongs to.
    pub field: Option<String>,
    /// Whether the cursor is in code: not in a comment, nor in a string's text (an
    /// interpolation is code).
    pub code: bool,
}

/// Words that cannot be names, as the grammar's `keyword` rule lists them; rename refuses
/// them as new names, and this scan does not take them for one.
pub const KEYWORDS: [&str; 17] = [
    "import", "as", "agent", "workflow", "param", "defaults", "task", "gate", "use", "after",
    "for", "each", "in", "when", "matching", "true", "false",
];

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Punct(u8),
    Str,
    Newline,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FrameKind {
    Workflow,
    /// A loop's body (`repeat NAME … { … }`), whose members are written as a workflow's.
    Loop,
    Block(BlockKind),
    /// A map value, or a block whose header was not recognised.
    Other,
}

#[derive(Clone, Debug)]
struct Frame {
    kind: FrameKind,
    name: Option<String>,
    loop_var: Option<String>,
}

/// How a string ended, or that the cursor is inside it.
enum StringEnd {
    /// The string closed; scanning resumes at this byte.
    Closed(usize),
    /// The cursor is in the string's text.
    InText,
    /// The cursor is in an interpolation whose text so far is this.
    InInterpolation(String),
}

/// The span of the word (ASCII letters, digits and `_`, as the grammar's names) around byte
/// `offset` of `text`; empty where there is none. Both ends are character boundaries whatever
/// surrounds the word, and an offset inside a character is taken as that character's start.
pub fn word_at(text: &str, offset: usize) -> Span {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    // Every character of a word is one byte, so the word's ends are found byte-wise, and
    // the first byte that is not part of it starts a character.
    let start = text[..offset]
        .char_indices()
        .rev()
        .find(|&(_, c)| !is_word(c))
        .map_or(0, |(at, c)| at + c.len_utf8());
    let end = text[offset..]
        .find(|c| !is_word(c))
        .map_or(text.len(), |length| offset + length);
    Span::new(start, end)
}

/// Reads the cursor's place at byte `offset` of `text`.
pub fn cursor(text: &str, offset: usize) -> Cursor {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let bytes = &text.as_bytes()[..end];
    let mut frames: Vec<Frame> = Vec::new();
    let mut tokens: Vec<Token> = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        match byte {
            b'/' if bytes.get(at + 1) == Some(&b'/') => {
                match bytes[at..].iter().position(|&b| b == b'\n') {
                    Some(length) => at += length,
                    None => {
                        let mut found = finish(Place::Nothing, &frames, &tokens);
                        found.code = false;
                        return found;
                    }
                }
            }
            b'"' => match string(bytes, at) {
                StringEnd::Closed(next) => {
                    tokens.push(Token::Str);
                    at = next;
                }
                StringEnd::InText => {
                    let place = string_place(&frames, &tokens);
                    let mut found = finish(place, &frames, &tokens);
                    found.code = false;
                    return found;
                }
                StringEnd::InInterpolation(typed) => {
                    let mut found = finish(interpolation_place(&typed), &frames, &tokens);
                    found.field = value_field(&frames, &tokens);
                    return found;
                }
            },
            b'{' => {
                frames.push(open_frame(&tokens));
                tokens.clear();
                at += 1;
            }
            b'}' => {
                frames.pop();
                tokens.clear();
                at += 1;
            }
            b'\n' => {
                tokens.push(Token::Newline);
                at += 1;
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                let length = bytes[at..]
                    .iter()
                    .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
                    .unwrap_or(bytes.len() - at);
                let word = String::from_utf8_lossy(&bytes[at..at + length]).into_owned();
                tokens.push(Token::Word(word));
                at += length;
            }
            b if b.is_ascii_whitespace() => at += 1,
            b if b.is_ascii() => {
                tokens.push(Token::Punct(b));
                at += 1;
            }
            // Any other character (non-ASCII outside a string) is a mistake the checker
            // reports; here it only separates tokens.
            _ => at += 1,
        }
    }
    // A word that ends at the cursor is the one being typed: the place is decided by what
    // comes before it.
    let typing = bytes
        .last()
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
    let mut before = tokens.clone();
    if typing && matches!(before.last(), Some(Token::Word(_))) {
        before.pop();
    }
    let place = code_place(&frames, &before);
    finish(place, &frames, &tokens)
}

fn finish(place: Place, frames: &[Frame], tokens: &[Token]) -> Cursor {
    let workflow = frames
        .iter()
        .rev()
        .find(|f| f.kind == FrameKind::Workflow)
        .and_then(|f| f.name.clone());
    let node_frame = frames.iter().rev().find(|f| {
        matches!(
            f.kind,
            FrameKind::Block(BlockKind::Task) | FrameKind::Block(BlockKind::Gate)
        )
    });
    let agent = frames
        .iter()
        .rev()
        .find(|f| f.kind == FrameKind::Block(BlockKind::Agent))
        .and_then(|f| f.name.clone());
    // In a workflow's body, the header being typed declares the node and loop variable.
    let (node, loop_var) = match (node_frame, frames.last()) {
        (Some(frame), _) => (frame.name.clone(), frame.loop_var.clone()),
        (None, Some(top)) if matches!(top.kind, FrameKind::Workflow | FrameKind::Loop) => {
            let header = header(tokens);
            (header.name, header.loop_var)
        }
        _ => (None, None),
    };
    let block = frames.iter().rev().find_map(|f| match f.kind {
        FrameKind::Block(block) => Some(block),
        _ => None,
    });
    Cursor {
        place,
        workflow,
        node,
        loop_var,
        agent,
        block,
        field: None,
        code: true,
    }
}

/// The field whose value the cursor is in: the one a map value (`env = { … }`) was opened
/// for, or the last `FIELD =` that starts a line or follows a comma.
fn value_field(frames: &[Frame], tokens: &[Token]) -> Option<String> {
    if let Some(top) = frames.last().filter(|f| f.kind == FrameKind::Other) {
        return top.name.clone();
    }
    (0..tokens.len().saturating_sub(1)).rev().find_map(|at| {
        let starts = at == 0 || matches!(tokens[at - 1], Token::Newline | Token::Punct(b','));
        match (&tokens[at], &tokens[at + 1]) {
            (Token::Word(field), Token::Punct(b'=')) if starts => Some(field.clone()),
            _ => None,
        }
    })
}

/// Scans the string that starts at `start` (a `"` or `"""`).
fn string(bytes: &[u8], start: usize) -> StringEnd {
    let block = bytes[start..].starts_with(b"\"\"\"");
    let mut at = start + if block { 3 } else { 1 };
    loop {
        let Some(&byte) = bytes.get(at) else {
            return StringEnd::InText;
        };
        match byte {
            b'"' if !block => return StringEnd::Closed(at + 1),
            b'"' if bytes[at..].starts_with(b"\"\"\"") => return StringEnd::Closed(at + 3),
            b'\n' if !block => return StringEnd::Closed(at),
            b'\\' if bytes[at..].starts_with(b"\\{{") => at += 3,
            b'\\' if !block => at += 2,
            b'{' if bytes[at..].starts_with(b"{{") => match interpolation(bytes, at + 2) {
                Some(next) => at = next,
                None => {
                    let typed = String::from_utf8_lossy(&bytes[at + 2..]).into_owned();
                    return StringEnd::InInterpolation(typed);
                }
            },
            _ => at += 1,
        }
    }
}

/// Skips an interpolation's inside from `start` to after its `}}`; `None` if the cursor is
/// inside it. A line break ends it too, as the parser never reads an interpolation past its
/// line.
fn interpolation(bytes: &[u8], start: usize) -> Option<usize> {
    let mut at = start;
    loop {
        match bytes.get(at)? {
            b'}' if bytes.get(at + 1) == Some(&b'}') => return Some(at + 2),
            b'\n' => return Some(at),
            b'"' => {
                // A filter's string argument, such as `default("}}")`.
                at += 1;
                loop {
                    match bytes.get(at)? {
                        b'\\' => at += 2,
                        b'"' => break,
                        b'\n' => return Some(at),
                        _ => at += 1,
                    }
                }
                at += 1;
            }
            _ => at += 1,
        }
    }
}

fn interpolation_place(typed: &str) -> Place {
    if typed.contains('|') {
        return Place::Filter;
    }
    let mut segments: Vec<String> = typed.split('.').map(|s| s.trim().to_string()).collect();
    segments.pop();
    Place::Interpolation(segments)
}

fn string_place(frames: &[Frame], tokens: &[Token]) -> Place {
    let import_path = matches!(tokens.last(), Some(Token::Word(w)) if w == "import");
    if import_path {
        return Place::ImportPath;
    }
    match (frames.last().map(|f| f.kind), field_segment(tokens)) {
        (Some(FrameKind::Block(block)), Some([Token::Word(field), Token::Punct(b'=')])) => {
            Place::FieldValue {
                block,
                field: field.clone(),
                quoted: true,
            }
        }
        _ => Place::Nothing,
    }
}

fn code_place(frames: &[Frame], tokens: &[Token]) -> Place {
    let Some(top) = frames.last() else {
        return match line(tokens).is_empty() {
            true => Place::TopLevel,
            false => Place::Nothing,
        };
    };
    match top.kind {
        FrameKind::Workflow | FrameKind::Loop => {
            if in_after_list(tokens) {
                Place::AfterList
            } else if at_outcome(tokens) {
                Place::Outcome
            } else if let Some(place) = use_argument(tokens) {
                place
            } else if let Some(place) = header_place(line(tokens)) {
                place
            } else if line(tokens).is_empty() {
                Place::WorkflowMember
            } else {
                Place::Nothing
            }
        }
        FrameKind::Block(block) => match field_segment(tokens) {
            Some([]) => Place::FieldName(block),
            Some([Token::Word(field), Token::Punct(b'=')]) => Place::FieldValue {
                block,
                field: field.clone(),
                quoted: false,
            },
            _ => Place::Nothing,
        },
        FrameKind::Other => Place::Nothing,
    }
}

/// The tokens since the last line break.
fn line(tokens: &[Token]) -> &[Token] {
    let start = tokens
        .iter()
        .rposition(|t| *t == Token::Newline)
        .map_or(0, |at| at + 1);
    &tokens[start..]
}

/// The tokens of the field being written: since the last line break or comma, unless the
/// cursor is inside brackets, which a value's list or arguments open.
fn field_segment(tokens: &[Token]) -> Option<&[Token]> {
    let depth = tokens.iter().fold(0i32, |depth, token| match token {
        Token::Punct(b'[' | b'(') => depth + 1,
        Token::Punct(b']' | b')') => depth - 1,
        _ => depth,
    });
    if depth > 0 {
        return None;
    }
    let start = tokens
        .iter()
        .rposition(|t| matches!(t, Token::Newline | Token::Punct(b',')))
        .map_or(0, |at| at + 1);
    Some(&tokens[start..])
}

/// The outcomes a task's `after` may wait for: `build (failed)`, `build (always)`.
const OUTCOMES: [&str; 2] = ["failed", "always"];

/// Whether the tokens end in `task … after …, NAME (`, where an outcome goes.
fn at_outcome(tokens: &[Token]) -> bool {
    let in_task = matches!(line(tokens).first(), Some(Token::Word(w)) if w == "task");
    match tokens {
        [rest @ .., Token::Word(name), Token::Punct(b'(')] => {
            in_task && !KEYWORDS.contains(&name.as_str()) && in_after_list(rest)
        }
        _ => false,
    }
}

/// Whether the tokens end in `after NAME, NAME, …,` (or `after` alone): a list that takes
/// another name. Line breaks may follow its commas.
fn in_after_list(tokens: &[Token]) -> bool {
    let mut want_name = false;
    let mut rest = tokens;
    while let Some((last, before)) = rest.split_last() {
        // A name written with its outcome, `build (failed)`, counts as the name.
        if let [.., Token::Word(_), Token::Punct(b'('), Token::Word(outcome), Token::Punct(b')')] =
            rest
        {
            if want_name && OUTCOMES.contains(&outcome.as_str()) {
                rest = &rest[..rest.len() - 3];
                continue;
            }
        }
        match last {
            Token::Word(word) if word == "after" => return !want_name,
            Token::Word(word) if want_name && !KEYWORDS.contains(&word.as_str()) => {
                want_name = false;
            }
            Token::Punct(b',') if !want_name => want_name = true,
            Token::Newline if !want_name => {}
            _ => return false,
        }
        rest = before;
    }
    false
}

/// Whether the tokens end inside `use M.W(` right after `(` or `,`, where an argument's name
/// goes.
fn use_argument(tokens: &[Token]) -> Option<Place> {
    let start = tokens
        .iter()
        .rposition(|t| matches!(t, Token::Word(w) if w == "use"))?;
    let (Some(Token::Word(module)), Some(Token::Punct(b'.')), Some(Token::Word(workflow))) = (
        tokens.get(start + 1),
        tokens.get(start + 2),
        tokens.get(start + 3),
    ) else {
        return None;
    };
    let rest = &tokens[start + 4..];
    let depth = rest.iter().fold(0i32, |depth, token| match token {
        Token::Punct(b'(' | b'[') => depth + 1,
        Token::Punct(b')' | b']') => depth - 1,
        _ => depth,
    });
    let open = rest.first() == Some(&Token::Punct(b'(')) && depth == 1;
    let after_separator = matches!(
        rest.iter().rfind(|t| **t != Token::Newline),
        Some(Token::Punct(b'(' | b','))
    );
    // Names followed by `=` at the top level of the arguments are given already.
    let mut given = Vec::new();
    let mut depth = 0i32;
    for pair in rest.windows(2) {
        match &pair[0] {
            Token::Punct(b'(' | b'[') => depth += 1,
            Token::Punct(b')' | b']') => depth -= 1,
            Token::Word(name) if depth == 1 && pair[1] == Token::Punct(b'=') => {
                given.push(name.clone());
            }
            _ => {}
        }
    }
    (open && after_separator).then(|| Place::UseArgument {
        module: module.clone(),
        workflow: workflow.clone(),
        given,
    })
}

/// The places in a member's first line that take something other than a name: a type after
/// `param NAME:`, a workflow after `use M.`, a list after `for each VAR in`, a condition.
fn header_place(line: &[Token]) -> Option<Place> {
    let word = |token: &Token, wanted: &str| matches!(token, Token::Word(w) if w == wanted);
    if let [first, Token::Word(_), Token::Punct(b':'), rest @ ..] = line {
        if word(first, "param") {
            return match rest {
                [] => Some(Place::ParamType { in_list: false }),
                [.., list, Token::Punct(b'<')] if word(list, "list") => {
                    Some(Place::ParamType { in_list: true })
                }
                _ => None,
            };
        }
    }
    if let [.., use_word, Token::Word(module), Token::Punct(b'.')] = line {
        if word(use_word, "use") {
            return Some(Place::UseWorkflow(module.clone()));
        }
    }
    if let [.., each, Token::Word(_), in_word] = line {
        if word(each, "each") && word(in_word, "in") {
            return Some(Place::ForEachList);
        }
    }
    // A loop's `until` is a condition as a `when` is.
    let when = line
        .iter()
        .rposition(|t| word(t, "when") || word(t, "until"))?;
    let operand_expected = matches!(
        &line[when..],
        [_] | [.., Token::Punct(b'!' | b'(')]
            | [.., Token::Punct(b'&'), Token::Punct(b'&')]
            | [.., Token::Punct(b'|'), Token::Punct(b'|')]
    );
    operand_expected.then_some(Place::Condition)
}

/// What a header declares: the name after its keyword, and a `for each` variable.
struct Header {
    keyword: Option<String>,
    name: Option<String>,
    loop_var: Option<String>,
}

fn header(tokens: &[Token]) -> Header {
    let word = |at: usize| match tokens.get(at) {
        Some(Token::Word(word)) => Some(word.clone()),
        _ => None,
    };
    let keyword_at = tokens.iter().rposition(|t| {
        matches!(t, Token::Word(w) if ["workflow", "agent", "task", "gate", "defaults", "use", "repeat"].contains(&w.as_str()))
    });
    let Some(start) = keyword_at else {
        return Header {
            keyword: None,
            name: None,
            loop_var: None,
        };
    };
    let keyword = word(start);
    let name = if keyword.as_deref() == Some("use") {
        let as_at = tokens[start..]
            .iter()
            .position(|t| matches!(t, Token::Word(w) if w == "as"));
        as_at.and_then(|at| word(start + at + 1))
    } else {
        word(start + 1).filter(|w| !KEYWORDS.contains(&w.as_str()))
    };
    let loop_var = tokens[start..]
        .iter()
        .position(|t| matches!(t, Token::Word(w) if w == "each"))
        .and_then(|at| word(start + at + 1));
    Header {
        keyword,
        name,
        loop_var,
    }
}

fn open_frame(tokens: &[Token]) -> Frame {
    let map_value = matches!(
        tokens.last(),
        Some(Token::Punct(b'=' | b',' | b'[' | b'(')) | None
    );
    let header = header(tokens);
    let kind = match header.keyword.as_deref() {
        _ if map_value => FrameKind::Other,
        Some("workflow") => FrameKind::Workflow,
        Some("agent") => FrameKind::Block(BlockKind::Agent),
        Some("task") => FrameKind::Block(BlockKind::Task),
        Some("gate") => FrameKind::Block(BlockKind::Gate),
        Some("defaults") => FrameKind::Block(BlockKind::Defaults),
        Some("repeat") => FrameKind::Loop,
        _ => FrameKind::Other,
    };
    // A map value's frame is named after its field, which interpolations inside it belong to.
    let name = match tokens {
        [.., Token::Word(field), Token::Punct(b'=')] if kind == FrameKind::Other => {
            Some(field.clone())
        }
        _ => header.name,
    };
    Frame {
        kind,
        name,
        loop_var: header.loop_var,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cursor at the `‸` in `marked`.
    fn at(marked: &str) -> Cursor {
        let offset = marked.find('‸').expect("a ‸ marks the cursor");
        let text = marked.replace('‸', "");
        cursor(&text, offset)
    }

    #[test]
    fn a_task_s_after_takes_outcomes() {
        assert_eq!(
            at("workflow w {\n  task a {}\n  task b after a (‸").place,
            Place::Outcome
        );
        assert_eq!(
            at("workflow w {\n  task b after x (failed), ‸").place,
            Place::AfterList
        );
        assert_eq!(
            at("workflow w {\n  gate g after a (‸").place,
            Place::Nothing
        );
    }

    #[test]
    fn after_lists_take_node_names() {
        let c = at("workflow w {\n  task a {}\n  task b after a, ‸");
        assert_eq!(c.place, Place::AfterList);
        assert_eq!(c.workflow.as_deref(), Some("w"));
        assert_eq!(c.node.as_deref(), Some("b"));
        assert_eq!(at("workflow w {\n  gate g after ‸").place, Place::AfterList);
        assert_eq!(
            at("workflow w {\n  gate g after x‸").place,
            Place::AfterList
        );
        assert_eq!(at("workflow w {\n  gate g after x ‸").place, Place::Nothing);
    }

    #[test]
    fn interpolations_know_their_loop_variable_and_filters() {
        let c = at("workflow w {\n  task t for each k in ks {\n    prompt = \"do {{ ‸");
        assert_eq!(c.place, Place::Interpolation(vec![]));
        assert_eq!(c.loop_var.as_deref(), Some("k"));
        assert_eq!(c.node.as_deref(), Some("t"));
        let c = at("workflow w {\n  task t {\n    prompt = \"\"\"\n  {{ design.r‸");
        assert_eq!(c.place, Place::Interpolation(vec!["design".to_string()]));
        assert_eq!(
            at("workflow w { task t { run = \"{{ x | ‸").place,
            Place::Filter
        );
        let c = at("workflow w { task t { run = \"{{ x }} ‸");
        assert!(matches!(c.place, Place::FieldValue { quoted: true, .. }));
    }

    #[test]
    fn fields_and_values_depend_on_the_block() {
        let c = at("workflow w {\n  task t {\n    ti‸");
        assert_eq!(c.place, Place::FieldName(BlockKind::Task));
        let c = at("agent a {\n  adapter = \"‸");
        assert_eq!(
            c.place,
            Place::FieldValue {
                block: BlockKind::Agent,
                field: "adapter".into(),
                quoted: true
            }
        );
        assert_eq!(c.agent.as_deref(), Some("a"));
        let c = at("workflow w {\n  defaults {\n    agent = ‸");
        assert_eq!(
            c.place,
            Place::FieldValue {
                block: BlockKind::Defaults,
                field: "agent".into(),
                quoted: false
            }
        );
        assert_eq!(
            at("workflow w {\n  task t {\n    env = { ‸").place,
            Place::Nothing
        );
        assert_eq!(
            at("workflow w {\n  task t {\n    accept = [\n      ‸").place,
            Place::Nothing
        );
    }

    #[test]
    fn imports_comments_and_members() {
        assert_eq!(at("import \"std/‸").place, Place::ImportPath);
        assert_eq!(at("// task t after ‸").place, Place::Nothing);
        assert_eq!(at("workflow w {\n  ‸").place, Place::WorkflowMember);
        let place = |given: &[&str]| Place::UseArgument {
            module: "m".into(),
            workflow: "w".into(),
            given: given.iter().map(|g| g.to_string()).collect(),
        };
        assert_eq!(at("workflow x {\n  use m.w(‸").place, place(&[]));
        assert_eq!(
            at("workflow x {\n  use m.w(a = [1, 2], b‸").place,
            place(&["a"])
        );
        assert_eq!(at("workflow x {\n  use m.w(a = ‸").place, Place::Nothing);
        assert_eq!(at("‸").place, Place::TopLevel);
        assert_eq!(
            at("workflow w {\n  task t { run = \"}\" }\n  ‸").place,
            Place::WorkflowMember
        );
    }
}
