//! Completion: node names after `after`, parameters, loop variables and results inside
//! `{{ }}`, filters after `|`, the fields of each kind of block, agent and adapter names, the
//! choices of the work fields (`on_conflict = "agent"`), and `std/` modules in imports.
//!
//! Where the cursor is comes from the text ([`crate::cursor`]); the names offered come from
//! the current analysis and, while the text is half-typed, the last one that parsed cleanly.

use crate::cursor::{cursor, BlockKind, Cursor, Place};
use crate::documents::Analyses;
use crate::index::{DefKind, Definition};
use crate::word_docs::{choice_doc, field_doc, filter_doc};
use std::collections::BTreeMap;
use std::path::Path;
use tower_lsp_server::ls_types::{
    CompletionItem, CompletionItemKind, CompletionTextEdit, Range, TextEdit,
};
use wfc::check::{DEFAULTS_FIELDS, GATE_FIELDS, TASK_FIELDS};
use wfc::ir::{
    Adapter, Choice, NodeKind, OnConflict, RetryFrom, Sandbox, TaskIsolation, FILTER_NAMES,
};

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
        Place::WorkflowMember => keywords(&["param", "defaults", "task", "gate", "use", "repeat"]),
        Place::AfterList => workflow_names(analyses, &cursor)
            .into_iter()
            .filter(|(name, d)| d.kind.is_node() && Some(name) != cursor.node.as_ref())
            .map(|(name, d)| item(&name, kind_of(d.kind), d.kind.noun()))
            .collect(),
        Place::Outcome => vec![
            item(
                "failed",
                CompletionItemKind::KEYWORD,
                "run only when this upstream did not succeed",
            ),
            item(
                "always",
                CompletionItemKind::KEYWORD,
                "run once this upstream ended, however",
            ),
        ],
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
        Place::FieldValue {
            block,
            field,
            quoted,
        } => match (field.as_str(), quoted) {
            ("agent", false) => module_names(analyses, DefKind::Agent)
                .into_iter()
                .map(|name| item(&name, CompletionItemKind::CLASS, "agent profile"))
                .collect(),
            ("adapter", true) => Adapter::ALL
                .iter()
                .map(|a| item(a.name(), CompletionItemKind::ENUM_MEMBER, "agent adapter"))
                .collect(),
            _ => choices(*block, field, *quoted),
        },
        Place::UseArgument {
            module,
            workflow,
            given,
        } => use_arguments(analyses, module, workflow, given),
        Place::UseWorkflow(module) => imported_workflows(analyses, module),
        Place::ParamType { in_list } => param_types(*in_list),
        Place::ForEachList => params_where(analyses, &cursor, |ty| ty.starts_with("list<")),
        Place::Condition => condition_operands(analyses, &cursor),
        Place::ImportPath => import_paths(text, offset, analyses, folder),
        Place::Nothing => Vec::new(),
    }
}

/// The values a work field takes (`isolation`, `on_conflict`, `retry_from`, `sandbox`), as
/// the checker spells them. Outside quotes each comes with its quotes, since a bare name is
/// an error there. An agent profile's `sandbox` is Codex's own setting, which takes others.
fn choices(block: BlockKind, field: &str, quoted: bool) -> Vec<CompletionItem> {
    fn spellings<T: Choice>() -> Vec<&'static str> {
        T::CHOICES.iter().map(|(name, _)| *name).collect()
    }
    if block == BlockKind::Agent {
        return Vec::new();
    }
    let values = match field {
        "isolation" => spellings::<TaskIsolation>(),
        "on_conflict" => spellings::<OnConflict>(),
        "retry_from" => spellings::<RetryFrom>(),
        "sandbox" => spellings::<Sandbox>(),
        _ => return Vec::new(),
    };
    values
        .into_iter()
        .enumerate()
        .map(|(at, value)| {
            let mut item = item(
                value,
                CompletionItemKind::ENUM_MEMBER,
                choice_doc(block, field, value),
            );
            // The checker's order, which puts a field's default, where it has one, first.
            item.sort_text = Some(format!("{at}"));
            if !quoted {
                item.label = format!("\"{value}\"");
                item.filter_text = Some(value.to_string());
                item.insert_text = Some(format!("\"{value}\""));
            }
            item
        })
        .collect()
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
        DefKind::Task | DefKind::Loop => CompletionItemKind::FUNCTION,
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
            for (name, _) in names.iter().filter(|(_, d)| d.kind == DefKind::Param) {
                let ty = cursor
                    .workflow
                    .as_deref()
                    .and_then(|w| param_type(analyses, w, name))
                    .map_or("param".to_string(), |ty| format!("param: {ty}"));
                items.push(item(name, CompletionItemKind::VARIABLE, &ty));
            }
            items.extend(results(analyses, cursor));
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
        [first]
            if readable_results(analyses, cursor)
                .iter()
                .any(|(n, _)| n == first) =>
        {
            let mut items = vec![item(
                "result",
                CompletionItemKind::FIELD,
                "the task's result",
            )];
            if let Some(ty) = cursor
                .workflow
                .as_deref()
                .and_then(|w| crate::outputs::declared(analyses, w, first))
            {
                items.push(item(
                    "output",
                    CompletionItemKind::FIELD,
                    &format!("the task's output: {ty}"),
                ));
            }
            items
        }
        [first, output, fields @ ..]
            if output == "output"
                && readable_results(analyses, cursor)
                    .iter()
                    .any(|(n, _)| n == first) =>
        {
            let declared = cursor
                .workflow
                .as_deref()
                .and_then(|w| crate::outputs::declared(analyses, w, first));
            declared
                .and_then(|ty| crate::outputs::field_type(&ty, fields))
                .map(|ty| crate::outputs::fields(&ty))
                .unwrap_or_default()
                .into_iter()
                .map(|(name, ty)| item(&name, CompletionItemKind::FIELD, &ty.to_string()))
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The fields decided when the plan is made, before any task has run: no result can be read
/// in them (the checker's `wf::not-upstream`).
const PLANNED_FIELDS: [&str; 3] = ["title", "labels", "workdir"];

/// The tasks whose results the cursor's place may read, each with whether its `when` may leave
/// it out: the tasks that certainly run before the cursor's task or gate, and only in a field
/// read at run time. `defaults` and `use` arguments read none.
fn readable_results(analyses: &Analyses, cursor: &Cursor) -> Vec<(String, bool)> {
    let in_node = matches!(cursor.block, Some(BlockKind::Task | BlockKind::Gate));
    let field_reads = cursor
        .field
        .as_deref()
        .is_some_and(|field| !PLANNED_FIELDS.contains(&field));
    let (Some(workflow), Some(node), true, true) =
        (&cursor.workflow, &cursor.node, in_node, field_reads)
    else {
        return Vec::new();
    };
    analyses
        .all()
        .find_map(|analysis| {
            let (_, workflow) = analysis.module().ir.workflow(workflow)?;
            let (id, _) = workflow.node(node)?;
            // Every node the cursor's node waits for, directly or through others.
            let mut seen = vec![false; workflow.nodes.len()];
            let mut queue = vec![id.0 as usize];
            let mut upstream = Vec::new();
            while let Some(at) = queue.pop() {
                for (dependency, _) in &workflow.nodes.get(at)?.after {
                    let dependency = dependency.0 as usize;
                    if !std::mem::replace(seen.get_mut(dependency)?, true) {
                        queue.push(dependency);
                        let found = workflow.nodes.get(dependency)?;
                        if matches!(found.kind, NodeKind::Task(_)) {
                            upstream.push((found.name.clone(), found.when.is_some()));
                        }
                    }
                }
            }
            upstream.sort();
            Some(upstream)
        })
        .unwrap_or_default()
}

/// `TASK.result` for every result the cursor may read; a task that `when` may leave out gets
/// the fallback the checker asks for.
fn results(analyses: &Analyses, cursor: &Cursor) -> Vec<CompletionItem> {
    readable_results(analyses, cursor)
        .into_iter()
        .map(|(name, conditional)| {
            let label = format!("{name}.result");
            let mut item = item(&label, CompletionItemKind::FIELD, "the task's result");
            if conditional {
                item.detail = Some("the result of a task its `when` may leave out".into());
                item.insert_text = Some(format!("{label} | default(\"\")"));
            }
            item
        })
        .collect()
}

/// The workflows of the module imported as `module`.
fn imported_workflows(analyses: &Analyses, module: &str) -> Vec<CompletionItem> {
    let workflows = analyses.all().find_map(|analysis| {
        let import = analysis
            .module()
            .ir
            .imports
            .iter()
            .find(|import| import.alias == module)?;
        let callee = &analysis.modules[import.module?.0 as usize];
        Some(
            callee
                .ir
                .workflows
                .iter()
                .map(|w| {
                    let mut item = item(&w.name, CompletionItemKind::STRUCT, "workflow");
                    item.documentation = w
                        .docs
                        .clone()
                        .map(tower_lsp_server::ls_types::Documentation::String);
                    item
                })
                .collect::<Vec<_>>(),
        )
    });
    workflows.unwrap_or_default()
}

/// The types a parameter may have; a list's elements are scalars.
fn param_types(in_list: bool) -> Vec<CompletionItem> {
    let scalars = [
        ("string", "one line of text"),
        ("text", "free multi-line text"),
        ("int", "an integer"),
        ("bool", "`true` or `false`"),
        ("path", "a relative path inside the workspace"),
    ];
    let mut items: Vec<CompletionItem> = scalars
        .iter()
        .map(|(name, detail)| item(name, CompletionItemKind::TYPE_PARAMETER, detail))
        .collect();
    let mut choice = item(
        "enum(…)",
        CompletionItemKind::TYPE_PARAMETER,
        "one of the listed strings",
    );
    choice.insert_text = Some("enum(\"\")".into());
    choice.filter_text = Some("enum".into());
    items.push(choice);
    if !in_list {
        items.push(item(
            "secret",
            CompletionItemKind::TYPE_PARAMETER,
            "text that is never shown",
        ));
        let mut list = item("list<…>", CompletionItemKind::TYPE_PARAMETER, "a list");
        list.insert_text = Some("list<".into());
        list.filter_text = Some("list".into());
        items.push(list);
    }
    items
}

/// The cursor's workflow's parameters whose type `wanted` accepts.
fn params_where(
    analyses: &Analyses,
    cursor: &Cursor,
    wanted: impl Fn(&str) -> bool,
) -> Vec<CompletionItem> {
    let Some(workflow) = cursor.workflow.as_deref() else {
        return Vec::new();
    };
    workflow_names(analyses, cursor)
        .into_iter()
        .filter(|(_, d)| d.kind == DefKind::Param)
        .filter_map(|(name, _)| {
            let ty = param_type(analyses, workflow, &name)?;
            wanted(&ty).then(|| item(&name, CompletionItemKind::VARIABLE, &format!("param: {ty}")))
        })
        .collect()
}

/// What a `when` condition may read: `bool` parameters first, then the loop variable and the
/// parameters a comparison (`==`, `!=`) can test. Never a secret (a condition shows in the
/// plan) nor a result (it is decided before anything runs).
fn condition_operands(analyses: &Analyses, cursor: &Cursor) -> Vec<CompletionItem> {
    let mut items = params_where(analyses, cursor, |ty| ty == "bool");
    let compared = |ty: &str| !matches!(ty, "bool" | "secret") && !ty.starts_with("list<");
    let mut comparisons = params_where(analyses, cursor, compared);
    if let Some(var) = &cursor.loop_var {
        comparisons.insert(0, item(var, CompletionItemKind::VARIABLE, "loop variable"));
    }
    for comparison in &mut comparisons {
        let detail = comparison.detail.take().unwrap_or_default();
        comparison.detail = Some(format!("{detail}: compare with `==` or `!=`"));
        comparison.sort_text = Some(format!("1{}", comparison.label));
    }
    for boolean in &mut items {
        boolean.sort_text = Some(format!("0{}", boolean.label));
    }
    items.extend(comparisons);
    items
}

/// The parameters of the workflow a `use` inlines, from the module its import loaded, less
/// those already `given`.
fn use_arguments(
    analyses: &Analyses,
    module: &str,
    workflow: &str,
    given: &[String],
) -> Vec<CompletionItem> {
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
        .filter(|param| !given.contains(&param.name))
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
            let mut item = item(name, CompletionItemKind::FIELD, field_doc(block, name));
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
