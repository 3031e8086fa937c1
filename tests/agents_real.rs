//! The agent CLIs other than Claude Code, for real: the `wfc` binary runs the real CLI (from
//! npm, pinned in tests/npm_cli.rs) against a scripted server for its provider's API on
//! 127.0.0.1, so the CLI's own tools change real files, and the adapter's argv, environment and
//! parsing meet the CLI's real output. docs/agents.md says which CLIs are tested this way and
//! why the others are not.

use crate::agents::{only_run, read, sessions, task};
use crate::chat_server::{
    self, ChatServer, COMPLETION_TOKENS, PROMPT_TOKENS as CHAT_PROMPT_TOKENS,
};
use crate::gemini_server::{GeminiServer, CANDIDATE_TOKENS, PROMPT_TOKENS};
use crate::model_server::{Reply, Rule};
use crate::npm_cli::{codex_bin, gemini_bin, opencode_bin};
use crate::openai_server::{OpenAiServer, CACHED_TOKENS, INPUT_TOKENS, OUTPUT_TOKENS};
use crate::pypi_cli::aider_bin;
use crate::support::TempDir;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use wfc::backends::SqliteBackend;
use wfc::runtime::{TaskBackend, TaskRecord, TaskState};

/// The API key the tests give Codex; it must never show in anything wfc stores or prints.
const OPENAI_KEY: &str = "sk-openai-test-8d21c4e7f9";

/// The API key the tests give OpenCode's provider.
const OPENCODE_KEY: &str = "sk-compat-test-3c9e02b7d4";

/// The API key the tests give the Gemini CLI.
const GEMINI_KEY: &str = "AIza-gemini-test-51b0e6a3";

/// A Codex home whose config points the CLI at `server` (in `dir`, which must be outside the
/// system's temporary folder: see `TempDir::outside_tmp`): a model provider of its own with the
/// Responses wire API, its key from `OPENAI_API_KEY`, and no retries, so a scripted error
/// fails at once instead of after minutes of back-off.
fn codex_home(dir: &Path, server: &OpenAiServer) -> PathBuf {
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

/// Runs `wfc ARGS` in `dir` with only PATH (the CLI `cli` first), HOME (a folder of its own)
/// and `env`: exit code, and stdout followed by stderr.
fn wfc_with(dir: &Path, cli: &Path, env: &[(&str, String)], args: &[&str]) -> (i32, String) {
    let bin_dir = cli.parent().expect("the CLI's folder");
    let mut command = Command::new(env!("CARGO_BIN_EXE_wfc"));
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", bin_dir.display()),
        )
        .env("HOME", home(dir))
        // A provider's limit that says no reset time is waited out for a second, not a minute.
        .env("WFC_LIMIT_BACKOFF_SECS", "1")
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("wfc runs");
    (
        output.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// The home folder the CLIs get, inside the test's folder.
fn home(dir: &Path) -> PathBuf {
    let home = dir.join(".home");
    std::fs::create_dir_all(&home).expect("a home");
    home
}

/// Runs `wfc ARGS` with the Codex CLI pointed at `server`.
pub(crate) fn wfc_codex(dir: &Path, server: &OpenAiServer, args: &[&str]) -> (i32, String) {
    let home = codex_home(dir, server).display().to_string();
    wfc_with(
        dir,
        &codex_bin(),
        &[
            ("CODEX_HOME", home),
            ("OPENAI_API_KEY", OPENAI_KEY.to_string()),
        ],
        args,
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
    let dir = TempDir::outside_tmp("wfc-codex-e2e");
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
    // `wfc show` reads the stored transcript back: the CLI's commands and its final message.
    let shown = crate::show::shown(dir.path(), &only_run(dir.path()).0, "implement");
    assert!(
        shown.contains("→ shell ") && shown.contains("calc.sh"),
        "{shown}"
    );
    assert!(
        shown.contains("final message: calc.sh is implemented"),
        "{shown}"
    );
    assert!(!shown.contains(OPENAI_KEY));

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
    for session in fresh_sessions(dir.path(), &run, &tasks, &["implement", "review"]) {
        // Two requests per session (the tool call, then the final message); OpenAI's input
        // tokens already include the cached ones, so they are not added again.
        assert_eq!(
            (
                session["input_tokens"].as_u64(),
                session["output_tokens"].as_u64()
            ),
            (Some(2 * INPUT_TOKENS), Some(2 * OUTPUT_TOKENS)),
            "{session:?} (cached: {CACHED_TOKENS} a request)"
        );
        assert!(session.get("cost_usd").is_none(), "{session:?}");
    }
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
fn codex_works_inside_wfcs_sandbox_with_its_own_sandbox_left_to_wfc() {
    let dir = TempDir::outside_tmp("wfc-codex-sandbox");
    let ssh = home(dir.path()).join(".ssh");
    std::fs::create_dir_all(&ssh).expect("~/.ssh");
    std::fs::write(ssh.join("id_test"), "PRIVATE-KEY\n").expect("a key");
    let server = OpenAiServer::start(vec![Rule::new(
        "[[boxed]]",
        vec![
            Reply::tool(
                "exec_command",
                json!({"cmd": "echo inside > ok.txt; cat \"$HOME/.ssh/id_test\" > seen.txt 2>/dev/null || echo hidden > seen.txt"}),
            ),
            Reply::text("done"),
        ],
    )]);
    dir.write(
        "w.wf",
        "agent codex {\n  adapter = \"codex\"\n  model   = \"gpt-5-codex\"\n}\n\nworkflow w {\n  task t {\n    prompt  = \"[[boxed]] Write ok.txt.\"\n    agent   = codex\n    timeout = 2m\n    sandbox = \"bwrap\"\n    verify  = [\"test -f ok.txt\"]\n  }\n}\n",
    );
    let (code, output) = wfc_codex(dir.path(), &server, &["run", "w.wf"]);
    assert_eq!(code, 0, "{output}");
    assert_eq!(
        read(dir.path(), "ok.txt"),
        "inside\n",
        "the CLI's command ran"
    );
    assert_eq!(
        read(dir.path(), "seen.txt"),
        "hidden\n",
        "inside wfc's sandbox the home is hidden"
    );
}

#[test]
fn a_codex_session_the_server_refuses_fails_with_the_reason() {
    let dir = TempDir::outside_tmp("wfc-codex-refused");
    let server = OpenAiServer::start(vec![Rule::new(
        "[[refused]]",
        vec![Reply::Error(
            400,
            "The scripted server refuses this request".to_string(),
        )],
    )]);
    let (run, error) = refused_task_error(&dir, "agent codex {\n  adapter = \"codex\"\n  model   = \"gpt-5-codex\"\n}\n\nworkflow w {\n  task t {\n    prompt  = \"[[refused]] Anything.\"\n    agent   = codex\n    timeout = 2m\n  }\n}\n", |dir, args| wfc_codex(dir, &server, args));
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

/// Runs `wfc ARGS` with the Gemini CLI pointed at `server`. Its user settings choose API-key
/// authentication: with `GOOGLE_GEMINI_BASE_URL` set, the CLI's own guess is a `gateway`
/// method that its headless check then rejects ("Invalid auth method selected."). The
/// workspace is trusted for the session, or the CLI turns `--approval-mode yolo` back into
/// `default`, which in headless mode removes every tool that writes.
pub(crate) fn wfc_gemini(dir: &Path, server: &GeminiServer, args: &[&str]) -> (i32, String) {
    let settings = home(dir).join(".gemini");
    std::fs::create_dir_all(&settings).expect("the Gemini settings folder");
    std::fs::write(
        settings.join("settings.json"),
        // One attempt a request: the CLI would retry a scripted limit ten times first.
        json!({"security": {"auth": {"selectedType": "gemini-api-key"}}, "general": {"maxAttempts": 1}}).to_string(),
    )
    .expect("write settings.json");
    wfc_with(
        dir,
        &gemini_bin(),
        &[
            ("GEMINI_API_KEY", GEMINI_KEY.to_string()),
            ("GOOGLE_GEMINI_BASE_URL", server.url.clone()),
            ("GEMINI_CLI_TRUST_WORKSPACE", "true".to_string()),
        ],
        args,
    )
}

#[test]
fn gemini_implements_and_reviews_with_real_files() {
    let dir = TempDir::new("wfc-gemini-e2e");
    let d = dir.path().display().to_string();
    let server = GeminiServer::start(vec![
        Rule::new(
            "[[implement]]",
            vec![
                Reply::tool(
                    "write_file",
                    json!({"file_path": format!("{d}/calc.sh"), "content": "echo $(( $1 + $2 ))\n"}),
                ),
                Reply::tool(
                    "run_shell_command",
                    json!({"command": "sh calc.sh 2 3", "description": "Try it"}),
                ),
                Reply::text("calc.sh is implemented; `sh calc.sh 2 3` prints 5."),
            ],
        ),
        Rule::new(
            "[[review]]",
            vec![
                // The CLI refuses commands with `$(…)` ("Command injection detected").
                Reply::tool(
                    "run_shell_command",
                    json!({"command": "{ printf 'LGTM: calc.sh 40 2 prints '; sh calc.sh 40 2; } > REVIEW.md"}),
                ),
                Reply::text("LGTM"),
            ],
        ),
    ]);
    dir.write(
        "build.wf",
        r#"agent gemini {
  adapter = "gemini"
  model   = "gemini-2.5-pro"
}

workflow build {
  defaults {
    agent   = gemini
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
    let (code, output) = wfc_gemini(dir.path(), &server, &["run", "build.wf"]);
    assert_eq!(code, 0, "{output}");
    // `wfc show` reads the stored transcript back: the tools called and the final message.
    let shown = crate::show::shown(dir.path(), &only_run(dir.path()).0, "implement");
    assert!(shown.contains("→ write_file "), "{shown}");
    assert!(shown.contains("→ run_shell_command "), "{shown}");
    assert!(
        shown.contains("final message: calc.sh is implemented"),
        "{shown}"
    );
    assert!(!shown.contains(GEMINI_KEY));

    assert_eq!(
        read(dir.path(), "calc.sh"),
        "echo $(( $1 + $2 ))\n",
        "the real CLI's write_file tool wrote the file"
    );
    assert_eq!(
        read(dir.path(), "REVIEW.md"),
        "LGTM: calc.sh 40 2 prints 42\n"
    );

    let (run, tasks) = only_run(dir.path());
    let sessions = fresh_sessions(dir.path(), &run, &tasks, &["implement", "review"]);
    for (session, requests) in sessions.into_iter().zip([3, 2]) {
        assert_eq!(
            (
                session["input_tokens"].as_u64(),
                session["output_tokens"].as_u64(),
                session["turns"].as_u64()
            ),
            (
                Some(requests * PROMPT_TOKENS),
                Some(requests * CANDIDATE_TOKENS),
                Some(requests)
            ),
            "{session:?}"
        );
    }
    assert_eq!(
        task(&tasks, "review").result.as_deref(),
        Some("LGTM"),
        "the final message is the result"
    );

    let requests = server.requests();
    assert!(
        requests
            .iter()
            .all(|(path, _)| path.contains("/models/gemini-2.5-pro:")),
        "the profile's model is the one asked: {:?}",
        requests.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    let names: Vec<String> = requests[0].1["tools"]
        .as_array()
        .expect("the request offers tools")
        .iter()
        .flat_map(|t| t["functionDeclarations"].as_array().into_iter().flatten())
        .filter_map(|f| f["name"].as_str().map(str::to_string))
        .collect();
    assert!(
        names.iter().any(|n| n == "write_file") && names.iter().any(|n| n == "run_shell_command"),
        "the approval mode let the CLI offer its writing tools: {names:?}"
    );
    // The CLI ran the command and sent its real output back to the model.
    let ran = requests
        .iter()
        .map(|(_, body)| body["contents"].to_string())
        .find(|contents| {
            contents.contains("[[implement]]")
                && contents.contains("functionResponse")
                && contents.contains("run_shell_command")
        })
        .expect("the implement session's last request");
    assert!(ran.contains("Output: 5"), "{ran}");
    let review = requests
        .iter()
        .map(|(_, body)| body["contents"].to_string())
        .find(|contents| contents.contains("[[review]]"))
        .expect("the review session");
    assert!(review.contains("calc.sh is implemented"));
    assert!(
        !all_events(dir.path(), &run).contains(GEMINI_KEY) && !output.contains(GEMINI_KEY),
        "the key never reaches the events or the console"
    );
}

#[test]
fn a_gemini_session_the_server_refuses_fails_with_the_reason() {
    let dir = TempDir::new("wfc-gemini-refused");
    let server = GeminiServer::start(vec![Rule::new(
        "[[refused]]",
        vec![Reply::Error(
            400,
            "The scripted server refuses this request".to_string(),
        )],
    )]);
    let (_, error) = refused_task_error(&dir, "agent gemini {\n  adapter = \"gemini\"\n  model   = \"gemini-2.5-pro\"\n}\n\nworkflow w {\n  task t {\n    prompt  = \"[[refused]] Anything.\"\n    agent   = gemini\n    timeout = 2m\n  }\n}\n", |dir, args| wfc_gemini(dir, &server, args));
    assert!(
        error.starts_with("gemini: the session failed: The scripted server refuses this request (INVALID_ARGUMENT)"),
        "the API's refusal, read from the object the CLI prints on stderr: {error}"
    );
    assert!(!server.requests().is_empty(), "the CLI reached the server");
}

/// Runs `wfc ARGS` with OpenCode pointed at `server`: its configuration (given whole in
/// `OPENCODE_CONFIG_CONTENT`) declares an OpenAI-compatible provider at the server's address,
/// whose key is [`OPENCODE_KEY`], and makes its one model the default.
pub(crate) fn wfc_opencode(dir: &Path, server: &ChatServer, args: &[&str]) -> (i32, String) {
    let config = json!({
        "provider": {"scripted": {
            "npm": "@ai-sdk/openai-compatible",
            "name": "wfc test server",
            "options": {"baseURL": server.url, "apiKey": OPENCODE_KEY},
            "models": {"scripted-1": {"name": "scripted-1"}},
        }},
        "model": "scripted/scripted-1",
    });
    wfc_with(
        dir,
        &opencode_bin(),
        &[("OPENCODE_CONFIG_CONTENT", config.to_string())],
        args,
    )
}

#[test]
fn opencode_implements_and_reviews_with_real_files() {
    let dir = TempDir::new("wfc-opencode-e2e");
    let d = dir.path().display().to_string();
    let server = ChatServer::start(vec![
        Rule::new(
            "[[implement]]",
            vec![
                Reply::tool(
                    "write",
                    json!({"filePath": format!("{d}/calc.sh"), "content": "echo $(( $1 + $2 ))\n"}),
                ),
                Reply::text("calc.sh is implemented; `sh calc.sh 2 3` prints 5."),
            ],
        ),
        Rule::new(
            "[[review]]",
            vec![
                Reply::tool("bash", json!({"command": "sh calc.sh 40 2 > checked.txt"})),
                Reply::tool(
                    "write",
                    json!({"filePath": format!("{d}/REVIEW.md"), "content": "LGTM: calc.sh 40 2 prints 42.\n"}),
                ),
                Reply::text("LGTM"),
            ],
        ),
    ]);
    dir.write(
        "build.wf",
        r#"agent oc {
  adapter = "opencode"
  model   = "scripted/scripted-1"
}

workflow build {
  defaults {
    agent   = oc
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
    verify = ["grep -q '^LGTM' REVIEW.md", "test \"$(cat checked.txt)\" = 42"]
  }
}
"#,
    );
    let (code, output) = wfc_opencode(dir.path(), &server, &["run", "build.wf"]);
    assert_eq!(code, 0, "{output}");
    // `wfc show` reads the stored transcript back: tool calls with their input, the final
    // message.
    let shown = crate::show::shown(dir.path(), &only_run(dir.path()).0, "review");
    assert!(
        shown.contains("→ bash ") && shown.contains("sh calc.sh 40 2"),
        "{shown}"
    );
    assert!(shown.contains("→ write "), "{shown}");
    assert!(shown.contains("final message: LGTM"), "{shown}");
    assert!(!shown.contains(OPENCODE_KEY));

    assert!(
        output.contains("write") && output.contains("bash"),
        "tool calls are shown live: {output}"
    );
    assert_eq!(
        read(dir.path(), "calc.sh"),
        "echo $(( $1 + $2 ))\n",
        "the real CLI's write tool wrote the file"
    );
    assert_eq!(
        read(dir.path(), "checked.txt"),
        "42\n",
        "its bash tool ran in the task's workdir"
    );

    let (run, tasks) = only_run(dir.path());
    for session in fresh_sessions(dir.path(), &run, &tasks, &["implement", "review"]) {
        let steps = session["turns"].as_u64().expect("steps");
        assert!(steps >= 2, "{session:?}");
        assert_eq!(
            session["input_tokens"],
            json!(steps * CHAT_PROMPT_TOKENS),
            "{session:?}"
        );
        assert_eq!(
            session["output_tokens"],
            json!(steps * COMPLETION_TOKENS),
            "{session:?}"
        );
        let session_id = session["session_id"].as_str().expect("a session id");
        assert!(session_id.starts_with("ses_"), "{session_id}");
    }
    assert_eq!(task(&tasks, "review").result.as_deref(), Some("LGTM"));
    let review = server
        .session_requests()
        .into_iter()
        .map(|r| chat_server::user_text(&r))
        .find(|text| text.contains("[[review]]"))
        .expect("the review session");
    assert!(
        review.contains("calc.sh is implemented"),
        "the reviewer's prompt carries the result"
    );
    assert!(
        !all_events(dir.path(), &run).contains(OPENCODE_KEY) && !output.contains(OPENCODE_KEY),
        "the key never reaches the events or the console"
    );
}

#[test]
fn an_opencode_session_the_provider_refuses_fails_with_the_reason() {
    let dir = TempDir::new("wfc-opencode-refused");
    let server = ChatServer::start(vec![Rule::new(
        "[[refused]]",
        vec![Reply::Error(
            400,
            "The scripted server refuses this request".to_string(),
        )],
    )]);
    let (_, error) = refused_task_error(&dir, "agent oc {\n  adapter = \"opencode\"\n  model   = \"scripted/scripted-1\"\n}\n\nworkflow w {\n  task t {\n    prompt  = \"[[refused]] Anything.\"\n    agent   = oc\n    timeout = 2m\n  }\n}\n", |dir, args| wfc_opencode(dir, &server, args));
    assert!(
        error.starts_with("opencode: ")
            && error.contains("The scripted server refuses this request"),
        "the provider's refusal: {error}"
    );
}

/// Runs `wfc ARGS` with Aider pointed at `server` as an OpenAI-compatible endpoint.
pub(crate) fn wfc_aider(dir: &Path, server: &ChatServer, args: &[&str]) -> (i32, String) {
    wfc_with(
        dir,
        &aider_bin(),
        &[
            ("OPENAI_API_BASE", server.url.clone()),
            ("OPENAI_API_KEY", OPENCODE_KEY.to_string()),
        ],
        args,
    )
}

/// An Aider profile for the scripted server: a model it has no metadata for, the `whole` edit
/// format (the reply is the file's whole new text), and no git repository.
pub(crate) const AIDER_PROFILE: &str = r#"agent aider {
  adapter = "aider"
  model   = "openai/scripted-1"
  args    = ["--edit-format", "whole", "--no-git", "--no-show-model-warnings"]
}
"#;

#[test]
fn aider_writes_a_real_file_from_the_models_reply() {
    let dir = TempDir::new("wfc-aider-e2e");
    let server = ChatServer::start_for_text_edits(vec![Rule::new(
        "[[implement]]",
        vec![Reply::text("calc.sh\n```\necho $(( $1 + $2 ))\n```\n")],
    )]);
    dir.write(
        "build.wf",
        &format!(
            "{AIDER_PROFILE}\nworkflow build {{\n  task implement {{\n    prompt  = \"[[implement]] Create calc.sh, which prints the sum of its two arguments.\"\n    agent   = aider\n    timeout = 2m\n    verify  = [\"test \\\"$(sh calc.sh 2 3)\\\" = 5\"]\n  }}\n}}\n"
        ),
    );
    let (code, output) = wfc_aider(dir.path(), &server, &["run", "build.wf"]);
    assert_eq!(code, 0, "{output}");
    assert_eq!(
        read(dir.path(), "calc.sh"),
        "echo $(( $1 + $2 ))\n",
        "the real Aider applied the edit"
    );
    let (run, tasks) = only_run(dir.path());
    let record = task(&tasks, "implement");
    assert_eq!(
        (record.state, record.attempts),
        (TaskState::Succeeded, 1),
        "{record:#?}"
    );
    assert!(
        record
            .result
            .as_deref()
            .is_some_and(|r| r.contains("Applied edit to calc.sh") && !r.contains("Tokens:")),
        "{record:#?}"
    );
    let session = sessions(dir.path(), &run, "implement");
    assert_eq!(session.len(), 1, "{session:?}");
    assert_eq!(
        session[0]["output_tokens"],
        json!(COMPLETION_TOKENS),
        "read from its Tokens line: {session:?}"
    );
    let prompt = server
        .requests()
        .iter()
        .map(chat_server::user_text)
        .find(|text| text.contains("[[implement]]"))
        .expect("the session's request");
    assert!(
        prompt.contains("Create calc.sh"),
        "the prompt file reached the model"
    );
    assert!(!all_events(dir.path(), &run).contains(OPENCODE_KEY) && !output.contains(OPENCODE_KEY));
}

#[test]
fn aider_that_cannot_reach_its_model_fails_although_it_exits_zero() {
    let dir = TempDir::new("wfc-aider-refused");
    let server = ChatServer::start_for_text_edits(vec![Rule::new(
        "[[refused]]",
        vec![Reply::Error(
            401,
            "The scripted server refuses this key".to_string(),
        )],
    )]);
    let (_, error) = refused_task_error(&dir, &format!(
            "{AIDER_PROFILE}\nworkflow w {{\n  task t {{\n    prompt  = \"[[refused]] Anything.\"\n    agent   = aider\n    timeout = 2m\n  }}\n}}\n"
        ), |dir, args| wfc_aider(dir, &server, args));
    assert!(
        error.starts_with("aider: aider could not use its model: ") && error.contains("litellm."),
        "{error}"
    );
}

/// Runs `workflow` (one task `t`, whose prompt the server refuses) through `run_wfc`, checks
/// that the run and its task failed, and returns the run's id and the task's error.
fn refused_task_error(
    dir: &TempDir,
    workflow: &str,
    run_wfc: impl Fn(&Path, &[&str]) -> (i32, String),
) -> (String, String) {
    dir.write("r.wf", workflow);
    let (code, output) = run_wfc(dir.path(), &["run", "r.wf"]);
    assert_eq!(code, 1, "{output}");
    let (run, tasks) = only_run(dir.path());
    let record = task(&tasks, "t");
    assert_eq!(record.state, TaskState::Failed, "{record:#?}");
    (run, record.last_error.clone().unwrap_or_default())
}

/// The one session of each task in `ids`, after checking that each task succeeded in its first
/// attempt and that each ran in a session of its own (distinct session ids).
fn fresh_sessions(dir: &Path, run: &str, tasks: &[TaskRecord], ids: &[&str]) -> Vec<Value> {
    let mut found: Vec<Value> = Vec::new();
    for id in ids {
        let record = task(tasks, id);
        assert_eq!(
            (record.state, record.attempts),
            (TaskState::Succeeded, 1),
            "{record:#?}"
        );
        let mut session = sessions(dir, run, id);
        assert_eq!(session.len(), 1, "{id}: {session:?}");
        found.push(session.remove(0));
    }
    let mut session_ids: Vec<&str> = found
        .iter()
        .map(|s| s["session_id"].as_str().expect("a session id"))
        .collect();
    session_ids.sort_unstable();
    session_ids.dedup();
    assert_eq!(
        session_ids.len(),
        ids.len(),
        "each task ran in a fresh session: {found:?}"
    );
    found
}
