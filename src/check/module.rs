//! Checking a module's top-level items: names, agent profiles, and each workflow.

use super::fields::{setting_value, FieldSet};
use super::workflow::check_workflow;
use super::CheckedModule;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{self, Adapter};
use crate::suggest::did_you_mean;
use crate::syntax::ast;
use std::collections::{HashMap, HashSet};

/// What a workflow can see of its module: imports, agent profiles and other modules.
pub(crate) struct ModuleScope<'a> {
    /// The modules checked so far (imports are checked before their importers).
    pub modules: &'a [CheckedModule],
    /// This module's imports.
    pub imports: &'a [ir::Import],
    /// This module's agent profiles.
    pub agents: &'a [ir::AgentProfile],
    /// Names of items that did not parse, so references to them are not reported again.
    pub broken: &'a HashSet<String>,
}

pub(crate) fn check_module(
    file: &ast::File,
    imports: Vec<ir::Import>,
    modules: &[CheckedModule],
    diagnostics: &mut Vec<Diagnostic>,
) -> ir::Module {
    let broken: HashSet<String> = file
        .items
        .iter()
        .filter_map(|item| match item {
            ast::Item::Broken(b) => b.name.as_ref().map(|n| n.text.clone()),
            _ => None,
        })
        .collect();
    report_duplicates(file, diagnostics);
    let agents: Vec<ir::AgentProfile> = file
        .items
        .iter()
        .filter_map(|item| match item {
            ast::Item::Agent(agent) => check_agent(agent, diagnostics),
            _ => None,
        })
        .collect();
    let scope = ModuleScope {
        modules,
        imports: &imports,
        agents: &agents,
        broken: &broken,
    };
    let workflows: Vec<ir::Workflow> = file
        .items
        .iter()
        .filter_map(|item| match item {
            ast::Item::Workflow(workflow) => Some(check_workflow(workflow, &scope, diagnostics)),
            _ => None,
        })
        .collect();
    ir::Module {
        imports,
        agents,
        workflows,
    }
}

/// Two imports with one alias, two agents or two workflows with one name.
fn report_duplicates(file: &ast::File, diagnostics: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<(&str, &str), &ast::Name> = HashMap::new();
    for item in &file.items {
        let (kind, name) = match item {
            ast::Item::Import(import) => ("import", &import.alias),
            ast::Item::Agent(agent) => ("agent", &agent.name),
            ast::Item::Workflow(workflow) => ("workflow", &workflow.name),
            ast::Item::Broken(_) => continue,
        };
        if name.text.is_empty() {
            continue;
        }
        if let Some(first) = seen.get(&(kind, name.text.as_str())) {
            diagnostics.push(
                Diagnostic::new(
                    Code::Duplicate,
                    format!("there are two {kind}s called `{}`", name.text),
                    name.span,
                    "second one here",
                )
                .with_label(first.span, "first one here")
                .with_help(format!(
                    "rename one of them; every {kind} in a file needs its own name"
                )),
            );
        } else {
            seen.insert((kind, name.text.as_str()), name);
        }
    }
}

fn check_agent(agent: &ast::Agent, diagnostics: &mut Vec<Diagnostic>) -> Option<ir::AgentProfile> {
    let fields = FieldSet::new(&agent.block, diagnostics);
    let adapter_field = fields.get("adapter");
    let adapter = match adapter_field {
        None => {
            if !agent.block.has_broken("adapter") {
                diagnostics.push(
                    Diagnostic::new(
                        Code::Field,
                        format!(
                            "agent `{}` does not say which adapter runs it",
                            agent.name.text
                        ),
                        agent.name.span,
                        "no `adapter` field",
                    )
                    .with_help(format!(
                        "add `adapter = \"claude-code\"` (or one of: {})",
                        adapter_names()
                    )),
                );
            }
            None
        }
        Some(field) => match &field.value.kind {
            ast::ExprKind::Str(lit) => match lit.plain_text() {
                Some(name) => match Adapter::from_name(&name) {
                    Some(adapter) => Some(adapter),
                    None => {
                        let mut d = Diagnostic::new(
                            Code::UnknownRef,
                            format!("there is no agent adapter called `{name}`"),
                            field.value.span,
                            "unknown adapter",
                        );
                        let help = did_you_mean(&name, Adapter::ALL.iter().map(|a| a.name()))
                            .map(|h| format!("{h} The adapters are: {}", adapter_names()))
                            .unwrap_or_else(|| format!("the adapters are: {}", adapter_names()));
                        d = d.with_help(help);
                        diagnostics.push(d);
                        None
                    }
                },
                None => {
                    diagnostics.push(Diagnostic::new(
                        Code::Type,
                        "an adapter name cannot interpolate",
                        field.value.span,
                        "interpolation here",
                    ));
                    None
                }
            },
            _ => {
                diagnostics.push(
                    Diagnostic::new(
                        Code::Type,
                        "`adapter` takes a string",
                        field.value.span,
                        "not a string",
                    )
                    .with_help("write it in quotes: `adapter = \"claude-code\"`"),
                );
                None
            }
        },
    };
    let mut settings = Vec::new();
    if let Some(adapter) = adapter {
        let known = adapter.settings();
        for field in fields.iter() {
            let name = field.name.text.as_str();
            if name == "adapter" {
                continue;
            }
            match known.iter().find(|(setting, _)| *setting == name) {
                None => {
                    let names: Vec<&str> = known.iter().map(|(n, _)| *n).collect();
                    let list = if names.is_empty() {
                        format!("the `{adapter}` adapter takes no settings")
                    } else {
                        format!("the `{adapter}` adapter takes: {}", names.join(", "))
                    };
                    let help = match did_you_mean(name, names.iter().copied()) {
                        Some(hint) => format!("{hint} {}", capitalize(&list)),
                        None => list,
                    };
                    diagnostics.push(
                        Diagnostic::new(
                            Code::Field,
                            format!("`{name}` is not a setting of the `{adapter}` adapter"),
                            field.name.span,
                            "unknown setting",
                        )
                        .with_help(help),
                    );
                }
                Some((_, kind)) => {
                    if let Some(value) = setting_value(field, *kind, diagnostics) {
                        settings.push((name.to_string(), value));
                    }
                }
            }
        }
        for required in adapter.required_settings() {
            if fields.get(required).is_none() && !agent.block.has_broken(required) {
                diagnostics.push(
                    Diagnostic::new(
                        Code::Field,
                        format!("the `{adapter}` adapter needs `{required}`"),
                        agent.name.span,
                        format!("no `{required}` field"),
                    )
                    .with_help("add `command = [\"program\", \"arg\"]`: the program that gets the prompt on stdin"),
                );
            }
        }
    }
    Some(ir::AgentProfile {
        name: agent.name.text.clone(),
        docs: agent.docs.as_ref().map(ast::Docs::text),
        adapter: adapter.unwrap_or(Adapter::Command),
        settings,
        name_span: agent.name.span,
        span: agent.span,
    })
}

fn adapter_names() -> String {
    Adapter::ALL
        .iter()
        .map(|a| format!("`{}`", a.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}
