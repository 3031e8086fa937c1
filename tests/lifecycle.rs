//! A run's lifecycle with the real binary: what a run reports while and after it runs.

use crate::support::{run_id, TempDir};
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `wfc` in `dir` to the end; returns its exit code, stdout and stderr.
pub(crate) fn wfc(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_wfc"))
        .args(args)
        .current_dir(dir)
        .env_remove("WFC_BACKEND")
        .stdin(Stdio::null())
        .output()
        .expect("wfc runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Starts `wfc ARGS` in `dir` in the background, its stdout kept for [`stop`] to return.
fn spawn(dir: &Path, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_wfc"))
        .args(args)
        .current_dir(dir)
        .env_remove("WFC_BACKEND")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("wfc starts")
}

/// Waits (20 s at most) until `path` exists and has something in it.
fn wait_for(path: &Path) {
    let started = std::time::Instant::now();
    while std::fs::metadata(path).map_or(true, |meta| meta.len() == 0) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Stops a background `wfc` with SIGTERM and returns what it printed.
fn stop(child: std::process::Child) -> String {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let output = child.wait_with_output().expect("wfc ends");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_end_of_a_commands_output_reaches_the_log() {
    let dir = TempDir::new("wfc-output-end");
    // A first line, then a burst of lines and a summary well inside one throttle interval
    // after it: only a flush when the process ends can report the summary.
    std::fs::write(
        dir.path().join("burst.wf"),
        "workflow burst {\n  task test {\n    run = \"echo line 1; sleep 0.1; for i in 2 3 4 5; do echo line $i; done; echo 'test result: ok. 5 passed'\"\n  }\n}\n",
    )
    .expect("write the workflow");
    let (code, stdout, stderr) = wfc(dir.path(), &["run", "burst.wf"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let run = run_id(&stdout);
    let (code, logs, stderr) = wfc(dir.path(), &["logs", &run, "test"]);
    assert_eq!(code, 0, "{stderr}");
    let mut expected: Vec<String> = (1..=5).map(|i| format!("line {i}")).collect();
    expected.push("test result: ok. 5 passed".into());
    let printed: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("task_output"))
        .collect();
    for line in &expected {
        assert!(
            printed
                .iter()
                .any(|p| p.trim_end().ends_with(line.as_str())),
            "`{line}` is missing from the log:\n{logs}"
        );
    }
}

/// Writes `text` as `NAME` in `dir`.
pub(crate) fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write a file");
}

/// Lets `path` be run as a program.
fn make_executable(path: &Path) {
    let mut permissions = std::fs::metadata(path).expect("the script").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(path, permissions).expect("chmod");
}

/// Asserts that `wfc run ARGS` in `dir` is refused with a message containing `expected`, and
/// that nothing was stored: no store file, so no run a worker could pick up.
fn refused_before_storing(dir: &Path, args: &[&str], expected: &[&str]) {
    let (code, stdout, stderr) = wfc(dir, args);
    assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
    for part in expected {
        assert!(
            stderr.contains(part),
            "{args:?}: `{part}` is not in {stderr}"
        );
    }
    assert!(
        !stdout.contains("run "),
        "{args:?} announced a run: {stdout}"
    );
    assert!(
        !dir.join(".wfc").exists(),
        "{args:?} created a store although the run was refused"
    );
}

#[test]
fn a_run_with_bad_options_or_missing_agents_is_refused_and_nothing_is_stored() {
    let dir = TempDir::new("wfc-validate-first");
    write(
        dir.path(),
        "agentic.wf",
        "workflow agentic {\n  task design {\n    prompt = \"Design it.\"\n  }\n  task build after design {\n    run = \"true\"\n  }\n}\n",
    );
    write(
        dir.path(),
        "profiles.wf",
        "agent ghost {\n  adapter = \"claude-code\"\n  bin = \"/nonexistent/claude\"\n}\nagent script {\n  adapter = \"command\"\n  command = [\"./agent.sh\"]\n}\nworkflow profiles {\n  task design {\n    prompt = \"Design it.\"\n    agent = ghost\n  }\n  task code {\n    prompt = \"Code it.\"\n    agent = script\n  }\n}\n",
    );
    // A typo in an adapter's name.
    refused_before_storing(
        dir.path(),
        &["run", "agentic.wf", "--agent", "claud"],
        &["`claud` is not an adapter"],
    );
    // An event sink that does not exist.
    refused_before_storing(
        dir.path(),
        &[
            "run",
            "agentic.wf",
            "--agent",
            "codex",
            "--events",
            "bogus:x",
        ],
        &["`--events bogus:x` is not an event sink"],
    );
    // An agent task with no profile, and no adapter chosen for the run.
    refused_before_storing(
        dir.path(),
        &["run", "agentic.wf"],
        &["task `design`", "names no agent profile"],
    );
    // A CLI that is not installed, and a command agent whose program is not there: both named.
    refused_before_storing(
        dir.path(),
        &["run", "profiles.wf", "--events", "jsonl:events.jsonl"],
        &[
            "`/nonexistent/claude` of the agent profile `ghost`",
            "npm install -g @anthropic-ai/claude-code",
            "`./agent.sh` of the agent profile `script`",
        ],
    );
    assert!(
        !dir.path().join("events.jsonl").exists(),
        "a refused run leaves no events file"
    );
    // No tasks at once is no run at all.
    refused_before_storing(dir.path(), &["run", "agentic.wf", "-j", "0"], &["--jobs 0"]);
    // A program that exists but cannot be executed is named as such.
    write(
        dir.path(),
        "agent.sh",
        "#!/bin/sh\ncat >/dev/null\necho done\n",
    );
    refused_before_storing(
        dir.path(),
        &["run", "profiles.wf"],
        &[
            "`./agent.sh` of the agent profile `script`",
            "is not executable",
        ],
    );
    // Once it is executable, a run of it starts and succeeds.
    make_executable(&dir.path().join("agent.sh"));
    write(
        dir.path(),
        "scripted.wf",
        "agent script {\n  adapter = \"command\"\n  command = [\"./agent.sh\"]\n}\nworkflow scripted {\n  task code {\n    prompt = \"Code it.\"\n    agent = script\n  }\n}\n",
    );
    let (code, stdout, stderr) = wfc(dir.path(), &["run", "scripted.wf"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

/// Starts `wfc run` of a task whose processes would run for ever, waits until they run, sends
/// `signal` to wfc and returns how wfc ended and the task's process group.
fn signal_a_running_task(signal: nix::sys::signal::Signal) -> (std::process::ExitStatus, i32) {
    let dir = TempDir::new("wfc-signal");
    write(
        dir.path(),
        "forever.wf",
        "workflow forever {\n  task hang {\n    run = \"echo $$ > pgid; sleep 1000 & sleep 1000\"\n  }\n}\n",
    );
    let mut child = spawn(dir.path(), &["run", "forever.wf"]);
    let pgid_file = dir.path().join("pgid");
    wait_for(&pgid_file);
    let pgid: i32 = std::fs::read_to_string(&pgid_file)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .expect("the task wrote its group");
    let wfc = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(wfc, signal).expect("signal wfc");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for wfc") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("wfc did not stop within 10 s of {signal}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    // The group's processes may take a moment to be reaped after SIGKILL.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while crate::run::group_alive(pgid) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    (status, pgid)
}

#[test]
fn sigterm_sighup_and_ctrl_c_stop_wfc_and_every_process_of_its_tasks() {
    use nix::sys::signal::Signal;
    for signal in [Signal::SIGTERM, Signal::SIGHUP, Signal::SIGINT] {
        let (status, pgid) = signal_a_running_task(signal);
        assert_eq!(status.code(), Some(130), "{signal}: wfc ended {status}");
        assert!(
            !crate::run::group_alive(pgid),
            "{signal}: a process of the task outlived wfc"
        );
    }
}

/// Starts `wfc ARGS` in `dir`, stops it with SIGTERM once `ready` holds (polled for 20 s at
/// most), and returns the run's id: a run that stays `running`.
fn stopped_run(dir: &Path, args: &[&str], ready: &dyn Fn() -> bool) -> String {
    let child = spawn(dir, args);
    let started = std::time::Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "`wfc {args:?}` never got where the test stops it"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    run_id(&stop(child))
}

/// Whether `dir` holds a file `name`.
fn has(dir: &Path, name: &str) -> impl Fn() -> bool {
    let path = dir.join(name);
    move || path.exists()
}

/// Whether the newest run of `dir` has a gate (or human task) waiting for an answer.
fn waits_for_a_person(dir: &Path) -> impl Fn() -> bool + '_ {
    move || {
        let (_, json, _) = wfc(dir, &["status", "--json"]);
        json.contains("\"state\": \"waiting\"")
    }
}

#[test]
fn resume_says_when_the_workflow_file_changed_and_runs_the_snapshot() {
    let dir = TempDir::new("wfc-drift");
    write(
        dir.path(),
        "edited.wf",
        "workflow edited {\n  task a {\n    run = \"touch started; test -f go || sleep 1000; echo old > which\"\n  }\n}\n",
    );
    let run = stopped_run(
        dir.path(),
        &["run", "edited.wf", "--lease", "0.5"],
        &has(dir.path(), "started"),
    );
    write(dir.path(), "go", "");
    write(
        dir.path(),
        "edited.wf",
        "workflow edited {\n  task a {\n    run = \"echo new > which\"\n  }\n  task b after a {\n    run = \"true\"\n  }\n}\n",
    );
    let (code, stdout, stderr) = wfc(dir.path(), &["resume", &run]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains("edited.wf has changed since the run started (changed: `a`; added: `b`)")
            && stderr.contains("continues on the plan it started with"),
        "{stderr}"
    );
    let which = std::fs::read_to_string(dir.path().join("which")).expect("a ran");
    assert_eq!(which.trim(), "old", "the snapshot's command ran");
}

#[test]
fn resume_says_nothing_of_an_unchanged_file_and_names_a_file_that_cannot_be_planned() {
    let dir = TempDir::new("wfc-no-drift");
    let gated = "workflow gated {\n  param who: string = \"ada\"\n  gate ok {\n    ask = \"Go on, {{ who }}?\"\n  }\n  task after_ok after ok {\n    run = \"echo {{ who }}\"\n  }\n}\n";
    write(dir.path(), "gated.wf", gated);
    write(dir.path(), "gone.wf", gated);
    // Unchanged, planned again with the run's own `who=grace`: no note.
    let run = stopped_run(
        dir.path(),
        &["run", "gated.wf", "-p", "who=grace"],
        &waits_for_a_person(dir.path()),
    );
    let (code, _, stderr) = wfc(dir.path(), &["approve", &run, "ok"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = wfc(dir.path(), &["resume", &run]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(!stderr.contains("note:"), "{stderr}");
    // A file that is gone is named, and the run still resumes on its snapshot.
    let run = stopped_run(
        dir.path(),
        &["run", "gone.wf"],
        &waits_for_a_person(dir.path()),
    );
    std::fs::remove_file(dir.path().join("gone.wf")).expect("remove the file");
    let (code, _, stderr) = wfc(dir.path(), &["approve", &run, "ok"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = wfc(dir.path(), &["resume", &run]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains("gone.wf can no longer be planned as the run was"),
        "{stderr}"
    );
}

#[test]
fn pass_env_passes_named_variables_through_and_nothing_else() {
    let dir = TempDir::new("wfc-pass-env");
    write(
        dir.path(),
        "passing.wf",
        r#"agent scripted {
  adapter  = "command"
  command  = ["sh", "-c", "cat >/dev/null; echo c=$WFC_PASS_C a=${WFC_PASS_A:-unset}"]
  pass_env = ["WFC_PASS_C"]
}

workflow passing {
  defaults {
    pass_env = ["WFC_PASS_A"]
  }

  task command {
    pass_env = ["WFC_PASS_B", "WFC_PASS_A"]
    run      = "echo a=$WFC_PASS_A b=$WFC_PASS_B other=${WFC_NOT_PASSED:-unset}"
  }

  task report {
    prompt = "Report."
    agent  = scripted
  }
}
"#,
    );
    let output = Command::new(env!("CARGO_BIN_EXE_wfc"))
        .args(["run", "passing.wf"])
        .current_dir(dir.path())
        .env_remove("WFC_BACKEND")
        .env("WFC_PASS_A", "alpha")
        .env("WFC_PASS_B", "beta")
        .env("WFC_PASS_C", "gamma")
        .env("WFC_NOT_PASSED", "hidden")
        .stdin(Stdio::null())
        .output()
        .expect("wfc runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let run = run_id(&stdout);
    let (_, status, _) = wfc(dir.path(), &["status", &run, "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status).expect("status JSON");
    let result = |id: &str| {
        status["tasks"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["key"]["task"] == id)
            .and_then(|t| t["result"].as_str())
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    // The task's and the defaults' names reach the command; an unnamed variable does not.
    assert_eq!(result("command"), "a=alpha b=beta other=unset");
    // The profile's names reach the agent; the task's defaults belong to the task, and an
    // agent task gets them too.
    assert_eq!(result("report"), "c=gamma a=alpha");
}

#[test]
fn rerun_starts_a_new_run_with_the_same_parameters_from_the_file() {
    let dir = TempDir::new("wfc-rerun");
    write(
        dir.path(),
        "greet.wf",
        "workflow greet {\n  param who: string matching \"[a-z]+\"\n  param token: secret\n  task hello {\n    run = \"echo hello {{ who }} >> greetings\"\n    env = { TOKEN = \"{{ token }}\" }\n  }\n}\n",
    );
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_wfc"))
            .args(args)
            .current_dir(dir.path())
            .env_remove("WFC_BACKEND")
            .env("WF_SECRET_TOKEN", "s3cret-value")
            .stdin(Stdio::null())
            .output()
            .expect("wfc runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{args:?}: {stdout}{stderr}");
        stdout
    };
    let first = run_id(&run(&["run", "greet.wf", "-p", "who=ada"]));
    // The file changes after the first run: a rerun plans it again, with `who=ada`.
    write(
        dir.path(),
        "greet.wf",
        "workflow greet {\n  param who: string matching \"[a-z]+\"\n  param token: secret\n  task hello {\n    run = \"echo hi {{ who }} >> greetings\"\n    env = { TOKEN = \"{{ token }}\" }\n  }\n}\n",
    );
    let stdout = run(&["rerun", &first]);
    let second = run_id(&stdout);
    assert_ne!(first, second);
    assert!(
        stdout.contains(&format!("(a rerun of {first})")),
        "{stdout}"
    );
    let greetings = std::fs::read_to_string(dir.path().join("greetings")).expect("greetings");
    assert_eq!(greetings, "hello ada\nhi ada\n");
    // Without the secret, the rerun is refused before anything is stored.
    let output = Command::new(env!("CARGO_BIN_EXE_wfc"))
        .args(["rerun", &first])
        .current_dir(dir.path())
        .env_remove("WFC_BACKEND")
        .env_remove("WF_SECRET_TOKEN")
        .stdin(Stdio::null())
        .output()
        .expect("wfc runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("token"), "{stderr}");
    let (_, runs, _) = wfc(dir.path(), &["runs", "--json"]);
    let runs: serde_json::Value = serde_json::from_str(&runs).expect("runs JSON");
    assert_eq!(runs.as_array().map(Vec::len), Some(2), "{runs}");
    // A run that does not exist is named, with exit 1 as every command that takes a run.
    let (code, _, stderr) = wfc(dir.path(), &["rerun", "no-such-run"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("no-such-run"), "{stderr}");
}

/// The state of run `run` and its task `task` (state, attempts, last error), from `wfc status
/// --json`.
fn states(dir: &Path, run: &str, task: &str) -> (String, String, u64, String) {
    let (code, status, stderr) = wfc(dir, &["status", run, "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let status: serde_json::Value = serde_json::from_str(&status).expect("status JSON");
    let record = status["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["key"]["task"] == task)
        .cloned()
        .unwrap_or_default();
    (
        status["run"]["state"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        record["state"].as_str().unwrap_or_default().to_string(),
        record["attempts"].as_u64().unwrap_or_default(),
        record["last_error"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

#[test]
fn a_stopped_run_gives_its_tasks_back_at_once_and_uses_up_no_retry() {
    let dir = TempDir::new("wfc-interrupted");
    write(
        dir.path(),
        "slow.wf",
        "workflow slow {\n  task wait {\n    run = \"touch started; test -f go || sleep 1000\"\n  }\n}\n",
    );
    let run = stop_and_resume(dir.path(), &["run", "slow.wf"], "wait");
    // `retry = 0`, and yet the task ran a second attempt: the interrupted one did not count.
    let (_, _, attempts, _) = states(dir.path(), &run, "wait");
    assert_eq!(attempts, 2);
}

/// Stops `wfc ARGS` in `dir` once its task `task` has written `started` (a command that then
/// waits for a file `go`), checks that the task was given back at once, pending, its attempt
/// recorded as interrupted, then resumes the run and checks that it succeeds without waiting
/// for the stopped engine's lease (the default, 15 s). Returns the run's id.
pub(crate) fn stop_and_resume(dir: &Path, args: &[&str], task: &str) -> String {
    let run = stopped_run(dir, args, &has(dir, "started"));
    let (run_state, task_state, attempts, error) = states(dir, &run, task);
    assert_eq!(
        (run_state.as_str(), task_state.as_str(), attempts),
        ("running", "pending", 1)
    );
    assert!(
        error.contains("attempt 1 was interrupted: the engine was stopped"),
        "{error}"
    );
    write(dir, "go", "");
    let started = std::time::Instant::now();
    let (code, stdout, stderr) = wfc(dir, &["resume", &run]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "resume waited for the lease of the stopped engine: {:?}",
        started.elapsed()
    );
    let (run_state, task_state, _, _) = states(dir, &run, task);
    assert_eq!(
        (run_state.as_str(), task_state.as_str()),
        ("succeeded", "succeeded")
    );
    run
}

#[test]
fn a_worker_that_exits_when_idle_settles_the_runs_it_finished() {
    let dir = TempDir::new("wfc-worker-settles");
    write(
        dir.path(),
        "pair.wf",
        "workflow pair {\n  task first {\n    run = \"touch started; test -f go || sleep 1000\"\n  }\n  task second after first {\n    run = \"true\"\n  }\n}\n",
    );
    // Stopped once its first task runs: by then the run's first line, with its id, is out.
    let run = stopped_run(dir.path(), &["run", "pair.wf"], &has(dir.path(), "started"));
    write(dir.path(), "go", "");
    let (code, stdout, stderr) = wfc(dir.path(), &["worker", "--exit-when-idle"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (run_state, task_state, _, _) = states(dir.path(), &run, "second");
    assert_eq!(
        (run_state.as_str(), task_state.as_str()),
        ("succeeded", "succeeded")
    );
}

/// Makes `run`, which ended, look as it does when its engine was killed between finishing its
/// last task and ending the run: every task succeeded, the run still running.
fn unsettle(dir: &Path, run: &str) {
    rusqlite::Connection::open(dir.join(".wfc/state.db"))
        .and_then(|c| {
            c.execute(
                "UPDATE runs SET state = 'running', finished_at = NULL WHERE id = ?1",
                [run],
            )
        })
        .expect("the run made running again");
}

#[test]
fn a_worker_ends_a_run_whose_last_engine_was_killed_before_ending_it() {
    let dir = TempDir::new("wfc-worker-stranded");
    write(
        dir.path(),
        "pair.wf",
        "workflow pair {\n  task first {\n    run = \"true\"\n  }\n  task second after first {\n    run = \"true\"\n  }\n}\n",
    );
    let ended = |run: &str| states(dir.path(), run, "second").0;
    // A worker that exits when idle ends it before it exits.
    let (code, stdout, stderr) = wfc(dir.path(), &["run", "pair.wf"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let first = run_id(&stdout);
    unsettle(dir.path(), &first);
    assert_eq!(ended(&first), "running");
    let (code, stdout, stderr) = wfc(dir.path(), &["worker", "--exit-when-idle"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(ended(&first), "succeeded");
    // A worker that stays ends it while it waits for work.
    let (code, stdout, stderr) = wfc(dir.path(), &["run", "pair.wf"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let second = run_id(&stdout);
    let mut worker = spawn(dir.path(), &["worker"]);
    unsettle(dir.path(), &second);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while ended(&second) == "running" && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let _ = worker.kill();
    let _ = worker.wait();
    assert_eq!(ended(&second), "succeeded");
}

/// When `wfc` is killed in [`killed_run`]: once the task's start is in the store, or before
/// (the start is written a moment after the task's process started, or with its end; here
/// that moment is made ten minutes long).
#[derive(Clone, Copy, PartialEq)]
enum Kill {
    AfterTheStart,
    BeforeTheStart,
}

/// Starts `wfc run` of a task that waits for a file `go`, with a half-second lease, and kills
/// wfc with SIGKILL once the task runs (`when` says how far its start got): returns the run's
/// id and the task's process group, which outlives wfc.
fn killed_run(dir: &Path, when: Kill) -> (String, i32) {
    write(
        dir,
        "held.wf",
        "workflow held {\n  task wait {\n    run = \"echo $$ > pgid; test -f go || sleep 1000\"\n  }\n}\n",
    );
    let mut command = Command::new(env!("CARGO_BIN_EXE_wfc"));
    command
        .args(["run", "held.wf", "--lease", "0.5"])
        .current_dir(dir)
        .env_remove("WFC_BACKEND")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if when == Kill::BeforeTheStart {
        command.env("WFC_START_LINGER_MS", "600000");
    }
    let mut child = command.spawn().expect("wfc starts");
    let pgid_file = dir.join("pgid");
    wait_for(&pgid_file);
    if when == Kill::AfterTheStart {
        let started = std::time::Instant::now();
        while !task_state_is(dir, "running") {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "the task was never marked running"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    child.kill().expect("kill -9 wfc");
    let output = child.wait_with_output().expect("wfc ends");
    let pgid = std::fs::read_to_string(&pgid_file)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .expect("the task wrote its group");
    (run_id(&String::from_utf8_lossy(&output.stdout)), pgid)
}

/// Whether the one task of the last run in `dir` is in `state`, as `wfc status` says.
fn task_state_is(dir: &Path, state: &str) -> bool {
    let (_, json, _) = wfc(dir, &["status", "--json"]);
    serde_json::from_str::<serde_json::Value>(&json)
        .is_ok_and(|json| json["tasks"][0]["state"] == state)
}

#[test]
fn status_shows_a_task_whose_engine_was_killed_as_interrupted() {
    for (when, stored) in [
        (Kill::AfterTheStart, "running"),
        (Kill::BeforeTheStart, "claimed"),
    ] {
        let dir = TempDir::new("wfc-engine-gone");
        let (run, pgid) = killed_run(dir.path(), when);
        // The task's own processes outlive a kill -9 of wfc; end them, as the test's cleanup.
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pgid),
            nix::sys::signal::Signal::SIGKILL,
        );
        std::thread::sleep(std::time::Duration::from_millis(800));
        let (code, text, stderr) = wfc(dir.path(), &["status", &run]);
        assert_eq!(code, 0, "{stderr}");
        assert!(
            text.contains("interrupted (engine gone)")
                && text.contains(&format!("`wfc resume {run}` takes it over")),
            "{text}"
        );
        let (_, json, _) = wfc(dir.path(), &["status", &run, "--json"]);
        let json: serde_json::Value = serde_json::from_str(&json).expect("status JSON");
        assert_eq!(json["tasks"][0]["engine_gone"], true, "{json}");
        assert_eq!(json["tasks"][0]["state"], stored, "{json}");
        // Taken over, it runs to the end.
        write(dir.path(), "go", "");
        let (code, stdout, stderr) = wfc(dir.path(), &["resume", &run]);
        assert_eq!(code, 0, "{stdout}{stderr}");
        let (_, json, _) = wfc(dir.path(), &["status", &run, "--json"]);
        let json: serde_json::Value = serde_json::from_str(&json).expect("status JSON");
        assert_eq!(json["tasks"][0]["engine_gone"], false, "{json}");
        assert_eq!(json["tasks"][0]["state"], "succeeded", "{json}");
    }
}

#[test]
fn retry_runs_every_failed_task_again_with_attempts_going_on_and_a_note() {
    let dir = TempDir::new("wfc-retry-all");
    // Each attempt records its number; each agent attempt records its prompt.
    write(
        dir.path(),
        "agent.sh",
        "#!/bin/sh\ncat > \"prompt-$WF_TASK_ID-$WF_ATTEMPT.txt\"\ntest -f fixed\n",
    );
    make_executable(&dir.path().join("agent.sh"));
    write(
        dir.path(),
        "two.wf",
        "agent scripted {\n  adapter = \"command\"\n  command = [\"./agent.sh\"]\n}\n\nworkflow two {\n  task build {\n    run = \"echo $WF_ATTEMPT >> build-attempts; test -f fixed\"\n  }\n  task write {\n    prompt = \"Write the docs.\"\n    agent  = scripted\n  }\n  task ok {\n    run = \"true\"\n  }\n}\n",
    );
    let (code, stdout, _) = wfc(dir.path(), &["run", "two.wf"]);
    assert_eq!(code, 1, "{stdout}");
    let run = run_id(&stdout);
    write(dir.path(), "fixed", "");
    let (code, stdout, stderr) = wfc(
        dir.path(),
        &["retry", &run, "--note", "the build tools are installed now"],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("reset build (was failed)") && stdout.contains("reset write (was failed)"),
        "{stdout}"
    );
    assert!(!stdout.contains("reset ok"), "{stdout}");
    // Attempt numbers went on: the retry was attempt 2, not attempt 1 again.
    let attempts = std::fs::read_to_string(dir.path().join("build-attempts")).expect("attempts");
    assert_eq!(attempts, "1\n2\n");
    assert!(dir.path().join("prompt-write-1.txt").exists());
    let prompt = std::fs::read_to_string(dir.path().join("prompt-write-2.txt"))
        .expect("attempt 2 of write has its own prompt file");
    assert!(
        prompt.contains("the build tools are installed now"),
        "the note reaches the next attempt: {prompt}"
    );
    let (run_state, task_state, attempts, _) = states(dir.path(), &run, "write");
    assert_eq!(
        (run_state.as_str(), task_state.as_str(), attempts),
        ("succeeded", "succeeded", 2)
    );
}

#[test]
fn a_rejections_reason_reaches_the_task_retried_before_the_gate() {
    let dir = TempDir::new("wfc-retry-rejected");
    write(
        dir.path(),
        "agent.sh",
        "#!/bin/sh\ncat > \"prompt-$WF_ATTEMPT.txt\"\necho design done\n",
    );
    make_executable(&dir.path().join("agent.sh"));
    write(
        dir.path(),
        "reviewed.wf",
        "agent scripted {\n  adapter = \"command\"\n  command = [\"./agent.sh\"]\n}\n\nworkflow reviewed {\n  task design {\n    prompt = \"Design it.\"\n    agent  = scripted\n  }\n  gate approve after design {\n    ask = \"Is the design good?\"\n  }\n}\n",
    );
    let run = stopped_run(
        dir.path(),
        &["run", "reviewed.wf"],
        &waits_for_a_person(dir.path()),
    );
    let (code, _, stderr) = wfc(
        dir.path(),
        &[
            "reject",
            &run,
            "approve",
            "--reason",
            "use a queue, not polling",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = wfc(dir.path(), &["retry", &run, "--from", "design", "--no-run"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    // The design runs again (attempt 2), told why; then the gate waits again.
    let child = spawn(dir.path(), &["resume", &run]);
    let prompt_file = dir.path().join("prompt-2.txt");
    wait_for(&prompt_file);
    stop(child);
    let prompt = std::fs::read_to_string(&prompt_file).expect("the design ran again");
    assert!(
        prompt.contains("A person rejected `approve`")
            && prompt.contains("use a queue, not polling"),
        "{prompt}"
    );
}

#[test]
fn done_marks_a_task_succeeded_by_hand_and_its_dependents_run() {
    let dir = TempDir::new("wfc-done");
    write(
        dir.path(),
        "answer.wf",
        "workflow answer {\n  task compute {\n    run = \"false\"\n  }\n  task report after compute {\n    run = \"echo the answer is {{ compute.result }} > report.txt\"\n  }\n  gate ship after report {\n    ask = \"Ship it?\"\n  }\n}\n",
    );
    let (code, stdout, _) = wfc(dir.path(), &["run", "answer.wf"]);
    assert_eq!(code, 1, "{stdout}");
    let run = run_id(&stdout);
    // Only what is not running or answered can be marked; gates are answered, not done.
    let (code, _, stderr) = wfc(dir.path(), &["done", &run, "ship"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("`ship` is a gate"), "{stderr}");
    let (code, stdout, stderr) = wfc(dir.path(), &["done", &run, "compute", "--result", "42"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("marked compute done"), "{stdout}");
    let (code, _, stderr) = wfc(dir.path(), &["done", &run, "compute"]);
    assert_eq!(code, 1, "twice: {stderr}");
    assert!(stderr.contains("succeeded already"), "{stderr}");
    // The run goes on: `report` reads the result given by hand.
    let child = spawn(dir.path(), &["resume", &run]);
    let report = dir.path().join("report.txt");
    wait_for(&report);
    stop(child);
    let text = std::fs::read_to_string(&report).expect("report ran");
    assert!(text.contains("the answer is 42"), "{text}");
    // The log says who marked it.
    let (_, logs, _) = wfc(dir.path(), &["logs", &run, "compute", "--json"]);
    assert!(logs.contains("\"by_hand\":true"), "{logs}");
}

#[test]
fn taking_over_after_kill_9_stops_what_the_killed_engines_attempt_left_running() {
    // Killed after the start was written, the group is found by its record in the log;
    // killed before, by the variables its processes carry.
    for when in [Kill::AfterTheStart, Kill::BeforeTheStart] {
        let dir = TempDir::new("wfc-takeover");
        let (run, first) = killed_run(dir.path(), when);
        assert!(
            crate::run::group_alive(first),
            "the attempt's processes outlive a kill -9 of wfc"
        );
        write(dir.path(), "go", "");
        let (code, stdout, stderr) = wfc(dir.path(), &["resume", &run, "--lease", "0.5"]);
        let left = crate::run::group_alive(first);
        // Whatever happens, the test leaves no process behind.
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(first),
            nix::sys::signal::Signal::SIGKILL,
        );
        assert_eq!(code, 0, "{stdout}{stderr}");
        assert!(!left, "attempt 1's group outlived the take-over");
        assert!(
            stdout.contains(&format!(
                "stopped what attempt 1 left running (process group {first})"
            )),
            "{stdout}"
        );
        let (_, logs, _) = wfc(dir.path(), &["logs", &run, "wait", "--json"]);
        assert!(logs.contains("attempt_stopped"), "{logs}");
        let (run_state, task_state, attempts, _) = states(dir.path(), &run, "wait");
        assert_eq!(
            (run_state.as_str(), task_state.as_str(), attempts),
            ("succeeded", "succeeded", 2)
        );
    }
}

#[test]
fn a_run_works_in_its_own_workspace_whoever_resumes_it_and_from_where() {
    let home = TempDir::new("wfc-place");
    let project = home.path().join("project");
    let elsewhere = home.path().join("elsewhere");
    std::fs::create_dir_all(&project).expect("project");
    std::fs::create_dir_all(&elsewhere).expect("elsewhere");
    write(
        &project,
        "two.wf",
        "workflow two {\n  task first {\n    run = \"touch started; test -f go || sleep 1000; echo one > first.txt\"\n  }\n  task second after first {\n    run = \"cat first.txt > second.txt\"\n  }\n}\n",
    );
    let run = stopped_run(&project, &["run", "two.wf"], &has(&project, "started"));
    write(&project, "go", "");
    let store = format!("sqlite:{}", project.join(".wfc/state.db").display());
    // A worker started in another folder runs the run's tasks in the run's workspace.
    let (code, stdout, stderr) = wfc(
        &elsewhere,
        &["worker", "--exit-when-idle", "--backend", &store],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        std::fs::read_to_string(project.join("second.txt")).expect("second ran in the project"),
        "one\n"
    );
    assert!(
        !elsewhere.join("first.txt").exists() && !elsewhere.join("second.txt").exists(),
        "nothing was written where the worker was started"
    );
    let (_, text, _) = wfc(&project, &["status", &run]);
    assert!(
        text.contains(&format!("workspace {}", project.display())),
        "{text}"
    );

    // A run whose workspace is gone is refused, not run somewhere else.
    for done in ["go", "started"] {
        std::fs::remove_file(project.join(done)).expect("start afresh");
    }
    let second = stopped_run(&project, &["run", "two.wf"], &has(&project, "started"));
    let moved = home.path().join("moved");
    std::fs::rename(&project, &moved).expect("move the project");
    let store = format!("sqlite:{}", moved.join(".wfc/state.db").display());
    let (code, _, stderr) = wfc(&moved, &["resume", &second, "--backend", &store]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot go on from here: its workspace {} is gone",
            project.display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_store_of_the_first_schema_is_read_as_it_is_and_upgraded_by_a_write() {
    let dir = TempDir::new("wfc-schema-1");
    write(
        dir.path(),
        "one.wf",
        "workflow one {\n  task a {\n    run = \"true\"\n  }\n}\n",
    );
    let (code, stdout, _) = wfc(dir.path(), &["run", "one.wf"]);
    assert_eq!(code, 0, "{stdout}");
    let run = run_id(&stdout);
    // What a store made before runs recorded their workspace looks like.
    let path = dir.path().join(".wfc/state.db");
    let version = |path: &Path| -> i64 {
        rusqlite::Connection::open(path)
            .and_then(|c| c.query_row("PRAGMA user_version", [], |row| row.get(0)))
            .expect("version")
    };
    rusqlite::Connection::open(&path)
        .and_then(|c| {
            c.execute_batch(
                "DROP TABLE run_places; DROP TABLE run_plans; DROP TABLE run_repositories; \
                 DROP INDEX tasks_ready; ALTER TABLE tasks DROP COLUMN unfinished_deps; \
                 ALTER TABLE tasks DROP COLUMN output; \
                 ALTER TABLE tasks DROP COLUMN typed_output; PRAGMA user_version = 1;",
            )
        })
        .expect("make it a version-1 store");
    let (code, text, stderr) = wfc(dir.path(), &["status", &run]);
    assert_eq!(code, 0, "{stderr}");
    assert!(text.contains("workspace (not recorded"), "{text}");
    assert_eq!(version(&path), 1, "reading changes nothing");
    let (code, stdout, stderr) = wfc(dir.path(), &["run", "one.wf"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        version(&path),
        wfc::backends::sqlite::SCHEMA_VERSION,
        "a command that writes brings it to this wfc's version"
    );
    let (_, text, _) = wfc(dir.path(), &["status", &run_id(&stdout)]);
    assert!(
        text.contains(&format!("workspace {}", dir.path().display())),
        "{text}"
    );
}

#[test]
fn a_store_of_version_5_gets_counts_of_unfinished_dependencies_from_its_tasks() {
    let dir = TempDir::new("wfc-schema-5");
    // `b` fails until `ok` exists; `c` waits for it. Each task appends its name to ran.log.
    write(
        dir.path(),
        "chain.wf",
        "workflow chain {\n  task a {\n    run = \"echo a >> ran.log\"\n  }\n  \
         task b after a {\n    run = \"test -f ok && echo b >> ran.log\"\n  }\n  \
         task c after b {\n    run = \"echo c >> ran.log\"\n  }\n  \
         task d after a {\n    run = \"echo d >> ran.log\"\n  }\n}\n",
    );
    let (code, stdout, _) = wfc(dir.path(), &["run", "chain.wf", "-j", "4"]);
    assert_ne!(code, 0, "b fails: {stdout}");
    let run = run_id(&stdout);
    // What a store of version 5, before the counts, looks like.
    let path = dir.path().join(".wfc/state.db");
    rusqlite::Connection::open(&path)
        .and_then(|c| {
            c.execute_batch(
                "DROP INDEX tasks_ready; ALTER TABLE tasks DROP COLUMN unfinished_deps; \
                 PRAGMA user_version = 5;",
            )
        })
        .expect("make it a version-5 store");
    write(dir.path(), "ok", "");
    std::fs::remove_file(dir.path().join("ran.log")).expect("forget the first run");
    // The retry migrates the store: `c` must wait for `b` again, as its count says one
    // dependency is unfinished (a count of 0 for every task would let it run at once).
    let (code, stdout, stderr) = wfc(dir.path(), &["retry", &run, "b", "-j", "4"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ran.log")).expect("ran.log"),
        "b\nc\n"
    );
    let counts: Vec<(String, i64)> = rusqlite::Connection::open(&path)
        .and_then(|c| {
            c.prepare("SELECT id, unfinished_deps FROM tasks ORDER BY id")?
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect()
        })
        .expect("the counts");
    let zeros: Vec<(String, i64)> = ["a", "b", "c", "d"]
        .iter()
        .map(|id| (id.to_string(), 0))
        .collect();
    assert_eq!(counts, zeros, "every dependency is done once the run is");
}

#[test]
fn from_a_subfolder_wfc_uses_the_projects_store_as_git_finds_its_folder() {
    let project = TempDir::new("wfc-upward");
    let sub = project.path().join("docs/guide");
    std::fs::create_dir_all(&sub).expect("subfolder");
    write(
        project.path(),
        "top.wf",
        "workflow top {\n  task a {\n    run = \"true\"\n  }\n}\n",
    );
    write(
        &sub,
        "here.wf",
        "workflow here {\n  task b {\n    run = \"echo made here > made.txt\"\n  }\n}\n",
    );
    let (code, stdout, _) = wfc(project.path(), &["run", "top.wf"]);
    assert_eq!(code, 0, "{stdout}");
    let top = run_id(&stdout);
    // Reading from the subfolder finds the project's store.
    let (code, runs, stderr) = wfc(&sub, &["runs"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(runs.contains(&top), "{runs}");
    // A run started in the subfolder goes into the project's store, and works where it was
    // started.
    let (code, stdout, stderr) = wfc(&sub, &["run", "here.wf"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let here = run_id(&stdout);
    assert!(
        !sub.join(".wfc").exists(),
        "no second store in the subfolder"
    );
    assert!(
        sub.join("made.txt").exists(),
        "the task ran where the run was started"
    );
    let (_, runs, _) = wfc(project.path(), &["runs"]);
    assert!(runs.contains(&top) && runs.contains(&here), "{runs}");
    let (_, text, _) = wfc(project.path(), &["status", &here]);
    assert!(
        text.contains(&format!("workspace {}", sub.display())),
        "{text}"
    );
}

/// The lines of `ran.log` in `dir`, sorted: which tasks ran, once a line per attempt.
fn ran(dir: &Path) -> Vec<String> {
    let mut lines: Vec<String> = std::fs::read_to_string(dir.join("ran.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// A line of `text` that starts with `fate` (after spaces) and names each of `ids`.
fn shows(text: &str, fate: &str, ids: &[&str]) -> bool {
    text.lines().any(|line| {
        line.trim_start().starts_with(fate)
            && ids.iter().all(|id| line.contains(&format!("`{id}`")))
    })
}

#[test]
fn resume_replan_runs_what_changed_and_what_follows_it_and_keeps_the_rest() {
    let dir = TempDir::new("wfc-replan");
    let task = |name: &str, after: &str, script: &str| {
        format!("  task {name}{after} {{\n    run = \"echo {name} >> ran.log; {script}\"\n  }}\n")
    };
    let broken = [
        task("a", "", "echo A > a.txt"),
        task("b", " after a", "cat a.txt > b.txt; exit 3"),
        task("c", " after b", "cat b.txt > c.txt"),
        task("d", "", "true"),
        task("gone", "", "true"),
    ]
    .concat();
    write(dir.path(), "w.wf", &format!("workflow w {{\n{broken}}}\n"));
    let (code, stdout, _) = wfc(dir.path(), &["run", "w.wf"]);
    assert_ne!(code, 0, "b fails: {stdout}");
    let run = run_id(&stdout);
    assert_eq!(ran(dir.path()), ["a", "b", "d", "gone"]);

    // The fix: `b` works, `gone` is no more, `e` is new.
    let fixed = [
        task("a", "", "echo A > a.txt"),
        task("b", " after a", "cat a.txt > b.txt"),
        task("c", " after b", "cat b.txt > c.txt"),
        task("d", "", "true"),
        task("e", " after a", "true"),
    ]
    .concat();
    write(dir.path(), "w.wf", &format!("workflow w {{\n{fixed}}}\n"));

    // First only shown: nothing is stored, nothing runs.
    let (code, shown, stderr) = wfc(dir.path(), &["resume", &run, "--replan", "--dry-run"]);
    assert_eq!(code, 0, "{shown}{stderr}");
    assert!(shows(&shown, "changed", &["b"]), "{shown}");
    assert!(shows(&shown, "downstream", &["c"]), "{shown}");
    assert!(shows(&shown, "added", &["e"]), "{shown}");
    assert!(shows(&shown, "kept", &["a", "d"]), "{shown}");
    assert!(shows(&shown, "removed", &["gone"]), "{shown}");
    assert!(shown.contains("dry run: nothing was stored"), "{shown}");
    assert_eq!(states(dir.path(), &run, "b").0, "failed");
    assert_eq!(ran(dir.path()).len(), 4);

    let (code, stdout, stderr) = wfc(dir.path(), &["resume", &run, "--replan"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(shows(&stdout, "changed", &["b"]), "{stdout}");
    // `a` and `d` kept their results and did not run again; `b`, `c` and `e` ran.
    assert_eq!(ran(dir.path()), ["a", "b", "b", "c", "d", "e", "gone"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("c.txt")).expect("c ran"),
        "A\n"
    );
    let (state, b_state, b_attempts, _) = states(dir.path(), &run, "b");
    assert_eq!(
        (state.as_str(), b_state.as_str(), b_attempts),
        ("succeeded", "succeeded", 2),
        "attempt numbers go on"
    );
    let (_, status, _) = wfc(dir.path(), &["status", &run, "--json"]);
    assert!(!status.contains("\"gone\""), "{status}");
    let (_, logs, _) = wfc(dir.path(), &["logs", &run]);
    assert!(
        logs.contains(
            "planned again from w.wf: changed 1, added 1, downstream 1, kept 2, removed 1"
        ),
        "{logs}"
    );

    // Planned again from an unchanged file: nothing changes, nothing runs.
    let (code, stdout, _) = wfc(dir.path(), &["resume", &run, "--replan"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("nothing to plan again"), "{stdout}");
    assert_eq!(ran(dir.path()).len(), 7);

    // A file that no longer plans is named, and the run is left as it was.
    write(
        dir.path(),
        "w.wf",
        "workflow w {\n  task a after nowhere {\n    run = \"true\"\n  }\n}\n",
    );
    let (code, _, stderr) = wfc(dir.path(), &["resume", &run, "--replan"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot plan run {run} again from w.wf")),
        "{stderr}"
    );
    assert_eq!(states(dir.path(), &run, "b").0, "succeeded");
}

#[test]
fn an_engine_that_read_the_old_plan_runs_a_task_as_the_new_plan_says() {
    let dir = TempDir::new("wfc-replan-worker");
    let workflow = |b: &str| {
        format!(
            "workflow w {{\n  task warm {{\n    run = \"echo warm >> ran.log; exit 1\"\n  }}\n  gate g {{\n    ask = \"go on?\"\n  }}\n  task b after g {{\n    run = \"echo {b} > b.txt\"\n  }}\n}}\n"
        )
    };
    write(dir.path(), "w.wf", &workflow("old"));
    let run = stopped_run(
        dir.path(),
        &["run", "w.wf"],
        &waits_for_a_person(dir.path()),
    );
    // A worker that has read the run's first plan: it runs `warm` again.
    let worker = spawn(dir.path(), &["worker"]);
    let (code, _, stderr) = wfc(dir.path(), &["retry", &run, "warm", "--no-run"]);
    assert_eq!(code, 0, "{stderr}");
    let started = std::time::Instant::now();
    while ran(dir.path()).len() < 2 {
        assert!(
            started.elapsed().as_secs() < 20,
            "the worker never ran `warm`"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The run is planned again while the worker goes on; then the gate is answered.
    write(dir.path(), "w.wf", &workflow("new"));
    let (code, stdout, stderr) = wfc(dir.path(), &["resume", &run, "--replan", "--no-run"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(shows(&stdout, "changed", &["b"]), "{stdout}");
    let (code, _, stderr) = wfc(dir.path(), &["approve", &run, "g"]);
    assert_eq!(code, 0, "{stderr}");
    wait_for(&dir.path().join("b.txt"));
    stop(worker);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("b.txt")).expect("b ran"),
        "new\n",
        "the worker read the new plan when it claimed a task of it"
    );
}

#[test]
fn a_second_run_in_a_folder_is_refused_while_one_works_there_without_isolation() {
    let dir = TempDir::new("wfc-one-run-per-folder");
    write(
        dir.path(),
        "first.wf",
        "workflow first {\n  task a {\n    run = \"touch started; test -f go || sleep 1000\"\n  }\n}\n",
    );
    write(
        dir.path(),
        "second.wf",
        "workflow second {\n  task b {\n    run = \"echo b > b.txt\"\n  }\n}\n",
    );
    let first = stopped_run(
        dir.path(),
        &["run", "first.wf"],
        &has(dir.path(), "started"),
    );
    let (code, stdout, stderr) = wfc(dir.path(), &["run", "second.wf"]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!(
            "run {first} works in this folder without isolation and has not ended"
        )) && stderr.contains(&format!("wfc resume {first}")),
        "{stderr}"
    );
    let (_, runs, _) = wfc(dir.path(), &["runs"]);
    assert_eq!(runs.matches("second").count(), 0, "nothing stored: {runs}");
    assert!(!dir.path().join("b.txt").exists());
    // Once the first run has ended, the second starts.
    write(dir.path(), "go", "");
    let (code, stdout, stderr) = wfc(dir.path(), &["resume", &first]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, stderr) = wfc(dir.path(), &["run", "second.wf"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(dir.path().join("b.txt").exists());
}
