//! Running workflows for real: the `wfc` binary, real processes, a real SQLite file.

use crate::support::{root, TempDir};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use wfc::backends::SqliteBackend;
use wfc::runtime::{RunState, TaskBackend, TaskKey, TaskRecord, TaskState};

fn wfc_command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wfc"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("WFC_BACKEND")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs `wfc` to the end; returns its exit code and output.
fn wfc(dir: &Path, args: &[&str]) -> (i32, String) {
    let output = wfc_command(dir, args).output().expect("wfc runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

fn store(dir: &Path) -> SqliteBackend {
    SqliteBackend::open(&dir.join(".wfc/state.db")).expect("the store exists")
}

/// The only run in the workspace's store and its tasks.
fn only_run(dir: &Path) -> (String, RunState, Vec<TaskRecord>) {
    let store = store(dir);
    let runs = store.list_runs().expect("runs");
    assert_eq!(runs.len(), 1, "one run");
    let tasks = store.list_tasks(&runs[0].id).expect("tasks");
    (runs[0].id.clone(), runs[0].state, tasks)
}

fn task<'t>(tasks: &'t [TaskRecord], id: &str) -> &'t TaskRecord {
    tasks
        .iter()
        .find(|t| t.key.task == id)
        .unwrap_or_else(|| panic!("no task {id}"))
}

#[test]
fn every_command_example_runs_to_success() {
    for example in ["hello", "word_count", "site", "nightly"] {
        let dir = TempDir::new(&format!("wfc-run-{example}"));
        let file = root().join(format!("examples/{example}.wf"));
        let (code, output) = wfc(dir.path(), &["run", &file.to_string_lossy()]);
        assert_eq!(code, 0, "{example}: {output}");
        let (_, state, tasks) = only_run(dir.path());
        assert_eq!(state, RunState::Succeeded, "{example}");
        assert!(
            tasks
                .iter()
                .all(|t| t.state == TaskState::Succeeded && t.attempts == 1),
            "{example}: {tasks:#?}"
        );
    }
}

#[test]
fn results_flow_to_dependents() {
    let dir = TempDir::new("wfc-run-results");
    dir.write(
        "flow.wf",
        "workflow flow {\n  task produce {\n    run = \"echo 42\"\n  }\n\n  task consume after produce {\n    run = \"printf '%s' {{ produce.result | trim }} > got.txt\"\n  }\n}\n",
    );
    let (code, output) = wfc(dir.path(), &["run", "flow.wf"]);
    assert_eq!(code, 0, "{output}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("got.txt")).expect("written"),
        "42"
    );
    let (_, _, tasks) = only_run(dir.path());
    assert_eq!(task(&tasks, "produce").result.as_deref(), Some("42\n"));
}

/// Whether any process other than a zombie is in process group `pgid`.
pub fn group_alive(pgid: i32) -> bool {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .any(|entry| {
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // Fields after the command's closing parenthesis: state, ppid, pgrp, …
            let Some(after) = stat
                .rsplit_once(')')
                .map(|(_, rest)| rest.split_whitespace().collect::<Vec<_>>())
            else {
                return false;
            };
            after.len() > 2 && after[0] != "Z" && after[2].parse::<i32>() == Ok(pgid)
        })
}

#[test]
fn a_timeout_kills_the_whole_process_group() {
    let dir = TempDir::new("wfc-run-timeout");
    dir.write(
        "slow.wf",
        "workflow slow {\n  task hang {\n    run     = \"echo $$ > pgid; sleep 1000 & sleep 1000\"\n    timeout = 2s\n  }\n}\n",
    );
    let started = Instant::now();
    let (code, output) = wfc(dir.path(), &["run", "slow.wf"]);
    let elapsed = started.elapsed();
    assert_eq!(code, 1, "{output}");
    assert!(elapsed < Duration::from_secs(5), "the run took {elapsed:?}");
    let (_, state, tasks) = only_run(dir.path());
    assert_eq!(state, RunState::Failed);
    assert!(
        task(&tasks, "hang")
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("timed out")),
        "{tasks:#?}"
    );
    let pgid: i32 = std::fs::read_to_string(dir.path().join("pgid"))
        .expect("pgid")
        .trim()
        .parse()
        .expect("a number");
    assert!(
        !group_alive(pgid),
        "a process of the task outlived its timeout"
    );
}

#[test]
fn failures_stay_in_their_branch_and_retries_learn_why() {
    let dir = TempDir::new("wfc-run-isolation");
    dir.write(
        "branches.wf",
        r#"workflow branches {
  task flaky {
    run   = """
      if [ -f seen ]; then
        printf '%s' "$WF_PREVIOUS_ERROR" > previous.txt
        echo fixed
      else
        touch seen
        echo first-attempt-broke >&2
        exit 3
      fi
      """
    retry = 1
  }

  task broken {
    run = "exit 1"
  }

  task after_broken after broken {
    run = "touch never"
  }

  task independent {
    run = "touch independent"
  }
}
"#,
    );
    let (code, output) = wfc(dir.path(), &["run", "branches.wf"]);
    assert_eq!(code, 1, "{output}");
    let (_, state, tasks) = only_run(dir.path());
    assert_eq!(state, RunState::Failed);
    let flaky = task(&tasks, "flaky");
    assert_eq!((flaky.state, flaky.attempts), (TaskState::Succeeded, 2));
    let previous = std::fs::read_to_string(dir.path().join("previous.txt")).expect("the retry ran");
    assert!(
        previous.contains("first-attempt-broke") && previous.contains("exit"),
        "the retry was told why: {previous}"
    );
    assert_eq!(task(&tasks, "broken").state, TaskState::Failed);
    assert_eq!(
        task(&tasks, "after_broken").state,
        TaskState::Pending,
        "a failure blocks its dependents"
    );
    assert!(!dir.path().join("never").exists());
    assert_eq!(
        task(&tasks, "independent").state,
        TaskState::Succeeded,
        "an independent branch goes on"
    );
    assert!(dir.path().join("independent").exists());
}

#[test]
fn verify_commands_gate_success() {
    let dir = TempDir::new("wfc-run-verify");
    dir.write(
        "verify.wf",
        "workflow verify {\n  task writes {\n    run    = \"echo hi > a.txt\"\n    verify = [\"test -s a.txt\", \"grep -q bye a.txt\"]\n  }\n}\n",
    );
    let (code, output) = wfc(dir.path(), &["run", "verify.wf"]);
    assert_eq!(code, 1, "{output}");
    let (_, _, tasks) = only_run(dir.path());
    let writes = task(&tasks, "writes");
    assert_eq!(writes.state, TaskState::Failed);
    assert!(
        writes
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("grep -q bye a.txt")),
        "{writes:#?}"
    );
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

const GATED: &str = "workflow gated {\n  task build {\n    run = \"echo built\"\n  }\n\n  gate approve after build {\n    ask = \"Ship it?\"\n  }\n\n  task ship after approve {\n    run = \"touch shipped\"\n  }\n}\n";

fn wait_at_gate(dir: &Path) -> (Child, String) {
    let child = wfc_command(dir, &["run", "gated.wf"])
        .spawn()
        .expect("wfc run");
    let mut run = String::new();
    wait_for("the gate to wait", Duration::from_secs(20), || {
        let Ok(store) = SqliteBackend::open(&dir.join(".wfc/state.db")) else {
            return false;
        };
        let Some(summary) = store.list_runs().ok().and_then(|r| r.into_iter().next()) else {
            return false;
        };
        run = summary.id.clone();
        store
            .get_task(&TaskKey::new(summary.id, "approve"))
            .is_ok_and(|t| t.state == TaskState::Waiting)
    });
    (child, run)
}

#[test]
fn a_gate_waits_until_another_process_answers() {
    let dir = TempDir::new("wfc-run-gate");
    dir.write("gated.wf", GATED);
    let (child, run) = wait_at_gate(dir.path());
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !dir.path().join("shipped").exists(),
        "nothing runs past a waiting gate"
    );
    // Another process answers: the `wfc approve` command.
    let (code, said) = wfc(
        dir.path(),
        &["approve", &run, "approve", "--reason", "lgtm"],
    );
    assert_eq!(code, 0, "{said}");
    let output = child.wait_with_output().expect("wfc run ends");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(dir.path().join("shipped").exists());

    let dir = TempDir::new("wfc-run-gate-reject");
    dir.write("gated.wf", GATED);
    let (child, run) = wait_at_gate(dir.path());
    let (code, said) = wfc(
        dir.path(),
        &["reject", &run, "approve", "--reason", "not today"],
    );
    assert_eq!(code, 0, "{said}");
    let output = child.wait_with_output().expect("wfc run ends");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        !dir.path().join("shipped").exists(),
        "a rejected gate fails the run"
    );
}

/// A workflow of `count` command tasks in chains and fan-outs that each append their id to
/// `log.txt` (opened for appending, one write per line).
fn logging_workflow(count: usize, sleep: &str) -> String {
    let mut text = String::from("workflow many {\n");
    for i in 0..count {
        let after = if i % 10 == 0 {
            String::new()
        } else {
            format!(" after t{}", i - 1)
        };
        text.push_str(&format!(
            "  task t{i}{after} {{\n    run = \"sleep {sleep}; echo {{{{ task.id }}}} >> log.txt\"\n  }}\n\n"
        ));
    }
    text.push_str("}\n");
    text
}

fn log_counts(dir: &Path) -> std::collections::HashMap<String, u32> {
    let mut counts = std::collections::HashMap::new();
    for line in std::fs::read_to_string(dir.join("log.txt"))
        .unwrap_or_default()
        .lines()
    {
        *counts.entry(line.to_string()).or_insert(0) += 1;
    }
    counts
}

#[test]
fn a_run_killed_at_random_moments_resumes_without_redoing_finished_work() {
    let dir = TempDir::new("wfc-run-crash");
    dir.write("many.wf", &logging_workflow(60, "0.05"));
    let mut child = Some(
        wfc_command(dir.path(), &["run", "many.wf", "-j", "4", "--lease", "1"])
            .spawn()
            .expect("wfc run"),
    );
    let mut run = String::new();
    let mut succeeded_before_kills: Vec<String> = Vec::new();
    // Deterministic "random" moments, so a failure can be replayed.
    for (round, delay_ms) in [350u64, 500, 420].into_iter().enumerate() {
        std::thread::sleep(Duration::from_millis(delay_ms));
        let Some(mut engine) = child.take() else {
            break;
        };
        let _ = engine.kill(); // SIGKILL: no cleanup at all.
        let _ = engine.wait();
        let store = store(dir.path());
        run = store.list_runs().expect("runs")[0].id.clone();
        let tasks = store.list_tasks(&run).expect("tasks");
        succeeded_before_kills = tasks
            .iter()
            .filter(|t| t.state == TaskState::Succeeded)
            .map(|t| t.key.task.clone())
            .collect();
        let unfinished = tasks.iter().any(|t| t.state != TaskState::Succeeded);
        // The first kill must interrupt work; a fast machine may finish before a later one.
        assert!(
            unfinished || round > 0,
            "the run ended before the first kill"
        );
        if unfinished {
            child = Some(
                wfc_command(dir.path(), &["resume", &run, "-j", "4", "--lease", "1"])
                    .spawn()
                    .expect("wfc resume"),
            );
        }
    }
    if let Some(engine) = child {
        let output = engine.wait_with_output().expect("the last resume ends");
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let tasks = store(dir.path()).list_tasks(&run).expect("tasks");
    assert!(
        tasks.iter().all(|t| t.state == TaskState::Succeeded),
        "{tasks:#?}"
    );
    let counts = log_counts(dir.path());
    for task in &tasks {
        let ran = counts.get(&task.key.task).copied().unwrap_or(0);
        // A task runs at most once per attempt (a kill may end an attempt before its command
        // starts), and only an attempt cut short by a kill is repeated.
        assert!(
            ran >= 1 && ran <= task.attempts,
            "{} ran {ran} times in {} attempts",
            task.key.task,
            task.attempts
        );
    }
    for id in succeeded_before_kills {
        assert_eq!(
            counts.get(&id),
            Some(&1),
            "{id} succeeded before a kill and ran again"
        );
    }
}

#[test]
fn three_workers_share_a_run_and_run_each_task_exactly_once() {
    let dir = TempDir::new("wfc-run-workers");
    dir.write("many.wf", &logging_workflow(500, "0"));
    let mut workers: Vec<Child> = (0..3)
        .map(|_| {
            wfc_command(dir.path(), &["worker", "-j", "4"])
                .spawn()
                .expect("wfc worker")
        })
        .collect();
    let (code, output) = wfc(dir.path(), &["run", "many.wf", "-j", "2"]);
    for worker in &mut workers {
        let _ = worker.kill();
        let _ = worker.wait();
    }
    assert_eq!(code, 0, "{output}");
    let counts = log_counts(dir.path());
    assert_eq!(counts.len(), 500, "every task ran");
    assert!(
        counts.values().all(|&n| n == 1),
        "a task ran twice: {:?}",
        counts.iter().filter(|(_, &n)| n > 1).collect::<Vec<_>>()
    );
    let (_, state, tasks) = only_run(dir.path());
    assert_eq!(state, RunState::Succeeded);
    let workers: std::collections::HashSet<&str> =
        tasks.iter().filter_map(|t| t.worker.as_deref()).collect();
    assert!(workers.is_empty(), "finished tasks hold no worker");
}

/// A secret whose forms all differ: white space to trim, a quote and a backslash that JSON
/// escapes, a letter beyond ASCII that case changes and `slug` drops.
const FORMS_SECRET: &str = "  Sk\"Tok-ä4f9\\z-Wq7Lm  ";

/// Pieces of every form of [`FORMS_SECRET`]: the text, upper and lower case, the slug in
/// both cases; each half of the secret holds one.
const FORMS_NEEDLES: [&str; 8] = [
    "Tok-ä4f9",
    "TOK-Ä4F9",
    "tok-ä4f9",
    "z-Wq7Lm",
    "Z-WQ7LM",
    "z-wq7lm",
    "sk-tok-4f9",
    "SK-TOK-4F9",
];

#[test]
fn no_form_of_a_secret_is_stored_or_shown() {
    let dir = TempDir::new("wfc-run-secret-forms");
    // Every filter's output, a chain of them, and one used only in shell text, printed to
    // stdout and stderr; a failure's stderr; the secret written in two reads split inside a
    // character; the end of the secret at the start of a truncated result.
    dir.write(
        "forms.wf",
        r#"workflow forms {
  param tok: secret

  task every {
    env = { RAW = "{{ tok }}", UP = "{{ tok | upper }}", LO = "{{ tok | lower }}", TR = "{{ tok | trim }}", SL = "{{ tok | slug }}", JS = "{{ tok | json }}", DE = "{{ tok | default("x") }}", CH = "{{ tok | trim | upper | json | json }}" }
    run = """
      for v in "$RAW" "$UP" "$LO" "$TR" "$SL" "$JS" "$DE" "$CH"; do
        printf 'out <%s>
' "$v"
        printf 'err <%s>
' "$v" >&2
      done
      printf 'slug-upper %s
' "{{ tok | slug | upper }}"
      """
  }

  task slow {
    env = { TR = "{{ tok | trim }}" }
    run = """
      sleep 0.4
      printf '%s' "$TR" | head -c 8
      sleep 0.4
      printf '%s
' "$TR" | tail -c +9
      sleep 0.4
      echo done
      """
  }

  task cut {
    env = { TR = "{{ tok | trim }}" }
    run = """
      printf 'x%s' "$TR"
      head -c 65524 /dev/zero | tr '\0' y
      """
  }

  task fails after every {
    env = { UP = "{{ tok | upper }}" }
    run = """
      printf '%s %s\n' "$UP" {{ tok | lower | trim }} >&2
      exit 3
      """
  }
}
"#,
    );
    let output = wfc_command(
        dir.path(),
        &["run", "forms.wf", "--events", "jsonl:events.jsonl"],
    )
    .env("WF_SECRET_TOK", FORMS_SECRET)
    .output()
    .expect("wfc runs");
    assert_eq!(output.status.code(), Some(1), "`fails` fails");
    let (run, _, tasks) = only_run(dir.path());
    assert!(
        task(&tasks, "every")
            .result
            .as_deref()
            .is_some_and(|r| r.contains("out <[redacted]>")),
        "{tasks:?}"
    );
    let mut shown = vec![
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        std::fs::read_to_string(dir.path().join("events.jsonl")).expect("events written"),
    ];
    for args in [
        vec!["status", "--json"],
        vec!["status", run.as_str()],
        vec!["logs", run.as_str()],
        vec!["logs", run.as_str(), "--json"],
    ] {
        let (_, text) = wfc(dir.path(), &args);
        shown.push(text);
    }
    // Output is reported while a task runs and, what came last, when it ends: also for a
    // task that printed everything at once.
    let outputs: Vec<serde_json::Value> = shown[2]
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|event| event["kind"] == "task_output")
        .collect();
    let reported = |task: &str| -> String {
        outputs
            .iter()
            .filter(|event| event["task"] == task)
            .filter_map(|event| event["data"]["output"].as_str())
            .collect()
    };
    assert!(
        reported("every").contains("out <[redacted]>"),
        "{outputs:?}"
    );
    assert!(reported("slow").contains("[redacted]\ndone"), "{outputs:?}");
    for file in ["state.db", "state.db-wal", "state.db-shm"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(".wfc").join(file)) {
            shown.push(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    for (text, needle) in shown
        .iter()
        .flat_map(|text| FORMS_NEEDLES.iter().map(move |n| (text, n)))
    {
        assert!(!text.contains(needle), "`{needle}` leaked in:\n{text}");
    }
}

#[test]
fn events_go_to_a_jsonl_file_with_secrets_redacted() {
    let dir = TempDir::new("wfc-run-events");
    dir.write(
        "secret.wf",
        "workflow secret {\n  param token: secret\n\n  task leak {\n    run = \"echo the token is {{ token }}\"\n  }\n\n  task fail after leak {\n    run = \"echo {{ token }} >&2; exit 1\"\n  }\n}\n",
    );
    let output = wfc_command(
        dir.path(),
        &["run", "secret.wf", "--events", "jsonl:events.jsonl"],
    )
    .env("WF_SECRET_TOKEN", "tok-4f9a-SECRET")
    .output()
    .expect("wfc runs");
    assert_eq!(output.status.code(), Some(1));
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let events = std::fs::read_to_string(dir.path().join("events.jsonl")).expect("events written");
    let kinds: Vec<String> = events
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("JSON line")["kind"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    for kind in [
        "run_started",
        "task_started",
        "task_succeeded",
        "task_failed",
        "run_finished",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "no {kind} event in {kinds:?}"
        );
    }
    let (run, _, tasks) = only_run(dir.path());
    let stored_events = store(dir.path())
        .read_events(&run, 0, 1000)
        .expect("events");
    let stored_kinds: Vec<&str> = stored_events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        stored_kinds.first(),
        Some(&"run_started"),
        "the run's own log starts with run_started: {stored_kinds:?}"
    );
    assert_eq!(stored_kinds.last(), Some(&"run_finished"));
    let everything = format!("{printed}{events}{tasks:?}{stored_events:?}");
    assert!(
        !everything.contains("tok-4f9a-SECRET"),
        "a secret leaked: {everything}"
    );
    assert_eq!(
        task(&tasks, "leak").result.as_deref(),
        Some("the token is [redacted]\n")
    );
}

#[test]
fn a_store_that_cannot_be_written_fails_loudly() {
    let dir = TempDir::new("wfc-run-store");
    dir.write(
        "one.wf",
        "workflow one {\n  task a {\n    run = \"true\"\n  }\n}\n",
    );
    dir.write("not-a-folder", "a file where the store's folder should be");
    let (code, output) = wfc(
        dir.path(),
        &["run", "one.wf", "--backend", "sqlite:not-a-folder/state.db"],
    );
    assert_eq!(code, 2, "{output}");
    assert!(
        output.contains("not-a-folder"),
        "the error names the store: {output}"
    );
    let (code, output) = wfc(
        dir.path(),
        &["run", "one.wf", "--backend", "redis://localhost"],
    );
    assert_eq!(code, 2);
    assert!(output.contains("names no backend"), "{output}");
}

#[test]
fn the_command_adapter_runs_agent_tasks_with_the_prompt_on_stdin() {
    let dir = TempDir::new("wfc-run-agent");
    dir.write(
        "agentic.wf",
        r#"agent scripted {
  adapter = "command"
  command = ["sh", "-c", "cat > prompt-$WF_ATTEMPT.txt; if [ $WF_ATTEMPT = 1 ]; then echo model overloaded >&2; exit 1; fi; echo all done"]
}

workflow agentic {
  task write {
    prompt = "Write the file."
    accept = ["The file exists."]
    agent  = scripted
    retry  = 1
  }

  task check after write {
    run = "printf '%s' {{ write.result | trim }} > result.txt"
  }
}
"#,
    );
    let (code, output) = wfc(dir.path(), &["run", "agentic.wf"]);
    assert_eq!(code, 0, "{output}");
    let first = std::fs::read_to_string(dir.path().join("prompt-1.txt"))
        .expect("the first attempt got the prompt");
    assert!(first.starts_with("Write the file.\n") && first.contains("## Acceptance criteria\n\nThe task is done when all of these hold:\n\n- The file exists.\n"), "{first}");
    let second =
        std::fs::read_to_string(dir.path().join("prompt-2.txt")).expect("a fresh second attempt");
    assert!(
        second.contains("## The previous attempt failed") && second.contains("model overloaded"),
        "the retry is told why: {second}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("result.txt")).expect("result passed on"),
        "all done"
    );
    let (_, _, tasks) = only_run(dir.path());
    assert_eq!(
        (task(&tasks, "write").state, task(&tasks, "write").attempts),
        (TaskState::Succeeded, 2)
    );
}

#[test]
fn a_plain_command_starts_without_a_shell_and_behaves_as_in_one() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("wfc-run-simple-command");
    let executable = |name: &str, text: &str| {
        let path = dir.write(name, text);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    };
    // What a command can tell of how it was started: the name it was given, its parent and
    // the folder it was told it is in.
    executable(
        "bin/who",
        "#!/bin/sh\nprintf '%s %s %s\\n' \"$0\" \"$(cat /proc/$PPID/comm)\" \"$PWD\"\n",
    );
    // No `#!` line: only a shell runs it.
    executable("bin/bare", "echo bare ran\n");
    dir.write(
        "simple.wf",
        "workflow simple {\n  task direct {\n    run = \"who\"\n  }\n\n  task shelled {\n    run = \"who;\"\n  }\n\n  task bare {\n    run = \"bare\"\n  }\n\n  task missing {\n    run = \"no-such-program-of-wfc --flag\"\n  }\n}\n",
    );
    let path = format!(
        "{}:{}",
        dir.path().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = wfc_command(dir.path(), &["run", "simple.wf"])
        .env("PATH", path)
        .output()
        .expect("wfc runs");
    assert_ne!(
        output.status.code(),
        Some(0),
        "the missing program fails the run"
    );
    let (_, _, tasks) = only_run(dir.path());
    let said = |id: &str| -> Vec<String> {
        let result = task(&tasks, id).result.clone().unwrap_or_default();
        result.split_whitespace().map(str::to_owned).collect()
    };
    let (direct, shelled) = (said("direct"), said("shelled"));
    assert_eq!(direct.len(), 3, "{direct:?}");
    // Plain words: wfc started the program itself; with a `;` the shell did, in between.
    assert_eq!(direct[1], "wfc", "{direct:?}");
    assert_eq!(shelled[1], "sh", "{shelled:?}");
    // Told the same name and the same folder either way: the workspace, as wfc names it.
    assert_eq!((&direct[0], &direct[2]), (&shelled[0], &shelled[2]));
    assert_eq!(Path::new(&direct[2]), dir.path());
    assert_eq!(
        task(&tasks, "bare").result.as_deref(),
        Some("bare ran\n"),
        "a file without `#!` is left to the shell"
    );
    // A program that is not there fails as the shell says it does.
    let missing = task(&tasks, "missing");
    assert_eq!(missing.state, TaskState::Failed);
    let error = missing.last_error.clone().unwrap_or_default();
    assert!(
        error.contains("no-such-program-of-wfc: not found") && error.contains("127"),
        "{error}"
    );
}
