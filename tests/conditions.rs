//! Outcome conditions and result-driven `when` (issue 16), through the real `wfc` binary,
//! real processes and a real SQLite store: a task after `build (failed)` or `build (always)`
//! runs or is skipped as the build ends, and a `when` on an upstream's JSON output decides
//! at run time whether its task runs.

use crate::support::{run_id, task_status, wfc, TempDir};

/// A workflow whose `build` runs `build_command`, with a diagnosis after its failure, a
/// cleanup after it however it ends, and a report after the diagnosis.
fn handlers(build_command: &str) -> String {
    format!(
        r#"workflow ci {{
  task build {{
    run = "{build_command}"
  }}
  task diagnose after build (failed) {{
    run = "echo diagnosed > diagnosis.txt"
  }}
  task cleanup after build (always) {{
    run = "echo cleaned > cleanup.txt"
  }}
  task report after diagnose {{
    run = "echo reported > report.txt"
  }}
}}
"#
    )
}

/// The state of task `task` of run `run`, as `wfc status --json` shows it.
fn state(dir: &std::path::Path, run: &str, task: &str) -> String {
    task_status(dir, run, task)["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_diagnosis_after_a_failing_build_runs_and_the_run_still_fails() {
    let dir = TempDir::new("wfc-conditions-failed");
    dir.write("ci.wf", &handlers("echo broken; exit 3"));
    let run = wfc(dir.path(), &["run", "ci.wf"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let id = run_id(&run.stdout);
    assert_eq!(state(dir.path(), &id, "build"), "failed");
    assert_eq!(state(dir.path(), &id, "diagnose"), "succeeded");
    assert_eq!(state(dir.path(), &id, "cleanup"), "succeeded");
    assert_eq!(state(dir.path(), &id, "report"), "succeeded");
    for file in ["diagnosis.txt", "cleanup.txt", "report.txt"] {
        assert!(dir.path().join(file).exists(), "{file} was not written");
    }
    let status = wfc(dir.path(), &["status", &id, "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).expect("JSON");
    assert_eq!(
        status["run"]["state"], "failed",
        "a handled failure is still a failure"
    );
}

#[test]
fn a_failure_handler_is_skipped_after_a_success_and_shown_as_skipped() {
    let dir = TempDir::new("wfc-conditions-skipped");
    dir.write("ci.wf", &handlers("echo built"));
    let run = wfc(dir.path(), &["run", "ci.wf"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "↷ diagnose skipped: `after build (failed)` does not hold: `build` succeeded"
        ),
        "{}",
        run.stdout
    );
    let id = run_id(&run.stdout);
    let diagnose = task_status(dir.path(), &id, "diagnose");
    assert_eq!(diagnose["state"], "skipped");
    assert_eq!(diagnose["attempts"], 0, "a skip is no attempt: {diagnose}");
    let shown = wfc(dir.path(), &["show", &id, "diagnose"]);
    assert!(
        shown.stdout.contains("skipped (0 attempts of 1 started)")
            && shown.stdout.contains("after     build (failed)")
            && shown.stdout.contains("no attempt has started"),
        "{}",
        shown.stdout
    );
    // The cleanup ran after the success; the report after the skipped diagnosis ran too.
    assert_eq!(state(dir.path(), &id, "cleanup"), "succeeded");
    assert_eq!(state(dir.path(), &id, "report"), "succeeded");
    assert!(!dir.path().join("diagnosis.txt").exists());
    assert!(dir.path().join("cleanup.txt").exists());
    assert!(dir.path().join("report.txt").exists());
    let status = wfc(dir.path(), &["status", &id]);
    assert!(
        status
            .stdout
            .lines()
            .any(|l| l.starts_with("diagnose") && l.contains("skipped")),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("4 tasks: 3 succeeded, 1 skipped"),
        "{}",
        status.stdout
    );
    let graph = wfc(dir.path(), &["graph", &id]);
    assert!(
        graph.stdout.contains("↷ diagnose  skipped"),
        "{}",
        graph.stdout
    );
    let plan = wfc(dir.path(), &["plan", "ci.wf"]);
    assert!(
        plan.stdout.contains("after:   build (failed)")
            && plan.stdout.contains("after:   build (always)"),
        "{}",
        plan.stdout
    );
}

#[test]
fn a_cleanup_after_a_task_that_never_ran_runs_once_nothing_else_can() {
    // `test` waits for `build`, which fails: `test` can never run, so a cleanup after
    // `test (always)` runs, and a handler after `test (failed)` too.
    let dir = TempDir::new("wfc-conditions-doomed");
    dir.write(
        "ci.wf",
        r#"workflow ci {
  task build {
    run = "exit 1"
  }
  task test after build {
    run = "echo tested > tested.txt"
  }
  task cleanup after test (always) {
    run = "echo cleaned > cleanup.txt"
  }
  task notify after test (failed) {
    run = "echo notified > notify.txt"
  }
}
"#,
    );
    let run = wfc(dir.path(), &["run", "ci.wf"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let id = run_id(&run.stdout);
    assert_eq!(state(dir.path(), &id, "test"), "pending");
    assert_eq!(state(dir.path(), &id, "cleanup"), "succeeded");
    assert_eq!(state(dir.path(), &id, "notify"), "succeeded");
    assert!(!dir.path().join("tested.txt").exists());
    assert!(dir.path().join("cleanup.txt").exists());
    assert!(dir.path().join("notify.txt").exists());
}

/// A workflow whose `review` prints the JSON in `review.json`, with a fix when its verdict
/// asks for changes, a warning when it is risky, and a summary after both.
const REVIEWED: &str = r#"workflow reviewed {
  task review {
    run    = "cat review.json"
    output: { verdict: enum("approve", "changes"), risky: bool }
  }
  task fix after review when review.output.verdict == "changes" {
    run = "echo fixed > fix.txt"
  }
  task warn after review when review.output.risky && !(review.output.verdict == "approve") {
    run = "echo warned > warn.txt"
  }
  task summary after fix, warn {
    run = "echo summarised > summary.txt"
  }
}
"#;

#[test]
fn a_when_on_a_command_s_json_output_decides_at_run_time() {
    for (json, fix, warn) in [
        (r#"{"verdict": "changes", "risky": false}"#, true, false),
        (r#"{"verdict": "approve", "risky": true}"#, false, false),
        (r#"{"verdict": "changes", "risky": true}"#, true, true),
    ] {
        let dir = TempDir::new("wfc-conditions-when");
        dir.write("reviewed.wf", REVIEWED);
        dir.write("review.json", json);
        let run = wfc(dir.path(), &["run", "reviewed.wf"]);
        assert_eq!(run.code, 0, "{json}: {}{}", run.stdout, run.stderr);
        let id = run_id(&run.stdout);
        for (task, runs) in [("fix", fix), ("warn", warn)] {
            let expected = if runs { "succeeded" } else { "skipped" };
            assert_eq!(state(dir.path(), &id, task), expected, "{task} for {json}");
            assert_eq!(dir.path().join(format!("{task}.txt")).exists(), runs);
        }
        assert_eq!(state(dir.path(), &id, "summary"), "succeeded", "{json}");
        if !fix {
            let skipped = task_status(dir.path(), &id, "fix");
            assert_eq!(
                skipped["result"],
                r#"`when review.output.verdict == "changes"` is false"#
            );
        }
    }
}

#[test]
fn the_checker_types_a_when_on_outputs_and_requires_its_task_upstream() {
    let dir = TempDir::new("wfc-conditions-check");
    dir.write(
        "bad.wf",
        r#"workflow bad {
  task count {
    run    = "echo 3"
    output: { n: int }
  }
  task typed after count when count.output.n {
    run = "true"
  }
  task unordered when count.output.n == 3 {
    run = "true"
  }
}
"#,
    );
    let check = wfc(dir.path(), &["check", "bad.wf"]);
    assert_eq!(check.code, 1, "{}{}", check.stdout, check.stderr);
    let text = format!("{}{}", check.stdout, check.stderr);
    assert!(text.contains("wf::type"), "{text}");
    assert!(text.contains("wf::not-upstream"), "{text}");
    assert!(
        text.contains("`count` is not upstream of `unordered`"),
        "{text}"
    );
}

#[test]
fn the_formatter_keeps_outcome_conditions() {
    let dir = TempDir::new("wfc-conditions-fmt");
    let written = handlers("true").replace("after build (failed)", "after build   (failed)");
    dir.write("ci.wf", &written);
    let formatted = wfc(dir.path(), &["fmt", "ci.wf"]);
    assert_eq!(formatted.code, 0, "{}", formatted.stderr);
    let text = std::fs::read_to_string(dir.path().join("ci.wf")).expect("the file");
    assert_eq!(text, handlers("true"));
    let again = wfc(dir.path(), &["fmt", "--check", "ci.wf"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
}

#[test]
fn a_run_stopped_between_a_failure_and_its_handlers_runs_them_when_resumed() {
    use wfc::backends::SqliteBackend;
    use wfc::runtime::{lifecycle::TaskReset, TaskBackend};
    let dir = TempDir::new("wfc-conditions-resume");
    dir.write("ci.wf", &handlers("exit 3"));
    let run = wfc(dir.path(), &["run", "ci.wf"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let id = run_id(&run.stdout);
    for file in ["diagnosis.txt", "cleanup.txt", "report.txt"] {
        std::fs::remove_file(dir.path().join(file)).expect("written by the first run");
    }
    // Puts the store back as an engine killed right after `build` failed leaves it: the
    // handlers pending, still waiting for `build` in the stored plan, the run going on.
    let store = SqliteBackend::open(&dir.path().join(".wfc/state.db")).expect("the store");
    let mut plan = store.get_run(&id).expect("run").plan;
    for task in &mut plan.tasks {
        for outcome in task.outcomes.clone() {
            if !task.deps.contains(&outcome.task) {
                task.deps.push(outcome.task);
            }
        }
    }
    assert_eq!(plan.task("diagnose").expect("diagnose").deps, ["build"]);
    let resets: Vec<TaskReset> = ["diagnose", "cleanup", "report"]
        .iter()
        .map(|id| TaskReset {
            id: id.to_string(),
            retry: 0,
            why: None,
        })
        .collect();
    store.reset_tasks(&id, &resets, 1).expect("reset");
    let stored = plan.clone();
    store
        .replan_run(&id, &plan, &mut |_, records| {
            Ok(stored
                .tasks
                .iter()
                .map(|spec| {
                    let record = records.iter().find(|r| r.key.task == spec.id);
                    record.expect("a record").clone()
                })
                .collect())
        })
        .expect("the plan as it was");
    assert_eq!(state(dir.path(), &id, "diagnose"), "pending");
    drop(store);
    let resumed = wfc(dir.path(), &["resume", &id]);
    assert_eq!(resumed.code, 1, "{}{}", resumed.stdout, resumed.stderr);
    for task in ["diagnose", "cleanup", "report"] {
        assert_eq!(state(dir.path(), &id, task), "succeeded", "{task}");
    }
    let build = task_status(dir.path(), &id, "build");
    assert_eq!(build["state"], "failed");
    assert_eq!(build["attempts"], 1, "the build did not run again: {build}");
    for file in ["diagnosis.txt", "cleanup.txt", "report.txt"] {
        assert!(
            dir.path().join(file).exists(),
            "{file} was not written again"
        );
    }
}

#[test]
fn outcome_conditions_and_a_when_on_outputs_run_alike_on_postgres() {
    let schemas = crate::postgres::Schemas::new("conditions");
    let url = schemas.url();
    let dir = TempDir::new("wfc-conditions-postgres");
    dir.write("ci.wf", &handlers("exit 3"));
    dir.write("reviewed.wf", REVIEWED);
    dir.write("review.json", r#"{"verdict": "approve", "risky": true}"#);
    // Runs wfc with `args` on the schema's store.
    let on_postgres = |args: &[&str]| {
        let args = [args, &["--backend", url.as_str()][..]].concat();
        wfc(dir.path(), &args)
    };
    let states = |id: &str| -> serde_json::Value {
        let status = on_postgres(&["status", id, "--json"]);
        let status: serde_json::Value = serde_json::from_str(&status.stdout).expect("JSON");
        status["tasks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| {
                (
                    t["key"]["task"].as_str().unwrap_or("").to_string(),
                    t["state"].clone(),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let failed = on_postgres(&["run", "ci.wf"]);
    assert_eq!(failed.code, 1, "{}{}", failed.stdout, failed.stderr);
    assert_eq!(
        states(&run_id(&failed.stdout)),
        serde_json::json!({
            "build": "failed", "diagnose": "succeeded", "cleanup": "succeeded", "report": "succeeded"
        })
    );
    let reviewed = on_postgres(&["run", "reviewed.wf"]);
    assert_eq!(reviewed.code, 0, "{}{}", reviewed.stdout, reviewed.stderr);
    assert_eq!(
        states(&run_id(&reviewed.stdout)),
        serde_json::json!({
            "review": "succeeded", "fix": "skipped", "warn": "skipped", "summary": "succeeded"
        })
    );
}

#[test]
fn in_a_run_isolated_in_git_the_work_after_a_skipped_task_builds_on_what_it_waited_for() {
    let (_dir, repo) = crate::isolation_run::repo(
        "wfc-conditions-git",
        r#"workflow ci {
  task build {
    run = "echo built > built.txt"
  }
  task diagnose after build (failed) {
    run = "echo diagnosed > diagnosis.txt"
  }
  task report after diagnose {
    run = "echo reported > report.txt"
  }
}
"#,
    );
    let run = wfc(&repo, &["run", "w.wf", "--isolation", "git"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let id = run_id(&run.stdout);
    assert_eq!(state(&repo, &id, "diagnose"), "skipped");
    let branch = format!("wfc/{id}");
    let files = crate::support::git(&repo, &["ls-tree", "--name-only", &branch]);
    let files: Vec<&str> = files.lines().collect();
    assert!(
        files.contains(&"built.txt") && files.contains(&"report.txt"),
        "{files:?}"
    );
    assert!(!files.contains(&"diagnosis.txt"), "{files:?}");
}

#[test]
fn a_task_waiting_for_a_failure_is_let_go_of_whatever_the_plan_s_order() {
    use wfc::plan::condition::{Outcome, OutcomeDep};
    use wfc::runtime::{lifecycle::resolve_outcomes, TaskKey, TaskRecord, TaskState};
    // `cleanup` waits for `test (always)`; `test` waits for `build`, listed after it, as an
    // expanded fan-out's instances come after the tasks that wait for them.
    let mut plan = crate::backend_contract::plan(&[
        ("cleanup", &["test"], 0),
        ("test", &["build"], 0),
        ("build", &[], 0),
    ]);
    plan.tasks[0].outcomes = vec![OutcomeDep {
        task: "test".into(),
        on: Outcome::Always,
    }];
    let records = |build: TaskState| -> Vec<TaskRecord> {
        [
            ("cleanup", TaskState::Pending),
            ("test", TaskState::Pending),
            ("build", build),
        ]
        .into_iter()
        .map(|(id, state)| TaskRecord {
            state,
            ..TaskRecord::new(TaskKey::new("r", id), 0)
        })
        .collect()
    };
    assert_eq!(resolve_outcomes(&plan, &records(TaskState::Running)), None);
    let resolved = resolve_outcomes(&plan, &records(TaskState::Failed)).expect("let go");
    assert!(resolved.tasks[0].deps.is_empty());
    assert_eq!(resolved.tasks[1].deps, ["build"]);
    assert_eq!(
        resolve_outcomes(&resolved, &records(TaskState::Failed)),
        None
    );
}

#[test]
fn an_outcome_of_a_used_workflow_that_fans_out_at_run_time_is_refused_before_the_run() {
    let dir = TempDir::new("wfc-conditions-use-fan");
    dir.write(
        "inner.wf",
        "workflow inner {\n  task plan {\n    output: list<string>\n    run = \"echo '[\\\"a\\\"]'\"\n  }\n  task impl for each s in plan.output after plan {\n    run = \"echo {{ s }}\"\n  }\n}\n",
    );
    dir.write(
        "outer.wf",
        "import \"./inner.wf\" as m\nworkflow outer {\n  use m.inner() as u\n  task diagnose after u (failed) {\n    run = \"echo diag\"\n  }\n}\n",
    );
    let run = wfc(dir.path(), &["run", "outer.wf"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stderr.contains(
            "`diagnose` waits for the outcome of `u.impl[*]`, which fans out when its list is known"
        ),
        "{}",
        run.stderr
    );
    assert!(!dir.path().join(".wfc").exists(), "nothing was stored");
}
