//! What a task says about where it works, in runs isolated in git, with the real binary, real
//! git and repositories each test makes: conflicts resolved by an agent or by a person,
//! retries that go on from the failed attempt, `setup` commands and copied ignored files, and
//! a task that works in the folder.

use crate::isolation_run::{files_of, repo, tidy};
use crate::support::{git, run_id, task_status, wfc, TempDir};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Two tasks that write different lines to `README`, and `c` after both, whose `body` follows.
pub(crate) fn conflicting(c: &str) -> String {
    format!(
        "workflow w {{\n  task a {{\n    run = \"echo from-a > README\"\n  }}\n  task b {{\n    run = \"echo from-b > README\"\n  }}\n  task c after a, b {{\n{c}\n  }}\n}}\n"
    )
}

/// A stand-in agent (the `command` adapter runs it with the prompt on stdin): a session asked
/// to resolve a conflict saves its prompt in `log` and, when `resolves`, writes both sides'
/// lines to `README`; any other session appends `joined`. Each session says it cost $1.
pub(crate) fn stand_in_agent(log: &Path, resolves: bool) -> String {
    let resolution = if resolves {
        "printf 'from-a\\nfrom-b\\n' > README"
    } else {
        "true"
    };
    let script = log.join("agent.sh");
    std::fs::write(
        &script,
        format!(
            "prompt=$(cat)\ncase \"$prompt\" in\n  *'Resolve a merge conflict'*)\n    printf '%s' \"$prompt\" > '{log}/resolution-prompt.txt'\n    {resolution} ;;\n  *)\n    echo joined >> README ;;\nesac\necho 'wfc:usage {{\"cost_usd\": 1.0}}' >&2\n",
            log = log.display()
        ),
    )
    .expect("agent script");
    format!(
        "agent fixer {{\n  adapter = \"command\"\n  command = [\"sh\", \"{}\"]\n}}\n\n",
        script.display()
    )
}

#[test]
fn an_agent_resolves_conflicting_upstream_work_and_the_task_goes_on_from_the_resolution() {
    let log = TempDir::new("wfc-conflict-agent-log");
    let workflow = stand_in_agent(log.path(), true)
        + &conflicting(
            "    agent = fixer\n    prompt = \"Join the work.\"\n    on_conflict = \"agent\"",
        );
    let (_dir, path) = repo("wfc-conflict-agent", &workflow);
    let run = wfc(&path, &["run", "w.wf"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let id = run_id(&run.stdout);
    let branch = format!("wfc/{id}");
    assert_eq!(
        git(&path, &["show", &format!("{branch}:README")]),
        "from-a\nfrom-b\njoined\n",
        "the resolution, then the task's own work"
    );
    // The task's start is the resolution: a merge of both outputs; its own change follows.
    let output = git(&path, &["rev-parse", &format!("refs/wfc/{id}/tasks/c")]);
    let start = git(&path, &["rev-parse", &format!("{}^", output.trim())]);
    let parents = git(&path, &["rev-list", "--parents", "-n", "1", start.trim()]);
    let outputs_of = |task: &str| {
        git(
            &path,
            &["rev-parse", &format!("refs/wfc/{id}/tasks/{task}")],
        )
    };
    assert!(
        parents.contains(outputs_of("a").trim()) && parents.contains(outputs_of("b").trim()),
        "the start commit merges both upstream outputs: {parents}"
    );
    let diff = wfc(&path, &["diff", &id, "c"]);
    assert!(
        diff.stdout.contains("+joined") && !diff.stdout.contains("+from-a"),
        "the task's change is its own work only: {}",
        diff.stdout
    );
    let prompt = std::fs::read_to_string(log.path().join("resolution-prompt.txt")).expect("prompt");
    for needle in [
        "README (changed by `a` and `b`)",
        "### What `a` changed",
        "+from-a",
        "### What `b` changed",
        "+from-b",
    ] {
        assert!(
            prompt.contains(needle),
            "{needle:?} in the prompt: {prompt}"
        );
    }
    assert_eq!(task_status(&path, &id, "c")["attempts"], 1);
    tidy(&path);
}

#[test]
fn an_agent_that_leaves_conflict_markers_fails_the_attempt_saying_where() {
    let log = TempDir::new("wfc-conflict-markers-log");
    let workflow = stand_in_agent(log.path(), false)
        + &conflicting(
            "    agent = fixer\n    prompt = \"Join the work.\"\n    on_conflict = \"agent\"",
        );
    let (_dir, path) = repo("wfc-conflict-markers", &workflow);
    let run = wfc(&path, &["run", "w.wf"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    let id = run_id(&run.stdout);
    let c = task_status(&path, &id, "c");
    assert_eq!(c["state"], "failed");
    let error = c["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("conflict markers remain in README"),
        "{error}"
    );
}

/// Whether task `task` of run `run` in `dir` is waiting (`false` before the run's tasks are
/// stored).
fn waiting(dir: &Path, run: &str, task: &str) -> bool {
    let status = wfc(dir, &["status", run, "--json"]);
    serde_json::from_str::<serde_json::Value>(&status.stdout).is_ok_and(|status| {
        status["tasks"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| t["key"]["task"] == task && t["state"] == "waiting")
    })
}

/// Polls until `done` holds, for at most a minute.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts `wfc run w.wf --isolation git` in `path` and waits until its task `c` waits for a
/// person: the running `wfc`, the run's id, and the rest of its output (kept open, so `wfc`
/// can go on writing to it).
fn run_until_c_waits(path: &Path) -> (std::process::Child, String, impl BufRead) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wfc"))
        .args(["run", "w.wf", "--isolation", "git"])
        .current_dir(path)
        .env_remove("WFC_BACKEND")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wfc run starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("the run's first line");
    let id = run_id(&first);
    wait_until("c waits for a person", || waiting(path, &id, "c"));
    (child, id, stdout)
}

#[test]
fn a_person_resolves_the_conflict_in_the_worktree_shown_and_approve_goes_on() {
    let workflow = conflicting("    run = \"echo joined >> README\"\n    on_conflict = \"human\"");
    let (_dir, path) = repo("wfc-conflict-human", &workflow);
    let before = git(&path, &["rev-parse", "HEAD"]);
    let (child, id, _output) = run_until_c_waits(&path);
    let worktree = path.join(".wfc/worktrees").join(&id).join("conflicts/c");
    let status = wfc(&path, &["status", &id]);
    assert!(
        status.stdout.contains(&format!(
            "waiting for a person to resolve the conflict of c's upstream work in {}",
            worktree.display()
        )),
        "{}",
        status.stdout
    );
    let logs = wfc(&path, &["logs", &id, "c", "--json"]);
    assert!(
        logs.stdout.contains("README (changed by `a` and `b`)")
            && logs.stdout.contains(&worktree.display().to_string())
            && logs.stdout.contains("+from-a"),
        "the question names the files, the worktree and both sides' changes: {}",
        logs.stdout
    );
    let marked = std::fs::read_to_string(worktree.join("README")).expect("the conflicted file");
    assert!(
        marked.contains("<<<<<<<") && marked.contains(">>>>>>>"),
        "{marked}"
    );
    // `wfc gc` while the task waits leaves the person's worktree alone.
    let gc = wfc(&path, &["gc"]);
    assert_eq!(gc.code, 0, "{}{}", gc.stdout, gc.stderr);
    assert!(
        worktree.join("README").exists(),
        "gc kept the conflict's worktree: {}",
        gc.stdout
    );
    // Approved with the markers still there, it waits again, saying why.
    let approve = wfc(&path, &["approve", &id, "c"]);
    assert_eq!(approve.code, 0, "{}{}", approve.stdout, approve.stderr);
    wait_until("c waits again", || {
        wfc(&path, &["logs", &id, "c", "--json"])
            .stdout
            .contains("conflict markers remain in README")
            && waiting(&path, &id, "c")
    });
    std::fs::write(worktree.join("README"), "from-a\nfrom-b\n").expect("the resolution");
    let approve = wfc(&path, &["approve", &id, "c"]);
    assert_eq!(approve.code, 0, "{}{}", approve.stdout, approve.stderr);
    let output = child.wait_with_output().expect("wfc run ends");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let c = task_status(&path, &id, "c");
    assert_eq!(
        (c["state"].as_str(), c["attempts"].as_u64()),
        (Some("succeeded"), Some(1))
    );
    assert_eq!(
        git(&path, &["show", &format!("wfc/{id}:README")]),
        "from-a\nfrom-b\njoined\n"
    );
    assert!(!worktree.exists(), "the conflict's worktree is gone");
    assert_eq!(
        git(&path, &["rev-parse", "HEAD"]),
        before,
        "the checkout did not move"
    );
    assert_eq!(
        std::fs::read_to_string(path.join("README")).expect("README"),
        "hello\n"
    );
    tidy(&path);
}

#[test]
fn a_rejected_conflict_fails_the_task_with_the_reason() {
    let workflow = conflicting("    run = \"true\"\n    on_conflict = \"human\"");
    let (_dir, path) = repo("wfc-conflict-reject", &workflow);
    let (mut child, id, _output) = run_until_c_waits(&path);
    let reject = wfc(&path, &["reject", &id, "c", "--reason", "redo a"]);
    assert_eq!(reject.code, 0, "{}{}", reject.stdout, reject.stderr);
    let status = child.wait().expect("wfc run ends");
    assert!(!status.success());
    let c = task_status(&path, &id, "c");
    assert_eq!(c["state"], "failed");
    assert_eq!(c["last_error"], "a person rejected it: redo a");
}

#[test]
fn a_retry_from_the_failed_attempt_goes_on_with_its_changes() {
    let workflow = "workflow w {\n  task t {\n    retry = 1\n    retry_from = \"failed\"\n    run = \"if [ \\\"$WF_ATTEMPT\\\" = 1 ]; then echo part1 > a.txt; exit 1; fi; echo part2 >> a.txt\"\n  }\n}\n";
    let (_dir, path) = repo("wfc-retry-from-failed", workflow);
    let run = wfc(&path, &["run", "w.wf", "--isolation", "git"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let id = run_id(&run.stdout);
    assert_eq!(
        git(&path, &["show", &format!("wfc/{id}:a.txt")]),
        "part1\npart2\n",
        "the retry found the failed attempt's file"
    );
    let diff = wfc(&path, &["diff", &id, "t"]);
    assert!(
        diff.stdout.contains("+part1") && diff.stdout.contains("+part2"),
        "the task's change runs from its start commit: {}",
        diff.stdout
    );
    tidy(&path);
}

#[test]
fn setup_prepares_each_worktree_and_copy_ignored_brings_the_files_git_ignores() {
    let workflow = "workflow w {\n  defaults {\n    copy_ignored = [\".env\", \"cache\"]\n    setup = [\"cat .env > setup-saw.txt\"]\n  }\n  task a {\n    run = \"cat cache/data > a.txt\"\n  }\n  task b {\n    run = \"cat setup-saw.txt > b.txt\"\n  }\n}\n";
    let (_dir, path) = repo("wfc-setup", workflow);
    std::fs::write(path.join(".gitignore"), ".env\ncache/\n").expect(".gitignore");
    git(&path, &["add", ".gitignore"]);
    git(&path, &["commit", "--quiet", "--message=ignore"]);
    std::fs::write(path.join(".env"), "TOKEN=1\n").expect(".env");
    std::fs::create_dir_all(path.join("cache")).expect("cache");
    std::fs::write(path.join("cache/data"), "cached\n").expect("cache/data");
    let run = wfc(&path, &["run", "w.wf", "--isolation", "git", "-j", "2"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let id = run_id(&run.stdout);
    let branch = format!("wfc/{id}");
    let show = |file: &str| git(&path, &["show", &format!("{branch}:{file}")]);
    assert_eq!(show("a.txt"), "cached\n", "the ignored folder was copied");
    assert_eq!(
        show("b.txt"),
        "TOKEN=1\n",
        "setup ran after the copy, before the task"
    );
    assert_eq!(
        files_of(&path, &branch),
        [
            ".gitignore",
            "README",
            "a.txt",
            "b.txt",
            "setup-saw.txt",
            "w.wf"
        ],
        "what git ignores stays out of the commits"
    );
    tidy(&path);
}

#[test]
fn a_failing_setup_or_a_bad_copy_fails_the_attempt_with_a_clear_error() {
    for (fields, expected) in [
        (
            "setup = [\"echo preparing; exit 3\"]",
            "setup failed: `echo preparing; exit 3` failed (exited with code 3)",
        ),
        (
            "copy_ignored = [\"README\"]",
            "`copy_ignored`: git does not ignore README",
        ),
        (
            "copy_ignored = [\".env\"]",
            "`copy_ignored`: .env does not exist in",
        ),
    ] {
        let workflow = format!(
            "workflow w {{\n  task t {{\n    {fields}\n    run = \"touch ran\"\n  }}\n}}\n"
        );
        let (_dir, path) = repo("wfc-setup-fails", &workflow);
        let run = wfc(&path, &["run", "w.wf", "--isolation", "git"]);
        assert_ne!(run.code, 0, "{}", run.stdout);
        let id = run_id(&run.stdout);
        let t = task_status(&path, &id, "t");
        let error = t["last_error"].as_str().unwrap_or_default();
        assert!(error.contains(expected), "{fields}: {error}");
        assert_eq!(
            std::fs::read_to_string(path.join("README")).expect("README"),
            "hello\n"
        );
        assert!(
            !path.join("ran").exists(),
            "the task did not run, and not in the folder"
        );
    }
}

#[test]
fn a_task_that_says_isolation_none_works_in_the_folder_beside_isolated_ones() {
    let workflow = "workflow w {\n  task a {\n    isolation = \"git\"\n    run = \"echo a > a.txt\"\n  }\n  task report after a {\n    isolation = \"none\"\n    run = \"if [ -e a.txt ]; then echo saw-a; else echo folder; fi > report.txt\"\n  }\n  task last after report {\n    run = \"cat a.txt > last.txt\"\n  }\n}\n";
    let (_dir, path) = repo("wfc-isolation-none-task", workflow);
    // No `--isolation`: the task that says "git" isolates the run.
    let run = wfc(&path, &["run", "w.wf"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let id = run_id(&run.stdout);
    assert_eq!(
        std::fs::read_to_string(path.join("report.txt")).expect("report.txt in the folder"),
        "folder\n",
        "the task worked in the user's folder, which does not hold a's work"
    );
    assert_eq!(
        files_of(&path, &format!("wfc/{id}")),
        ["README", "a.txt", "last.txt", "w.wf"],
        "the folder task's file is not a commit of the run; the task after it has a's work"
    );
    tidy(&path);
    // Outside git, a task that asks for isolation in git is refused before anything starts.
    let plain = TempDir::new("wfc-isolation-none-plain");
    std::fs::write(plain.path().join("w.wf"), workflow).expect("w.wf");
    let refused = wfc(plain.path(), &["run", "w.wf"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("task `a` says `isolation = \"git\"`")
            && refused.stderr.contains("needs a git repository"),
        "{}",
        refused.stderr
    );
    assert!(!plain.path().join(".wfc").exists(), "nothing stored");
}

#[test]
fn a_detached_checkout_gives_its_commit_as_the_base_and_a_missing_git_is_said() {
    let workflow = "agent helper {\n  adapter = \"command\"\n  command = [\"sh\", \"-c\", \"echo done > agent.txt\"]\n}\n\nworkflow w {\n  task a {\n    agent = helper\n    prompt = \"Write agent.txt.\"\n  }\n}\n";
    let (_dir, path) = repo("wfc-isolation-detached", workflow);
    let base = git(&path, &["rev-parse", "HEAD"]);
    git(&path, &["checkout", "--quiet", "--detach"]);
    let run = wfc(&path, &["run", "w.wf"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let id = run_id(&run.stdout);
    assert_eq!(
        git(&path, &["rev-parse", &format!("wfc/{id}^")]),
        base,
        "the result starts from the detached commit"
    );
    assert_eq!(
        git(&path, &["rev-parse", "HEAD"]),
        base,
        "still detached where it was"
    );
    assert!(
        !path.join("agent.txt").exists(),
        "the agent worked in a worktree"
    );
    tidy(&path);
    // Without git on the PATH the agent works in the folder, and the run says why; asked for
    // isolation, the run is refused before anything is stored.
    let bin = TempDir::new("wfc-no-git-bin");
    for program in ["sh", "echo"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {program}")])
            .output()
            .expect("sh");
        let found = String::from_utf8_lossy(&found.stdout).trim().to_string();
        if found.starts_with('/') {
            std::os::unix::fs::symlink(&found, bin.path().join(program)).expect("link");
        }
    }
    let without_git = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_wfc"))
            .args(args)
            .current_dir(&path)
            .env("PATH", bin.path())
            .env_remove("WFC_BACKEND")
            .stdin(Stdio::null())
            .output()
            .expect("wfc runs")
    };
    let refused = without_git(&["run", "w.wf", "--isolation", "git"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot run git"), "{stderr}");
    let in_folder = without_git(&["run", "w.wf"]);
    let stderr = String::from_utf8_lossy(&in_folder.stderr);
    assert!(in_folder.status.success(), "{stderr}");
    assert!(
        stderr.contains("the run's agents work in the folder, not in worktrees of their own")
            && stderr.contains("cannot run git"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(path.join("agent.txt")).expect("agent.txt in the folder"),
        "done\n"
    );
}
