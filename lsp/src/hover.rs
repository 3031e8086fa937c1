//! Hover: what the name under the cursor is. A parameter's type, default and docs; a task's
//! title, dependencies and agent; an agent profile's settings; an imported module's docs.
//! And what the language's own words mean: fields, filters, keywords, types, durations,
//! numbers given to fields, the choices of the work fields (`on_conflict = "agent"`),
//! `true`/`false` and `TASK.result`.

use crate::cursor::{cursor, word_at, Cursor, Place, KEYWORDS};
use crate::documents::Analyses;
use crate::index::{DefKind, Definition, Target};
use crate::view::View;
use crate::word_docs::{choice_doc, duration_doc, field_doc, filter_doc, keyword_doc, type_doc};
use std::fmt::Write as _;
use tower_lsp_server::ls_types::{Hover, HoverContents, MarkupContent, MarkupKind};
use wfc::check::CheckedModule;
use wfc::ir::{Action, Node, NodeKind, Workflow};
use wfc::span::Span;

/// The hover for the name at `offset`, if it names something, or for the field or filter
/// there.
pub fn hover(analyses: &Analyses, offset: usize) -> Option<Hover> {
    declared(analyses, offset).or_else(|| builtin(analyses, offset))
}

fn declared(analyses: &Analyses, offset: usize) -> Option<Hover> {
    analyses.first(offset, |view, offset| {
        let (span, target) = view.analysis.index().at(offset)?;
        let markdown = describe(view, &target)?;
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: markdown,
            }),
            range: view.current_range(span),
        })
    })
}

/// The description of a word at `offset` that the language defines rather than the file: a
/// field, a filter, a keyword, a type, a duration, a number given to a field, the choice a
/// work field's string names, `true`/`false`, or the `result` of `TASK.result`.
fn builtin(analyses: &Analyses, offset: usize) -> Option<Hover> {
    let current = &analyses.current;
    let text = current.text();
    let span = word_at(text, offset);
    let word = &text[span.start..span.end];
    if word.is_empty() {
        return None;
    }
    let at_word = cursor(text, span.start);
    let after_word = cursor(text, span.end);
    let description = match &after_word.place {
        Place::FieldName(block) => with_noun("field", word, field_doc(*block, word)),
        Place::Filter => with_noun("filter", word, filter_doc(word)),
        // A choice is the whole string, as in `on_conflict = "agent"`.
        Place::FieldValue {
            block,
            field,
            quoted: true,
        } if text[..span.start].ends_with('"') && text[span.end..].starts_with('"') => {
            let doc = choice_doc(*block, field, word);
            (!doc.is_empty()).then(|| format!("`{field} = \"{word}\"`: {doc}"))
        }
        // Words in comments and in a string's text are prose.
        _ if !at_word.code => None,
        Place::Interpolation(path) if path.len() >= 2 && path[1] == "output" => {
            let workflow = at_word.workflow.as_deref()?;
            let declared = crate::outputs::declared(analyses, workflow, &path[0])?;
            let mut fields = path[2..].to_vec();
            fields.push(word.to_string());
            let ty = crate::outputs::field_type(&declared, &fields)?;
            Some(format!(
                "`{}.{word}`: a field of the output of task `{}`\n\n{}",
                path.join("."),
                path[0],
                code_block(&ty.to_string())
            ))
        }
        Place::Interpolation(path) if word == "output" && path.len() == 1 => {
            let workflow = at_word.workflow.as_deref()?;
            let declared = crate::outputs::declared(analyses, workflow, &path[0])?;
            Some(format!(
                "`{0}.output`: the typed output of task `{0}`, checked when it ends; only tasks that run after it can read it\n\n{1}",
                path[0],
                code_block(&declared.to_string())
            ))
        }
        Place::Interpolation(path) if word == "result" && !path.is_empty() => Some(format!(
            "`{}.result`: what task `{}` produced (an agent's final message, or the last 64 KiB of a command's standard output), which only tasks that run after it can read",
            path.join("."),
            path.join(".")
        )),
        _ => value_doc(word, &at_word),
    }?;
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: description,
        }),
        range: Some(current.lines.range(text, span)),
    })
}

fn with_noun(noun: &str, word: &str, description: &str) -> Option<String> {
    (!description.is_empty()).then(|| format!("{noun} `{word}`: {description}"))
}

/// A keyword, type, duration or number in code.
fn value_doc(word: &str, at: &Cursor) -> Option<String> {
    if KEYWORDS.contains(&word) {
        return with_noun("keyword", word, keyword_doc(word));
    }
    if let Some(words) = duration_doc(word) {
        return Some(format!("duration `{word}`: {words}"));
    }
    if word.bytes().all(|b| b.is_ascii_digit()) {
        return number_doc(word, at);
    }
    with_noun("type", word, type_doc(word))
}

/// What a number means as the value of the field it is given to.
fn number_doc(word: &str, at: &Cursor) -> Option<String> {
    let Place::FieldValue { block, field, .. } = &at.place else {
        return None;
    };
    let count: u64 = word.parse().ok()?;
    Some(match field.as_str() {
        "retry" => format!(
            "`retry = {count}`: a failed attempt is tried again up to {count} more time{}, {} attempt{} in all",
            if count == 1 { "" } else { "s" },
            count.saturating_add(1),
            if count == 0 { "" } else { "s" }
        ),
        "priority" => format!("`priority = {count}`: 0 is the most urgent, 4 the least"),
        other if !field_doc(*block, other).is_empty() => {
            format!("`{other} = {count}`: {}", field_doc(*block, other))
        }
        _ => return None,
    })
}

/// Markdown describing the declaration `target` names.
fn describe(view: &View<'_>, target: &Target) -> Option<String> {
    let analysis = view.analysis;
    let id = analysis.find(&target.module)?;
    let module = &analysis.modules[id];
    let Some(definition) = analysis.indexes[id].definition(target.span) else {
        return Some(module_docs(module));
    };
    let workflow = definition
        .workflow
        .as_deref()
        .and_then(|name| module.ir.workflow(name))
        .map(|(_, w)| w);
    let described = match definition.kind {
        DefKind::Import => module
            .ir
            .imports
            .iter()
            .find(|import| import.alias == definition.name)
            .and_then(|import| import.module)
            .map(|imported| module_docs(&analysis.modules[imported.0 as usize])),
        DefKind::Agent => agent(module, &definition.name),
        DefKind::Workflow => module
            .ir
            .workflow(&definition.name)
            .map(|(_, w)| workflow_summary(module, w)),
        DefKind::Param => workflow.and_then(|w| param(w, &definition.name)),
        DefKind::Task | DefKind::Gate | DefKind::Use | DefKind::Loop => {
            workflow.and_then(|w| node(module, w, &definition.name))
        }
        DefKind::LoopVar => workflow.and_then(|w| loop_var(module, w, definition)),
    };
    // A declaration the checker rejected has no IR; its own text is the best description.
    Some(described.unwrap_or_else(|| declared_text(module, definition)))
}

fn code_block(code: &str) -> String {
    format!("```wf\n{code}\n```")
}

/// The source text of `span` in `module`, or nothing if the span does not fit the text.
fn source(module: &CheckedModule, span: Span) -> &str {
    module.text.get(span.start..span.end).unwrap_or_default()
}

fn declared_text(module: &CheckedModule, definition: &Definition) -> String {
    let line = source(module, definition.span)
        .lines()
        .find(|line| line.contains(&definition.name))
        .unwrap_or(&definition.name)
        .trim();
    format!("{}\n\n({})", code_block(line), definition.kind.noun())
}

fn with_docs(mut text: String, docs: Option<&str>) -> String {
    if let Some(docs) = docs.filter(|d| !d.trim().is_empty()) {
        text.push_str("\n\n");
        text.push_str(docs);
    }
    text
}

fn param(workflow: &Workflow, name: &str) -> Option<String> {
    let (_, param) = workflow.param(name)?;
    let mut head = format!("param {}: {}", param.name, param.ty);
    if let Some(pattern) = &param.pattern {
        let _ = write!(head, " matching {pattern:?}");
    }
    if let Some(default) = &param.default {
        let _ = write!(head, " = {default}");
    }
    let mut text = code_block(&head);
    text.push_str(match &param.default {
        Some(_) => "\n\nOptional: the default applies when no value is given.",
        None => "\n\nRequired: a run must give a value.",
    });
    Some(with_docs(text, param.docs.as_deref()))
}

fn node(module: &CheckedModule, workflow: &Workflow, name: &str) -> Option<String> {
    let (_, node) = workflow.node(name)?;
    let after: Vec<String> = node
        .after
        .iter()
        .filter_map(|(id, _)| workflow.nodes.get(id.0 as usize))
        .map(|dependency| format!("`{}`", dependency.name))
        .collect();
    let mut lines = Vec::new();
    let keyword = match &node.kind {
        NodeKind::Task(task) => {
            if let Some(title) = &task.title {
                lines.push(format!("**title** {}", source(module, title.span)));
            }
            match &task.action {
                Action::Prompt(_) => {
                    let agent = task
                        .agent
                        .and_then(|id| module.ir.agents.get(id.0 as usize))
                        .map_or("the run's `--agent`".to_string(), |a| {
                            format!("`{}` ({})", a.name, a.adapter)
                        });
                    lines.push(format!("**agent** {agent}"));
                }
                Action::Run(run) => {
                    lines.push(format!("**runs** {}", source(module, run.span)));
                }
            }
            if let Some(for_each) = &task.for_each {
                lines.push(format!(
                    "**for each** `{}` in `{}`",
                    for_each.var,
                    source(module, for_each.iter.span)
                ));
            }
            if task.retry > 0 {
                lines.push(format!("**retry** {}", task.retry));
            }
            if let Some(seconds) = task.timeout {
                lines.push(format!("**timeout** {}", duration(seconds)));
            }
            "task"
        }
        NodeKind::Gate(gate) => {
            lines.push(format!("**ask** {}", source(module, gate.ask.span)));
            if let Some(seconds) = gate.timeout {
                lines.push(format!("**timeout** {}", duration(seconds)));
            }
            "gate"
        }
        NodeKind::Use(_) => "use",
        NodeKind::Loop(block) => {
            let round: Vec<String> = block
                .body
                .iter()
                .filter_map(|id| workflow.nodes.get(id.0 as usize))
                .map(|member| format!("`{}`", member.name))
                .collect();
            lines.push(format!("**repeats** {}", round.join(", ")));
            lines.push(format!(
                "**until** `{}`, at most {} rounds",
                source(module, block.until.span),
                source(module, block.max.span)
            ));
            "repeat"
        }
    };
    lines.insert(
        0,
        format!(
            "**after** {}",
            if after.is_empty() {
                "nothing: it can start at once".to_string()
            } else {
                after.join(", ")
            }
        ),
    );
    if let Some(when) = &node.when {
        lines.push(format!("**when** `{}`", source(module, when.span)));
    }
    let head = node_head(module, node, keyword);
    let text = format!("{}\n\n{}", code_block(&head), lines.join("  \n"));
    Some(with_docs(text, node.docs.as_deref()))
}

fn node_head(module: &CheckedModule, node: &Node, keyword: &str) -> String {
    if keyword == "use" {
        // A use's name comes last (`use m.w(…) as NAME`); its first line says what it inlines.
        let text = source(module, node.span);
        let start = text.find("use ").unwrap_or(0);
        return text[start..].lines().next().unwrap_or_default().to_string();
    }
    format!("{keyword} {}", node.name)
}

fn duration(seconds: u64) -> String {
    match seconds {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn loop_var(
    module: &CheckedModule,
    workflow: &Workflow,
    definition: &Definition,
) -> Option<String> {
    let (_, node) = workflow.node(definition.task.as_deref()?)?;
    let NodeKind::Task(task) = &node.kind else {
        return None;
    };
    let for_each = task.for_each.as_ref()?;
    Some(format!(
        "{}\n\nThe loop variable of task `{}`: one element of `{}`, one task instance each.",
        code_block(&format!("{}: {}", for_each.var, for_each.element)),
        node.name,
        source(module, for_each.iter.span)
    ))
}

fn agent(module: &CheckedModule, name: &str) -> Option<String> {
    let (_, profile) = module.ir.agent(name)?;
    let mut lines = vec![format!("adapter = \"{}\"", profile.adapter)];
    lines.extend(
        profile
            .settings
            .iter()
            .map(|(setting, value)| format!("{setting} = {value}")),
    );
    let text = code_block(&format!(
        "agent {} {{\n  {}\n}}",
        profile.name,
        lines.join("\n  ")
    ));
    Some(with_docs(text, profile.docs.as_deref()))
}

fn workflow_summary(module: &CheckedModule, workflow: &Workflow) -> String {
    let params: Vec<String> = workflow
        .params
        .iter()
        .map(|p| match &p.default {
            Some(default) => format!("{}: {} = {default}", p.name, p.ty),
            None => format!("{}: {}", p.name, p.ty),
        })
        .collect();
    let head = format!("workflow {}({})", workflow.name, params.join(", "));
    let mut text = with_docs(code_block(&head), workflow.docs.as_deref());
    let _ = write!(
        text,
        "\n\n{} tasks, gates and uses, in `{}`",
        workflow.nodes.len(),
        module.key
    );
    text
}

/// A module's own description (the `//` comment lines it starts with) and its workflows.
fn module_docs(module: &CheckedModule) -> String {
    let header: Vec<&str> = module
        .text
        .lines()
        .take_while(|line| line.trim_start().starts_with("//"))
        .map(|line| {
            let line = line.trim_start().trim_start_matches('/');
            line.strip_prefix(' ').unwrap_or(line)
        })
        .collect();
    let mut text = format!("**{}**", module.key);
    if !header.is_empty() {
        text.push_str("\n\n");
        text.push_str(&code_block_if_indented(&header));
    }
    for workflow in &module.ir.workflows {
        text.push_str("\n\n---\n\n");
        text.push_str(&workflow_summary(module, workflow));
    }
    text
}

/// Comment lines as Markdown: prose stays prose, and indented example lines become code.
fn code_block_if_indented(lines: &[&str]) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for line in lines {
        let indented = line.starts_with("  ") && !line.trim().is_empty();
        if indented != in_code {
            out.push_str(if indented { "```wf\n" } else { "```\n" });
            in_code = indented;
        }
        out.push_str(if indented { line.trim_start() } else { line });
        out.push('\n');
    }
    if in_code {
        out.push_str("```\n");
    }
    out.trim_end().to_string()
}
