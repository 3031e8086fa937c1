//! Runs isolated in git worktrees (`wfc run --isolation git`), with the real binary, real git
//! and repositories each test makes: a task sees exactly its upstream tasks' work, the result
//! is a branch, the user's checkout is never touched, a retry starts clean, and conflicting
//! work fails the task that would merge it, naming the files and the tasks.

use crate::support::{git, run_id, task_status, wfc, TempDir};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A repository with `README` committed on `main`, and `workflow` as `w.wf` committed too.
pub(crate) fn repo(prefix: &str, workflow: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new(prefix);
    let path = dir.path().join("repo");
    std::fs::create_dir_all(&path).expect("repository folder");
    git(&path, &["init", "--quiet", "--initial-branch=main"]);
    std::fs::write(path.join("README"), "hello\n").expect("README");
    std::fs::write(path.join("w.wf"), workflow).expect("w.wf");
    git(&path, &["add", "--all"]);
    git(&path, &["commit", "--quiet", "--message=base"]);
    (dir, path)
}

/// Every file of the checkout but `.git` and wfc's own `.wfc`, with its bytes; the index's
/// bytes; HEAD; and every branch but wfc's result branches.
fn checkout(path: &Path) -> (BTreeMap<PathBuf, Vec<u8>>, Vec<u8>, String, String) {
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("read the checkout") {
            let path = entry.expect("entry").path();
            let name = path.file_name().unwrap_or_default();
            if dir == root && (name == ".git" || name == ".wfc") {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                let bytes = std::fs::read(&path).expect("file");
                files.insert(
                    path.strip_prefix(root).expect("inside").to_path_buf(),
                    bytes,
                );
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(path, path, &mut files);
    let index = std::fs::read(path.join(".git/index")).expect("index");
    let head = git(path, &["rev-parse", "HEAD"]);
    let branches: String = git(
        path,
        &[
            "for-each-ref",
            "refs/heads",
            "--format=%(refname) %(objectname)",
        ],
    )
    .lines()
    .filter(|line| !line.starts_with("refs/heads/wfc/"))
    .map(|line| format!("{line}\n"))
    .collect();
    (files, index, head, branches)
}

/// The files of commit-ish `what`, sorted.
pub(crate) fn files_of(path: &Path, what: &str) -> Vec<String> {
    git(path, &["ls-tree", "-r", "--name-only", what])
        .lines()
        .map(str::to_string)
        .collect()
}

/// `git fsck --strict` finds nothing wrong, and no worktree but the checkout is left.
pub(crate) fn tidy(path: &Path) {
    let fsck = Command::new("git")
        .args(["fsck", "--strict", "--no-progress"])
        .current_dir(path)
        .output()
        .expect("git fsck");
    assert!(
        fsck.status.success() && !String::from_utf8_lossy(&fsck.stdout).contains("error"),
        "{}{}",
        String::from_utf8_lossy(&fsck.stdout),
        String::from_utf8_lossy(&fsck.stderr)
    );
    let worktrees = git(path, &["worktree", "list", "--porcelain"]);
    assert_eq!(
        worktrees.matches("worktree ").count(),
        1,
        "only the user's checkout is left: {worktrees}"
    );
}

#[test]
fn parallel_tasks_see_only_their_upstream_work_and_the_result_branch_holds_the_union() {
    let signals = TempDir::new("wfc-isolation-signals");
    let signal = signals.path().display().to_string();
    // `a` and `b` run at once (each waits until both started), and each notes whether it can
    // see the other's file; `c` after both sees both.
    let workflow = format!(
        "workflow w {{\n  task a {{\n    run = \"echo from-a > a.txt; touch {signal}/a; until [ -e {signal}/b ]; do sleep 0.02; done; sleep 0.2; if [ -e b.txt ]; then echo leak > a-saw-b.txt; fi\"\n  }}\n  task b {{\n    run = \"echo from-b > b.txt; touch {signal}/b; until [ -e {signal}/a ]; do sleep 0.02; done; sleep 0.2; if [ -e a.txt ]; then echo leak > b-saw-a.txt; fi\"\n  }}\n  task c after a, b {{\n    run = \"cat a.txt b.txt > c.txt\"\n  }}\n}}\n"
    );
    let (_dir, path) = repo("wfc-isolation-union", &workflow);
    let before = checkout(&path);
    let run = wfc(&path, &["run", "w.wf", "--isolation", "git", "-j", "2"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let id = run_id(&run.stdout);
    let branch = format!("wfc/{id}");
    assert!(
        run.stdout
            .contains(&format!("the result is on branch {branch}")),
        "{}",
        run.stdout
    );
    assert_eq!(
        files_of(&path, &branch),
        ["README", "a.txt", "b.txt", "c.txt", "w.wf"],
        "exactly the union of the tasks' work: neither saw the other's file"
    );
    assert_eq!(
        git(&path, &["show", &format!("{branch}:c.txt")]),
        "from-a\nfrom-b\n"
    );
    for task in ["a", "b", "c"] {
        git(
            &path,
            &[
                "rev-parse",
                "--verify",
                &format!("refs/wfc/{id}/tasks/{task}"),
            ],
        );
    }
    assert_eq!(
        checkout(&path),
        before,
        "the user's checkout, index, HEAD and branches"
    );
    assert_eq!(
        git(&path, &["status", "--porcelain"]),
        "",
        "nothing new in git status"
    );
    tidy(&path);
    // Each task's output is recorded with its success.
    let c = task_status(&path, &id, "c");
    assert_eq!(
        c["output"].as_str().map(str::to_string),
        Some(
            git(&path, &["rev-parse", &format!("refs/wfc/{id}/tasks/c")])
                .trim()
                .to_string()
        )
    );
}

#[test]
fn a_user_who_commits_during_a_run_loses_nothing_and_wfc_moves_nothing() {
    let signals = TempDir::new("wfc-isolation-user");
    let signal = signals.path().display().to_string();
    let workflow = format!(
        "workflow w {{\n  task slow {{\n    run = \"touch {signal}/started; until [ -e {signal}/go ]; do sleep 0.02; done; echo work > work.txt\"\n  }}\n}}\n"
    );
    let (_dir, path) = repo("wfc-isolation-user", &workflow);
    let base = git(&path, &["rev-parse", "HEAD"]).trim().to_string();
    let child = Command::new(env!("CARGO_BIN_EXE_wfc"))
        .args(["run", "w.wf", "--isolation", "git"])
        .current_dir(&path)
        .env_remove("WFC_BACKEND")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("wfc starts");
    let started = std::time::Instant::now();
    while !signals.path().join("started").exists() {
        assert!(started.elapsed().as_secs() < 20, "the task never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The user goes on working in their checkout and commits.
    std::fs::write(path.join("README"), "hello, edited by the user\n").expect("edit");
    std::fs::write(path.join("mine.txt"), "mine\n").expect("new file");
    git(&path, &["add", "--all"]);
    git(&path, &["commit", "--quiet", "--message=the user's work"]);
    let users = git(&path, &["rev-parse", "HEAD"]).trim().to_string();
    std::fs::write(signals.path().join("go"), "").expect("go");
    let output = child.wait_with_output().expect("wfc ends");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let id = run_id(&stdout);
    assert_eq!(
        git(&path, &["rev-parse", "main"]).trim(),
        users,
        "main is the user's"
    );
    assert_eq!(
        std::fs::read_to_string(path.join("README")).expect("README"),
        "hello, edited by the user\n"
    );
    assert!(
        !path.join("work.txt").exists(),
        "the run's work is not in the checkout"
    );
    // The run's work starts from where the run started, not from the user's new commit.
    let result = format!("wfc/{id}");
    assert_eq!(
        git(&path, &["rev-parse", &format!("{result}~1")]).trim(),
        base
    );
    assert_eq!(files_of(&path, &result), ["README", "w.wf", "work.txt"]);
    assert_eq!(git(&path, &["status", "--porcelain"]), "");
    tidy(&path);
}

#[test]
fn a_retry_starts_clean_and_is_told_what_the_failed_attempt_changed() {
    let workflow = "workflow w {\n  task t {\n    retry = 1\n    run = \"if [ \\\"$WF_ATTEMPT\\\" = 1 ]; then echo junk > junk.txt; exit 1; fi; test ! -e junk.txt; printf '%s' \\\"$WF_PREVIOUS_ERROR\\\" > told.txt\"\n  }\n}\n";
    let (_dir, path) = repo("wfc-isolation-retry", workflow);
    let run = wfc(&path, &["run", "w.wf", "--isolation", "git"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let id = run_id(&run.stdout);
    let branch = format!("wfc/{id}");
    assert_eq!(files_of(&path, &branch), ["README", "told.txt", "w.wf"]);
    let told = git(&path, &["show", &format!("{branch}:told.txt")]);
    assert!(
        told.contains(&format!("refs/wfc/{id}/attempts/t/1")) && told.contains("junk.txt"),
        "the retry is told where the failed attempt's changes are, and what they were: {told}"
    );
    assert_eq!(
        files_of(&path, &format!("refs/wfc/{id}/attempts/t/1")),
        ["README", "junk.txt", "w.wf"],
        "the failed attempt's changes are kept"
    );
    tidy(&path);
}

#[test]
fn conflicting_upstream_work_fails_the_task_naming_the_files_and_the_tasks() {
    let workflow = "workflow w {\n  task a {\n    run = \"echo from-a > README\"\n  }\n  task b {\n    run = \"echo from-b > README\"\n  }\n  task c after a, b {\n    run = \"touch ran\"\n  }\n}\n";
    let (_dir, path) = repo("wfc-isolation-conflict", workflow);
    let run = wfc(&path, &["run", "w.wf", "--isolation", "git"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    let id = run_id(&run.stdout);
    let c = task_status(&path, &id, "c");
    let error = c["last_error"].as_str().unwrap_or_default();
    assert_eq!(c["state"], "failed");
    assert_eq!(c["attempts"], 1, "{error}");
    assert!(
        error.contains("the task could not start")
            && error.contains("README (changed by `a` and `b`)"),
        "{error}"
    );
    assert!(
        git(&path, &["branch", "--list", &format!("wfc/{id}")]).is_empty(),
        "a failed run has no result branch"
    );
}

#[test]
fn a_folder_that_cannot_give_a_base_is_refused_before_anything_is_stored() {
    let workflow = "workflow w {\n  task a {\n    run = \"true\"\n  }\n}\n";
    // Not a repository.
    let plain = TempDir::new("wfc-isolation-plain");
    std::fs::write(plain.path().join("w.wf"), workflow).expect("w.wf");
    let run = wfc(plain.path(), &["run", "w.wf", "--isolation", "git"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("isolation in git needs a git repository"),
        "{}",
        run.stderr
    );
    assert!(!plain.path().join(".wfc").exists(), "nothing stored");
    // A repository with no commit.
    let unborn = TempDir::new("wfc-isolation-unborn");
    git(unborn.path(), &["init", "--quiet"]);
    std::fs::write(unborn.path().join("w.wf"), workflow).expect("w.wf");
    let run = wfc(unborn.path(), &["run", "w.wf", "--isolation", "git"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("has no commit yet"), "{}", run.stderr);
    // A repository in the middle of a rebase.
    let (_dir, path) = repo("wfc-isolation-rebase", workflow);
    git(&path, &["checkout", "--quiet", "-b", "side"]);
    std::fs::write(path.join("README"), "side\n").expect("edit");
    git(&path, &["commit", "--quiet", "--all", "--message=side"]);
    git(&path, &["checkout", "--quiet", "main"]);
    std::fs::write(path.join("README"), "main\n").expect("edit");
    git(&path, &["commit", "--quiet", "--all", "--message=main"]);
    let rebase = Command::new("git")
        .args(["rebase", "side"])
        .current_dir(&path)
        .env("GIT_COMMITTER_NAME", "User")
        .env("GIT_COMMITTER_EMAIL", "user@example.com")
        .output()
        .expect("git rebase");
    assert!(!rebase.status.success(), "the rebase stops at its conflict");
    let run = wfc(&path, &["run", "w.wf", "--isolation", "git"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("in the middle of `git rebase`"),
        "{}",
        run.stderr
    );
    // Uncommitted changes are not part of the base: the run says so, and goes on.
    git(&path, &["rebase", "--abort"]);
    std::fs::write(path.join("README"), "uncommitted\n").expect("edit");
    let run = wfc(&path, &["run", "w.wf", "--isolation", "git"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("your uncommitted changes are not part of it"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(path.join("README")).expect("README"),
        "uncommitted\n"
    );
}

#[test]
fn after_kill_9_the_half_done_edits_never_reach_an_output_and_gc_leaves_no_worktree() {
    let signals = TempDir::new("wfc-isolation-kill");
    let signal = signals.path().display().to_string();
    let workflow = format!(
        "workflow w {{\n  task t {{\n    run = \"if [ \\\"$WF_ATTEMPT\\\" = 1 ]; then echo half > half.txt; echo $$ > {signal}/pgid; sleep 1000; fi; test ! -e half.txt; echo done > done.txt\"\n  }}\n}}\n"
    );
    let (_dir, path) = repo("wfc-isolation-kill", &workflow);
    let mut child = Command::new(env!("CARGO_BIN_EXE_wfc"))
        .args(["run", "w.wf", "--isolation", "git", "--lease", "0.5"])
        .current_dir(&path)
        .env_remove("WFC_BACKEND")
        // Killed before the task's start is written (a moment after its process started,
        // made ten minutes long here), the engine leaves a group no record names: `wfc gc`
        // finds it by its variables.
        .env("WFC_START_LINGER_MS", "600000")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("wfc starts");
    let pgid_file = signals.path().join("pgid");
    let started = std::time::Instant::now();
    while std::fs::read_to_string(&pgid_file).map_or(true, |text| !text.ends_with('\n')) {
        assert!(started.elapsed().as_secs() < 20, "the task never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().expect("kill -9 wfc");
    let output = child.wait_with_output().expect("wfc ends");
    let id = run_id(&String::from_utf8_lossy(&output.stdout));
    let first: i32 = std::fs::read_to_string(&pgid_file)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .expect("the task wrote its group");
    // The killed engine's worktree is free (its lock went with the engine): once its lease
    // has run out, `wfc gc` stops what the attempt left running there, then removes it,
    // though the run has not ended.
    let left = git(&path, &["worktree", "list", "--porcelain"]);
    assert_eq!(left.matches("worktree ").count(), 2, "{left}");
    assert!(
        crate::run::group_alive(first),
        "the attempt outlives a kill -9 of wfc"
    );
    std::thread::sleep(std::time::Duration::from_millis(700));
    let gc = wfc(&path, &["gc"]);
    assert_eq!(gc.code, 0, "{}", gc.stderr);
    assert!(
        gc.stdout
            .contains("stopped 1 process group(s) left running by engines that are gone")
            && gc.stdout.contains("removed 1 worktree(s)"),
        "{}",
        gc.stdout
    );
    assert!(
        !crate::run::group_alive(first),
        "nothing of the attempt is left"
    );
    tidy(&path);
    let resumed = wfc(&path, &["resume", &id, "--lease", "0.5"]);
    // Whatever happens, the test leaves no process behind.
    let _ = nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(first),
        nix::sys::signal::Signal::SIGKILL,
    );
    assert_eq!(resumed.code, 0, "{}{}", resumed.stdout, resumed.stderr);
    let branch = format!("wfc/{id}");
    assert_eq!(
        files_of(&path, &branch),
        ["README", "done.txt", "w.wf"],
        "the killed attempt's half-done edit is in no output"
    );
    // The run's pool is gone with the run, and no lock stays.
    tidy(&path);
    assert!(!path.join(".wfc/worktrees").join(&id).exists());
    let locks = Command::new("find")
        .args([".git", "-name", "*.lock"])
        .current_dir(&path)
        .output()
        .expect("find");
    assert_eq!(String::from_utf8_lossy(&locks.stdout), "", "no stray lock");
    // What the task changed, start to output.
    let diff = wfc(&path, &["diff", &id, "t"]);
    assert_eq!(diff.code, 0, "{}", diff.stderr);
    assert!(
        diff.stdout.contains("+++ b/done.txt") && diff.stdout.contains("+done"),
        "{}",
        diff.stdout
    );
    let stat = wfc(&path, &["diff", &id, "t", "--stat"]);
    assert!(stat.stdout.contains("done.txt | 1 +"), "{}", stat.stdout);
    // `--refs` drops the run's refs; its result branch stays.
    let gc = wfc(&path, &["gc", "--refs"]);
    assert!(
        gc.stdout.contains("removed 0 worktree(s) and 1 ref(s)"),
        "{}",
        gc.stdout
    );
    assert_eq!(
        git(&path, &["for-each-ref", &format!("refs/wfc/{id}/")]),
        ""
    );
    git(&path, &["rev-parse", "--verify", &branch]);
}

#[test]
fn diff_of_a_task_that_changed_nothing_or_of_a_run_in_a_folder_says_so() {
    let workflow = "workflow w {\n  task a {\n    run = \"true\"\n  }\n}\n";
    let (_dir, path) = repo("wfc-isolation-diff", workflow);
    let run = wfc(&path, &["run", "w.wf", "--isolation", "git"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let id = run_id(&run.stdout);
    let diff = wfc(&path, &["diff", &id, "a"]);
    assert_eq!(diff.code, 0, "{}", diff.stderr);
    assert!(
        diff.stdout.contains("task `a` changed nothing"),
        "{}",
        diff.stdout
    );
    let plain = wfc(&path, &["run", "w.wf"]);
    let diff = wfc(&path, &["diff", &run_id(&plain.stdout), "a"]);
    assert_eq!(diff.code, 2, "{}", diff.stderr);
    assert!(
        diff.stderr.contains("was not isolated in git"),
        "{}",
        diff.stderr
    );
}

#[test]
fn a_reused_worktree_keeps_ignored_build_files_warm_and_survives_a_task_that_deleted_dot_git() {
    let workflow = "workflow w {\n  task a {\n    run = \"mkdir -p build; echo warm > build/cache; echo a > a.txt; rm -rf .git\"\n  }\n  task b after a {\n    run = \"if [ -f build/cache ]; then echo hit > b.txt; else echo miss > b.txt; fi; printf '%s' \\\"$(git rev-parse HEAD)\\\" > head.txt\"\n  }\n}\n";
    let (_dir, path) = repo("wfc-isolation-reuse", workflow);
    std::fs::write(path.join(".gitignore"), "build/\n").expect(".gitignore");
    git(&path, &["add", ".gitignore"]);
    git(&path, &["commit", "--quiet", "--message=ignore build"]);
    let before = checkout(&path);
    let run = wfc(&path, &["run", "w.wf", "--isolation", "git", "-j", "1"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let id = run_id(&run.stdout);
    let branch = format!("wfc/{id}");
    assert_eq!(
        files_of(&path, &branch),
        [".gitignore", "README", "a.txt", "b.txt", "head.txt", "w.wf"],
        "a's work reached b although a deleted its .git; ignored files are in no commit"
    );
    assert_eq!(
        git(&path, &["show", &format!("{branch}:b.txt")]),
        "hit\n",
        "b worked in a's worktree, moved to its start: the ignored build folder stayed warm"
    );
    // b's worktree was at its start commit: a's output.
    let a_output = git(&path, &["rev-parse", &format!("refs/wfc/{id}/tasks/a")]);
    assert_eq!(
        git(&path, &["show", &format!("{branch}:head.txt")]),
        a_output.trim()
    );
    assert_eq!(checkout(&path), before, "the user's checkout is untouched");
    tidy(&path);
}

#[test]
fn into_hands_the_result_to_a_branch_only_when_it_fast_forwards() {
    let workflow =
        "workflow w {\n  task t {\n    run = \"echo \\\"$WF_RUN_ID\\\" > out.txt\"\n  }\n}\n";
    // The user's clean checkout of the branch: it and its files follow.
    let (_dir, path) = repo("wfc-isolation-into", workflow);
    let run = wfc(
        &path,
        &["run", "w.wf", "--isolation", "git", "--into", "main"],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let id = run_id(&run.stdout);
    assert!(
        run.stdout
            .contains("`main` is there now, and your checkout's files with it"),
        "{}",
        run.stdout
    );
    assert_eq!(
        git(&path, &["rev-parse", "main"]),
        git(&path, &["rev-parse", &format!("wfc/{id}")])
    );
    assert_eq!(
        std::fs::read_to_string(path.join("out.txt")).expect("the files followed"),
        format!("{id}\n")
    );
    assert_eq!(git(&path, &["status", "--porcelain"]), "");
    // Uncommitted changes in that checkout: nothing of the user's is touched.
    std::fs::write(path.join("README"), "mine, not committed\n").expect("edit");
    let main_before = git(&path, &["rev-parse", "main"]);
    let run = wfc(
        &path,
        &["run", "w.wf", "--isolation", "git", "--into", "main"],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("`main` was left as it was: your checkout of `main` has uncommitted changes"),
        "{}",
        run.stdout
    );
    assert_eq!(git(&path, &["rev-parse", "main"]), main_before);
    assert_eq!(
        std::fs::read_to_string(path.join("README")).expect("README"),
        "mine, not committed\n"
    );
    git(&path, &["checkout", "--quiet", "--", "README"]);
    // A branch that is not checked out moves by compare-and-swap; a missing one is made; one
    // with commits of its own is left.
    git(&path, &["branch", "release", "main"]);
    git(&path, &["branch", "diverged", "main"]);
    git(&path, &["checkout", "--quiet", "diverged"]);
    std::fs::write(path.join("theirs.txt"), "theirs\n").expect("file");
    git(&path, &["add", "theirs.txt"]);
    git(&path, &["commit", "--quiet", "--message=theirs"]);
    git(&path, &["checkout", "--quiet", "main"]);
    for (branch, expected) in [
        ("release", "`release` is there now"),
        ("fresh", "branch `fresh` was made there"),
        (
            "diverged",
            "`diverged` was left as it was: `diverged` has commits the result does not have",
        ),
    ] {
        let run = wfc(
            &path,
            &["run", "w.wf", "--isolation", "git", "--into", branch],
        );
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains(expected), "{branch}: {}", run.stdout);
        let id = run_id(&run.stdout);
        let at_result =
            git(&path, &["rev-parse", branch]) == git(&path, &["rev-parse", &format!("wfc/{id}")]);
        assert_eq!(at_result, branch != "diverged", "{branch}");
    }
    // `--into` needs isolation (and asks for it unless told otherwise).
    let run = wfc(
        &path,
        &["run", "w.wf", "--isolation", "none", "--into", "main"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("it needs --isolation git"),
        "{}",
        run.stderr
    );
    tidy(&path);
}

#[test]
fn a_task_that_points_its_dot_git_at_the_users_repository_cannot_make_wfc_touch_it() {
    let (_dir, path) = repo("wfc-isolation-repoint", "");
    let users_git = path.join(".git").display().to_string();
    let workflow = format!(
        "workflow w {{\n  task a {{\n    run = \"rm -f .git; printf 'gitdir: %s\\\\n' {users_git} > .git; echo a > a.txt\"\n  }}\n  task b after a {{\n    run = \"echo b > b.txt\"\n  }}\n}}\n"
    );
    std::fs::write(path.join("w.wf"), workflow).expect("w.wf");
    git(
        &path,
        &["commit", "--quiet", "--all", "--message=the workflow"],
    );
    let before = checkout(&path);
    let run = wfc(&path, &["run", "w.wf", "--isolation", "git", "-j", "1"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let id = run_id(&run.stdout);
    assert_eq!(
        files_of(&path, &format!("wfc/{id}")),
        ["README", "a.txt", "b.txt", "w.wf"]
    );
    assert_eq!(
        checkout(&path),
        before,
        "the user's checkout, index, HEAD and branches"
    );
    tidy(&path);
}

#[test]
fn status_shows_the_files_each_task_changed_and_where_a_failed_tasks_worktree_is_kept() {
    let workflow = "workflow w {\n  task two {\n    run = \"echo 1 > one.txt; echo 2 > two.txt\"\n  }\n  task broken {\n    run = \"echo half > half.txt; exit 3\"\n  }\n}\n";
    let (_dir, path) = repo("wfc-isolation-status", workflow);
    let run = wfc(&path, &["run", "w.wf", "--isolation", "git"]);
    assert_ne!(run.code, 0, "broken fails: {}", run.stdout);
    let id = run_id(&run.stdout);
    let status = wfc(&path, &["status", &id]);
    assert!(status.stdout.contains("FILES"), "{}", status.stdout);
    let row = status
        .stdout
        .lines()
        .find(|line| line.starts_with("two "))
        .expect("a row for two");
    assert!(row.split_whitespace().any(|cell| cell == "2"), "{row}");
    let kept = path.join(format!(".wfc/worktrees/{id}/failed/broken.1"));
    assert!(
        status.stdout.contains(&format!(
            "the worktree of broken's last attempt is kept for you to look into: {}",
            kept.display()
        )),
        "{}",
        status.stdout
    );
    assert_eq!(
        std::fs::read_to_string(kept.join("half.txt")).expect("the failed attempt's file"),
        "half\n"
    );
    let two = task_status(&path, &id, "two");
    assert_eq!(two["files_changed"], 2);
    // `wfc gc` removes the kept worktree.
    let gc = wfc(&path, &["gc"]);
    assert!(gc.stdout.contains("removed 1 worktree(s)"), "{}", gc.stdout);
    assert!(!kept.exists());
    tidy(&path);
}

#[test]
fn parallel_attempts_get_their_own_worktree_and_ports_in_their_environment() {
    let signals = TempDir::new("wfc-isolation-env");
    let signal = signals.path().display().to_string();
    // Both run at once: each waits until the other started.
    let task = |name: &str, other: &str| {
        format!(
            "  task {name} {{\n    run = \"printf '%s %s' \\\"$WF_WORKTREE\\\" \\\"$WF_PORT_BASE\\\" > {name}.env; test \\\"$WF_WORKTREE\\\" = \\\"$(pwd)\\\"; touch {signal}/{name}; until [ -e {signal}/{other} ]; do sleep 0.02; done\"\n  }}\n"
        )
    };
    let workflow = format!("workflow w {{\n{}{}}}\n", task("a", "b"), task("b", "a"));
    let (_dir, path) = repo("wfc-isolation-env", &workflow);
    let run = wfc(&path, &["run", "w.wf", "--isolation", "git", "-j", "2"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let id = run_id(&run.stdout);
    let branch = format!("wfc/{id}");
    let read = |name: &str| -> (String, u32) {
        let text = git(&path, &["show", &format!("{branch}:{name}.env")]);
        let (folder, port) = text.rsplit_once(' ').expect("folder and port");
        (folder.to_string(), port.parse().expect("a port"))
    };
    let (a_folder, a_port) = read("a");
    let (b_folder, b_port) = read("b");
    let pool = path.join(".wfc/worktrees").join(&id);
    for folder in [&a_folder, &b_folder] {
        assert!(
            std::path::Path::new(folder).starts_with(&pool),
            "{folder} is a worktree of the run's pool"
        );
    }
    assert_ne!(a_folder, b_folder, "two attempts at once, two worktrees");
    assert_ne!(a_port, b_port, "two attempts at once, two port ranges");
    assert!(
        [a_port, b_port]
            .iter()
            .all(|p| (20_000..60_000).contains(p) && p % 100 == 0),
        "{a_port} {b_port}"
    );
}

#[test]
fn a_run_with_an_agent_task_in_a_git_repository_is_isolated_by_default_and_one_of_commands_is_not()
{
    let agentic = "agent writer {\n  adapter = \"command\"\n  command = [\"sh\", \"-c\", \"cat > /dev/null; echo agent > agent.txt; echo done\"]\n}\n\nworkflow w {\n  task write {\n    agent  = writer\n    prompt = \"Write agent.txt.\"\n  }\n}\n";
    let (_dir, path) = repo("wfc-isolation-default", agentic);
    let run = wfc(&path, &["run", "w.wf"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let id = run_id(&run.stdout);
    assert!(
        !path.join("agent.txt").exists(),
        "the agent worked in a worktree"
    );
    assert_eq!(
        files_of(&path, &format!("wfc/{id}")),
        ["README", "agent.txt", "w.wf"]
    );
    // `--isolation none` opts out: the agent works in the folder.
    let run = wfc(&path, &["run", "w.wf", "--isolation", "none"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(path.join("agent.txt").exists());
    std::fs::remove_file(path.join("agent.txt")).expect("tidy");
    // A run of commands only works in the folder, where the user looks.
    std::fs::write(
        path.join("make.wf"),
        "workflow make {\n  task build {\n    run = \"echo built > out.txt\"\n  }\n}\n",
    )
    .expect("make.wf");
    let run = wfc(&path, &["run", "make.wf"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(path.join("out.txt").exists());
    // Outside git, agents work in the folder, and a repository that cannot give a base says
    // why it is not used.
    let plain = TempDir::new("wfc-isolation-default-plain");
    std::fs::write(plain.path().join("w.wf"), agentic).expect("w.wf");
    let run = wfc(plain.path(), &["run", "w.wf"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(plain.path().join("agent.txt").exists());
    let unborn = TempDir::new("wfc-isolation-default-unborn");
    git(unborn.path(), &["init", "--quiet"]);
    std::fs::write(unborn.path().join("w.wf"), agentic).expect("w.wf");
    let run = wfc(unborn.path(), &["run", "w.wf"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("the run's agents work in the folder")
            && run.stderr.contains("has no commit yet"),
        "{}",
        run.stderr
    );
}
