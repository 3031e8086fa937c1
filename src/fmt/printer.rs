//! The printer: walks a syntax tree and writes the canonical layout, placing every comment.
//!
//! Printing works on fragments: a fragment is the text of one construct whose first line
//! continues the line its caller is building, and whose further lines (a block's fields, a
//! wrapped list's elements, a text block's content) carry their own indentation. Callers
//! add their own indentation and suffix to the first line and may append a trailing comment
//! to the last.

use super::comments::Comments;
use super::text_block;
use crate::span::Span;
use crate::syntax::ast::*;

/// The widest line, in characters, that a list or map is kept on before it wraps.
pub const MAX_WIDTH: usize = 100;

/// The spaces one level of nesting adds.
const INDENT: usize = 2;

/// Prints one parsed file.
pub(super) struct Printer<'a> {
    src: &'a str,
    comments: Comments<'a>,
}

/// Something printed as one entry of a sequence: a top-level item, a workflow member, a
/// block field, or an element of a wrapped list or map.
#[derive(Clone, Copy)]
enum Child<'a> {
    Item(&'a Item),
    Member(&'a Member),
    /// A block field, with the width its name is padded to.
    Field(&'a Field, usize),
    Element(&'a Expr),
    Entry(&'a MapEntry),
}

impl Child<'_> {
    fn span(&self) -> Span {
        match self {
            Child::Item(item) => item.span(),
            Child::Member(member) => member.span(),
            Child::Field(field, _) => field.span,
            Child::Element(expr) => expr.span,
            Child::Entry(entry) => entry.key.span.to(entry.value.span),
        }
    }

    fn docs(&self) -> Option<&Docs> {
        let docs = match self {
            Child::Item(Item::Import(item)) => &item.docs,
            Child::Item(Item::Agent(item)) => &item.docs,
            Child::Item(Item::Workflow(item)) => &item.docs,
            Child::Member(Member::Param(member)) => &member.docs,
            Child::Member(Member::Task(member)) => &member.docs,
            Child::Member(Member::Gate(member)) => &member.docs,
            Child::Member(Member::Use(member)) => &member.docs,
            Child::Member(Member::Repeat(member)) => &member.docs,
            _ => return None,
        };
        docs.as_ref()
    }

    fn is_import(&self) -> bool {
        matches!(self, Child::Item(Item::Import(_)))
    }

    /// What follows the element on its line: list and map elements end with a comma.
    fn suffix(&self) -> &'static str {
        match self {
            Child::Element(_) | Child::Entry(_) => ",",
            _ => "",
        }
    }
}

/// Which blank-line rules a sequence follows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    /// The file's items: one blank line between items, none between consecutive imports.
    File,
    /// Anything inside braces or brackets: blank lines are kept as written, at most one.
    Inner,
}

/// A place in a sequence where a blank line may go: before a comment or a child.
struct Gap<'c> {
    /// The child printed last, if any.
    previous: Option<Child<'c>>,
    /// The child the gap leads to; `None` for the comments before the sequence's end.
    next: Option<Child<'c>>,
    /// Whether the gap directly follows `previous` (or the opening), not a comment.
    first: bool,
    /// Whether comments stand between `previous` and `next`.
    commented: bool,
    /// Whether the source holds a blank line here.
    source_blank: bool,
}

impl Gap<'_> {
    /// Whether a blank line goes into the gap.
    fn wants_blank(&self, level: Level) -> bool {
        let Some(previous) = self.previous else {
            // Nothing goes between an opening brace (or the start of the file) and what
            // follows; after a comment there, the source decides.
            return !self.first && self.source_blank;
        };
        match (level, self.first, self.next) {
            (Level::File, true, Some(next)) => {
                if previous.is_import() && next.is_import() {
                    // Imports stay together, unless comments between them were set apart.
                    self.commented && self.source_blank
                } else {
                    true
                }
            }
            _ => self.source_blank,
        }
    }
}

impl<'a> Printer<'a> {
    /// A printer for `src`, whose comments the scanner found.
    pub(super) fn new(src: &'a str, comments: &[crate::syntax::scan::Comment]) -> Self {
        Printer {
            src,
            comments: Comments::new(src, comments),
        }
    }

    /// The canonical text of `file`.
    pub(super) fn file(mut self, file: &File) -> String {
        let children: Vec<Child<'_>> = file.items.iter().map(Child::Item).collect();
        let mut lines = self.sequence(&children, 0, self.src.len(), 0, Level::File);
        // Every comment outside a string is taken by the sequence above; this is a safety
        // net so that a gap in that reasoning can misplace a comment but never drop it.
        for span in self.comments.take_in(0, self.src.len()) {
            lines.push(self.comments.text(span).to_string());
        }
        if lines.is_empty() {
            return String::new();
        }
        let mut out = lines.join("\n");
        out.push('\n');
        out
    }

    /// The source text of `span`.
    fn slice(&self, span: Span) -> &'a str {
        self.src.get(span.start..span.end).unwrap_or("")
    }

    /// `span` without the white space and comments at its end.
    ///
    /// The parser's spans of constructs that end in an optional part (a parameter's
    /// default, a `use`'s `when`) reach over the white space and comments it skipped
    /// looking for that part; those comments belong after the construct, not inside it.
    fn trimmed(&self, span: Span) -> Span {
        let mut end = span.end;
        loop {
            let text = self.src.get(span.start..end).unwrap_or("");
            end = span.start + text.trim_end().len();
            match self.comments.start_of_comment_ending_at(end) {
                Some(start) if start >= span.start && start < end => end = start,
                _ => return Span::new(span.start, end),
            }
        }
    }

    /// Whether the source between `start` and `end` holds a blank line.
    fn blank_between(&self, start: usize, end: usize) -> bool {
        self.src
            .get(start..end)
            .is_some_and(|gap| gap.matches('\n').count() >= 2)
    }

    /// Prints `children`, which lie between the offsets `start` and `end`, one per line at
    /// `indent`, with the comments between them, and returns the lines.
    fn sequence(
        &mut self,
        children: &[Child<'_>],
        start: usize,
        end: usize,
        indent: usize,
        level: Level,
    ) -> Vec<String> {
        let pad = " ".repeat(indent);
        let mut lines = Vec::new();
        let mut pos = start;
        let mut previous: Option<Child<'_>> = None;
        for &child in children {
            let span = self.trimmed(child.span());
            let leading = self.comments.take_in(pos, span.start);
            let mut gap = Gap {
                previous,
                next: Some(child),
                first: true,
                commented: !leading.is_empty(),
                source_blank: false,
            };
            for comment in leading {
                gap.source_blank = self.blank_between(pos, comment.start);
                if gap.wants_blank(level) {
                    lines.push(String::new());
                }
                lines.push(format!("{pad}{}", self.comments.text(comment)));
                pos = comment.end;
                gap.first = false;
            }
            gap.source_blank = self.blank_between(pos, span.start);
            if gap.wants_blank(level) {
                lines.push(String::new());
            }
            let body = self.child(child, indent);
            if let Some(docs) = child.docs() {
                for line in &docs.lines {
                    let line = line.trim_end();
                    if line.is_empty() {
                        lines.push(format!("{pad}///"));
                    } else {
                        lines.push(format!("{pad}/// {line}"));
                    }
                }
            }
            // Comments inside the child that no nested layout placed sat inside something
            // printed on one line (a header, an expression); they go just above the child.
            for comment in self.comments.take_in(span.start, span.end) {
                lines.push(format!("{pad}{}", self.comments.text(comment)));
            }
            let mut line = format!("{pad}{body}{}", child.suffix());
            pos = span.end;
            let commas = level == Level::Inner;
            if let Some(comment) = self.comments.take_trailing(span.end, commas) {
                line.push_str("  ");
                line.push_str(self.comments.text(comment));
                pos = comment.end;
            }
            lines.push(line);
            previous = Some(child);
        }
        let mut gap = Gap {
            previous,
            next: None,
            first: true,
            commented: true,
            source_blank: false,
        };
        for comment in self.comments.take_in(pos, end) {
            gap.source_blank = self.blank_between(pos, comment.start);
            if gap.wants_blank(level) {
                lines.push(String::new());
            }
            lines.push(format!("{pad}{}", self.comments.text(comment)));
            pos = comment.end;
            gap.first = false;
        }
        lines
    }

    /// The fragment of one child, without its docs (the sequence prints those).
    fn child(&mut self, child: Child<'_>, indent: usize) -> String {
        match child {
            Child::Item(item) => self.item(item, indent),
            Child::Member(member) => self.member(member, indent),
            Child::Field(
                Field {
                    name,
                    value:
                        Expr {
                            kind: ExprKind::Type(ty),
                            ..
                        },
                    ..
                },
                _,
            ) => {
                let head = format!("{}: ", name.text);
                let column = indent + head.chars().count();
                format!("{head}{}", self.type_block(ty, indent, column))
            }
            Child::Field(field, width) => {
                let name = &field.name.text;
                let head = format!("{name:<width$} = ");
                let column = indent + head.chars().count();
                let value = self.value(&field.value, indent, column, 0);
                format!("{head}{value}")
            }
            Child::Element(expr) => self.value(expr, indent, indent, 1),
            Child::Entry(entry) => {
                let head = format!("{} = ", entry.key.text);
                let column = indent + head.chars().count();
                let value = self.value(&entry.value, indent, column, 1);
                format!("{head}{value}")
            }
        }
    }

    fn item(&mut self, item: &Item, indent: usize) -> String {
        match item {
            Item::Import(import) => {
                let path = self.string(&import.path, indent);
                format!("import {path} as {}", import.alias.text)
            }
            Item::Agent(agent) => {
                let block = self.block(&agent.block, indent);
                format!("agent {} {block}", agent.name.text)
            }
            Item::Workflow(workflow) => {
                let children: Vec<Child<'_>> = workflow.members.iter().map(Child::Member).collect();
                let close = self.closing(workflow.span, b'}');
                let body = self.braces(
                    &children,
                    workflow.open_brace.start,
                    close,
                    indent,
                    ('{', '}'),
                );
                format!("workflow {} {body}", workflow.name.text)
            }
            Item::Broken(broken) => self.slice(broken.span).to_string(),
        }
    }

    fn member(&mut self, member: &Member, indent: usize) -> String {
        match member {
            Member::Param(param) => {
                let mut head = format!(
                    "param {}: {}",
                    param.name.text,
                    self.type_expr(&param.ty, indent)
                );
                if let Some(matching) = &param.matching {
                    head.push_str(" matching ");
                    head.push_str(&self.string(matching, indent));
                }
                if let Some(default) = &param.default {
                    head.push_str(" = ");
                    let column = indent + head.chars().count();
                    head.push_str(&self.value(default, indent, column, 0));
                }
                head
            }
            Member::Defaults(defaults) => {
                let block = self.block(&defaults.block, indent);
                format!("defaults {block}")
            }
            Member::Task(task) => {
                let mut head = format!("task {}", task.name.text);
                if let Some(for_each) = &task.for_each {
                    head.push_str(" for each ");
                    head.push_str(&for_each.var.text);
                    head.push_str(" in ");
                    head.push_str(&self.expr(&for_each.iter, indent));
                }
                self.after_when(
                    &mut head,
                    &task.after,
                    &task.outcomes,
                    task.when.as_ref(),
                    indent,
                );
                let block = self.block(&task.block, indent);
                format!("{head} {block}")
            }
            Member::Gate(gate) => {
                let mut head = format!("gate {}", gate.name.text);
                self.after_when(&mut head, &gate.after, &[], gate.when.as_ref(), indent);
                let block = self.block(&gate.block, indent);
                format!("{head} {block}")
            }
            Member::Use(use_decl) => {
                let mut args = Vec::with_capacity(use_decl.args.len());
                for arg in &use_decl.args {
                    args.push(format!(
                        "{} = {}",
                        arg.name.text,
                        self.expr(&arg.value, indent)
                    ));
                }
                let mut head = format!(
                    "use {}.{}({}) as {}",
                    use_decl.module.text,
                    use_decl.workflow.text,
                    args.join(", "),
                    use_decl.alias.text
                );
                self.after_when(
                    &mut head,
                    &use_decl.after,
                    &[],
                    use_decl.when.as_ref(),
                    indent,
                );
                head
            }
            Member::Repeat(repeat) => {
                let mut head = format!("repeat {}", repeat.name.text);
                self.after_when(&mut head, &repeat.after, &[], None, indent);
                if let Some(max) = &repeat.max {
                    head.push_str(" max ");
                    head.push_str(&self.expr(max, indent));
                }
                if let Some(until) = &repeat.until {
                    head.push_str(" until ");
                    head.push_str(&self.expr(until, indent));
                }
                let children: Vec<Child<'_>> = repeat.members.iter().map(Child::Member).collect();
                let close = self.closing(repeat.span, b'}');
                let body = self.braces(
                    &children,
                    repeat.open_brace.start,
                    close,
                    indent,
                    ('{', '}'),
                );
                format!("{head} {body}")
            }
            Member::Broken(broken) => self.slice(broken.span).to_string(),
        }
    }

    /// Appends ` after A, B` and ` when EXPR` to a header.
    fn after_when(
        &mut self,
        head: &mut String,
        after: &[Name],
        outcomes: &[AfterOutcome],
        when: Option<&Expr>,
        indent: usize,
    ) {
        if !after.is_empty() {
            // A reference written with an outcome keeps it: `build (failed)`.
            let names: Vec<String> = after
                .iter()
                .map(
                    |name| match outcomes.iter().find(|o| o.name.span == name.span) {
                        Some(o) => format!("{} ({})", name.text, o.outcome.as_str()),
                        None => name.text.clone(),
                    },
                )
                .collect();
            head.push_str(" after ");
            head.push_str(&names.join(", "));
        }
        if let Some(when) = when {
            head.push_str(" when ");
            head.push_str(&self.expr(when, indent));
        }
    }

    fn type_expr(&mut self, ty: &TypeExpr, indent: usize) -> String {
        match &ty.kind {
            TypeExprKind::Named(name) => name.text.clone(),
            TypeExprKind::Enum(values) => {
                let values: Vec<String> = values
                    .iter()
                    .map(|value| self.string(value, indent))
                    .collect();
                format!("enum({})", values.join(", "))
            }
            TypeExprKind::List(element) => format!("list<{}>", self.type_expr(element, indent)),
            TypeExprKind::Record(fields) => {
                let fields: Vec<String> = fields
                    .iter()
                    .map(|(name, ty)| format!("{}: {}", name.text, self.type_expr(ty, indent)))
                    .collect();
                if fields.is_empty() {
                    "{}".to_string()
                } else {
                    format!("{{ {} }}", fields.join(", "))
                }
            }
        }
    }

    /// A type whose line is at `indent` and already holds `column` characters: a record that
    /// does not fit on the line gets one field per line.
    fn type_block(&mut self, ty: &TypeExpr, indent: usize, column: usize) -> String {
        let flat = self.type_expr(ty, indent);
        let TypeExprKind::Record(fields) = &ty.kind else {
            return flat;
        };
        if column + flat.chars().count() <= MAX_WIDTH || fields.is_empty() {
            return flat;
        }
        let inner = indent + INDENT;
        let mut out = String::from("{");
        for (name, field) in fields {
            let head = format!("{}: ", name.text);
            let value = self.type_block(field, inner, inner + head.chars().count());
            out.push_str(&format!("\n{}{head}{value}", " ".repeat(inner)));
        }
        out.push_str(&format!("\n{}}}", " ".repeat(indent)));
        out
    }

    /// The fragment of a block of fields: `{` … `}`, its names padded so the `=` align.
    fn block(&mut self, block: &Block, indent: usize) -> String {
        let width = block
            .fields
            .iter()
            .filter(|field| !matches!(field.value.kind, ExprKind::Type(_)))
            .map(|field| field.name.text.chars().count())
            .max()
            .unwrap_or(0);
        let children: Vec<Child<'_>> = block
            .fields
            .iter()
            .map(|field| Child::Field(field, width))
            .collect();
        let close = self.closing(block.span, b'}');
        self.braces(&children, block.span.start, close, indent, ('{', '}'))
    }

    /// The offset of the closing bracket of the construct at `span`, or its end if it
    /// does not end with one.
    fn closing(&self, span: Span, bracket: u8) -> usize {
        let ends_with =
            span.end > span.start && self.src.as_bytes().get(span.end - 1) == Some(&bracket);
        if ends_with {
            span.end - 1
        } else {
            span.end
        }
    }

    /// The fragment of `children` between the brackets at `open` and `close`, one per line
    /// at one level deeper than `indent`. With nothing inside, it is the two brackets alone.
    fn braces(
        &mut self,
        children: &[Child<'_>],
        open: usize,
        close: usize,
        indent: usize,
        brackets: (char, char),
    ) -> String {
        let (left, right) = brackets;
        let inner = open.saturating_add(1).min(close);
        let trailing = self.comments.take_trailing(inner, false);
        let start = trailing.map_or(inner, |comment| comment.end);
        let lines = self.sequence(children, start, close, indent + INDENT, Level::Inner);
        let mut out = String::from(left);
        if let Some(comment) = trailing {
            out.push_str("  ");
            out.push_str(self.comments.text(comment));
        } else if lines.is_empty() {
            out.push(right);
            return out;
        }
        for line in lines {
            out.push('\n');
            out.push_str(&line);
        }
        out.push('\n');
        out.push_str(&" ".repeat(indent));
        out.push(right);
        out
    }

    /// The fragment of a field value (or a parameter default, or a list element) whose
    /// line is at `indent` and already holds `column` characters; `suffix` characters
    /// follow it. Lists and maps stay on the line if they fit and hold no comment.
    fn value(&mut self, expr: &Expr, indent: usize, column: usize, suffix: usize) -> String {
        let brackets = match &expr.kind {
            ExprKind::List(_) => ('[', ']'),
            ExprKind::Map(_) => ('{', '}'),
            _ => return self.expr(expr, indent),
        };
        if let Some(flat) = self.flat(expr) {
            if column + flat.chars().count() + suffix <= MAX_WIDTH {
                return flat;
            }
        }
        let children: Vec<Child<'_>> = match &expr.kind {
            ExprKind::List(elements) => elements.iter().map(Child::Element).collect(),
            ExprKind::Map(entries) => entries.iter().map(Child::Entry).collect(),
            _ => Vec::new(),
        };
        let close = self.closing(expr.span, brackets.1 as u8);
        self.braces(&children, expr.span.start, close, indent, brackets)
    }

    /// The one-line form of `expr`, unless it holds a comment or a line break.
    fn flat(&mut self, expr: &Expr) -> Option<String> {
        // Printing first marks the comments inside strings as placed, so only comments
        // between elements count below.
        let text = self.expr(expr, 0);
        let ok = !text.contains('\n') && !self.comments.any_in(expr.span.start, expr.span.end);
        ok.then_some(text)
    }

    /// The one-line form of an expression (a text block still spans its lines).
    fn expr(&mut self, expr: &Expr, indent: usize) -> String {
        match &expr.kind {
            ExprKind::Str(lit) => self.string(lit, indent),
            ExprKind::Int(value) => value.to_string(),
            ExprKind::Bool(value) => value.to_string(),
            ExprKind::Duration(_) => self.slice(expr.span).to_string(),
            ExprKind::List(elements) => {
                let elements: Vec<String> = elements.iter().map(|e| self.expr(e, indent)).collect();
                format!("[{}]", elements.join(", "))
            }
            ExprKind::Map(entries) => {
                if entries.is_empty() {
                    return "{}".to_string();
                }
                let entries: Vec<String> = entries
                    .iter()
                    .map(|entry| {
                        format!("{} = {}", entry.key.text, self.expr(&entry.value, indent))
                    })
                    .collect();
                format!("{{ {} }}", entries.join(", "))
            }
            ExprKind::Ref(path) => {
                let names: Vec<&str> = path.iter().map(|name| name.text.as_str()).collect();
                names.join(".")
            }
            ExprKind::Not { count, operand } => {
                format!("{}{}", "!".repeat(*count), self.expr(operand, indent))
            }
            ExprKind::Compare { op, lhs, rhs, .. } => {
                let lhs = self.expr(lhs, indent);
                let rhs = self.expr(rhs, indent);
                format!("{lhs} {} {rhs}", op.as_str())
            }
            ExprKind::And(operands) => self.chain(operands, " && ", indent),
            ExprKind::Or(operands) => self.chain(operands, " || ", indent),
            ExprKind::Paren(inner) => format!("({})", self.expr(inner, indent)),
            ExprKind::Type(ty) => self.type_expr(ty, indent),
        }
    }

    fn chain(&mut self, operands: &[Expr], op: &str, indent: usize) -> String {
        let operands: Vec<String> = operands.iter().map(|e| self.expr(e, indent)).collect();
        operands.join(op)
    }

    /// A string as written; a text block's content re-indented one level deeper than the
    /// line it starts on.
    fn string(&mut self, lit: &StrLit, indent: usize) -> String {
        // Comments inside interpolations are printed as part of the string.
        self.comments.mark_used_in(lit.span.start, lit.span.end);
        let raw = self.slice(lit.span);
        if !lit.block {
            return raw.to_string();
        }
        let multiline_interp = lit
            .interpolations()
            .any(|interp| self.slice(interp.span).contains('\n'));
        text_block::reindent(raw, indent + INDENT, multiline_interp)
            .unwrap_or_else(|| raw.to_string())
    }
}
