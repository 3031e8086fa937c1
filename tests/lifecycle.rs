//! A run's lifecycle with the real binary: what a run reports while and after it runs.

use crate::support::TempDir;
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `wfc` in `dir` to the end; returns its exit code, stdout and stderr.
fn wfc(dir: &Path, args: &[&str]) -> (i32, String, String) {
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

/// The id of the run `wfc run` started, from its first line (`run ID: …`).
fn run_id(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("run "))
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_else(|| panic!("no run id in {stdout:?}"))
        .to_string()
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
