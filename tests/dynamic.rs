//! Workflows that react (issue 16): typed task outputs, checked when an attempt ends and read
//! by the tasks after it, through the real `wfc` binary, real processes and a real store.

use crate::agents::{only_run, read, script, task};
use crate::support::{run_id, wfc, wfc_with_env, TempDir};
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
