//! Completion in each context: `after` lists, interpolations, filters, fields, agent names,
//! adapters and import paths; in half-typed text, as it is while someone types.

use crate::support::{open_feature, position_of_offset};
use serde_json::{json, Value};

/// The labels completion offers at the `‸` after `anchor`'s `nth` occurrence in the
/// feature fixture is replaced by `anchor` + `typed` (which holds the `‸`).
fn labels(anchor: &str, nth: usize, typed: &str) -> Vec<String> {
    items(anchor, nth, typed)
        .iter()
        .map(|item| item["label"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The completion items themselves, as [`labels`] finds them.
fn items(anchor: &str, nth: usize, typed: &str) -> Vec<Value> {
    let (mut server, _folder, uri, text) = open_feature();
    let (at, _) = text
        .match_indices(anchor)
        .nth(nth)
        .expect("the anchor occurs");
    let at = at + anchor.len();
    let edited = format!("{}{}{}", &text[..at], typed.replace('‸', ""), &text[at..]);
    let cursor = at + typed.find('‸').expect("a ‸ marks the cursor");
    server.replace(&uri, 2, &edited);
    server.diagnostics(&uri, 2);
    let found = server.request(
        "textDocument/completion",
        json!({ "textDocument": { "uri": uri }, "position": position_of_offset(&edited, cursor) }),
    );
    match &found {
        Value::Array(items) => items.clone(),
        other => other["items"].as_array().cloned().unwrap_or_default(),
    }
}

fn has_all(labels: &[String], wanted: &[&str]) {
    for want in wanted {
        assert!(
            labels.iter().any(|l| l == want),
            "no `{want}` in {labels:?}"
        );
    }
}

#[test]
fn after_offers_the_workflows_tasks_gates_and_uses() {
    let found = labels(
        "\n  task check after implement {\n    run = \"cargo test\"\n  }\n",
        0,
        "\n  task extra after ‸\n",
    );
    has_all(
        &found,
        &[
            "design",
            "approve",
            "implement",
            "check",
            "review",
            "write_docs",
            "final_review",
            "lint",
        ],
    );
    assert!(
        !found.iter().any(|l| l == "extra" || l == "name"),
        "{found:?}"
    );
    let found = labels("task write_docs after review", 0, ", ‸");
    has_all(&found, &["design", "check"]);
    assert!(
        !found.iter().any(|l| l == "write_docs"),
        "a task does not wait for itself: {found:?}"
    );
}

#[test]
fn interpolations_offer_parameters_and_run_ids() {
    let found = labels("Write a design for ", 0, "{{ ‸");
    has_all(
        &found,
        &["name", "spec", "reviewers", "docs", "run.id", "task.id"],
    );
    // `design` waits for nothing, so it reads no result; it has no loop variable.
    assert!(
        !found
            .iter()
            .any(|l| l.ends_with(".result") || l == "aspect"),
        "{found:?}"
    );
}

fn results(found: &[String]) -> Vec<&str> {
    found
        .iter()
        .filter(|l| l.ends_with(".result"))
        .map(String::as_str)
        .collect()
}

#[test]
fn results_are_offered_only_where_the_checker_accepts_them() {
    // `implement` runs after `approve`, which runs after `design`: only `design` is a task
    // upstream of it.
    let found = labels("Implement {{ name }}. ", 0, "{{ ‸");
    assert_eq!(results(&found), ["design.result"]);
    // `check` runs after `implement`, so it reads both tasks before it.
    let found = labels("run = \"cargo test", 0, " {{ ‸");
    assert_eq!(results(&found), ["design.result", "implement.result"]);
    // A title is made when the plan is, before any result exists; so are labels.
    let found = labels("    title  = \"Design {{ name }}", 0, " {{ ‸");
    assert_eq!(results(&found), Vec::<&str>::new());
    let found = labels("    run = \"cargo test\"\n", 0, "    title = \"{{ ‸\"\n");
    assert_eq!(results(&found), Vec::<&str>::new(), "{found:?}");
    // Defaults apply to every task; a gate's question reads what ran before it.
    let found = labels("    timeout = 30m\n", 0, "    prompt = \"{{ ‸\"\n");
    assert_eq!(results(&found), Vec::<&str>::new(), "{found:?}");
    let found = labels("ask     = \"Approve the design of ", 0, "{{ ‸");
    assert_eq!(results(&found), ["design.result"]);
    // After a dot, only a task upstream has a result.
    assert_eq!(
        labels("Implement {{ name }}. ", 0, "{{ design.‸"),
        ["result"]
    );
    assert_eq!(
        labels("Implement {{ name }}. ", 0, "{{ check.‸"),
        Vec::<String>::new()
    );
    // A task its `when` may leave out is offered with the fallback the checker asks for.
    let found = items(
        "  use common.lint(dir = \"src\") as lint after check\n",
        0,
        "  task late after write_docs {\n    prompt = \"{{ ‸\"\n  }\n",
    );
    let late = found
        .iter()
        .find(|item| item["label"] == "write_docs.result")
        .expect("write_docs.result is offered");
    assert_eq!(late["insertText"], "write_docs.result | default(\"\")");
}

#[test]
fn use_offers_the_imported_modules_workflows() {
    let found = labels(
        "  use common.lint(dir = \"src\") as lint after check\n",
        0,
        "  use review.‸\n",
    );
    assert_eq!(found, ["pull_request"]);
    let found = labels(
        "  use common.lint(dir = \"src\") as lint after check\n",
        0,
        "  use common.l‸\n",
    );
    assert_eq!(found, ["lint"]);
}

#[test]
fn param_types_are_offered_after_the_colon() {
    let found = labels("  param docs: bool = true\n", 0, "  param extra: ‸\n");
    has_all(
        &found,
        &[
            "string",
            "text",
            "int",
            "bool",
            "path",
            "secret",
            "enum(…)",
            "list<…>",
        ],
    );
    let found = labels("  param docs: bool = true\n", 0, "  param extra: list<‸\n");
    has_all(&found, &["string", "int", "path", "enum(…)"]);
    assert!(
        !found.iter().any(|l| l == "secret" || l == "list<…>"),
        "{found:?}"
    );
}

#[test]
fn loops_offer_list_parameters_and_conditions_what_they_may_read() {
    let found = labels(
        "  param docs: bool = true\n",
        0,
        "\n  task more for each r in ‸\n",
    );
    assert_eq!(found, ["reviewers"]);
    // A condition reads `bool` parameters, or compares another parameter or the loop
    // variable; never a list.
    let found = labels("  param docs: bool = true\n", 0, "\n  task more when ‸\n");
    assert_eq!(found, ["docs", "name", "spec"]);
    let found = labels(
        "  param docs: bool = true\n",
        0,
        "\n  task more after check when !(‸\n",
    );
    assert_eq!(found, ["docs", "name", "spec"]);
    let found = labels(
        "  param docs: bool = true\n",
        0,
        "\n  task more for each r in reviewers when docs && ‸\n",
    );
    assert_eq!(found, ["docs", "r", "name", "spec"]);
}

#[test]
fn interpolations_in_a_fan_out_offer_its_loop_variable() {
    let found = labels("Review the change of ", 0, "{{ as‸");
    has_all(&found, &["aspect", "name"]);
}

#[test]
fn after_a_dot_come_fields_and_after_a_bar_filters() {
    let found = labels("Implement {{ name }}. ", 0, "{{ design.‸");
    assert_eq!(found, ["result"]);
    let found = labels("Document ", 0, "{{ name | ‸");
    has_all(
        &found,
        &[
            "slug", "upper", "lower", "trim", "join", "words", "json", "default",
        ],
    );
}

#[test]
fn blocks_offer_their_own_fields() {
    let found = labels("    retry  = 2\n", 0, "    ti‸\n");
    has_all(&found, &["title", "prompt", "run", "verify", "timeout"]);
    let found = labels("    timeout = 2d\n", 0, "    ‸\n");
    assert_eq!(found, ["ask", "timeout"]);
    let found = labels("  max_turns = 40\n", 0, "  ‸\n");
    has_all(&found, &["adapter", "model", "allow", "deny"]);
    assert!(
        !found.iter().any(|l| l == "command"),
        "claude-code takes no `command`: {found:?}"
    );
}

#[test]
fn agent_fields_offer_agent_profiles_and_adapters() {
    let found = labels(
        "Document {{ name }} in README.md.\"\n",
        0,
        "    agent = ‸\n",
    );
    assert_eq!(found, ["claude"]);
    let found = labels("\n}\n", 1, "\nagent other {\n  adapter = \"‸\"\n}\n");
    has_all(&found, &["claude-code", "codex", "command", "human"]);
}

#[test]
fn imports_offer_stdlib_modules_and_sibling_files() {
    let found = labels("import \"./common.wf\" as common\n", 0, "import \"std/‸");
    has_all(
        &found,
        &["std/review", "std/feature", "std/bugfix", "./common.wf"],
    );
    assert!(
        !found.iter().any(|l| l == "./feature.wf"),
        "not the file itself: {found:?}"
    );
}

#[test]
fn workflow_bodies_offer_member_keywords() {
    let found = labels("  param docs: bool = true\n", 0, "  ‸\n");
    assert_eq!(
        found,
        ["param", "defaults", "task", "gate", "use", "repeat"]
    );
}

#[test]
fn use_arguments_offer_the_callees_parameters() {
    let found = labels("use common.lint(", 0, "‸");
    assert_eq!(found, ["dir"]);
    // An argument already given is not offered again.
    let found = labels("use common.lint(dir = \"src\"", 0, ", ‸");
    assert_eq!(found, Vec::<String>::new());
    let found = labels("use review.pull_request(", 0, "‸");
    has_all(&found, &["target", "base", "aspects", "depth"]);
    let found = labels("use review.pull_request(target = name", 0, ", ‸");
    has_all(&found, &["base", "aspects", "depth"]);
    assert!(!found.iter().any(|l| l == "target"), "{found:?}");
}

/// The fields that say where a task works, in a task and in `defaults`.
const WORK_FIELDS: [&str; 6] = [
    "isolation",
    "on_conflict",
    "retry_from",
    "setup",
    "copy_ignored",
    "sandbox",
];

#[test]
fn tasks_and_defaults_offer_the_work_fields() {
    // In task `design`, after its `retry`.
    let found = items("    retry  = 2\n", 0, "    ‸\n");
    let offered: Vec<String> = found
        .iter()
        .map(|item| item["label"].as_str().unwrap_or_default().to_string())
        .collect();
    has_all(&offered, &WORK_FIELDS);
    let sandbox = found
        .iter()
        .find(|item| item["label"] == "sandbox")
        .expect("sandbox is offered");
    assert_eq!(sandbox["insertText"], "sandbox = ");
    let detail = sandbox["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("bubblewrap"), "{detail}");
    // In `defaults`, after its `timeout`.
    let found = labels("    timeout = 30m\n", 0, "    ‸\n");
    has_all(&found, &WORK_FIELDS);
    assert!(!found.iter().any(|l| l == "prompt"), "{found:?}");
    // An agent profile's `sandbox` is Codex's own setting.
    let found = items(
        "\n}\n",
        1,
        "\nagent fast {\n  adapter = \"codex\"\n  ‸\n}\n",
    );
    let sandbox = found
        .iter()
        .find(|item| item["label"] == "sandbox")
        .expect("codex takes a sandbox");
    let detail = sandbox["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("Codex's own sandbox mode"), "{detail}");
    assert!(
        !found.iter().any(|item| item["label"] == "isolation"),
        "{found:?}"
    );
}

#[test]
fn work_fields_offer_their_choices() {
    let found = items("    retry  = 2\n", 0, "    on_conflict = \"‸\"\n");
    let offered: Vec<&str> = found
        .iter()
        .map(|item| item["label"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(offered, ["fail", "agent", "human"]);
    let agent = &found[1];
    assert!(
        agent["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("resolves the conflicted tree"),
        "{agent}"
    );
    assert_eq!(
        labels_in_defaults("    retry_from = \"‸\"\n"),
        ["start", "failed"]
    );
    assert_eq!(
        labels_in_defaults("    sandbox = \"b‸\"\n"),
        ["none", "bwrap"]
    );
    // Outside quotes, a choice comes with its quotes: a bare name is an error.
    let found = items("    retry  = 2\n", 0, "    isolation = ‸\n");
    let none = found
        .iter()
        .find(|item| item["label"] == "\"none\"")
        .expect("\"none\" is offered");
    assert_eq!(none["insertText"], "\"none\"");
    assert_eq!(none["filterText"], "none");
    // Codex's `sandbox` takes Codex's values, which wfc does not list.
    let found = labels(
        "\n}\n",
        1,
        "\nagent fast {\n  adapter = \"codex\"\n  sandbox = \"‸\"\n}\n",
    );
    assert_eq!(found, Vec::<String>::new());
}

/// The labels offered at the `‸` of `typed`, written into the workflow's `defaults`.
fn labels_in_defaults(typed: &str) -> Vec<String> {
    labels("    timeout = 30m\n", 0, typed)
}
