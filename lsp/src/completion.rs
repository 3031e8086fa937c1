//! Completion: node names after `after`, parameters, loop variables and results inside
//! `{{ }}`, filters after `|`, the fields of each kind of block, agent and adapter names, and
//! `std/` modules in imports.
//!
//! Where the cursor is comes from the text ([`crate::cursor`]); the names offered come from
//! the current analysis and, while the text is half-typed, the last one that parsed cleanly.

use crate::cursor::{cursor, BlockKind, Cursor, Place};
use crate::documents::Analyses;
use crate::index::{DefKind, Definition};
use crate::word_docs::{field_doc, filter_doc};
use std::collections::BTreeMap;
use std::path::Path;
use tower_lsp_server::ls_types::{
    CompletionItem, CompletionItemKind, CompletionTextEdit, Range, TextEdit,
};
use wfc::check::{DEFAULTS_FIELDS, GATE_FIELDS, TASK_FIELDS};
use wfc::ir::{Adapter, FILTER_NAMES};

/// The completions at `offset` of the current text. `folder` is the document's folder, whose
/// `.wf` files an import may name.
pub fn completion(
    analyses: &Analyses,
    offset: usize,
    folder: Option<&Path>,
) -> Vec<CompletionItem> {
    let text = analyses.current.text();
    let cursor = cursor(text, offset);
    match &cursor.place {
        Place::TopLevel => keywords(&["import", "agent", "workflow"]),
        Place::WorkflowMember => keywords(&["param", "defaults", "task", "gate", "use"]),
        Place::AfterList => workflow_names(analyses, &cursor)
            .into_iter()
            .filter(|(name, d)| d.kind.is_node() && Some(name) != cursor.node.as_ref())
            .map(|(name, d)| item(&name, kind_of(d.kind), d.kind.noun()))
            .collect(),
        Place::Interpolation(path) => interpolation(analyses, &cursor, path),
        Place::Filter => FILTER_NAMES
            .iter()
            .map(|name| {
                let mut item = item(name, CompletionItemKind::FUNCTION, filter_doc(name));
                item.insert_text = Some(match *name {
                    "join" => "join(\", \")".to_string(),
                    "default" => "default(\"\")".to_string(),
                    _ => name.to_string(),
                });
                item
            })
            .collect(),
        Place::FieldName(block) => fields(analyses, &cursor, *block),
        Place::FieldValue { field, quoted, .. } => match (field.as_str(), quoted) {
            ("agent", false) => module_names(analyses, DefKind::Agent)
                .into_iter()
                .map(|name| item(&name, CompletionItemKind::CLASS, "agent profile"))
                .collect(),
            ("adapter", true) => Adapter::ALL
                .iter()
                .map(|a| item(a.name(), CompletionItemKind::ENUM_MEMBER, "agent adapter"))
                .collect(),
            _ => Vec::new(),
        },
        Place::UseArgument { module, workflow } => use_arguments(analyses, module, workflow),
        Place::ImportPath => import_paths(text, offset, analyses, folder),
        Place::Nothing => Vec::new(),
    }
}

fn item(label: &str, kind: CompletionItemKind, detail: &str) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail: (!detail.is_empty()).then(|| detail.to_string()),
        ..CompletionItem::default()
    }
}

fn keywords(words: &[&str]) -> Vec<CompletionItem> {
    words
        .iter()
        .map(|word| item(word, CompletionItemKind::KEYWORD, ""))
        .collect()
}

fn kind_of(kind: DefKind) -> CompletionItemKind {
    match kind {
        DefKind::Task => CompletionItemKind::FUNCTION,
        DefKind::Gate => CompletionItemKind::EVENT,
        DefKind::Use | DefKind::Import => CompletionItemKind::MODULE,
        DefKind::Param | DefKind::LoopVar => CompletionItemKind::VARIABLE,
        DefKind::Agent => CompletionItemKind::CLASS,
        DefKind::Workflow => CompletionItemKind::STRUCT,
    }
}

/// The declarations of the cursor's workflow, by name, from every analysis the request reads;
/// the current analysis wins where both declare a name.
fn workflow_names(analyses: &Analyses, cursor: &Cursor) -> BTreeMap<String, Definition> {
    let mut names = BTreeMap::new();
    let Some(workflow) = &cursor.workflow else {
        return names;
    };
    for analysis in analyses.all().rev() {
        for definition in analysis.index().in_workflow(workflow) {
            if definition.kind != DefKind::LoopVar {
                names.insert(definition.name.clone(), definition.clone());
            }
        }
    }
    names
}

/// The names of the module's declarations of one kind, from every analysis the request reads.
fn module_names(analyses: &Analyses, kind: DefKind) -> Vec<String> {
    let mut names: Vec<String> = analyses
        .all()
        .flat_map(|analysis| &analysis.index().definitions)
        .filter(|d| d.kind == kind)
        .map(|d| d.name.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The type of a parameter of the cursor's workflow, as the checker has it.
fn param_type(analyses: &Analyses, workflow: &str, name: &str) -> Option<String> {
    analyses.all().find_map(|analysis| {
        let (_, workflow) = analysis.module().ir.workflow(workflow)?;
        workflow.param(name).map(|(_, p)| p.ty.to_string())
    })
}

fn interpolation(analyses: &Analyses, cursor: &Cursor, path: &[String]) -> Vec<CompletionItem> {
    let names = workflow_names(analyses, cursor);
    match path {
        [] => {
            let mut items = Vec::new();
            if let Some(var) = &cursor.loop_var {
                items.push(item(var, CompletionItemKind::VARIABLE, "loop variable"));
            }
            for (name, definition) in &names {
                match definition.kind {
                    DefKind::Param => {
                        let ty = cursor
                            .workflow
                            .as_deref()
                            .and_then(|w| param_type(analyses, w, name))
                            .map_or("param".to_string(), |ty| format!("param: {ty}"));
                        items.push(item(name, CompletionItemKind::VARIABLE, &ty));
                    }
                    DefKind::Task if Some(name) != cursor.node.as_ref() => items.push(item(
                        &format!("{name}.result"),
                        CompletionItemKind::FIELD,
                        "the task's result",
                    )),
                    _ => {}
                }
            }
            items.push(item("run.id", CompletionItemKind::CONSTANT, "the run's id"));
            items.push(item(
                "task.id",
                CompletionItemKind::CONSTANT,
                "this task's id",
            ));
            items
        }
        [first] if first == "run" || first == "task" => {
            vec![item("id", CompletionItemKind::CONSTANT, "the id")]
        }
        [first] if names.get(first).is_some_and(|d| d.kind == DefKind::Task) => {
            vec![item(
                "result",
                CompletionItemKind::FIELD,
                "the task's result",
            )]
        }
        _ => Vec::new(),
    }
}

/// The parameters of the workflow a `use` inlines, from the module its import loaded.
fn use_arguments(analyses: &Analyses, module: &str, workflow: &str) -> Vec<CompletionItem> {
    let params = analyses.all().find_map(|analysis| {
        let import = analysis
            .module()
            .ir
            .imports
            .iter()
            .find(|import| import.alias == module)?;
        let callee = &analysis.modules[import.module?.0 as usize];
        let (_, workflow) = callee.ir.workflow(workflow)?;
        Some(workflow.params.clone())
    });
    params
        .unwrap_or_default()
        .iter()
        .map(|param| {
            let detail = match &param.default {
                Some(default) => format!("{} = {default}", param.ty),
                None => format!("{} (required)", param.ty),
            };
            let mut item = item(&param.name, CompletionItemKind::VARIABLE, &detail);
            item.insert_text = Some(format!("{} = ", param.name));
            item
        })
        .collect()
}

fn fields(analyses: &Analyses, cursor: &Cursor, block: BlockKind) -> Vec<CompletionItem> {
    let names: Vec<&str> = match block {
        BlockKind::Task => TASK_FIELDS.to_vec(),
        BlockKind::Gate => GATE_FIELDS.to_vec(),
        BlockKind::Defaults => DEFAULTS_FIELDS.to_vec(),
        BlockKind::Agent => {
            let adapter = cursor.agent.as_deref().and_then(|agent| {
                analyses
                    .all()
                    .find_map(|analysis| analysis.module().ir.agent(agent).map(|(_, a)| a.adapter))
            });
            let mut names = vec!["adapter"];
            match adapter {
                Some(adapter) => names.extend(adapter.settings().iter().map(|(n, _)| *n)),
                None => {
                    for adapter in Adapter::ALL {
                        names.extend(adapter.settings().iter().map(|(n, _)| *n));
                    }
                }
            }
            let mut seen = Vec::new();
            names.retain(|n| {
                let new = !seen.contains(n);
                seen.push(n);
                new
            });
            names
        }
    };
    names
        .into_iter()
        .map(|name| {
            let mut item = item(name, CompletionItemKind::FIELD, field_doc(name));
            item.insert_text = Some(format!("{name} = "));
            item
        })
        .collect()
}

fn import_paths(
    text: &str,
    offset: usize,
    analyses: &Analyses,
    folder: Option<&Path>,
) -> Vec<CompletionItem> {
    // The whole path typed so far is replaced, so that `/` in it does not cut the word the
    // editor filters by.
    let line_start = text[..offset].rfind(['\n', '\r']).map_or(0, |at| at + 1);
    let quote = text[line_start..offset]
        .rfind('"')
        .map_or(offset, |at| line_start + at + 1);
    let lines = &analyses.current.lines;
    let range = Range::new(lines.position(text, quote), lines.position(text, offset));
    let mut paths: Vec<(String, &str)> = wfc::stdlib::names()
        .into_iter()
        .map(|name| (format!("std/{name}"), "stdlib module"))
        .collect();
    if let Some(entries) = folder.and_then(|f| std::fs::read_dir(f).ok()) {
        let own = analyses.current.uri.path().to_string();
        let mut files: Vec<String> = entries
            .flatten()
            .filter_map(|entry| entry.file_name().to_str().map(str::to_string))
            .filter(|name| name.ends_with(".wf") && !own.ends_with(&format!("/{name}")))
            .collect();
        files.sort();
        paths.extend(files.into_iter().map(|f| (format!("./{f}"), "file")));
    }
    paths
        .into_iter()
        .map(|(path, detail)| {
            let mut item = item(&path, CompletionItemKind::MODULE, detail);
            item.filter_text = Some(path.clone());
            item.text_edit = Some(CompletionTextEdit::Edit(TextEdit::new(range, path)));
            item
        })
        .collect()
}
