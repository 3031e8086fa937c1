//! Chaos on Postgres: 500 tasks (20 chains of 25) run by four `wfc worker` processes on one
//! Postgres store while the workers are killed at random (`kill -9`) and started again, at
//! least 20 times. The proof comes from what the tasks themselves write, checked against the
//! store: each attempt holds an exclusive `flock` on a file of its own while it runs (a second
//! live attempt of the task cannot take it and says so), and appends its start and end, with
//! its attempt number and pid, to one log (`>>` is `O_APPEND`, so lines never mix).

use crate::chaos::Lcg;
use crate::postgres::{worker_command, Schemas};
use crate::support::TempDir;
use std::collections::HashMap;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use wfc::backends::{Access, PostgresBackend};
use wfc::plan::{Action, Shell};
use wfc::runtime::{RunPlace, RunState, TaskBackend, TaskState};

const CHAINS: usize = 20;
const LENGTH: usize = 25;
const WORKERS: usize = 4;
const KILLS: usize = 22;

/// What every task runs: take the task's lock (or report the overlap), log the start, work a
/// moment, log the end.
const SCRIPT: &str =
    "exec 9>locks/$WF_TASK_ID; flock -n 9 || echo \"OVERLAP $WF_TASK_ID\" >> log; \
     echo \"start $WF_TASK_ID $WF_ATTEMPT $$ $(date +%s%3N)\" >> log; sleep 0.3; \
     echo \"end $WF_TASK_ID $WF_ATTEMPT $$ $(date +%s%3N)\" >> log";

/// The worker's arguments: four tasks at once, a short lease so a killed worker's tasks are
/// taken over quickly.
const WORK: [&str; 4] = ["-j", "4", "--lease", "1.5"];

/// Starts a worker whose output goes to `workers.log` in `dir`, for a failure to show.
fn start_worker(dir: &std::path::Path, url: &str) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("workers.log"))
        .expect("workers.log");
    worker_command(dir, url, &WORK)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("a worker")
}

/// One line of the tasks' log.
struct Line {
    attempt: u32,
    pid: u32,
    at: i64,
}

#[test]
fn postgres_workers_killed_at_random_run_every_task_to_success_once_and_never_twice_at_once() {
    let schemas = Schemas::new("chaos");
    let url = schemas.url();
    let backend = PostgresBackend::open(&url, Access::Create).expect("a store");
    let dir = TempDir::new("wfc-pg-chaos");
    std::fs::create_dir(dir.path().join("locks")).expect("locks");
    let ids: Vec<(String, Vec<String>)> = (0..CHAINS)
        .flat_map(|chain| {
            (0..LENGTH).map(move |step| {
                let after = (step > 0).then(|| format!("c{chain}_{}", step - 1));
                (format!("c{chain}_{step}"), after.into_iter().collect())
            })
        })
        .collect();
    let deps: Vec<Vec<&str>> = ids
        .iter()
        .map(|(_, after)| after.iter().map(String::as_str).collect())
        .collect();
    let specs: Vec<(&str, &[&str], u32)> = ids
        .iter()
        .zip(&deps)
        .map(|((id, _), deps)| (id.as_str(), deps.as_slice(), 0))
        .collect();
    let mut plan = crate::backend_contract::plan(&specs);
    for task in &mut plan.tasks {
        task.action = Action::Command {
            run: Shell {
                script: SCRIPT.into(),
                display: "chaos".into(),
                args: Vec::new(),
            },
        };
    }
    let place = RunPlace::here(dir.path());
    backend
        .create_run("chaos", &plan, Some(&place), 1_000)
        .expect("run");
    backend.create_tasks("chaos", &plan).expect("tasks");

    let started = Instant::now();
    let mut workers: Vec<Child> = (0..WORKERS)
        .map(|_| start_worker(dir.path(), &url))
        .collect();
    let mut random = Lcg(0x5eed_9057_1205);
    let mut kills = 0;
    while kills < KILLS {
        std::thread::sleep(Duration::from_millis(200 + random.below(400)));
        let which = random.below(WORKERS as u64) as usize;
        let pid = nix::unistd::Pid::from_raw(workers[which].id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).expect("kill -9");
        let _ = workers[which].wait();
        kills += 1;
        workers[which] = start_worker(dir.path(), &url);
        assert_ne!(
            backend.get_run("chaos").expect("run").state,
            RunState::Succeeded,
            "the run ended after {kills} kills: too few to prove anything"
        );
    }
    // The workers finish the run undisturbed.
    let deadline = started + Duration::from_secs(150);
    let state = loop {
        let state = backend.get_run("chaos").expect("run").state;
        if state != RunState::Running || Instant::now() > deadline {
            break state;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    for worker in &mut workers {
        let pid = nix::unistd::Pid::from_raw(worker.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = worker.wait();
    }
    let workers_log = std::fs::read_to_string(dir.path().join("workers.log")).unwrap_or_default();
    let tasks = backend.list_tasks("chaos").expect("tasks");
    let unfinished: Vec<_> = tasks
        .iter()
        .filter(|task| task.state != TaskState::Succeeded)
        .map(|task| {
            format!(
                "{} {:?} attempt {}",
                task.key.task, task.state, task.attempts
            )
        })
        .collect();
    assert!(
        state == RunState::Succeeded && unfinished.is_empty(),
        "the run is {state:?} after {:?}; not succeeded: {unfinished:?}\n{workers_log}",
        started.elapsed()
    );
    println!(
        "{kills} workers killed; the run took {:?}",
        started.elapsed()
    );

    let log = std::fs::read_to_string(dir.path().join("log")).expect("log");
    assert!(
        !log.contains("OVERLAP"),
        "two attempts of one task ran at once:\n{log}"
    );
    let mut starts: HashMap<&str, Vec<Line>> = HashMap::new();
    let mut ends: HashMap<&str, Vec<Line>> = HashMap::new();
    for line in log.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        let [kind, task, attempt, pid, at] = parts[..] else {
            panic!("a log line of another shape: {line}");
        };
        let entry = Line {
            attempt: attempt.parse().expect("attempt"),
            pid: pid.parse().expect("pid"),
            at: at.parse().expect("time"),
        };
        match kind {
            "start" => starts.entry(task).or_default().push(entry),
            "end" => ends.entry(task).or_default().push(entry),
            _ => panic!("a log line of another kind: {line}"),
        }
    }
    // The attempt each task succeeded with, from the store's log of events.
    let events = backend.read_events("chaos", 0, 100_000).expect("events");
    let mut succeeded_with: HashMap<String, Vec<u32>> = HashMap::new();
    for event in events.iter().filter(|e| e.kind == "task_succeeded") {
        let task = event.task.clone().expect("a task event names its task");
        let attempt = event.data["attempt"].as_u64().expect("its attempt") as u32;
        succeeded_with.entry(task).or_default().push(attempt);
    }
    let mut taken_over = 0;
    for task in &tasks {
        let id = task.key.task.as_str();
        let started = starts.get(id).map_or(&[][..], Vec::as_slice);
        let ended = ends.get(id).map_or(&[][..], Vec::as_slice);
        // One success in the store, by the store's last attempt, whose command ran to its end.
        // (The `task_succeeded` event goes through the engine's batched event log, which a
        // `kill -9` right after the success may lose: at most one, then, and that attempt's.)
        let success = succeeded_with.get(id).cloned().unwrap_or_default();
        assert!(
            success.is_empty() || success == [task.attempts],
            "{id}: successes {success:?}, {} attempts",
            task.attempts
        );
        let winner = started
            .iter()
            .find(|line| line.attempt == task.attempts)
            .unwrap_or_else(|| panic!("{id}: its succeeding attempt never started"));
        assert!(
            ended
                .iter()
                .any(|line| line.attempt == task.attempts && line.pid == winner.pid),
            "{id}: its succeeding attempt never ended"
        );
        // Each attempt started once at most, and none started after the success.
        let mut attempts: Vec<u32> = started.iter().map(|line| line.attempt).collect();
        attempts.sort_unstable();
        attempts.dedup();
        assert_eq!(
            attempts.len(),
            started.len(),
            "{id}: an attempt started twice"
        );
        assert!(
            attempts.iter().all(|attempt| *attempt <= task.attempts),
            "{id}: attempts {attempts:?} after the store's {}",
            task.attempts
        );
        let finished = task.finished_at.expect("a succeeded task has its end");
        assert!(
            started.iter().all(|line| line.at <= finished),
            "{id} started again after its success was stored"
        );
        // An attempt ran from its start to its end alone: no other attempt of the task
        // started in between (the lock says the same from the kernel's side).
        for line in ended {
            let begun = started
                .iter()
                .find(|s| s.attempt == line.attempt && s.pid == line.pid)
                .unwrap_or_else(|| panic!("{id}: attempt {} ended unstarted", line.attempt));
            assert!(
                started
                    .iter()
                    .filter(|other| other.attempt != line.attempt)
                    .all(|other| other.at < begun.at || other.at > line.at),
                "{id}: another attempt started while attempt {} ran",
                line.attempt
            );
        }
        if task.attempts > 1 {
            taken_over += 1;
        }
    }
    assert!(
        taken_over > 0,
        "no task needed a second attempt: the kills hit nothing"
    );
    println!("{taken_over} tasks needed more than one attempt");
}
