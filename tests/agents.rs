//! Agent adapters for real: the `wfc` binary runs the real Claude Code CLI (from npm) against
//! the scripted model server, so real sessions change real files (tests/agents_real.rs does the
//! same for Codex and the Gemini CLI). Every other adapter's documented protocol is also checked
//! with programs that print the CLI's documented output, so argv, prompt delivery, environment
//! and parsing are checked through the same engine for the CLIs that cannot be run here too.

use crate::model_server::{ModelServer, Reply, Rule};
use crate::npm_cli::claude_bin;
use crate::support::TempDir;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use wfc::agents::{cli_agent, Ended};
use wfc::backends::SqliteBackend;
use wfc::runtime::process::ExitStatusKind;
use wfc::runtime::{TaskBackend, TaskRecord, TaskState};

/// The API key the tests give the CLI; it must never show in anything wfc stores or prints.
const API_KEY: &str = "sk-ant-test-4f9a2c71e0";

/// `wfc` with a clean environment: PATH with the Claude Code CLI first, a home of its own (the
/// CLI writes its settings there), and the scripted server's address and key when given.
fn wfc_command(dir: &Path, server: Option<&ModelServer>, args: &[&str]) -> Command {
    let claude = claude_bin();
    let bin_dir = claude.parent().expect("the CLI's folder");
    let home = dir.join(".home");
    std::fs::create_dir_all(&home).expect("a home");
    let mut command = Command::new(env!("CARGO_BIN_EXE_wfc"));
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", bin_dir.display()),
        )
        .env("HOME", &home)
        .env("WFC_LEAK_CHECK", "engine-only")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(server) = server {
        command
            .env("ANTHROPIC_BASE_URL", &server.url)
            .env("ANTHROPIC_API_KEY", API_KEY);
    }
    command
}

/// Runs `wfc` to its end: exit code, and stdout followed by stderr.
pub fn wfc(dir: &Path, server: Option<&ModelServer>, args: &[&str]) -> (i32, String) {
    let output = wfc_command(dir, server, args).output().expect("wfc runs");
    (
        output.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// The only run in `dir`'s store: its id and tasks.
pub fn only_run(dir: &Path) -> (String, Vec<TaskRecord>) {
    let store = SqliteBackend::open(&dir.join(".wfc/state.db")).expect("the store");
    let runs = store.list_runs().expect("runs");
    assert_eq!(runs.len(), 1);
    let tasks = store.list_tasks(&runs[0].id).expect("tasks");
    (runs[0].id.clone(), tasks)
}

pub fn task<'t>(tasks: &'t [TaskRecord], id: &str) -> &'t TaskRecord {
    tasks
        .iter()
        .find(|t| t.key.task == id)
        .unwrap_or_else(|| panic!("no task {id}"))
}

/// The data of the run's `agent_session` events for `task`, in order.
pub fn sessions(dir: &Path, run: &str, task: &str) -> Vec<Value> {
    let store = SqliteBackend::open(&dir.join(".wfc/state.db")).expect("the store");
    store
        .read_events(run, 0, 100_000)
        .expect("events")
        .into_iter()
        .filter(|e| e.kind == "agent_session" && e.task.as_deref() == Some(task))
        .map(|e| e.data)
        .collect()
}

pub fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn claude_code_designs_implements_and_reviews_with_real_files() {
    let dir = TempDir::new("wfc-agents-e2e");
    let d = dir.path().display().to_string();
    let server = ModelServer::start(vec![
        Rule::new(
            "[[design]]",
            vec![
                Reply::tool(
                    "Write",
                    json!({"file_path": format!("{d}/DESIGN.md"), "content": "# calc.sh\n\n`sh calc.sh A B` prints A + B.\n"}),
                ),
                Reply::text("The design is in DESIGN.md: calc.sh adds its two arguments."),
            ],
        ),
        Rule::new(
            "[[implement]]",
            vec![
                Reply::tool("Read", json!({"file_path": format!("{d}/DESIGN.md")})),
                Reply::tool(
                    "Write",
                    json!({"file_path": format!("{d}/calc.sh"), "content": "echo $(( $1 - $2 ))\n"}),
                ),
                Reply::tool(
                    "Edit",
                    json!({"file_path": format!("{d}/calc.sh"), "old_string": "$1 - $2", "new_string": "$1 + $2"}),
                ),
                Reply::tool(
                    "Bash",
                    json!({"command": "sh calc.sh 2 3", "description": "Try it"}),
                ),
                Reply::text("calc.sh is implemented; `sh calc.sh 2 3` prints 5."),
            ],
        ),
        Rule::new(
            "[[review]]",
            vec![
                Reply::tool(
                    "Bash",
                    json!({"command": "sh calc.sh 40 2", "description": "Check it"}),
                ),
                Reply::tool(
                    "Write",
                    json!({"file_path": format!("{d}/REVIEW.md"), "content": "LGTM: calc.sh 40 2 prints 42.\n"}),
                ),
                Reply::text("LGTM"),
            ],
        ),
    ]);
    dir.write(
        "build.wf",
        r#"agent claude {
  adapter   = "claude-code"
  model     = "claude-sonnet-4-5"
  max_turns = 10
  allow     = ["Read", "Write", "Edit", "Bash(sh calc.sh:*)"]
}

workflow build {
  defaults {
    agent   = claude
    timeout = 2m
  }

  task design {
    prompt = "[[design]] Design calc.sh, a script that adds two numbers, in DESIGN.md."
    verify = ["test -s DESIGN.md"]
  }

  task implement after design {
    prompt = """
      [[implement]] Implement calc.sh as the design says.
      The designer said: {{ design.result }}
      """
    verify = ["test \"$(sh calc.sh 2 3)\" = 5"]
  }

  task review after implement {
    prompt = "[[review]] Review calc.sh; write REVIEW.md starting with LGTM if it is right."
    verify = ["grep -q '^LGTM' REVIEW.md"]
  }
}
"#,
    );
    let (code, output) = wfc(dir.path(), Some(&server), &["run", "build.wf"]);
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains("Write ") && output.contains("Edit "),
        "tool calls are shown live: {output}"
    );
    assert_eq!(
        read(dir.path(), "calc.sh"),
        "echo $(( $1 + $2 ))\n",
        "the real CLI wrote and edited the file"
    );
    assert!(read(dir.path(), "DESIGN.md").starts_with("# calc.sh"));
    assert!(read(dir.path(), "REVIEW.md").starts_with("LGTM"));
    // `wfc show` reads the stored transcript back: tool calls with their input, what they
    // returned, the final message.
    let shown = crate::show::shown(dir.path(), &only_run(dir.path()).0, "implement");
    assert!(
        shown.contains("→ Edit ") && shown.contains("$1 - $2"),
        "{shown}"
    );
    assert!(
        shown.contains("→ Bash ") && shown.contains("sh calc.sh 2 3"),
        "{shown}"
    );
    assert!(
        shown.contains("      ← "),
        "tool results are shown: {shown}"
    );
    assert!(
        shown.contains("final message: calc.sh is implemented"),
        "{shown}"
    );

    let (run, tasks) = only_run(dir.path());
    let mut ids = Vec::new();
    for id in ["design", "implement", "review"] {
        let record = task(&tasks, id);
        assert_eq!(
            (record.state, record.attempts),
            (TaskState::Succeeded, 1),
            "{record:#?}"
        );
        let session = sessions(dir.path(), &run, id);
        assert_eq!(session.len(), 1, "{session:?}");
        assert!(
            session[0]["cost_usd"].as_f64().is_some_and(|c| c > 0.0),
            "{session:?}"
        );
        assert!(
            session[0]["input_tokens"]
                .as_u64()
                .is_some_and(|t| t >= 120),
            "{session:?}"
        );
        ids.push(
            session[0]["session_id"]
                .as_str()
                .expect("a session id")
                .to_string(),
        );
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "each task ran in a fresh session");
    assert_eq!(
        task(&tasks, "review").result.as_deref(),
        Some("LGTM"),
        "the final message is the result"
    );
    // The implementer's prompt carried the designer's final message.
    let implement = server
        .session_requests()
        .into_iter()
        .find(|r| r["messages"][0].to_string().contains("[[implement]]"))
        .expect("the implement session");
    assert!(implement["messages"][0]
        .to_string()
        .contains("calc.sh adds its two arguments"));

    let (code, status) = wfc(dir.path(), None, &["status"]);
    assert_eq!(code, 0, "{status}");
    assert!(
        status.contains("AGENT USAGE") && status.contains("agents: 3 sessions · $"),
        "{status}"
    );
    let (_, json) = wfc(dir.path(), None, &["status", "--json"]);
    let json: Value = serde_json::from_str(&json).expect("status JSON");
    assert_eq!(json["agents"]["total"]["sessions"], 3);
    assert!(json["agents"]["tasks"]["design"]["last_session_id"].is_string());
    let (_, logs) = wfc(dir.path(), None, &["logs", &run]);
    assert!(
        logs.contains("agent_session") && logs.contains("agent_activity"),
        "{logs}"
    );
}

#[test]
fn a_failed_claude_session_is_retried_in_a_new_session_that_is_told_why() {
    let dir = TempDir::new("wfc-agents-retry");
    let d = dir.path().display().to_string();
    let server = ModelServer::start(vec![
        Rule::new(
            "[[flaky]]",
            vec![Reply::Error(400, "scripted outage 7731".into())],
        )
        .unless("previous attempt failed"),
        Rule::new(
            "[[flaky]]",
            vec![
                Reply::tool(
                    "Write",
                    json!({"file_path": format!("{d}/OUT.txt"), "content": "ok\n"}),
                ),
                Reply::text("Wrote OUT.txt"),
            ],
        ),
    ]);
    dir.write(
        "flaky.wf",
        "agent claude {\n  adapter = \"claude-code\"\n  allow   = [\"Write\"]\n}\n\nworkflow w {\n  task flaky {\n    prompt = \"[[flaky]] Write OUT.txt.\"\n    agent  = claude\n    retry  = 1\n    verify = [\"test -s OUT.txt\"]\n  }\n}\n",
    );
    let (code, output) = wfc(dir.path(), Some(&server), &["run", "flaky.wf"]);
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains("scripted outage 7731"),
        "the failure is shown: {output}"
    );
    let (run, tasks) = only_run(dir.path());
    assert_eq!(
        (task(&tasks, "flaky").state, task(&tasks, "flaky").attempts),
        (TaskState::Succeeded, 2)
    );
    let sessions = sessions(dir.path(), &run, "flaky");
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert_eq!(
        (sessions[0]["ok"].clone(), sessions[1]["ok"].clone()),
        (json!(false), json!(true))
    );
    let (first, second) = (
        sessions[0]["session_id"].as_str(),
        sessions[1]["session_id"].as_str(),
    );
    assert!(
        first.is_some() && second.is_some() && first != second,
        "two sessions: {sessions:?}"
    );
    let retry = server
        .session_requests()
        .into_iter()
        .find(|r| {
            r["messages"][0]
                .to_string()
                .contains("previous attempt failed")
        })
        .expect("the retry's session");
    assert!(
        retry["messages"][0]
            .to_string()
            .contains("scripted outage 7731"),
        "the retry prompt carries the failure"
    );
}

#[test]
fn turn_limits_and_denied_permissions_fail_the_attempt_with_the_reason() {
    let dir = TempDir::new("wfc-agents-limits");
    let d = dir.path().display().to_string();
    let server = ModelServer::start(vec![
        Rule::new(
            "[[loop]]",
            vec![Reply::tool(
                "Write",
                json!({"file_path": format!("{d}/loop.txt"), "content": "again\n"}),
            )],
        ),
        Rule::new(
            "[[denied]]",
            vec![
                Reply::tool(
                    "Write",
                    json!({"file_path": format!("{d}/denied.txt"), "content": "no\n"}),
                ),
                Reply::text("Done, I think."),
            ],
        ),
    ]);
    dir.write(
        "limits.wf",
        r#"agent tight {
  adapter   = "claude-code"
  max_turns = 2
  allow     = ["Write"]
}

agent readonly {
  adapter = "claude-code"
  allow   = ["Read"]
}

workflow w {
  task looping {
    prompt = "[[loop]] Keep writing."
    agent  = tight
  }

  task denied {
    prompt = "[[denied]] Write a file you may not write."
    agent  = readonly
  }

  task other {
    run = "touch other-ran"
  }
}
"#,
    );
    let (code, output) = wfc(dir.path(), Some(&server), &["run", "limits.wf"]);
    assert_eq!(code, 1, "{output}");
    let (_, tasks) = only_run(dir.path());
    let looping = task(&tasks, "looping")
        .last_error
        .clone()
        .unwrap_or_default();
    assert!(
        looping.starts_with("claude-code: ")
            && looping.contains("error_max_turns")
            && looping.contains("max_turns"),
        "{looping}"
    );
    let denied = task(&tasks, "denied")
        .last_error
        .clone()
        .unwrap_or_default();
    assert!(
        denied.contains("denied permission to use Write") && denied.contains("denied.txt"),
        "{denied}"
    );
    assert!(
        !dir.path().join("denied.txt").exists(),
        "the denied write did not happen"
    );
    assert_eq!(
        task(&tasks, "other").state,
        TaskState::Succeeded,
        "other tasks go on"
    );
}

#[test]
fn a_missing_api_key_is_a_clear_task_error() {
    let dir = TempDir::new("wfc-agents-nokey");
    dir.write(
        "k.wf",
        "agent claude {\n  adapter = \"claude-code\"\n}\n\nworkflow w {\n  task t {\n    prompt = \"Anything.\"\n    agent  = claude\n    timeout = 1m\n  }\n}\n",
    );
    let (code, output) = wfc(dir.path(), None, &["run", "k.wf"]);
    assert_eq!(code, 1, "{output}");
    let (_, tasks) = only_run(dir.path());
    let error = task(&tasks, "t").last_error.clone().unwrap_or_default();
    assert!(
        error.starts_with("claude-code: ") && error.contains("Not logged in"),
        "{error}"
    );
    assert!(
        error.contains("ANTHROPIC_API_KEY"),
        "says what to set: {error}"
    );
}

/// Writes an executable script.
pub fn script(dir: &TempDir, name: &str, body: &str) -> String {
    let path = dir.write(name, body);
    let mut permissions = std::fs::metadata(&path).expect("script").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&path, permissions).expect("chmod");
    path.display().to_string()
}

#[test]
fn a_missing_cli_garbage_a_crash_and_a_hang_are_each_a_clear_error() {
    let dir = TempDir::new("wfc-agents-broken");
    let garbage = script(
        &dir,
        "garbage",
        "#!/bin/sh\ncat >/dev/null\necho 'this is not json'\n",
    );
    let crash = script(
        &dir,
        "crash",
        "#!/bin/sh\necho 'fatal: segfault in module' >&2\nexit 3\n",
    );
    let hang = script(&dir, "hang", "#!/bin/sh\nsleep 1000\n");
    // `wfc run` refuses a run whose programs are missing (tests/lifecycle.rs); a program that
    // disappears while the run goes on is an error of the task that needs it.
    let vanishing = script(&dir, "vanishing", "#!/bin/sh\nexit 0\n");
    dir.write(
        "broken.wf",
        &format!(
            r#"agent missing {{
  adapter = "claude-code"
  bin     = "{vanishing}"
}}

agent garbage {{
  adapter = "claude-code"
  bin     = "{garbage}"
}}

agent crash {{
  adapter = "codex"
  bin     = "{crash}"
}}

agent hang {{
  adapter = "gemini"
  bin     = "{hang}"
}}

workflow w {{
  task missing after other {{
    prompt = "x"
    agent  = missing
  }}

  task garbage {{
    prompt = "x"
    agent  = garbage
  }}

  task crash {{
    prompt = "x"
    agent  = crash
  }}

  task hang {{
    prompt  = "x"
    agent   = hang
    timeout = 2s
  }}

  task other {{
    run = "touch other-ran && rm {vanishing}"
  }}
}}
"#
        ),
    );
    let started = Instant::now();
    let (code, output) = wfc(dir.path(), None, &["run", "broken.wf"]);
    assert_eq!(code, 1, "{output}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the hang was cut off"
    );
    let (_, tasks) = only_run(dir.path());
    let error = |id: &str| task(&tasks, id).last_error.clone().unwrap_or_default();
    let missing = error("missing");
    assert!(
        missing.contains(&format!("cannot start `{vanishing}`"))
            && missing.contains("npm install -g @anthropic-ai/claude-code"),
        "{missing}"
    );
    let garbage = error("garbage");
    assert!(
        garbage.starts_with("claude-code: ")
            && garbage.contains("without a result")
            && garbage.contains("this is not json"),
        "{garbage}"
    );
    let crash = error("crash");
    assert!(
        crash.starts_with("codex: ")
            && crash.contains("exited with code 3")
            && crash.contains("segfault in module"),
        "{crash}"
    );
    let hang = error("hang");
    assert!(
        hang.starts_with("gemini: ") && hang.contains("time limit (2s)"),
        "{hang}"
    );
    assert_eq!(
        task(&tasks, "other").state,
        TaskState::Succeeded,
        "other tasks go on"
    );
}

#[test]
fn agents_get_a_minimal_environment_and_keys_never_reach_the_logs() {
    let dir = TempDir::new("wfc-agents-env");
    // A stand-in for `claude` that shows what it was given: its environment, then a result
    // that quotes the API key (as a careless CLI might).
    let fake = script(
        &dir,
        "fake-claude",
        "#!/bin/sh\nenv > env.txt\ncat > prompt.txt\nprintf '%s\\n' '{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s-1\",\"model\":\"m\"}'\nprintf '{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"result\":\"key is %s\",\"session_id\":\"s-1\",\"permission_denials\":[]}\\n' \"$ANTHROPIC_API_KEY\"\n",
    );
    dir.write(
        "env.wf",
        &format!(
            "agent claude {{\n  adapter = \"claude-code\"\n  bin = \"{fake}\"\n  env = {{ PROFILE_VAR = \"from-profile\" }}\n}}\n\nworkflow w {{\n  task t {{\n    prompt = \"Show me.\"\n    agent  = claude\n    env    = {{ TASK_VAR = \"from-task\" }}\n  }}\n}}\n"
        ),
    );
    let server = ModelServer::start(Vec::new());
    let (code, output) = wfc(
        dir.path(),
        Some(&server),
        &["run", "env.wf", "--events", "jsonl:events.jsonl"],
    );
    assert_eq!(code, 0, "{output}");
    let env = read(dir.path(), "env.txt");
    for wanted in [
        "TASK_VAR=from-task",
        "PROFILE_VAR=from-profile",
        "WF_TASK_ID=t",
        "WF_ATTEMPT=1",
    ] {
        assert!(env.contains(wanted), "{wanted} in {env}");
    }
    assert!(
        env.contains(&format!("ANTHROPIC_API_KEY={API_KEY}")),
        "the CLI gets its own key"
    );
    assert!(
        !env.contains("WFC_LEAK_CHECK"),
        "nothing else of wfc's environment: {env}"
    );
    assert_eq!(read(dir.path(), "prompt.txt").trim_end(), "Show me.");
    let (run, tasks) = only_run(dir.path());
    assert_eq!(
        task(&tasks, "t").result.as_deref(),
        Some("key is [redacted]")
    );
    let (_, logs) = wfc(dir.path(), None, &["logs", &run]);
    let (_, status) = wfc(dir.path(), None, &["status", "--json"]);
    let events = read(dir.path(), "events.jsonl");
    for (what, text) in [
        ("output", &output),
        ("logs", &logs),
        ("status", &status),
        ("events", &events),
    ] {
        assert!(!text.contains(API_KEY), "the key shows in {what}: {text}");
    }
}

#[test]
fn a_human_task_waits_for_a_person_and_passes_their_answer_on() {
    let dir = TempDir::new("wfc-agents-human");
    dir.write(
        "release.wf",
        r#"agent person {
  adapter = "human"
}

workflow release {
  task name {
    prompt = "Pick a name for the release."
    agent  = person
  }

  task announce after name {
    run = "printf '%s' {{ name.result }} > name.txt"
  }
}
"#,
    );
    let child = wfc_command(dir.path(), None, &["run", "release.wf"])
        .spawn()
        .expect("wfc run starts");
    let store = dir.path().join(".wfc/state.db");
    let deadline = Instant::now() + Duration::from_secs(30);
    let run = loop {
        assert!(Instant::now() < deadline, "the human task never waited");
        if let Ok(backend) = SqliteBackend::open(&store) {
            if let Some(run) = backend.list_runs().ok().and_then(|r| r.into_iter().next()) {
                // The run is stored a moment before its tasks: until they are, none waits.
                let tasks = backend.list_tasks(&run.id).expect("tasks");
                if tasks
                    .iter()
                    .any(|t| t.key.task == "name" && t.state == TaskState::Waiting)
                {
                    break run.id;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (_, logs) = wfc(dir.path(), None, &["logs", &run]);
    assert!(
        logs.contains("Pick a name for the release."),
        "the task is shown: {logs}"
    );
    let (_, status) = wfc(dir.path(), None, &["status"]);
    assert!(
        status.contains("waiting for a person: name") && status.contains("--result TEXT"),
        "{status}"
    );
    let (code, answer) = wfc(
        dir.path(),
        None,
        &["approve", &run, "name", "--result", "Aurora; rm -rf /"],
    );
    assert_eq!(code, 0, "{answer}");
    let output = child.wait_with_output().expect("wfc run ends");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(
        read(dir.path(), "name.txt"),
        "Aurora; rm -rf /",
        "the answer is data, passed on"
    );
}

/// A stand-in for the other CLIs: it records its argv, stdin and (for aider) its message
/// file, then prints what the CLI's documentation shows for a successful session.
const FAKE_CLI: &str = r#"#!/usr/bin/env python3
import json, os, sys
name = os.path.basename(sys.argv[0])
record = {"argv": sys.argv[1:], "stdin": sys.stdin.read(), "cwd": os.getcwd()}
if "--message-file" in sys.argv:
    path = sys.argv[sys.argv.index("--message-file") + 1]
    record["message_file"] = open(path).read()
    record["message_file_mode"] = oct(os.stat(path).st_mode & 0o777)
json.dump(record, open(f"call-{name}.json", "w"))
out = {
  "codex": [
    {"type": "thread.started", "thread_id": "0199a213-81c0-7800-8aa1-bbab2a035a53"},
    {"type": "turn.started"},
    {"type": "item.started", "item": {"id": "item_1", "type": "command_execution", "command": "bash -lc ls", "aggregated_output": "", "status": "in_progress"}},
    {"type": "item.completed", "item": {"id": "item_1", "type": "command_execution", "command": "bash -lc ls", "aggregated_output": "x", "exit_code": 0, "status": "completed"}},
    {"type": "item.completed", "item": {"id": "item_3", "type": "agent_message", "text": "codex did it"}},
    {"type": "turn.completed", "usage": {"input_tokens": 24763, "cached_input_tokens": 24448, "output_tokens": 122}},
  ],
  "gemini": [
    {"type": "init", "timestamp": "t", "session_id": "gem-1", "model": "gemini-2.5-pro"},
    {"type": "message", "timestamp": "t", "role": "user", "content": "Gemini task."},
    {"type": "tool_use", "timestamp": "t", "tool_name": "run_shell_command", "tool_id": "c1", "parameters": {"command": "ls"}},
    {"type": "tool_result", "timestamp": "t", "tool_id": "c1", "status": "success", "output": "x"},
    {"type": "message", "timestamp": "t", "role": "assistant", "content": "gemini ", "delta": True},
    {"type": "message", "timestamp": "t", "role": "assistant", "content": "did it", "delta": True},
    {"type": "result", "timestamp": "t", "status": "success", "stats": {"total_tokens": 1050, "input_tokens": 1000, "output_tokens": 50, "cached": 0, "input": 1000, "duration_ms": 5, "tool_calls": 1}},
  ],
  "opencode": [
    {"type": "step_start", "timestamp": 1, "sessionID": "ses_abc", "part": {"type": "step-start"}},
    {"type": "tool_use", "timestamp": 2, "sessionID": "ses_abc", "part": {"tool": "edit", "state": {"status": "completed"}}},
    {"type": "text", "timestamp": 3, "sessionID": "ses_abc", "part": {"type": "text", "text": "opencode did it"}},
    {"type": "step_finish", "timestamp": 4, "sessionID": "ses_abc", "part": {"reason": "stop", "cost": 0.0021, "tokens": {"input": 900, "output": 40, "reasoning": 0, "cache": {"read": 100, "write": 0}}}},
  ],
  "cursor-agent": [{"type": "result", "subtype": "success", "is_error": False, "duration_ms": 1234, "result": "cursor did it", "session_id": "cur-1", "request_id": "r"}],
}
if name == "aider":
    print("Aider v0.86.2\nModel: anthropic/claude-sonnet-4 with diff edit format\nApplied edit to calc.sh\naider did it\nTokens: 2.4k sent, 120 received. Cost: $0.01 message, $0.03 session.")
else:
    for event in out[name]:
        print(json.dumps(event))
"#;

#[test]
fn every_other_cli_adapter_runs_its_documented_protocol() {
    let dir = TempDir::new("wfc-agents-clis");
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    for name in ["codex", "gemini", "aider", "opencode", "cursor-agent"] {
        script(&dir, &format!("bin/{name}"), FAKE_CLI);
    }
    let b = bin.display();
    dir.write(
        "clis.wf",
        &format!(
            r#"agent cx {{
  adapter = "codex"
  bin     = "{b}/codex"
  model   = "gpt-5-codex"
}}

agent gm {{
  adapter       = "gemini"
  bin           = "{b}/gemini"
  approval_mode = "auto_edit"
}}

agent ai {{
  adapter = "aider"
  bin     = "{b}/aider"
  model   = "anthropic/claude-sonnet-4"
}}

agent oc {{
  adapter = "opencode"
  bin     = "{b}/opencode"
  model   = "anthropic/claude-sonnet-4-5"
}}

agent cu {{
  adapter = "cursor"
  bin     = "{b}/cursor-agent"
  args    = ["--sandbox", "enabled"]
}}

workflow w {{
  task codex {{
    prompt = "Codex task: -rf $(whoami) 'quoted'"
    agent  = cx
  }}

  task gemini {{
    prompt = "Gemini task."
    agent  = gm
  }}

  task aider {{
    prompt = "Aider task."
    agent  = ai
  }}

  task opencode {{
    prompt = "OpenCode task."
    agent  = oc
  }}

  task cursor {{
    prompt = "Cursor task."
    agent  = cu
  }}
}}
"#
        ),
    );
    let (code, output) = wfc(dir.path(), None, &["run", "clis.wf", "-j", "1"]);
    assert_eq!(code, 0, "{output}");
    let call = |name: &str| -> Value {
        serde_json::from_str(&read(dir.path(), &format!("call-{name}.json")))
            .expect("a call record")
    };
    let argv = |name: &str| -> Vec<String> {
        serde_json::from_value(call(name)["argv"].clone()).expect("argv")
    };
    assert_eq!(
        argv("codex"),
        [
            "exec",
            "--json",
            "--skip-git-repo-check",
            "--sandbox",
            "workspace-write",
            "--model",
            "gpt-5-codex",
            "-"
        ]
    );
    assert_eq!(
        call("codex")["stdin"],
        "Codex task: -rf $(whoami) 'quoted'\n",
        "the prompt is stdin, byte for byte"
    );
    assert_eq!(
        argv("gemini"),
        [
            "-o",
            "stream-json",
            "--approval-mode",
            "auto_edit",
            "-p",
            "Carry out the task described above."
        ]
    );
    assert_eq!(call("gemini")["stdin"], "Gemini task.\n");
    let aider = argv("aider");
    assert_eq!(aider[0], "--message-file");
    assert!(
        aider.contains(&"--yes-always".to_string())
            && aider.ends_with(&[
                "--model".to_string(),
                "anthropic/claude-sonnet-4".to_string()
            ]),
        "{aider:?}"
    );
    assert_eq!(call("aider")["message_file"], "Aider task.\n");
    assert_eq!(
        call("aider")["message_file_mode"],
        "0o600",
        "the prompt file is private"
    );
    assert_eq!(call("aider")["stdin"], "", "stdin is closed");
    assert!(
        !Path::new(&aider[1]).exists(),
        "the prompt file is removed afterwards"
    );
    assert_eq!(
        argv("opencode"),
        [
            "run",
            "--format",
            "json",
            "-m",
            "anthropic/claude-sonnet-4-5"
        ]
    );
    assert_eq!(
        argv("cursor-agent"),
        [
            "-p",
            "--output-format",
            "json",
            "--trust",
            "--force",
            "--sandbox",
            "enabled"
        ]
    );
    assert_eq!(
        call("cursor-agent")["cwd"].as_str(),
        Some(&*dir.path().display().to_string())
    );

    let (run, tasks) = only_run(dir.path());
    for (id, result) in [
        ("codex", "codex did it"),
        ("gemini", "gemini did it"),
        ("opencode", "opencode did it"),
        ("cursor", "cursor did it"),
    ] {
        assert_eq!(task(&tasks, id).result.as_deref(), Some(result), "{id}");
    }
    assert!(task(&tasks, "aider")
        .result
        .as_deref()
        .is_some_and(|r| r.contains("aider did it") && !r.contains("Tokens:")));
    let usage = |id: &str| sessions(dir.path(), &run, id).remove(0);
    assert_eq!(
        usage("codex")["session_id"],
        "0199a213-81c0-7800-8aa1-bbab2a035a53"
    );
    assert_eq!(
        (
            usage("codex")["input_tokens"].clone(),
            usage("codex")["output_tokens"].clone()
        ),
        (json!(24763), json!(122))
    );
    assert_eq!(
        (
            usage("gemini")["session_id"].clone(),
            usage("gemini")["input_tokens"].clone()
        ),
        (json!("gem-1"), json!(1000))
    );
    assert_eq!(
        (
            usage("aider")["input_tokens"].clone(),
            usage("aider")["cost_usd"].clone()
        ),
        (json!(2400), json!(0.03))
    );
    assert_eq!(
        (
            usage("opencode")["session_id"].clone(),
            usage("opencode")["cost_usd"].clone()
        ),
        (json!("ses_abc"), json!(0.0021))
    );
    assert_eq!(usage("cursor")["session_id"], "cur-1");
}

/// Feeds `lines` to the adapter's parser and judges an exit with `status` and `stderr`.
fn judge(
    adapter: &str,
    lines: &[&str],
    status: ExitStatusKind,
    stderr: &str,
) -> Result<String, String> {
    let agent = cli_agent(adapter).expect("a CLI adapter");
    let mut parser = agent.parser();
    for line in lines {
        parser.line(line);
    }
    let stdout = lines.join("\n");
    parser
        .finish(&Ended {
            status,
            stdout_tail: &stdout,
            stderr_tail: stderr,
        })
        .outcome
}

#[test]
fn each_cli_s_own_failure_signals_fail_the_attempt() {
    let ok = ExitStatusKind::Code(0);
    // Claude Code: an API error can come with subtype "success" and exit code 0.
    let error = judge("claude-code", &[r#"{"type":"result","subtype":"success","is_error":true,"api_error_status":429,"result":"API Error: rate limited","session_id":"s"}"#], ok, "").expect_err("the attempt fails");
    assert!(
        error.contains("429") && error.contains("rate limited"),
        "{error}"
    );
    // Codex: `turn.failed` while exiting 0; and a run that never completed its turn.
    let error = judge(
        "codex",
        &[
            r#"{"type":"thread.started","thread_id":"t"}"#,
            r#"{"type":"turn.failed","error":{"message":"stream disconnected"}}"#,
        ],
        ok,
        "",
    )
    .expect_err("the attempt fails");
    assert!(error.contains("stream disconnected"), "{error}");
    let error = judge(
        "codex",
        &[r#"{"type":"error","message":"Reconnecting... 1/5"}"#],
        ExitStatusKind::Code(1),
        "boom",
    )
    .expect_err("the attempt fails");
    assert!(
        error.contains("Reconnecting") && error.contains("boom"),
        "{error}"
    );
    assert_eq!(
        judge(
            "codex",
            &[
                r#"{"type":"error","message":"Reconnecting... 1/5"}"#,
                r#"{"type":"item.completed","item":{"type":"agent_message","text":"fine"}}"#,
                r#"{"type":"turn.completed","usage":{}}"#
            ],
            ok,
            ""
        ),
        Ok("fine".to_string()),
        "a transient error followed by a completed turn is a success"
    );
    // Gemini: its exit codes mean something.
    let error = judge("gemini", &[r#"{"session_id":"g","error":{"type":"FatalAuthenticationError","message":"API key not valid"}}"#], ExitStatusKind::Code(41), "").expect_err("the attempt fails");
    assert!(
        error.contains("API key not valid") && error.contains("authentication failed"),
        "{error}"
    );
    // Aider exits 0 when it never reached its model.
    let error = judge(
        "aider",
        &["litellm.AuthenticationError: AnthropicException - invalid x-api-key"],
        ok,
        "",
    )
    .expect_err("the attempt fails");
    assert!(error.contains("litellm.AuthenticationError"), "{error}");
    // OpenCode exits 0 with no output when a permission was refused.
    let error = judge("opencode", &[], ok, "").expect_err("the attempt fails");
    assert!(error.contains("permission"), "{error}");
    let error = judge("opencode", &[r#"{"type":"error","sessionID":"s","error":{"name":"ProviderAuthError","data":{"message":"no key"}}}"#], ExitStatusKind::Code(1), "").expect_err("the attempt fails");
    assert!(error.contains("ProviderAuthError: no key"), "{error}");
    // Cursor prints no JSON on failure, only stderr.
    let error = judge(
        "cursor",
        &[],
        ExitStatusKind::Code(1),
        "Error: not authenticated",
    )
    .expect_err("the attempt fails");
    assert!(
        error.contains("not authenticated") && error.contains("exited with code 1"),
        "{error}"
    );
}

#[test]
fn two_claude_code_sessions_at_once_each_work_in_their_own_worktree_of_one_repository() {
    let dir = TempDir::new("wfc-agents-isolated");
    let server = ModelServer::start(vec![
        Rule::new(
            "[[left]]",
            vec![
                Reply::tool(
                    "Bash",
                    json!({"command": "ls > left-saw.txt; echo left > left.txt", "description": "Write left.txt"}),
                ),
                Reply::text("left.txt is written."),
            ],
        ),
        Rule::new(
            "[[right]]",
            vec![
                Reply::tool(
                    "Bash",
                    json!({"command": "ls > right-saw.txt; echo right > right.txt", "description": "Write right.txt"}),
                ),
                Reply::text("right.txt is written."),
            ],
        ),
    ]);
    dir.write(
        "pair.wf",
        r#"agent claude {
  adapter   = "claude-code"
  model     = "claude-sonnet-4-5"
  max_turns = 5
  allow     = ["Bash"]
}

workflow pair {
  defaults {
    agent   = claude
    timeout = 2m
  }

  task left {
    prompt = "[[left]] Write left.txt."
    verify = ["test -s left.txt"]
  }

  task right {
    prompt = "[[right]] Write right.txt."
    verify = ["test -s right.txt"]
  }

  task both after left, right {
    run = "cat left.txt right.txt > both.txt"
  }
}
"#,
    );
    crate::support::git(dir.path(), &["init", "--quiet", "--initial-branch=main"]);
    crate::support::git(dir.path(), &["add", "pair.wf"]);
    crate::support::git(dir.path(), &["commit", "--quiet", "--message=the workflow"]);
    let (code, output) = wfc(
        dir.path(),
        Some(&server),
        &["run", "pair.wf", "--isolation", "git", "-j", "2"],
    );
    assert_eq!(code, 0, "{output}");
    let (run, tasks) = only_run(dir.path());
    for id in ["left", "right", "both"] {
        assert_eq!(task(&tasks, id).state, TaskState::Succeeded, "{id}");
    }
    let branch = format!("wfc/{run}");
    let files = crate::support::git(dir.path(), &["ls-tree", "-r", "--name-only", &branch]);
    let files: Vec<&str> = files.lines().collect();
    assert_eq!(
        files,
        [
            "both.txt",
            "left-saw.txt",
            "left.txt",
            "pair.wf",
            "right-saw.txt",
            "right.txt"
        ]
    );
    // Each session saw the repository as the run started, not the other session's file.
    let left_saw = crate::support::git(dir.path(), &["show", &format!("{branch}:left-saw.txt")]);
    let right_saw = crate::support::git(dir.path(), &["show", &format!("{branch}:right-saw.txt")]);
    assert!(!left_saw.contains("right"), "{left_saw}");
    assert!(!right_saw.contains("left"), "{right_saw}");
    assert_eq!(
        crate::support::git(dir.path(), &["show", &format!("{branch}:both.txt")]),
        "left\nright\n"
    );
    // The user's checkout has none of it.
    assert!(!dir.path().join("left.txt").exists() && !dir.path().join("right.txt").exists());
}
