//! `wfc worker --labels …` and `--profiles …`: a worker takes only the tasks it serves and
//! leaves the rest to others, with the real binary and a real SQLite store.

use crate::support::{run_id, wfc, TempDir};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WORKFLOW: &str = r#"agent fast {
  adapter = "command"
  command = ["sh", "-c", "echo fast > fast.txt"]
}

workflow w {
  gate go {
    ask = "Go?"
  }
  task gpu after go {
    labels = ["gpu"]
    run    = "echo gpu > gpu.txt"
  }
  task plain after go {
    run = "echo plain > plain.txt"
  }
  task quick after go {
    agent  = fast
    prompt = "Be quick."
  }
}
"#;

pub(crate) fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_wfc"))
        .args(args)
        .current_dir(dir)
        .env_remove("WFC_BACKEND")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wfc starts")
}

/// Stops `child` as Ctrl-C would and returns its stdout.
pub(crate) fn interrupt(child: Child) -> String {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    let output = child.wait_with_output().expect("wfc ends");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_worker_takes_only_the_labels_and_profiles_it_serves() {
    let dir = TempDir::new("wfc-worker-serves");
    dir.write("w.wf", WORKFLOW);
    let path = dir.path();
    let run = spawn(path, &["run", "w.wf"]);
    wait_until("the gate waits", || {
        wfc(path, &["status", "--json"])
            .stdout
            .contains("\"state\": \"waiting\"")
    });
    let id = run_id(&interrupt(run));
    assert_eq!(wfc(path, &["approve", &id, "go"]).code, 0);
    // A GPU machine takes the task labelled for it, and nothing else.
    let gpu = spawn(path, &["worker", "--labels", "gpu"]);
    wait_until("gpu ran", || path.join("gpu.txt").exists());
    std::thread::sleep(Duration::from_millis(1_500));
    interrupt(gpu);
    assert!(!path.join("plain.txt").exists() && !path.join("fast.txt").exists());
    // A machine without the `fast` profile takes the command task, not the agent task.
    let other = spawn(path, &["worker", "--profiles", "claude,codex"]);
    wait_until("plain ran", || path.join("plain.txt").exists());
    std::thread::sleep(Duration::from_millis(1_500));
    interrupt(other);
    assert!(!path.join("fast.txt").exists(), "the agent task was left");
    // Any worker finishes the rest.
    let last = wfc(path, &["worker", "--exit-when-idle"]);
    assert_eq!(last.code, 0, "{}{}", last.stdout, last.stderr);
    assert!(path.join("fast.txt").exists());
    let status = wfc(path, &["status", &id, "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).expect("JSON");
    assert_eq!(status["run"]["state"], "succeeded", "{status}");
}
