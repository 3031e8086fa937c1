//! The agent CLIs other than Claude Code, for real: the `wfc` binary runs the real CLI (from
//! npm, pinned in tests/npm_cli.rs) against a scripted server for its provider's API on
//! 127.0.0.1, so the CLI's own tools change real files, and the adapter's argv, environment and
//! parsing meet the CLI's real output. docs/agents.md says which CLIs are tested this way and
//! why the others are not.

use crate::agents::{only_run, read, sessions, task};
use crate::model_server::{Reply, Rule};
use crate::npm_cli::codex_bin;
use crate::openai_server::{OpenAiServer, CACHED_TOKENS, INPUT_TOKENS, OUTPUT_TOKENS};
use crate::support::TempDir;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Stdio};
use wfc::backends::SqliteBackend;
use wfc::runtime::{TaskBackend, TaskState};

/// The API key the tests give Codex; it must never show in anything wfc stores or prints.
const OPENAI_KEY: &str = "sk-openai-test-8d21c4e7f9";

/// A Codex home whose config points the CLI at `server`: a model provider of its own with the
/// Responses wire API, its key from `OPENAI_API_KEY`, and no retries, so a scripted error
/// fails at once instead of after minutes of back-off.
fn codex_home(dir: &Path, server: &OpenAiServer) -> std::path::PathBuf {
    let home = dir.join(".codex-home");
    std::fs::create_dir_all(&home).expect("a Codex home");
    std::fs::write(
        home.join("config.toml"),
        format!(
            r#"model_provider = "wfc-test"
check_for_update_on_startup = false

[model_providers.wfc-test]
name = "wfc test server"
base_url = "{}"
wire_api = "responses"
env_key = "OPENAI_API_KEY"
request_max_retries = 0
stream_max_retries = 0
"#,
            server.url
        ),
    )
    .expect("write config.toml");
    home
}

/// Runs `wfc ARGS` in `dir` with only PATH (the CLI first), HOME, CODEX_HOME and the key:
/// exit code, and stdout followed by stderr.
fn wfc_codex(dir: &Path, server: &OpenAiServer, args: &[&str]) -> (i32, String) {
    let codex = codex_bin();
    let bin_dir = codex.parent().expect("the CLI's folder");
    let home = dir.join(".home");
    std::fs::create_dir_all(&home).expect("a home");
    let output = Command::new(env!("CARGO_BIN_EXE_wfc"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", bin_dir.display()),
        )
        .env("HOME", &home)
        .env("CODEX_HOME", codex_home(dir, server))
        .env("OPENAI_API_KEY", OPENAI_KEY)
        .stdin(Stdio::null())
        .output()
        .expect("wfc runs");
    (
        output.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// Every event of the only run in `dir`, as one text.
fn all_events(dir: &Path, run: &str) -> String {
    let store = SqliteBackend::open(&dir.join(".wfc/state.db")).expect("the store");
    store
        .read_events(run, 0, 100_000)
        .expect("events")
        .into_iter()
        .map(|e| format!("{} {:?} {}\n", e.kind, e.task, e.data))
        .collect()
}

/// The `function_call_output` items a request sends back: what the CLI's tools printed.
fn tool_outputs(request: &Value) -> String {
    request["input"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| item["type"] == "function_call_output")
        .map(|item| item["output"].to_string())
        .collect()
}

#[test]
fn codex_implements_and_reviews_with_real_files() {
    let dir = TempDir::new("wfc-codex-e2e");
    let server = OpenAiServer::start(vec![
        Rule::new(
            "[[implement]]",
            vec![
                Reply::tool(
                    "exec_command",
                    json!({"cmd": "printf 'echo $(( $1 + $2 ))\\n' > calc.sh && sh calc.sh 2 3"}),
                ),
                Reply::text("calc.sh is implemented; `sh calc.sh 2 3` prints 5."),
            ],
        ),
        Rule::new(
            "[[review]]",
            vec![
                Reply::tool(
                    "exec_command",
                    json!({"cmd": "echo \"LGTM: calc.sh 40 2 prints $(sh calc.sh 40 2)\" > REVIEW.md"}),
                ),
                Reply::text("LGTM"),
            ],
        ),
    ]);
    dir.write(
        "build.wf",
        r#"agent codex {
  adapter = "codex"
  model   = "gpt-5-codex"
}

workflow build {
  defaults {
    agent   = codex
    timeout = 2m
  }

  task implement {
    prompt = "[[implement]] Write calc.sh, a script that prints the sum of its two arguments."
    verify = ["test \"$(sh calc.sh 2 3)\" = 5"]
  }

  task review after implement {
    prompt = """
      [[review]] Review calc.sh; write REVIEW.md starting with LGTM if it is right.
      The implementer said: {{ implement.result }}
      """
    verify = ["grep -q '^LGTM' REVIEW.md"]
  }
}
"#,
    );
    let (code, output) = wfc_codex(dir.path(), &server, &["run", "build.wf"]);
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains("$ ") && output.contains("calc.sh"),
        "the CLI's commands are shown live: {output}"
    );
    assert_eq!(
        read(dir.path(), "calc.sh"),
        "echo $(( $1 + $2 ))\n",
        "the real CLI ran the scripted command, which wrote the file"
    );
    assert_eq!(
        read(dir.path(), "REVIEW.md"),
        "LGTM: calc.sh 40 2 prints 42\n"
    );

    let (run, tasks) = only_run(dir.path());
    let mut ids = Vec::new();
    for id in ["implement", "review"] {
        let record = task(&tasks, id);
        assert_eq!(
            (record.state, record.attempts),
            (TaskState::Succeeded, 1),
            "{record:#?}"
        );
        let session = sessions(dir.path(), &run, id);
        assert_eq!(session.len(), 1, "{session:?}");
        // Two requests per session (the tool call, then the final message); OpenAI's input
        // tokens already include the cached ones, so they are not added again.
        assert_eq!(
            (
                session[0]["input_tokens"].as_u64(),
                session[0]["output_tokens"].as_u64()
            ),
            (Some(2 * INPUT_TOKENS), Some(2 * OUTPUT_TOKENS)),
            "{session:?} (cached: {CACHED_TOKENS} a request)"
        );
        assert!(session[0].get("cost_usd").is_none(), "{session:?}");
        ids.push(
            session[0]["session_id"]
                .as_str()
                .expect("a session id")
                .to_string(),
        );
    }
    assert_ne!(ids[0], ids[1], "each task ran in a fresh session");
    assert_eq!(
        task(&tasks, "implement").result.as_deref(),
        Some("calc.sh is implemented; `sh calc.sh 2 3` prints 5.")
    );
    assert_eq!(
        task(&tasks, "review").result.as_deref(),
        Some("LGTM"),
        "the final message is the result"
    );

    let requests = server.requests();
    assert_eq!(requests.len(), 4, "two turns for each of two sessions");
    let names: Vec<&str> = requests[0]["tools"]
        .as_array()
        .expect("the request offers tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(names.contains(&"exec_command"), "{names:?}");
    assert!(requests.iter().all(|r| r["model"] == "gpt-5-codex"));
    // The CLI ran the command and sent its real output back to the model.
    let implement_done = requests
        .iter()
        .find(|r| r["input"].to_string().contains("[[implement]]") && !tool_outputs(r).is_empty())
        .expect("the implement session's second request");
    assert!(
        tool_outputs(implement_done).contains('5'),
        "{}",
        tool_outputs(implement_done)
    );
    // The reviewer's prompt carried the implementer's final message.
    let review = requests
        .iter()
        .find(|r| r["input"].to_string().contains("[[review]]"))
        .expect("the review session");
    assert!(review["input"]
        .to_string()
        .contains("calc.sh is implemented"));
    assert!(
        !all_events(dir.path(), &run).contains(OPENAI_KEY) && !output.contains(OPENAI_KEY),
        "the key never reaches the events or the console"
    );
}

#[test]
fn a_codex_session_the_server_refuses_fails_with_the_reason() {
    let dir = TempDir::new("wfc-codex-refused");
    let server = OpenAiServer::start(vec![Rule::new(
        "[[refused]]",
        vec![Reply::Error(
            400,
            "The scripted server refuses this request".to_string(),
        )],
    )]);
    dir.write(
        "r.wf",
        "agent codex {\n  adapter = \"codex\"\n  model   = \"gpt-5-codex\"\n}\n\nworkflow w {\n  task t {\n    prompt  = \"[[refused]] Anything.\"\n    agent   = codex\n    timeout = 2m\n  }\n}\n",
    );
    let (code, output) = wfc_codex(dir.path(), &server, &["run", "r.wf"]);
    assert_eq!(code, 1, "{output}");
    let (run, tasks) = only_run(dir.path());
    let record = task(&tasks, "t");
    assert_eq!(record.state, TaskState::Failed, "{record:#?}");
    let error = record.last_error.clone().unwrap_or_default();
    assert!(
        error.starts_with("codex: the turn failed: ")
            && error.contains("The scripted server refuses this request (scripted_error)")
            && !error.contains('{'),
        "the provider's refusal, without its JSON: {error}"
    );
    let session = sessions(dir.path(), &run, "t");
    assert_eq!(session.len(), 1, "{session:?}");
    assert!(
        session[0]["session_id"].is_string(),
        "the session id is kept even when the session failed: {session:?}"
    );
    assert!(!server.requests().is_empty(), "the CLI reached the server");
}
