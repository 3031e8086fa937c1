//! How a person finds and looks at runs, with the real binary: run ids by prefix, suffix or
//! `latest`; `wfc runs --state` and `--prune`; `wfc graph RUN`; and `wfc status` showing
//! failure reasons and the questions of waiting tasks whole, in local time.

use crate::backend_contract::plan;
use crate::support::{git, run_id, wfc, Run, TempDir};
use serde_json::{json, Value};
use std::path::Path;
use wfc::backends::SqliteBackend;
use wfc::plan::{Action, AgentSpec};
use wfc::runtime::*;

/// 2024-05-01 12:34:56 UTC: the fixed moment the stored runs of these tests began.
const T0: Millis = 1_714_566_896_000;

fn store(dir: &Path) -> SqliteBackend {
    SqliteBackend::open(&dir.join(".wfc/state.db"))
        .unwrap_or_else(|error| panic!("cannot open the store: {error}"))
}

/// Runs `wfc` with a fixed time zone (India's, +05:30 all year) and width.
fn wfc_local(dir: &Path, args: &[&str]) -> Run {
    crate::support::wfc_with_env(dir, args, &[("TZ", "Asia/Kolkata"), ("COLUMNS", "80")])
}

fn ok(run: &Run) {
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
}

fn key(run: &str, task: &str) -> TaskKey {
    TaskKey::new(run, task)
}

/// Stores run `id` with tasks `tasks` (id, dependencies, retries), created at `at`.
fn start(backend: &SqliteBackend, id: &str, tasks: &[(&str, &[&str], u32)], at: Millis) {
    let p = plan(tasks);
    backend.create_run(id, &p, None, at).expect("create run");
    backend.create_tasks(id, &p).expect("create tasks");
}

fn succeed(backend: &SqliteBackend, run: &str, task: &str, at: Millis) {
    let k = key(run, task);
    backend.claim_task(&k, "w1", at, 3_600_000).expect("claim");
    backend.start_task(&k, "w1", at, &[]).expect("start");
    backend
        .complete_task(&k, "w1", "done", at + 1_200)
        .expect("complete");
}

fn fail(backend: &SqliteBackend, run: &str, task: &str, error: &str, at: Millis) {
    let k = key(run, task);
    backend.claim_task(&k, "w1", at, 3_600_000).expect("claim");
    backend.start_task(&k, "w1", at, &[]).expect("start");
    backend
        .fail_task(&k, "w1", error, false, at + 3_400)
        .expect("fail");
}

/// A run `20240501-123456-f00d1` whose `build` failed with a long reason (a traceback) and
/// whose `review`, a `human` task, waits with a question that ends in a diffstat.
fn failed_and_waiting(dir: &Path) {
    let backend = store(dir);
    let id = "20240501-123456-f00d1";
    let mut p = plan(&[
        ("fetch", &[], 0),
        ("build", &["fetch"], 0),
        ("review", &["fetch"], 0),
    ]);
    p.tasks[2].action = Action::Agent {
        profile: Some("person".into()),
        agent: Some(AgentSpec {
            adapter: "human".into(),
            settings: Vec::new(),
        }),
        prompt: Vec::new(),
    };
    backend.create_run(id, &p, None, T0).expect("create run");
    backend.create_tasks(id, &p).expect("create tasks");
    succeed(&backend, id, "fetch", T0);
    let mut reason =
        String::from("failed (exited with code 3):\nTraceback (most recent call last):\n");
    for n in 1..=24 {
        reason.push_str(&format!(
            "  File \"build/step_{n}.py\", line {n}, in step_{n}: a line long enough that it \
             has to be wrapped on a terminal eighty columns wide\n"
        ));
    }
    reason.push_str("ValueError: the version in Cargo.toml is not a version\n");
    fail(&backend, id, "build", &reason, T0 + 2_000);
    let k = key(id, "review");
    backend
        .claim_task(&k, "w1", T0 + 2_000, 3_600_000)
        .expect("claim review");
    backend
        .wait_gate(&k, "w1", T0 + 2_000, &[])
        .expect("review waits");
    let question = "Look at the change and say whether it can ship.\n\nIt renames the \
                    configuration loader and moves its tests; nothing else changes.\n\n \
                    src/config.rs       | 42 +++++++++++++++++++++-----------\n \
                    tests/config.rs     | 17 ++++++++------\n \
                    2 files changed, 37 insertions(+), 22 deletions(-)";
    backend
        .append_event(
            id,
            &NewEvent {
                at: T0 + 2_000,
                kind: "gate_waiting".into(),
                task: Some("review".into()),
                data: json!({"ask": question, "human_task": true}),
            },
        )
        .expect("event");
}

#[test]
fn status_shows_a_failure_reason_and_a_question_whole_in_local_time() {
    let dir = TempDir::new("wfc-views-status");
    failed_and_waiting(dir.path());
    let run = wfc_local(dir.path(), &["status"]);
    ok(&run);
    // The waiting task's duration runs to now.
    let duration = regex::Regex::new(r"\d+h\d\dm").expect("regex");
    let shown = duration.replace_all(&run.stdout, "[TIME]");
    // The reason and the question are wrapped to the terminal's width.
    assert!(
        run.stdout
            .lines()
            .filter(|l| l.starts_with("  "))
            .all(|l| l.chars().count() <= 80),
        "{}",
        run.stdout
    );
    insta::assert_snapshot!("status_failed_and_waiting", shown);
    let json = wfc_local(dir.path(), &["status", "--json"]);
    ok(&json);
    let value: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(
        value["run"]["created_at"], T0,
        "JSON keeps UTC milliseconds"
    );
    assert!(value["tasks"][2]["question"]
        .as_str()
        .is_some_and(|q| q.ends_with("22 deletions(-)")));
}

#[test]
fn runs_and_logs_show_local_time() {
    let dir = TempDir::new("wfc-views-local");
    failed_and_waiting(dir.path());
    let runs = wfc_local(dir.path(), &["runs"]);
    ok(&runs);
    // Older than a week, so the date shows: 18:04 in India is still 2024-05-01.
    assert!(runs.stdout.contains(" 2024-05-01 "), "{}", runs.stdout);
    let logs = wfc_local(dir.path(), &["logs"]);
    ok(&logs);
    assert!(
        logs.stdout
            .starts_with("18:04:58.000  gate_waiting    review"),
        "the newest run's log, at 12:34:58 UTC shown as 18:04:58 in India: {}",
        logs.stdout
    );
}

/// Three ended runs: two on 2024-05-01 (`…-aaaaa`, `…-bbbbb`) and the newest on 2024-05-02.
fn three_runs(dir: &Path) -> SqliteBackend {
    let backend = store(dir);
    for (id, at) in [
        ("20240501-100000-aaaaa", T0),
        ("20240501-110000-bbbbb", T0 + 1_000),
        ("20240502-090000-ccccc", T0 + 86_400_000),
    ] {
        start(&backend, id, &[("only", &[], 0)], at);
        succeed(&backend, id, "only", at);
        backend
            .finish_run(id, RunState::Succeeded, at + 2_000)
            .expect("finish");
    }
    backend
}

fn status_run(dir: &Path, word: &str) -> Run {
    wfc(dir, &["status", word, "--json"])
}

fn shown_id(run: &Run) -> String {
    ok(run);
    let value: Value = serde_json::from_str(&run.stdout).expect("JSON");
    value["run"]["id"].as_str().unwrap_or_default().to_string()
}

#[test]
fn a_run_is_named_by_a_unique_prefix_or_suffix_or_latest() {
    let dir = TempDir::new("wfc-views-ids");
    three_runs(dir.path());
    let path = dir.path();
    assert_eq!(
        shown_id(&status_run(path, "20240502")),
        "20240502-090000-ccccc"
    );
    assert_eq!(
        shown_id(&status_run(path, "bbbbb")),
        "20240501-110000-bbbbb"
    );
    assert_eq!(
        shown_id(&status_run(path, "latest")),
        "20240502-090000-ccccc"
    );
    assert_eq!(
        shown_id(&status_run(path, "20240501-100000-aaaaa")),
        "20240501-100000-aaaaa"
    );

    let ambiguous = status_run(path, "20240501");
    assert_eq!(ambiguous.code, 1, "{}", ambiguous.stderr);
    insta::assert_snapshot!("ambiguous_run_id", ambiguous.stderr);
    let unknown = status_run(path, "20240501-100000-aaaab");
    assert_eq!(unknown.code, 1);
    assert!(
        unknown
            .stderr
            .contains("did you mean `20240501-100000-aaaaa`?"),
        "{}",
        unknown.stderr
    );

    // Every command that takes a run reads it the same way.
    let logs = wfc(path, &["logs", "aaaaa", "--json"]);
    ok(&logs);
    let graph = wfc(path, &["graph", "latest"]);
    ok(&graph);
    assert_eq!(graph.stdout, "✓ only  succeeded\n");
    let retry = wfc(path, &["retry", "ccccc", "--no-run"]);
    assert_eq!(retry.code, 1, "nothing failed: {}", retry.stderr);
    assert!(
        retry.stderr.contains("20240502-090000-ccccc"),
        "{}",
        retry.stderr
    );
    let resume = wfc(path, &["resume", "latest"]);
    assert_eq!(resume.code, 1);
    assert!(
        resume
            .stderr
            .contains("run 20240502-090000-ccccc has ended"),
        "{}",
        resume.stderr
    );
    let done = wfc(path, &["done", "2024050", "only"]);
    assert_eq!(done.code, 1);
    assert!(done.stderr.contains("names 3 runs"), "{}", done.stderr);
}

#[test]
fn runs_are_listed_by_state() {
    let dir = TempDir::new("wfc-views-state");
    let backend = three_runs(dir.path());
    start(
        &backend,
        "20240503-090000-ddddd",
        &[("x", &[], 0)],
        T0 + 2 * 86_400_000,
    );
    let ids = |args: &[&str]| -> Vec<String> {
        let run = wfc(dir.path(), args);
        ok(&run);
        let value: Value = serde_json::from_str(&run.stdout).expect("JSON");
        value
            .as_array()
            .expect("a list")
            .iter()
            .map(|r| r["id"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(
        ids(&["runs", "--state", "running", "--json"]),
        ["20240503-090000-ddddd"]
    );
    assert_eq!(ids(&["runs", "--state", "ended", "--json"]).len(), 3);
    assert_eq!(
        ids(&["runs", "--state", "failed,running", "--json"]),
        ["20240503-090000-ddddd"]
    );
    assert_eq!(
        ids(&[
            "runs",
            "--state",
            "failed",
            "--state",
            "succeeded",
            "--json"
        ])
        .len(),
        3
    );
    let none = wfc(dir.path(), &["runs", "--state", "cancelled"]);
    ok(&none);
    assert!(none.stderr.contains("no run in"), "{}", none.stderr);
    let wrong = wfc(dir.path(), &["runs", "--state", "faild"]);
    assert_eq!(wrong.code, 2);
    assert!(wrong.stderr.contains("failed"), "{}", wrong.stderr);
}

/// Moves run `id`'s times `days` days into the past, as if it had run then.
fn age(dir: &Path, id: &str, days: i64) {
    let db = rusqlite::Connection::open(dir.join(".wfc/state.db")).expect("open the store");
    db.execute(
        "UPDATE runs SET created_at = created_at - ?2, finished_at = finished_at - ?2 \
         WHERE id = ?1",
        rusqlite::params![id, days * 86_400_000],
    )
    .expect("age the run");
}

#[test]
fn prune_removes_old_ended_runs_with_their_worktrees_refs_and_transcripts() {
    let dir = TempDir::new("wfc-views-prune");
    let path = dir.path().join("repo");
    std::fs::create_dir_all(&path).expect("repository folder");
    git(&path, &["init", "--quiet", "--initial-branch=main"]);
    std::fs::write(path.join("README"), "hello\n").expect("README");
    std::fs::write(
        path.join("w.wf"),
        "workflow w {\n  task a {\n    run = \"echo a > a.txt\"\n  }\n  task b after a {\n    run = \"echo b > b.txt; exit 3\"\n  }\n}\n",
    )
    .expect("w.wf");
    git(&path, &["add", "--all"]);
    git(&path, &["commit", "--quiet", "--message=base"]);

    let old = wfc(&path, &["run", "w.wf", "--isolation", "git"]);
    assert_eq!(old.code, 1, "b fails: {}{}", old.stdout, old.stderr);
    let old_id = run_id(&old.stdout);
    let refs = |id: &str| git(&path, &["for-each-ref", &format!("refs/wfc/{id}/")]);
    assert!(!refs(&old_id).is_empty(), "the run left refs");
    let worktrees = path.join(".wfc/worktrees").join(&old_id);
    assert!(worktrees.is_dir(), "the failed task's worktree is kept");
    let transcripts = path.join(".wfc/transcripts").join(&old_id);
    std::fs::create_dir_all(&transcripts).expect("transcripts");
    std::fs::write(transcripts.join("b-1.jsonl"), "{}\n").expect("a transcript");
    age(&path, &old_id, 10);

    // A run that ended just now, and an old run that is still running, stay.
    let recent = wfc(&path, &["run", "w.wf", "--isolation", "git"]);
    let recent_id = run_id(&recent.stdout);
    let backend = store(&path);
    start(&backend, "20240101-000000-runnn", &[("x", &[], 0)], T0);
    drop(backend);

    let dry = wfc(&path, &["runs", "--prune", "7d", "--dry-run"]);
    ok(&dry);
    assert!(
        dry.stdout
            .contains(&format!("would remove run {old_id} (failed, ended ")),
        "{}",
        dry.stdout
    );
    assert!(dry.stdout.contains("dry run: 1 run would be removed"));
    assert!(worktrees.is_dir() && transcripts.is_dir() && !refs(&old_id).is_empty());

    let prune = wfc(&path, &["runs", "--prune", "7d"]);
    ok(&prune);
    assert!(
        prune.stdout.contains(&format!("removed run {old_id}")),
        "{}",
        prune.stdout
    );
    assert!(prune.stdout.contains("its transcripts"), "{}", prune.stdout);
    assert!(
        prune.stdout.ends_with("removed 1 run\n"),
        "{}",
        prune.stdout
    );
    assert!(refs(&old_id).is_empty(), "its refs are gone");
    assert!(!worktrees.exists(), "its worktrees are gone");
    assert!(!transcripts.exists(), "its transcripts are gone");
    let listed = wfc(&path, &["runs", "--json"]);
    let ids: Vec<String> = serde_json::from_str::<Value>(&listed.stdout)
        .expect("JSON")
        .as_array()
        .expect("list")
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        ids,
        [recent_id.clone(), "20240101-000000-runnn".to_string()]
    );
    let gone = wfc(&path, &["status", &old_id]);
    assert_eq!(gone.code, 1, "its rows and events are gone");
    assert!(
        !refs(&recent_id).is_empty(),
        "the recent run keeps its refs"
    );

    let bad = wfc(&path, &["runs", "--prune", "7 days"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("is not an age"), "{}", bad.stderr);
}

#[test]
fn graph_of_a_run_marks_each_task_with_its_state() {
    let dir = TempDir::new("wfc-views-graph");
    let backend = store(dir.path());
    let id = "20240501-123456-9a9a9";
    start(
        &backend,
        id,
        &[
            ("fetch", &[], 0),
            ("build", &["fetch"], 0),
            ("lint", &["fetch"], 0),
            ("gate", &["build", "lint"], 0),
            ("ship", &["gate"], 0),
        ],
        T0,
    );
    succeed(&backend, id, "fetch", T0);
    fail(&backend, id, "build", "exit 1", T0 + 2_000);
    let k = key(id, "lint");
    backend.claim_task(&k, "w1", T0, 3_600_000).expect("claim");
    backend.start_task(&k, "w1", T0, &[]).expect("start");
    let text = wfc(dir.path(), &["graph", "9a9a9"]);
    ok(&text);
    insta::assert_snapshot!("graph_run_text", text.stdout);
    let mermaid = wfc(dir.path(), &["graph", id, "--format", "mermaid"]);
    ok(&mermaid);
    insta::assert_snapshot!("graph_run_mermaid", mermaid.stdout);
    let dot = wfc(dir.path(), &["graph", id, "--format", "dot"]);
    ok(&dot);
    insta::assert_snapshot!("graph_run_dot", dot.stdout);
    let text_of_file = wfc(dir.path(), &["graph", "w.wf", "--format", "text"]);
    assert_eq!(text_of_file.code, 1);
    assert!(
        text_of_file
            .stderr
            .contains("the text form draws a run's graph"),
        "{}",
        text_of_file.stderr
    );
}

/// What `delete_run` must do in every backend that can delete: refuse a running run, then
/// delete an ended one with its tasks and events, and leave the other runs alone.
fn deletes_only_ended_runs(backend: &dyn TaskBackend) {
    let p = plan(&[("a", &[], 0), ("b", &["a"], 0)]);
    for id in ["keep", "gone"] {
        backend.create_run(id, &p, None, T0).expect("create run");
        backend.create_tasks(id, &p).expect("create tasks");
        backend
            .append_event(
                id,
                &NewEvent {
                    at: T0,
                    kind: "run_started".into(),
                    task: None,
                    data: json!({}),
                },
            )
            .expect("event");
    }
    let refused = backend.delete_run("gone").expect_err("a running run stays");
    assert_eq!(refused.kind, BackendErrorKind::Conflict, "{refused}");
    backend
        .finish_run("gone", RunState::Cancelled, T0 + 1)
        .expect("cancel");
    backend.delete_run("gone").expect("delete an ended run");
    let missing = backend.get_run("gone").expect_err("deleted");
    assert_eq!(missing.kind, BackendErrorKind::NotFound);
    assert!(backend.list_tasks("gone").unwrap_or_default().is_empty());
    assert!(backend
        .read_events("gone", 0, 10)
        .unwrap_or_default()
        .is_empty());
    let ids: Vec<String> = backend
        .list_runs()
        .expect("list")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["keep"]);
    assert_eq!(backend.list_tasks("keep").expect("tasks").len(), 2);
    assert_eq!(backend.read_events("keep", 0, 10).expect("events").len(), 1);
    let again = backend.delete_run("gone").expect_err("nothing to delete");
    assert_eq!(again.kind, BackendErrorKind::NotFound);
}

#[test]
fn sqlite_and_memory_delete_only_ended_runs() {
    let dir = TempDir::new("wfc-views-delete");
    deletes_only_ended_runs(&store(dir.path()));
    deletes_only_ended_runs(&wfc::backends::MemoryBackend::new());
}
