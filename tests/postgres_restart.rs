//! The Postgres server restarted in the middle of a run (`pg_ctlcluster VERSION main
//! restart`, which ends every connection): `wfc run` and a `wfc worker` beside it connect
//! again, and the run completes with every task done once.
//!
//! A restart cuts every connection to the server, the other tests' too: this test holds the
//! server exclusively ([`ServerHold`]), so it waits for the other Postgres tests of every test
//! process on this machine to end, and they wait for it.

use crate::postgres::{server_url, worker_command, Schemas, ServerHold};
use crate::support::TempDir;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use wfc::backends::{Access, PostgresBackend};
use wfc::runtime::{RunState, TaskBackend, TaskState};

/// Three chains of eight half-second tasks: about four seconds of work, with a restart
/// well inside it. Each task notes its name when it ends.
fn workflow() -> String {
    let mut text = String::from("workflow restart {\n");
    for chain in 0..3 {
        for step in 0..8 {
            let after = if step > 0 {
                format!(" after c{chain}_{}", step - 1)
            } else {
                String::new()
            };
            text.push_str(&format!(
                "  task c{chain}_{step}{after} {{\n    run = \"sleep 0.5; echo $WF_TASK_ID >> done\"\n  }}\n"
            ));
        }
    }
    text.push_str("}\n");
    text
}

/// The version of the cluster `main`, from `pg_lsclusters`.
fn cluster_version() -> String {
    let output = Command::new("pg_lsclusters")
        .arg("--no-header")
        .output()
        .expect("pg_lsclusters runs (the PostgreSQL server's tools are installed)");
    let listing = String::from_utf8_lossy(&output.stdout).into_owned();
    listing
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|fields| fields.get(1) == Some(&"main"))
        .and_then(|fields| fields.first().map(|version| version.to_string()))
        .unwrap_or_else(|| panic!("no cluster `main` in pg_lsclusters: {listing}"))
}

/// Waits until the test server answers again.
fn wait_until_ready() {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = Command::new("pg_isready")
            .args(["-q", "-d", &server_url()])
            .status()
            .is_ok_and(|status| status.success());
        if ready {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not come back in 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_run_completes_when_the_postgres_server_restarts_in_its_middle() {
    let _server = ServerHold::take(true);
    let schemas = Schemas::held("restart");
    let url = schemas.url();
    let dir = TempDir::new("wfc-pg-restart");
    dir.write("restart.wf", &workflow());
    let run = Command::new(env!("CARGO_BIN_EXE_wfc"))
        .args(["run", "restart.wf", "-j", "2", "--backend", &url])
        .current_dir(dir.path())
        .env_remove("WFC_BACKEND")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wfc run");
    // The worker joins once the run is stored (before, it would find no store there).
    let deadline = Instant::now() + Duration::from_secs(30);
    while PostgresBackend::open(&url, Access::Read).is_err() {
        assert!(Instant::now() < deadline, "the run was never stored");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut worker = worker_command(dir.path(), &url, &["-j", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("a worker");
    // The restart comes once the first tasks are done.
    let done = dir.path().join("done");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_to_string(&done).map_or(0, |text| text.lines().count()) < 2 {
        assert!(
            Instant::now() < deadline,
            "no task ended before the restart"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let restarted = Command::new("pg_ctlcluster")
        .args([&cluster_version(), "main", "restart"])
        .output()
        .expect("pg_ctlcluster runs");
    assert!(
        restarted.status.success(),
        "pg_ctlcluster restart: {}",
        String::from_utf8_lossy(&restarted.stderr)
    );
    wait_until_ready();
    let done_at_restart = std::fs::read_to_string(&done).map_or(0, |text| text.lines().count());
    assert!(
        done_at_restart < 24,
        "the run was over before the server came back ({done_at_restart} tasks done)"
    );
    let output = run.wait_with_output().expect("wfc run ends");
    assert!(
        worker.try_wait().expect("the worker").is_none(),
        "the worker stopped at the restart"
    );
    let pid = nix::unistd::Pid::from_raw(worker.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let worker_err = worker.wait_with_output().expect("the worker ends").stderr;
    assert!(
        output.status.success(),
        "wfc run: {}{}\nworker: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&worker_err)
    );
    let backend = PostgresBackend::open(&url, Access::Read).expect("the store");
    let run = backend.list_runs().expect("runs").remove(0).id;
    assert_eq!(
        backend.get_run(&run).expect("run").state,
        RunState::Succeeded
    );
    let tasks = backend.list_tasks(&run).expect("tasks");
    assert_eq!(tasks.len(), 24);
    assert!(
        tasks.iter().all(|task| task.state == TaskState::Succeeded),
        "{tasks:?}"
    );
    let mut ended: Vec<String> = std::fs::read_to_string(&done)
        .expect("done")
        .lines()
        .map(str::to_string)
        .collect();
    ended.sort();
    let before = ended.len();
    ended.dedup();
    assert_eq!(
        (before, ended.len()),
        (24, 24),
        "every task ran to its end once"
    );
    println!("{done_at_restart} of 24 tasks were done when the server was back");
}
