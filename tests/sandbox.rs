//! `sandbox = "bwrap"`, for real: the `wfc` binary runs tasks under the real bubblewrap, with a
//! home of the test's own that holds an SSH key. A sandboxed task cannot write outside its
//! worktree, read the key or see another task's worktree, while git still works inside it;
//! the same task without the sandbox can do all of it (so each assertion can fail). A
//! sandboxed task that runs past its time limit leaves no process behind, and a machine
//! without bubblewrap refuses the run before anything is stored.

use crate::model_server::{ModelServer, Reply, Rule};
use crate::npm_cli::claude_bin;
use crate::support::{git, run_id, TempDir};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// What the test's SSH key holds; a task that can read it reports so.
const KEY: &str = "ssh-test-key-material-4c1d";

/// A test folder: a repository `repo` with `w.wf` committed, a home `home` with
/// `.ssh/id_test`, and an empty folder `outside` that no sandboxed task may write into.
struct Setup {
    dir: TempDir,
    repo: PathBuf,
    home: PathBuf,
    outside: PathBuf,
}

impl Setup {
    fn new(prefix: &str, workflow: impl Fn(&Setup) -> String) -> Setup {
        let dir = TempDir::new(prefix);
        let repo = dir.path().join("repo");
        let home = dir.path().join("home");
        let outside = dir.path().join("outside");
        for folder in [&repo, &home.join(".ssh"), &outside] {
            std::fs::create_dir_all(folder).expect("a folder");
        }
        std::fs::write(home.join(".ssh/id_test"), KEY).expect("the key");
        let setup = Setup {
            dir,
            repo,
            home,
            outside,
        };
        git(&setup.repo, &["init", "--quiet", "--initial-branch=main"]);
        std::fs::write(setup.repo.join("README"), "hello\n").expect("README");
        std::fs::write(setup.repo.join("w.wf"), workflow(&setup)).expect("w.wf");
        git(&setup.repo, &["add", "--all"]);
        git(&setup.repo, &["commit", "--quiet", "--message=base"]);
        setup
    }

    /// Runs `wfc ARGS` in the repository with the test's home and `path` as the PATH.
    fn wfc(&self, path: &str, args: &[&str]) -> (i32, String, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_wfc"))
            .args(args)
            .current_dir(&self.repo)
            .env_clear()
            .env("PATH", path)
            .env("HOME", &self.home)
            .env("GIT_AUTHOR_NAME", "User")
            .env("GIT_AUTHOR_EMAIL", "user@example.com")
            .env("GIT_COMMITTER_NAME", "User")
            .env("GIT_COMMITTER_EMAIL", "user@example.com")
            .stdin(Stdio::null())
            .output()
            .expect("wfc runs");
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

/// The PATH of the test process, where git, sh and bwrap are.
fn system_path() -> String {
    std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into())
}

/// A shell script that tries each escape and notes in `report.txt`, in its folder, the ones
/// that worked; then checks that git works in its worktree. One line of a `.wf` string: its
/// double quotes escaped.
fn probe(setup: &Setup) -> String {
    let outside = setup.outside.display();
    let repo = setup.repo.display();
    [
        "r=report.txt; : > $r".to_string(),
        format!("if echo x > {outside}/escaped 2>/dev/null; then echo wrote-outside >> $r; fi"),
        format!("if echo x > {repo}/escaped 2>/dev/null; then echo wrote-checkout >> $r; fi"),
        format!("if grep -q {KEY} \\\"$HOME/.ssh/id_test\\\" 2>/dev/null; then echo read-ssh >> $r; fi"),
        format!("if [ -e {repo}/.wfc/state.db ]; then echo saw-store >> $r; fi"),
        // The other task's worktree is a sibling slot; it stays for three seconds.
        "i=0; while [ $i -lt 40 ]; do for d in ../slot-*; do if [ -e $d/other-was-here ]; then echo saw-other-worktree >> $r; i=100; break; fi; done; i=$((i+1)); sleep 0.05; done".to_string(),
        "if git status --porcelain > /dev/null && git add report.txt; then echo git-works >> $r; fi".to_string(),
        "echo done >> $r".to_string(),
    ]
    .join("; ")
}

/// A workflow whose task `probe` tries every escape (in its work and in its verify command),
/// next to a task `other` that keeps a worktree of its own at the same time.
fn workflow(setup: &Setup, sandbox: &str) -> String {
    let outside = setup.outside.display();
    format!(
        "workflow w {{\n  task other {{\n    run = \"touch other-was-here; sleep 3\"\n  }}\n  task probe {{\n    run     = \"{}\"\n    verify  = [\"touch {outside}/verify-escaped || true\"]\n    sandbox = \"{sandbox}\"\n  }}\n}}\n",
        probe(setup)
    )
}

/// Runs the probing workflow isolated in git; returns what `probe` reported.
fn probe_report(sandbox: &str) -> (Setup, String) {
    let setup = Setup::new(&format!("wfc-sandbox-{sandbox}"), |s| workflow(s, sandbox));
    let (code, stdout, stderr) = setup.wfc(
        &system_path(),
        &["run", "w.wf", "--isolation", "git", "-j", "2"],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let id = run_id(&stdout);
    let report = git(&setup.repo, &["show", &format!("wfc/{id}:report.txt")]);
    (setup, report)
}

#[test]
fn a_sandboxed_task_cannot_write_outside_its_worktree_read_the_home_or_see_other_worktrees() {
    let (setup, report) = probe_report("bwrap");
    assert_eq!(report, "git-works\ndone\n", "only git worked");
    for escaped in ["escaped", "verify-escaped"] {
        assert!(
            !setup.outside.join(escaped).exists(),
            "{escaped}: nothing reached the folder outside"
        );
    }
    assert!(
        !setup.repo.join("escaped").exists(),
        "the checkout is untouched"
    );
    drop(setup.dir);
}

#[test]
fn the_same_task_without_a_sandbox_can_do_all_of_it() {
    let (setup, report) = probe_report("none");
    assert_eq!(
        report,
        "wrote-outside\nwrote-checkout\nread-ssh\nsaw-store\nsaw-other-worktree\ngit-works\ndone\n"
    );
    assert!(setup.outside.join("escaped").exists());
    assert!(setup.outside.join("verify-escaped").exists());
    assert!(setup.repo.join("escaped").exists());
}

#[test]
fn an_agent_session_in_a_sandbox_of_a_run_in_its_folder_keeps_the_home_and_the_store_hidden() {
    // The `command` adapter starts a program of the user's as the session; it runs in the
    // sandbox too. The run works in the checkout itself, which stays writable, while wfc's
    // store inside it is hidden.
    let setup = Setup::new("wfc-sandbox-agent", |s| {
        let outside = s.outside.display();
        format!(
            "agent probe {{\n  adapter = \"command\"\n  command = [\"sh\", \"-c\", \"r=report.txt; : > $r; if grep -q {KEY} $HOME/.ssh/id_test; then echo read-ssh >> $r; fi; if [ -e .wfc/state.db ]; then echo saw-store >> $r; fi; if touch {outside}/escaped; then echo wrote-outside >> $r; fi; echo done >> $r; cat $r\"]\n}}\n\nworkflow w {{\n  task look {{\n    agent   = probe\n    prompt  = \"Look around.\"\n    sandbox = \"bwrap\"\n  }}\n}}\n"
        )
    });
    let (code, stdout, stderr) = setup.wfc(&system_path(), &["run", "w.wf", "--isolation", "none"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        std::fs::read_to_string(setup.repo.join("report.txt")).expect("the report"),
        "done\n",
        "the session wrote in the checkout and nothing else worked"
    );
    assert!(!setup.outside.join("escaped").exists());
    assert!(
        setup.repo.join(".wfc/state.db").exists(),
        "the store is still there"
    );
}

/// The processes whose command line holds `marker`.
fn processes_with(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(marker) {
            found.push(format!(
                "{}: {cmdline}",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    found
}

#[test]
fn a_sandboxed_task_that_times_out_leaves_no_process_behind() {
    // A background job and a foreground one that ignores SIGTERM, both inside the sandbox:
    // the time-out stops them all, bwrap too.
    let marker = format!("{}", 7_000_000 + std::process::id() % 1_000_000);
    let setup = Setup::new("wfc-sandbox-timeout", |_| {
        format!("workflow w {{\n  task stuck {{\n    run     = \"sleep {marker} & trap '' TERM; sleep {marker}.5\"\n    timeout = 1s\n    sandbox = \"bwrap\"\n  }}\n}}\n")
    });
    let started = std::time::Instant::now();
    let (code, stdout, stderr) = setup.wfc(&system_path(), &["run", "w.wf", "--isolation", "none"]);
    assert_ne!(code, 0, "{stdout}{stderr}");
    assert!(
        format!("{stdout}{stderr}").contains("timed out after 1s"),
        "{stdout}{stderr}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let left = processes_with(&marker);
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

#[test]
fn a_machine_without_bubblewrap_refuses_the_run_before_anything_is_stored() {
    let setup = Setup::new("wfc-sandbox-missing", |_| {
        "workflow w {\n  task plain {\n    run = \"true\"\n  }\n  task boxed {\n    run     = \"true\"\n    sandbox = \"bwrap\"\n  }\n}\n".to_string()
    });
    // A PATH with git and a shell but no bwrap.
    let tools = setup.dir.path().join("tools");
    std::fs::create_dir_all(&tools).expect("tools");
    for program in ["git", "sh"] {
        let found = which(program);
        std::os::unix::fs::symlink(&found, tools.join(program)).expect("link");
    }
    let path = tools.display().to_string();
    let (code, stdout, stderr) = setup.wfc(&path, &["run", "w.wf", "--isolation", "none"]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("task `boxed` sets `sandbox = \"bwrap\"`, but `bwrap` is not on the PATH"),
        "{stderr}"
    );
    assert!(stderr.contains("apt install bubblewrap"), "{stderr}");
    assert!(!stdout.contains("run "), "no run was started: {stdout}");
    assert!(
        !setup.repo.join(".wfc").exists(),
        "nothing is stored: no .wfc folder"
    );
}

/// Where `program` is on the test's PATH.
fn which(program: &str) -> PathBuf {
    std::env::split_paths(&system_path())
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("{program} is on the PATH"))
}

#[test]
fn the_real_claude_code_works_in_the_sandbox_and_cannot_read_the_key() {
    // The real Claude Code CLI, in the sandbox, against the scripted model server: its Bash
    // tool tries to read the key and to write outside, then does the task. The CLI itself
    // runs (its package bound back, its `~/.claude` writable) and reaches the server.
    let setup = Setup::new("wfc-sandbox-claude", |_| {
        "agent claude {\n  adapter   = \"claude-code\"\n  model     = \"claude-sonnet-4-5\"\n  max_turns = 5\n  allow     = [\"Bash\"]\n}\n\nworkflow w {\n  task write {\n    agent   = claude\n    prompt  = \"[[probe]] Write ok.txt.\"\n    verify  = [\"test -s ok.txt\"]\n    timeout = 2m\n    sandbox = \"bwrap\"\n  }\n}\n"
            .to_string()
    });
    std::fs::create_dir_all(setup.home.join(".claude")).expect("~/.claude");
    let outside = setup.outside.display();
    let server = ModelServer::start(vec![Rule::new(
        "[[probe]]",
        vec![
            Reply::tool(
                "Bash",
                json!({
                    "command": format!("(cat \"$HOME/.ssh/id_test\" || echo no-key) > saw-key.txt 2>&1; echo x > {outside}/escaped || true; echo written > ok.txt"),
                    "description": "Probe and write ok.txt"
                }),
            ),
            Reply::text("ok.txt is written."),
        ],
    )]);
    let claude = claude_bin();
    let path = format!(
        "{}:{}",
        claude.parent().expect("the CLI's folder").display(),
        system_path()
    );
    let output = Command::new(env!("CARGO_BIN_EXE_wfc"))
        .args(["run", "w.wf", "--isolation", "git"])
        .current_dir(&setup.repo)
        .env_clear()
        .env("PATH", path)
        .env("HOME", &setup.home)
        .env("ANTHROPIC_BASE_URL", &server.url)
        .env("ANTHROPIC_API_KEY", "sk-ant-test-sandbox-7e21")
        .stdin(Stdio::null())
        .output()
        .expect("wfc runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    let id = run_id(&stdout);
    let branch = format!("wfc/{id}");
    assert_eq!(
        git(&setup.repo, &["show", &format!("{branch}:ok.txt")]),
        "written\n"
    );
    let saw = git(&setup.repo, &["show", &format!("{branch}:saw-key.txt")]);
    assert!(!saw.contains(KEY), "the session read the key: {saw}");
    assert!(saw.contains("no-key"), "{saw}");
    assert!(!setup.outside.join("escaped").exists());
}
