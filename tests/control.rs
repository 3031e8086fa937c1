//! The run-control commands, run as a real process against a real SQLite store that the test
//! fills through the library: `wfc status`, `runs`, `logs`, `retry`, `cancel`, `approve` and
//! `reject`.

use crate::backend_contract::plan;
use crate::support::{wfc, Run, TempDir};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};
use wfc::backends::SqliteBackend;
use wfc::runtime::*;

const HOUR: Millis = 3_600_000;

fn store(dir: &Path) -> SqliteBackend {
    match SqliteBackend::open(&dir.join(".wfc/state.db")) {
        Ok(backend) => backend,
        Err(error) => panic!("cannot open the store: {error}"),
    }
}

fn key(run: &str, task: &str) -> TaskKey {
    TaskKey::new(run, task)
}

fn task(backend: &SqliteBackend, run: &str, id: &str) -> TaskRecord {
    backend
        .get_task(&key(run, id))
        .unwrap_or_else(|e| panic!("{run}/{id}: {e}"))
}

fn start(backend: &SqliteBackend, run: &str, tasks: &[(&str, &[&str], u32)], at: Millis) {
    let p = plan(tasks);
    backend.create_run(run, &p, None, at).expect("create run");
    backend.create_tasks(run, &p).expect("create tasks");
}

fn claim(backend: &SqliteBackend, run: &str, id: &str, at: Millis) {
    backend
        .claim_task(&key(run, id), "w1", at, HOUR)
        .expect("claim")
        .unwrap_or_else(|| panic!("{run}/{id} is not claimable"));
}

fn succeed(backend: &SqliteBackend, run: &str, id: &str, at: Millis) {
    claim(backend, run, id, at);
    backend
        .start_task(&key(run, id), "w1", at, &[])
        .expect("start");
    backend
        .complete_task(&key(run, id), "w1", "done", at + 1_200)
        .expect("complete");
}

fn fail(backend: &SqliteBackend, run: &str, id: &str, error: &str, at: Millis) {
    claim(backend, run, id, at);
    backend
        .start_task(&key(run, id), "w1", at, &[])
        .expect("start");
    backend
        .fail_task(&key(run, id), "w1", error, true, at + 184_000)
        .expect("fail");
}

fn run_forever(backend: &SqliteBackend, run: &str, id: &str, at: Millis) {
    claim(backend, run, id, at);
    backend
        .start_task(&key(run, id), "w1", at, &[])
        .expect("start");
}

fn wait(backend: &SqliteBackend, run: &str, gate: &str, at: Millis) {
    claim(backend, run, gate, at);
    backend
        .wait_gate(&key(run, gate), "w1", at, &[])
        .expect("wait gate");
}

fn event(backend: &SqliteBackend, run: &str, kind: &str, task: Option<&str>, data: Value) {
    let event = NewEvent {
        at: now_millis(),
        kind: kind.into(),
        task: task.map(str::to_string),
        data,
    };
    backend.append_event(run, &event).expect("append event");
}

fn events(backend: &SqliteBackend, run: &str) -> Vec<EventRecord> {
    backend.read_events(run, 0, 1000).expect("events")
}

/// A store with an old finished run `r0` and the newest run `r1`, whose tasks are in every
/// state: `a` succeeded, `b` failed after 2 attempts, `c` and `d` wait for `b`, `e` runs,
/// `gate` waits for an answer and `f` waits for `gate`.
fn mixed(dir: &Path) -> SqliteBackend {
    let backend = store(dir);
    let now = now_millis();
    start(&backend, "r0", &[("only", &[], 0)], now - 2 * HOUR);
    succeed(&backend, "r0", "only", now - 2 * HOUR);
    backend
        .finish_run("r0", RunState::Succeeded, now - HOUR)
        .expect("finish r0");
    let at = now - 300_000;
    start(
        &backend,
        "r1",
        &[
            ("a", &[], 0),
            ("b", &["a"], 1),
            ("c", &["b"], 0),
            ("d", &["c"], 0),
            ("e", &[], 0),
            ("gate", &["a"], 0),
            ("f", &["gate"], 0),
        ],
        at,
    );
    succeed(&backend, "r1", "a", at);
    fail(&backend, "r1", "b", "first try", at + 2_000);
    fail(
        &backend,
        "r1",
        "b",
        "exit status 1\nerror: the tests failed",
        at + 2_000,
    );
    run_forever(&backend, "r1", "e", at + 3_000);
    wait(&backend, "r1", "gate", at + 4_000);
    backend
}

fn ok(run: &Run) {
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
}

fn failed(run: &Run, code: i32, says: &str) {
    assert_eq!(
        run.code, code,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(
        run.stderr.contains(says),
        "wanted {says:?} in:\n{}",
        run.stderr
    );
}

fn line<'a>(text: &'a str, start: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starts with {start:?} in:\n{text}"))
}

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

#[test]
fn status_shows_the_newest_run_as_a_table() {
    let dir = TempDir::new("wfc-control-status");
    mixed(dir.path());
    let run = wfc(dir.path(), &["status"]);
    ok(&run);
    let out = &run.stdout;
    assert!(!out.contains('\u{1b}'), "no colour when piped: {out:?}");
    assert_eq!(words(line(out, "run ")), ["run", "r1"]);
    assert_eq!(line(out, "workflow "), "workflow  contract (contract.wf)");
    assert_eq!(words(line(out, "state ")), ["state", "running"]);
    assert!(line(out, "created ").ends_with("UTC (5m ago)"), "{out}");
    assert_eq!(
        words(line(out, "TASK ")),
        ["TASK", "STATE", "ATTEMPTS", "DURATION", "LAST", "ERROR"]
    );
    assert_eq!(words(line(out, "a ")), ["a", "succeeded", "1/1", "1.2s"]);
    assert_eq!(
        words(line(out, "b ")),
        ["b", "failed", "2/2", "3m04s", "exit", "status", "1", "(+1", "more", "line)"]
    );
    assert_eq!(words(line(out, "c ")), ["c", "pending", "0/1", "-"]);
    let e = words(line(out, "e "));
    assert_eq!(&e[..3], ["e", "running", "1/1"]);
    assert!(
        e[3].ends_with('s'),
        "a running task's duration runs to now: {e:?}"
    );
    assert_eq!(&words(line(out, "gate "))[..3], ["gate", "waiting", "1/1"]);
    assert!(out.lines().all(|l| l.chars().count() <= 100), "{out}");
    assert!(
        out.contains("\n7 tasks: 1 succeeded, 1 running, 1 waiting, 1 failed, 3 pending\n"),
        "{out}"
    );
    assert!(
        out.contains("waiting for approval: gate — `wfc approve r1 gate`"),
        "{out}"
    );
    let old = wfc(dir.path(), &["status", "r0"]);
    ok(&old);
    assert!(
        old.stdout.contains("\n1 task: 1 succeeded\n"),
        "{}",
        old.stdout
    );
    assert!(
        line(&old.stdout, "finished ").contains("(after 1h00m)"),
        "{}",
        old.stdout
    );
}

#[test]
fn status_json_has_the_run_and_every_task() {
    let dir = TempDir::new("wfc-control-status-json");
    mixed(dir.path());
    let run = wfc(dir.path(), &["status", "r1", "--json"]);
    ok(&run);
    let value: Value = serde_json::from_str(&run.stdout).expect("status --json is JSON");
    assert_eq!(value["run"]["id"], "r1");
    assert_eq!(value["run"]["workflow"], "contract");
    assert_eq!(value["run"]["source"], "contract.wf");
    assert_eq!(value["run"]["state"], "running");
    assert!(value["run"]["created_at"].is_i64());
    let tasks = value["tasks"].as_array().expect("tasks");
    let ids: Vec<&str> = tasks
        .iter()
        .map(|t| t["key"]["task"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["a", "b", "c", "d", "e", "gate", "f"]);
    assert_eq!(tasks[1]["state"], "failed");
    assert_eq!(tasks[1]["attempts"], 2);
    assert_eq!(tasks[1]["max_attempts"], 2);
    assert_eq!(
        tasks[1]["last_error"],
        "exit status 1\nerror: the tests failed"
    );
    assert_eq!(tasks[0]["result"], "done");
    assert_eq!(value["counts"]["failed"], 1);
    assert_eq!(value["counts"]["pending"], 3);
    assert_eq!(value["counts"]["approved"], 0);
}

#[test]
fn runs_lists_newest_first() {
    let dir = TempDir::new("wfc-control-runs");
    mixed(dir.path());
    let run = wfc(dir.path(), &["runs"]);
    ok(&run);
    let lines: Vec<Vec<&str>> = run.stdout.lines().map(words).collect();
    assert_eq!(
        lines,
        [
            vec!["RUN", "WORKFLOW", "STATE", "TASKS", "CREATED", "SOURCE"],
            vec![
                "r1",
                "contract",
                "running",
                "1/7",
                "5m",
                "ago",
                "contract.wf"
            ],
            vec![
                "r0",
                "contract",
                "succeeded",
                "1/1",
                "2h",
                "ago",
                "contract.wf"
            ],
        ]
    );
    let json = wfc(dir.path(), &["runs", "--json"]);
    ok(&json);
    let value: Value = serde_json::from_str(&json.stdout).expect("runs --json is JSON");
    let runs = value.as_array().expect("a list");
    assert_eq!(runs.len(), 2);
    assert_eq!(
        (&runs[0]["id"], &runs[0]["tasks"], &runs[0]["succeeded"]),
        (&json!("r1"), &json!(7), &json!(1))
    );
    assert_eq!(runs[1]["state"], "succeeded");
}

#[test]
fn logs_print_one_line_an_event() {
    let dir = TempDir::new("wfc-control-logs");
    let backend = mixed(dir.path());
    event(&backend, "r1", "run_started", None, json!({}));
    event(
        &backend,
        "r1",
        "task_claimed",
        Some("b"),
        json!({"attempt": 2, "worker": "w1"}),
    );
    event(
        &backend,
        "r1",
        "task_output",
        Some("b"),
        json!({"text": "compiling\ntesting\n"}),
    );
    event(
        &backend,
        "r1",
        "task_failed",
        Some("b"),
        json!({"error": "exit status 1\nmore"}),
    );
    event(
        &backend,
        "r1",
        "task_succeeded",
        Some("a"),
        json!({"result": "done"}),
    );
    let run = wfc(dir.path(), &["logs", "r1"]);
    ok(&run);
    let rest: Vec<String> = run
        .stdout
        .lines()
        .map(|l| {
            let (time, rest) = l.split_once("  ").expect("a time first");
            assert_eq!(time.len(), "12:34:56.789".len(), "{l}");
            words(rest).join(" ")
        })
        .collect();
    assert_eq!(
        rest,
        [
            "run_started",
            "task_claimed b attempt 2 by w1",
            "task_output b compiling",
            "task_output b testing",
            "task_failed b exit status 1 (+1 more line)",
            "task_succeeded a done",
        ]
    );
    let only_b = wfc(dir.path(), &["logs", "r1", "b"]);
    ok(&only_b);
    assert_eq!(only_b.stdout.lines().count(), 4, "{}", only_b.stdout);
    assert!(
        only_b.stdout.lines().all(|l| words(l)[2] == "b"),
        "{}",
        only_b.stdout
    );
    let json = wfc(dir.path(), &["logs", "r1", "b", "--json"]);
    ok(&json);
    let stored: Vec<Value> = json
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(stored.len(), 3);
    assert_eq!(
        (
            &stored[0]["seq"],
            &stored[0]["kind"],
            &stored[0]["data"]["worker"]
        ),
        (&json!(2), &json!("task_claimed"), &json!("w1"))
    );
    failed(
        &wfc(dir.path(), &["logs", "r1", "bb"]),
        1,
        "run `r1` has no task `bb`; did you mean `b`?",
    );
}

#[test]
fn logs_follow_stops_when_the_run_ends() {
    let dir = TempDir::new("wfc-control-follow");
    let backend = mixed(dir.path());
    event(
        &backend,
        "r0",
        "run_finished",
        None,
        json!({"state": "succeeded"}),
    );
    let began = Instant::now();
    let finished = wfc(dir.path(), &["logs", "r0", "--follow"]);
    ok(&finished);
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "a finished run is not followed"
    );
    assert!(
        finished.stdout.contains("run_finished"),
        "{}",
        finished.stdout
    );

    event(&backend, "r1", "run_started", None, json!({}));
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_wfc"))
        .args(["logs", "r1", "--follow"])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("wfc starts");
    let path = dir.path().to_path_buf();
    let finisher = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let backend = store(&path);
        event(
            &backend,
            "r1",
            "task_output",
            Some("e"),
            json!({"text": "late line"}),
        );
        backend
            .finish_run("r1", RunState::Failed, now_millis())
            .expect("finish");
        event(
            &backend,
            "r1",
            "run_finished",
            None,
            json!({"state": "failed"}),
        );
    });
    let began = Instant::now();
    let mut child = child;
    loop {
        match child.try_wait().expect("wait") {
            Some(_) => break,
            None if began.elapsed() > Duration::from_secs(20) => {
                let _ = child.kill();
                panic!("`wfc logs --follow` did not stop after the run ended");
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    finisher.join().expect("finisher");
    let output = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("run_started"), "{stdout}");
    assert!(
        stdout.contains("late line"),
        "events written while following are shown: {stdout}"
    );
}

#[test]
fn retry_resets_one_failed_task() {
    let dir = TempDir::new("wfc-control-retry");
    let backend = mixed(dir.path());
    backend
        .finish_run("r1", RunState::Failed, now_millis())
        .expect("finish");
    let run = wfc(dir.path(), &["retry", "r1", "b", "--no-run"]);
    ok(&run);
    assert!(
        run.stdout.contains("reset b (was failed)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("`wfc resume r1`"), "{}", run.stdout);
    // Attempt numbers go on: b used both of its attempts (`retry = 1`); its next is its
    // third, and it has its two again.
    let b = task(&backend, "r1", "b");
    assert_eq!(
        (b.state, b.attempts, b.max_attempts),
        (TaskState::Pending, 2, 4)
    );
    assert_eq!(task(&backend, "r1", "a").state, TaskState::Succeeded);
    assert_eq!(task(&backend, "r1", "e").state, TaskState::Running);
    assert_eq!(backend.get_run("r1").expect("run").state, RunState::Running);

    failed(
        &wfc(dir.path(), &["retry", "r1", "a"]),
        1,
        "task `a` is succeeded; only a failed, cancelled or rejected task is retried",
    );
    failed(
        &wfc(dir.path(), &["retry", "r1", "bb"]),
        1,
        "run `r1` has no task `bb`; did you mean `b`?",
    );
    failed(
        &wfc(dir.path(), &["retry", "r1", "e", "--from"]),
        1,
        "task `e` is running now",
    );
    assert_eq!(
        wfc(dir.path(), &["retry", "r1", "--from"]).code,
        2,
        "--from names no task"
    );
}

/// `a → b → c → d`, `a → e`, and `f` on its own; everything but `d` ended.
fn chain(backend: &SqliteBackend, run: &str) {
    let at = now_millis() - 60_000;
    start(
        backend,
        run,
        &[
            ("a", &[], 0),
            ("b", &["a"], 0),
            ("c", &["b"], 0),
            ("d", &["c"], 0),
            ("e", &["a"], 0),
            ("f", &[], 0),
        ],
        at,
    );
    for id in ["a", "b", "e", "f"] {
        succeed(backend, run, id, at);
    }
    fail(backend, run, "c", "broken", at);
    backend
        .finish_run(run, RunState::Failed, at + 10_000)
        .expect("finish");
}

#[test]
fn retry_from_resets_exactly_the_task_and_its_downstream() {
    let dir = TempDir::new("wfc-control-retry-from");
    let backend = store(dir.path());
    for (run, args) in [
        ("x1", ["retry", "x1", "b", "--from", "--no-run"]),
        ("x2", ["retry", "x2", "--from", "b", "--no-run"]),
    ] {
        chain(&backend, run);
        let out = wfc(dir.path(), &args);
        ok(&out);
        let reset: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| l.starts_with("reset "))
            .collect();
        assert_eq!(
            reset,
            [
                "reset b (was succeeded)",
                "reset c (was failed)",
                "reset d (was pending)"
            ]
        );
        assert!(out.stdout.contains("to run them"), "{}", out.stdout);
        let states: Vec<(String, TaskState, u32)> = backend
            .list_tasks(run)
            .expect("tasks")
            .into_iter()
            .map(|t| (t.key.task, t.state, t.attempts))
            .collect();
        let expected = [
            ("a", TaskState::Succeeded, 1),
            ("b", TaskState::Pending, 1),
            ("c", TaskState::Pending, 1),
            ("d", TaskState::Pending, 0),
            ("e", TaskState::Succeeded, 1),
            ("f", TaskState::Succeeded, 1),
        ];
        assert_eq!(
            states,
            expected.map(|(id, state, attempts)| (id.to_string(), state, attempts))
        );
        assert_eq!(backend.get_run(run).expect("run").state, RunState::Running);
    }
    chain(&backend, "x3");
    let plain = wfc(dir.path(), &["retry", "x3", "c", "--no-run"]);
    ok(&plain);
    assert!(
        plain.stdout.contains("reset c (was failed)") && !plain.stdout.contains("reset d"),
        "{}",
        plain.stdout
    );
    assert_eq!(
        wfc(dir.path(), &["retry", "x3", "b", "--from", "c", "--no-run"]).code,
        2,
        "two different tasks"
    );
}

#[test]
fn cancel_ends_a_running_run_once() {
    let dir = TempDir::new("wfc-control-cancel");
    let backend = mixed(dir.path());
    let run = wfc(dir.path(), &["cancel", "r1"]);
    ok(&run);
    assert_eq!(
        run.stdout.trim(),
        "cancelled run r1 and its 5 tasks not yet ended"
    );
    assert_eq!(
        backend.get_run("r1").expect("run").state,
        RunState::Cancelled
    );
    for id in ["c", "d", "e", "gate", "f"] {
        assert_eq!(task(&backend, "r1", id).state, TaskState::Cancelled, "{id}");
    }
    assert_eq!(task(&backend, "r1", "b").state, TaskState::Failed);
    let last = events(&backend, "r1").pop().expect("an event");
    assert_eq!(
        (last.kind.as_str(), &last.data["state"]),
        ("run_finished", &json!("cancelled"))
    );
    failed(
        &wfc(dir.path(), &["cancel", "r1"]),
        1,
        "run `r1` already ended: cancelled",
    );
    failed(
        &wfc(dir.path(), &["cancel", "r0"]),
        1,
        "run `r0` already ended: succeeded",
    );
}

#[test]
fn approve_and_reject_answer_waiting_gates() {
    let dir = TempDir::new("wfc-control-gates");
    let backend = store(dir.path());
    let at = now_millis() - 60_000;
    start(
        &backend,
        "g",
        &[
            ("build", &[], 0),
            ("gate_ok", &["build"], 0),
            ("gate_no", &["build"], 0),
            ("gate_later", &["gate_ok"], 0),
        ],
        at,
    );
    succeed(&backend, "g", "build", at);
    wait(&backend, "g", "gate_ok", at);
    wait(&backend, "g", "gate_no", at);

    let approve = wfc(
        dir.path(),
        &["approve", "g", "gate_ok", "--reason", "looks good"],
    );
    ok(&approve);
    assert!(
        approve.stdout.contains("approved gate_ok in run g"),
        "{}",
        approve.stdout
    );
    let ok_gate = task(&backend, "g", "gate_ok");
    assert_eq!(
        (ok_gate.state, ok_gate.result.as_deref()),
        (TaskState::Approved, Some("looks good"))
    );
    let last = events(&backend, "g").pop().expect("an event");
    assert_eq!(
        (last.kind.as_str(), last.task.as_deref(), &last.data),
        (
            "gate_answered",
            Some("gate_ok"),
            &json!({"approved": true, "reason": "looks good"})
        )
    );

    failed(&wfc(dir.path(), &["reject", "g", "gate_no"]), 2, "--reason");
    let reject = wfc(
        dir.path(),
        &["reject", "g", "gate_no", "--reason", "not now"],
    );
    ok(&reject);
    let no_gate = task(&backend, "g", "gate_no");
    assert_eq!(
        (no_gate.state, no_gate.last_error.as_deref()),
        (TaskState::Rejected, Some("not now"))
    );
    let last = events(&backend, "g").pop().expect("an event");
    assert_eq!(last.data, json!({"approved": false, "reason": "not now"}));

    failed(
        &wfc(dir.path(), &["approve", "g", "gate_ok"]),
        1,
        "gate `gate_ok` is approved, not waiting",
    );
    failed(
        &wfc(dir.path(), &["reject", "g", "gate_later", "--reason", "x"]),
        1,
        "gate `gate_later` is pending, not waiting",
    );
    failed(
        &wfc(dir.path(), &["approve", "g", "build"]),
        1,
        "`build` is a task, not a gate",
    );
    failed(
        &wfc(dir.path(), &["approve", "g", "gate_okk"]),
        1,
        "did you mean `gate_ok`?",
    );
    assert_eq!(events(&backend, "g").len(), 2, "failed answers log nothing");
}

#[test]
fn errors_say_what_to_do() {
    let dir = TempDir::new("wfc-control-errors");
    for args in [
        &["status"][..],
        &["runs"],
        &["logs", "r1"],
        &["cancel", "r1"],
        &["approve", "r1", "gate"],
    ] {
        failed(&wfc(dir.path(), args), 1, "no wfc store in ");
        assert!(
            wfc(dir.path(), args)
                .stderr
                .contains("(no file `state.db`); start a run with `wfc run FILE`"),
            "{args:?}"
        );
    }
    assert!(
        !dir.path().join(".wfc").exists(),
        "reading creates no store"
    );
    failed(
        &wfc(dir.path(), &["status", "--backend", "redis://x"]),
        2,
        "names no backend",
    );
    dir.write(
        "broken.db",
        "this is not a database, just text that is long enough",
    );
    assert_eq!(
        wfc(dir.path(), &["status", "--backend", "sqlite:broken.db"]).code,
        2
    );

    mixed(dir.path());
    let unknown = wfc(dir.path(), &["status", "r2"]);
    failed(
        &unknown,
        1,
        "there is no run `r2` in .wfc/state.db; did you mean `r1`?",
    );
    assert!(unknown.stderr.contains("`wfc runs`"), "{}", unknown.stderr);
    for args in [
        &["logs", "r9"][..],
        &["retry", "r9", "a"],
        &["cancel", "r9"],
        &["approve", "r9", "gate"],
        &["reject", "r9", "gate", "--reason", "no"],
    ] {
        failed(&wfc(dir.path(), args), 1, "there is no run `r9`");
    }

    // The backend may come from the environment.
    let other = TempDir::new("wfc-control-env");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_wfc"))
        .args(["runs"])
        .current_dir(other.path())
        .env(
            "WFC_BACKEND",
            format!("sqlite:{}", dir.path().join(".wfc/state.db").display()),
        )
        .output()
        .expect("wfc runs");
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("r1"));
}

#[test]
fn an_empty_store_has_no_runs() {
    let dir = TempDir::new("wfc-control-empty");
    store(dir.path());
    let runs = wfc(dir.path(), &["runs"]);
    assert_eq!((runs.code, runs.stdout.as_str()), (0, ""));
    assert!(runs.stderr.contains("no runs yet"), "{}", runs.stderr);
    let json = wfc(dir.path(), &["runs", "--json"]);
    assert_eq!(json.stdout.trim(), "[]");
    failed(&wfc(dir.path(), &["status"]), 1, "no runs yet");
}
