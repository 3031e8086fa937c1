//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.wf` file under `dir` (relative to the repository root), sorted.
pub fn wf_files(dir: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    collect(&root().join(dir), &mut found);
    found.sort();
    found
}

fn collect(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, found);
        } else if path.extension().is_some_and(|e| e == "wf") {
            found.push(path);
        }
    }
}

/// The path of `path` relative to the repository root, with `/` separators, for snapshot names.
pub fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// A fresh folder under the system's temporary folder, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Makes a new, empty folder whose name starts with `prefix`.
    pub fn new(prefix: &str) -> TempDir {
        TempDir::new_in(&std::env::temp_dir(), prefix)
    }

    /// Makes a new, empty folder outside the system's temporary folder, for tools that
    /// refuse to keep their state under it: Codex will not put its helper programs in a
    /// `CODEX_HOME` inside the temporary folder, and without them its bubblewrap sandbox
    /// cannot start any command. The folder is under `~/.cache/wfc-test-folders`, not cargo's
    /// `target/tmp`: a target folder inside a clone is inside a git repository, where a run
    /// with an agent task would be isolated in that repository's worktrees and refs.
    pub fn outside_tmp(prefix: &str) -> TempDir {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
        let base = home.join(".cache/wfc-test-folders");
        let inside_git = std::process::Command::new("git")
            .args(["rev-parse", "--git-dir"])
            .current_dir(home)
            .env_remove("GIT_DIR")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        assert!(
            !inside_git,
            "{} is inside a git repository: the tests need a folder outside one",
            base.display()
        );
        TempDir::new_in(&base, prefix)
    }

    fn new_in(base: &Path, prefix: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "{prefix}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let path = base.join(unique);
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("temporary folder");
        TempDir(path)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `text` to `name` inside the folder (creating subfolders) and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("subfolder");
        }
        std::fs::write(&path, text).expect("write");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a run of the `wfc` binary produced.
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs the real `wfc` binary with `args` in `dir`, with stdin closed, in UTC (people's output
/// shows local time; the tests' snapshots must not depend on the machine's zone).
pub fn wfc(dir: &Path, args: &[&str]) -> Run {
    wfc_with_env(dir, args, &[])
}

/// [`wfc`] with `env` set on top (a time zone, a width, `WFC_BACKEND`).
pub fn wfc_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_wfc"))
        .args(args)
        .current_dir(dir)
        .env("TZ", "UTC")
        .env_remove("NO_COLOR")
        .env_remove("WFC_BACKEND")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("wfc runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The id of the run `wfc run` started, from its first line (`run ID: …`).
pub fn run_id(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("run "))
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_else(|| panic!("no run id in {stdout:?}"))
        .to_string()
}

/// Runs git in `dir` with a fixed identity; returns its stdout, failing the test if git fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "User")
        .env("GIT_AUTHOR_EMAIL", "user@example.com")
        .env("GIT_COMMITTER_NAME", "User")
        .env("GIT_COMMITTER_EMAIL", "user@example.com")
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Task `task` in the `wfc status RUN --json` of the run `run` in `dir`.
pub fn task_status(dir: &Path, run: &str, task: &str) -> serde_json::Value {
    let status = wfc(dir, &["status", run, "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).expect("status JSON");
    status["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["key"]["task"] == task)
        .cloned()
        .unwrap_or_else(|| panic!("no task {task} in the status of run {run}"))
}

/// Runs `wfc run FILE --lease 1` in `dir` with its output discarded, kills it with SIGKILL
/// (no cleanup at all) as soon as the newest run of the store in `dir` has a task `task`,
/// and returns that run's id, or `None` if no such task appeared within `patience`.
pub fn kill_run_once_task_exists(
    dir: &Path,
    file: &str,
    task: &str,
    patience: std::time::Duration,
) -> Option<String> {
    use wfc::runtime::TaskBackend;
    let mut engine = std::process::Command::new(env!("CARGO_BIN_EXE_wfc"))
        .args(["run", file, "--lease", "1"])
        .current_dir(dir)
        .env_remove("WFC_BACKEND")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("wfc run");
    let deadline = std::time::Instant::now() + patience;
    let store_path = dir.join(".wfc/state.db");
    let seen = loop {
        if std::time::Instant::now() >= deadline {
            break None;
        }
        let read = wfc::backends::sqlite::Access::Read;
        if let Ok(store) = wfc::backends::SqliteBackend::open_with(&store_path, read) {
            let newest = store
                .list_runs()
                .ok()
                .and_then(|runs| runs.first().cloned());
            if let Some(run) = newest {
                let tasks = store.list_tasks(&run.id).unwrap_or_default();
                if tasks.iter().any(|t| t.key.task == task) {
                    break Some(run.id);
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let _ = engine.kill();
    let _ = engine.wait();
    seen
}
