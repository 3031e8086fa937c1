//! Workflows that react (issue 16): typed task outputs, checked when an attempt ends and read
//! by the tasks after it, through the real `wfc` binary, real processes and a real store.

use crate::agents::{only_run, read, script, task, wfc as claude_wfc};
use crate::model_server::{ModelServer, Reply, Rule};
use crate::support::{run_id, task_status, wfc, wfc_with_env, TempDir};
use serde_json::{json, Value};
use wfc::backends::SqliteBackend;
use wfc::runtime::TaskBackend;

/// The data of the events of `kind` about `task` in run `run`, in order.
fn events(dir: &std::path::Path, run: &str, kind: &str, task: &str) -> Vec<Value> {
    let store = SqliteBackend::open(&dir.join(".wfc/state.db")).expect("the store");
    store
        .read_events(run, 0, 100_000)
        .expect("events")
        .into_iter()
        .filter(|e| e.kind == kind && e.task.as_deref() == Some(task))
        .map(|e| e.data)
        .collect()
}

#[test]
fn a_command_s_json_output_is_checked_stored_and_read_by_the_tasks_after_it() {
    let dir = TempDir::new("wfc-dynamic-output");
    // The steps hold a space, a quote and a leading dash: each reaches the command as data.
    dir.write(
        "plan.json",
        r#"{"steps": ["a b", "-n", "it's"], "risky": true, "extra": "dropped"}"#,
    );
    dir.write(
        "typed.wf",
        r#"workflow typed {
  task plan {
    run    = "cat plan.json"
    output: { steps: list<string>, risky: bool }
  }
  task consume after plan {
    run = "printf '%s\n' {{ plan.output.steps | json }} {{ plan.output.risky }} > got.txt"
  }
}
"#,
    );
    let planned = wfc(dir.path(), &["plan", "typed.wf"]);
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    assert!(
        planned
            .stdout
            .contains("output:  { steps: list<string>, risky: bool }"),
        "{}",
        planned.stdout
    );
    assert!(
        planned.stdout.contains("<output.steps of plan>"),
        "{}",
        planned.stdout
    );
    let run = wfc(dir.path(), &["run", "typed.wf"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        read(dir.path(), "got.txt"),
        "[\"a b\",\"-n\",\"it's\"]\ntrue\n"
    );
    let (_, tasks) = only_run(dir.path());
    let stored: Value = serde_json::from_str(
        task(&tasks, "plan")
            .typed_output
            .as_deref()
            .expect("stored"),
    )
    .expect("JSON");
    assert_eq!(
        stored,
        json!({"steps": ["a b", "-n", "it's"], "risky": true}),
        "the fields the type does not name are left out"
    );
    assert_eq!(task(&tasks, "consume").typed_output, None);
}

#[test]
fn an_output_that_does_not_fit_fails_the_attempt_and_the_retry_is_told_why() {
    let dir = TempDir::new("wfc-dynamic-retry");
    // The first attempt prints a list where a record is expected; the second, told why by
    // WF_PREVIOUS_ERROR, prints what fits.
    dir.write(
        "plan.sh",
        "if [ -e tried ]; then\n  printf '%s' \"$WF_PREVIOUS_ERROR\" > told.txt\n  echo '{\"steps\": [\"x\"]}'\nelse\n  touch tried\n  echo '{\"steps\": \"x\"}'\nfi\n",
    );
    dir.write(
        "retry.wf",
        "workflow retry {\n  task plan {\n    run    = \"sh plan.sh\"\n    retry  = 1\n    output: { steps: list<string> }\n  }\n}\n",
    );
    let run = wfc(dir.path(), &["run", "retry.wf"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let told = read(dir.path(), "told.txt");
    assert!(
        told.contains("at $.steps: expected a list (a JSON array), got a string \"x\""),
        "{told}"
    );
    let id = run_id(&run.stdout);
    let retrying = events(dir.path(), &id, "task_retrying", "plan");
    assert_eq!(retrying.len(), 1, "{retrying:?}");
    assert!(
        retrying[0]["error"]
            .as_str()
            .unwrap_or("")
            .contains("$.steps"),
        "{retrying:?}"
    );
    let (_, tasks) = only_run(dir.path());
    assert_eq!(
        task(&tasks, "plan").typed_output.as_deref(),
        Some(r#"{"steps":["x"]}"#)
    );
}

#[test]
fn an_output_that_never_fits_fails_the_task_with_the_validation_error() {
    let dir = TempDir::new("wfc-dynamic-never");
    dir.write(
        "never.wf",
        "workflow never {\n  task judge {\n    run    = \"echo maybe\"\n    output: enum(\"approve\", \"changes\")\n  }\n  task after_it after judge {\n    run = \"touch ran\"\n  }\n}\n",
    );
    let run = wfc(dir.path(), &["run", "never.wf"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    let (_, tasks) = only_run(dir.path());
    let error = task(&tasks, "judge").last_error.clone().unwrap_or_default();
    assert!(
        error.contains("the answer holds no JSON value")
            && error.contains(r#"enum("approve", "changes")"#),
        "{error}"
    );
    assert!(!dir.path().join("ran").exists(), "nothing after it ran");
    // A JSON value that is not one of the enum's is named with what was expected.
    dir.write(
        "never.wf",
        "workflow never {\n  task judge {\n    run    = \"echo '\\\"maybe\\\"'\"\n    output: enum(\"approve\", \"changes\")\n  }\n}\n",
    );
    let run = wfc(dir.path(), &["run", "never.wf"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    let status = wfc(dir.path(), &["status", &run_id(&run.stdout)]);
    assert!(
        status
            .stdout
            .contains(r#"at $: expected one of "approve", "changes", got a string "maybe""#),
        "{}",
        status.stdout
    );
}

#[test]
fn an_agent_is_asked_for_its_output_and_its_retry_is_told_what_did_not_fit() {
    let dir = TempDir::new("wfc-dynamic-agent");
    // A stand-in for `claude` that records each prompt, answers in prose first and with a
    // fenced JSON block the second time.
    let fake = script(
        &dir,
        "fake-claude",
        &format!(
            "#!/bin/sh\ncd {}\nn=$(ls prompt-*.txt 2>/dev/null | wc -l)\nn=$((n + 1))\ncat > prompt-$n.txt\nprintf '%s\\n' '{{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s-1\",\"model\":\"m\"}}'\nif [ $n -eq 1 ]; then\n  answer='I would do a, then b.'\nelse\n  answer='Here is the plan:\\n```json\\n{{\\\"steps\\\": [\\\"a\\\", \\\"b\\\"]}}\\n```'\nfi\nprintf '{{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"result\":\"%s\",\"session_id\":\"s-1\",\"permission_denials\":[]}}\\n' \"$answer\"\n",
            dir.path().display()
        ),
    );
    dir.write(
        "agent.wf",
        &format!(
            "agent claude {{\n  adapter = \"claude-code\"\n  bin = \"{fake}\"\n}}\n\nworkflow w {{\n  task plan {{\n    prompt = \"Plan the change.\"\n    agent  = claude\n    retry  = 1\n    output: {{ steps: list<string> }}\n  }}\n  task build after plan {{\n    run = \"printf '%s' {{{{ plan.output.steps | json }}}} > steps.txt\"\n  }}\n}}\n"
        ),
    );
    let run = wfc_with_env(
        dir.path(),
        &["run", "agent.wf"],
        &[("ANTHROPIC_API_KEY", "sk-ant-test-0")],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let first = read(dir.path(), "prompt-1.txt");
    assert!(
        first.contains("## Output") && first.contains("`{ steps: list<string> }`"),
        "{first}"
    );
    assert!(first.contains("\"required\""), "the JSON Schema: {first}");
    let second = read(dir.path(), "prompt-2.txt");
    assert!(
        second.contains("## The previous attempt failed")
            && second.contains("the answer holds no JSON value"),
        "{second}"
    );
    assert_eq!(read(dir.path(), "steps.txt"), r#"["a","b"]"#);
}

/// A workflow whose `plan` prints `steps` (JSON) and whose `implement` runs once per step,
/// each instance appending its step to `ran.txt` after `pause` seconds, with `review` after
/// all of them; `extra` goes into `implement`'s block.
fn fan_out_workflow(steps: &str, pause: &str, extra: &str) -> String {
    format!(
        r#"workflow fan {{
  task plan {{
    run    = "echo x >> plan-ran.txt; cat steps.json"
    output: {{ steps: list<string> }}
  }}
  task implement for each step in plan.output.steps after plan {{
    run = "sleep {pause}; printf '%s\n' {{{{ step }}}} >> ran.txt; echo did {{{{ step }}}}"
    {extra}
  }}
  task review after implement {{
    run = "printf '%s\n' {{{{ implement.result | json }}}} > review.txt"
  }}
}}
"#
    )
    .replace("STEPS", steps)
}

fn lines(dir: &std::path::Path, name: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join(name))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_fan_out_over_a_plan_s_steps_runs_one_instance_each_and_then_what_waits_for_them() {
    // The same run in each kind of store; Postgres keeps the expansion's contract in
    // tests/backend_contract.rs.
    for backend in ["sqlite", "memory", "beads"] {
        let dir = match backend {
            "beads" => crate::beads::store("wfc-dynamic-fan"),
            _ => TempDir::new("wfc-dynamic-fan"),
        };
        dir.write("steps.json", r#"{"steps": ["a", "b", "c d"]}"#);
        dir.write("fan.wf", &fan_out_workflow("", "0", ""));
        let planned = wfc(dir.path(), &["plan", "fan.wf"]);
        assert!(
            planned
                .stdout
                .contains("expands: implement[*] ← plan.output.steps at run time (at most 100)"),
            "{}",
            planned.stdout
        );
        let graph = wfc(dir.path(), &["graph", "fan.wf"]);
        assert!(
            graph.stdout.contains("implement ×N ← plan.output.steps"),
            "{}",
            graph.stdout
        );
        let store = match backend {
            "memory" => "memory:".to_string(),
            "beads" => crate::beads::backend_url(dir.path()),
            _ => format!("sqlite:{}", dir.path().join("state.db").display()),
        };
        let run = wfc_with_env(dir.path(), &["run", "fan.wf"], &[("WFC_BACKEND", &store)]);
        assert_eq!(run.code, 0, "{backend}: {}{}", run.stdout, run.stderr);
        let mut ran = lines(dir.path(), "ran.txt");
        ran.sort();
        assert_eq!(
            ran,
            ["a", "b", "c d"],
            "{backend}: each instance sees its element"
        );
        // The instances are named by element, or by index when one is not a simple word.
        for id in ["implement[0]", "implement[1]", "implement[2]"] {
            assert!(run.stdout.contains(id), "{backend}: {id} in {}", run.stdout);
        }
        // `review` ran after all three and read each instance's result.
        let review = read(dir.path(), "review.txt");
        for element in ["did a", "did b", "did c d"] {
            assert!(review.contains(element), "{backend}: {review}");
        }
        if backend == "sqlite" {
            let id = run_id(&run.stdout);
            let status = wfc_with_env(dir.path(), &["status", &id], &[("WFC_BACKEND", &store)]);
            for row in ["implement[*]", "implement[0]", "implement[2]", "review"] {
                assert!(status.stdout.contains(row), "{}", status.stdout);
            }
            let shown = wfc_with_env(
                dir.path(),
                &["show", &id, "implement[*]"],
                &[("WFC_BACKEND", &store)],
            );
            assert!(
                shown
                    .stdout
                    .contains("expanded to 3 task(s): implement[0], implement[1], implement[2]"),
                "{}{}",
                shown.stdout,
                shown.stderr
            );
        }
    }
}

#[test]
fn an_expanded_run_is_retried_instance_by_instance_and_its_file_is_not_called_changed() {
    let dir = TempDir::new("wfc-dynamic-retry");
    dir.write("steps.json", r#"{"steps": ["a", "b"]}"#);
    dir.write("fan.wf", &fan_out_workflow("", "0", ""));
    let first = wfc(dir.path(), &["run", "fan.wf"]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let run = run_id(&first.stdout);
    // Running the plan again would need the expansion taken back: refused, nothing changed.
    let refused = wfc(dir.path(), &["retry", &run, "plan", "--from"]);
    assert_ne!(refused.code, 0, "{}", refused.stdout);
    assert!(
        refused
            .stderr
            .contains("`implement[*]` was expanded into tasks of this run, and a retry cannot take an expansion back yet"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        lines(dir.path(), "plan-ran.txt").len(),
        1,
        "plan did not run again"
    );
    for id in [
        "plan",
        "implement[*]",
        "implement[a]",
        "implement[b]",
        "review",
    ] {
        assert_eq!(
            task_status(dir.path(), &run, id)["state"],
            "succeeded",
            "{id}"
        );
    }
    // One instance and what follows it run again; the unchanged file is not reported as
    // changed although the run's plan holds the instances the file does not name.
    let again = wfc(dir.path(), &["retry", &run, "implement[b]", "--from"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    let said = format!("{}{}", again.stdout, again.stderr);
    assert!(
        !said.contains("has changed since the run started"),
        "{said}"
    );
    // The two instances of the first run ran in either order; the retry ran `b` alone.
    let ran = lines(dir.path(), "ran.txt");
    let mut first_two = ran[..2].to_vec();
    first_two.sort();
    assert_eq!(
        (first_two.as_slice(), &ran[2..]),
        (
            &["a".to_string(), "b".to_string()][..],
            &["b".to_string()][..]
        ),
        "{ran:?}"
    );
}

#[test]
fn an_empty_list_fans_out_to_nothing_and_a_list_over_the_bound_fails_the_template() {
    let dir = TempDir::new("wfc-dynamic-bounds");
    dir.write("steps.json", r#"{"steps": []}"#);
    dir.write("fan.wf", &fan_out_workflow("", "0", "max = 2"));
    let run = wfc(dir.path(), &["run", "fan.wf"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(lines(dir.path(), "ran.txt").is_empty());
    assert_eq!(
        read(dir.path(), "review.txt"),
        "\n",
        "review ran after nothing, reading no result"
    );
    std::fs::remove_file(dir.path().join("review.txt")).expect("remove");
    dir.write("steps.json", r#"{"steps": ["a", "b", "c"]}"#);
    let run = wfc(dir.path(), &["run", "fan.wf"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    let template = task_status(dir.path(), &run_id(&run.stdout), "implement[*]");
    assert_eq!(template["state"], "failed", "{template}");
    assert_eq!(
        template["last_error"],
        "`plan.output.steps` holds 3 elements, more than the 2 this fan-out may make (`max = 2`); nothing was expanded"
    );
    assert!(lines(dir.path(), "ran.txt").is_empty(), "no instance ran");
    assert!(
        !dir.path().join("review.txt").exists(),
        "nor what waits for them"
    );
}

#[test]
fn a_run_killed_after_its_expansion_resumes_with_the_same_instances_once() {
    let dir = TempDir::new("wfc-dynamic-kill");
    dir.write("steps.json", r#"{"steps": ["one", "two", "three"]}"#);
    dir.write("fan.wf", &fan_out_workflow("", "0.4", ""));
    // Kill -9 as soon as the expansion is stored, before any instance has finished.
    let seen = crate::support::kill_run_once_task_exists(
        dir.path(),
        "fan.wf",
        "implement[one]",
        std::time::Duration::from_secs(20),
    );
    let run = seen.expect("no expansion seen");
    let store = SqliteBackend::open_with(
        &dir.path().join(".wfc/state.db"),
        wfc::backends::sqlite::Access::Read,
    )
    .expect("store");
    let before = store.get_run(&run).expect("run").plan;
    let ids = |plan: &wfc::plan::Plan| -> Vec<String> {
        plan.tasks.iter().map(|t| t.id.clone()).collect()
    };
    let expanded = [
        "plan",
        "implement[*]",
        "implement[one]",
        "implement[two]",
        "implement[three]",
        "review",
    ];
    assert_eq!(ids(&before), expanded);
    assert!(
        lines(dir.path(), "ran.txt").len() < 3,
        "killed before every instance finished"
    );
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    let resumed = wfc(dir.path(), &["resume", &run]);
    assert_eq!(resumed.code, 0, "{}{}", resumed.stdout, resumed.stderr);
    let store = SqliteBackend::open(&dir.path().join(".wfc/state.db")).expect("store");
    assert_eq!(
        ids(&store.get_run(&run).expect("run").plan),
        expanded,
        "the same instances, each once"
    );
    // The expansion and the template's success are one transaction; its event goes to the
    // log in the engine's next batch, which a kill -9 at that moment loses. So the store, not
    // the log, says it expanded once; the log may not say it twice.
    assert_eq!(
        store
            .get_task(&wfc::runtime::TaskKey::new(&run, "implement[*]"))
            .expect("template")
            .state,
        wfc::runtime::TaskState::Succeeded
    );
    let expansions = events(dir.path(), &run, "task_succeeded", "implement[*]");
    assert!(expansions.len() <= 1, "expanded once: {expansions:?}");
    assert_eq!(lines(dir.path(), "plan-ran.txt").len(), 1, "plan ran once");
    let mut ran = lines(dir.path(), "ran.txt");
    ran.sort();
    ran.dedup();
    assert_eq!(ran, ["one", "three", "two"]);
    assert!(read(dir.path(), "review.txt").contains("did three"));
}

#[test]
fn claude_code_returns_a_plan_whose_steps_fan_out_to_one_session_each() {
    let dir = TempDir::new("wfc-dynamic-claude");
    let server = ModelServer::start(vec![
        // The plan comes through the CLI's structured output (`--json-schema`), its text
        // holding no JSON at all.
        Rule::new(
            "[[plan]]",
            vec![
                Reply::tool("StructuredOutput", json!({"steps": ["alpha", "beta"]})),
                Reply::text("Two steps will do."),
            ],
        ),
        Rule::new("[[implement]]", vec![Reply::text("implemented")]),
    ]);
    dir.write(
        "plan.wf",
        r#"agent claude {
  adapter   = "claude-code"
  model     = "claude-sonnet-4-5"
  max_turns = 4
}

workflow plan_and_build {
  defaults {
    agent   = claude
    timeout = 2m
  }
  task plan {
    prompt = "[[plan]] Plan the change as steps."
    output: { steps: list<string> }
  }
  task implement for each step in plan.output.steps after plan {
    prompt = """
      [[implement]] Implement this step:
      {{ step }}
      """
  }
  task review after implement {
    run = "printf '%s\n' {{ plan.output.steps | json }} {{ implement.result | json }} > review.txt"
  }
}
"#,
    );
    let (code, output) = claude_wfc(dir.path(), Some(&server), &["run", "plan.wf"]);
    assert_eq!(code, 0, "{output}");
    let review = read(dir.path(), "review.txt");
    assert!(review.starts_with("[\"alpha\",\"beta\"]\n"), "{review}");
    assert!(
        review.contains("implement[alpha]") && review.contains("implement[beta]"),
        "{review}"
    );
    let requests: Vec<String> = server
        .session_requests()
        .iter()
        .map(Value::to_string)
        .collect();
    let plan = requests
        .iter()
        .find(|r| r.contains("[[plan]]"))
        .expect("the plan session");
    assert!(
        plan.contains("## Output"),
        "the plan session is asked for its output"
    );
    for step in ["alpha", "beta"] {
        assert_eq!(
            requests
                .iter()
                .filter(|r| r.contains("[[implement]]") && r.contains(step))
                .count(),
            1,
            "one session implements {step}"
        );
    }
    let (_, tasks) = only_run(dir.path());
    assert_eq!(
        task(&tasks, "plan").typed_output.as_deref(),
        Some(r#"{"steps":["alpha","beta"]}"#)
    );
    // The CLI's result is the structured answer itself, once.
    let text = task(&tasks, "plan").result.clone().unwrap_or_default();
    assert_eq!(text.matches("alpha").count(), 1, "{text}");
}

#[test]
fn a_postgres_store_of_schema_version_1_gains_the_typed_output_column() {
    use wfc::backends::{Access, PostgresBackend};
    let schemas = crate::postgres::Schemas::new("typed");
    let url = schemas.url();
    drop(PostgresBackend::open(&url, Access::Create).expect("a store"));
    // What a store made before typed outputs looks like.
    let schema = url.rsplit("schema=").next().expect("a schema");
    crate::postgres::admin(&format!(
        "ALTER TABLE \"{schema}\".tasks DROP COLUMN typed_output; \
         DELETE FROM \"{schema}\".wfc_schema; \
         INSERT INTO \"{schema}\".wfc_schema (version) VALUES (1);"
    ));
    let store = PostgresBackend::open(&url, Access::Write).expect("opened and migrated");
    let plan = crate::backend_contract::plan(&[("a", &[], 0)]);
    store.create_run("r", &plan, None, 1_000).expect("run");
    store.create_tasks("r", &plan).expect("tasks");
    let key = wfc::runtime::TaskKey::new("r", "a");
    store
        .claim_task(&key, "w", 2_000, 10_000)
        .expect("claim")
        .expect("won");
    let done = wfc::runtime::lifecycle::Completion {
        commit: None,
        typed_output: Some("[1,2]"),
    };
    store.finish_task(&key, "w", "", done, 2_001).expect("done");
    assert_eq!(
        store.get_task(&key).expect("task").typed_output.as_deref(),
        Some("[1,2]")
    );
    // Opened again, it is at the current version and is not migrated twice.
    drop(PostgresBackend::open(&url, Access::Write).expect("opened again"));
}

#[test]
fn a_task_with_an_output_is_marked_done_by_hand_only_with_an_output_that_fits() {
    let dir = TempDir::new("wfc-dynamic-done");
    // `plan` fails; a person gives its output by hand, and the fan-out walks it.
    dir.write(
        "fan.wf",
        &fan_out_workflow("", "0", "").replace("cat steps.json", "exit 1"),
    );
    let run = wfc(dir.path(), &["run", "fan.wf"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    let id = run_id(&run.stdout);
    let refused = wfc(
        dir.path(),
        &["done", &id, "plan", "--result", "two steps: x and y"],
    );
    assert_ne!(refused.code, 0, "{}", refused.stdout);
    assert!(
        refused.stderr.contains(
            "`plan` declares `output: { steps: list<string> }`, so `--result` must give it: the answer holds no JSON value"
        ),
        "{}",
        refused.stderr
    );
    let done = wfc(
        dir.path(),
        &["done", &id, "plan", "--result", r#"{"steps": ["x", "y"]}"#],
    );
    assert_eq!(done.code, 0, "{}{}", done.stdout, done.stderr);
    let resumed = wfc(dir.path(), &["resume", &id]);
    assert_eq!(resumed.code, 0, "{}{}", resumed.stdout, resumed.stderr);
    let mut ran = lines(dir.path(), "ran.txt");
    ran.sort();
    assert_eq!(ran, ["x", "y"]);
}
