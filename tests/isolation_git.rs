//! The isolation git layer against real git and real repositories each test makes: merges
//! without a checkout, commits through a private index, worktrees that tasks may damage,
//! compare-and-swap refs, the state of a checkout, diffs, and values that look like options.

use crate::support::TempDir;
use std::path::{Path, PathBuf};
use std::process::Command;
use wfc::isolation::{
    ChangeKind, CommitMessage, Expect, Git, GitError, Head, MergeOutcome, Oid, Operation, RefName,
    RefUpdate,
};

/// A repository made for one test, with `main` holding `a.txt`, `b.txt` and `shared.txt`.
struct Repo {
    dir: TempDir,
    path: PathBuf,
}

impl Repo {
    fn new(prefix: &str) -> Repo {
        let dir = TempDir::new(prefix);
        let path = dir.path().join("repo");
        std::fs::create_dir_all(&path).expect("repository folder");
        let repo = Repo { dir, path };
        repo.git(&["init", "--quiet", "--initial-branch=main"]);
        repo.git(&["config", "user.name", "Test User"]);
        repo.git(&["config", "user.email", "test@example.com"]);
        repo.write("a.txt", "a\n");
        repo.write("b.txt", "b\n");
        repo.write("shared.txt", "one\ntwo\nthree\n");
        repo.git(&["add", "--all"]);
        repo.git(&["commit", "--quiet", "--message=base"]);
        repo
    }

    /// The repository's git layer.
    fn open(&self) -> Git {
        Git::open(&self.path).expect("the repository opens")
    }

    /// Runs the test's own git in the repository; fails the test if git fails.
    fn git(&self, args: &[&str]) -> String {
        let output = self.git_output(args);
        assert!(
            output.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn git_output(&self, args: &[&str]) -> std::process::Output {
        Command::new("git")
            .args(args)
            .current_dir(&self.path)
            .env("GIT_EDITOR", "true")
            .env("LC_ALL", "C")
            // The test's own `status` and `diff` must not refresh the index either, or the
            // snapshots of the user's index would differ because of the test.
            .env("GIT_OPTIONAL_LOCKS", "0")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("git runs")
    }

    fn write(&self, name: &str, text: &str) {
        let path = self.path.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("subfolder");
        }
        std::fs::write(path, text).expect("write");
    }

    fn rev(&self, revision: &str) -> Oid {
        Oid::parse(&self.git(&["rev-parse", "--verify", revision])).expect("an id")
    }

    /// Makes a commit on a new branch `branch` from `main` that writes `files`, and goes back
    /// to `main`.
    fn side(&self, branch: &str, files: &[(&str, &str)]) -> Oid {
        self.git(&["checkout", "--quiet", "-b", branch, "main"]);
        for (name, text) in files {
            self.write(name, text);
        }
        self.git(&["add", "--all"]);
        self.git(&["commit", "--quiet", &format!("--message={branch}")]);
        self.git(&["checkout", "--quiet", "main"]);
        self.rev(branch)
    }

    /// The content of `path` in `commit`, or `None` if it has no such file.
    fn show(&self, commit: &Oid, path: &str) -> Option<String> {
        let output = self.git_output(&["show", &format!("{commit}:{path}")]);
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// The parents of `commit`, in order.
    fn parents(&self, commit: &Oid) -> Vec<String> {
        let line = self.git(&["rev-list", "--parents", "--max-count=1", commit.as_str()]);
        line.split_whitespace()
            .skip(1)
            .map(str::to_string)
            .collect()
    }

    /// Asserts `git fsck` finds nothing wrong (dangling objects are fine: merge steps).
    fn assert_fsck_clean(&self) {
        let output = self.git_output(&["fsck", "--strict", "--no-dangling"]);
        assert!(
            output.status.success() && output.stdout.is_empty(),
            "git fsck: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Everything of the user's that a run must leave as it was: HEAD, the index file's
    /// bytes, the staged and unstaged changes, and the branches.
    fn user_snapshot(&self) -> (Vec<u8>, Vec<u8>, String, String, String, String) {
        let git_dir = self.path.join(".git");
        (
            std::fs::read(git_dir.join("HEAD")).expect("HEAD"),
            std::fs::read(git_dir.join("index")).expect("the index"),
            self.git(&["diff", "--cached"]),
            self.git(&["diff"]),
            self.git(&["status", "--porcelain=v2", "--branch"]),
            self.git(&["for-each-ref", "refs/heads/"]),
        )
    }
}

fn merged(outcome: MergeOutcome) -> Oid {
    match outcome {
        MergeOutcome::Merged(commit) => commit,
        MergeOutcome::Conflict(conflict) => panic!("unexpected conflict: {conflict:?}"),
    }
}

#[test]
fn commits_that_changed_different_files_merge_into_a_tree_with_both() {
    let repo = Repo::new("wfc-iso-merge");
    let left = repo.side("left", &[("a.txt", "a from left\n")]);
    let right = repo.side("right", &[("b.txt", "b from right\n")]);
    let before = repo.user_snapshot();
    let git = repo.open();
    let message = CommitMessage::new("merge upstreams");
    let merge = merged(
        git.merge(&[left.clone(), right.clone()], &message)
            .expect("merge"),
    );
    assert_eq!(repo.show(&merge, "a.txt").as_deref(), Some("a from left\n"));
    assert_eq!(
        repo.show(&merge, "b.txt").as_deref(),
        Some("b from right\n")
    );
    assert_eq!(repo.parents(&merge), [left.to_string(), right.to_string()]);
    assert_eq!(
        repo.git(&["log", "-1", "--format=%s|%an <%ae>", merge.as_str()]),
        "merge upstreams|wfc <wfc@localhost>\n"
    );
    assert_eq!(
        repo.user_snapshot(),
        before,
        "the user's checkout was touched"
    );
    repo.assert_fsck_clean();
}

#[test]
fn the_same_lines_changed_on_both_sides_are_a_conflict_naming_the_file() {
    let repo = Repo::new("wfc-iso-conflict");
    let left = repo.side(
        "left",
        &[("shared.txt", "one\nLEFT\nthree\n"), ("a.txt", "x\n")],
    );
    let right = repo.side("right", &[("shared.txt", "one\nRIGHT\nthree\n")]);
    let before = repo.user_snapshot();
    let outcome = repo
        .open()
        .merge(&[left.clone(), right.clone()], &CommitMessage::new("m"))
        .expect("a merge that can be tried");
    let MergeOutcome::Conflict(conflict) = outcome else {
        panic!("expected a conflict, got {outcome:?}");
    };
    assert_eq!(conflict.files, ["shared.txt"]);
    assert_eq!(conflict.merged, [left]);
    assert_eq!(conflict.incoming, right);
    assert!(
        conflict
            .messages
            .iter()
            .any(|m| m.contains("CONFLICT") && m.contains("shared.txt")),
        "{:?}",
        conflict.messages
    );
    assert_eq!(repo.user_snapshot(), before);
}

#[test]
fn three_commits_merge_into_one_commit_with_three_parents() {
    let repo = Repo::new("wfc-iso-octopus");
    let one = repo.side("one", &[("one.txt", "1\n")]);
    let two = repo.side("two", &[("two.txt", "2\n"), ("a.txt", "a changed\n")]);
    let three = repo.side("three", &[("three.txt", "3\n")]);
    let merge = merged(
        repo.open()
            .merge(
                &[one.clone(), two.clone(), three.clone()],
                &CommitMessage::new("three"),
            )
            .expect("merge"),
    );
    assert_eq!(
        repo.parents(&merge),
        [one.to_string(), two.to_string(), three.to_string()]
    );
    for (path, text) in [
        ("one.txt", "1\n"),
        ("two.txt", "2\n"),
        ("three.txt", "3\n"),
        ("a.txt", "a changed\n"),
        ("b.txt", "b\n"),
    ] {
        assert_eq!(repo.show(&merge, path).as_deref(), Some(text), "{path}");
    }
    repo.assert_fsck_clean();
}

#[test]
fn a_conflict_in_a_later_pair_names_what_merged_before_it() {
    let repo = Repo::new("wfc-iso-octopus-conflict");
    let one = repo.side("one", &[("one.txt", "1\n")]);
    let two = repo.side("two", &[("shared.txt", "one\nTWO\nthree\n")]);
    let three = repo.side("three", &[("shared.txt", "one\nTHREE\nthree\n")]);
    let outcome = repo
        .open()
        .merge(
            &[one.clone(), two.clone(), three.clone()],
            &CommitMessage::new("m"),
        )
        .expect("a merge that can be tried");
    let MergeOutcome::Conflict(conflict) = outcome else {
        panic!("expected a conflict, got {outcome:?}");
    };
    assert_eq!(conflict.files, ["shared.txt"]);
    assert_eq!(conflict.merged, [one, two]);
    assert_eq!(conflict.incoming, three);
}

#[test]
fn one_commit_or_commits_one_of_which_holds_the_rest_merge_into_that_commit() {
    let repo = Repo::new("wfc-iso-trivial");
    let base = repo.rev("main");
    let left = repo.side("left", &[("a.txt", "left\n")]);
    let git = repo.open();
    let message = CommitMessage::new("m");
    assert_eq!(
        merged(
            git.merge(std::slice::from_ref(&left), &message)
                .expect("one")
        ),
        left
    );
    assert_eq!(
        merged(
            git.merge(&[base.clone(), left.clone()], &message)
                .expect("ancestor")
        ),
        left
    );
    assert_eq!(
        merged(
            git.merge(&[left.clone(), left.clone()], &message)
                .expect("twice")
        ),
        left
    );
    assert!(matches!(
        git.merge(&[], &message),
        Err(GitError::Invalid { .. })
    ));
}

#[test]
fn commit_all_records_new_modified_and_deleted_files_and_leaves_the_user_alone() {
    let repo = Repo::new("wfc-iso-commit");
    repo.write(".gitignore", "*.log\nbuild/\n");
    repo.git(&["add", ".gitignore"]);
    repo.git(&["commit", "--quiet", "--message=ignore"]);
    let start = repo.rev("main");
    // The user has work of their own in progress: one change staged, one not.
    repo.write("a.txt", "user's staged change\n");
    repo.git(&["add", "a.txt"]);
    repo.write("b.txt", "user's unstaged change\n");
    let before = repo.user_snapshot();

    let git = repo.open();
    let folder = repo.dir.path().join("worktrees").join("task-1");
    let folder = git.add_worktree(&folder, &start).expect("worktree");
    std::fs::write(folder.join("a.txt"), "task changed a\n").expect("write");
    std::fs::remove_file(folder.join("b.txt")).expect("delete");
    std::fs::create_dir_all(folder.join("src/deep")).expect("folder");
    std::fs::write(folder.join("src/deep/new.rs"), "fn main() {}\n").expect("write");
    std::fs::write(folder.join("debug.log"), "ignored\n").expect("write");
    std::fs::create_dir_all(folder.join("build")).expect("folder");
    std::fs::write(folder.join("build/out.bin"), "ignored\n").expect("write");

    let message = CommitMessage::new("Build the parser")
        .with_wfc_trailers("run-7", "parser", 2)
        .expect("trailers");
    let output = git.commit_all(&folder, &start, &message).expect("commit");
    assert_ne!(output, start);
    assert_eq!(repo.parents(&output), [start.to_string()]);
    let changes = git.changed_files(&start, &output).expect("diff");
    let mut described: Vec<(String, ChangeKind)> = changes
        .into_iter()
        .map(|change| (change.path, change.kind))
        .collect();
    described.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        described,
        [
            ("a.txt".to_string(), ChangeKind::Modified),
            ("b.txt".to_string(), ChangeKind::Deleted),
            ("src/deep/new.rs".to_string(), ChangeKind::Added),
        ]
    );
    assert_eq!(
        repo.show(&output, "a.txt").as_deref(),
        Some("task changed a\n")
    );
    assert_eq!(
        repo.git(&[
            "log",
            "-1",
            "--format=%s|%an|%(trailers:key=Wfc-Run,valueonly,separator=)|\
             %(trailers:key=Wfc-Task,valueonly,separator=)|\
             %(trailers:key=Wfc-Attempt,valueonly,separator=)",
            output.as_str(),
        ]),
        "Build the parser|wfc|run-7|parser|2\n"
    );
    assert_eq!(
        repo.user_snapshot(),
        before,
        "the user's checkout was touched"
    );
    git.remove_worktree(&folder).expect("remove");
    assert_eq!(
        repo.user_snapshot(),
        before,
        "removing the worktree touched the user"
    );
    repo.assert_fsck_clean();
}

#[test]
fn commit_all_of_an_unchanged_folder_is_the_start_commit() {
    let repo = Repo::new("wfc-iso-unchanged");
    let start = repo.rev("main");
    let git = repo.open();
    let folder = git
        .add_worktree(&repo.dir.path().join("wt"), &start)
        .expect("worktree");
    // An ignored file is no change.
    std::fs::write(folder.join(".git-ignored-by-exclude"), "x").expect("write");
    std::fs::write(
        repo.path.join(".git/info/exclude"),
        ".git-ignored-by-exclude\n",
    )
    .expect("exclude");
    let commits_before = repo.git(&["rev-list", "--all", "--count"]);
    let output = git
        .commit_all(&folder, &start, &CommitMessage::new("nothing"))
        .expect("commit");
    assert_eq!(output, start);
    assert_eq!(repo.git(&["rev-list", "--all", "--count"]), commits_before);
}

#[test]
fn commit_all_still_works_when_the_task_deleted_its_git_file() {
    let repo = Repo::new("wfc-iso-no-dotgit");
    let start = repo.rev("main");
    let git = repo.open();
    let folder = git
        .add_worktree(&repo.dir.path().join("wt"), &start)
        .expect("worktree");
    std::fs::remove_file(folder.join(".git")).expect("delete .git");
    std::fs::write(folder.join("a.txt"), "kept\n").expect("write");
    let output = git
        .commit_all(&folder, &start, &CommitMessage::new("t"))
        .expect("commit");
    assert_eq!(repo.show(&output, "a.txt").as_deref(), Some("kept\n"));
    assert_eq!(repo.show(&output, ".git"), None);
    git.remove_worktree(&folder).expect("remove");
    assert!(!folder.exists());
    repo.assert_fsck_clean();
}

#[test]
fn added_worktrees_are_listed_under_their_folder_and_removed_without_trace() {
    let repo = Repo::new("wfc-iso-worktree");
    let start = repo.rev("main");
    let git = repo.open();
    let under = repo.dir.path().join(".wfc").join("worktrees");
    let folder = git.add_worktree(&under.join("t1"), &start).expect("add");
    assert_eq!(
        std::fs::read_to_string(folder.join("a.txt")).expect("checked out"),
        "a\n"
    );
    let listed = git.worktrees_under(&under).expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].head.as_ref(), Some(&start));
    assert_eq!(listed[0].branch, None, "the worktree is detached");
    assert!(repo.git(&["worktree", "list"]).contains("t1"));
    assert_eq!(
        repo.git(&["for-each-ref", "refs/heads/"]).lines().count(),
        1,
        "no branch was made"
    );

    git.remove_worktree(&folder).expect("remove");
    assert!(!folder.exists());
    assert!(!repo.git(&["worktree", "list"]).contains("t1"));
    assert!(git.worktrees_under(&under).expect("list").is_empty());
    // Removing it again is done already.
    git.remove_worktree(&folder).expect("remove again");
}

#[test]
fn worktrees_a_task_damaged_are_removed_too() {
    let repo = Repo::new("wfc-iso-damaged");
    let start = repo.rev("main");
    let git = repo.open();
    let under = repo.dir.path().join("worktrees");
    let folder_gone = git.add_worktree(&under.join("gone"), &start).expect("add");
    let dotgit_gone = git
        .add_worktree(&under.join("no-git"), &start)
        .expect("add");
    let dotgit_dir = git
        .add_worktree(&under.join("git-dir"), &start)
        .expect("add");
    let locked = git
        .add_worktree(&under.join("locked"), &start)
        .expect("add");
    std::fs::remove_dir_all(&folder_gone).expect("delete the folder");
    std::fs::remove_file(dotgit_gone.join(".git")).expect("delete .git");
    std::fs::remove_file(dotgit_dir.join(".git")).expect("delete .git");
    repo.git(&["init", "--quiet", dotgit_dir.to_str().expect("UTF-8")]);
    std::fs::write(locked.join("scratch"), "untracked").expect("write");
    repo.git(&["worktree", "lock", locked.to_str().expect("UTF-8")]);
    assert_eq!(git.worktrees_under(&under).expect("list").len(), 4);

    for folder in [&folder_gone, &dotgit_gone, &dotgit_dir, &locked] {
        git.remove_worktree(folder)
            .unwrap_or_else(|error| panic!("{}: {error}", folder.display()));
        assert!(!folder.exists(), "{} is left", folder.display());
    }
    assert!(git.worktrees_under(&under).expect("list").is_empty());
    assert_eq!(
        repo.git(&["worktree", "list", "--porcelain"])
            .matches("worktree ")
            .count(),
        1
    );
    repo.assert_fsck_clean();
}

#[test]
fn remove_worktree_refuses_the_main_checkout_and_a_stranger_folder() {
    let repo = Repo::new("wfc-iso-refuse");
    let git = repo.open();
    let stranger = repo.dir.path().join("stranger");
    std::fs::create_dir_all(&stranger).expect("folder");
    std::fs::write(stranger.join("keep.txt"), "mine").expect("write");
    for folder in [&repo.path, &stranger] {
        assert!(
            matches!(git.remove_worktree(folder), Err(GitError::Invalid { .. })),
            "{}",
            folder.display()
        );
    }
    assert!(repo.path.join("a.txt").exists());
    assert!(stranger.join("keep.txt").exists());
}

#[test]
fn a_compare_and_swap_ref_update_refuses_a_stale_old_value() {
    let repo = Repo::new("wfc-iso-refs");
    let base = repo.rev("main");
    let next = repo.side("next", &[("a.txt", "next\n")]);
    let git = repo.open();
    let name = RefName::task_output("run-1", "build").expect("name");
    assert_eq!(git.read_ref(&name), Ok(None));

    assert_eq!(
        git.update_ref(&name, &base, &Expect::Missing),
        Ok(RefUpdate::Done)
    );
    assert_eq!(
        git.update_ref(&name, &next, &Expect::Missing),
        Ok(RefUpdate::Stale {
            current: Some(base.clone())
        }),
        "create-only refuses an existing ref"
    );
    assert_eq!(
        git.update_ref(&name, &next, &Expect::Value(base.clone())),
        Ok(RefUpdate::Done)
    );
    // Another writer moved it on: an update that still expects `base` is refused.
    assert_eq!(
        git.update_ref(&name, &base, &Expect::Value(base.clone())),
        Ok(RefUpdate::Stale {
            current: Some(next.clone())
        })
    );
    assert_eq!(git.read_ref(&name), Ok(Some(next.clone())));
    assert_eq!(
        git.delete_ref(&name, &Expect::Value(base.clone())),
        Ok(RefUpdate::Stale {
            current: Some(next.clone())
        })
    );

    let attempt = RefName::attempt("run-1", "build", 1).expect("name");
    let other_run = RefName::task_output("run-10", "build").expect("name");
    git.update_ref(&attempt, &base, &Expect::Missing)
        .expect("attempt ref");
    git.update_ref(&other_run, &base, &Expect::Missing)
        .expect("other run");
    let listed = git
        .list_refs(&RefName::run_prefix("run-1").expect("prefix"))
        .expect("list");
    assert_eq!(
        listed,
        [
            (attempt.clone(), base.clone()),
            (name.clone(), next.clone())
        ]
    );

    assert_eq!(
        git.delete_ref(&name, &Expect::Value(next)),
        Ok(RefUpdate::Done)
    );
    assert_eq!(git.read_ref(&name), Ok(None));
    assert_eq!(
        git.delete_ref(&name, &Expect::Anything),
        Ok(RefUpdate::Done),
        "deleting a missing ref is done"
    );
}

#[test]
fn repo_state_tells_clean_dirty_untracked_and_detached_apart() {
    let repo = Repo::new("wfc-iso-state");
    let git = repo.open();
    let state = git.repo_state().expect("state");
    let main = repo.rev("main");
    assert_eq!(
        state.head,
        Head::Branch {
            name: "main".to_string(),
            commit: main.clone()
        }
    );
    assert!(state.is_clean() && state.untracked.is_empty() && state.operations.is_empty());

    repo.write("a.txt", "changed\n");
    repo.write("staged.txt", "new\n");
    repo.git(&["add", "staged.txt"]);
    repo.write("notes/todo.txt", "untracked\n");
    // b.txt is rewritten unchanged with a later time: a status that may write would refresh
    // the index's cached file times, and so change its bytes.
    repo.write("b.txt", "b\n");
    std::fs::File::options()
        .write(true)
        .open(repo.path.join("b.txt"))
        .and_then(|file| {
            file.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(60))
        })
        .expect("a later time");
    let index_before = std::fs::read(repo.path.join(".git/index")).expect("index");
    let state = git.repo_state().expect("state");
    assert!(!state.is_clean());
    assert_eq!(state.changed, ["a.txt", "staged.txt"]);
    assert_eq!(state.untracked, ["notes/"]);
    assert_eq!(
        std::fs::read(repo.path.join(".git/index")).expect("index"),
        index_before,
        "reading the state rewrote the index"
    );

    repo.git(&["stash", "--include-untracked", "--quiet"]);
    repo.git(&["checkout", "--quiet", "--detach", "main"]);
    let state = git.repo_state().expect("state");
    assert_eq!(state.head, Head::Detached { commit: main });
    assert!(state.is_clean());
}

#[test]
fn repo_state_reports_a_rebase_and_a_merge_in_progress() {
    let repo = Repo::new("wfc-iso-rebase");
    repo.side("topic", &[("shared.txt", "one\nTOPIC\nthree\n")]);
    repo.write("shared.txt", "one\nMAIN\nthree\n");
    repo.git(&["commit", "--quiet", "--all", "--message=main"]);
    let git = repo.open();

    repo.git(&["checkout", "--quiet", "topic"]);
    let rebase = repo.git_output(&["rebase", "main"]);
    assert!(
        !rebase.status.success(),
        "the rebase should stop on the conflict"
    );
    let state = git.repo_state().expect("state");
    assert_eq!(state.operations, [Operation::Rebase]);
    assert!(matches!(state.head, Head::Detached { .. }));
    assert_eq!(
        state.changed,
        ["shared.txt"],
        "the unmerged path is a change"
    );
    repo.git(&["rebase", "--abort"]);
    assert!(git.repo_state().expect("state").operations.is_empty());

    let merge = repo.git_output(&["merge", "main"]);
    assert!(
        !merge.status.success(),
        "the merge should stop on the conflict"
    );
    assert_eq!(
        git.repo_state().expect("state").operations,
        [Operation::Merge]
    );
}

#[test]
fn a_folder_outside_any_repository_is_not_a_repository() {
    let dir = TempDir::new("wfc-iso-norepo");
    let error = Git::open(dir.path()).expect_err("no repository");
    assert!(
        matches!(error, GitError::NotARepository { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("not inside a git repository"),
        "{error}"
    );
    let missing = Git::open(&dir.path().join("missing")).expect_err("no folder");
    assert!(
        matches!(missing, GitError::NotARepository { .. }),
        "{missing:?}"
    );
}

#[test]
fn a_missing_or_old_git_is_a_clear_error() {
    let dir = TempDir::new("wfc-iso-oldgit");
    let missing =
        Git::open_with(&dir.path().join("no-git-here"), dir.path()).expect_err("no git program");
    assert!(matches!(missing, GitError::Missing { .. }), "{missing:?}");
    assert!(
        missing.to_string().contains("git 2.38 or newer"),
        "{missing}"
    );

    let old = dir.write("old-git", "#!/bin/sh\necho 'git version 2.37.1'\n");
    std::fs::set_permissions(&old, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let error = Git::open_with(&old, dir.path()).expect_err("too old");
    assert!(matches!(error, GitError::TooOld { .. }), "{error:?}");
    let text = error.to_string();
    assert!(
        text.contains("git version 2.37.1") && text.contains("2.38") && text.contains("merge-tree"),
        "{text}"
    );
}

#[test]
fn diffs_list_changed_files_count_lines_and_print_the_patch() {
    let repo = Repo::new("wfc-iso-diff");
    let base = repo.rev("main");
    repo.git(&["checkout", "--quiet", "-b", "change"]);
    repo.git(&["mv", "b.txt", "renamed.txt"]);
    repo.write("a.txt", "a\nsecond line\n");
    repo.write("new.txt", "1\n2\n3\n");
    repo.git(&["rm", "--quiet", "shared.txt"]);
    repo.git(&["add", "--all"]);
    repo.git(&["commit", "--quiet", "--message=change"]);
    let change = repo.rev("change");
    let git = repo.open();

    let files = git.changed_files(&base, &change).expect("files");
    let described: Vec<(&str, &ChangeKind)> =
        files.iter().map(|f| (f.path.as_str(), &f.kind)).collect();
    assert_eq!(
        described,
        [
            ("a.txt", &ChangeKind::Modified),
            ("new.txt", &ChangeKind::Added),
            (
                "renamed.txt",
                &ChangeKind::Renamed {
                    from: "b.txt".to_string()
                }
            ),
            ("shared.txt", &ChangeKind::Deleted),
        ]
    );
    let stat = git.diffstat(&base, &change).expect("stat");
    assert_eq!(
        (stat.files_changed, stat.insertions, stat.deletions),
        (4, 4, 3)
    );
    assert!(stat.text.contains("4 files changed"), "{}", stat.text);
    assert!(stat.text.contains("new.txt"), "{}", stat.text);
    let patch = git.patch(&base, &change).expect("patch");
    assert!(patch.contains("+second line"), "{patch}");
    assert!(patch.contains("rename from b.txt"), "{patch}");
    assert!(git.changed_files(&base, &base).expect("none").is_empty());
}

#[test]
fn ids_messages_and_paths_that_look_like_options_are_only_data() {
    let repo = Repo::new("wfc-iso-injection");
    let start = repo.rev("main");
    let git = repo.open();
    let trap = repo.dir.path().join("pwned");

    // A task id that would be an option: it becomes part of a ref name, never an argument.
    let task = "--upload-pack=touch x";
    let name = RefName::task_output("--run", task).expect("encoded");
    assert!(name.as_str().starts_with("refs/wfc/"), "{name}");
    assert_eq!(
        git.update_ref(&name, &start, &Expect::Missing),
        Ok(RefUpdate::Done)
    );
    assert_eq!(git.read_ref(&name), Ok(Some(start.clone())));
    assert!(RefName::new(task).is_err());
    assert!(RefName::branch("x --force").is_err());

    // Revisions that look like options name no commit, and do nothing.
    for revision in [
        "--upload-pack=touch x",
        &format!("--output={}", trap.display()),
        "--git-dir=/",
        "-h",
    ] {
        assert!(
            matches!(git.resolve_commit(revision), Err(GitError::Invalid { .. })),
            "{revision}"
        );
    }

    // A message that looks like options is the commit's message, word for word.
    let folder = git
        .add_worktree(&repo.dir.path().join("--detach"), &start)
        .expect("a folder whose name looks like an option");
    assert!(folder.ends_with("--detach") && folder.join("a.txt").exists());
    for name in ["-rf", "--all", &format!("--output={}", trap.display())] {
        // A file name with `/` would be a path; keep only what a file can be named.
        let file = name.replace('/', "_");
        std::fs::write(folder.join(&file), "data\n").expect("write");
    }
    let title = "--amend -m pwned";
    let output = git
        .commit_all(
            &folder,
            &start,
            &CommitMessage::new(title).with_body("-F /etc/passwd"),
        )
        .expect("commit");
    assert_eq!(
        repo.git(&["log", "-1", "--format=%s%n%b", output.as_str()]),
        format!("{title}\n-F /etc/passwd\n\n")
    );
    let files: Vec<String> = git
        .changed_files(&start, &output)
        .expect("files")
        .into_iter()
        .map(|change| change.path)
        .collect();
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(files.contains(&"-rf".to_string()) && files.contains(&"--all".to_string()));
    git.remove_worktree(&folder).expect("remove");

    assert!(!trap.exists(), "a value was run as an option");
    assert!(!repo.path.join("x").exists() && !Path::new("x").exists());
    repo.assert_fsck_clean();
}

#[test]
fn ref_names_built_from_odd_ids_are_valid_to_git() {
    let repo = Repo::new("wfc-iso-refnames");
    for id in [
        "plain",
        "with space",
        "dots..and.lock",
        ".hidden",
        "a/b/c",
        "at@{1}",
        "star*?[x]",
        "colon:caret^tilde~",
        "ünïcødé",
        "-leading-dash",
        "trailing.",
        "new\nline",
    ] {
        for name in [
            RefName::task_output(id, id).expect("output"),
            RefName::attempt(id, id, 3).expect("attempt"),
            RefName::run_result(id).expect("result"),
        ] {
            let checked = repo.git_output(&["check-ref-format", name.as_str()]);
            assert!(
                checked.status.success(),
                "git refuses `{name}` (from {id:?})"
            );
        }
    }
}

#[test]
fn hooks_of_the_users_repository_do_not_run() {
    let repo = Repo::new("wfc-iso-hooks");
    let start = repo.rev("main");
    let marker = repo.dir.path().join("hook-ran");
    let hook = repo.path.join(".git/hooks/post-checkout");
    std::fs::write(&hook, format!("#!/bin/sh\ntouch '{}'\n", marker.display())).expect("hook");
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    // The hook is live for the user's own git.
    repo.git(&["checkout", "--quiet", "main"]);
    assert!(marker.exists(), "the test's hook should run for the user");
    std::fs::remove_file(&marker).expect("reset");

    let git = repo.open();
    let folder = git
        .add_worktree(&repo.dir.path().join("wt"), &start)
        .expect("worktree");
    assert!(folder.join("a.txt").exists());
    assert!(!marker.exists(), "wfc's worktree ran the user's hook");
}

/// Set by `the_callers_git_variables_are_ignored` in the process it starts; unset, the child
/// test does nothing.
const ENV_CHILD_REPO: &str = "WFC_TEST_ISOLATION_ENV_REPO";

/// The half of `the_callers_git_variables_are_ignored` that runs with hostile GIT_ variables.
#[test]
fn git_variables_child_process() {
    let Some(repo) = std::env::var_os(ENV_CHILD_REPO) else {
        return;
    };
    let repo = PathBuf::from(repo);
    let git = Git::open(&repo).expect("opens the repository named, not GIT_DIR's");
    assert_eq!(git.work_tree(), Some(repo.as_path()));
    let start = git.resolve_commit("main").expect("main");
    let folder = git
        .add_worktree(&repo.join("../wt"), &start)
        .expect("worktree");
    std::fs::write(folder.join("a.txt"), "changed\n").expect("write");
    let output = git
        .commit_all(&folder, &start, &CommitMessage::new("t"))
        .expect("commit");
    let files = git.changed_files(&start, &output).expect("files");
    assert_eq!(files.len(), 1);
    println!("CHILD OUTPUT {output}");
}

#[test]
fn the_callers_git_variables_are_ignored() {
    let repo = Repo::new("wfc-iso-env");
    let decoy = TempDir::new("wfc-iso-env-decoy");
    let decoy_index = decoy.path().join("index");
    let exe = std::env::current_exe().expect("the test binary");
    let output = Command::new(exe)
        .args([
            "isolation_git::git_variables_child_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ENV_CHILD_REPO, &repo.path)
        .env("GIT_DIR", decoy.path())
        .env("GIT_WORK_TREE", decoy.path())
        .env("GIT_INDEX_FILE", &decoy_index)
        .env("GIT_OBJECT_DIRECTORY", decoy.path())
        .env("GIT_CONFIG_PARAMETERS", "'core.hooksPath'='/nonexistent'")
        .env("GIT_AUTHOR_NAME", "Intruder")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the child test runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("CHILD OUTPUT"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let commit = stdout
        .split("CHILD OUTPUT ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the commit");
    assert_eq!(
        repo.git(&["log", "-1", "--format=%an", commit]),
        "wfc\n",
        "the commit lives in the repository, made by wfc"
    );
    assert!(!decoy_index.exists(), "GIT_INDEX_FILE was used");
    assert_eq!(
        std::fs::read_dir(decoy.path()).expect("decoy").count(),
        0,
        "GIT_DIR was used"
    );
}

#[test]
fn a_commit_through_an_index_seeded_from_the_checkout_holds_exactly_the_folder() {
    let repo = Repo::new("wfc-iso-seed");
    let start = repo.rev("main");
    let git = repo.open();
    let folder = repo.dir.path().join("worktrees").join("slot-0");
    let folder = git.add_worktree(&folder, &start).expect("worktree");
    // The index git wrote for the checkout, copied before the "task" runs.
    let admin = git.worktree_admin_dir(&folder).expect("admin folder");
    let seed = repo.dir.path().join("seed.index");
    std::fs::copy(admin.join("index"), &seed).expect("seed");
    std::fs::write(folder.join("a.txt"), "changed, same length\n").expect("write");
    std::fs::write(folder.join("b.txt"), "B").expect("write");
    std::fs::remove_file(folder.join("shared.txt")).expect("delete");
    std::fs::write(folder.join("new.txt"), "new\n").expect("write");
    // The task also stages something and marks a file unchanged in its own index: the seed
    // is not its index, so neither changes what is committed.
    Command::new("git")
        .args(["update-index", "--assume-unchanged", "a.txt"])
        .current_dir(&folder)
        .status()
        .expect("git update-index");
    let message = CommitMessage::new("seeded");
    let seeded = git
        .commit_all_from(&folder, &start, Some(&seed), &message)
        .expect("seeded commit");
    let plain = git
        .commit_all(&folder, &start, &message)
        .expect("plain commit");
    assert_eq!(
        git.tree_of(&seeded).expect("tree"),
        git.tree_of(&plain).expect("tree")
    );
    let mut changed: Vec<String> = git
        .changed_files(&start, &seeded)
        .expect("diff")
        .into_iter()
        .map(|change| change.path)
        .collect();
    changed.sort();
    assert_eq!(changed, ["a.txt", "b.txt", "new.txt", "shared.txt"]);
    // A reused worktree is moved to another commit exactly, its .git written anew.
    std::fs::remove_file(folder.join(".git")).expect("a task deletes .git");
    git.reset_worktree(&folder, &admin, &seeded).expect("reset");
    assert_eq!(
        std::fs::read_to_string(folder.join("b.txt")).expect("b"),
        "B"
    );
    git.reset_worktree(&folder, &admin, &start)
        .expect("reset back");
    assert!(
        !folder.join("new.txt").exists(),
        "an untracked file is gone"
    );
    assert_eq!(
        std::fs::read_to_string(folder.join("b.txt")).expect("b"),
        "b\n"
    );
    git.remove_worktree(&folder).expect("remove");
}
