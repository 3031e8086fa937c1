//! The TaskBackend contract: one suite every backend must pass, so the engine can rely on
//! the same behaviour from memory, SQLite, beads and Postgres.

use std::sync::Arc;
use wfc::backends::MemoryBackend;
use wfc::plan::{Action, Plan, Shell, TaskSpec, PLAN_VERSION};
use wfc::runtime::*;

/// A plan of command tasks `(id, deps, retry)`; ids starting with `gate` are gates.
pub fn plan(tasks: &[(&str, &[&str], u32)]) -> Plan {
    Plan {
        version: PLAN_VERSION,
        source: "contract.wf".into(),
        workflow: "contract".into(),
        params: Vec::new(),
        secrets: Vec::new(),
        tasks: tasks
            .iter()
            .map(|(id, deps, retry)| TaskSpec {
                id: id.to_string(),
                title: id.to_string(),
                action: if id.starts_with("gate") {
                    Action::Gate {
                        ask: Vec::new(),
                        timeout_secs: None,
                    }
                } else {
                    Action::Command {
                        run: Shell {
                            script: "true".into(),
                            display: "true".into(),
                            args: Vec::new(),
                        },
                    }
                },
                deps: deps.iter().map(|d| d.to_string()).collect(),
                retry: *retry,
                timeout_secs: None,
                priority: 2,
                labels: Vec::new(),
                workdir: ".".into(),
                env: Vec::new(),
                verify: Vec::new(),
            })
            .collect(),
    }
}

fn start(backend: &dyn TaskBackend, run: &str, plan: &Plan) {
    backend.create_run(run, plan, 1_000).expect("create run");
    backend.create_tasks(run, plan).expect("create tasks");
}

fn ready(backend: &dyn TaskBackend, run: &str, now: Millis) -> Vec<String> {
    backend
        .find_ready_tasks(Some(run), now, 100)
        .expect("ready")
        .into_iter()
        .map(|k| k.task)
        .collect()
}

fn key(run: &str, task: &str) -> TaskKey {
    TaskKey::new(run, task)
}

/// Runs every check of the contract against a fresh, empty backend from `make`.
pub fn contract(make: &dyn Fn() -> Arc<dyn TaskBackend>) {
    runs_and_tasks_are_stored(&*make());
    ready_follows_dependencies_and_claims_are_exclusive(&*make());
    concurrent_claimers_get_a_task_exactly_once(make());
    retries_and_failures(&*make());
    expired_leases_are_reclaimed(&*make());
    gates_wait_without_a_worker(&*make());
    cancel_and_reset(&*make());
    events_are_appended_in_order(&*make());
    errors_name_what_is_missing(&*make());
}

fn runs_and_tasks_are_stored(backend: &dyn TaskBackend) {
    let p = plan(&[("a", &[], 0), ("b", &["a"], 2)]);
    start(backend, "r1", &p);
    let run = backend.get_run("r1").expect("run");
    assert_eq!(run.state, RunState::Running);
    assert_eq!(run.plan, p, "the run keeps its plan snapshot");
    let tasks = backend.list_tasks("r1").expect("tasks");
    assert_eq!(
        tasks
            .iter()
            .map(|t| t.key.task.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(tasks[1].max_attempts, 3);
    assert!(tasks
        .iter()
        .all(|t| t.state == TaskState::Pending && t.attempts == 0));
    assert_eq!(
        backend.create_run("r1", &p, 2_000).expect_err("twice").kind,
        BackendErrorKind::Conflict
    );
    start(backend, "r2", &plan(&[("x", &[], 0)]));
    let runs = backend.list_runs().expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].tasks + runs[1].tasks, 3);
}

fn ready_follows_dependencies_and_claims_are_exclusive(backend: &dyn TaskBackend) {
    start(
        backend,
        "r",
        &plan(&[
            ("a", &[], 0),
            ("b", &["a"], 0),
            ("c", &[], 0),
            ("d", &["b", "c"], 0),
        ]),
    );
    assert_eq!(ready(backend, "r", 2_000), ["a", "c"]);
    let claim = backend
        .claim_task(&key("r", "a"), "w1", 2_000, 10_000)
        .expect("claim")
        .expect("won");
    assert_eq!(claim.attempt, 1);
    assert_eq!(
        backend
            .claim_task(&key("r", "a"), "w2", 2_001, 10_000)
            .expect("claim"),
        None,
        "a second claimer loses"
    );
    assert_eq!(
        backend
            .claim_task(&key("r", "b"), "w2", 2_001, 10_000)
            .expect("claim"),
        None,
        "b is not ready"
    );
    assert_eq!(ready(backend, "r", 2_002), ["c"]);
    backend
        .start_task(&key("r", "a"), "w1", 2_003)
        .expect("start");
    assert_eq!(
        backend.get_task(&key("r", "a")).expect("a").state,
        TaskState::Running
    );
    assert_eq!(
        backend
            .complete_task(&key("r", "a"), "w2", "x", 2_004)
            .expect_err("not the holder")
            .kind,
        BackendErrorKind::Conflict
    );
    backend
        .complete_task(&key("r", "a"), "w1", "result of a", 2_005)
        .expect("complete");
    let a = backend.get_task(&key("r", "a")).expect("a");
    assert_eq!(
        (a.state, a.result.as_deref(), a.worker.as_deref()),
        (TaskState::Succeeded, Some("result of a"), None)
    );
    assert_eq!(ready(backend, "r", 2_006), ["b", "c"]);
    for id in ["b", "c"] {
        backend
            .claim_task(&key("r", id), "w1", 2_007, 10_000)
            .expect("claim")
            .expect("won");
        backend
            .complete_task(&key("r", id), "w1", "", 2_008)
            .expect("complete");
    }
    assert_eq!(ready(backend, "r", 2_009), ["d"]);
}

fn concurrent_claimers_get_a_task_exactly_once(backend: Arc<dyn TaskBackend>) {
    let ids: Vec<String> = (0..50).map(|i| format!("t{i}")).collect();
    let spec: Vec<(&str, &[&str], u32)> = ids.iter().map(|id| (id.as_str(), &[][..], 0)).collect();
    start(&*backend, "c", &plan(&spec));
    let threads: Vec<_> = (0..4)
        .map(|w| {
            let backend = Arc::clone(&backend);
            std::thread::spawn(move || {
                let mut won = Vec::new();
                loop {
                    let ready = backend
                        .find_ready_tasks(Some("c"), 3_000, 10)
                        .expect("ready");
                    if ready.is_empty() {
                        break;
                    }
                    for key in ready {
                        if backend
                            .claim_task(&key, &format!("w{w}"), 3_000, 60_000)
                            .expect("claim")
                            .is_some()
                        {
                            backend
                                .complete_task(&key, &format!("w{w}"), "", 3_001)
                                .expect("complete");
                            won.push(key.task);
                        }
                    }
                }
                won
            })
        })
        .collect();
    let mut all: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("thread"))
        .collect();
    all.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(all, expected, "every task claimed exactly once");
}

fn retries_and_failures(backend: &dyn TaskBackend) {
    start(
        backend,
        "f",
        &plan(&[("flaky", &[], 1), ("after", &["flaky"], 0)]),
    );
    let k = key("f", "flaky");
    backend
        .claim_task(&k, "w", 2_000, 10_000)
        .expect("claim")
        .expect("won");
    backend
        .fail_task(&k, "w", "exit 1: boom", true, 2_001)
        .expect("fail");
    let t = backend.get_task(&k).expect("task");
    assert_eq!(
        (t.state, t.attempts, t.last_error.as_deref()),
        (TaskState::Pending, 1, Some("exit 1: boom"))
    );
    let claim = backend
        .claim_task(&k, "w", 2_002, 10_000)
        .expect("claim")
        .expect("won");
    assert_eq!(claim.attempt, 2);
    assert_eq!(
        claim.previous_error.as_deref(),
        Some("exit 1: boom"),
        "the retry is told why the last attempt failed"
    );
    backend
        .fail_task(&k, "w", "exit 1: again", true, 2_003)
        .expect("fail");
    let t = backend.get_task(&k).expect("task");
    assert_eq!(
        (t.state, t.attempts),
        (TaskState::Failed, 2),
        "out of attempts"
    );
    assert!(
        ready(backend, "f", 2_004).is_empty(),
        "a failed task blocks its dependents"
    );
}

fn expired_leases_are_reclaimed(backend: &dyn TaskBackend) {
    start(backend, "l", &plan(&[("long", &[], 0)]));
    let k = key("l", "long");
    backend
        .claim_task(&k, "crashed", 2_000, 1_000)
        .expect("claim")
        .expect("won");
    backend.start_task(&k, "crashed", 2_000).expect("start");
    assert!(backend
        .heartbeat(&k, "crashed", 2_500, 1_000)
        .expect("heartbeat"));
    assert!(
        ready(backend, "l", 3_000).is_empty(),
        "the lease runs to 3,500"
    );
    assert_eq!(
        ready(backend, "l", 3_501),
        ["long"],
        "an expired lease makes the task claimable"
    );
    let claim = backend
        .claim_task(&k, "rescuer", 3_501, 1_000)
        .expect("claim")
        .expect("won");
    assert_eq!(claim.attempt, 2);
    assert!(
        claim
            .previous_error
            .as_deref()
            .is_some_and(|e| e.contains("interrupted")),
        "{claim:?}"
    );
    assert!(
        !backend
            .heartbeat(&k, "crashed", 3_600, 1_000)
            .expect("heartbeat"),
        "the old worker lost it"
    );
    backend
        .complete_task(&k, "rescuer", "done", 3_700)
        .expect("complete");
}

fn gates_wait_without_a_worker(backend: &dyn TaskBackend) {
    start(
        backend,
        "g",
        &plan(&[
            ("build", &[], 0),
            ("gate_ok", &["build"], 0),
            ("ship", &["gate_ok"], 0),
            ("gate_no", &[], 0),
        ]),
    );
    backend
        .claim_task(&key("g", "build"), "w", 2_000, 10_000)
        .expect("claim");
    backend
        .complete_task(&key("g", "build"), "w", "", 2_001)
        .expect("complete");
    for gate in ["gate_ok", "gate_no"] {
        backend
            .claim_task(&key("g", gate), "w", 2_002, 10_000)
            .expect("claim")
            .expect("won");
        backend
            .wait_gate(&key("g", gate), "w", 2_003)
            .expect("wait");
        let t = backend.get_task(&key("g", gate)).expect("gate");
        assert_eq!((t.state, t.worker.as_deref()), (TaskState::Waiting, None));
    }
    assert!(
        ready(backend, "g", 2_004).is_empty(),
        "nothing is ready while the gate waits"
    );
    assert_eq!(
        backend
            .wait_gate(&key("g", "ship"), "w", 2_004)
            .expect_err("not held")
            .kind,
        BackendErrorKind::Conflict
    );
    backend
        .answer_gate(&key("g", "gate_ok"), true, "looks good", 2_005)
        .expect("approve");
    assert_eq!(
        backend
            .answer_gate(&key("g", "gate_ok"), true, "", 2_006)
            .expect_err("twice")
            .kind,
        BackendErrorKind::Conflict
    );
    backend
        .answer_gate(&key("g", "gate_no"), false, "not now", 2_007)
        .expect("reject");
    let ok = backend.get_task(&key("g", "gate_ok")).expect("gate");
    assert_eq!(
        (ok.state, ok.result.as_deref()),
        (TaskState::Approved, Some("looks good"))
    );
    let no = backend.get_task(&key("g", "gate_no")).expect("gate");
    assert_eq!(
        (no.state, no.last_error.as_deref()),
        (TaskState::Rejected, Some("not now"))
    );
    assert_eq!(
        ready(backend, "g", 2_008),
        ["ship"],
        "an approved gate counts as succeeded"
    );
}

fn cancel_and_reset(backend: &dyn TaskBackend) {
    start(backend, "x", &plan(&[("a", &[], 0), ("b", &["a"], 0)]));
    backend
        .claim_task(&key("x", "a"), "w", 2_000, 10_000)
        .expect("claim");
    backend
        .complete_task(&key("x", "a"), "w", "", 2_001)
        .expect("complete");
    backend
        .finish_run("x", RunState::Cancelled, 2_002)
        .expect("cancel");
    let run = backend.get_run("x").expect("run");
    assert_eq!(
        (run.state, run.finished_at),
        (RunState::Cancelled, Some(2_002))
    );
    let tasks = backend.list_tasks("x").expect("tasks");
    assert_eq!(
        (tasks[0].state, tasks[1].state),
        (TaskState::Succeeded, TaskState::Cancelled)
    );
    assert!(
        backend
            .find_ready_tasks(None, 2_003, 10)
            .expect("ready")
            .is_empty(),
        "a cancelled run offers nothing"
    );
    assert_eq!(
        backend
            .claim_task(&key("x", "b"), "w", 2_003, 10_000)
            .expect("claim"),
        None
    );
    backend
        .reset_tasks("x", &["a".to_string(), "b".to_string()], 2_004)
        .expect("reset");
    assert_eq!(backend.get_run("x").expect("run").state, RunState::Running);
    let a = backend.get_task(&key("x", "a")).expect("a");
    assert_eq!(
        (a.state, a.attempts, a.result),
        (TaskState::Pending, 0, None)
    );
    assert_eq!(ready(backend, "x", 2_005), ["a"]);
    assert_eq!(
        backend
            .reset_tasks("x", &["nope".to_string()], 2_006)
            .expect_err("unknown")
            .kind,
        BackendErrorKind::NotFound
    );
}

fn events_are_appended_in_order(backend: &dyn TaskBackend) {
    start(backend, "e", &plan(&[("a", &[], 0)]));
    for (i, kind) in ["run_started", "task_started", "task_succeeded"]
        .iter()
        .enumerate()
    {
        let event = NewEvent {
            at: 2_000 + i as i64,
            kind: kind.to_string(),
            task: (i > 0).then(|| "a".to_string()),
            data: serde_json::json!({ "i": i }),
        };
        assert_eq!(
            backend.append_event("e", &event).expect("append"),
            i as i64 + 1
        );
    }
    let events = backend.read_events("e", 0, 10).expect("read");
    assert_eq!(
        events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["run_started", "task_started", "task_succeeded"]
    );
    assert_eq!(events[2].data, serde_json::json!({ "i": 2 }));
    assert_eq!(
        backend.read_events("e", 1, 1).expect("read")[0].seq,
        2,
        "reading resumes after a sequence number"
    );
}

fn errors_name_what_is_missing(backend: &dyn TaskBackend) {
    let error = backend.get_run("ghost").expect_err("no run");
    assert_eq!(error.kind, BackendErrorKind::NotFound);
    assert!(error.message.contains("ghost"), "{error}");
    start(backend, "n", &plan(&[("a", &[], 0)]));
    let error = backend.get_task(&key("n", "zz")).expect_err("no task");
    assert!(error.message.contains("zz"), "{error}");
    assert_eq!(
        backend
            .add_dependency("n", "a", "zz")
            .expect_err("no parent")
            .kind,
        BackendErrorKind::NotFound
    );
}

#[test]
fn the_memory_backend_keeps_the_contract() {
    contract(&|| Arc::new(MemoryBackend::new()));
}
