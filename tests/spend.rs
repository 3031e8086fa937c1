//! Spend control with the real binary: `wfc stats` over a store whose runs, attempts, times
//! and agent sessions are known, so every figure it prints can be checked by hand.

use crate::backend_contract::plan;
use crate::support::{wfc, TempDir};
use serde_json::{json, Value};
use std::path::Path;
use wfc::backends::SqliteBackend;
use wfc::plan::{Action, Plan};
use wfc::runtime::*;

/// 2024-05-01 12:34:56 UTC: when the old runs of the stats store began.
const T0: Millis = 1_714_566_896_000;

fn store(dir: &Path) -> SqliteBackend {
    SqliteBackend::open(&dir.join(".wfc/state.db"))
        .unwrap_or_else(|error| panic!("cannot open the store: {error}"))
}

/// A plan of workflow `workflow` whose tasks `(id, profile)` are agent tasks when a profile
/// is given (`""` for the run's default agent) and commands otherwise; ids starting with
/// `gate` are gates.
fn stats_plan(workflow: &str, tasks: &[(&str, Option<&str>, u32)]) -> Plan {
    let shape: Vec<(&str, &[&str], u32)> = tasks
        .iter()
        .map(|(id, _, retry)| (*id, &[][..], *retry))
        .collect();
    let mut plan = plan(&shape);
    plan.workflow = workflow.into();
    for (spec, (_, profile, _)) in plan.tasks.iter_mut().zip(tasks) {
        if let Some(profile) = profile {
            spec.action = Action::Agent {
                profile: (!profile.is_empty()).then(|| profile.to_string()),
                agent: None,
                prompt: Vec::new(),
            };
        }
    }
    plan
}

/// One attempt of `task` from `start` to `end` (ms after the run began), with its sessions'
/// data, ending in success or in a failure (retried while attempts remain).
fn attempt(
    backend: &SqliteBackend,
    run: &str,
    at: Millis,
    task: &str,
    span: (Millis, Millis),
    ok: bool,
    sessions: &[Value],
) {
    let key = TaskKey::new(run, task);
    let claim = backend
        .claim_task(&key, "w", at + span.0, 3_600_000)
        .expect("claim");
    assert!(claim.is_some(), "{task} could be claimed");
    backend
        .start_task(&key, "w", at + span.0, &[])
        .expect("start");
    for data in sessions {
        let event = NewEvent {
            at: at + span.1,
            kind: "agent_session".into(),
            task: Some(task.into()),
            data: data.clone(),
        };
        backend.append_event(run, &event).expect("event");
    }
    if ok {
        backend
            .complete_task(&key, "w", "done", at + span.1)
            .expect("complete");
    } else {
        backend
            .fail_task(&key, "w", "it broke", true, at + span.1)
            .expect("fail");
    }
}

/// The store: two runs of `review` (one succeeded, one failed), one of `docs` still running.
fn stats_store(dir: &Path) {
    let backend = store(dir);
    let review = stats_plan(
        "review",
        &[
            ("lint", None, 0),
            ("fix", Some("claude"), 1),
            ("gate_ok", None, 0),
        ],
    );
    let docs = stats_plan("docs", &[("write", Some(""), 0), ("publish", None, 0)]);
    let (r1, r2, r3) = (T0, T0 + 3_600_000, now_millis() - 60_000);
    for (id, plan, at) in [
        ("run-1", &review, r1),
        ("run-2", &review, r2),
        ("run-3", &docs, r3),
    ] {
        backend.create_run(id, plan, None, at).expect("create run");
        backend.create_tasks(id, plan).expect("create tasks");
    }
    // run-1: lint 2s; fix fails once, then succeeds in 30s; the gate is approved.
    attempt(&backend, "run-1", r1, "lint", (1_000, 3_000), true, &[]);
    let session = |cost: f64, input: u64| json!({"cost_usd": cost, "input_tokens": input, "output_tokens": input / 10});
    attempt(
        &backend,
        "run-1",
        r1,
        "fix",
        (4_000, 8_000),
        false,
        &[session(0.25, 1000)],
    );
    attempt(
        &backend,
        "run-1",
        r1,
        "fix",
        (10_000, 40_000),
        true,
        &[session(0.5, 2000)],
    );
    let gate = TaskKey::new("run-1", "gate_ok");
    backend
        .claim_task(&gate, "w", r1 + 41_000, 60_000)
        .expect("claim gate");
    backend
        .wait_gate(&gate, "w", r1 + 41_000, &[])
        .expect("wait");
    backend
        .answer_gate(&gate, true, "ok", r1 + 60_000)
        .expect("approve");
    assert_eq!(
        backend.settle_run("run-1", r1 + 60_000).expect("settle"),
        RunState::Succeeded
    );
    // run-2: lint 4s; fix fails twice, one session without a cost; the gate is rejected.
    attempt(&backend, "run-2", r2, "lint", (0, 4_000), true, &[]);
    attempt(
        &backend,
        "run-2",
        r2,
        "fix",
        (5_000, 9_000),
        false,
        &[session(0.3, 500)],
    );
    attempt(
        &backend,
        "run-2",
        r2,
        "fix",
        (10_000, 20_000),
        false,
        &[json!({"input_tokens": 100})],
    );
    let gate = TaskKey::new("run-2", "gate_ok");
    backend
        .claim_task(&gate, "w", r2 + 21_000, 60_000)
        .expect("claim gate");
    backend
        .wait_gate(&gate, "w", r2 + 21_000, &[])
        .expect("wait");
    backend
        .answer_gate(&gate, false, "no", r2 + 100_000)
        .expect("reject");
    assert_eq!(
        backend.settle_run("run-2", r2 + 100_000).expect("settle"),
        RunState::Failed
    );
    // run-3, a minute old and still running: write took 10s for $0.10.
    attempt(
        &backend,
        "run-3",
        r3,
        "write",
        (0, 10_000),
        true,
        &[session(0.1, 300)],
    );
}

#[test]
fn stats_print_the_known_figures() {
    let dir = TempDir::new("wfc-stats");
    stats_store(dir.path());
    let text = wfc(dir.path(), &["stats"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    insta::assert_snapshot!("stats_text", text.stdout);

    let json = wfc(dir.path(), &["stats", "--json"]);
    let stats: Value = serde_json::from_str(&json.stdout).expect("stats JSON");
    let review = &stats["workflows"][1];
    assert_eq!(review["name"], "review");
    assert_eq!(
        (
            review["runs"].as_u64(),
            review["succeeded"].as_u64(),
            review["ended"].as_u64()
        ),
        (Some(2), Some(1), Some(2))
    );
    // Attempts of ended tasks (lint 1+1, fix 2+2) over the tasks that succeeded (lint twice, fix once).
    assert_eq!(review["attempts_per_success"], 2.0);
    assert_eq!(
        (review["median_ms"].as_i64(), review["p90_ms"].as_i64()),
        (Some(60_000), Some(100_000))
    );
    assert_eq!(review["spend"]["cost_usd"], 1.05);
    assert_eq!(review["spend"]["sessions_without_cost"], 1);
    assert!(
        review.get("cost_per_success_usd").is_none(),
        "an unknown cost has no average: {review}"
    );
    let fix = stats["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .find(|row| row["name"] == "review/fix")
        .expect("review/fix");
    assert_eq!(
        (
            fix["ended"].as_u64(),
            fix["succeeded"].as_u64(),
            fix["success_rate"].as_f64()
        ),
        (Some(2), Some(1), Some(0.5))
    );
    assert_eq!(fix["attempts_per_success"], 4.0);
    assert_eq!(fix["median_ms"], 30_000);

    let recent = wfc(dir.path(), &["stats", "--since", "1d", "--json"]);
    let recent: Value = serde_json::from_str(&recent.stdout).expect("stats JSON");
    let names: Vec<&str> = recent["workflows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|row| row["name"].as_str())
        .collect();
    assert_eq!(names, ["docs"]);
    let profiles = &recent["profiles"][0];
    assert_eq!(
        (
            profiles["name"].as_str(),
            profiles["cost_per_success_usd"].as_f64()
        ),
        (Some("(run's default)"), Some(0.1))
    );

    let one = wfc(dir.path(), &["stats", "--workflow", "review", "--json"]);
    let one: Value = serde_json::from_str(&one.stdout).expect("stats JSON");
    assert_eq!(one["workflows"].as_array().map(Vec::len), Some(1));
    assert_eq!(one["profiles"][0]["name"], "claude");
}

#[test]
fn stats_of_an_empty_selection_say_so() {
    let dir = TempDir::new("wfc-stats-none");
    stats_store(dir.path());
    let none = wfc(dir.path(), &["stats", "--workflow", "nothing"]);
    assert_eq!(none.code, 0, "{}", none.stderr);
    assert!(
        none.stderr.contains("no run in .wfc/state.db matches"),
        "{}",
        none.stderr
    );
    let bad = wfc(dir.path(), &["stats", "--since", "soon"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("is not an age"), "{}", bad.stderr);
}

/// A workflow whose agent tasks each cost $1 and append their name to `sessions.txt` when
/// their session starts; `tidy`, a command of the lowest priority, runs after them.
const FAN_OUT: &str = r#"agent paid {
  adapter = "command"
  command = ["sh", "-c", "cat > /dev/null; echo \"$WF_TASK_ID\" >> sessions.txt; echo 'wfc:usage {\"cost_usd\": 1.0, \"input_tokens\": 100}' >&2; echo done"]
}

workflow fan {
  param items: list<string> = ["a", "b", "c", "d", "e"]
  defaults {
    agent = paid
  }
  task review for each item in items {
    prompt = "Review {{ item }}."
  }
  task tidy {
    run      = "echo tidy > tidy.txt"
    priority = 4
  }
}
"#;

fn sessions(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("sessions.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_budget_crossed_in_a_fan_out_pauses_the_run_until_resumed_with_more() {
    let dir = TempDir::new("wfc-budget");
    dir.write("fan.wf", FAN_OUT);
    let run = wfc(
        dir.path(),
        &["run", "fan.wf", "-j", "1", "--budget", "2.50"],
    );
    // $1 a session, no cap on the tasks: sessions start while less than $2.50 is spent.
    assert_eq!(
        run.code, 3,
        "paused, not failed: {}\n{}",
        run.stdout, run.stderr
    );
    assert_eq!(
        sessions(dir.path()).len(),
        3,
        "no session after the crossing: {:?}",
        sessions(dir.path())
    );
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("paused: budget: $3.00 of $2.50 spent"),
        "{all}"
    );
    assert!(
        dir.path().join("tidy.txt").is_file(),
        "commands go on: {all}"
    );
    let id = crate::support::run_id(&run.stdout);
    let status = wfc(dir.path(), &["status", &id, "--json"]);
    let status: Value = serde_json::from_str(&status.stdout).expect("status JSON");
    assert_eq!(status["run"]["state"], "running", "{status}");
    let paused = status["paused"].as_str().unwrap_or_default();
    assert!(
        paused.starts_with("budget: $3.00 of $2.50 spent"),
        "{status}"
    );
    let text = wfc(dir.path(), &["status", &id]);
    assert!(
        text.stdout.contains("paused    budget: $3.00 of $2.50"),
        "{}",
        text.stdout
    );

    // The same budget again pauses at once: nothing more starts.
    let again = wfc(dir.path(), &["resume", &id]);
    assert_eq!(again.code, 3, "{}\n{}", again.stdout, again.stderr);
    assert_eq!(sessions(dir.path()).len(), 3);

    let more = wfc(dir.path(), &["resume", &id, "--budget", "10"]);
    assert_eq!(more.code, 0, "{}\n{}", more.stdout, more.stderr);
    let status = wfc(dir.path(), &["status", &id, "--json"]);
    let status: Value = serde_json::from_str(&status.stdout).expect("status JSON");
    assert_eq!(status["run"]["state"], "succeeded", "{status}");
    assert!(status.get("paused").is_none(), "{status}");
    let mut done = sessions(dir.path());
    done.sort();
    assert_eq!(
        done,
        [
            "review[a]",
            "review[b]",
            "review[c]",
            "review[d]",
            "review[e]"
        ]
    );
}

#[test]
fn a_task_cap_must_fit_in_the_budget_of_defaults() {
    let dir = TempDir::new("wfc-budget-cap");
    let file = FAN_OUT
        .replace(
            "    agent = paid\n",
            "    agent  = paid\n    budget = \"2.50\"\n",
        )
        .replace(
            "    prompt = \"Review {{ item }}.\"\n",
            "    prompt = \"Review {{ item }}.\"\n    budget = \"1.50\"\n",
        );
    dir.write("fan.wf", &file);
    let check = wfc(dir.path(), &["check", "fan.wf"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
    // $0 + $1.50 and $1 + $1.50 fit in $2.50; $2 + $1.50 does not.
    let run = wfc(dir.path(), &["run", "fan.wf", "-j", "1"]);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(sessions(dir.path()).len(), 2, "{:?}", sessions(dir.path()));
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("may cost up to $1.50"), "{all}");
}

#[test]
fn a_budget_that_is_not_an_amount_is_refused() {
    let dir = TempDir::new("wfc-budget-bad");
    dir.write(
        "fan.wf",
        &FAN_OUT.replace(
            "    agent = paid\n",
            "    agent  = paid\n    budget = \"lots\"\n",
        ),
    );
    let check = wfc(dir.path(), &["check", "fan.wf"]);
    assert_eq!(check.code, 1, "{}{}", check.stdout, check.stderr);
    assert!(
        check.stderr.contains("must be an amount of US dollars"),
        "{}",
        check.stderr
    );
    let run = wfc(dir.path(), &["run", "fan.wf", "--budget", "-3"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn a_budget_is_the_runs_whichever_engines_spend_it() {
    use crate::worker_serves::{interrupt, spawn, wait_until};
    let dir = TempDir::new("wfc-budget-engines");
    // Each session takes a second, so the two engines' sessions overlap.
    dir.write(
        "fan.wf",
        &FAN_OUT.replace("echo done", "sleep 1; echo done"),
    );
    let run = spawn(
        dir.path(),
        &["run", "fan.wf", "-j", "1", "--budget", "2.50"],
    );
    wait_until("the first session starts", || {
        !sessions(dir.path()).is_empty()
    });
    let worker = spawn(dir.path(), &["worker", "-j", "1"]);
    let output = run.wait_with_output().expect("wfc run ends");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(3), "paused: {all}");
    let backend = store(dir.path());
    let id = backend.list_runs().expect("runs")[0].id.clone();
    let ended = || -> Vec<String> {
        backend
            .read_events(&id, 0, 1000)
            .expect("events")
            .into_iter()
            .filter(|e| e.kind == "agent_session")
            .filter_map(|e| e.data["worker"].as_str().map(str::to_string))
            .collect()
    };
    // The worker's last session may still run when `wfc run` pauses.
    wait_until("every session that started ended", || {
        ended().len() == sessions(dir.path()).len()
    });
    interrupt(worker);
    let mut workers = ended();
    let sessions = sessions(dir.path());
    workers.sort();
    workers.dedup();
    assert_eq!(workers.len(), 2, "both engines ran sessions: {workers:?}");
    // $1 a session: each engine starts one while less than $2.50 of the run's is spent, as
    // it reads the other's sessions from the store. Each counting only its own would have
    // started all five ($5, twice the budget).
    assert!(sessions.len() <= 4, "{sessions:?}\n{all}");
}

#[test]
fn a_session_that_resolves_a_conflict_is_paid_from_the_budget() {
    use crate::isolation_policies::{conflicting, stand_in_agent};
    let log = TempDir::new("wfc-budget-conflict-log");
    // `c` resolves its upstream conflict in one $1 session, then works in another; `d`
    // after it cannot start with $2 of the $1.50 spent.
    let workflow = stand_in_agent(log.path(), true)
        + &conflicting(
            "    agent = fixer\n    prompt = \"Join the work.\"\n    on_conflict = \"agent\"",
        )
        .replace(
            "workflow w {\n",
            "workflow w {\n  task d after c {\n    agent  = fixer\n    prompt = \"Check the work.\"\n  }\n",
        );
    let (_dir, path) = crate::isolation_run::repo("wfc-budget-conflict", &workflow);
    let run = wfc(&path, &["run", "w.wf", "--budget", "1.50"]);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(run.code, 3, "paused: {all}");
    assert!(all.contains("budget: $2.00 of $1.50 spent"), "{all}");
    let id = crate::support::run_id(&run.stdout);
    let backend = store(&path);
    let sessions: Vec<Value> = backend
        .read_events(&id, 0, 1000)
        .expect("events")
        .into_iter()
        .filter(|e| e.kind == "agent_session")
        .map(|e| e.data)
        .collect();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert_eq!(sessions[0]["purpose"], "resolve a conflict", "{sessions:?}");
    let tasks = backend.list_tasks(&id).expect("tasks");
    let d = tasks.iter().find(|t| t.key.task == "d").expect("d");
    assert_eq!((d.state, d.attempts), (TaskState::Pending, 0), "{d:?}");
}

/// `wfc` with the real Claude Code CLI on PATH, signed in with a subscription token (usage
/// limits are a subscription's) against the scripted server, and a first backoff of a second.
fn wfc_claude(
    dir: &Path,
    server: &crate::model_server::ModelServer,
    args: &[&str],
) -> std::process::Command {
    let claude = crate::npm_cli::claude_bin();
    let bin_dir = claude.parent().expect("the CLI's folder");
    let home = dir.join(".home");
    std::fs::create_dir_all(&home).expect("a home");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_wfc"));
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", bin_dir.display()),
        )
        .env("HOME", &home)
        .env("TZ", "UTC")
        .env("ANTHROPIC_BASE_URL", &server.url)
        .env("CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat01-scripted")
        .env("WFC_LIMIT_BACKOFF_SECS", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    command
}

#[test]
fn a_conflict_the_budget_cannot_pay_to_resolve_pauses_the_run_until_resumed_with_more() {
    use crate::isolation_policies::{conflicting, stand_in_agent};
    use crate::model_server::{ModelServer, Reply, Rule};
    let log = TempDir::new("wfc-budget-unpaid-conflict-log");
    // `x` spends the whole $1; the command `c` then meets a conflict that only a session of
    // the run's agent (Claude Code) could resolve.
    let workflow = stand_in_agent(log.path(), true)
        + &conflicting("    run = \"echo joined >> README\"\n    on_conflict = \"agent\"")
            .replace("task c after a, b {", "task c after a, b, x {")
            .replace(
                "workflow w {\n",
                "workflow w {\n  task x {\n    agent  = fixer\n    prompt = \"Check the base.\"\n  }\n",
            );
    let (_dir, path) = crate::isolation_run::repo("wfc-budget-unpaid-conflict", &workflow);
    let server = ModelServer::start(vec![Rule::new(
        "Resolve a merge conflict",
        vec![Reply::text("I leave it as it is.")],
    )]);
    let run = wfc_claude(
        &path,
        &server,
        &["run", "w.wf", "--agent", "claude-code", "--budget", "1"],
    )
    .output()
    .expect("wfc run");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(run.status.code(), Some(3), "paused: {all}");
    assert!(all.contains("budget: $1.00 of $1.00 spent"), "{all}");
    assert!(server.session_requests().is_empty(), "no session started");
    let backend = store(&path);
    let id = backend.list_runs().expect("runs")[0].id.clone();
    let c = || {
        backend
            .list_tasks(&id)
            .expect("tasks")
            .into_iter()
            .find(|t| t.key.task == "c")
            .expect("c")
    };
    let held = c();
    assert_eq!(held.state, TaskState::Pending, "{held:?}");
    assert_eq!(
        (held.attempts, held.max_attempts),
        (1, 2),
        "its attempt gave its claim back with no retry used: {held:?}"
    );
    let resumed = wfc_claude(
        &path,
        &server,
        &["resume", &id, "--budget", "5", "--agent", "claude-code"],
    )
    .output()
    .expect("wfc resume");
    // With the higher budget the session starts (and leaves the markers: the attempt fails).
    let purposes: Vec<Value> = backend
        .read_events(&id, 0, 1000)
        .expect("events")
        .into_iter()
        .filter(|e| e.kind == "agent_session" && e.task.as_deref() == Some("c"))
        .map(|e| e.data["purpose"].clone())
        .collect();
    assert_eq!(
        purposes,
        [json!("resolve a conflict")],
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert_eq!(
        server.session_requests().len(),
        1,
        "the session reached its model"
    );
    assert!(
        c().last_error
            .is_some_and(|e| e.contains("conflict markers remain in README")),
        "{:?}",
        c()
    );
}

#[test]
fn provider_limits_pause_a_profile_and_the_run_resumes_by_itself_with_no_retry_used() {
    use crate::model_server::{ModelServer, Reply, Rule};
    use std::sync::{Arc, Mutex};
    let dir = TempDir::new("wfc-limits");
    // A 529 and a 429 (no time given: backoffs of 1s, then 2s), then the usage limit, which
    // resets in 3s.
    let queue = Arc::new(Mutex::new(
        [Reply::Overloaded, Reply::RateLimited, Reply::UsageLimit(3)]
            .into_iter()
            .collect(),
    ));
    let server = ModelServer::start(vec![Rule::new(
        "[[limited]]",
        vec![Reply::Queue(queue, Box::new(Reply::text("All done.")))],
    )]);
    // The CLI's own retries are turned off, so the test does not wait for them.
    dir.write(
        "limits.wf",
        "agent claude {\n  adapter = \"claude-code\"\n}\n\nworkflow w {\n  param items: list<string> = [\"a\", \"b\"]\n  defaults {\n    agent = claude\n    env   = { CLAUDE_CODE_MAX_RETRIES = \"0\" }\n  }\n  task say for each item in items {\n    prompt = \"[[limited]] Say done.\"\n  }\n}\n",
    );
    let started = std::time::Instant::now();
    let child = wfc_claude(dir.path(), &server, &["run", "limits.wf", "-j", "1"])
        .spawn()
        .expect("wfc starts");
    // While the profile waits, `wfc status` says until when.
    let mut shown = String::new();
    while started.elapsed() < std::time::Duration::from_secs(60) {
        let status = wfc_claude(dir.path(), &server, &["status"])
            .output()
            .expect("status");
        shown = String::from_utf8_lossy(&status.stdout).into_owned();
        if shown.contains("waiting: usage limit of claude, resumes ") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        shown.contains("waiting: usage limit of claude, resumes "),
        "{shown}"
    );
    let output = child.wait_with_output().expect("wfc ends");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(0), "{all}");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "it waited: {all}"
    );
    assert!(
        all.contains("rate limit of claude (not a failure)"),
        "{all}"
    );
    assert!(
        all.contains("usage limit of claude (not a failure)"),
        "{all}"
    );
    assert!(all.contains("overload of claude (not a failure)"), "{all}");
    // Every task succeeded with `retry` 0: the three limited attempts used no retry.
    let backend = store(dir.path());
    let runs = backend.list_runs().expect("runs");
    let tasks = backend.list_tasks(&runs[0].id).expect("tasks");
    assert!(
        tasks.iter().all(|t| t.state == TaskState::Succeeded),
        "{tasks:?}"
    );
    let first = &tasks[0];
    assert_eq!((first.attempts, first.max_attempts), (4, 4), "{first:?}");
    let waits: Vec<Value> = backend
        .read_events(&runs[0].id, 0, 1000)
        .expect("events")
        .into_iter()
        .filter(|e| e.kind == "profile_waiting")
        .map(|e| e.data)
        .collect();
    let kinds: Vec<&str> = waits.iter().filter_map(|w| w["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        ["overloaded", "rate_limit", "usage_limit"],
        "{waits:?}"
    );
    let strikes: Vec<i64> = waits.iter().filter_map(|w| w["strikes"].as_i64()).collect();
    assert_eq!(strikes, [1, 2, 3], "the backoff doubles: {waits:?}");
    // The session after the usage limit is told that the attempt before it was interrupted by
    // the provider's limit; no session is told that an attempt failed.
    let prompts: Vec<String> = server
        .session_requests()
        .iter()
        .map(|request| request["messages"][0].to_string())
        .collect();
    assert!(
        prompts
            .iter()
            .any(|p| p.contains("The previous attempt was interrupted")
                && p.contains("provider limit: usage limit of claude")),
        "{prompts:?}"
    );
    assert!(
        !prompts
            .iter()
            .any(|p| p.contains("The previous attempt failed")),
        "{prompts:?}"
    );
}

/// The most intervals of `log` (`start NANOS` and `end NANOS` lines) open at once.
fn most_at_once(log: &str) -> usize {
    let mut edges: Vec<(u128, i32)> = log
        .lines()
        .filter_map(|line| {
            let (what, at) = line.split_once(' ')?;
            let at: u128 = at.trim().parse().ok()?;
            Some((at, if what == "start" { 1 } else { -1 }))
        })
        .collect();
    // At the same moment an end comes before a start.
    edges.sort();
    let (mut open, mut most) = (0, 0);
    for (_, step) in edges {
        open += step;
        most = most.max(open);
    }
    most as usize
}

#[test]
fn a_pool_caps_the_sessions_of_a_profile_across_engines() {
    // Two engines, each `-j 8`, each running its own run in its own folder, one store.
    let dir = TempDir::new("wfc-pool");
    let log = dir.path().join("sessions.log");
    let store_url = format!("sqlite:{}", dir.path().join("state.db").display());
    let file = format!(
        r#"agent pooled {{
  adapter      = "command"
  command      = ["sh", "-c", "cat > /dev/null; echo start $(date +%s%N) >> {log}; sleep 1; echo end $(date +%s%N) >> {log}; echo done"]
  max_parallel = 2
}}

workflow pool {{
  param items: list<string> = ["a", "b", "c", "d"]
  task work for each item in items {{
    prompt = "Work on the item."
    agent  = pooled
  }}
}}
"#,
        log = log.display()
    );
    let engines: Vec<std::process::Child> = ["one", "two"]
        .iter()
        .map(|name| {
            let folder = dir.path().join(name);
            std::fs::create_dir_all(&folder).expect("a folder");
            std::fs::write(folder.join("pool.wf"), &file).expect("the workflow");
            std::process::Command::new(env!("CARGO_BIN_EXE_wfc"))
                .args(["run", "pool.wf", "-j", "8", "--backend", &store_url])
                .current_dir(&folder)
                .env_remove("WFC_BACKEND")
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("wfc run")
        })
        .collect();
    for engine in engines {
        let output = engine.wait_with_output().expect("wfc run ends");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let log = std::fs::read_to_string(&log).expect("the sessions' log");
    assert_eq!(
        log.lines().filter(|l| l.starts_with("start")).count(),
        8,
        "{log}"
    );
    assert_eq!(most_at_once(&log), 2, "never more than the pool: {log}");
}

#[test]
fn a_profile_still_waits_after_wfc_is_restarted() {
    use crate::model_server::{ModelServer, Reply, Rule};
    use std::sync::{Arc, Mutex};
    let dir = TempDir::new("wfc-limits-restart");
    let queue = Arc::new(Mutex::new([Reply::UsageLimit(4)].into_iter().collect()));
    let server = ModelServer::start(vec![Rule::new(
        "[[limited]]",
        vec![Reply::Queue(queue, Box::new(Reply::text("All done.")))],
    )]);
    dir.write(
        "limits.wf",
        "agent claude {\n  adapter = \"claude-code\"\n}\n\nworkflow w {\n  task say {\n    prompt = \"[[limited]] Say done.\"\n    agent  = claude\n    env    = { CLAUDE_CODE_MAX_RETRIES = \"0\" }\n  }\n}\n",
    );
    let child = wfc_claude(dir.path(), &server, &["run", "limits.wf"])
        .spawn()
        .expect("wfc starts");
    let started = std::time::Instant::now();
    loop {
        let status = wfc_claude(dir.path(), &server, &["status"])
            .output()
            .expect("status");
        if String::from_utf8_lossy(&status.stdout).contains("waiting: usage limit of claude") {
            break;
        }
        assert!(started.elapsed().as_secs() < 60, "the profile never waited");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Stopped while it waits, as a person would stop it (Ctrl-C, SIGTERM).
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    let stopped = child.wait_with_output().expect("wfc ends");
    assert_eq!(
        stopped.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&stopped.stderr)
    );
    let backend = store(dir.path());
    let id = backend.list_runs().expect("runs")[0].id.clone();
    let resumed = wfc_claude(dir.path(), &server, &["resume", &id])
        .output()
        .expect("resume");
    assert_eq!(
        resumed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    // The attempt after the restart started when the limit reset, not before.
    let events = backend.read_events(&id, 0, 1000).expect("events");
    let until = events
        .iter()
        .find(|e| e.kind == "profile_waiting")
        .and_then(|e| e.data["until"].as_i64())
        .expect("the wait");
    let starts: Vec<i64> = events
        .iter()
        .filter(|e| e.kind == "task_started")
        .map(|e| e.at)
        .collect();
    assert_eq!(starts.len(), 2, "{events:?}");
    assert!(
        starts[1] >= until,
        "started at {} before the reset at {until}",
        starts[1]
    );
}

/// Runs `profile` and one task `t` of it, whose prompt is `[[limited]]`, through `run_wfc`,
/// while the server answers the first requests with limits. Checks that the run succeeded
/// by itself, with `retry` 0: the limited attempts used no retry (each added one attempt to
/// the task's allowance). Returns the `profile_waiting` events' data.
fn limited_then_done(
    dir: &TempDir,
    profile: &str,
    run_wfc: impl Fn(&Path, &[&str]) -> (i32, String),
) -> Vec<Value> {
    dir.write(
        "limited.wf",
        &format!("{profile}\nworkflow w {{\n  task t {{\n    prompt  = \"[[limited]] Say done.\"\n    agent   = cli\n    timeout = 5m\n  }}\n}}\n"),
    );
    let (code, output) = run_wfc(dir.path(), &["run", "limited.wf"]);
    assert_eq!(code, 0, "{output}");
    let backend = store(dir.path());
    let runs = backend.list_runs().expect("runs");
    let tasks = backend.list_tasks(&runs[0].id).expect("tasks");
    let task = &tasks[0];
    let waits: Vec<Value> = backend
        .read_events(&runs[0].id, 0, 10_000)
        .expect("events")
        .into_iter()
        .filter(|e| e.kind == "profile_waiting")
        .map(|e| e.data)
        .collect();
    assert_eq!(task.state, TaskState::Succeeded, "{task:?}\n{output}");
    assert!(!waits.is_empty(), "the profile waited: {output}");
    assert_eq!(
        (task.attempts, task.max_attempts),
        (waits.len() as u32 + 1, waits.len() as u32 + 1),
        "no retry used: {task:?}"
    );
    assert!(waits.iter().all(|w| w["profile"] == "cli"), "{waits:?}");
    waits
}

/// The script of a session whose prompt is `[[limited]]`: the server answers its requests
/// (across sessions) with `limits`, then "All done.".
fn limited_rules(limits: Vec<crate::model_server::Reply>) -> Vec<crate::model_server::Rule> {
    use crate::model_server::{Reply, Rule};
    vec![Rule::new(
        "[[limited]]",
        vec![Reply::queue(limits, Reply::text("All done."))],
    )]
}

fn kinds(waits: &[Value]) -> Vec<&str> {
    waits.iter().filter_map(|w| w["kind"].as_str()).collect()
}

#[test]
fn codex_limits_pause_its_profile_and_the_run_goes_on_by_itself() {
    use crate::model_server::Reply;
    use crate::openai_server::OpenAiServer;
    let dir = TempDir::outside_tmp("wfc-codex-limits");
    let server = OpenAiServer::start(limited_rules(vec![Reply::RateLimited, Reply::Overloaded]));
    let profile = "agent cli {\n  adapter = \"codex\"\n  model   = \"gpt-5-codex\"\n}\n";
    let waits = limited_then_done(&dir, profile, |dir, args| {
        crate::agents_real::wfc_codex(dir, &server, args)
    });
    assert_eq!(kinds(&waits), ["rate_limit", "overloaded"], "{waits:?}");
    assert!(
        waits[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("last status: 429")),
        "Codex's own words: {waits:?}"
    );
    // The session after a limit is told that the attempt before it was interrupted, not
    // that it failed.
    let requests = server.requests();
    let last = crate::openai_server::user_text(requests.last().expect("requests"));
    assert!(
        last.contains("## The previous attempt was interrupted")
            && last.contains("provider limit: overload of cli")
            && !last.contains("The previous attempt failed"),
        "{last}"
    );
}

#[test]
fn gemini_limits_pause_its_profile_and_the_run_goes_on_by_itself() {
    use crate::gemini_server::GeminiServer;
    use crate::model_server::Reply;
    let dir = TempDir::new("wfc-gemini-limits");
    let server = GeminiServer::start(limited_rules(vec![
        Reply::RateLimited,
        Reply::Overloaded,
        Reply::UsageLimit(0),
    ]));
    let profile = "agent cli {\n  adapter = \"gemini\"\n  model   = \"gemini-2.5-pro\"\n}\n";
    let started = now_millis();
    let waits = limited_then_done(&dir, profile, |dir, args| {
        crate::agents_real::wfc_gemini(dir, &server, args)
    });
    assert_eq!(
        kinds(&waits),
        ["rate_limit", "overloaded", "usage_limit"],
        "{waits:?}"
    );
    // The per-minute quota's wait is the second its `RetryInfo` asked for.
    let until = waits[0]["until"].as_i64().expect("until");
    assert!(until - started < 60_000, "{waits:?}");
}

#[test]
fn opencode_limits_pause_its_profile_and_the_run_goes_on_by_itself() {
    use crate::chat_server::ChatServer;
    use crate::model_server::Reply;
    let dir = TempDir::new("wfc-opencode-limits");
    // OpenCode sends a request nine times before it gives up.
    let server = ChatServer::start(limited_rules(vec![Reply::RateLimited; 9]));
    let profile = "agent cli {\n  adapter = \"opencode\"\n  model   = \"scripted/scripted-1\"\n}\n";
    let waits = limited_then_done(&dir, profile, |dir, args| {
        crate::agents_real::wfc_opencode(dir, &server, args)
    });
    assert_eq!(kinds(&waits), ["rate_limit"], "{waits:?}");
    assert_eq!(
        waits[0]["message"],
        "Rate limit reached for requests. Please try again in 1s."
    );
}

#[test]
fn aider_limits_pause_its_profile_and_the_run_goes_on_by_itself() {
    use crate::chat_server::ChatServer;
    use crate::model_server::Reply;
    let dir = TempDir::new("wfc-aider-limits");
    // Aider tries nine times, its OpenAI client three times each, waiting about a minute in
    // all, before it gives up.
    let server = ChatServer::start_for_text_edits(limited_rules(vec![Reply::RateLimited; 27]));
    let profile = crate::agents_real::AIDER_PROFILE.replace("agent aider", "agent cli");
    let waits = limited_then_done(&dir, &profile, |dir, args| {
        crate::agents_real::wfc_aider(dir, &server, args)
    });
    assert_eq!(kinds(&waits), ["rate_limit"], "{waits:?}");
    // Its wait is the one the provider's words asked for, not a backoff.
    assert!(
        waits[0]["seconds"].as_f64().is_some_and(|s| s <= 1.0),
        "{waits:?}"
    );
}
