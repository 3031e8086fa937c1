//! Chaos: a 302-task workflow (a root, 30 chains of 10 after it, a final task after every
//! chain) run by `wfc run -j 4` and two `wfc worker -j 4` on one store, while engines are
//! killed at random (SIGKILL, SIGTERM, SIGINT) and restarted, at least 20 times. Each task
//! holds an exclusive `flock` on a file of its own while it runs, so two live attempts of one
//! task would be seen; and logs its start and end with the time.

use crate::support::TempDir;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHAINS: usize = 30;
const LENGTH: usize = 10;
const KILLS: usize = 24;

/// The workflow: every task runs the same script, which takes its lock and logs.
fn workflow() -> String {
    let script =
        "exec 9>locks/$WF_TASK_ID; flock -n 9 || echo \\\"OVERLAP $WF_TASK_ID\\\" >> log; \
                  echo \\\"start $WF_TASK_ID $WF_ATTEMPT $(date +%s%3N)\\\" >> log; sleep 1; \
                  echo \\\"end $WF_TASK_ID $WF_ATTEMPT $(date +%s%3N)\\\" >> log";
    let mut text = format!("workflow chaos {{\n  task root {{\n    run = \"{script}\"\n  }}\n");
    for chain in 0..CHAINS {
        for step in 0..LENGTH {
            let after = if step == 0 {
                "root".to_string()
            } else {
                format!("c{chain}_{}", step - 1)
            };
            text.push_str(&format!(
                "  task c{chain}_{step} after {after} {{\n    run = \"{script}\"\n  }}\n"
            ));
        }
    }
    let ends: Vec<String> = (0..CHAINS)
        .map(|c| format!("c{c}_{}", LENGTH - 1))
        .collect();
    text.push_str(&format!(
        "  task last after {} {{\n    run = \"{script}\"\n  }}\n}}\n",
        ends.join(", ")
    ));
    text
}

/// A small deterministic generator, so a failure can be run again the same way.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// Starts an engine: the run's own (`run`, then `resume`) or a worker.
fn engine(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_wfc"))
        .args(args)
        .current_dir(dir)
        .env_remove("WFC_BACKEND")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("wfc starts")
}

/// The run's id, once `wfc run` has stored it.
fn the_run(dir: &Path) -> Option<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_wfc"))
        .args(["runs", "--json"])
        .current_dir(dir)
        .env_remove("WFC_BACKEND")
        .output()
        .ok()?;
    let runs: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
    runs[0]["id"].as_str().map(str::to_string)
}

#[test]
fn engines_killed_at_random_lose_nothing_and_never_run_a_task_twice_at_once() {
    let dir = TempDir::new("wfc-chaos");
    std::fs::write(dir.path().join("chaos.wf"), workflow()).expect("workflow");
    std::fs::create_dir(dir.path().join("locks")).expect("locks");
    let lease = ["--lease", "0.5", "-j", "4"];
    let mut main = engine(dir.path(), &[&["run", "chaos.wf"][..], &lease].concat());
    let started = Instant::now();
    let run = loop {
        if let Some(run) = the_run(dir.path()) {
            break run;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no run stored");
        std::thread::sleep(Duration::from_millis(50));
    };
    let resume: Vec<&str> = [&["resume", run.as_str()][..], &lease].concat();
    let work: Vec<&str> = [&["worker"][..], &lease].concat();
    let mut workers = [engine(dir.path(), &work), engine(dir.path(), &work)];
    let mut random = Lcg(0x5eed_2026_1204);
    let signals = [
        nix::sys::signal::Signal::SIGKILL,
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGINT,
    ];
    let mut kills = 0;
    let mut main_done = false;
    while kills < KILLS && !main_done {
        std::thread::sleep(Duration::from_millis(150 + random.below(300)));
        let signal = signals[random.below(3) as usize];
        let which = random.below(3) as usize;
        let child = if which == 0 {
            &mut main
        } else {
            &mut workers[which - 1]
        };
        if let Ok(Some(status)) = child.try_wait() {
            // The run's own engine ended: the run is over (or it failed, seen below).
            main_done = which == 0 && status.success();
            if !main_done {
                *child = engine(dir.path(), if which == 0 { &resume } else { &work });
            }
            continue;
        }
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, signal);
        let _ = child.wait();
        kills += 1;
        *child = engine(dir.path(), if which == 0 { &resume } else { &work });
    }
    // Let the engines finish the run; restart the run's own engine if it stopped short.
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        match main.try_wait().expect("wait") {
            Some(status) if status.success() => break,
            Some(_) => main = engine(dir.path(), &resume),
            None => {}
        }
        assert!(Instant::now() < deadline, "the run did not finish");
        std::thread::sleep(Duration::from_millis(100));
    }
    for worker in &mut workers {
        let pid = nix::unistd::Pid::from_raw(worker.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = worker.wait();
    }
    assert!(
        kills >= 20,
        "only {kills} engines were killed before the run ended"
    );

    let log = std::fs::read_to_string(dir.path().join("log")).expect("log");
    assert!(
        !log.contains("OVERLAP"),
        "two attempts of one task ran at once:\n{log}"
    );
    // Every start and end, by task: (attempt, time).
    let mut starts: HashMap<String, Vec<(u32, i64)>> = HashMap::new();
    let mut ends: HashMap<String, Vec<(u32, i64)>> = HashMap::new();
    for line in log.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        let [kind, task, attempt, at] = parts[..] else {
            panic!("a log line of another shape: {line}");
        };
        let entry = (attempt.parse().expect("attempt"), at.parse().expect("time"));
        match kind {
            "start" => starts.entry(task.to_string()).or_default().push(entry),
            "end" => ends.entry(task.to_string()).or_default().push(entry),
            _ => panic!("a log line of another kind: {line}"),
        }
    }
    let output = Command::new(env!("CARGO_BIN_EXE_wfc"))
        .args(["status", &run, "--json"])
        .current_dir(dir.path())
        .env_remove("WFC_BACKEND")
        .output()
        .expect("status");
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).expect("status JSON");
    assert_eq!(status["run"]["state"], "succeeded", "{}", status["counts"]);
    let tasks = status["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), 2 + CHAINS * LENGTH);
    for task in tasks {
        let id = task["key"]["task"].as_str().expect("id");
        assert_eq!(task["state"], "succeeded", "{id}");
        // The log agrees with the store: the task ended at least once, it started no more
        // often than it was claimed, and nothing of it started after its success was stored.
        let ended = ends.get(id).map_or(0, Vec::len);
        assert!(
            ended >= 1,
            "{id} succeeded in the store but never ended in the log"
        );
        let started = starts.get(id).map_or(&[][..], Vec::as_slice);
        let attempts = task["attempts"].as_u64().expect("attempts") as usize;
        assert!(
            started.len() <= attempts,
            "{id}: {} starts, {attempts} attempts",
            started.len()
        );
        let finished = task["finished_at"].as_i64().expect("finished");
        assert!(
            started.iter().all(|(_, at)| *at <= finished),
            "{id} started again after its success was stored"
        );
    }
}
