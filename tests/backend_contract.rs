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
        isolation: Default::default(),
        event_sinks: Vec::new(),
        budget_usd: None,
        secrets: Vec::new(),
        tasks: tasks
            .iter()
            .map(|(id, deps, retry)| {
                let action = if id.starts_with("gate") {
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
                };
                let deps = deps.iter().map(|d| d.to_string()).collect();
                TaskSpec {
                    retry: *retry,
                    ..TaskSpec::new(id, action, deps)
                }
            })
            .collect(),
    }
}

fn start(backend: &dyn TaskBackend, run: &str, plan: &Plan) {
    backend
        .create_run(run, plan, None, 1_000)
        .expect("create run");
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

/// A reset of task `id` with no retries and no reason.
fn reset(id: &str) -> wfc::runtime::lifecycle::TaskReset {
    wfc::runtime::lifecycle::TaskReset {
        id: id.to_string(),
        retry: 0,
        why: None,
    }
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
    interrupted_attempts_are_given_back_without_using_a_retry(&*make());
    a_claim_given_back_before_it_started_is_not_counted(&*make());
    a_run_settles_only_when_nothing_can_happen(&*make());
    a_task_is_marked_done_by_hand_only_when_nothing_runs_it(&*make());
    a_run_planned_again_keeps_what_is_unchanged_in_one_step(&*make());
    an_output_commit_is_stored_with_the_success_and_cleared_by_a_reset(&*make());
    a_typed_output_is_stored_with_the_success_and_cleared_by_a_reset(&*make());
    a_fan_out_expands_whole_once_with_its_template_s_success(&*make());
    a_skipped_task_counts_as_done_for_what_waits_for_it(&*make());
    a_failure_lets_go_of_the_tasks_waiting_for_its_outcome(&*make());
    a_success_claims_the_next_task_it_lets_go(&*make());
    a_run_is_created_with_its_tasks(&*make());
}

/// `create_run_with_tasks` stores the run, its tasks and their dependencies; a run id that
/// exists already is a `Conflict` that changes nothing.
fn a_run_is_created_with_its_tasks(backend: &dyn TaskBackend) {
    let first = plan(&[("a", &[], 0), ("b", &["a"], 1)]);
    backend
        .create_run_with_tasks("whole", &first, None, 1_000)
        .expect("create");
    assert_eq!(
        backend.get_run("whole").expect("run").state,
        RunState::Running
    );
    let tasks = backend.list_tasks("whole").expect("tasks");
    let ids: Vec<&str> = tasks.iter().map(|t| t.key.task.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(tasks[1].max_attempts, 2);
    assert_eq!(ready(backend, "whole", 1_010), ["a"]);
    let again = backend.create_run_with_tasks("whole", &plan(&[("c", &[], 0)]), None, 1_020);
    assert_eq!(again.expect_err("exists").kind, BackendErrorKind::Conflict);
    let tasks = backend.list_tasks("whole").expect("tasks");
    assert_eq!(
        tasks.len(),
        2,
        "nothing of the refused run was stored: {tasks:?}"
    );
}

/// `finish_task_and_claim` records a success and claims, for the same worker, the first of
/// the candidates that success made claimable, passing over one that is missing or still
/// waits for another task. An attempt whose start was not written yet has it written in the
/// same step, with its events. A success the worker may not record claims nothing, and
/// writes no start.
fn a_success_claims_the_next_task_it_lets_go(backend: &dyn TaskBackend) {
    let plan = plan(&[
        ("a", &[], 0),
        ("b", &["a"], 0),
        ("other", &[], 0),
        ("c", &["b", "other"], 0),
        ("d", &["b"], 0),
    ]);
    start(backend, "chain", &plan);
    let done = wfc::runtime::lifecycle::Completion::default();
    let lease = 60_000;
    backend
        .claim_task(&key("chain", "a"), "w", 2_000, lease)
        .expect("claim")
        .expect("won");
    let next = [key("chain", "missing"), key("chain", "b")];
    let process = |task: &str| NewEvent {
        at: 2_005,
        kind: "attempt_process".into(),
        task: Some(task.into()),
        data: serde_json::json!({ "pgid": 4242 }),
    };
    let (claimed, claim) = backend
        .finish_task_and_claim(
            &key("chain", "a"),
            "w",
            "ok",
            done,
            2_010,
            &next,
            lease,
            Some((2_005, &[process("a")])),
        )
        .expect("finish and claim")
        .expect("b is claimed with a's success");
    assert_eq!(claimed, key("chain", "b"));
    assert_eq!(claim.attempt, 1);
    let a = backend.get_task(&key("chain", "a")).expect("a");
    assert_eq!(
        (a.state, a.result.as_deref(), a.started_at),
        (TaskState::Succeeded, Some("ok"), Some(2_005))
    );
    let processes = |task: &str| {
        backend
            .read_events("chain", 0, 100)
            .expect("events")
            .into_iter()
            .filter(|e| e.kind == "attempt_process" && e.task.as_deref() == Some(task))
            .count()
    };
    assert_eq!(processes("a"), 1, "the start's events are written with it");
    let b = backend.get_task(&key("chain", "b")).expect("b");
    assert_eq!(
        (b.state, b.worker.as_deref()),
        (TaskState::Claimed, Some("w"))
    );
    assert_eq!(b.lease_until, Some(2_010 + lease));
    assert!(!ready(backend, "chain", 2_020).contains(&"b".to_string()));

    // `c` still waits for `other` (which another worker holds): it is not claimed, b's
    // success is recorded all the same, and `d`, no candidate, is left ready for a look.
    backend
        .claim_task(&key("chain", "other"), "w2", 2_030, lease)
        .expect("claim")
        .expect("won");
    backend
        .start_task(&key("chain", "b"), "w", 2_040, &[])
        .expect("start b");
    let next = [key("chain", "c")];
    let none = backend
        .finish_task_and_claim(
            &key("chain", "b"),
            "w",
            "ok",
            done,
            2_050,
            &next,
            lease,
            None,
        )
        .expect("finish b");
    assert_eq!(none, None);
    let b = backend.get_task(&key("chain", "b")).expect("b");
    assert_eq!(b.state, TaskState::Succeeded);
    let c = backend.get_task(&key("chain", "c")).expect("c");
    assert_eq!(c.state, TaskState::Pending);
    let now_ready = ready(backend, "chain", 2_060);
    assert!(now_ready.contains(&"d".to_string()), "{now_ready:?}");

    // A worker that does not hold the task records nothing and claims nothing.
    let refused = backend.finish_task_and_claim(
        &key("chain", "other"),
        "intruder",
        "late",
        done,
        2_070,
        &[key("chain", "c")],
        lease,
        Some((2_065, &[process("other")])),
    );
    assert_eq!(
        refused.expect_err("refused").kind,
        BackendErrorKind::Conflict
    );
    assert_eq!(processes("other"), 0, "a refused success writes no start");
    let c = backend.get_task(&key("chain", "c")).expect("c");
    assert_eq!(c.state, TaskState::Pending);
    let other = backend.get_task(&key("chain", "other")).expect("other");
    assert_eq!(
        (other.state, other.worker.as_deref()),
        (TaskState::Claimed, Some("w2"))
    );
}

/// The plan of the outcome checks: `diagnose` runs after `build (failed)`, `cleanup` after
/// `build (always)`, and `report` after `diagnose`.
fn outcome_plan() -> Plan {
    use wfc::plan::condition::{Outcome, OutcomeDep};
    let mut plan = plan(&[
        ("build", &[], 0),
        ("diagnose", &["build"], 0),
        ("cleanup", &["build"], 0),
        ("report", &["diagnose"], 0),
    ]);
    for (task, on) in [(1, Outcome::Failed), (2, Outcome::Always)] {
        plan.tasks[task].outcomes = vec![OutcomeDep {
            task: "build".into(),
            on,
        }];
    }
    plan
}

/// Claims `task` of `run` as `w` and marks it succeeded.
fn claim_and_complete(backend: &dyn TaskBackend, run: &str, task: &str, now: Millis) {
    let k = key(run, task);
    backend
        .claim_task(&k, "w", now, 60_000)
        .expect("claim")
        .expect("won");
    backend
        .complete_task(&k, "w", "ok", now + 1)
        .expect("complete");
}

/// A skipped task (its condition does not hold) is final and counts as done: what waits for
/// it becomes ready, and a run whose other tasks succeeded succeeds. Only its holder skips it.
fn a_skipped_task_counts_as_done_for_what_waits_for_it(backend: &dyn TaskBackend) {
    start(backend, "skip", &outcome_plan());
    claim_and_complete(backend, "skip", "build", 2_000);
    assert_eq!(ready(backend, "skip", 2_010), ["diagnose", "cleanup"]);
    let diagnose = key("skip", "diagnose");
    backend
        .claim_task(&diagnose, "w", 2_020, 60_000)
        .expect("claim")
        .expect("won");
    let refused = backend
        .skip_task(&diagnose, "other", "no", 2_021)
        .expect_err("only the holder skips");
    assert_eq!(refused.kind, BackendErrorKind::Conflict);
    backend
        .skip_task(
            &diagnose,
            "w",
            "`after build (failed)` does not hold",
            2_022,
        )
        .expect("skip");
    let skipped = backend.get_task(&diagnose).expect("task");
    assert_eq!(skipped.state, TaskState::Skipped);
    assert_eq!(
        skipped.result.as_deref(),
        Some("`after build (failed)` does not hold")
    );
    assert_eq!(ready(backend, "skip", 2_030), ["cleanup", "report"]);
    claim_and_complete(backend, "skip", "cleanup", 2_040);
    assert_eq!(
        backend.settle_run("skip", 2_050).expect("settle"),
        RunState::Running
    );
    claim_and_complete(backend, "skip", "report", 2_060);
    assert_eq!(
        backend.settle_run("skip", 2_070).expect("settle"),
        RunState::Succeeded
    );
}

/// A task that failed for good lets go, in one replan step, of the tasks that wait for its
/// failure or its end: they become ready, the run goes on while they run, and it still
/// ends failed.
fn a_failure_lets_go_of_the_tasks_waiting_for_its_outcome(backend: &dyn TaskBackend) {
    let plan = outcome_plan();
    start(backend, "outcome", &plan);
    let build = key("outcome", "build");
    backend
        .claim_task(&build, "w", 2_000, 60_000)
        .expect("claim")
        .expect("won");
    backend
        .fail_task(&build, "w", "exit 3", false, 2_001)
        .expect("fail");
    assert!(ready(backend, "outcome", 2_010).is_empty());
    let records = backend.list_tasks("outcome").expect("tasks");
    let resolved = lifecycle::resolve_outcomes(&plan, &records).expect("edges to let go");
    assert!(resolved.task("diagnose").expect("diagnose").deps.is_empty());
    assert!(resolved.task("cleanup").expect("cleanup").deps.is_empty());
    assert_eq!(resolved.task("report").expect("report").deps, ["diagnose"]);
    backend
        .replan_run("outcome", &resolved, &mut |_, records| {
            Ok(resolved
                .tasks
                .iter()
                .map(|spec| {
                    records
                        .iter()
                        .find(|r| r.key.task == spec.id)
                        .expect("a record")
                        .clone()
                })
                .collect())
        })
        .expect("replan");
    assert_eq!(ready(backend, "outcome", 2_020), ["diagnose", "cleanup"]);
    assert_eq!(
        backend.settle_run("outcome", 2_021).expect("settle"),
        RunState::Running
    );
    let records = backend.list_tasks("outcome").expect("tasks");
    let stored = backend.get_run("outcome").expect("run").plan;
    assert_eq!(
        lifecycle::resolve_outcomes(&stored, &records),
        None,
        "nothing is let go of twice"
    );
    for (task, now) in [("diagnose", 2_030), ("cleanup", 2_040), ("report", 2_050)] {
        claim_and_complete(backend, "outcome", task, now);
    }
    assert_eq!(
        backend.settle_run("outcome", 2_060).expect("settle"),
        RunState::Failed,
        "a failure handled is still a failure"
    );
}

/// A run-time fan-out's expansion, as the engine stores it: the instances and the template's
/// success in one step, which a second expansion of the same template cannot repeat.
fn a_fan_out_expands_whole_once_with_its_template_s_success(backend: &dyn TaskBackend) {
    use wfc::plan::fan_out::expand;
    let before = plan(&[
        ("plan", &[], 0),
        ("step[*]", &["plan"], 0),
        ("review", &["step[*]"], 0),
    ]);
    start(backend, "fan", &before);
    let template = key("fan", "step[*]");
    for id in ["plan", "step[*]"] {
        backend
            .claim_task(&key("fan", id), "w", 2_000, 10_000)
            .expect("claim")
            .expect("won");
        if id == "plan" {
            backend
                .complete_task(&key("fan", id), "w", "", 2_001)
                .expect("complete");
        }
    }
    let elements = [serde_json::json!("a"), serde_json::json!("b c")];
    let (after, ids) = expand(&before, "step[*]", &elements).expect("expand");
    assert_eq!(ids, ["step[0]", "step[1]"]);
    let store = |worker: &str| {
        backend.replan_run("fan", &after, &mut |_, records| {
            lifecycle::expansion_records(&after, records, &template, worker, "expanded", 2_002)
        })
    };
    store("w").expect("expanded");
    let tasks = backend.list_tasks("fan").expect("tasks");
    let states: Vec<(&str, TaskState)> = tasks
        .iter()
        .map(|t| (t.key.task.as_str(), t.state))
        .collect();
    assert_eq!(
        states,
        [
            ("plan", TaskState::Succeeded),
            ("step[*]", TaskState::Succeeded),
            ("step[0]", TaskState::Pending),
            ("step[1]", TaskState::Pending),
            ("review", TaskState::Pending),
        ]
    );
    let run = backend.get_run("fan").expect("run");
    assert_eq!(run.plan, after);
    let review = run.plan.task("review").expect("review");
    assert_eq!(review.deps, ["step[*]", "step[0]", "step[1]"]);
    // The instances are ready; what waits for the loop waits for them.
    let ready = backend
        .find_ready_tasks(Some("fan"), 2_003, 10)
        .expect("ready");
    let ready: Vec<&str> = ready.iter().map(|k| k.task.as_str()).collect();
    assert_eq!(ready, ["step[0]", "step[1]"]);
    // A second expansion (an engine that lost the template) writes nothing.
    assert!(store("w").is_err(), "the template is no longer held");
    assert_eq!(backend.list_tasks("fan").expect("tasks").len(), 5);
    assert_eq!(backend.get_run("fan").expect("run").plan, after);
    // Once every instance is done, what waited for the loop is ready.
    for id in ["step[0]", "step[1]"] {
        backend
            .claim_task(&key("fan", id), "w", 2_004, 10_000)
            .expect("claim")
            .expect("won");
        backend
            .complete_task(&key("fan", id), "w", id, 2_005)
            .expect("complete");
    }
    let ready = backend
        .find_ready_tasks(Some("fan"), 2_006, 10)
        .expect("ready");
    let ready: Vec<&str> = ready.iter().map(|k| k.task.as_str()).collect();
    assert_eq!(ready, ["review"]);
}

fn a_typed_output_is_stored_with_the_success_and_cleared_by_a_reset(backend: &dyn TaskBackend) {
    start(backend, "typed", &plan(&[("a", &[], 0)]));
    let k = key("typed", "a");
    backend
        .claim_task(&k, "w", 2_000, 10_000)
        .expect("claim")
        .expect("won");
    let json = r#"{"steps":["one","two"],"risky":false}"#;
    let done = wfc::runtime::lifecycle::Completion {
        commit: None,
        typed_output: Some(json),
    };
    backend
        .finish_task(&k, "w", "the plan", done, 2_001)
        .expect("complete");
    let task = backend.get_task(&k).expect("task");
    assert_eq!(
        (
            task.state,
            task.result.as_deref(),
            task.typed_output.as_deref()
        ),
        (TaskState::Succeeded, Some("the plan"), Some(json))
    );
    let listed = backend.list_tasks("typed").expect("tasks");
    assert_eq!(listed[0].typed_output.as_deref(), Some(json));
    backend
        .reset_tasks("typed", &[reset("a")], 2_002)
        .expect("reset");
    assert_eq!(backend.get_task(&k).expect("task").typed_output, None);
}

fn an_output_commit_is_stored_with_the_success_and_cleared_by_a_reset(backend: &dyn TaskBackend) {
    start(backend, "out", &plan(&[("a", &[], 0)]));
    let k = key("out", "a");
    backend
        .claim_task(&k, "w", 2_000, 10_000)
        .expect("claim")
        .expect("won");
    let commit = "0123456789abcdef0123456789abcdef01234567";
    backend
        .complete_task_with_output(&k, "w", "done", Some(commit), 2_001)
        .expect("complete");
    let task = backend.get_task(&k).expect("task");
    assert_eq!(
        (task.state, task.output.as_deref()),
        (TaskState::Succeeded, Some(commit))
    );
    backend
        .reset_tasks("out", &[reset("a")], 2_002)
        .expect("reset");
    assert_eq!(backend.get_task(&k).expect("task").output, None);
}

/// Plans run `run` again as `new` with the core's rule, as `wfc resume --replan` does.
fn replan(backend: &dyn TaskBackend, run: &str, new: &Plan, now: Millis) -> BackendResult<()> {
    backend.replan_run(run, new, &mut |stored, tasks| {
        let replanned = lifecycle::replan(run, &stored.plan, tasks, new, now)?;
        Ok(replanned.tasks.into_iter().map(|(task, _)| task).collect())
    })
}

fn a_run_planned_again_keeps_what_is_unchanged_in_one_step(backend: &dyn TaskBackend) {
    let old = plan(&[
        ("a", &[], 0),
        ("b", &["a"], 0),
        ("c", &["b"], 0),
        ("d", &[], 0),
        ("gone", &[], 0),
    ]);
    start(backend, "rp", &old);
    for (id, outcome) in [
        ("a", Ok("A")),
        ("d", Ok("D")),
        ("gone", Ok("")),
        ("b", Err("typo")),
    ] {
        backend
            .claim_task(&key("rp", id), "w", 2_000, 10_000)
            .expect("claim")
            .expect("won");
        match outcome {
            Ok(result) => backend.complete_task(&key("rp", id), "w", result, 2_001),
            Err(error) => backend.fail_task(&key("rp", id), "w", error, true, 2_001),
        }
        .expect("outcome");
    }
    assert_eq!(
        backend.settle_run("rp", 2_002).expect("settle"),
        RunState::Failed
    );
    // The fixed file: `b` changed (its retry too), `e` is new, `gone` is no more.
    let new = plan(&[
        ("a", &[], 0),
        ("b", &["a"], 1),
        ("c", &["b"], 0),
        ("d", &[], 0),
        ("e", &["a"], 0),
    ]);
    // A decision that fails writes nothing.
    let refused = backend.replan_run("rp", &new, &mut |_, _| {
        Err(BackendError::conflict("no".to_string()))
    });
    assert!(refused.is_err());
    assert_eq!(backend.get_run("rp").expect("run").plan, old);
    replan(backend, "rp", &new, 3_000).expect("planned again");
    let run = backend.get_run("rp").expect("run");
    assert_eq!(
        (run.state, run.plan_generation, &run.plan),
        (RunState::Running, 1, &new)
    );
    let tasks: Vec<(String, TaskState, u32, u32, Option<String>)> = backend
        .list_tasks("rp")
        .expect("tasks")
        .into_iter()
        .map(|t| (t.key.task, t.state, t.attempts, t.max_attempts, t.result))
        .collect();
    let pending = TaskState::Pending;
    assert_eq!(
        tasks,
        [
            ("a".into(), TaskState::Succeeded, 1, 1, Some("A".into())),
            ("b".into(), pending, 1, 3, None),
            ("c".into(), pending, 0, 1, None),
            ("d".into(), TaskState::Succeeded, 1, 1, Some("D".into())),
            ("e".into(), pending, 0, 1, None),
        ],
        "results kept, the changed task's attempts go on with its new retry budget"
    );
    assert_eq!(ready(backend, "rp", 3_001), ["b", "e"]);
    let claim = backend
        .claim_task(&key("rp", "b"), "w", 3_002, 10_000)
        .expect("claim")
        .expect("won");
    assert_eq!(
        (claim.attempt, claim.plan_generation),
        (2, 1),
        "the claim names the plan it belongs to"
    );
    assert_eq!(
        claim.previous_error.as_deref(),
        Some("typo"),
        "the next attempt is told how the last one ended"
    );
    // A task held under a live lease: nothing is planned again.
    let err = replan(backend, "rp", &old, 3_003).expect_err("b is held");
    assert_eq!(err.kind, BackendErrorKind::Conflict);
    assert!(
        err.message.contains("task `b` of run `rp` is claimed"),
        "{err}"
    );
    assert_eq!(backend.get_run("rp").expect("run").plan_generation, 1);
}

fn a_task_is_marked_done_by_hand_only_when_nothing_runs_it(backend: &dyn TaskBackend) {
    start(backend, "d", &plan(&[("a", &[], 0), ("b", &["a"], 0)]));
    let a = key("d", "a");
    backend
        .claim_task(&a, "w", 2_000, 60_000)
        .expect("claim")
        .expect("won");
    assert_eq!(
        backend
            .mark_done(&a, "by hand", None, 2_001)
            .expect_err("running")
            .kind,
        BackendErrorKind::Conflict
    );
    backend
        .fail_task(&a, "w", "boom", false, 2_002)
        .expect("fail");
    backend.mark_done(&a, "by hand", None, 2_003).expect("done");
    let t = backend.get_task(&a).expect("a");
    assert_eq!(
        (t.state, t.result.as_deref(), t.last_error, t.finished_at),
        (TaskState::Succeeded, Some("by hand"), None, Some(2_003))
    );
    assert_eq!(ready(backend, "d", 2_004), ["b"], "its dependents can run");
    assert_eq!(
        backend
            .mark_done(&a, "again", None, 2_005)
            .expect_err("twice")
            .kind,
        BackendErrorKind::Conflict
    );
    assert_eq!(
        backend
            .mark_done(&key("d", "nope"), "x", None, 2_006)
            .expect_err("unknown")
            .kind,
        BackendErrorKind::NotFound
    );
}

fn interrupted_attempts_are_given_back_without_using_a_retry(backend: &dyn TaskBackend) {
    start(backend, "i", &plan(&[("once", &[], 0)]));
    let k = key("i", "once");
    backend
        .claim_task(&k, "w", 2_000, 60_000)
        .expect("claim")
        .expect("won");
    backend.start_task(&k, "w", 2_001, &[]).expect("start");
    assert_eq!(
        backend
            .release_task(&k, "other", "stopped", 2_002)
            .expect_err("only the holder gives a task back")
            .kind,
        BackendErrorKind::Conflict
    );
    backend
        .release_task(&k, "w", "the engine was stopped", 2_002)
        .expect("release");
    let t = backend.get_task(&k).expect("task");
    assert_eq!(
        (t.state, t.attempts, t.max_attempts, t.worker.as_deref()),
        (TaskState::Pending, 1, 2, None)
    );
    assert_eq!(
        t.last_error.as_deref(),
        Some("attempt 1 was interrupted: the engine was stopped")
    );
    // Ready at once, long before the lease would have ended; the next attempt is number 2,
    // and with `retry = 0` it may still fail once for good.
    assert_eq!(ready(backend, "i", 2_003), ["once"]);
    let claim = backend
        .claim_task(&k, "w2", 2_003, 60_000)
        .expect("claim")
        .expect("won");
    assert_eq!(claim.attempt, 2);
    backend
        .fail_task(&k, "w2", "boom", true, 2_004)
        .expect("fail");
    assert_eq!(backend.get_task(&k).expect("task").state, TaskState::Failed);
}

fn a_claim_given_back_before_it_started_is_not_counted(backend: &dyn TaskBackend) {
    start(backend, "u", &plan(&[("pooled", &[], 0)]));
    let k = key("u", "pooled");
    backend
        .claim_task(&k, "w", 2_000, 60_000)
        .expect("claim")
        .expect("won");
    assert_eq!(
        backend
            .unclaim_task(&k, "other", 2_001)
            .expect_err("only the holder gives a claim back")
            .kind,
        BackendErrorKind::Conflict
    );
    backend.unclaim_task(&k, "w", 2_001).expect("unclaim");
    let t = backend.get_task(&k).expect("task");
    assert_eq!(
        (
            t.state,
            t.attempts,
            t.max_attempts,
            t.worker.as_deref(),
            t.last_error
        ),
        (TaskState::Pending, 0, 1, None, None)
    );
    // Claimed again at once, it is attempt 1; once started, its claim is no longer given back
    // uncounted.
    assert_eq!(ready(backend, "u", 2_002), ["pooled"]);
    let claim = backend
        .claim_task(&k, "w2", 2_002, 60_000)
        .expect("claim")
        .expect("won");
    assert_eq!(claim.attempt, 1);
    backend.start_task(&k, "w2", 2_003, &[]).expect("start");
    assert_eq!(
        backend
            .unclaim_task(&k, "w2", 2_004)
            .expect_err("a started attempt counts")
            .kind,
        BackendErrorKind::Conflict
    );
}

fn a_run_settles_only_when_nothing_can_happen(backend: &dyn TaskBackend) {
    // `a` fails; `b` waits for it; `c` is independent and still to run.
    start(
        backend,
        "s",
        &plan(&[("a", &[], 0), ("b", &["a"], 0), ("c", &[], 0)]),
    );
    let (a, c) = (key("s", "a"), key("s", "c"));
    backend
        .claim_task(&a, "w", 2_000, 60_000)
        .expect("claim")
        .expect("won");
    assert_eq!(
        backend.settle_run("s", 2_001).expect("settle"),
        RunState::Running
    );
    backend
        .fail_task(&a, "w", "boom", false, 2_002)
        .expect("fail");
    // `c` can still start: the run goes on although `a` failed.
    assert_eq!(
        backend.settle_run("s", 2_003).expect("settle"),
        RunState::Running
    );
    backend
        .claim_task(&c, "w", 2_004, 60_000)
        .expect("claim")
        .expect("won");
    // `c` runs: still going on.
    assert_eq!(
        backend.settle_run("s", 2_005).expect("settle"),
        RunState::Running
    );
    backend
        .complete_task(&c, "w", "ok", 2_006)
        .expect("complete");
    // Only `b` is left, and it waits for the failure: the run has failed, once.
    assert_eq!(
        backend.settle_run("s", 2_007).expect("settle"),
        RunState::Failed
    );
    let run = backend.get_run("s").expect("run");
    assert_eq!(
        (run.state, run.finished_at),
        (RunState::Failed, Some(2_007))
    );
    assert_eq!(
        backend.settle_run("s", 2_008).expect("settle"),
        RunState::Failed
    );
    // A run whose tasks all succeed settles as succeeded.
    start(backend, "ok", &plan(&[("only", &[], 0)]));
    let only = key("ok", "only");
    backend
        .claim_task(&only, "w", 3_000, 60_000)
        .expect("claim")
        .expect("won");
    backend
        .complete_task(&only, "w", "done", 3_001)
        .expect("complete");
    // Of several engines that look, the one whose call ended the run is told so; the others,
    // and every look after, see it ended by someone else.
    assert_eq!(
        backend.end_run_if_over("ok", 3_002).expect("settle"),
        RunSettled::ended(RunState::Succeeded)
    );
    assert_eq!(
        backend.end_run_if_over("ok", 3_003).expect("settle again"),
        RunSettled::as_it_was(RunState::Succeeded)
    );
    assert_eq!(
        backend.settle_run("ok", 3_004).expect("settle"),
        RunState::Succeeded
    );
}

fn runs_and_tasks_are_stored(backend: &dyn TaskBackend) {
    let p = plan(&[("a", &[], 0), ("b", &["a"], 2)]);
    start(backend, "r1", &p);
    let run = backend.get_run("r1").expect("run");
    assert_eq!(run.state, RunState::Running);
    assert_eq!(run.plan, p, "the run keeps its plan snapshot");
    assert_eq!(run.place, None);
    let place = RunPlace {
        workspace: "/work/project".into(),
        host: "builder-7".into(),
        repository: None,
    };
    let one = plan(&[("only", &[], 0)]);
    backend
        .create_run("placed", &one, Some(&place), 1_500)
        .and_then(|()| backend.create_tasks("placed", &one))
        .expect("a run with its place");
    assert_eq!(
        backend.get_run("placed").expect("run").place,
        Some(place.clone()),
        "the run keeps where it works"
    );
    let shared = place.sharing(Some(wfc::runtime::RunRepository {
        remote: "ssh://git@example.com/team/project.git".into(),
        base: "473cee840145b7c5f133b47fcc5f39ef4c865cc0".into(),
    }));
    backend
        .create_run("shared", &one, Some(&shared), 1_600)
        .and_then(|()| backend.create_tasks("shared", &one))
        .expect("a run whose work moves through a remote");
    assert_eq!(
        backend.get_run("shared").expect("run").place,
        Some(shared),
        "the run keeps the repository its work moves through"
    );
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
        backend
            .create_run("r1", &p, None, 2_000)
            .expect_err("twice")
            .kind,
        BackendErrorKind::Conflict
    );
    start(backend, "r2", &plan(&[("x", &[], 0)]));
    let runs = backend.list_runs().expect("runs");
    assert_eq!(runs.len(), 4);
    assert_eq!(runs.iter().map(|r| r.tasks).sum::<usize>(), 5);
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
        .start_task(&key("r", "a"), "w1", 2_003, &[])
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
    let first = backend
        .claim_task(&k, "crashed", 2_000, 1_000)
        .expect("claim")
        .expect("won");
    assert!(
        !first.taken_over,
        "a pending task is taken over from nobody"
    );
    backend
        .start_task(&k, "crashed", 2_000, &[])
        .expect("start");
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
    // Not by its own holder: an engine starved past its lease still runs the attempt, and a
    // claim of its own would start a second one beside it.
    assert_eq!(
        backend
            .claim_task(&k, "crashed", 3_501, 1_000)
            .expect("claim"),
        None,
        "a worker took over its own claim"
    );
    let claim = backend
        .claim_task(&k, "rescuer", 3_501, 1_000)
        .expect("claim")
        .expect("won");
    assert_eq!(claim.attempt, 2);
    assert!(claim.taken_over, "the claim took the task over: {claim:?}");
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
    // What a gate asks is logged in the step that makes it wait, and only if it does.
    let question = |task: &str| NewEvent {
        at: 2_003,
        kind: "gate_waiting".into(),
        task: Some(task.into()),
        data: serde_json::json!({ "ask": format!("may {task} go?") }),
    };
    for gate in ["gate_ok", "gate_no"] {
        backend
            .claim_task(&key("g", gate), "w", 2_002, 10_000)
            .expect("claim")
            .expect("won");
        backend
            .wait_gate(&key("g", gate), "w", 2_003, &[question(gate)])
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
            .wait_gate(&key("g", "ship"), "w", 2_004, &[question("ship")])
            .expect_err("not held")
            .kind,
        BackendErrorKind::Conflict
    );
    let asked: Vec<(Option<String>, serde_json::Value)> = backend
        .read_events("g", 0, 100)
        .expect("events")
        .into_iter()
        .filter(|event| event.kind == "gate_waiting")
        .map(|event| (event.task, event.data))
        .collect();
    assert_eq!(
        asked,
        ["gate_ok", "gate_no"].map(|gate| (Some(gate.to_string()), question(gate).data))
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
    assert_eq!(backend.run_state("x").expect("state"), RunState::Cancelled);
    assert_eq!(
        backend.run_state("ghost").expect_err("no run").kind,
        BackendErrorKind::NotFound
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
        .reset_tasks("x", &[reset("a"), reset("b")], 2_004)
        .expect("reset");
    assert_eq!(backend.get_run("x").expect("run").state, RunState::Running);
    let a = backend.get_task(&key("x", "a")).expect("a");
    assert_eq!(
        (a.state, a.attempts, a.max_attempts, a.result),
        (TaskState::Pending, 1, 2, None),
        "attempt numbers go on, with the retries renewed"
    );
    assert_eq!(ready(backend, "x", 2_005), ["a"]);
    assert_eq!(
        backend
            .reset_tasks("x", &[reset("nope")], 2_006)
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

#[test]
fn the_postgres_backend_keeps_the_contract() {
    let schemas = crate::postgres::Schemas::new("contract");
    contract(&|| crate::postgres::open_new(&schemas));
}

// ---- The SQLite backend --------------------------------------------------------------------

use crate::support::TempDir;
use std::path::Path;
use wfc::backends::SqliteBackend;

/// Opens the store at `path`, which must work.
fn open_sqlite(path: &Path) -> SqliteBackend {
    match SqliteBackend::open(path) {
        Ok(backend) => backend,
        Err(error) => panic!("cannot open {}: {error}", path.display()),
    }
}

/// Opening `path` must fail; the error.
fn refused(path: &Path) -> BackendError {
    match SqliteBackend::open(path) {
        Ok(_) => panic!("{} opened", path.display()),
        Err(error) => error,
    }
}

/// Claims and completes ready tasks of `run` as `worker` until none is left; the ids it won.
/// The result of each task names the worker that completed it.
fn work_off(backend: &dyn TaskBackend, run: &str, worker: &str) -> Vec<String> {
    let mut won = Vec::new();
    loop {
        let ready = backend
            .find_ready_tasks(Some(run), 3_000, 10)
            .unwrap_or_else(|e| panic!("{worker}: ready: {e}"));
        if ready.is_empty() {
            return won;
        }
        for key in ready {
            let claim = backend
                .claim_task(&key, worker, 3_000, 600_000)
                .unwrap_or_else(|e| panic!("{worker}: claim {key}: {e}"));
            if claim.is_some() {
                backend
                    .complete_task(&key, worker, worker, 3_001)
                    .unwrap_or_else(|e| panic!("{worker}: complete {key}: {e}"));
                won.push(key.task);
            }
        }
    }
}

/// Checks that the tasks `ids` of `run` were each won exactly once, as `won` says, and that the
/// store agrees: each succeeded after one attempt, completed by its winner.
fn each_exactly_once(
    backend: &dyn TaskBackend,
    run: &str,
    ids: &[String],
    won: &[(String, String)],
) {
    let mut all: Vec<&str> = won.iter().map(|(task, _)| task.as_str()).collect();
    all.sort();
    let mut expected: Vec<&str> = ids.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(all, expected, "every task claimed exactly once");
    let winners: std::collections::HashMap<&str, &str> = won
        .iter()
        .map(|(task, worker)| (task.as_str(), worker.as_str()))
        .collect();
    for task in backend.list_tasks(run).expect("tasks") {
        assert_eq!(
            (task.state, task.attempts, task.result.as_deref()),
            (
                TaskState::Succeeded,
                1,
                winners.get(task.key.task.as_str()).copied()
            ),
            "{}",
            task.key
        );
    }
}

fn many_tasks(count: usize) -> (Vec<String>, Plan) {
    let ids: Vec<String> = (0..count).map(|i| format!("t{i:03}")).collect();
    let spec: Vec<(&str, &[&str], u32)> = ids.iter().map(|id| (id.as_str(), &[][..], 0)).collect();
    let plan = plan(&spec);
    (ids, plan)
}

#[test]
fn the_sqlite_backend_keeps_the_contract() {
    let dir = TempDir::new("wfc-sqlite-contract");
    let counter = std::sync::atomic::AtomicUsize::new(0);
    contract(&|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Arc::new(open_sqlite(&dir.path().join(format!("state-{n}.db"))))
    });
}

#[test]
fn sqlite_claims_are_exclusive_across_connections() {
    let dir = TempDir::new("wfc-sqlite-connections");
    // The folders of the store are created too.
    let path = dir.path().join(".wfc/state.db");
    let (ids, p) = many_tasks(300);
    start(&open_sqlite(&path), "m", &p);
    let threads: Vec<_> = (0..4)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                // Its own connection, as a separate process would have.
                let backend = open_sqlite(&path);
                let worker = format!("w{w}");
                let won = work_off(&backend, "m", &worker);
                won.into_iter()
                    .map(|task| (task, worker.clone()))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let won: Vec<(String, String)> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("thread"))
        .collect();
    each_exactly_once(&open_sqlite(&path), "m", &ids, &won);
}

/// The store a `sqlite_worker_process` works on; unset, that test does nothing.
const WORKER_STORE: &str = "WFC_TEST_SQLITE_WORKER_STORE";

/// One worker process of `sqlite_claims_are_exclusive_across_processes`: works off run `p`
/// and prints the tasks it won.
#[test]
fn sqlite_worker_process() {
    let Some(store) = std::env::var_os(WORKER_STORE) else {
        return;
    };
    let worker = format!("process-{}", std::process::id());
    let won = work_off(&open_sqlite(Path::new(&store)), "p", &worker);
    println!("WORKER {worker} WON {}", won.join(" "));
}

#[test]
fn sqlite_claims_are_exclusive_across_processes() {
    let dir = TempDir::new("wfc-sqlite-processes");
    let path = dir.path().join("state.db");
    let (ids, p) = many_tasks(500);
    start(&open_sqlite(&path), "p", &p);
    let exe = std::env::current_exe().expect("the test binary");
    let children: Vec<_> = (0..3)
        .map(|_| {
            std::process::Command::new(&exe)
                .args([
                    "backend_contract::sqlite_worker_process",
                    "--exact",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(WORKER_STORE, &path)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("a worker process")
        })
        .collect();
    let mut won = Vec::new();
    let mut workers = 0;
    for child in children {
        let output = child.wait_with_output().expect("the worker ends");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "a worker failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        for line in stdout.lines() {
            // The test harness may print the test's name on the same line.
            if let Some((_, rest)) = line.split_once("WORKER ") {
                let (worker, tasks) = rest.split_once(" WON").expect("a report");
                workers += 1;
                won.extend(
                    tasks
                        .split_whitespace()
                        .map(|task| (task.to_string(), worker.to_string())),
                );
            }
        }
    }
    assert_eq!(workers, 3, "every worker reported");
    each_exactly_once(&open_sqlite(&path), "p", &ids, &won);
}

#[test]
fn a_reopened_sqlite_store_has_everything() {
    let dir = TempDir::new("wfc-sqlite-reopen");
    let path = dir.path().join("state.db");
    let mut p = plan(&[("a", &[], 0), ("b", &["a"], 1), ("gate", &["a"], 0)]);
    p.params.push(wfc::plan::BoundParam {
        name: "files".into(),
        ty: "list<string>".into(),
        value: serde_json::json!(["x.rs", "ü ✓"]),
    });
    p.secrets.push("token".into());
    p.tasks[1].priority = 0;
    p.tasks[1].labels = vec!["backend".into()];
    let before = {
        let backend = open_sqlite(&path);
        start(&backend, "r", &p);
        start(&backend, "later", &plan(&[("x", &[], 0)]));
        let a = key("r", "a");
        backend.claim_task(&a, "w", 2_000, 10_000).expect("claim");
        backend.start_task(&a, "w", 2_001, &[]).expect("start");
        backend
            .complete_task(&a, "w", "result of a\nline two", 2_002)
            .expect("complete");
        let b = key("r", "b");
        backend.claim_task(&b, "w", 2_003, 10_000).expect("claim");
        backend
            .fail_task(&b, "w", "exit 1: boom", true, 2_004)
            .expect("fail");
        for (i, kind) in ["run_started", "task_succeeded"].iter().enumerate() {
            backend
                .append_event(
                    "r",
                    &NewEvent {
                        at: 2_005 + i as i64,
                        kind: kind.to_string(),
                        task: (i > 0).then(|| "a".to_string()),
                        data: serde_json::json!({ "i": i, "text": "ü" }),
                    },
                )
                .expect("append");
        }
        (
            backend.list_runs().expect("runs"),
            backend.list_tasks("r").expect("tasks"),
            backend.read_events("r", 0, 10).expect("events"),
        )
    };
    let backend = open_sqlite(&path);
    let run = backend.get_run("r").expect("run");
    assert_eq!(run.plan, p, "the plan snapshot survives");
    assert_eq!(backend.list_runs().expect("runs"), before.0);
    assert_eq!(backend.list_tasks("r").expect("tasks"), before.1);
    assert_eq!(backend.read_events("r", 0, 10).expect("events"), before.2);
    assert_eq!(before.1[0].result.as_deref(), Some("result of a\nline two"));
    assert_eq!(before.1[1].last_error.as_deref(), Some("exit 1: boom"));
    assert_eq!(
        ready(&backend, "r", 3_000),
        ["b", "gate"],
        "the reopened store goes on"
    );
    assert_eq!(
        backend
            .append_event(
                "r",
                &NewEvent {
                    at: 3_000,
                    kind: "task_ready".into(),
                    task: None,
                    data: serde_json::Value::Null,
                },
            )
            .expect("append"),
        3
    );
}

#[test]
fn an_sqlite_store_that_cannot_be_written_is_a_storage_error_with_a_hint() {
    let dir = TempDir::new("wfc-sqlite-unwritable");
    let file = dir.write("file", "not a folder");
    let folder = dir.path().join("folder.db");
    std::fs::create_dir_all(&folder).expect("folder");
    let junk = dir.write("junk.db", &"this is not a database\n".repeat(100));
    for (path, hint) in [
        (file.join("state.db"), "folder"),
        (file.join("deeper/state.db"), "folder"),
        (Path::new("/dev/null/state.db").to_path_buf(), "folder"),
        (folder.clone(), "folder"),
        (junk.clone(), "move it aside"),
    ] {
        let error = refused(&path);
        assert_eq!(error.kind, BackendErrorKind::Storage, "{error}");
        assert!(
            error.message.contains(&path.display().to_string()),
            "the message names the store: {error}"
        );
        assert!(
            error.hint.as_deref().is_some_and(|h| h.contains(hint)),
            "the hint says what to do: {error}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(&junk).expect("junk"),
        "this is not a database\n".repeat(100),
        "a file that is not a store is left alone"
    );
    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other)
        .and_then(|c| c.execute_batch("CREATE TABLE notes (text TEXT)"))
        .expect("another program's file");
    let error = refused(&other);
    assert_eq!(error.kind, BackendErrorKind::Storage);
    assert!(error.message.contains("not a wfc state store"), "{error}");
}

#[test]
fn an_sqlite_store_of_a_newer_schema_is_refused() {
    let dir = TempDir::new("wfc-sqlite-newer");
    let path = dir.path().join("state.db");
    drop(open_sqlite(&path));
    let newer = wfc::backends::sqlite::SCHEMA_VERSION + 1;
    rusqlite::Connection::open(&path)
        .and_then(|c| c.execute_batch(&format!("PRAGMA user_version = {newer}")))
        .expect("a newer wfc");
    let error = refused(&path);
    assert_eq!(error.kind, BackendErrorKind::Storage);
    assert!(
        error.message.contains(&format!("schema version {newer}"))
            && error.message.contains(&path.display().to_string()),
        "{error}"
    );
    assert!(
        error
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("newer wfc")),
        "{error}"
    );
}

#[test]
fn damaged_sqlite_rows_are_storage_errors_not_panics() {
    let dir = TempDir::new("wfc-sqlite-damaged");
    let path = dir.path().join("state.db");
    let backend = open_sqlite(&path);
    start(&backend, "r", &plan(&[("a", &[], 0)]));
    rusqlite::Connection::open(&path)
        .and_then(|c| {
            c.execute_batch(
                "UPDATE runs SET plan = '{\"version\": 1' WHERE id = 'r';
                 UPDATE tasks SET state = 'exploded' WHERE run = 'r' AND id = 'a';",
            )
        })
        .expect("damage");
    let file = path.display().to_string();
    let error = backend.get_run("r").expect_err("a bad plan");
    assert_eq!(error.kind, BackendErrorKind::Storage);
    assert!(
        error.message.contains(&file) && error.message.contains("`r`"),
        "{error}"
    );
    let error = backend.get_task(&key("r", "a")).expect_err("a bad state");
    assert_eq!(error.kind, BackendErrorKind::Storage);
    assert!(
        error.message.contains(&file) && error.message.contains("exploded"),
        "{error}"
    );
    assert!(error.hint.is_some(), "{error}");
    assert_eq!(
        backend.list_runs().expect("runs still list")[0].workflow,
        "contract"
    );
}

/// A small deterministic pseudo-random sequence.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

#[test]
fn the_sqlite_backend_answers_like_the_memory_backend() {
    let dir = TempDir::new("wfc-sqlite-differential");
    let sqlite = open_sqlite(&dir.path().join("state.db"));
    let memory = MemoryBackend::new();
    let backends: [&dyn TaskBackend; 2] = [&memory, &sqlite];
    let mut p = plan(&[
        ("a", &[], 1),
        ("b", &["a"], 0),
        ("c", &[], 2),
        ("gate", &["c"], 0),
        ("d", &["b", "gate"], 1),
        ("e", &[], 0),
        ("f", &["e", "a"], 0),
    ]);
    for (i, task) in p.tasks.iter_mut().enumerate() {
        task.priority = (i % 3) as u8;
    }
    let runs = ["r1", "r2", "r3"];
    let tasks: Vec<String> = p
        .tasks
        .iter()
        .map(|t| t.id.clone())
        .chain(["ghost".to_string()])
        .collect();
    let workers = ["w1", "w2"];
    let mut rng = Lcg(7);
    for (i, run) in runs.iter().enumerate() {
        for backend in backends {
            // r2 and r3 are created at the same time: ties are ordered by id.
            backend
                .create_run(run, &p, None, 1_000 + (i.min(1) as i64))
                .expect("run");
            backend.create_tasks(run, &p).expect("tasks");
        }
    }
    let mut now: Millis = 2_000;
    for step in 0..3_000 {
        now += rng.below(400) as i64;
        let run = runs[rng.below(runs.len())];
        let mut k = key(run, &tasks[rng.below(tasks.len())]);
        let mut worker = workers[rng.below(workers.len())];
        let op = rng.below(14);
        let flag = rng.below(2) == 0;
        // Half the time, aim at a task the operation can succeed on.
        if rng.below(2) == 0 {
            if op <= 4 {
                let ready = memory.find_ready_tasks(Some(run), now, 10).expect("ready");
                if !ready.is_empty() {
                    k = ready[rng.below(ready.len())].clone();
                }
            } else if op <= 10 {
                let held: Vec<TaskRecord> = memory
                    .list_tasks(run)
                    .expect("tasks")
                    .into_iter()
                    .filter(|t| t.worker.is_some() || t.state == TaskState::Waiting)
                    .collect();
                if !held.is_empty() {
                    let t = &held[rng.below(held.len())];
                    k = t.key.clone();
                    worker = workers
                        .into_iter()
                        .find(|w| t.worker.as_deref() == Some(*w))
                        .unwrap_or(worker);
                }
            }
        }
        let answers: Vec<String> = backends
            .iter()
            .map(|b| match op {
                0 | 1 => format!("{:?}", b.find_ready_tasks(flag.then_some(run), now, 4)),
                2..=4 => format!("{:?}", b.claim_task(&k, worker, now, 1_000)),
                5 => format!("{:?}", b.heartbeat(&k, worker, now, 1_000)),
                6 => format!("{:?}", b.start_task(&k, worker, now, &[])),
                7 => format!(
                    "{:?}",
                    b.complete_task(&k, worker, &format!("r{step}"), now)
                ),
                8 => format!(
                    "{:?}",
                    b.fail_task(&k, worker, &format!("e{step}"), flag, now)
                ),
                9 => format!("{:?}", b.wait_gate(&k, worker, now, &[])),
                10 => format!("{:?}", b.answer_gate(&k, flag, "why", now)),
                11 => format!(
                    "{:?}",
                    b.reset_tasks(run, &[reset(&k.task), reset("a")], now)
                ),
                12 => format!(
                    "{:?}",
                    b.finish_run(
                        run,
                        if flag {
                            RunState::Cancelled
                        } else {
                            RunState::Failed
                        },
                        now
                    )
                ),
                _ => format!(
                    "{:?}",
                    b.append_event(
                        run,
                        &NewEvent {
                            at: now,
                            kind: "x".into(),
                            task: flag.then(|| k.task.clone()),
                            data: serde_json::json!({ "step": step }),
                        }
                    )
                ),
            })
            .collect();
        assert_eq!(answers[0], answers[1], "step {step}: op {op} on {k}");
        let states: Vec<String> = backends
            .iter()
            .map(|b| {
                format!(
                    "{:?} {:?} {:?} {:?} {:?}",
                    b.list_runs(),
                    b.list_tasks(run),
                    b.get_run(run).map(|r| (r.state, r.finished_at)),
                    b.read_events(run, 0, 1_000),
                    b.find_ready_tasks(None, now, 100),
                )
            })
            .collect();
        assert_eq!(states[0], states[1], "step {step}: after op {op} on {k}");
    }
}

#[test]
fn several_connections_can_create_one_sqlite_store_at_once() {
    let dir = TempDir::new("wfc-sqlite-fresh");
    let path = dir.path().join("new/state.db");
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let backend = open_sqlite(&path);
                start(&backend, &format!("r{i}"), &plan(&[("a", &[], 0)]));
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("thread");
    }
    assert_eq!(open_sqlite(&path).list_runs().expect("runs").len(), 8);
}
