//! Workers that share a run's work through git (issue 15): a bare repository stands in for the
//! shared remote, and each worker has a clone of its own in its own folder, with its own HOME,
//! standing in for a machine; they share the real Postgres server. Tasks write files and read
//! their upstream tasks' files, so a task that ran on one clone reads what another clone made.

use crate::postgres::{admin, Schemas};
use crate::support::{git, run_id, wfc, TempDir};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use wfc::backends::{Access, PostgresBackend};
use wfc::runtime::{RunState, TaskBackend, TaskState};

/// Three independent tasks (each slow enough that one worker with `-j 1` cannot take two
/// of them before the others start), two that read pairs of them, and one that reads those.
const SPREAD: &str = r#"workflow spread {
  gate go {
    ask = "Go?"
  }
  task a after go {
    run = "sleep 2; echo from-a > a.txt"
  }
  task b after go {
    run = "sleep 2; echo from-b > b.txt"
  }
  task c after go {
    run = "sleep 2; echo from-c > c.txt"
  }
  task ab after a, b {
    run = "cat a.txt b.txt > ab.txt"
  }
  task bc after b, c {
    run = "cat b.txt c.txt > bc.txt"
  }
  task all after ab, bc {
    run = "cat ab.txt bc.txt > all.txt"
  }
}
"#;

/// Every file the run makes, with what it must hold at the end.
const FILES: &[(&str, &str)] = &[
    ("a.txt", "from-a\n"),
    ("b.txt", "from-b\n"),
    ("c.txt", "from-c\n"),
    ("ab.txt", "from-a\nfrom-b\n"),
    ("bc.txt", "from-b\nfrom-c\n"),
    ("all.txt", "from-a\nfrom-b\nfrom-b\nfrom-c\n"),
];

/// A bare repository with one commit on `main`, and the folder the machines live in.
struct Shared {
    root: TempDir,
    remote: PathBuf,
}

impl Shared {
    fn new(name: &str) -> Shared {
        let root = TempDir::new(name);
        let remote = root.path().join("remote.git");
        git(
            root.path(),
            &["init", "--quiet", "--bare", "-b", "main", "remote.git"],
        );
        let seed = root.path().join("seed");
        git(root.path(), &["init", "--quiet", "-b", "main", "seed"]);
        std::fs::write(seed.join("README"), "shared\n").expect("README");
        std::fs::write(seed.join("spread.wf"), SPREAD).expect("workflow");
        git(&seed, &["add", "."]);
        git(&seed, &["commit", "--quiet", "-m", "start"]);
        git(
            &seed,
            &["push", "--quiet", &remote.display().to_string(), "main"],
        );
        Shared { root, remote }
    }

    /// A machine: a clone of the remote in a folder of its own, and a HOME of its own.
    fn machine(&self, name: &str) -> Machine {
        let folder = self.root.path().join(name);
        std::fs::create_dir_all(&folder).expect("machine folder");
        let home = folder.join("home");
        std::fs::create_dir_all(&home).expect("home");
        git(
            &folder,
            &[
                "clone",
                "--quiet",
                &self.remote.display().to_string(),
                "clone",
            ],
        );
        Machine {
            clone: folder.join("clone"),
            home,
        }
    }

    /// What file `path` holds on the remote's branch `branch`.
    fn file_on(&self, branch: &str, path: &str) -> String {
        git(&self.remote, &["show", &format!("{branch}:{path}")])
    }
}

/// A store of its own on the test server, a shared remote, and the laptop a run starts on.
struct Scene {
    _schemas: Schemas,
    url: String,
    backend: PostgresBackend,
    shared: Shared,
    laptop: Machine,
}

impl Scene {
    fn new(name: &str) -> Scene {
        let schemas = Schemas::new(name);
        let url = schemas.url();
        let backend = PostgresBackend::open(&url, Access::Create).expect("a store");
        let shared = Shared::new(&format!("wfc-{name}"));
        let laptop = shared.machine("laptop");
        Scene {
            _schemas: schemas,
            url,
            backend,
            shared,
            laptop,
        }
    }

    /// Starts the run of `file` on the laptop (its workspace's `origin` is the shared
    /// remote), with `extra` options, and leaves it at its gate `go`, approved, for the
    /// workers; returns its id.
    fn start_run(&self, file: &str, extra: &[&str]) -> String {
        let (url, backend) = (&self.url, &self.backend);
        let mut args = vec!["run", file, "--isolation", "git", "--backend", url];
        args.extend_from_slice(extra);
        let run = self.laptop.spawn(&args);
        wait_until("the gate waits", || {
            backend.list_runs().is_ok_and(|runs| {
                runs.iter().any(|run| {
                    backend.list_tasks(&run.id).is_ok_and(|tasks| {
                        tasks
                            .iter()
                            .any(|t| t.key.task == "go" && t.state == TaskState::Waiting)
                    })
                })
            })
        });
        let output = interrupt(run);
        let id = run_id(&String::from_utf8_lossy(&output.stdout));
        let approved = wfc(
            &self.laptop.clone,
            &["approve", &id, "go", "--backend", url],
        );
        assert_eq!(approved.code, 0, "{}{}", approved.stdout, approved.stderr);
        id
    }
}

/// Stops `child` as Ctrl-C would, and waits for it.
fn interrupt(child: Child) -> Output {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    child.wait_with_output().expect("wfc ends")
}

struct Machine {
    clone: PathBuf,
    home: PathBuf,
}

impl Machine {
    /// Starts `wfc ARGS` on this machine: in its clone, with its HOME.
    fn spawn(&self, args: &[&str]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_wfc"))
            .args(args)
            .current_dir(&self.clone)
            .env("HOME", &self.home)
            .env("TZ", "UTC")
            .env_remove("WFC_BACKEND")
            .env_remove("XDG_CONFIG_HOME")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("wfc starts")
    }

    /// Starts a worker on this machine that serves `url` in its clone until nothing is left.
    fn worker(&self, url: &str) -> Child {
        let clone = self.clone.display().to_string();
        self.spawn(&[
            "worker",
            "--backend",
            url,
            "--workspace",
            &clone,
            "--exit-when-idle",
            "-j",
            "1",
        ])
    }
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The workers (by process id) that claimed a task of `run`, with the task, and the events
/// of kind `kind`.
fn events_of(backend: &PostgresBackend, run: &str, kind: &str) -> Vec<serde_json::Value> {
    backend
        .read_events(run, 0, 10_000)
        .expect("events")
        .into_iter()
        .filter(|event| event.kind == kind)
        .map(|event| {
            let mut data = event.data;
            data["task"] = event.task.unwrap_or_default().into();
            data
        })
        .collect()
}

/// Whether the worker name `worker` (`host:pid:clock`) is the process `pid`'s.
fn is_of(worker: &serde_json::Value, pid: u32) -> bool {
    worker
        .as_str()
        .and_then(|name| name.split(':').nth(1))
        .is_some_and(|p| p == pid.to_string())
}

/// Checks that run `run` succeeded, every task once done, and that the remote's result
/// branch holds every file as the tasks wrote it.
fn assert_complete(shared: &Shared, backend: &PostgresBackend, run: &str) {
    let record = backend.get_run(run).expect("the run");
    assert_eq!(record.state, RunState::Succeeded, "{record:?}");
    let repository = record
        .place
        .and_then(|place| place.repository)
        .expect("the run records the repository its work moves through");
    assert_eq!(
        std::fs::canonicalize(&repository.remote).expect("the remote's path"),
        std::fs::canonicalize(&shared.remote).expect("the remote"),
        "the run's remote is its workspace's `origin`"
    );
    let branch = format!("wfc/{run}");
    for (file, content) in FILES {
        assert_eq!(
            &shared.file_on(&branch, file),
            content,
            "{file} on {branch}"
        );
    }
    let refs = git(&shared.remote, &["for-each-ref", "--format=%(refname)"]);
    for task in ["a", "b", "c", "ab", "bc", "all"] {
        let attempts = backend
            .get_task(&wfc::runtime::TaskKey::new(run, task))
            .expect("the task")
            .attempts;
        for name in [
            format!("refs/wfc/{run}/tasks/{task}\n"),
            format!("refs/wfc/{run}/outputs/{task}/{attempts}\n"),
        ] {
            assert!(refs.contains(&name), "{name} is on the remote:\n{refs}");
        }
    }
    assert!(refs.contains(&format!("refs/wfc/{run}/base\n")), "{refs}");
}

#[test]
fn workers_on_three_clones_share_a_run_through_a_bare_remote() {
    let scene = Scene::new("multi_machine");
    let (url, backend, shared, laptop) = (&scene.url, &scene.backend, &scene.shared, &scene.laptop);
    // The result is handed to `main` on the remote, where it fast-forwards.
    let run = scene.start_run("spread.wf", &["--into", "main"]);
    let machines: Vec<Machine> = ["one", "two", "three"]
        .iter()
        .map(|name| shared.machine(name))
        .collect();
    let workers: Vec<Child> = machines.iter().map(|m| m.worker(url)).collect();
    let pids: Vec<u32> = workers.iter().map(Child::id).collect();
    for worker in workers {
        let output = worker.wait_with_output().expect("the worker ends");
        assert!(
            output.status.success(),
            "a worker failed: {}",
            text(&output)
        );
    }
    assert_complete(shared, backend, &run);
    for task in backend.list_tasks(&run).expect("tasks") {
        if task.key.task != "go" {
            assert_eq!(task.attempts, 1, "each task ran once: {task:?}");
        }
    }
    // Each machine worked: the three slow tasks at the start went to three workers.
    let claims = events_of(backend, &run, "task_claimed");
    for pid in &pids {
        assert!(
            claims.iter().any(|claim| is_of(&claim["worker"], *pid)),
            "worker {pid} claimed nothing: {claims:?}"
        );
    }
    // The laptop, which started the run and ran none of its tasks, has none of its files.
    assert!(!laptop.clone.join("all.txt").exists());
    // A clone that ran a task that read others' files fetched their commits: the run's refs
    // are there. (Which clone ran `all` is up to the claims; one of them did.)
    let fetched = machines.iter().any(|m| {
        git(&m.clone, &["for-each-ref", "--format=%(refname)"])
            .contains(&format!("refs/wfc/{run}/tasks/ab"))
    });
    assert!(fetched, "no clone holds the output of ab");
    assert_eq!(
        git(&shared.remote, &["rev-parse", "main"]),
        git(&shared.remote, &["rev-parse", &format!("wfc/{run}")]),
        "`--into main` moved main on the remote to the result"
    );
    let status = wfc(&laptop.clone, &["status", &run, "--backend", url]);
    assert!(
        status
            .stdout
            .contains(&format!("shared through {}", shared.remote.display())),
        "{}",
        status.stdout
    );
    // Each worker let go of its worktrees once the run ended, whoever ended it.
    for machine in &machines {
        let worktrees = git(&machine.clone, &["worktree", "list", "--porcelain"]);
        assert_eq!(
            worktrees.matches("worktree ").count(),
            1,
            "only the clone's own checkout is left:\n{worktrees}"
        );
    }
}

#[test]
fn a_worker_that_cannot_reach_the_remote_gives_its_task_back_to_the_others() {
    let scene = Scene::new("multi_unreachable");
    let (url, backend, shared) = (&scene.url, &scene.backend, &scene.shared);
    let run = scene.start_run("spread.wf", &[]);
    // On this machine git sends the remote's URL somewhere that does not exist, as a machine
    // cut off from the remote would find it.
    let cut_off = shared.machine("cut-off");
    std::fs::write(
        cut_off.home.join(".gitconfig"),
        format!(
            "[url \"{}\"]\n\tinsteadOf = {}\n",
            shared.root.path().join("nowhere.git").display(),
            std::fs::canonicalize(&shared.remote)
                .expect("the remote")
                .display()
        ),
    )
    .expect("gitconfig");
    let lonely = cut_off.worker(url);
    wait_until("the cut-off worker gave a task back", || {
        !events_of(backend, &run, "task_given_back").is_empty()
    });
    let others: Vec<Child> = ["one", "two"]
        .iter()
        .map(|name| shared.machine(name).worker(url))
        .collect();
    for worker in others {
        let output = worker.wait_with_output().expect("the worker ends");
        assert!(
            output.status.success(),
            "a worker failed: {}",
            text(&output)
        );
    }
    let lonely_pid = lonely.id();
    let output = lonely.wait_with_output().expect("the cut-off worker ends");
    let said = text(&output);
    assert!(output.status.success(), "{said}");
    assert!(said.contains("given back"), "{said}");
    assert!(said.contains("cannot push to the run's remote"), "{said}");
    assert_complete(shared, backend, &run);
    let given_back = events_of(backend, &run, "task_given_back");
    assert!(
        given_back.iter().all(|e| is_of(&e["worker"], lonely_pid)),
        "{given_back:?}"
    );
    // The task given back used no retry (it has none): its next attempt, elsewhere, ran.
    let task = given_back[0]["task"].as_str().expect("a task").to_string();
    let record = backend
        .list_tasks(&run)
        .expect("tasks")
        .into_iter()
        .find(|t| t.key.task == task)
        .expect("the task");
    assert_eq!(
        (record.state, record.attempts),
        (TaskState::Succeeded, 2),
        "{record:?}"
    );
    // The views say so: the log names the event and why, `wfc show` the attempt's outcome.
    let here = &scene.laptop.clone;
    let logs = wfc(here, &["logs", &run, &task, "--backend", url]);
    assert!(logs.stdout.contains("task_given_back"), "{}", logs.stdout);
    assert!(logs.stdout.contains("cannot push"), "{}", logs.stdout);
    let show = wfc(
        here,
        &["show", &run, &task, "--attempt", "1", "--backend", url],
    );
    assert!(show.stdout.contains("given back"), "{}", show.stdout);
}

#[test]
fn a_postgres_store_of_version_1_is_read_as_it_is_and_migrated_by_a_write() {
    let schemas = Schemas::new("multi_migrate");
    let url = schemas.url();
    let backend = PostgresBackend::open(&url, Access::Create).expect("a store");
    let plan = crate::backend_contract::plan(&[("only", &[], 0)]);
    let place = wfc::runtime::RunPlace::here(Path::new("/work/project"));
    backend
        .create_run("old", &plan, Some(&place), 1_000)
        .and_then(|()| backend.create_tasks("old", &plan))
        .expect("a run");
    drop(backend);
    let schema = url
        .rsplit("schema=")
        .next()
        .expect("the schema")
        .to_string();
    admin(&format!(
        "ALTER TABLE {schema}.runs DROP COLUMN remote, DROP COLUMN base; \
         UPDATE {schema}.wfc_schema SET version = 1;"
    ));
    let version = || -> i64 {
        let reader = PostgresBackend::open(&url, Access::Read).expect("opened to read");
        assert_eq!(
            reader.get_run("old").expect("the old run").place,
            Some(place.clone())
        );
        let status = wfc(Path::new("/"), &["status", "old", "--backend", &url]);
        assert_eq!(status.code, 0, "{}{}", status.stdout, status.stderr);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let (client, connection) =
                tokio_postgres::connect(&crate::postgres::server_url(), tokio_postgres::NoTls)
                    .await
                    .expect("connect");
            tokio::spawn(connection);
            client
                .query_one(
                    &format!("SELECT max(version) FROM {schema}.wfc_schema"),
                    &[],
                )
                .await
                .expect("the version")
                .get(0)
        })
    };
    assert_eq!(version(), 1, "reading changes nothing");
    PostgresBackend::open(&url, Access::Write).expect("opened to write");
    assert_eq!(version(), wfc::backends::postgres::SCHEMA_VERSION);
}

/// A task that fails its first attempt, leaving a file behind, and succeeds (slowly) on a
/// retry that starts from what the failed attempt changed.
const RETRY: &str = r#"workflow again {
  gate go {
    ask = "Go?"
  }
  task half after go {
    retry      = 2
    retry_from = "failed"
    run        = "if [ -f progress.txt ]; then sleep 4; cp progress.txt done.txt; else echo half > progress.txt; exit 1; fi"
  }
}
"#;

#[test]
fn a_retry_on_another_machine_starts_from_what_the_failed_attempt_changed() {
    let scene = Scene::new("multi_retry");
    let (url, backend, shared) = (&scene.url, &scene.backend, &scene.shared);
    std::fs::write(scene.laptop.clone.join("again.wf"), RETRY).expect("workflow");
    let id = scene.start_run("again.wf", &[]);
    // The first machine fails the task once and is stopped before its retry can end.
    let first = shared.machine("first").worker(url);
    wait_until("the first attempt failed", || {
        !events_of(backend, &id, "task_retrying").is_empty()
    });
    let output = interrupt(first);
    assert!(output.status.success(), "{}", text(&output));
    // The second machine never saw that attempt's worktree: it fetches its changes.
    let second = shared.machine("second");
    let output = second
        .worker(url)
        .wait_with_output()
        .expect("the worker ends");
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(
        backend.get_run(&id).expect("the run").state,
        RunState::Succeeded
    );
    assert_eq!(shared.file_on(&format!("wfc/{id}"), "done.txt"), "half\n");
    assert_eq!(
        events_of(backend, &id, "task_retrying").len(),
        1,
        "the retry on the second machine started from the failed attempt's file"
    );
    let refs = git(&second.clone, &["for-each-ref", "--format=%(refname)"]);
    assert!(
        refs.contains(&format!("refs/wfc/{id}/attempts/half/1\n")),
        "{refs}"
    );
}

#[test]
fn a_remote_the_run_cannot_use_is_refused_before_anything_is_stored() {
    let scene = Scene::new("multi_refused");
    let (url, backend, shared, laptop) = (&scene.url, &scene.backend, &scene.shared, &scene.laptop);
    std::fs::write(
        laptop.clone.join("plain.wf"),
        "workflow plain {\n  task one {\n    run = \"echo one > one.txt\"\n  }\n}\n",
    )
    .expect("workflow");
    let refused = |args: &[&str], expected: &[&str]| {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--backend", url]);
        let output = laptop.spawn(&all).wait_with_output().expect("wfc ends");
        let said = text(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {said}");
        for words in expected {
            assert!(said.contains(words), "{args:?}: {said}");
        }
        assert!(
            !said.contains("hunter2"),
            "the password is never shown: {said}"
        );
        assert_eq!(backend.list_runs().expect("runs").len(), 0, "{args:?}");
    };
    let nowhere = shared.root.path().join("nowhere.git").display().to_string();
    refused(
        &[
            "spread.wf",
            "--isolation",
            "git",
            "--remote",
            "https://me:hunter2@example.com/r.git",
        ],
        &["holds a password", "credential helper"],
    );
    refused(
        &["spread.wf", "--isolation", "git", "--remote", &nowhere],
        &["cannot reach", "nowhere.git", "--remote none"],
    );
    refused(
        &[
            "spread.wf",
            "--isolation",
            "git",
            "--remote=--upload-pack=touch pwned",
        ],
        &["starts with `-`"],
    );
    refused(
        &["plain.wf", "--remote", &shared.remote.display().to_string()],
        &["only a run isolated in git"],
    );
    assert!(!laptop.clone.join("pwned").exists());
    // A run of commands in the folder needs no remote, even where `origin` is one.
    let output = laptop
        .spawn(&["run", "plain.wf", "--backend", url])
        .wait_with_output()
        .expect("wfc ends");
    assert!(output.status.success(), "{}", text(&output));
    let runs = backend.list_runs().expect("runs");
    let record = backend.get_run(&runs[0].id).expect("the run");
    assert_eq!(
        record.place.map(|place| place.repository),
        Some(None),
        "a run in the folder moves nothing"
    );
    assert!(laptop.clone.join("one.txt").exists());
    // A worker's workspace must be a clone.
    let plain = shared.root.path().join("plain-folder");
    std::fs::create_dir_all(&plain).expect("a folder");
    let output = laptop
        .spawn(&[
            "worker",
            "--backend",
            url,
            "--workspace",
            &plain.display().to_string(),
        ])
        .wait_with_output()
        .expect("wfc ends");
    let said = text(&output);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(said.contains("not inside a git repository"), "{said}");
}
