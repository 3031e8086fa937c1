//! `wfc show RUN TASK`: a task's spec, prompts as sent, transcripts, output, errors and usage,
//! from real runs of the real binary.

use crate::support::{git, run_id, wfc, Run, TempDir};
use std::path::Path;

/// `wfc run` in `dir` with `env` set.
fn run_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_wfc"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("WFC_BACKEND")
        .stdin(std::process::Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("wfc runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `text` with what changes from run to run (ids, times, folders, workers) replaced.
fn stable(text: &str, dir: &Path, run: &str) -> String {
    let text = text
        .replace(run, "RUN")
        .replace(&dir.display().to_string(), "DIR");
    let patterns = [
        (r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d( UTC)?", "TIME"),
        (r"took \d+(\.\d+)?s", "took Ns"),
        (r"worker \S+", "worker WORKER"),
        (r"output commit [0-9a-f]{12}", "output commit COMMIT"),
        (r"index [0-9a-f]+\.\.[0-9a-f]+", "index X..Y"),
    ];
    patterns.iter().fold(text, |text, (pattern, with)| {
        regex::Regex::new(pattern)
            .expect("pattern")
            .replace_all(&text, *with)
            .into_owned()
    })
}

const SECRET: &str = "tok-SHOW-5ecret";

/// A custom agent: reads the prompt, says what it does with the protocol's lines, prints a
/// stderr line of its own (with the secret in it) and a result.
const AGENT: &str = r#"#!/bin/sh
cat > received-prompt.txt
echo "wfc:progress reading the code" >&2
echo "warning: the token is $TOKEN_ECHO" >&2
echo 'wfc:usage {"input_tokens":1200,"output_tokens":34,"cost_usd":0.0125,"session_id":"custom-7"}' >&2
echo "wfc:progress writing the summary" >&2
echo 'wfc:usage {"input_tokens":300,"turns":2}' >&2
echo "The code is fine."
echo "Nothing to change."
"#;

/// A secret cannot be interpolated into a prompt (the checker refuses it, `wf::secret`); it
/// can still reach one through an upstream result, here a command that prints it.
fn agent_workflow() -> String {
    "agent custom {\n  adapter = \"command\"\n  command = [\"./agent.sh\"]\n}\n\nworkflow review {\n  param token: secret\n  task fetch {\n    run = \"echo tracker token: $TOKEN\"\n    env = { TOKEN = \"{{ token }}\" }\n  }\n  task code after fetch {\n    title = \"Review the code\"\n    agent = custom\n    prompt = \"Review the code. The tracker said: {{ fetch.result }}\"\n    timeout = 5m\n    env = { TOKEN_ECHO = \"{{ token }}\" }\n  }\n}\n".to_string()
}

/// Runs the agent workflow in a new folder; returns the folder and the run's id.
fn agent_run() -> (TempDir, String) {
    let dir = TempDir::new("show-agent");
    dir.write("review.wf", &agent_workflow());
    let script = dir.write("agent.sh", AGENT);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let run = run_with(
        dir.path(),
        &["run", "review.wf"],
        &[("WF_SECRET_TOKEN", SECRET)],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let id = run_id(&run.stdout);
    (dir, id)
}

#[test]
fn an_agent_task_of_the_command_adapter_is_shown_whole() {
    let (dir, id) = agent_run();
    let shown = wfc(dir.path(), &["show", &id, "code"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(!shown.stdout.contains(SECRET), "{}", shown.stdout);
    insta::assert_snapshot!("show_command_agent", stable(&shown.stdout, dir.path(), &id));
}

#[test]
fn the_prompt_stored_is_the_one_sent_and_no_secret_is_stored() {
    let (dir, id) = agent_run();
    let received =
        std::fs::read_to_string(dir.path().join("received-prompt.txt")).expect("prompt read");
    assert!(received.contains("tracker token: [redacted]"), "{received}");
    let shown = wfc(dir.path(), &["show", &id, "code", "--json"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let view: serde_json::Value = serde_json::from_str(&shown.stdout).expect("JSON");
    let attempt = &view["attempts"][0];
    assert_eq!(
        attempt["prompts"][0]["prompt"].as_str(),
        Some(received.as_str())
    );
    // Nothing stored holds the secret: the event log, the transcript, the store's file.
    let logs = wfc(dir.path(), &["logs", &id, "--json"]);
    assert!(logs.stdout.contains("prompt_sent"), "{}", logs.stdout);
    assert!(!logs.stdout.contains(SECRET));
    let transcript = dir
        .path()
        .join(".wfc/transcripts")
        .join(&id)
        .join("code/1.jsonl");
    let stored = std::fs::read_to_string(&transcript).expect("transcript stored");
    assert!(stored.contains("the token is [redacted]"), "{stored}");
    assert!(!stored.contains(SECRET));
    let database = std::fs::read(dir.path().join(".wfc/state.db")).expect("store");
    assert!(!String::from_utf8_lossy(&database).contains(SECRET));
    // The usage the protocol reported is the session's.
    let session = &attempt["sessions"][0];
    assert_eq!(session["input_tokens"], 1500);
    assert_eq!(session["output_tokens"], 34);
    assert_eq!(session["session_id"], "custom-7");
    assert_eq!(attempt["transcripts"][0]["steps"][0]["step"], "text");
    // The progress lines were shown live, as a CLI's tool calls are.
    let logs = wfc(dir.path(), &["logs", &id]);
    assert!(logs.stdout.contains("reading the code"), "{}", logs.stdout);
    // `--raw` prints the stream as the program printed it, redacted.
    let raw = wfc(dir.path(), &["show", &id, "code", "--raw"]);
    assert_eq!(raw.code, 0, "{}", raw.stderr);
    assert!(raw.stdout.contains("The code is fine.\n"));
    assert!(raw
        .stdout
        .contains("stderr: wfc:progress reading the code\n"));
    assert!(!raw.stdout.contains(SECRET));
}

#[test]
fn a_failed_command_task_shows_its_whole_verify_output() {
    let dir = TempDir::new("show-verify");
    dir.write(
        "check.sh",
        "#!/bin/sh\necho 'Traceback (most recent call last):' >&2\nfor i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo \"  File \\\"t.py\\\", line $i, in step$i\" >&2; done\necho 'AssertionError: 2 != 3' >&2\nexit 1\n",
    );
    dir.write(
        "build.wf",
        "workflow build {\n  task test {\n    run = \"echo building; echo built\"\n    verify = [\"sh check.sh\"]\n    retry = 1\n  }\n}\n",
    );
    let run = wfc(dir.path(), &["run", "build.wf"]);
    assert_ne!(run.code, 0);
    let id = run_id(&run.stdout);
    let shown = wfc(dir.path(), &["show", &id, "test", "--attempt", "2"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    insta::assert_snapshot!("show_failed_verify", stable(&shown.stdout, dir.path(), &id));
    let all = wfc(dir.path(), &["show", &id, "test"]);
    assert!(all.stdout.contains("attempt 1: retried"), "{}", all.stdout);
    // Asking for what is not there says so.
    let missing = wfc(dir.path(), &["show", &id, "test", "--attempt", "3"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("has no attempt 3: it had 2 attempts"),
        "{}",
        missing.stderr
    );
    let unknown = wfc(dir.path(), &["show", &id, "tset"]);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("did you mean `test`"),
        "{}",
        unknown.stderr
    );
    let raw = wfc(dir.path(), &["show", &id, "test", "--raw"]);
    assert_eq!(raw.code, 1);
    assert!(raw.stderr.contains("no transcript"), "{}", raw.stderr);
}

#[test]
fn a_task_of_a_run_isolated_in_git_shows_its_diff() {
    let dir = TempDir::new("show-git");
    git(dir.path(), &["init", "-q", "-b", "main"]);
    dir.write("README", "hello\n");
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "start"]);
    dir.write(
        "w.wf",
        "agent writer {\n  adapter = \"command\"\n  command = [\"sh\", \"-c\", \"cat > /dev/null; echo new > notes.txt; echo written\"]\n}\n\nworkflow w {\n  task write {\n    agent  = writer\n    prompt = \"Write notes.txt.\"\n  }\n}\n",
    );
    let run = wfc(dir.path(), &["run", "w.wf", "--isolation", "git"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let id = run_id(&run.stdout);
    let shown = wfc(dir.path(), &["show", &id, "write"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(shown.stdout.contains("1 file changed"), "{}", shown.stdout);
    assert!(shown.stdout.contains("+++ b/notes.txt"), "{}", shown.stdout);
    assert!(shown.stdout.contains("    +new"), "{}", shown.stdout);
}

/// What `wfc show RUN TASK` prints in `dir`, for the tests of the real CLIs: it must succeed,
/// and the task's transcript must have been stored.
pub fn shown(dir: &Path, run: &str, task: &str) -> String {
    let shown = wfc(dir, &["show", run, task]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let transcripts = dir.join(".wfc/transcripts").join(run).join(task);
    assert!(
        transcripts.join("1.jsonl").is_file(),
        "no transcript in {}",
        transcripts.display()
    );
    shown.stdout
}
