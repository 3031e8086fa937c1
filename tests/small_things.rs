//! The small things a new user trips over (issue 14): plurals, durations and costs as people
//! write them, readable logs, `-j 0`, `--events` kept for `wfc resume`, what a gate's timeout
//! says, `reject --help`, a failed run's last line, "did you mean" for other tools' words and
//! cut-short names, an agent profile inside a workflow, and an error in another workflow of
//! the same file.

use crate::support::{run_id, wfc, TempDir};

/// A workflow of one command that fails, saying why on stderr.
const FAILING: &str =
    "workflow one {\n  task a {\n    run = \"echo why >&2; exit 3\"\n    timeout = 5m\n  }\n}\n";

#[test]
fn one_task_is_one_task_and_its_timeout_reads_as_written() {
    let dir = TempDir::new("wfc-small-plural");
    dir.write("one.wf", FAILING);
    let plan = wfc(dir.path(), &["plan", "one.wf"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(plan.stdout.contains(": 1 task\n"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains("with:    timeout 5m\n"),
        "{}",
        plan.stdout
    );
    let run = wfc(dir.path(), &["run", "one.wf"]);
    let first = run.stdout.lines().next().unwrap_or_default();
    assert!(first.ends_with("from one.wf, 1 task"), "{first}");
}

#[test]
fn a_failed_run_says_it_failed_once() {
    let dir = TempDir::new("wfc-small-final");
    dir.write("one.wf", FAILING);
    let run = wfc(dir.path(), &["run", "one.wf"]);
    assert_eq!(run.code, 1);
    let id = run_id(&run.stdout);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(all.matches(&format!("run {id} failed")).count(), 1, "{all}");
    assert!(
        run.stderr
            .contains(&format!("`wfc status {id}` shows why it failed")),
        "{}",
        run.stderr
    );
}

#[test]
fn the_first_line_of_the_logs_is_readable() {
    let dir = TempDir::new("wfc-small-logs");
    dir.write("one.wf", FAILING);
    let run = wfc(dir.path(), &["run", "one.wf"]);
    let id = run_id(&run.stdout);
    let logs = wfc(dir.path(), &["logs", &id]);
    assert_eq!(logs.code, 0, "{}", logs.stderr);
    let first = logs.stdout.lines().next().unwrap_or_default();
    assert!(first.contains("run_started"), "{first}");
    assert!(first.contains("by worker "), "{first}");
    assert!(!first.contains('{'), "raw JSON in {first}");
}

#[test]
fn no_tasks_at_once_is_refused_before_anything_changes() {
    let dir = TempDir::new("wfc-small-jobs");
    dir.write("one.wf", FAILING);
    let run = wfc(dir.path(), &["run", "one.wf"]);
    let id = run_id(&run.stdout);
    // `wfc retry` used to put the task back before it looked at `-j`.
    let retry = wfc(dir.path(), &["retry", &id, "a", "-j", "0"]);
    assert_eq!(retry.code, 2);
    assert!(retry
        .stderr
        .contains("`--jobs 0` (`-j 0`) would run nothing; give at least 1"));
    assert!(!retry.stdout.contains("reset"), "{}", retry.stdout);
    assert_eq!(
        crate::support::task_status(dir.path(), &id, "a")["state"],
        "failed"
    );
    let worker = wfc(dir.path(), &["worker", "-j", "0", "--exit-when-idle"]);
    assert_eq!(worker.code, 2);
    assert!(
        worker.stderr.contains("give at least 1"),
        "{}",
        worker.stderr
    );
}

#[test]
fn resume_sends_events_where_the_run_sent_them() {
    let dir = TempDir::new("wfc-small-events");
    dir.write("one.wf", FAILING);
    let run = wfc(
        dir.path(),
        &["run", "one.wf", "--events", "jsonl:events.jsonl"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let id = run_id(&run.stdout);
    let events = dir.path().join("events.jsonl");
    let before = std::fs::read_to_string(&events).expect("events file");
    assert!(!before.contains("task_succeeded"), "{before}");
    // Fixed and planned again, the run goes on without `--events`: its events still go there.
    dir.write(
        "one.wf",
        "workflow one {\n  task a {\n    run = \"echo fixed\"\n    timeout = 5m\n  }\n}\n",
    );
    let resume = wfc(dir.path(), &["resume", &id, "--replan"]);
    assert_eq!(resume.code, 0, "{}{}", resume.stdout, resume.stderr);
    assert!(
        resume.stderr.contains("events also go to jsonl:"),
        "{}",
        resume.stderr
    );
    let after = std::fs::read_to_string(&events).expect("events file");
    assert!(after.starts_with(&before), "the file is appended to");
    assert!(after[before.len()..].contains("task_succeeded"), "{after}");
}

#[test]
fn a_question_nobody_answered_says_since_when_and_what_to_do() {
    let dir = TempDir::new("wfc-small-gate");
    dir.write(
        "gate.wf",
        "workflow ship {\n  gate ok {\n    ask = \"Ship it?\"\n    timeout = 1s\n  }\n  task go after ok {\n    run = \"true\"\n  }\n}\n",
    );
    let run = wfc(dir.path(), &["run", "gate.wf"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let id = run_id(&run.stdout);
    let line = run
        .stdout
        .lines()
        .find(|line| line.contains("ok: rejected"))
        .unwrap_or_else(|| panic!("no rejection in {}", run.stdout));
    assert!(
        line.contains("nobody answered within 1s (asked at "),
        "{line}"
    );
    assert!(line.contains(" UTC)"), "{line}");
    assert!(
        line.contains(&format!("`wfc retry {id} ok` asks again")),
        "{line}"
    );
}

#[test]
fn reject_says_what_it_answers() {
    let dir = TempDir::new("wfc-small-reject");
    let help = wfc(dir.path(), &["reject", "--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("`human` task"), "{}", help.stdout);
    assert!(
        help.stdout.contains("on_conflict = \"human\""),
        "{}",
        help.stdout
    );
    let help = wfc(dir.path(), &["approve", "--help"]);
    assert!(
        help.stdout.contains("on_conflict = \"human\""),
        "{}",
        help.stdout
    );
}

/// `wfc check FILE`'s stderr for `text`, for a snapshot.
fn check_output(name: &str, text: &str) -> String {
    let dir = TempDir::new("wfc-small-check");
    dir.write(name, text);
    let check = wfc(dir.path(), &["check", name]);
    assert_eq!(check.code, 1, "{}", check.stderr);
    format!("SOURCE\n{text}\nERRORS\n{}", check.stderr)
}

#[test]
fn needs_is_what_github_actions_calls_after() {
    insta::assert_snapshot!(
        "needs_as_a_field",
        check_output(
            "needs.wf",
            "workflow w {\n  task a { run = \"true\" }\n  task b {\n    needs = [a]\n    run = \"true\"\n  }\n}\n"
        )
    );
    insta::assert_snapshot!(
        "needs_as_a_keyword",
        check_output(
            "needs.wf",
            "workflow w {\n  task a { run = \"true\" }\n  task b needs a {\n    run = \"true\"\n  }\n}\n"
        )
    );
}

#[test]
fn a_stdlib_module_cut_short_finds_its_name() {
    insta::assert_snapshot!(
        "stdlib_typo",
        check_output(
            "import.wf",
            "import \"std/featur\" as f\n\nworkflow w {\n  task a { run = \"true\" }\n}\n"
        )
    );
    let dir = TempDir::new("wfc-small-std");
    let check = wfc(dir.path(), &["check", "std/reviw"]);
    assert_eq!(check.code, 2);
    assert!(
        check.stderr.contains("did you mean `std/review`?"),
        "{}",
        check.stderr
    );
}

#[test]
fn an_adapter_cut_short_finds_its_name() {
    let dir = TempDir::new("wfc-small-adapter");
    dir.write("one.wf", FAILING);
    let run = wfc(dir.path(), &["run", "one.wf", "--agent", "claud"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("`claud` is not an adapter (did you mean `claude-code`?)"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_agent_profile_inside_a_workflow_is_one_error_at_agent() {
    insta::assert_snapshot!(
        "agent_inside_workflow",
        check_output(
            "inside.wf",
            "workflow w {\n  agent helper {\n    adapter = \"claude-code\"\n  }\n  task a {\n    prompt = \"Do it.\"\n    agent = helper\n  }\n}\n"
        )
    );
    // An unclosed workflow before a top-level agent is still an unclosed workflow.
    let unclosed = check_output(
        "unclosed.wf",
        "workflow w {\n  task a { run = \"true\" }\n\nagent helper {\n  adapter = \"claude-code\"\n}\n\nworkflow v {\n  task b { run = \"true\" }\n}\n",
    );
    assert!(unclosed.contains("is never closed"), "{unclosed}");
    assert!(!unclosed.contains("not inside a workflow"), "{unclosed}");
}

/// A file of two workflows, one with an error of its own.
const TWO: &str = "workflow good {\n  task a { run = \"echo good\" }\n}\n\nworkflow bad {\n  task a { run = \"echo {{ nope }}\" }\n}\n";

#[test]
fn an_error_in_another_workflow_does_not_stop_this_one() {
    let dir = TempDir::new("wfc-small-two");
    dir.write("two.wf", TWO);
    let run = wfc(dir.path(), &["run", "two.wf", "good"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(
            "note: two.wf has 1 error in other workflows (`bad`), not in `good`; `wfc check two.wf` shows them"
        ),
        "{}",
        run.stderr
    );
    let plan = wfc(dir.path(), &["plan", "two.wf", "good"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    // The broken workflow itself, and `wfc check`, still report it.
    let bad = wfc(dir.path(), &["plan", "two.wf", "bad"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("`nope` is not a parameter"),
        "{}",
        bad.stderr
    );
    let check = wfc(dir.path(), &["check", "two.wf"]);
    assert_eq!(check.code, 1);
    assert!(check.stderr.contains("`nope` is not a parameter"));
    // An error in the file's shared parts stops every workflow.
    dir.write(
        "shared.wf",
        &format!("import \"std/nothing_here\" as x\n\n{TWO}"),
    );
    let shared = wfc(dir.path(), &["plan", "shared.wf", "good"]);
    assert_eq!(shared.code, 1, "{}", shared.stdout);
    assert!(shared.stderr.contains("cannot import"), "{}", shared.stderr);
}
