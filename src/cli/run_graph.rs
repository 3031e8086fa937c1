//! A run's graph with the state of each task (`wfc graph RUN`): drawn from the run's plan
//! snapshot, so it shows the tasks the run really has (fan-outs expanded, `when`s decided,
//! `use` blocks inlined with their `ID.` prefixes), each marked with where it is now.
//!
//! Three notations: text for the terminal (a mark per task, indented by its depth in the
//! graph), Mermaid and Graphviz DOT (the state as the node's colour; gates and tasks that wait
//! for a person as diamonds).

use crate::graph::{dot_escape, mermaid_escape};
use crate::plan::Plan;
use crate::runtime::{TaskRecord, TaskState};
use std::collections::HashMap;

/// The mark the text form puts before a task in `state`.
fn mark(state: TaskState) -> &'static str {
    match state {
        TaskState::Succeeded | TaskState::Approved => "✓",
        TaskState::Failed | TaskState::Rejected => "✗",
        TaskState::Running | TaskState::Claimed => "▶",
        TaskState::Waiting => "⏸",
        TaskState::Pending => "○",
        TaskState::Cancelled => "⊘",
        TaskState::Skipped => "↷",
    }
}

/// The fill and outline colours of a node in `state`, for Mermaid and DOT.
fn colours(state: TaskState) -> (&'static str, &'static str) {
    match state {
        TaskState::Succeeded | TaskState::Approved => ("#d4edda", "#28a745"),
        TaskState::Failed | TaskState::Rejected => ("#f8d7da", "#dc3545"),
        TaskState::Running | TaskState::Claimed | TaskState::Waiting => ("#fff3cd", "#e0a800"),
        TaskState::Pending | TaskState::Cancelled => ("#f1f1f1", "#999999"),
        TaskState::Skipped => ("#e8eaf6", "#7986cb"),
    }
}

/// One task of the drawing: its id, its state and whether it waits for a person.
struct Node<'a> {
    id: &'a str,
    state: TaskState,
    diamond: bool,
    deps: &'a [String],
}

/// The plan's tasks in its order with their states; a task the store has no record of (a
/// run whose tasks are still being stored) is pending.
fn nodes<'a>(plan: &'a Plan, tasks: &[TaskRecord]) -> Vec<Node<'a>> {
    let states: HashMap<&str, TaskState> = tasks
        .iter()
        .map(|task| (task.key.task.as_str(), task.state))
        .collect();
    plan.tasks
        .iter()
        .map(|task| Node {
            id: &task.id,
            state: states
                .get(task.id.as_str())
                .copied()
                .unwrap_or(TaskState::Pending),
            diamond: task.action.waits_for_person(),
            deps: &task.deps,
        })
        .collect()
}

/// The text form: one line a task in plan order (every task after its dependencies),
/// indented two spaces for each step of its longest path from a task without dependencies,
/// with a state mark, the state, and what it waits for when that is not the line above.
pub fn text(plan: &Plan, tasks: &[TaskRecord]) -> Vec<String> {
    let nodes = nodes(plan, tasks);
    let mut depth: HashMap<&str, usize> = HashMap::new();
    for node in &nodes {
        let level = node
            .deps
            .iter()
            .filter_map(|dep| depth.get(dep.as_str()))
            .map(|d| d + 1)
            .max()
            .unwrap_or(0);
        depth.insert(node.id, level);
    }
    let label = |node: &Node<'_>| {
        format!(
            "{}{} {}",
            "  ".repeat(depth[node.id]),
            mark(node.state),
            node.id
        )
    };
    let width = nodes
        .iter()
        .map(|node| label(node).chars().count())
        .max()
        .unwrap_or(0);
    let mut lines = Vec::new();
    let mut previous: Option<&str> = None;
    for node in &nodes {
        let label = label(node);
        let pad = " ".repeat(width - label.chars().count());
        let mut line = format!("{label}{pad}  {}", node.state);
        let only_the_one_above = node.deps.len() == 1 && previous == Some(node.deps[0].as_str());
        if !node.deps.is_empty() && !only_the_one_above {
            line.push_str(&format!("  (after {})", node.deps.join(", ")));
        }
        lines.push(line.trim_end().to_string());
        previous = Some(node.id);
    }
    lines
}

/// A Mermaid flowchart: each task a node labelled with its id and state, coloured by state.
pub fn mermaid(plan: &Plan, tasks: &[TaskRecord]) -> String {
    let nodes = nodes(plan, tasks);
    let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
    let mut out = String::from("flowchart TD\n");
    for (i, node) in nodes.iter().enumerate() {
        let label = format!(
            "{} {}<br/>{}",
            mark(node.state),
            mermaid_escape(node.id),
            node.state
        );
        let (open, close) = if node.diamond {
            ("{\"", "\"}")
        } else {
            ("[\"", "\"]")
        };
        out.push_str(&format!("    n{i}{open}{label}{close}\n"));
    }
    for (i, node) in nodes.iter().enumerate() {
        for dep in node.deps {
            if let Some(from) = index.get(dep.as_str()) {
                out.push_str(&format!("    n{from} --> n{i}\n"));
            }
        }
    }
    for state in TaskState::ALL {
        let members: Vec<String> = (0..nodes.len())
            .filter(|&i| nodes[i].state == state)
            .map(|i| format!("n{i}"))
            .collect();
        if members.is_empty() {
            continue;
        }
        let (fill, stroke) = colours(state);
        let dashed = if state == TaskState::Cancelled {
            ",stroke-dasharray:5 5"
        } else {
            ""
        };
        out.push_str(&format!(
            "    classDef {state} fill:{fill},stroke:{stroke}{dashed}\n    class {} {state}\n",
            members.join(",")
        ));
    }
    out
}

/// A Graphviz digraph: each task a filled node labelled with its id and state.
pub fn dot(plan: &Plan, tasks: &[TaskRecord]) -> String {
    let nodes = nodes(plan, tasks);
    let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
    let mut out = format!("digraph \"{}\" {{\n", dot_escape(&plan.workflow));
    out.push_str("    rankdir=TB;\n    node [shape=box, style=filled];\n");
    for (i, node) in nodes.iter().enumerate() {
        let (fill, stroke) = colours(node.state);
        let mut attributes = format!(
            "label=\"{} {}\\n{}\", fillcolor=\"{fill}\", color=\"{stroke}\"",
            mark(node.state),
            dot_escape(node.id),
            node.state
        );
        if node.diamond {
            attributes.push_str(", shape=diamond");
        }
        if node.state == TaskState::Cancelled {
            attributes.push_str(", style=\"filled,dashed\"");
        }
        out.push_str(&format!("    n{i} [{attributes}];\n"));
    }
    for (i, node) in nodes.iter().enumerate() {
        for dep in node.deps {
            if let Some(from) = index.get(dep.as_str()) {
                out.push_str(&format!("    n{from} -> n{i};\n"));
            }
        }
    }
    out.push_str("}\n");
    out
}
