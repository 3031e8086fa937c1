//! `wfc list FILE [--json]`: the workflows of a file with their docs and parameters.

use super::output::Output;
use super::target::load;
use crate::check::ModuleKey;
use crate::ir::{Module, NodeKind, Param, Workflow};
use crate::schema::params_schema;
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;

/// Runs `wfc list`.
pub fn run(path: &Path, as_json: bool, output: &Output) -> ExitCode {
    let loaded = match load(path, output) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let (session, id, key) = (&loaded.session, loaded.module, &loaded.key);
    let module = &session.module(id).ir;
    if as_json {
        output
            .stdout_line(&serde_json::to_string_pretty(&to_json(key, module)).unwrap_or_default());
    } else {
        output.stdout_line(to_text(module).trim_end());
    }
    ExitCode::SUCCESS
}

fn to_json(key: &ModuleKey, module: &Module) -> serde_json::Value {
    let workflows: Vec<serde_json::Value> = module
        .workflows
        .iter()
        .map(|workflow| {
            json!({
                "name": workflow.name,
                "docs": workflow.docs,
                "params": workflow.params.iter().map(|p| json!({
                    "name": p.name,
                    "type": p.ty.to_string(),
                    "required": p.default.is_none(),
                    "default": p.default,
                    "pattern": p.pattern,
                    "docs": p.docs,
                })).collect::<Vec<_>>(),
                "tasks": workflow.nodes.iter().map(|n| json!({
                    "id": n.name,
                    "kind": match n.kind { NodeKind::Task(_) => "task", NodeKind::Gate(_) => "gate", NodeKind::Use(_) => "use", NodeKind::Loop(_) => "loop" },
                    "after": n.after.iter().map(|(d, _)| &workflow.nodes[d.0 as usize].name).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "schema": params_schema(workflow),
            })
        })
        .collect();
    json!({ "file": key.to_string(), "workflows": workflows })
}

fn to_text(module: &Module) -> String {
    let mut out = String::new();
    if module.workflows.is_empty() {
        out.push_str("no workflows\n");
    }
    for workflow in &module.workflows {
        describe_workflow(workflow, &mut out);
        out.push('\n');
    }
    out
}

fn describe_workflow(workflow: &Workflow, out: &mut String) {
    out.push_str(&format!("workflow {}\n", workflow.name));
    if let Some(docs) = &workflow.docs {
        for line in docs.lines() {
            out.push_str(&format!("  {line}\n"));
        }
    }
    if workflow.params.is_empty() {
        out.push_str("  no parameters\n");
    } else {
        out.push_str("  parameters:\n");
        let heads: Vec<String> = workflow.params.iter().map(param_head).collect();
        let width = heads.iter().map(|h| h.chars().count()).max().unwrap_or(0);
        for (param, head) in workflow.params.iter().zip(&heads) {
            let docs = param.docs.as_deref().unwrap_or("");
            let mut lines = docs.lines();
            let first = lines.next().unwrap_or("");
            out.push_str(format!("    {head:<width$}  {first}").trim_end());
            out.push('\n');
            for line in lines {
                out.push_str(&format!("    {:<width$}  {line}\n", ""));
            }
        }
    }
    let names: Vec<&str> = workflow.nodes.iter().map(|n| n.name.as_str()).collect();
    out.push_str(&format!("  tasks: {}\n", names.join(", ")));
}

fn param_head(param: &Param) -> String {
    let mut head = format!("{}: {}", param.name, param.ty);
    if let Some(pattern) = &param.pattern {
        head.push_str(&format!(" matching {pattern:?}"));
    }
    match &param.default {
        Some(default) => head.push_str(&format!(" = {default}")),
        None => head.push_str(" (required)"),
    }
    head
}
