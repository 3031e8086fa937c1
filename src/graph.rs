//! Drawing a workflow's graph as Mermaid or Graphviz DOT, straight from the checked IR.
//!
//! The drawing needs no parameter values, so it cannot expand anything that depends on them:
//! a fan-out task is one node marked `×N` (`×N ← X.output.F` when it walks an upstream
//! task's output, which expands only when the run gets there), and a node with `when` is drawn dashed because it
//! may or may not be in the plan. `use` blocks are drawn as clusters holding the callee's
//! nodes, named with the `ID.` prefix the plan gives them, so the picture matches the ids a
//! run shows. Everything is emitted in source order so the output is stable for snapshots
//! and diffs.

use crate::check::Session;
use crate::ir::{Action, Module, ModuleId, NodeKind, WorkflowId};
use std::collections::{HashMap, HashSet};

/// The workflow `workflow` of module `module` as a Mermaid `flowchart TD`.
///
/// `session` must hold the module and every module its `use` blocks name. An unknown
/// workflow yields a flowchart without nodes rather than a panic, because the IR of a file
/// with errors may name things that were left out.
pub fn mermaid(session: &Session<'_>, module: ModuleId, workflow: WorkflowId) -> String {
    Drawing::of(session, module, workflow).to_mermaid()
}

/// The workflow `workflow` of module `module` as a Graphviz `digraph`.
///
/// `session` must hold the module and every module its `use` blocks name. An unknown
/// workflow yields a digraph without nodes rather than a panic, because the IR of a file
/// with errors may name things that were left out.
pub fn dot(session: &Session<'_>, module: ModuleId, workflow: WorkflowId) -> String {
    Drawing::of(session, module, workflow).to_dot()
}

/// The shapes a node can take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// A task, or a placeholder.
    Box,
    /// A gate.
    Diamond,
}

/// An IR condition as a workflow writes it, for a loop's label.
fn condition_text(flow: &crate::ir::Workflow, prefix: &str, expr: &crate::ir::Expr) -> String {
    use crate::ir::ExprKind;
    let text = |e: &crate::ir::Expr| condition_text(flow, prefix, e);
    let joined = |items: &[crate::ir::Expr], op: &str| {
        let parts: Vec<String> = items.iter().map(text).collect();
        parts.join(op)
    };
    match &expr.kind {
        ExprKind::Value(value) => serde_json::to_string(value).unwrap_or_default(),
        ExprKind::Param(param) => flow
            .params
            .get(param.0 as usize)
            .map_or_else(String::new, |p| p.name.clone()),
        ExprKind::LoopVar => "the loop variable".to_string(),
        ExprKind::Output(node, fields) => {
            let name = flow
                .nodes
                .get(node.0 as usize)
                .map_or("", |n| n.name.as_str());
            let fields: String = fields.iter().map(|f| format!(".{f}")).collect();
            format!("{prefix}{name}.output{fields}")
        }
        ExprKind::List(items) => format!("[{}]", joined(items, ", ")),
        ExprKind::Not(inner) => format!("!({})", text(inner)),
        ExprKind::Eq(a, b) => format!("{} == {}", text(a), text(b)),
        ExprKind::Ne(a, b) => format!("{} != {}", text(a), text(b)),
        ExprKind::In(a, b) => format!("{} in {}", text(a), text(b)),
        ExprKind::And(items) => joined(items, " && "),
        ExprKind::Or(items) => joined(items, " || "),
    }
}

/// One drawn node: a task or gate, from the workflow or from an inlined callee.
#[derive(Debug)]
struct Vertex {
    /// The lines of its label; the first is the id the plan gives it.
    lines: Vec<String>,
    shape: Shape,
    /// Whether it has a `when` of its own.
    dashed: bool,
}

/// What a level of the drawing holds, in source order.
#[derive(Debug)]
enum Item {
    /// A vertex, by its index in [`Drawing::vertices`].
    Vertex(usize),
    /// The inlined workflow of a `use` block.
    Cluster(Cluster),
}

/// The nodes of one `use` block.
#[derive(Debug)]
struct Cluster {
    /// The cluster's number, which names it in the output.
    index: usize,
    /// `ID (ALIAS.WORKFLOW)`.
    title: String,
    /// Whether the `use` block has a `when`.
    dashed: bool,
    items: Vec<Item>,
}

/// Where edges attach to a node: a task or gate is both its own entry and exit; a `use`
/// block is entered at the callee's nodes without dependencies and left from its nodes
/// without dependents, as the plan wires it.
#[derive(Debug, Default, Clone)]
struct Ends {
    entries: Vec<usize>,
    exits: Vec<usize>,
}

/// What drawing one workflow produced: its items, the ends of each of its nodes (indexed
/// like `Workflow::nodes`), and its edges, those inside its `use` blocks included.
#[derive(Debug, Default)]
struct Drawn {
    items: Vec<Item>,
    ends: Vec<Ends>,
    edges: Vec<(usize, usize)>,
}

/// A workflow flattened into vertices, clusters and edges between vertices.
#[derive(Debug)]
struct Drawing {
    name: String,
    vertices: Vec<Vertex>,
    items: Vec<Item>,
    clusters: usize,
    edges: Vec<(usize, usize)>,
    /// The edges already drawn, so that an `after` that reaches the same pair twice (through
    /// two `use` blocks, say) draws one arrow.
    seen: HashSet<(usize, usize)>,
    /// The outcome an edge waits for, when not success, drawn as its label.
    outcomes: HashMap<(usize, usize), &'static str>,
}

impl Drawing {
    fn of(session: &Session<'_>, module: ModuleId, workflow: WorkflowId) -> Drawing {
        let name = module_ir(session, module)
            .and_then(|m| m.workflows.get(workflow.0 as usize))
            .map(|w| w.name.clone())
            .unwrap_or_default();
        let mut drawing = Drawing {
            name,
            vertices: Vec::new(),
            items: Vec::new(),
            clusters: 0,
            edges: Vec::new(),
            seen: HashSet::new(),
            outcomes: HashMap::new(),
        };
        let mut stack = Vec::new();
        let drawn = drawing.workflow(session, module, workflow, "", &mut stack);
        drawing.items = drawn.items;
        for (from, to) in drawn.edges {
            drawing.edge(from, to);
        }
        drawing
    }

    /// Draws one workflow's nodes with ids prefixed by `prefix`. `stack` holds the
    /// workflows being drawn, so that a `use` that would recurse (only possible in IR with
    /// errors) is drawn as a plain node instead of looping.
    fn workflow(
        &mut self,
        session: &Session<'_>,
        module: ModuleId,
        workflow: WorkflowId,
        prefix: &str,
        stack: &mut Vec<(ModuleId, WorkflowId)>,
    ) -> Drawn {
        let mut drawn = Drawn::default();
        let Some(ir) = module_ir(session, module) else {
            return drawn;
        };
        let Some(flow) = ir.workflows.get(workflow.0 as usize) else {
            return drawn;
        };
        stack.push((module, workflow));
        // The edges inside each `use` block, by node, to be listed right after the edges
        // into that block.
        let mut inner_edges: Vec<Vec<(usize, usize)>> = Vec::new();
        for node in &flow.nodes {
            let id = format!("{prefix}{}", node.name);
            let dashed = node.when.is_some();
            let mut inner = Vec::new();
            let (item, end) = match &node.kind {
                NodeKind::Task(task) => {
                    let head = match task.for_each.as_ref().map(|f| &f.iter.kind) {
                        // A run-time fan-out expands when the output it walks is known.
                        Some(crate::ir::ExprKind::Output(source, fields)) => {
                            let fields: String = fields.iter().map(|f| format!(".{f}")).collect();
                            let source = flow
                                .nodes
                                .get(source.0 as usize)
                                .map_or("", |n| n.name.as_str());
                            format!("{id} ×N ← {prefix}{source}.output{fields}")
                        }
                        Some(_) => format!("{id} ×N"),
                        None => id,
                    };
                    let kind = match (&task.action, task.agent) {
                        (Action::Run(_), _) => "command".to_string(),
                        (Action::Prompt(_), Some(agent)) => match ir.agents.get(agent.0 as usize) {
                            Some(profile) => format!("agent: {}", profile.name),
                            None => "agent".to_string(),
                        },
                        // Without a profile the run's `--agent` decides, which the graph
                        // cannot know.
                        (Action::Prompt(_), None) => "agent: from --agent".to_string(),
                    };
                    self.vertex(vec![head, kind], Shape::Box, dashed)
                }
                NodeKind::Gate(_) => self.vertex(vec![id], Shape::Diamond, dashed),
                // A loop waits for its round; the label says that the round repeats, at
                // most how often, and until what.
                NodeKind::Loop(block) => self.vertex(
                    vec![
                        format!("{id} ↻ max {}", condition_text(flow, prefix, &block.max)),
                        format!("until {}", condition_text(flow, prefix, &block.until)),
                    ],
                    Shape::Box,
                    dashed,
                ),
                NodeKind::Use(block) => {
                    let callee = module_ir(session, block.module)
                        .and_then(|m| m.workflows.get(block.workflow.0 as usize));
                    let called = format!(
                        "{}.{}",
                        alias(session, ir, block.module),
                        callee.map(|w| w.name.as_str()).unwrap_or("?")
                    );
                    if callee.is_none() || stack.contains(&(block.module, block.workflow)) {
                        self.vertex(vec![id, called], Shape::Box, dashed)
                    } else {
                        let callee = (block.module, block.workflow);
                        let (item, end, edges) =
                            self.cluster(session, callee, id, called, dashed, stack);
                        inner = edges;
                        (item, end)
                    }
                }
            };
            drawn.items.push(item);
            drawn.ends.push(end);
            inner_edges.push(inner);
        }
        // Edges are listed by the node they lead into, in source order, once every node's
        // ends are known: an `after` may name a node that comes later in the file.
        for ((index, node), inner) in flow.nodes.iter().enumerate().zip(inner_edges) {
            for (dep, _) in &node.after {
                let (Some(from), Some(to)) =
                    (drawn.ends.get(dep.0 as usize), drawn.ends.get(index))
                else {
                    continue;
                };
                let outcome = node
                    .outcomes
                    .iter()
                    .find(|(d, _)| d == dep)
                    .map(|(_, outcome)| outcome.as_str());
                for &exit in &from.exits {
                    for &entry in &to.entries {
                        drawn.edges.push((exit, entry));
                        if let Some(outcome) = outcome {
                            self.outcomes.insert((exit, entry), outcome);
                        }
                    }
                }
            }
            drawn.edges.extend(inner);
        }
        stack.pop();
        drawn
    }

    /// Draws the callee of a `use` block as a cluster and works out where edges attach;
    /// returns the cluster, its ends and the edges inside it.
    fn cluster(
        &mut self,
        session: &Session<'_>,
        (module, workflow): (ModuleId, WorkflowId),
        id: String,
        called: String,
        dashed: bool,
        stack: &mut Vec<(ModuleId, WorkflowId)>,
    ) -> (Item, Ends, Vec<(usize, usize)>) {
        let index = self.clusters;
        self.clusters += 1;
        let prefix = format!("{id}.");
        let Drawn {
            mut items,
            ends: inner,
            edges,
        } = self.workflow(session, module, workflow, &prefix, stack);
        let nodes = module_ir(session, module)
            .and_then(|m| m.workflows.get(workflow.0 as usize))
            .map(|w| w.nodes.as_slice())
            .unwrap_or_default();
        let mut end = Ends::default();
        let depended_on: HashSet<usize> = nodes
            .iter()
            .flat_map(|n| n.after.iter().map(|(dep, _)| dep.0 as usize))
            .collect();
        for (index, (node, ends)) in nodes.iter().zip(&inner).enumerate() {
            if node.after.is_empty() {
                push_unique(&mut end.entries, &ends.entries);
            }
            if !depended_on.contains(&index) {
                push_unique(&mut end.exits, &ends.exits);
            }
        }
        // A callee without nodes still gets a vertex, so the edges through the `use` block
        // keep the order they stand for instead of vanishing.
        if end.entries.is_empty() || end.exits.is_empty() {
            let (item, ends) = self.vertex(vec!["(no tasks)".to_string()], Shape::Box, false);
            items.push(item);
            end = ends;
        }
        let title = format!("{id} ({called})");
        let cluster = Cluster {
            index,
            title,
            dashed,
            items,
        };
        (Item::Cluster(cluster), end, edges)
    }

    fn vertex(&mut self, lines: Vec<String>, shape: Shape, dashed: bool) -> (Item, Ends) {
        let index = self.vertices.len();
        self.vertices.push(Vertex {
            lines,
            shape,
            dashed,
        });
        let ends = Ends {
            entries: vec![index],
            exits: vec![index],
        };
        (Item::Vertex(index), ends)
    }

    fn edge(&mut self, from: usize, to: usize) {
        if self.seen.insert((from, to)) {
            self.edges.push((from, to));
        }
    }

    fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart TD\n");
        let mut dashed_clusters = Vec::new();
        self.mermaid_items(&self.items, 1, &mut out, &mut dashed_clusters);
        for (from, to) in &self.edges {
            match self.outcomes.get(&(*from, *to)) {
                Some(outcome) => out.push_str(&format!("    n{from} -.->|{outcome}| n{to}\n")),
                None => out.push_str(&format!("    n{from} --> n{to}\n")),
            }
        }
        let dashed: Vec<String> = (0..self.vertices.len())
            .filter(|&i| self.vertices[i].dashed)
            .map(|i| format!("n{i}"))
            .collect();
        if !dashed.is_empty() {
            out.push_str("    classDef conditional stroke-dasharray: 5 5\n");
            out.push_str(&format!("    class {} conditional\n", dashed.join(",")));
        }
        // Subgraphs are styled with `style`, which every Mermaid version applies to them,
        // rather than with `class`, which older ones ignore on subgraphs.
        for index in dashed_clusters {
            out.push_str(&format!("    style c{index} stroke-dasharray: 5 5\n"));
        }
        out
    }

    fn mermaid_items(
        &self,
        items: &[Item],
        depth: usize,
        out: &mut String,
        dashed_clusters: &mut Vec<usize>,
    ) {
        let indent = "    ".repeat(depth);
        for item in items {
            match item {
                Item::Vertex(index) => {
                    let vertex = &self.vertices[*index];
                    let label = vertex
                        .lines
                        .iter()
                        .map(|line| mermaid_escape(line))
                        .collect::<Vec<_>>()
                        .join("<br/>");
                    let (open, close) = match vertex.shape {
                        Shape::Box => ("[\"", "\"]"),
                        Shape::Diamond => ("{\"", "\"}"),
                    };
                    out.push_str(&format!("{indent}n{index}{open}{label}{close}\n"));
                }
                Item::Cluster(cluster) => {
                    out.push_str(&format!(
                        "{indent}subgraph c{}[\"{}\"]\n",
                        cluster.index,
                        mermaid_escape(&cluster.title)
                    ));
                    if cluster.dashed {
                        dashed_clusters.push(cluster.index);
                    }
                    self.mermaid_items(&cluster.items, depth + 1, out, dashed_clusters);
                    out.push_str(&format!("{indent}end\n"));
                }
            }
        }
    }

    fn to_dot(&self) -> String {
        let mut out = format!("digraph \"{}\" {{\n", dot_escape(&self.name));
        out.push_str("    rankdir=TB;\n    node [shape=box];\n");
        self.dot_items(&self.items, 1, false, &mut out);
        for (from, to) in &self.edges {
            match self.outcomes.get(&(*from, *to)) {
                Some(outcome) => out.push_str(&format!(
                    "    n{from} -> n{to} [label=\"{outcome}\", style=dashed];\n"
                )),
                None => out.push_str(&format!("    n{from} -> n{to};\n")),
            }
        }
        out.push_str("}\n");
        out
    }

    /// Writes `items` at nesting `depth`; `in_dashed` says whether an enclosing cluster is
    /// dashed.
    fn dot_items(&self, items: &[Item], depth: usize, in_dashed: bool, out: &mut String) {
        let indent = "    ".repeat(depth);
        for item in items {
            match item {
                Item::Vertex(index) => {
                    let vertex = &self.vertices[*index];
                    let label = vertex
                        .lines
                        .iter()
                        .map(|line| dot_escape(line))
                        .collect::<Vec<_>>()
                        .join("\\n");
                    let mut attributes = format!("label=\"{label}\"");
                    if vertex.shape == Shape::Diamond {
                        attributes.push_str(", shape=diamond");
                    }
                    if vertex.dashed {
                        attributes.push_str(", style=dashed");
                    }
                    out.push_str(&format!("{indent}n{index} [{attributes}];\n"));
                }
                Item::Cluster(cluster) => {
                    out.push_str(&format!("{indent}subgraph cluster_{} {{\n", cluster.index));
                    out.push_str(&format!(
                        "{indent}    label=\"{}\";\n",
                        dot_escape(&cluster.title)
                    ));
                    // Graphviz hands a cluster's style down to the clusters inside it, so one
                    // without a `when` inside one with a `when` says `solid` to stay solid.
                    if cluster.dashed {
                        out.push_str(&format!("{indent}    style=dashed;\n"));
                    } else if in_dashed {
                        out.push_str(&format!("{indent}    style=solid;\n"));
                    }
                    let dashed = in_dashed || cluster.dashed;
                    self.dot_items(&cluster.items, depth + 1, dashed, out);
                    out.push_str(&format!("{indent}}}\n"));
                }
            }
        }
    }
}

/// The IR of module `id`, if the session holds it.
fn module_ir<'s>(session: &'s Session<'_>, id: ModuleId) -> Option<&'s Module> {
    session
        .modules()
        .nth(id.0 as usize)
        .map(|(_, checked)| &checked.ir)
}

/// The name `from` imports module `target` under, for the title of a `use` cluster; the
/// module's own name when no import names it (which only IR with errors can produce).
fn alias(session: &Session<'_>, from: &Module, target: ModuleId) -> String {
    from.imports
        .iter()
        .find(|import| import.module == Some(target))
        .map(|import| import.alias.clone())
        .or_else(|| {
            session
                .modules()
                .nth(target.0 as usize)
                .map(|(_, checked)| checked.key.to_string())
        })
        .unwrap_or_else(|| "?".to_string())
}

fn push_unique(into: &mut Vec<usize>, from: &[usize]) {
    for &index in from {
        if !into.contains(&index) {
            into.push(index);
        }
    }
}

/// Escapes text for a double-quoted Mermaid label. Mermaid has no backslash escapes; it
/// reads `#name;` and `#code;` entities, and renders labels as HTML, so quotes, markup
/// characters, `#` itself and the backtick that starts a Markdown label become entities,
/// and a line break becomes `<br/>`.
pub(crate) fn mermaid_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '&' => out.push_str("#amp;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '`' => out.push_str("#96;"),
            '\n' => out.push_str("<br/>"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for a double-quoted DOT string: a quote and a backslash are escaped with a
/// backslash (a lone backslash would start a Graphviz escape such as `\N`), and a line break
/// becomes `\n`.
pub(crate) fn dot_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{ModuleKey, NoFiles};

    fn draw(source: &str) -> (String, String) {
        let loader = NoFiles;
        let mut session = Session::new(&loader);
        let id = session.check_text(ModuleKey::File("test.wf".into()), source.to_string());
        assert!(
            !session.module(id).has_errors(),
            "{:?}",
            session.module(id).diagnostics
        );
        (
            mermaid(&session, id, WorkflowId(0)),
            dot(&session, id, WorkflowId(0)),
        )
    }

    #[test]
    fn mermaid_labels_escape_quotes_markup_and_entities() {
        assert_eq!(
            mermaid_escape("a \"b\" <c> & #d; `e`\nf"),
            "a #quot;b#quot; #lt;c#gt; #amp; #35;d; #96;e#96;<br/>f"
        );
    }

    #[test]
    fn dot_labels_escape_quotes_and_backslashes() {
        assert_eq!(dot_escape("a \"b\" \\N\nc"), "a \\\"b\\\" \\\\N\\nc");
    }

    #[test]
    fn a_name_with_quotes_makes_a_valid_dot_header() {
        let mut drawing = Drawing {
            name: "say \"hi\"".to_string(),
            vertices: Vec::new(),
            items: Vec::new(),
            clusters: 0,
            edges: Vec::new(),
            seen: HashSet::new(),
            outcomes: HashMap::new(),
        };
        drawing.vertex(vec!["x".to_string()], Shape::Box, false);
        assert!(drawing
            .to_dot()
            .starts_with("digraph \"say \\\"hi\\\"\" {\n"));
    }

    #[test]
    fn an_outcome_condition_labels_its_edge() {
        let (mermaid, dot) = draw(
            "workflow w {\n  task a {\n    run = \"true\"\n  }\n  task b after a (failed) {\n    run = \"true\"\n  }\n}\n",
        );
        assert!(mermaid.contains("n0 -.->|failed| n1"), "{mermaid}");
        assert!(
            dot.contains("n0 -> n1 [label=\"failed\", style=dashed];"),
            "{dot}"
        );
    }

    #[test]
    fn fan_out_gate_and_when_are_marked() {
        let (mermaid, dot) = draw(
            "workflow w {\n  param xs: list<string> = [\"a\"]\n  param on: bool = true\n\n  task a for each x in xs {\n    run = \"echo {{ x }}\"\n  }\n\n  gate ok after a {\n    ask = \"ok?\"\n  }\n\n  task b after ok when on {\n    run = \"echo b\"\n  }\n}\n",
        );
        assert_eq!(
            mermaid,
            "flowchart TD\n    n0[\"a ×N<br/>command\"]\n    n1{\"ok\"}\n    n2[\"b<br/>command\"]\n    n0 --> n1\n    n1 --> n2\n    classDef conditional stroke-dasharray: 5 5\n    class n2 conditional\n"
        );
        assert_eq!(
            dot,
            "digraph \"w\" {\n    rankdir=TB;\n    node [shape=box];\n    n0 [label=\"a ×N\\ncommand\"];\n    n1 [label=\"ok\", shape=diamond];\n    n2 [label=\"b\\ncommand\", style=dashed];\n    n0 -> n1;\n    n1 -> n2;\n}\n"
        );
    }

    /// Serves one imported file, `lib.wf`.
    struct OneFile(&'static str);

    impl crate::check::Loader for OneFile {
        fn load(&self, path: &std::path::Path) -> Result<Vec<u8>, String> {
            match path.to_str() {
                Some("lib.wf") => Ok(self.0.as_bytes().to_vec()),
                _ => Err(format!("no {}", path.display())),
            }
        }
    }

    #[test]
    fn a_use_of_an_empty_workflow_keeps_the_order_it_stands_for() {
        let loader = OneFile("workflow empty {\n}\n");
        let mut session = Session::new(&loader);
        let source = "import \"./lib.wf\" as lib\n\nworkflow w {\n  task a {\n    run = \"echo a\"\n  }\n\n  use lib.empty() as e after a\n\n  task b after e {\n    run = \"echo b\"\n  }\n}\n";
        let id = session.check_text(ModuleKey::File("main.wf".into()), source.to_string());
        for (_, module) in session.modules() {
            assert!(!module.has_errors(), "{:?}", module.diagnostics);
        }
        let dot = dot(&session, id, WorkflowId(0));
        assert!(dot.contains("n1 [label=\"(no tasks)\"];"), "{dot}");
        assert!(dot.contains("n0 -> n1;\n    n1 -> n2;"), "{dot}");
    }

    #[test]
    fn an_unknown_workflow_draws_an_empty_graph() {
        let loader = NoFiles;
        let mut session = Session::new(&loader);
        let id = session.check_text(ModuleKey::File("t.wf".into()), String::new());
        assert_eq!(mermaid(&session, id, WorkflowId(3)), "flowchart TD\n");
        assert_eq!(
            dot(&session, id, WorkflowId(3)),
            "digraph \"\" {\n    rankdir=TB;\n    node [shape=box];\n}\n"
        );
    }
}
