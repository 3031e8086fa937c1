//! `wfc graph`: snapshots of the Mermaid and DOT drawings of every workflow of the examples,
//! the stdlib and `tests/fixtures/graph`; structural checks on the parsed DOT against the IR;
//! Graphviz accepting every DOT drawing; and the command line run as a real process.

use crate::support::{relative, root, wf_files, wfc, TempDir};
use regex::Regex;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::rc::Rc;
use wfc::check::{Loader, ModuleKey, Session};
use wfc::graph::{dot, mermaid};
use wfc::ir::{ModuleId, NodeKind, Workflow, WorkflowId};

/// Reads imported files relative to the repository root, as `wfc` run there would.
struct RootLoader;

impl Loader for RootLoader {
    fn load(&self, path: &Path) -> Result<Vec<u8>, String> {
        std::fs::read(root().join(path)).map_err(|e| format!("{}: {e}", path.display()))
    }
}

static LOADER: RootLoader = RootLoader;

/// One workflow to draw: a name for its snapshots, the session that checked its file, and
/// where it is.
struct Case {
    name: String,
    session: Rc<Session<'static>>,
    module: ModuleId,
    workflow: WorkflowId,
}

impl Case {
    fn workflow(&self) -> &Workflow {
        &self.session.module(self.module).ir.workflows[self.workflow.0 as usize]
    }

    fn mermaid(&self) -> String {
        mermaid(&self.session, self.module, self.workflow)
    }

    fn dot(&self) -> String {
        dot(&self.session, self.module, self.workflow)
    }
}

/// Checks one module, which must be free of errors, and returns a case per workflow.
fn cases_of(key: ModuleKey, label: &str) -> Vec<Case> {
    let mut session = Session::new(&LOADER);
    let module = session.check(key).expect("the module is readable");
    for (_, checked) in session.modules() {
        assert!(
            !checked.has_errors(),
            "{}: {:?}",
            checked.key,
            checked.diagnostics
        );
    }
    let session = Rc::new(session);
    let names: Vec<String> = session
        .module(module)
        .ir
        .workflows
        .iter()
        .map(|w| w.name.clone())
        .collect();
    names
        .iter()
        .enumerate()
        .map(|(index, name)| Case {
            name: format!("{label}_{name}"),
            session: Rc::clone(&session),
            module,
            workflow: WorkflowId(index as u32),
        })
        .collect()
}

/// Every workflow of the examples, the stdlib (as `std/NAME`) and the graph fixtures.
fn corpus() -> Vec<Case> {
    let mut cases = Vec::new();
    for dir in ["examples", "tests/fixtures/graph"] {
        for path in wf_files(dir) {
            let file = relative(&path);
            let label = file
                .trim_start_matches("tests/fixtures/")
                .trim_end_matches(".wf")
                .replace(['/', '-'], "_");
            cases.extend(cases_of(ModuleKey::File(file.into()), &label));
        }
    }
    for path in wf_files("stdlib") {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a stdlib file has a name");
        cases.extend(cases_of(
            ModuleKey::Std(stem.to_string()),
            &format!("stdlib_{stem}"),
        ));
    }
    assert!(cases.len() >= 12, "too few workflows: {}", cases.len());
    cases
}

fn fixture() -> Case {
    cases_of(
        ModuleKey::File("tests/fixtures/graph/nested_use.wf".into()),
        "fixture",
    )
    .into_iter()
    .find(|case| case.workflow().name == "release")
    .expect("the fixture has `release`")
}

#[test]
fn every_workflow_draws_as_its_snapshots() {
    for case in corpus() {
        insta::assert_snapshot!(format!("{}_mermaid", case.name), case.mermaid());
        insta::assert_snapshot!(format!("{}_dot", case.name), case.dot());
    }
}

/// A drawn node, as read back from the DOT text.
#[derive(Debug)]
struct DotNode {
    /// The plan's id: the label's first line without the fan-out mark.
    name: String,
    /// The whole label, unescaped.
    label: String,
    diamond: bool,
    dashed: bool,
}

/// A cluster, as read back from the DOT text.
#[derive(Debug, Default)]
struct DotCluster {
    title: String,
    dashed: bool,
    /// The names of the nodes inside it, at any depth.
    members: Vec<String>,
}

/// The DOT text read back: one statement per line, as `wfc graph` prints it.
#[derive(Debug, Default)]
struct ParsedDot {
    nodes: HashMap<String, DotNode>,
    clusters: Vec<DotCluster>,
    /// Edges by node name, in order.
    edges: Vec<(String, String)>,
}

impl ParsedDot {
    fn parse(text: &str) -> ParsedDot {
        let node = Regex::new(r#"^(n\d+) \[label="((?:[^"\\]|\\.)*)"(.*)\];$"#).expect("regex");
        let edge = Regex::new(r"^(n\d+) -> (n\d+);$").expect("regex");
        let cluster = Regex::new(r"^subgraph cluster_\d+ \{$").expect("regex");
        let title = Regex::new(r#"^label="((?:[^"\\]|\\.)*)";$"#).expect("regex");
        let mut parsed = ParsedDot::default();
        let mut open: Vec<usize> = Vec::new();
        let mut raw_edges = Vec::new();
        let mut lines = text.lines();
        assert!(
            lines.next().is_some_and(|l| l.starts_with("digraph \"")),
            "{text}"
        );
        for line in lines.map(str::trim) {
            if let Some(c) = node.captures(line) {
                let label = unescape_dot(&c[2]);
                let first = label.lines().next().unwrap_or_default();
                // `NAME ×N`, or `NAME ×N ← X.output.F` for a fan-out at run time; `NAME ↻
                // max N` for a loop.
                let name = first
                    .split(" ×N")
                    .next()
                    .and_then(|name| name.split(" ↻ ").next())
                    .unwrap_or_default()
                    .to_string();
                for &index in &open {
                    parsed.clusters[index].members.push(name.clone());
                }
                let rest = &c[3];
                parsed.nodes.insert(
                    c[1].to_string(),
                    DotNode {
                        name,
                        label,
                        diamond: rest.contains("shape=diamond"),
                        dashed: rest.contains("style=dashed"),
                    },
                );
            } else if let Some(c) = edge.captures(line) {
                raw_edges.push((c[1].to_string(), c[2].to_string()));
            } else if cluster.is_match(line) {
                // As in Graphviz, a cluster starts with the style of the one around it.
                let dashed = open.last().is_some_and(|&i| parsed.clusters[i].dashed);
                open.push(parsed.clusters.len());
                parsed.clusters.push(DotCluster {
                    dashed,
                    ..DotCluster::default()
                });
            } else if let (Some(c), Some(&index)) = (title.captures(line), open.last()) {
                parsed.clusters[index].title = unescape_dot(&c[1]);
            } else if line == "style=dashed;" {
                let index = *open.last().expect("style inside a cluster");
                parsed.clusters[index].dashed = true;
            } else if line == "style=solid;" {
                let index = *open.last().expect("style inside a cluster");
                parsed.clusters[index].dashed = false;
            } else if line == "}" {
                open.pop();
            } else {
                assert!(
                    ["rankdir=TB;", "node [shape=box];"].contains(&line),
                    "unexpected DOT line {line:?} in\n{text}"
                );
            }
        }
        for (from, to) in raw_edges {
            let name = |id: &str| {
                parsed
                    .nodes
                    .get(id)
                    .unwrap_or_else(|| panic!("edge names undeclared {id}"))
                    .name
                    .clone()
            };
            let pair = (name(&from), name(&to));
            parsed.edges.push(pair);
        }
        parsed
    }

    fn node(&self, name: &str) -> &DotNode {
        self.nodes
            .values()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node {name}"))
    }

    fn cluster(&self, title: &str) -> &DotCluster {
        self.clusters
            .iter()
            .find(|c| c.title == title)
            .unwrap_or_else(|| panic!("no cluster {title}: {:?}", self.clusters))
    }

    fn count(&self, from: &str, to: &str) -> usize {
        self.edges
            .iter()
            .filter(|(f, t)| f == from && t == to)
            .count()
    }
}

fn unescape_dot(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            (c, false) => out.push(c),
        }
    }
    out
}

#[test]
fn dot_drawings_match_the_ir() {
    for case in corpus() {
        let text = case.dot();
        let parsed = ParsedDot::parse(&text);
        let workflow = case.workflow();
        let mut seen = HashSet::new();
        for edge in &parsed.edges {
            assert!(seen.insert(edge), "{}: {edge:?} twice", case.name);
        }
        for node in &workflow.nodes {
            match &node.kind {
                NodeKind::Task(task) => {
                    let drawn = parsed.node(&node.name);
                    assert_eq!(
                        drawn
                            .label
                            .lines()
                            .next()
                            .is_some_and(|l| l.ends_with(" ×N") || l.contains(" ×N ← ")),
                        task.for_each.is_some(),
                        "{}: {} is marked ×N exactly when it fans out",
                        case.name,
                        node.name
                    );
                    assert_eq!(drawn.dashed, node.when.is_some(), "{}", node.name);
                    assert!(!drawn.diamond);
                }
                NodeKind::Loop(_) => {
                    let drawn = parsed.node(&node.name);
                    assert!(
                        drawn
                            .label
                            .lines()
                            .next()
                            .is_some_and(|l| l.contains(" ↻ max ")),
                        "{}: loop {} says it repeats",
                        case.name,
                        node.name
                    );
                    assert!(!drawn.diamond);
                }
                NodeKind::Gate(_) => {
                    let drawn = parsed.node(&node.name);
                    assert!(drawn.diamond, "{}: gate {}", case.name, node.name);
                    assert_eq!(drawn.dashed, node.when.is_some(), "{}", node.name);
                }
                NodeKind::Use(block) => {
                    let callee =
                        &case.session.module(block.module).ir.workflows[block.workflow.0 as usize];
                    let cluster = parsed
                        .clusters
                        .iter()
                        .find(|c| c.title.starts_with(&format!("{} (", node.name)))
                        .unwrap_or_else(|| panic!("{}: no cluster for {}", case.name, node.name));
                    assert!(cluster.title.ends_with(&format!(".{})", callee.name)));
                    assert_eq!(cluster.dashed, node.when.is_some(), "{}", node.name);
                    for inner in &callee.nodes {
                        if !matches!(inner.kind, NodeKind::Use(_)) {
                            let id = format!("{}.{}", node.name, inner.name);
                            assert!(
                                cluster.members.contains(&id),
                                "{}: {id} in {cluster:?}",
                                case.name
                            );
                        }
                    }
                }
            }
            // Every `after` edge between tasks and gates is drawn exactly once; one that
            // touches a `use` block ends inside its cluster.
            for (dep, _) in &node.after {
                let dep = &workflow.nodes[dep.0 as usize];
                let plain = |kind: &NodeKind| !matches!(kind, NodeKind::Use(_));
                if plain(&dep.kind) && plain(&node.kind) {
                    assert_eq!(
                        parsed.count(&dep.name, &node.name),
                        1,
                        "{}: {} -> {}",
                        case.name,
                        dep.name,
                        node.name
                    );
                } else {
                    let from = format!("{}.", dep.name);
                    let to = format!("{}.", node.name);
                    let reaches = parsed.edges.iter().any(|(f, t)| {
                        (f == &dep.name || f.starts_with(&from))
                            && (t == &node.name || t.starts_with(&to))
                    });
                    assert!(reaches, "{}: {} -> {}", case.name, dep.name, node.name);
                }
            }
        }
    }
}

#[test]
fn the_fixture_wires_nested_use_blocks_at_their_entries_and_exits() {
    let parsed = ParsedDot::parse(&fixture().dot());
    let mut edges = parsed.edges.clone();
    edges.sort();
    let mut expected: Vec<(String, String)> = [
        ("build", "approve"),
        ("approve", "ship.upload.package"),
        ("ship.upload.package", "ship.upload.push"),
        ("ship.upload.package", "ship.upload.checksum"),
        ("ship.upload.push", "ship.notes"),
        ("ship.upload.checksum", "ship.notes"),
        ("ship.upload.push", "ship.mirror.package"),
        ("ship.upload.checksum", "ship.mirror.package"),
        ("ship.mirror.package", "ship.mirror.push"),
        ("ship.mirror.package", "ship.mirror.checksum"),
        ("ship.notes", "announce"),
        ("ship.mirror.push", "announce"),
        ("ship.mirror.checksum", "announce"),
    ]
    .iter()
    .map(|(f, t)| (f.to_string(), t.to_string()))
    .collect();
    expected.sort();
    assert_eq!(edges, expected);

    assert_eq!(parsed.node("build").label, "build ×N\ncommand");
    assert_eq!(
        parsed.node("ship.upload.push").label,
        "ship.upload.push ×N\ncommand"
    );
    assert!(parsed.node("approve").diamond);
    assert!(parsed.node("announce").dashed);
    assert_eq!(
        parsed.node("announce").label,
        "announce\nagent: from --agent"
    );
    assert_eq!(parsed.node("ship.notes").label, "ship.notes\nagent: writer");
    assert!(!parsed.node("ship.notes").dashed);

    let ship = parsed.cluster("ship (middle.ship)");
    assert!(ship.dashed);
    assert_eq!(
        ship.members,
        [
            "ship.upload.package",
            "ship.upload.push",
            "ship.upload.checksum",
            "ship.notes",
            "ship.mirror.package",
            "ship.mirror.push",
            "ship.mirror.checksum",
        ]
    );
    let upload = parsed.cluster("ship.upload (inner.upload)");
    assert!(!upload.dashed);
    assert_eq!(
        upload.members,
        [
            "ship.upload.package",
            "ship.upload.push",
            "ship.upload.checksum"
        ]
    );
    assert!(parsed.cluster("ship.mirror (inner.upload)").dashed);
}

#[test]
fn the_fixture_marks_conditional_nodes_in_mermaid() {
    let text = fixture().mermaid();
    let id_of = |name: &str| {
        text.lines()
            .find_map(|line| {
                let line = line.trim();
                let (id, rest) = line.split_once('[')?;
                rest.starts_with(&format!("\"{name}<br/>"))
                    .then(|| id.to_string())
            })
            .unwrap_or_else(|| panic!("no node {name} in\n{text}"))
    };
    let announce = id_of("announce");
    assert!(
        text.contains("classDef conditional stroke-dasharray: 5 5"),
        "{text}"
    );
    assert!(
        text.contains(&format!("    class {announce} conditional\n")),
        "{text}"
    );
    assert!(text.contains("    subgraph c0[\"ship (middle.ship)\"]\n"));
    assert!(text.contains("    style c0 stroke-dasharray: 5 5\n"));
    assert!(text.contains("[\"build ×N<br/>command\"]"));
    assert!(text.contains("{\"approve\"}"));
}

/// Every line of every Mermaid drawing is one of the statements `wfc graph` writes, and the
/// subgraphs are balanced: a check of the syntax that needs no Mermaid installation.
#[test]
fn mermaid_drawings_use_only_well_formed_statements() {
    let label = r#""[^"]*""#;
    let statements = [
        format!(r"^    (    )*n\d+\[{label}\]$"),
        format!(r"^    (    )*n\d+\{{{label}\}}$"),
        format!(r"^    (    )*subgraph c\d+\[{label}\]$"),
        r"^    (    )*end$".to_string(),
        r"^    n\d+ --> n\d+$".to_string(),
        r"^    classDef conditional stroke-dasharray: 5 5$".to_string(),
        r"^    class n\d+(,n\d+)* conditional$".to_string(),
        r"^    style c\d+ stroke-dasharray: 5 5$".to_string(),
    ];
    let statements: Vec<Regex> = statements
        .iter()
        .map(|s| Regex::new(s).expect("regex"))
        .collect();
    for case in corpus() {
        let text = case.mermaid();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("flowchart TD"), "{}", case.name);
        let mut depth = 0usize;
        for line in lines {
            assert!(
                statements.iter().any(|s| s.is_match(line)),
                "{}: unexpected Mermaid line {line:?}",
                case.name
            );
            if line.trim_start().starts_with("subgraph ") {
                depth += 1;
            } else if line.trim() == "end" {
                depth = depth.checked_sub(1).expect("`end` closes a subgraph");
            }
        }
        assert_eq!(depth, 0, "{}: unclosed subgraph", case.name);
    }
}

/// Graphviz itself accepts every DOT drawing. CI installs the `graphviz` package for this.
#[test]
fn graphviz_accepts_every_dot_drawing() {
    for case in corpus() {
        let text = case.dot();
        let child = Command::new("dot")
            .arg("-Tsvg")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(error) => panic!(
                "this test runs Graphviz's `dot`, which could not be started ({error}); \
                 install it with `apt-get install graphviz`"
            ),
        };
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(text.as_bytes())
            .expect("dot reads its input");
        let output = child.wait_with_output().expect("dot finishes");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stderr.trim().is_empty(),
            "{}: dot -Tsvg failed: {stderr}\n{text}",
            case.name
        );
        assert!(String::from_utf8_lossy(&output.stdout).contains("<svg"));
    }
}

#[test]
fn cli_draws_mermaid_by_default_and_dot_on_request() {
    let run = wfc(&root(), &["graph", "examples/feature.wf"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("flowchart TD\n"), "{}", run.stdout);
    assert!(run.stdout.contains("review ×N"), "{}", run.stdout);
    assert!(run.stdout.ends_with("\n") && !run.stdout.ends_with("\n\n"));

    let run = wfc(
        &root(),
        &["graph", "examples/feature.wf", "--format", "dot"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("digraph \"feature\" {\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.trim_end().ends_with('}'));

    let run = wfc(
        &root(),
        &["graph", "--format", "yaml", "examples/feature.wf"],
    );
    assert_eq!(run.code, 2);
}

#[test]
fn cli_draws_stdlib_modules_from_any_folder() {
    let dir = TempDir::new("wfc-graph-std");
    let run = wfc(dir.path(), &["graph", "std/review", "--format", "dot"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.starts_with("digraph \"pull_request\" {"));
}

#[test]
fn cli_needs_a_workflow_name_when_the_file_has_several() {
    let file = "tests/fixtures/graph/nested_use.wf";
    let run = wfc(&root(), &["graph", file]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("release") && run.stderr.contains("smoke"),
        "the workflows are listed: {}",
        run.stderr
    );
    assert!(run.stdout.is_empty());

    let run = wfc(&root(), &["graph", file, "smoke"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("\"ping<br/>command\""),
        "{}",
        run.stdout
    );

    let run = wfc(&root(), &["graph", file, "nope"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("nope") && run.stderr.contains("release, smoke"),
        "{}",
        run.stderr
    );
}

#[test]
fn cli_prints_the_errors_of_a_broken_file_and_exits_1() {
    let dir = TempDir::new("wfc-graph-broken");
    dir.write(
        "broken.wf",
        "workflow hello {\n  task greet after nothing {\n    run = \"echo hi\"\n  }\n}\n",
    );
    let run = wfc(dir.path(), &["graph", "broken.wf"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("wf::unknown-ref"), "{}", run.stderr);
    assert!(run.stdout.is_empty());

    let run = wfc(dir.path(), &["graph", "missing.wf"]);
    assert_eq!(run.code, 2);
}
