//! From text to syntax tree: the pest grammar, error recovery, and the lowering of pest's
//! pairs into the AST.

use super::ast::*;
use super::chunks::{parse_in_pieces, piece_bytes, PIECES_FROM};
use super::scan::{scan, Comment, Scan, MAX_NESTING};
use super::strings::{dedent_block, merge_text, unescape};
use super::syntax_error::syntax_error;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;
use pest::iterators::{Pair, Pairs};
use pest::Parser as _;

/// The pest parser generated from `grammar/wf.pest`.
#[derive(pest_derive::Parser)]
#[grammar = "../grammar/wf.pest"]
pub struct WfParser;

/// The largest source file the parser reads, in bytes.
pub const MAX_SOURCE_BYTES: usize = 64 << 20;

/// A parsed file: the tree of everything that could be read, the syntax errors, and the
/// plain comments (which the tree does not hold, but the formatter keeps).
#[derive(Debug)]
pub struct Parsed {
    /// The syntax tree; broken regions appear as `Broken` nodes.
    pub file: File,
    /// Syntax errors, in document order.
    pub diagnostics: Vec<Diagnostic>,
    /// Every `//` comment.
    pub comments: Vec<Comment>,
}

impl Parsed {
    /// Whether the text had syntax errors.
    pub fn has_errors(&self) -> bool {
        !self.diagnostics.is_empty()
    }
}

/// Decodes a file's bytes, or reports where they stop being UTF-8.
pub fn decode(bytes: &[u8]) -> Result<&str, Diagnostic> {
    std::str::from_utf8(bytes).map_err(|error| {
        let at = error.valid_up_to();
        let len = error.error_len().unwrap_or(bytes.len() - at).max(1);
        Diagnostic::new(
            Code::Syntax,
            format!("the file is not valid UTF-8: byte {at} starts an invalid sequence"),
            Span::new(at, at + len),
            "not UTF-8",
        )
        .with_help("save the file as UTF-8")
    })
}

/// Parses `text`. Never panics; reads as much of the text as it can.
pub fn parse(text: &str) -> Parsed {
    if text.len() > MAX_SOURCE_BYTES {
        return failed(Diagnostic::new(
            Code::Syntax,
            format!(
                "the file is {} bytes; the limit is {MAX_SOURCE_BYTES}",
                text.len()
            ),
            Span::empty(0),
            "file too large",
        ));
    }
    let scanned = scan(text);
    if let Some(at) = scanned.too_deep_at {
        let len = text[at..].chars().next().map_or(0, char::len_utf8);
        return failed(
            Diagnostic::new(
                Code::Syntax,
                format!("brackets, strings and interpolations nest deeper than {MAX_NESTING} levels here"),
                Span::new(at, at + len),
                "too deep",
            )
            .with_help("a workflow never needs this much nesting; look for unbalanced brackets"),
        );
    }
    if text.len() >= PIECES_FROM {
        let pieces = parse_in_pieces(text, &scanned.member_starts, piece_bytes(text));
        if let Some(file) = pieces {
            return Parsed {
                file,
                diagnostics: Vec::new(),
                comments: scanned.comments,
            };
        }
    }
    parse_whole(text, scanned)
}

/// Parses `text`, scanned as `scanned`, at once.
pub fn parse_whole(text: &str, scanned: Scan) -> Parsed {
    let mut lowerer = Lowerer {
        text,
        base: 0,
        diagnostics: Vec::new(),
        swallowed_to_end: false,
        misplaced_agents: Vec::new(),
    };
    let file = match WfParser::parse(Rule::file, text) {
        Ok(mut pairs) => match pairs.next() {
            Some(file) => lowerer.file(file),
            None => File::default(),
        },
        Err(error) => {
            lowerer.diagnostics.push(syntax_error(error, 0, text));
            File::default()
        }
    };
    let mut diagnostics = lowerer.diagnostics;
    crate::diagnostic::sort_diagnostics(&mut diagnostics);
    Parsed {
        file,
        diagnostics,
        comments: scanned.comments,
    }
}

/// What a piece of a large file is (`syntax::chunks`), and so how it is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PieceKind {
    /// The file up to a cut inside a workflow, with a `}` added to close that workflow: a
    /// whole file of its own.
    Head,
    /// Members of the workflow, from one cut to the next.
    Members,
    /// The rest of the file from the last cut: members, the workflow's `}`, more items.
    Tail,
}

/// A piece of a large file, parsed and lowered on its own.
#[derive(Debug)]
pub(super) enum Piece {
    /// The file up to the first cut; its last item is the workflow that was cut.
    Head(File),
    /// Members of that workflow.
    Members(Vec<Member>),
    /// The workflow's last members, where its `}` ends, and the items after it.
    Tail {
        members: Vec<Member>,
        end: usize,
        items: Vec<Item>,
    },
}

/// Parses `input`, the piece of `text` that starts at byte `base` (for a head, with a `}`
/// added at its end), as a piece of kind `kind`. `None` when the piece has any mistake in it:
/// the whole file is then read at once, so every diagnostic is the one the whole file gives.
pub(super) fn parse_piece(text: &str, input: &str, base: usize, kind: PieceKind) -> Option<Piece> {
    let rule = match kind {
        PieceKind::Head => Rule::file,
        PieceKind::Members => Rule::members_chunk,
        PieceKind::Tail => Rule::file_tail,
    };
    let root = WfParser::parse(rule, input).ok()?.next()?;
    let mut lowerer = Lowerer {
        text,
        base,
        diagnostics: Vec::new(),
        swallowed_to_end: false,
        misplaced_agents: Vec::new(),
    };
    let piece = match kind {
        PieceKind::Head => Piece::Head(lowerer.file(root)),
        PieceKind::Members => {
            let mut members = Vec::new();
            for part in root.into_inner() {
                lowerer.workflow_part(part, "", &mut members);
            }
            Piece::Members(members)
        }
        PieceKind::Tail => {
            let (mut members, mut items, mut end) = (Vec::new(), Vec::new(), None);
            for part in root.into_inner() {
                match part.as_rule() {
                    Rule::rbrace => end = Some(lowerer.span_of(&part).end),
                    Rule::import | Rule::agent_decl | Rule::workflow | Rule::recover_item => {
                        lowerer.item(part, &mut items)
                    }
                    _ if end.is_none() => lowerer.workflow_part(part, "", &mut members),
                    _ => {}
                }
            }
            Piece::Tail {
                members,
                end: end?,
                items,
            }
        }
    };
    let clean = lowerer.diagnostics.is_empty()
        && lowerer.misplaced_agents.is_empty()
        && !lowerer.swallowed_to_end;
    clean.then_some(piece)
}

fn failed(diagnostic: Diagnostic) -> Parsed {
    Parsed {
        file: File::default(),
        diagnostics: vec![diagnostic],
        comments: Vec::new(),
    }
}

/// What tasks and gates have in common, as read from the tree.
struct NodeParts {
    docs: Option<Docs>,
    name: Name,
    for_each: Option<ForEach>,
    after: Vec<Name>,
    outcomes: Vec<AfterOutcome>,
    when: Option<Expr>,
    block: Block,
    span: Span,
}

struct Lowerer<'a> {
    /// The whole file: the spans the lowerer makes are places in it.
    text: &'a str,
    /// Where the text pest read starts in the file: a piece of a large file is parsed alone,
    /// and pest counts from the piece's start.
    base: usize,
    diagnostics: Vec<Diagnostic>,
    /// Set when a text block runs to the end of the file: every block around it is then
    /// unclosed too, which is the same mistake and not reported again.
    swallowed_to_end: bool,
    /// Agent profiles written inside a workflow: reported there, and declared as if at the
    /// top level (after the workflow), so tasks that name them are not reported too.
    misplaced_agents: Vec<Agent>,
}

impl Lowerer<'_> {
    /// The place of `pair` in the file.
    fn span_of(&self, pair: &Pair<'_, Rule>) -> Span {
        let span = pair.as_span();
        Span::new(self.base + span.start(), self.base + span.end())
    }

    /// The place of a pair up to the end of its last child. pest counts the white space and
    /// comments it skipped while trying a missing optional clause at the end of a rule as
    /// part of the rule, which would make a `param`'s span swallow the comment after it.
    fn tight_span(&self, pair: &Pair<'_, Rule>) -> Span {
        let span = self.span_of(pair);
        let end = pair
            .clone()
            .into_inner()
            .last()
            .map_or(span.end, |last| self.base + last.as_span().end());
        Span::new(span.start, end)
    }

    fn name_of(&self, pair: &Pair<'_, Rule>) -> Name {
        Name {
            text: pair.as_str().to_string(),
            span: self.span_of(pair),
        }
    }

    fn file(&mut self, pair: Pair<'_, Rule>) -> File {
        let mut items = Vec::new();
        for item in pair.into_inner() {
            self.item(item, &mut items);
        }
        File { items }
    }

    /// Lowers `item` into `items` if it is a top-level item or a broken one.
    fn item(&mut self, item: Pair<'_, Rule>, items: &mut Vec<Item>) {
        match item.as_rule() {
            Rule::import => items.push(Item::Import(self.import(item))),
            Rule::agent_decl => items.push(Item::Agent(self.agent(item))),
            Rule::workflow => {
                items.push(Item::Workflow(self.workflow(item)));
                items.extend(self.misplaced_agents.drain(..).map(Item::Agent));
            }
            Rule::recover_item => items.push(Item::Broken(self.broken(&item, Rule::strict_item))),
            _ => {}
        }
    }

    /// Reports the syntax error in a region the recovery skipped, by re-reading it with the
    /// strict rule, and keeps the name it seemed to declare.
    fn broken(&mut self, pair: &Pair<'_, Rule>, strict: Rule) -> Broken {
        let span = self.span_of(pair);
        let error = match WfParser::parse(strict, &self.text[span.start..]) {
            Err(error) => syntax_error(error, span.start, self.text),
            Ok(_) => Diagnostic::new(
                Code::Syntax,
                "this text cannot be read here",
                span,
                "not understood",
            ),
        };
        self.diagnostics.push(error);
        let mut words = pair
            .as_str()
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty());
        let keyword = words.next().map(str::to_string);
        let name = match keyword.as_deref() {
            // After a keyword, or a misspelt one (`tsk compile`), the next word is the name.
            Some(first) if first.chars().all(|c| c.is_ascii_lowercase()) && first.len() <= 10 => {
                let text = pair.as_str();
                let after_keyword = text.find(first).map_or(0, |at| at + first.len());
                let rest = &text[after_keyword..];
                let trimmed = rest.trim_start();
                let start = span.start + pair.as_str().len() - trimmed.len();
                let len = trimmed
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(trimmed.len());
                (len > 0).then(|| Name {
                    text: trimmed[..len].to_string(),
                    span: Span::new(start, start + len),
                })
            }
            _ => None,
        };
        let name = match keyword.as_deref() {
            Some("import" | "use") => {
                let text = pair.as_str();
                text.find(" as ").and_then(|at| {
                    let rest = &text[at + 4..];
                    let trimmed = rest.trim_start();
                    let start = span.start + text.len() - trimmed.len();
                    let len = trimmed
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(trimmed.len());
                    (len > 0).then(|| Name {
                        text: trimmed[..len].to_string(),
                        span: Span::new(start, start + len),
                    })
                })
            }
            _ => name,
        };
        Broken {
            span,
            keyword,
            name,
            text: pair.as_str().to_string(),
        }
    }

    fn docs(&mut self, pair: Pair<'_, Rule>) -> Docs {
        let span = self.span_of(&pair);
        let lines = pair
            .into_inner()
            .map(|line| {
                let text = line.into_inner().next().map_or("", |text| text.as_str());
                text.strip_prefix(' ')
                    .unwrap_or(text)
                    .trim_end_matches('\r')
                    .to_string()
            })
            .collect();
        Docs { lines, span }
    }

    fn import(&mut self, pair: Pair<'_, Rule>) -> Import {
        let span = self.tight_span(&pair);
        let mut docs = None;
        let mut path = None;
        let mut alias = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::docs => docs = Some(self.docs(part)),
                Rule::string => path = Some(self.string(part)),
                Rule::ident => alias = Some(self.name_of(&part)),
                _ => {}
            }
        }
        Import {
            docs,
            path: path.unwrap_or_else(|| empty_str(span)),
            alias: alias.unwrap_or_else(|| missing_name(span)),
            span,
        }
    }

    fn agent(&mut self, pair: Pair<'_, Rule>) -> Agent {
        let span = self.span_of(&pair);
        let mut docs = None;
        let mut name = None;
        let mut block = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::docs => docs = Some(self.docs(part)),
                Rule::ident => name = Some(self.name_of(&part)),
                Rule::block => {
                    let what = format!(
                        "agent `{}`",
                        name.as_ref().map_or("", |n: &Name| n.text.as_str())
                    );
                    block = Some(self.block(part, &what));
                }
                _ => {}
            }
        }
        Agent {
            docs,
            name: name.unwrap_or_else(|| missing_name(span)),
            block: block.unwrap_or_else(|| empty_block(span)),
            span,
        }
    }

    /// Reads an agent profile written inside `workflow`, and reports it at its `agent`.
    fn misplaced_agent(&mut self, pair: Pair<'_, Rule>, workflow: &str) -> Agent {
        let keyword = pair
            .clone()
            .into_inner()
            .find(|part| part.as_rule() == Rule::kw_agent)
            .map_or_else(|| self.span_of(&pair), |part| self.span_of(&part));
        let agent = self.agent(pair);
        self.diagnostics.push(
            Diagnostic::new(
                Code::Syntax,
                "agent profiles are declared at the top level of the file, not inside a workflow",
                keyword,
                format!("inside workflow `{workflow}`"),
            )
            .with_help(format!(
                "move `agent {} {{ … }}` out of `workflow {workflow}`, above it",
                agent.name.text
            )),
        );
        agent
    }

    fn workflow(&mut self, pair: Pair<'_, Rule>) -> Workflow {
        let span = self.span_of(&pair);
        let mut docs = None;
        let mut name = None;
        let mut members = Vec::new();
        let mut open_brace = Span::empty(span.start);
        let mut unclosed = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::docs => docs = Some(self.docs(part)),
                Rule::ident => name = Some(self.name_of(&part)),
                Rule::lbrace => open_brace = self.span_of(&part),
                Rule::unclosed => unclosed = Some(self.span_of(&part)),
                _ => {
                    let workflow = name.as_ref().map_or("", |n: &Name| n.text.as_str());
                    self.workflow_part(part, workflow, &mut members);
                }
            }
        }
        let name = name.unwrap_or_else(|| missing_name(span));
        if let Some(at) = unclosed {
            self.unclosed(open_brace, at, &format!("workflow `{}`", name.text));
        }
        Workflow {
            docs,
            name,
            members,
            unclosed,
            open_brace,
            span,
        }
    }

    /// Lowers `part` of workflow `workflow` into `members` if it is a member, a misplaced
    /// agent profile or a broken member; anything else (punctuation) is not one.
    fn workflow_part(&mut self, part: Pair<'_, Rule>, workflow: &str, members: &mut Vec<Member>) {
        match part.as_rule() {
            Rule::param => members.push(Member::Param(self.param(part))),
            Rule::defaults => members.push(Member::Defaults(self.defaults(part))),
            Rule::task => members.push(Member::Task(self.task(part))),
            Rule::gate => members.push(Member::Gate(self.gate(part))),
            Rule::use_decl => members.push(Member::Use(self.use_decl(part))),
            Rule::repeat => members.push(Member::Repeat(self.repeat(part))),
            Rule::misplaced_agent => {
                let agent = self.misplaced_agent(part, workflow);
                self.misplaced_agents.push(agent);
            }
            Rule::recover_member => {
                members.push(Member::Broken(self.broken(&part, Rule::strict_member)))
            }
            _ => {}
        }
    }

    fn unclosed(&mut self, open: Span, at: Span, what: &str) {
        if self.swallowed_to_end && at.start >= self.text.len() {
            return;
        }
        self.diagnostics.push(
            Diagnostic::new(
                Code::Syntax,
                format!("the `{{` of {what} is never closed"),
                open,
                "opened here",
            )
            .with_label(at, "expected `}` before this")
            .with_help("add the missing `}`"),
        );
    }

    fn param(&mut self, pair: Pair<'_, Rule>) -> Param {
        let span = self.tight_span(&pair);
        let mut docs = None;
        let mut name = None;
        let mut ty = None;
        let mut matching = None;
        let mut default = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::docs => docs = Some(self.docs(part)),
                Rule::ident => name = Some(self.name_of(&part)),
                Rule::type_expr => ty = Some(self.type_expr(part)),
                Rule::matching => {
                    matching = part
                        .into_inner()
                        .find(|p| p.as_rule() == Rule::string)
                        .map(|s| self.string(s))
                }
                Rule::param_default => {
                    default = part
                        .into_inner()
                        .find(|p| p.as_rule() == Rule::value)
                        .map(|v| self.value(v))
                }
                _ => {}
            }
        }
        let name = name.unwrap_or_else(|| missing_name(span));
        let ty = ty.unwrap_or(TypeExpr {
            kind: TypeExprKind::Named(missing_name(span)),
            span,
        });
        Param {
            docs,
            name,
            ty,
            matching,
            default,
            span,
        }
    }

    fn type_expr(&mut self, pair: Pair<'_, Rule>) -> TypeExpr {
        let span = self.span_of(&pair);
        let Some(inner) = pair.into_inner().next() else {
            return TypeExpr {
                kind: TypeExprKind::Named(missing_name(span)),
                span,
            };
        };
        let kind = match inner.as_rule() {
            Rule::list_type => {
                let element = inner.into_inner().find(|p| p.as_rule() == Rule::type_expr);
                match element {
                    Some(element) => TypeExprKind::List(Box::new(self.type_expr(element))),
                    None => TypeExprKind::Named(missing_name(span)),
                }
            }
            Rule::enum_type => TypeExprKind::Enum(
                inner
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::string)
                    .map(|s| self.string(s))
                    .collect(),
            ),
            Rule::record_type => TypeExprKind::Record(
                inner
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::record_field)
                    .filter_map(|field| {
                        let mut parts = field.into_inner();
                        let name = self.name_of(&parts.next()?);
                        let ty = parts.find(|p| p.as_rule() == Rule::type_expr)?;
                        Some((name, self.type_expr(ty)))
                    })
                    .collect(),
            ),
            _ => match inner.into_inner().next() {
                Some(ident) => TypeExprKind::Named(self.name_of(&ident)),
                None => TypeExprKind::Named(missing_name(span)),
            },
        };
        TypeExpr { kind, span }
    }

    fn defaults(&mut self, pair: Pair<'_, Rule>) -> Defaults {
        let span = self.span_of(&pair);
        let mut keyword = Span::empty(span.start);
        let mut block = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::kw_defaults => keyword = self.span_of(&part),
                Rule::block => block = Some(self.block(part, "`defaults`")),
                _ => {}
            }
        }
        Defaults {
            block: block.unwrap_or_else(|| empty_block(span)),
            keyword,
            span,
        }
    }

    fn task(&mut self, pair: Pair<'_, Rule>) -> Task {
        let node = self.node(pair, "task");
        Task {
            docs: node.docs,
            name: node.name,
            for_each: node.for_each,
            after: node.after,
            outcomes: node.outcomes,
            when: node.when,
            block: node.block,
            span: node.span,
        }
    }

    /// The parts a task or gate has: docs, name, clauses and block.
    fn node(&mut self, pair: Pair<'_, Rule>, kind: &str) -> NodeParts {
        let span = self.span_of(&pair);
        let mut docs = None;
        let mut name = None;
        let mut for_each = None;
        let mut after = Vec::new();
        let mut outcomes = Vec::new();
        let mut when = None;
        let mut block = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::docs => docs = Some(self.docs(part)),
                Rule::ident => name = Some(self.name_of(&part)),
                Rule::for_each => for_each = Some(self.for_each(part)),
                Rule::after => after = self.after(part),
                Rule::task_after => (after, outcomes) = self.task_after(part),
                Rule::when => when = self.when(part),
                Rule::block => {
                    let what = format!(
                        "{kind} `{}`",
                        name.as_ref().map_or("", |n: &Name| n.text.as_str())
                    );
                    block = Some(self.block(part, &what));
                }
                _ => {}
            }
        }
        NodeParts {
            docs,
            name: name.unwrap_or_else(|| missing_name(span)),
            for_each,
            after,
            outcomes,
            when,
            block: block.unwrap_or_else(|| empty_block(span)),
            span,
        }
    }

    fn for_each(&mut self, pair: Pair<'_, Rule>) -> ForEach {
        let span = self.span_of(&pair);
        let mut var = None;
        let mut iter = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::ident => var = Some(self.name_of(&part)),
                Rule::expr => iter = Some(self.expr(part)),
                _ => {}
            }
        }
        ForEach {
            var: var.unwrap_or_else(|| missing_name(span)),
            iter: iter.unwrap_or(Expr {
                kind: ExprKind::List(Vec::new()),
                span,
            }),
            span,
        }
    }

    fn after(&mut self, pair: Pair<'_, Rule>) -> Vec<Name> {
        pair.into_inner()
            .filter(|p| p.as_rule() == Rule::ident)
            .map(|p| self.name_of(&p))
            .collect()
    }

    fn when(&mut self, pair: Pair<'_, Rule>) -> Option<Expr> {
        pair.into_inner()
            .find(|p| p.as_rule() == Rule::expr)
            .map(|e| self.expr(e))
    }

    fn repeat(&mut self, pair: Pair<'_, Rule>) -> Repeat {
        let span = self.span_of(&pair);
        let mut docs = None;
        let mut name = None;
        let mut after = Vec::new();
        let mut max = None;
        let mut until = None;
        let mut members = Vec::new();
        let mut open_brace = Span::empty(span.start);
        let mut unclosed = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::docs => docs = Some(self.docs(part)),
                Rule::ident => name = Some(self.name_of(&part)),
                Rule::after => after = self.after(part),
                Rule::loop_max => {
                    let bound = part.into_inner().find(|p| p.as_rule() != Rule::kw_max);
                    max = bound.map(|bound| self.operand(bound));
                }
                Rule::loop_until => until = self.when(part),
                Rule::lbrace => open_brace = self.span_of(&part),
                Rule::task => members.push(Member::Task(self.task(part))),
                Rule::gate => members.push(Member::Gate(self.gate(part))),
                Rule::use_decl => members.push(Member::Use(self.use_decl(part))),
                Rule::recover_member => {
                    let broken = self.broken(&part, Rule::strict_member);
                    if broken.keyword.as_deref() == Some("repeat") {
                        self.nested_loop(broken.span);
                    }
                    members.push(Member::Broken(broken))
                }
                Rule::unclosed => unclosed = Some(self.span_of(&part)),
                _ => {}
            }
        }
        let name = name.unwrap_or_else(|| missing_name(span));
        if let Some(at) = unclosed {
            self.unclosed(open_brace, at, &format!("loop `{}`", name.text));
        }
        Repeat {
            docs,
            name,
            after,
            max,
            until,
            members,
            open_brace,
            unclosed,
            span,
        }
    }

    /// Reports a loop written inside a loop in place of the error `broken` reported for it,
    /// which could only say that the text cannot be read there.
    fn nested_loop(&mut self, span: Span) {
        self.diagnostics.pop();
        self.diagnostics.push(
            Diagnostic::new(
                Code::Syntax,
                "a loop cannot hold another loop",
                span,
                "a loop inside a loop",
            )
            .with_help(
                "write the inner loop after the outer one, or make one loop whose round holds the tasks of both",
            ),
        );
    }

    fn gate(&mut self, pair: Pair<'_, Rule>) -> Gate {
        let node = self.node(pair, "gate");
        Gate {
            docs: node.docs,
            name: node.name,
            after: node.after,
            when: node.when,
            block: node.block,
            span: node.span,
        }
    }

    fn use_decl(&mut self, pair: Pair<'_, Rule>) -> Use {
        let span = self.tight_span(&pair);
        let mut docs = None;
        let mut names = Vec::new();
        let mut args = Vec::new();
        let mut after = Vec::new();
        let mut when = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::docs => docs = Some(self.docs(part)),
                Rule::ident => names.push(self.name_of(&part)),
                Rule::use_args => {
                    for arg in part.into_inner().filter(|p| p.as_rule() == Rule::use_arg) {
                        let mut name = None;
                        let mut value = None;
                        for piece in arg.into_inner() {
                            match piece.as_rule() {
                                Rule::ident => name = Some(self.name_of(&piece)),
                                Rule::expr => value = Some(self.expr(piece)),
                                _ => {}
                            }
                        }
                        if let (Some(name), Some(value)) = (name, value) {
                            args.push(UseArg { name, value });
                        }
                    }
                }
                Rule::after => after = self.after(part),
                Rule::when => when = self.when(part),
                _ => {}
            }
        }
        let mut names = names.into_iter();
        let module = names.next().unwrap_or_else(|| missing_name(span));
        let workflow = names.next().unwrap_or_else(|| missing_name(span));
        let alias = names.next().unwrap_or_else(|| missing_name(span));
        Use {
            docs,
            module,
            workflow,
            args,
            alias,
            after,
            when,
            span,
        }
    }

    fn block(&mut self, pair: Pair<'_, Rule>, what: &str) -> Block {
        let span = self.span_of(&pair);
        let mut fields: Vec<Field> = Vec::new();
        let mut broken = Vec::new();
        let mut unclosed = None;
        let mut open = Span::empty(span.start);
        // Whether the previous field ended with a comma, or a broken field came between,
        // either of which separates it from the next.
        let mut separated = true;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::lbrace => open = self.span_of(&part),
                Rule::field => {
                    let has_comma = part
                        .clone()
                        .into_inner()
                        .any(|p| p.as_rule() == Rule::comma);
                    let field = self.field(part);
                    if let Some(previous) = fields.last() {
                        let gap = &self.text[previous.span.end..field.span.start];
                        if !separated && !gap.contains('\n') {
                            self.diagnostics.push(
                                Diagnostic::new(
                                    Code::Syntax,
                                    format!(
                                        "field `{}` follows another on the same line",
                                        field.name.text
                                    ),
                                    field.name.span,
                                    "expected a line break or `,` before this",
                                )
                                .with_help(
                                    "put each field on its own line, or separate them with commas",
                                ),
                            );
                        }
                    }
                    separated = has_comma;
                    fields.push(field);
                }
                Rule::recover_field => {
                    broken.push(self.broken(&part, Rule::strict_field));
                    separated = true;
                }
                Rule::unclosed => unclosed = Some(self.span_of(&part)),
                _ => {}
            }
        }
        if let Some(at) = unclosed {
            self.unclosed(open, at, what);
        }
        // A broken field's "name" is its first word, which is what a typo'd field most likely meant.
        for item in &mut broken {
            if item.name.is_none() {
                if let Some(keyword) = &item.keyword {
                    let start = item.span.start
                        + self.text[item.span.start..]
                            .find(keyword.as_str())
                            .unwrap_or(0);
                    item.name = Some(Name {
                        text: keyword.clone(),
                        span: Span::new(start, start + keyword.len()),
                    });
                }
            }
        }
        // A block holds a few fields, and a vector grows to four at its first push: the
        // tree of a large file keeps tens of thousands of blocks, so each keeps only its own.
        fields.shrink_to_fit();
        Block {
            fields,
            broken,
            unclosed,
            span,
        }
    }

    fn field(&mut self, pair: Pair<'_, Rule>) -> Field {
        let span = self.span_of(&pair);
        let mut name = None;
        let mut value = None;
        let mut end = span.end;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::word => name = Some(self.name_of(&part)),
                Rule::value => {
                    end = self.base + part.as_span().end();
                    value = Some(self.value(part));
                }
                Rule::type_expr => {
                    end = self.base + part.as_span().end();
                    let span = self.span_of(&part);
                    value = Some(Expr {
                        kind: ExprKind::Type(self.type_expr(part)),
                        span,
                    });
                }
                _ => {}
            }
        }
        let name = name.unwrap_or_else(|| missing_name(span));
        let value = value.unwrap_or(Expr {
            kind: ExprKind::List(Vec::new()),
            span,
        });
        // The span ends at the value, not at a trailing comma, so labels are tight.
        Field {
            name,
            value,
            span: Span::new(span.start, end),
        }
    }

    fn value(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = self.span_of(&pair);
        match pair.into_inner().next() {
            Some(inner) => self.operand(inner),
            None => Expr {
                kind: ExprKind::List(Vec::new()),
                span,
            },
        }
    }

    /// Lowers a literal, list, map, reference or parenthesised expression.
    fn operand(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = self.span_of(&pair);
        let kind = match pair.as_rule() {
            Rule::string | Rule::text_block => ExprKind::Str(self.string(pair)),
            Rule::int => ExprKind::Int(self.int(&pair)),
            Rule::duration => ExprKind::Duration(self.duration(&pair)),
            Rule::boolean => ExprKind::Bool(pair.as_str() == "true"),
            Rule::list => ExprKind::List(
                pair.into_inner()
                    .filter(|p| p.as_rule() == Rule::value)
                    .map(|v| self.value(v))
                    .collect(),
            ),
            Rule::map => {
                self.check_map_separators(&pair);
                ExprKind::Map(
                    pair.into_inner()
                        .filter(|p| p.as_rule() == Rule::map_entry)
                        .filter_map(|entry| {
                            let mut key = None;
                            let mut value = None;
                            for part in entry.into_inner() {
                                match part.as_rule() {
                                    Rule::word => key = Some(self.name_of(&part)),
                                    Rule::value => value = Some(self.value(part)),
                                    _ => {}
                                }
                            }
                            Some(MapEntry {
                                key: key?,
                                value: value?,
                            })
                        })
                        .collect(),
                )
            }
            Rule::ref_path => ExprKind::Ref(self.path(pair)),
            Rule::paren_expr => match pair.into_inner().find(|p| p.as_rule() == Rule::expr) {
                Some(inner) => ExprKind::Paren(Box::new(self.expr(inner))),
                None => ExprKind::List(Vec::new()),
            },
            Rule::value => return self.value(pair),
            Rule::expr => return self.expr(pair),
            _ => ExprKind::List(Vec::new()),
        };
        Expr { kind, span }
    }

    /// Two map entries on one line need a comma between them, as block fields do.
    fn check_map_separators(&mut self, pair: &Pair<'_, Rule>) {
        let mut previous_end: Option<(usize, bool)> = None;
        let mut entries = pair.clone().into_inner().peekable();
        while let Some(part) = entries.next() {
            if part.as_rule() != Rule::map_entry {
                continue;
            }
            let has_comma = entries
                .peek()
                .is_some_and(|next| next.as_rule() == Rule::comma);
            if let Some((end, separated)) = previous_end {
                let gap = &self.text[end..self.base + part.as_span().start()];
                if !separated && !gap.contains('\n') {
                    let span = part
                        .clone()
                        .into_inner()
                        .next()
                        .map_or(self.span_of(&part), |key| self.span_of(&key));
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::Syntax,
                            "two map entries on one line need a `,` between them",
                            span,
                            "expected `,` before this",
                        )
                        .with_help("separate entries with commas, or put each on its own line"),
                    );
                }
            }
            previous_end = Some((self.base + part.as_span().end(), has_comma));
        }
    }

    fn path(&mut self, pair: Pair<'_, Rule>) -> Vec<Name> {
        let mut path: Vec<Name> = pair
            .into_inner()
            .filter(|p| matches!(p.as_rule(), Rule::ident | Rule::word))
            .map(|p| self.name_of(&p))
            .collect();
        // Most paths are one or two names; see `block` for why the rest is given back.
        path.shrink_to_fit();
        path
    }

    fn int(&mut self, pair: &Pair<'_, Rule>) -> i64 {
        pair.as_str().parse().unwrap_or_else(|_| {
            self.diagnostics.push(Diagnostic::new(
                Code::Syntax,
                format!("the number {} is too large", pair.as_str()),
                self.span_of(pair),
                "too large",
            ));
            0
        })
    }

    fn duration(&mut self, pair: &Pair<'_, Rule>) -> u64 {
        let text = pair.as_str();
        let (digits, unit) = text.split_at(text.len() - 1);
        let scale = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            _ => 86_400,
        };
        match digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(scale))
        {
            Some(seconds) => seconds,
            None => {
                self.diagnostics.push(Diagnostic::new(
                    Code::Syntax,
                    format!("the duration {text} is too long"),
                    self.span_of(pair),
                    "too long",
                ));
                0
            }
        }
    }

    fn expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = self.span_of(&pair);
        let operands = self.operands(pair.into_inner(), Rule::and_expr);
        match operands.len() {
            1 => operands.into_iter().next().unwrap_or(Expr {
                kind: ExprKind::Or(Vec::new()),
                span,
            }),
            _ => Expr {
                kind: ExprKind::Or(operands),
                span,
            },
        }
    }

    fn operands(&mut self, pairs: Pairs<'_, Rule>, rule: Rule) -> Vec<Expr> {
        pairs
            .filter(|p| p.as_rule() == rule)
            .map(|p| self.chain(p))
            .collect()
    }

    fn chain(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = self.span_of(&pair);
        match pair.as_rule() {
            Rule::and_expr => {
                let operands = self.operands(pair.into_inner(), Rule::cmp_expr);
                match operands.len() {
                    1 => operands.into_iter().next().unwrap_or(Expr {
                        kind: ExprKind::And(Vec::new()),
                        span,
                    }),
                    _ => Expr {
                        kind: ExprKind::And(operands),
                        span,
                    },
                }
            }
            Rule::cmp_expr => {
                let mut operands = Vec::new();
                let mut op = None;
                for part in pair.into_inner() {
                    match part.as_rule() {
                        Rule::unary => operands.push(self.unary(part)),
                        Rule::cmp_op => {
                            let op_span = self.span_of(&part);
                            let kind = match part.as_str() {
                                "==" => CompareOp::Eq,
                                "!=" => CompareOp::Ne,
                                _ => CompareOp::In,
                            };
                            op = Some((kind, op_span));
                        }
                        _ => {}
                    }
                }
                let mut operands = operands.into_iter();
                let lhs = operands.next().unwrap_or(Expr {
                    kind: ExprKind::List(Vec::new()),
                    span,
                });
                match (op, operands.next()) {
                    (Some((op, op_span)), Some(rhs)) => Expr {
                        kind: ExprKind::Compare {
                            op,
                            op_span,
                            lhs: Box::new(lhs),
                            rhs: Box::new(rhs),
                        },
                        span,
                    },
                    _ => lhs,
                }
            }
            _ => self.operand(pair),
        }
    }

    fn unary(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = self.span_of(&pair);
        let mut count = 0;
        let mut operand = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::op_not => count += 1,
                _ => operand = Some(self.operand(part)),
            }
        }
        let operand = operand.unwrap_or(Expr {
            kind: ExprKind::List(Vec::new()),
            span,
        });
        if count == 0 {
            operand
        } else {
            Expr {
                kind: ExprKind::Not {
                    count,
                    operand: Box::new(operand),
                },
                span,
            }
        }
    }

    fn string(&mut self, pair: Pair<'_, Rule>) -> StrLit {
        let span = self.span_of(&pair);
        let block = pair.as_rule() == Rule::text_block;
        let mut parts = Vec::new();
        for part in pair.into_inner() {
            let part_span = self.span_of(&part);
            match part.as_rule() {
                Rule::str_text | Rule::block_text => {
                    parts.push(StrPart::Text { value: part.as_str().to_string(), span: part_span })
                }
                Rule::escape | Rule::block_escape => {
                    let value = unescape(part.as_str()).unwrap_or_else(|| {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::Syntax,
                                format!("`{}` is not a Unicode character", part.as_str()),
                                part_span,
                                "not a character",
                            )
                            .with_help("\\u{…} takes the hexadecimal code of a Unicode scalar value"),
                        );
                        String::new()
                    });
                    parts.push(StrPart::Text { value, span: part_span });
                }
                Rule::interp => parts.push(StrPart::Interp(self.interp(part))),
                Rule::unterminated_string => self.diagnostics.push(
                    Diagnostic::new(Code::Syntax, "this string is never closed", Span::new(span.start, span.start + 1), "the string starts here")
                        .with_label(part_span, "expected `\"` before the end of the line")
                        .with_help("close the string on the same line, or use a `\"\"\"` text block for text over several lines"),
                ),
                Rule::unterminated_text_block => {
                    self.swallowed_to_end = true;
                    self.diagnostics.push(
                    Diagnostic::new(Code::Syntax, "this text block is never closed", Span::new(span.start, span.start + 3), "the text block starts here")
                        .with_label(part_span, "expected `\"\"\"` before the end of the file")
                        .with_help("close the text block with `\"\"\"`"),
                    )
                }
                _ => {}
            }
        }
        let parts = merge_text(parts);
        let parts = if block { dedent_block(parts) } else { parts };
        StrLit { parts, block, span }
    }

    fn interp(&mut self, pair: Pair<'_, Rule>) -> Interp {
        let span = self.span_of(&pair);
        let mut path = Vec::new();
        let mut filters = Vec::new();
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::interp_path => path = self.path(part),
                Rule::filter => {
                    let filter_span = self.span_of(&part);
                    let mut name = None;
                    let mut args = Vec::new();
                    for piece in part.into_inner() {
                        match piece.as_rule() {
                            Rule::word => name = Some(self.name_of(&piece)),
                            Rule::lparen | Rule::rparen | Rule::comma => {}
                            Rule::escaped_string => {
                                let span = self.span_of(&piece);
                                let text = piece
                                    .into_inner()
                                    .next()
                                    .map_or("", |t| t.as_str())
                                    .to_string();
                                let lit = StrLit {
                                    parts: vec![StrPart::Text { value: text, span }],
                                    block: false,
                                    span,
                                };
                                args.push(Expr {
                                    kind: ExprKind::Str(lit),
                                    span,
                                });
                            }
                            _ => args.push(self.operand(piece)),
                        }
                    }
                    if let Some(name) = name {
                        filters.push(FilterCall {
                            name,
                            args,
                            span: filter_span,
                        });
                    }
                }
                _ => {}
            }
        }
        if path.is_empty() {
            path.push(missing_name(span));
        }
        Interp {
            path,
            filters,
            span,
        }
    }
}

fn missing_name(span: Span) -> Name {
    Name {
        text: String::new(),
        span: Span::empty(span.start),
    }
}

fn empty_str(span: Span) -> StrLit {
    StrLit {
        parts: Vec::new(),
        block: false,
        span,
    }
}

fn empty_block(span: Span) -> Block {
    Block {
        fields: Vec::new(),
        broken: Vec::new(),
        unclosed: None,
        span,
    }
}

impl Lowerer<'_> {
    /// A task's `after`: the names it waits for, and those written with an outcome.
    fn task_after(&self, pair: Pair<'_, Rule>) -> (Vec<Name>, Vec<AfterOutcome>) {
        let mut names = Vec::new();
        let mut outcomes = Vec::new();
        for reference in pair.into_inner().filter(|p| p.as_rule() == Rule::after_ref) {
            let mut parts = reference.into_inner();
            let Some(name) = parts.next().map(|p| self.name_of(&p)) else {
                continue;
            };
            if let Some(written) = parts.find(|p| p.as_rule() == Rule::outcome) {
                let span = self.span_of(&written);
                let outcome = if written.as_str().contains("failed") {
                    Outcome::Failed
                } else {
                    Outcome::Always
                };
                outcomes.push(AfterOutcome {
                    name: name.clone(),
                    outcome,
                    span,
                });
            }
            names.push(name);
        }
        // Most tasks wait for one or two others; see `block` for why the rest is given back.
        names.shrink_to_fit();
        (names, outcomes)
    }
}
