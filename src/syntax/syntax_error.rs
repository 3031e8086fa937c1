//! Turning pest's parse errors into `wf::syntax` diagnostics in the user's words.
//!
//! Invariant: users never see a grammar rule's name. Every rule has a description here (the
//! match is exhaustive, so a new rule cannot be forgotten), or none, in which case it is left
//! out of "expected …" lists.

use super::parser::Rule;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;
use pest::error::{ErrorVariant, InputLocation};

/// How a rule is named in "expected …" messages, or `None` for rules users never think of.
pub fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::doc_line | Rule::docs => "a doc comment",
        Rule::doc_text => return None,
        Rule::keyword => "a keyword",
        Rule::ident | Rule::named_type => "a name",
        Rule::word => "a name",
        Rule::kw_import | Rule::import => "`import`",
        Rule::kw_as => "`as`",
        Rule::kw_agent | Rule::agent_decl | Rule::misplaced_agent => "`agent`",
        Rule::kw_workflow | Rule::workflow => "`workflow`",
        Rule::kw_param | Rule::param => "`param`",
        Rule::kw_defaults | Rule::defaults => "`defaults`",
        Rule::kw_task | Rule::task => "`task`",
        Rule::kw_gate | Rule::gate => "`gate`",
        Rule::kw_use | Rule::use_decl => "`use`",
        Rule::kw_repeat | Rule::repeat => "`repeat`",
        Rule::kw_max | Rule::loop_max => "`max`",
        Rule::kw_until | Rule::loop_until => "`until`",
        Rule::kw_after | Rule::after | Rule::task_after | Rule::after_ref => "`after`",
        Rule::outcome => "`(failed)` or `(always)`",
        Rule::outcome_kind => "`failed` or `always`",
        Rule::kw_for | Rule::for_each => "`for each`",
        Rule::kw_each => "`each`",
        Rule::kw_in => "`in`",
        Rule::kw_when | Rule::when => "`when`",
        Rule::kw_matching | Rule::matching => "`matching`",
        Rule::eq | Rule::param_default => "`=`",
        Rule::colon => "`:`",
        Rule::comma => "`,`",
        Rule::dot => "`.`",
        Rule::lbrace | Rule::block => "`{`",
        Rule::rbrace => "`}`",
        Rule::lparen | Rule::use_args => "`(`",
        Rule::rparen => "`)`",
        Rule::lbracket | Rule::list => "`[`",
        Rule::rbracket => "`]`",
        Rule::langle => "`<`",
        Rule::rangle => "`>`",
        Rule::string => "a string",
        Rule::str_text | Rule::block_text => "text",
        Rule::escape | Rule::block_escape => "an escape sequence",
        Rule::unterminated_string | Rule::unterminated_text_block => return None,
        Rule::text_block => "a text block",
        Rule::escaped_string | Rule::escaped_string_text => "a string",
        Rule::interp => "`{{`",
        Rule::interp_path => "a name",
        Rule::interp_close => "`}}`",
        Rule::filter => "`|`",
        Rule::int => "a number",
        Rule::duration => "a duration such as `30m`",
        Rule::boolean => "`true` or `false`",
        Rule::map => "a map `{ … }`",
        Rule::map_entry => "`KEY = value`",
        Rule::ref_path => "a name",
        Rule::value => "a value",
        Rule::expr | Rule::and_expr | Rule::cmp_expr | Rule::unary | Rule::paren_expr => {
            "an expression"
        }
        Rule::cmp_op => "`==`, `!=` or `in`",
        Rule::op_eq => "`==`",
        Rule::op_ne => "`!=`",
        Rule::op_and => "`&&`",
        Rule::op_or => "`||`",
        Rule::op_not => "`!`",
        Rule::file | Rule::strict_item => "`import`, `agent` or `workflow`",
        Rule::strict_member => "`param`, `defaults`, `task`, `gate` or `use`",
        Rule::type_expr | Rule::list_type | Rule::enum_type | Rule::record_type => "a type",
        Rule::record_field => "a record field `NAME: TYPE`",
        Rule::use_arg => "an argument `NAME = value`",
        Rule::field | Rule::strict_field => "a field `NAME = value`",
        Rule::EOI => "the end of the file",
        Rule::unclosed
        | Rule::item_head
        | Rule::member_head
        | Rule::recover_item
        | Rule::recover_member
        | Rule::recover_field
        | Rule::WHITESPACE
        | Rule::COMMENT
        | Rule::doc_start
        | Rule::ident_char
        | Rule::string_close
        | Rule::text_block_close
        | Rule::literal
        | Rule::primary
        | Rule::item
        | Rule::member
        | Rule::workflow_part
        | Rule::members_chunk
        | Rule::file_tail
        | Rule::loop_member
        | Rule::block_close
        | Rule::skip_unit
        | Rule::skip_braces
        | Rule::skip_interp
        | Rule::skip_string
        | Rule::filter_arg => return None,
    })
}

/// The `wf::syntax` diagnostic for a pest error from parsing `text[base..]`.
pub fn syntax_error(error: pest::error::Error<Rule>, base: usize, text: &str) -> Diagnostic {
    let at = base
        + match error.location {
            InputLocation::Pos(pos) => pos,
            InputLocation::Span((start, _)) => start,
        };
    let at = at.min(text.len());
    let mut expected: Vec<&'static str> = Vec::new();
    if let ErrorVariant::ParsingError { positives, .. } = &error.variant {
        for rule in positives {
            let descriptions: Vec<&'static str> = match rule {
                Rule::file | Rule::strict_item => vec!["`import`", "`agent`", "`workflow`"],
                Rule::strict_member => vec!["`param`", "`defaults`", "`task`", "`gate`", "`use`"],
                _ => describe(*rule).into_iter().collect(),
            };
            for description in descriptions {
                if !expected.contains(&description) {
                    expected.push(description);
                }
            }
        }
    }
    // The end of the file is "expected" wherever a string could stop; it is never the point.
    if expected.len() > 1 {
        expected.retain(|e| *e != "the end of the file");
    }
    let rest = &text[at..];
    if rest.starts_with('\\') && expected.contains(&"an escape sequence") {
        let len = rest.chars().take(2).map(char::len_utf8).sum::<usize>();
        return Diagnostic::new(
            Code::Syntax,
            format!("`{}` is not an escape sequence", &rest[..len]),
            Span::new(at, at + len),
            "unknown escape",
        )
        .with_help("strings know the escapes \\\" \\\\ \\n \\t \\r \\u{…} and \\{{ for a literal `{{`; write \\\\ for a backslash");
    }
    let (found, found_span) = found_at(text, at);
    let expectation = if expected.is_empty() {
        "something else".to_string()
    } else {
        one_of(&expected)
    };
    let message = format!("expected {expectation}, found {found}");
    let mut diagnostic = Diagnostic::new(
        Code::Syntax,
        message,
        found_span,
        format!("expected {expectation}"),
    );
    if let Some(help) = help_for(text, at, &found, &expected) {
        diagnostic = diagnostic.with_help(help);
    }
    diagnostic
}

/// Describes what stands at `at`: a word, a character, a line break or the end of the file.
fn found_at(text: &str, at: usize) -> (String, Span) {
    let rest = &text[at..];
    let Some(first) = rest.chars().next() else {
        return ("the end of the file".into(), Span::empty(at));
    };
    if first == '\n' || first == '\r' {
        return (
            "the end of the line".into(),
            Span::new(at, at + first.len_utf8()),
        );
    }
    if rest.starts_with("///") && !rest.starts_with("////") {
        return ("a doc comment".into(), Span::new(at, at + 3));
    }
    if first.is_ascii_alphanumeric() || first == '_' {
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        return (format!("`{}`", &rest[..len]), Span::new(at, at + len));
    }
    if rest.starts_with("\"\"\"") {
        return ("a text block".into(), Span::new(at, at + 3));
    }
    if first == '"' {
        return ("`\"`".into(), Span::new(at, at + 1));
    }
    let shown = if first.is_whitespace() {
        format!("{first:?}")
    } else {
        format!("`{first}`")
    };
    (shown, Span::new(at, at + first.len_utf8()))
}

fn one_of(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// A hint for common mistakes at `at`.
fn help_for(text: &str, at: usize, found: &str, expected: &[&str]) -> Option<String> {
    let rest = &text[at..];
    if found == "a doc comment" {
        return Some(
            "a `///` doc comment must stand right before an agent, workflow, param, task, gate or use; write `//` for a plain comment".into(),
        );
    }
    if rest.starts_with('\\') {
        return Some(
            "strings know the escapes \\\" \\\\ \\n \\t \\r \\u{…} and \\{{ for a literal `{{`"
                .into(),
        );
    }
    if let Some(word) = found.strip_prefix('`').and_then(|f| f.strip_suffix('`')) {
        let keywords: Vec<&str> = expected
            .iter()
            .filter_map(|e| e.strip_prefix('`').and_then(|e| e.strip_suffix('`')))
            .filter(|e| e.chars().all(|c| c.is_ascii_alphabetic() || c == ' '))
            .collect();
        if expected.contains(&"`after`") {
            if let Some(help) = crate::suggest::foreign_word_help(word) {
                return Some(help);
            }
        }
        if let Some(best) = crate::suggest::closest(word, keywords.iter().copied()) {
            return Some(format!("did you mean `{best}`?"));
        }
        const KEYWORDS: [&str; 17] = [
            "import", "as", "agent", "workflow", "param", "defaults", "task", "gate", "use",
            "after", "for", "each", "in", "when", "matching", "true", "false",
        ];
        if KEYWORDS.contains(&word) && expected.contains(&"a name") {
            return Some(format!(
                "`{word}` is a keyword, so it cannot be a name; choose another"
            ));
        }
        if expected.contains(&"a doc comment") && word == "defaults" {
            return Some("doc comments attach to agents, workflows, params, tasks, gates and uses, not to `defaults`; write `//` instead".into());
        }
        if ["task", "gate", "param", "use", "defaults"].contains(&word)
            && expected.contains(&"`workflow`")
        {
            return Some(format!("`{word}` belongs inside a `workflow {{ … }}`"));
        }
        if word.chars().all(|c| c.is_ascii_digit()) && expected.contains(&"`}}`") {
            return None;
        }
    }
    if expected.contains(&"`=`") && expected.len() == 1 {
        return Some("fields and arguments are written `NAME = value`".into());
    }
    if expected.contains(&"`=`") && expected.contains(&"`:`") && expected.len() == 2 {
        return Some(
            "fields are written `NAME = value`; a task's `output` is written `output: TYPE`".into(),
        );
    }
    if let Some(unit) = duration_typo(rest) {
        if ["s", "m", "h", "d"].contains(&unit) {
            return Some("a duration has one unit: write `90m`, not `1h30m`".into());
        }
        return Some(format!(
            "durations use the units s, m, h and d; `{unit}` is not one of them"
        ));
    }
    None
}

fn duration_typo(rest: &str) -> Option<&str> {
    let digits = rest.find(|c: char| !c.is_ascii_digit())?;
    if digits == 0 {
        return None;
    }
    let tail = &rest[digits..];
    let len = tail
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(tail.len());
    (len > 0).then(|| &tail[..len])
}
