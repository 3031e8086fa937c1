//! The beads backend against the real `br` (beads_rust 0.7.6): the backend contract, text that
//! must survive the trip through argv byte for byte, batching, and whole runs of the `wfc`
//! binary (fan-out and a gate, kill -9 and resume, several engines on one store).
//!
//! br is found through `WFC_TEST_BR` (`tests/all.sh` installs it and sets it), else at the path
//! `tests/all.sh` installs it to, else on the PATH. Without it these tests fail with a message
//! saying how to install it: a missing br must never look like a pass.

use crate::backend_contract::{contract, plan};
use crate::support::TempDir;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wfc::backends::beads::{BeadsBackend, BeadsOptions, DEFAULT_TIMEOUT};
use wfc::plan::{Action, PromptPart};
use wfc::runtime::*;

/// The br to test with.
fn br() -> PathBuf {
    if let Some(path) = std::env::var_os("WFC_TEST_BR").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "WFC_TEST_BR names {}, which does not exist",
            path.display()
        );
        return path;
    }
    let cached = crate::tools::cache().join("br/bin/br");
    if cached.is_file() {
        return cached;
    }
    if let Some(path) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("br"))
        .find(|file| file.is_file())
    {
        return path;
    }
    panic!(
        "the beads tests need br (beads_rust {}) and found none: run tests/all.sh, which installs \
         it once per machine (or set WFC_TEST_BR to its path)",
        crate::tools::pinned("BEADS_RUST_VERSION")
    );
}

/// A fresh folder with an initialised beads store (`br init`), prefix `t`.
pub fn store(prefix: &str) -> TempDir {
    let dir = TempDir::new(prefix);
    let output = Command::new(br())
        .args(["init", "--prefix=t", "--json"])
        .current_dir(dir.path())
        .env_remove("BEADS_DIR")
        .env_remove("BEADS_DB")
        .stdin(Stdio::null())
        .output()
        .expect("br init runs");
    assert!(
        output.status.success(),
        "br init failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    dir
}

fn open(dir: &Path) -> BeadsBackend {
    BeadsBackend::open(&BeadsOptions {
        dir: dir.to_path_buf(),
        bin: Some(br()),
        timeout: DEFAULT_TIMEOUT,
    })
    .unwrap_or_else(|e| panic!("cannot open the beads store in {}: {e}", dir.display()))
}

/// Runs br in `dir` with `args` and returns its JSON output.
fn br_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let output = Command::new(br())
        .args(args)
        .arg("--json")
        .current_dir(dir)
        .env("BEADS_DIR", dir.join(".beads"))
        .stdin(Stdio::null())
        .output()
        .expect("br runs");
    assert!(
        output.status.success(),
        "br {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("br prints JSON")
}

/// Every issue of the store, closed ones included, by id.
fn all_issues(dir: &Path) -> HashMap<String, serde_json::Value> {
    let listed = br_json(dir, &["list", "--all", "--limit=0"]);
    listed["issues"]
        .as_array()
        .expect("br list --json has `issues`")
        .iter()
        .map(|issue| {
            (
                issue["id"].as_str().unwrap_or("").to_string(),
                issue.clone(),
            )
        })
        .collect()
}

/// The ids of the issues `id` depends on (its `blocks` edges), sorted.
fn blockers(dir: &Path, id: &str) -> Vec<String> {
    let shown = br_json(dir, &["show", id]);
    let mut ids: Vec<String> = shown[0]["dependencies"]
        .as_array()
        .map(|deps| {
            deps.iter()
                .filter(|d| d["dependency_type"] == "blocks")
                .filter_map(|d| d["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

#[test]
fn the_beads_backend_keeps_the_contract() {
    // The whole contract suite, each check on a fresh `br init` store. It makes several
    // hundred br calls (the claim race alone about 150), so it takes a while.
    let stores: std::sync::Mutex<Vec<TempDir>> = std::sync::Mutex::new(Vec::new());
    contract(&|| {
        let dir = store("wfc-beads-contract");
        let backend: Arc<dyn TaskBackend> = Arc::new(open(dir.path()));
        stores.lock().unwrap_or_else(|e| e.into_inner()).push(dir);
        backend
    });
}

#[test]
fn titles_and_descriptions_survive_argv_byte_for_byte() {
    let dir = store("wfc-beads-argv");
    let backend = open(dir.path());
    let tricky = "First line with \"double\" and 'single' quotes\n  $(rm -rf /) `uname` $HOME ${X:-y} \\n\n\tTabbed; echo pwned && true | cat > /tmp/x\n## A heading that br's markdown import would split on\nünïcødé ✓ and a trailing line";
    let mut p = plan(&[
        ("dash", &[], 0),
        ("heading", &[], 0),
        ("plain_one", &[], 0),
        ("plain_two", &["plain_one"], 0),
    ]);
    p.tasks[0].title = "-rf --force --title=evil".into();
    p.tasks[1].title = "--".into();
    for task in &mut p.tasks[..2] {
        task.action = Action::Agent {
            profile: None,
            agent: None,
            prompt: vec![PromptPart::Text {
                text: format!("{tricky}\n"),
            }],
        };
    }
    // One task goes through br's markdown file (one line, no heading), the others one by one.
    p.tasks[2].title = "-starts with a dash, in the file".into();
    backend.create_run("argv", &p, None, 1_000).expect("run");
    backend.create_tasks("argv", &p).expect("tasks");
    let issues = all_issues(dir.path());
    let issue = |task: &str| {
        let id = backend
            .issue_of(&TaskKey::new("argv", task))
            .expect("issue");
        issues[&id].clone()
    };
    assert_eq!(issue("dash")["title"], "-rf --force --title=evil");
    assert_eq!(issue("heading")["title"], "--");
    assert_eq!(
        issue("dash")["description"],
        tricky,
        "the prompt is the description, without its final line break"
    );
    assert_eq!(issue("heading")["description"], tricky);
    assert_eq!(
        issue("plain_one")["title"],
        "-starts with a dash, in the file"
    );
    assert_eq!(
        issue("plain_one")["description"],
        "Command:\n\n```sh\ntrue\n```"
    );
    for task in ["dash", "heading", "plain_one", "plain_two"] {
        let labels = issue(task)["labels"].clone();
        assert!(
            labels
                .as_array()
                .is_some_and(|l| l.contains(&"wfc".into()) && l.contains(&"wfc-run:argv".into())),
            "{task}: {labels}"
        );
    }
    let one = backend
        .issue_of(&TaskKey::new("argv", "plain_one"))
        .expect("issue");
    let two = backend
        .issue_of(&TaskKey::new("argv", "plain_two"))
        .expect("issue");
    assert_eq!(blockers(dir.path(), &two), [one]);
    // A result with every kind of line survives the close reason too.
    let key = TaskKey::new("argv", "dash");
    backend
        .claim_task(&key, "-w", 2_000, 60_000)
        .expect("claim")
        .expect("won");
    backend
        .complete_task(&key, "-w", "--result\n$(x) \"y\"\n", 2_001)
        .expect("complete");
    let dash = backend.issue_of(&key).expect("issue");
    let closed = all_issues(dir.path())[&dash].clone();
    assert_eq!(closed["status"], "closed");
    assert_eq!(
        closed["close_reason"],
        "wfc: succeeded in attempt 1\n--result\n$(x) \"y\"\n"
    );
    assert_eq!(
        backend.get_task(&key).expect("task").result.as_deref(),
        Some("--result\n$(x) \"y\"\n")
    );
}

#[test]
fn instantiation_costs_a_few_cli_calls_not_one_per_task() {
    let dir = store("wfc-beads-batch");
    let backend = open(dir.path());
    let ids: Vec<String> = (0..60).map(|i| format!("t{i:02}")).collect();
    let deps: Vec<Vec<&str>> = (0..60)
        .map(|i| {
            if i % 10 == 0 {
                vec![]
            } else {
                vec![ids[i - 1].as_str()]
            }
        })
        .collect();
    let spec: Vec<(&str, &[&str], u32)> = ids
        .iter()
        .zip(&deps)
        .map(|(id, deps)| (id.as_str(), deps.as_slice(), 0))
        .collect();
    let p = plan(&spec);
    let before = backend.cli_calls();
    backend.create_run("batch", &p, None, 1_000).expect("run");
    backend.create_tasks("batch", &p).expect("tasks");
    assert_eq!(
        backend.cli_calls() - before,
        2,
        "one `br create --file` for the 60 issues and one `br dep import` for the 54 edges"
    );
    let issues = all_issues(dir.path());
    assert_eq!(issues.len(), 60);
    for (i, id) in ids.iter().enumerate() {
        let issue = backend.issue_of(&TaskKey::new("batch", id)).expect("issue");
        assert_eq!(issues[&issue]["title"], id.as_str());
        let expected: Vec<String> = if i % 10 == 0 {
            Vec::new()
        } else {
            vec![backend
                .issue_of(&TaskKey::new("batch", &ids[i - 1]))
                .expect("issue")]
        };
        assert_eq!(blockers(dir.path(), &issue), expected, "{id}");
    }
    let ready: Vec<String> = backend
        .find_ready_tasks(Some("batch"), 2_000, 100)
        .expect("ready")
        .into_iter()
        .map(|k| k.task)
        .collect();
    assert_eq!(ready, ["t00", "t10", "t20", "t30", "t40", "t50"]);
}

#[test]
fn an_issue_claimed_in_beads_by_someone_else_is_not_claimed_by_wfc() {
    let dir = store("wfc-beads-outsider");
    let backend = open(dir.path());
    let p = plan(&[("a", &[], 0), ("b", &[], 0)]);
    backend.create_run("o", &p, None, 1_000).expect("run");
    backend.create_tasks("o", &p).expect("tasks");
    let a = backend.issue_of(&TaskKey::new("o", "a")).expect("issue");
    br_json(dir.path(), &["update", &a, "--claim", "--actor=a-person"]);
    assert_eq!(
        backend
            .find_ready_tasks(Some("o"), 2_000, 10)
            .expect("ready")
            .into_iter()
            .map(|k| k.task)
            .collect::<Vec<_>>(),
        ["b"],
        "beads says `a` is not ready: someone works on it"
    );
    assert_eq!(
        backend
            .claim_task(&TaskKey::new("o", "a"), "w", 2_000, 60_000)
            .expect("claim"),
        None,
        "the second claimer loses"
    );
    let task = backend.get_task(&TaskKey::new("o", "a")).expect("task");
    assert_eq!(
        (task.state, task.attempts, task.worker),
        (TaskState::Pending, 0, None)
    );
}

#[test]
fn a_missing_or_misbehaving_cli_is_a_clear_error() {
    let dir = store("wfc-beads-broken");
    let options = |bin: &Path, timeout: Duration| BeadsOptions {
        dir: dir.path().to_path_buf(),
        bin: Some(bin.to_path_buf()),
        timeout,
    };
    let error = BeadsBackend::open(&options(Path::new("/nonexistent/br"), DEFAULT_TIMEOUT))
        .expect_err("no such program");
    assert_eq!(error.kind, BackendErrorKind::Storage);
    assert!(
        error.message.contains("/nonexistent/br") && error.message.contains("not found"),
        "{error}"
    );
    assert!(error
        .hint
        .as_deref()
        .is_some_and(|h| h.contains("cargo install beads_rust")));
    let error = BeadsBackend::open(&BeadsOptions {
        dir: dir.path().join("nowhere"),
        bin: Some(br()),
        timeout: DEFAULT_TIMEOUT,
    })
    .expect_err("no store");
    assert!(error.message.contains("no beads store"), "{error}");
    assert!(error.hint.as_deref().is_some_and(|h| h.contains("br init")));

    // Fake CLIs that answer `--version` like br and then misbehave.
    let script = |name: &str, body: &str| {
        let path = dir.write(
            name,
            &format!(
                "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'br 0.7.6'; exit 0; fi\n{body}\n"
            ),
        );
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        path
    };
    let p = plan(&[("a", &[], 0)]);
    let cases = [
        (
            script("garbage", "echo 'Created issue t-1'"),
            "cannot read what `garbage create",
        ),
        (
            script("failing", "echo 'database is locked' >&2; exit 7"),
            "failed (exit 7): database is locked",
        ),
        (script("slow", "sleep 30"), "did not finish within 0.5s"),
        // A process that leaves the group keeps the output pipes open after the kill: the
        // call must still end.
        (
            script("escaping", "setsid sleep 30 & sleep 30"),
            "did not finish within 0.5s",
        ),
    ];
    for (bin, expected) in cases {
        let backend = BeadsBackend::open(&options(&bin, Duration::from_millis(500))).expect("open");
        let started = Instant::now();
        let run = bin
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("x")
            .to_string();
        backend.create_run(&run, &p, None, 1_000).expect("run");
        let error = backend
            .create_tasks(&run, &p)
            .expect_err("the CLI misbehaves");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(error.kind, BackendErrorKind::Storage);
        assert!(error.message.contains(expected), "{expected}: {error}");
        let error = backend.list_tasks(&run).expect_err("half created");
        assert!(error.message.contains("interrupted"), "{error}");
    }
}

#[test]
fn bd_is_driven_when_installed_and_named_clearly_when_not() {
    let dir = store("wfc-beads-bd");
    let on_path = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .any(|d| d.join("bd").is_file());
    let options = BeadsOptions {
        dir: dir.path().to_path_buf(),
        bin: Some("bd".into()),
        timeout: DEFAULT_TIMEOUT,
    };
    if !on_path {
        // bd cannot be installed on the machines this project runs on (it needs Go and Dolt);
        // what can be checked is that asking for it says what is wrong.
        let error = BeadsBackend::open(&options).expect_err("bd is not installed");
        assert!(error.message.contains("`bd` was not found"), "{error}");
        return;
    }
    let bd_dir = TempDir::new("wfc-beads-bd-store");
    let init = Command::new("bd")
        .args([
            "init",
            "--prefix=t",
            "--stealth",
            "--skip-hooks",
            "--skip-agents",
            "--non-interactive",
            "-q",
        ])
        .current_dir(bd_dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("bd init");
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let backend = BeadsBackend::open(&BeadsOptions {
        dir: bd_dir.path().to_path_buf(),
        ..options
    })
    .expect("bd store");
    assert_eq!(backend.dialect(), wfc::backends::beads::Dialect::Bd);
    let p = plan(&[("a", &[], 0), ("b", &["a"], 0)]);
    backend.create_run("bd", &p, None, 1_000).expect("run");
    backend.create_tasks("bd", &p).expect("tasks");
    for id in ["a", "b"] {
        let key = TaskKey::new("bd", id);
        assert_eq!(
            backend
                .find_ready_tasks(Some("bd"), 2_000, 10)
                .expect("ready"),
            std::slice::from_ref(&key)
        );
        backend
            .claim_task(&key, "w", 2_000, 60_000)
            .expect("claim")
            .expect("won");
        assert_eq!(
            backend.claim_task(&key, "v", 2_000, 60_000).expect("claim"),
            None
        );
        backend
            .complete_task(&key, "w", "ok", 2_001)
            .expect("complete");
    }
}

// ---- Whole runs of the `wfc` binary --------------------------------------------------------

pub fn backend_url(dir: &Path) -> String {
    format!("beads:{}?bin={}", dir.display(), br().display())
}

fn wfc_command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wfc"));
    command
        .args(args)
        .arg("--backend")
        .arg(backend_url(dir))
        .current_dir(dir)
        .env_remove("WFC_BACKEND")
        .env_remove("WFC_BEADS_BIN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn finish(child: Child) -> (i32, String) {
    let output = child.wait_with_output().expect("wfc ends");
    (
        output.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn only_run(dir: &Path) -> String {
    let runs = open(dir).list_runs().expect("runs");
    assert_eq!(runs.len(), 1, "one run");
    runs[0].id.clone()
}

fn log_counts(dir: &Path) -> HashMap<String, u32> {
    let mut counts = HashMap::new();
    for line in std::fs::read_to_string(dir.join("log.txt"))
        .unwrap_or_default()
        .lines()
    {
        *counts.entry(line.to_string()).or_insert(0) += 1;
    }
    counts
}

const FANNED: &str = r#"workflow release {
  param targets: list<string> = ["x86", "arm", "riscv"]

  task test {
    run = "echo test >> log.txt"
  }

  task build for each target in targets after test {
    run = "echo build-{{ target }} >> log.txt"
  }

  gate approve after build {
    ask = "Ship it?"
  }

  task ship after approve {
    run = "echo ship >> log.txt; echo shipped"
  }
}
"#;

#[test]
fn a_fan_out_and_a_gate_run_to_completion_in_beads() {
    let dir = store("wfc-beads-e2e");
    dir.write("release.wf", FANNED);
    let child = wfc_command(dir.path(), &["run", "release.wf"])
        .spawn()
        .expect("wfc run");
    let mut run = String::new();
    wait_for("the gate to wait", Duration::from_secs(60), || {
        let backend = open(dir.path());
        let Some(summary) = backend.list_runs().ok().and_then(|r| r.into_iter().next()) else {
            return false;
        };
        run = summary.id;
        backend
            .get_task(&TaskKey::new(run.clone(), "approve"))
            .is_ok_and(|t| t.state == TaskState::Waiting)
    });
    assert!(!log_counts(dir.path()).contains_key("ship"));
    // Another process answers.
    let (code, said) = finish(
        wfc_command(
            dir.path(),
            &["approve", &run, "approve", "--reason", "lgtm"],
        )
        .spawn()
        .expect("wfc approve"),
    );
    assert_eq!(code, 0, "{said}");
    let (code, output) = finish(child);
    assert_eq!(code, 0, "{output}");
    let counts = log_counts(dir.path());
    for line in ["test", "build-x86", "build-arm", "build-riscv", "ship"] {
        assert_eq!(counts.get(line), Some(&1), "{line}: {counts:?}");
    }

    let backend = open(dir.path());
    assert_eq!(backend.run_state(&run).expect("state"), RunState::Succeeded);
    let issues = all_issues(dir.path());
    assert_eq!(issues.len(), 6, "one issue per task");
    let issue = |task: &str| {
        backend
            .issue_of(&TaskKey::new(run.clone(), task))
            .expect("issue")
    };
    for (id, fields) in &issues {
        assert_eq!(fields["status"], "closed", "{id}: {fields}");
        let labels = fields["labels"].as_array().expect("labels");
        assert!(
            labels.contains(&"wfc".into()) && labels.contains(&format!("wfc-run:{run}").into()),
            "{id}: {labels:?}"
        );
    }
    let builds: Vec<String> = ["build[x86]", "build[arm]", "build[riscv]"]
        .iter()
        .map(|t| issue(t))
        .collect();
    for build in &builds {
        assert_eq!(blockers(dir.path(), build), [issue("test")]);
    }
    let mut sorted = builds.clone();
    sorted.sort();
    assert_eq!(blockers(dir.path(), &issue("approve")), sorted);
    assert_eq!(blockers(dir.path(), &issue("ship")), [issue("approve")]);
    assert_eq!(
        issues[&issue("approve")]["close_reason"],
        "wfc: approved\nlgtm"
    );
    assert!(issues[&issue("approve")]["labels"]
        .as_array()
        .is_some_and(|l| l.contains(&"wfc-gate".into())));
    assert_eq!(
        issues[&issue("ship")]["close_reason"],
        "wfc: succeeded in attempt 1\nshipped\n"
    );
}

/// A workflow of `count` command tasks in chains of ten that each append their id to
/// `log.txt`.
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

#[test]
fn a_killed_beads_run_resumes_without_rerunning_closed_tasks() {
    let dir = store("wfc-beads-crash");
    dir.write("many.wf", &logging_workflow(30, "0.1"));
    let mut engine = wfc_command(dir.path(), &["run", "many.wf", "-j", "4", "--lease", "1"])
        .spawn()
        .expect("wfc run");
    // Kill it (SIGKILL, no cleanup) once some tasks are closed in beads and some are not.
    wait_for("some tasks to close", Duration::from_secs(60), || {
        let issues = all_issues(dir.path());
        issues.values().filter(|i| i["status"] == "closed").count() >= 5
    });
    let _ = engine.kill();
    let _ = engine.wait();
    let run = only_run(dir.path());
    let closed_before: Vec<String> = all_issues(dir.path())
        .values()
        .filter(|i| i["status"] == "closed")
        .filter_map(|i| i["title"].as_str().map(str::to_string))
        .collect();
    assert!(
        closed_before.len() < 30,
        "the run ended before the kill: {closed_before:?}"
    );
    let (code, output) = finish(
        wfc_command(dir.path(), &["resume", &run, "-j", "4", "--lease", "1"])
            .spawn()
            .expect("wfc resume"),
    );
    assert_eq!(code, 0, "{output}");
    let backend = open(dir.path());
    let tasks = backend.list_tasks(&run).expect("tasks");
    assert!(
        tasks.iter().all(|t| t.state == TaskState::Succeeded),
        "{tasks:#?}"
    );
    let counts = log_counts(dir.path());
    for task in &tasks {
        let ran = counts.get(&task.key.task).copied().unwrap_or(0);
        assert!(
            ran >= 1 && ran <= task.attempts,
            "{} ran {ran} times in {} attempts",
            task.key.task,
            task.attempts
        );
    }
    for title in &closed_before {
        assert_eq!(
            counts.get(title),
            Some(&1),
            "{title} was closed in beads before the kill and ran again"
        );
    }
    assert!(all_issues(dir.path())
        .values()
        .all(|i| i["status"] == "closed"));
}

#[test]
fn engines_sharing_a_beads_store_run_each_task_exactly_once() {
    let dir = store("wfc-beads-workers");
    dir.write("many.wf", &logging_workflow(60, "0"));
    let mut workers: Vec<Child> = (0..2)
        .map(|_| {
            wfc_command(dir.path(), &["worker", "-j", "3"])
                .spawn()
                .expect("wfc worker")
        })
        .collect();
    let (code, output) = finish(
        wfc_command(dir.path(), &["run", "many.wf", "-j", "2"])
            .spawn()
            .expect("wfc run"),
    );
    for worker in &mut workers {
        let _ = worker.kill();
        let _ = worker.wait();
    }
    assert_eq!(code, 0, "{output}");
    let counts = log_counts(dir.path());
    assert_eq!(counts.len(), 60, "every task ran: {counts:?}");
    assert!(
        counts.values().all(|&n| n == 1),
        "a task ran twice: {:?}",
        counts.iter().filter(|(_, &n)| n > 1).collect::<Vec<_>>()
    );
    let run = only_run(dir.path());
    let tasks = open(dir.path()).list_tasks(&run).expect("tasks");
    assert!(tasks
        .iter()
        .all(|t| t.state == TaskState::Succeeded && t.attempts == 1));
    let issues = all_issues(dir.path());
    assert_eq!(issues.len(), 60);
    assert!(issues.values().all(|i| i["status"] == "closed"));
}
