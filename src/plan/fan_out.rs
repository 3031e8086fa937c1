//! Run-time fan-out (GRAMMAR.md, "`for each` over an output"): a `for each` over an upstream
//! task's output is one task of the plan, `TASK[*]`, that stands for its instances until the
//! list is known. When it is claimed, the engine reads the list and [`expand`]s the plan:
//! one instance per element, named as a static `for each` names them, each waiting for what
//! the template waits for, and everything that waited for the template waiting for every
//! instance too. The new plan replaces the run's in one atomic step of the backend, which
//! also records the template's success, so an expansion happens once or not at all.

use super::spec::{Action, EnvValue, Plan, PromptPart, Shell, TaskSpec, ValuePart};
use crate::ir::Value;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::HashSet;

/// What a task that fans out at run time walks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FanOutSpec {
    /// The task whose typed output holds the list.
    pub from: String,
    /// The fields of that output that lead to the list (empty: the output is the list).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// The most instances it may expand to; a longer list fails the template.
    pub max: usize,
}

impl FanOutSpec {
    /// The list as the workflow writes it: `plan.output.steps`.
    pub fn source_text(&self) -> String {
        let fields: String = self.fields.iter().map(|f| format!(".{f}")).collect();
        format!("{}.output{fields}", self.from)
    }
}

/// The suffix of a template's id: `implement[*]`.
pub const TEMPLATE_SUFFIX: &str = "[*]";

/// The key of each instance, in order: the elements themselves when each is a simple word
/// of at most `longest` bytes and none repeats, their indexes otherwise (the rule of every
/// `for each`).
pub fn instance_keys(texts: &[String], longest: usize) -> Vec<String> {
    let simple = texts
        .iter()
        .all(|k| is_simple_word(k) && k.len() <= longest)
        && texts.iter().collect::<HashSet<_>>().len() == texts.len();
    texts
        .iter()
        .enumerate()
        .map(|(index, text)| {
            if simple {
                text.clone()
            } else {
                index.to_string()
            }
        })
        .collect()
}

/// Whether `text` may stand in a task id as it is.
fn is_simple_word(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The longest element a run-time fan-out names an instance by; longer ones are numbered,
/// as an agent's list may hold sentences.
pub const LONGEST_KEY: usize = 40;

/// The elements of the list a fan-out walks, from the JSON of its source task's typed
/// output; or why there is none to walk.
pub fn elements(spec: &FanOutSpec, typed_output: Option<&str>) -> Result<Vec<Json>, String> {
    let Some(json) = typed_output else {
        return Err(format!(
            "`{}` has no output recorded, so `{}` cannot be walked",
            spec.from,
            spec.source_text()
        ));
    };
    let mut value: Json = serde_json::from_str(json)
        .map_err(|error| format!("the output of `{}` is not JSON: {error}", spec.from))?;
    for field in &spec.fields {
        value = value
            .get(field)
            .cloned()
            .ok_or_else(|| format!("the output of `{}` has no field `{field}`", spec.from))?;
    }
    match value {
        Json::Array(items) if items.len() > spec.max => Err(format!(
            "`{}` holds {} elements, more than the {} this fan-out may make (`max = {}`); nothing was expanded",
            spec.source_text(),
            items.len(),
            spec.max,
            spec.max
        )),
        Json::Array(items) => Ok(items),
        other => Err(format!(
            "`{}` is not a list: {other}",
            spec.source_text()
        )),
    }
}

/// The plan with template `template` expanded into one instance per element of `elements`;
/// returns it with the instances' ids, in order.
pub fn expand(
    plan: &Plan,
    template: &str,
    elements: &[Json],
) -> Result<(Plan, Vec<String>), String> {
    let position = plan
        .tasks
        .iter()
        .position(|task| task.id == template)
        .ok_or_else(|| format!("the plan has no task `{template}`"))?;
    let spec = &plan.tasks[position];
    let stem = template.strip_suffix(TEMPLATE_SUFFIX).unwrap_or(template);
    let values: Vec<Value> = elements.iter().map(Value::from_json).collect();
    let texts: Vec<String> = values.iter().map(super::filters::text_of).collect();
    let ids: Vec<String> = instance_keys(&texts, LONGEST_KEY)
        .into_iter()
        .map(|key| format!("{stem}[{key}]"))
        .collect();
    let instances: Vec<TaskSpec> = ids
        .iter()
        .zip(&values)
        .map(|(id, value)| instance(spec, id, value))
        .collect();
    let mut tasks = Vec::with_capacity(plan.tasks.len() + instances.len());
    tasks.extend(plan.tasks[..=position].iter().cloned());
    tasks.extend(instances);
    for task in &plan.tasks[position + 1..] {
        let mut task = task.clone();
        if let Some(at) = task.deps.iter().position(|dep| dep == template) {
            task.deps.splice(at + 1..at + 1, ids.iter().cloned());
        }
        each_part(&mut task, &mut |part| {
            if let Part::Tasks(read) = part {
                if let Some(at) = read.iter().position(|id| id == template) {
                    read.splice(at..=at, ids.iter().cloned());
                }
            }
        });
        tasks.push(task);
    }
    let expanded = Plan {
        tasks,
        ..plan.clone()
    };
    expanded.validate()?;
    Ok((expanded, ids))
}

/// `plan` as it was before `template` was expanded: its instances gone, and every task that
/// waited for them or read them waiting for and reading the template alone again. (A task
/// that read an expansion into nothing read no task; it is left so.) Comparing a run's
/// snapshot with its file compares this, since the file plans the template, not what it
/// expanded to.
pub fn collapse(plan: &Plan, template: &str) -> Plan {
    let stem = template.strip_suffix(TEMPLATE_SUFFIX).unwrap_or(template);
    let is_instance = |id: &str| {
        id != template
            && id
                .strip_prefix(stem)
                .is_some_and(|rest| rest.starts_with('[') && rest.ends_with(']'))
    };
    let tasks = plan
        .tasks
        .iter()
        .filter(|task| !is_instance(&task.id))
        .map(|task| {
            let mut task = task.clone();
            task.deps.retain(|dep| !is_instance(dep));
            each_part(&mut task, &mut |part| {
                if let Part::Tasks(read) = part {
                    if let Some(at) = read.iter().position(|id| is_instance(id)) {
                        read.retain(|id| !is_instance(id));
                        read.insert(at, template.to_string());
                    }
                }
            });
            task
        })
        .collect();
    Plan {
        tasks,
        ..plan.clone()
    }
}

/// The instance `id` of `template` for the element `value`: the element filled in wherever
/// the loop variable stands.
fn instance(template: &TaskSpec, id: &str, value: &Value) -> TaskSpec {
    let mut task = template.clone();
    task.id = id.to_string();
    if task.title == template.id {
        task.title = id.to_string();
    }
    task.fan_out = None;
    each_part(&mut task, &mut |part| match part {
        Part::Prompt(part) => {
            if let PromptPart::Element { filters, fenced } = part {
                let text = super::filters::apply(value, filters);
                let text = if *fenced {
                    super::filters::fenced(&text)
                } else {
                    text
                };
                *part = PromptPart::Text { text };
            }
        }
        Part::Value(part) => {
            if let ValuePart::Element { filters } = part {
                *part = ValuePart::Text {
                    text: super::filters::apply(value, filters),
                };
            }
        }
        Part::Tasks(_) => {}
    });
    task
}

/// A piece of a task spec filled in at run time.
pub(super) enum Part<'a> {
    Prompt(&'a mut PromptPart),
    Value(&'a mut ValuePart),
    /// The tasks a result or output is read from.
    Tasks(&'a mut Vec<String>),
}

/// Calls `visit` on every prompt part, value part, and list of tasks read, of `task`.
pub(super) fn each_part(task: &mut TaskSpec, visit: &mut dyn FnMut(Part<'_>)) {
    let prompt = |parts: &mut Vec<PromptPart>, visit: &mut dyn FnMut(Part<'_>)| {
        for part in parts {
            if let PromptPart::Result { tasks, .. } = part {
                visit(Part::Tasks(tasks));
            }
            visit(Part::Prompt(part));
        }
    };
    match &mut task.action {
        Action::Agent { prompt: parts, .. } | Action::Gate { ask: parts, .. } => {
            prompt(parts, visit)
        }
        Action::Command { run } => shell(run, visit),
    }
    for command in task.verify.iter_mut().chain(task.work.setup.iter_mut()) {
        shell(command, visit);
    }
    for variable in &mut task.env {
        env(&mut variable.value, visit);
    }
}

fn shell(shell: &mut Shell, visit: &mut dyn FnMut(Part<'_>)) {
    for arg in &mut shell.args {
        env(&mut arg.value, visit);
    }
}

fn env(value: &mut EnvValue, visit: &mut dyn FnMut(Part<'_>)) {
    if let EnvValue::Parts { parts } = value {
        for part in parts.iter_mut() {
            if let ValuePart::Result { tasks, .. } = part {
                visit(Part::Tasks(tasks));
            }
            visit(Part::Value(part));
        }
        // An element filled in may leave only text, which is the plain form.
        if parts.iter().all(|p| matches!(p, ValuePart::Text { .. })) {
            let text: String = parts
                .iter()
                .map(|p| match p {
                    ValuePart::Text { text } => text.as_str(),
                    _ => "",
                })
                .collect();
            *value = EnvValue::Text { text };
        }
    }
}
