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
        self.spawn_with(args, &[])
    }

    /// Starts `wfc ARGS` on this machine with the environment variables `env` set too.
    fn spawn_with(&self, args: &[&str], env: &[(&str, &str)]) -> Child {
        self.spawn_in(&self.clone, args, env)
    }

    /// Starts `wfc ARGS` on this machine in folder `dir`, with `env` set too.
    fn spawn_in(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_wfc"))
            .args(args)
            .envs(env.iter().copied())
            .current_dir(dir)
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
        self.worker_with(url, &[])
    }

    /// A worker, as [`Machine::worker`], with the environment variables `env` set too.
    fn worker_with(&self, url: &str, env: &[(&str, &str)]) -> Child {
        let clone = self.clone.display().to_string();
        self.spawn_with(
            &[
                "worker",
                "--backend",
                url,
                "--workspace",
                &clone,
                "--exit-when-idle",
                "-j",
                "1",
            ],
            env,
        )
    }

    /// Makes git on this machine send the remote's URL to `instead` (as a machine that
    /// reaches the remote by another way, or not at all, would).
    fn reach_remote_at(&self, shared: &Shared, instead: &str) {
        std::fs::write(
            self.home.join(".gitconfig"),
            format!(
                "[url \"{instead}\"]\n\tinsteadOf = {}\n",
                std::fs::canonicalize(&shared.remote)
                    .expect("the remote")
                    .display()
            ),
        )
        .expect("gitconfig");
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
    if record.state != RunState::Succeeded {
        // What happened is in the run's log; the record alone seldom says why.
        let log: Vec<String> = backend
            .read_events(run, 0, 10_000)
            .expect("events")
            .into_iter()
            .map(|event| format!("{} {:?} {}", event.kind, event.task, event.data))
            .collect();
        panic!("{record:?}\n{}", log.join("\n"));
    }
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
    // What a task changed is read on a machine where it did not run: its commits are
    // fetched from the run's remote. First in the run's own folder, which ran nothing.
    let diff = wfc(&laptop.clone, &["diff", &run, "all", "--backend", url]);
    assert_eq!(diff.code, 0, "{}{}", diff.stdout, diff.stderr);
    assert!(diff.stdout.contains("+++ b/all.txt"), "{}", diff.stdout);
    // Then in another clone, with the run's folder gone.
    std::fs::rename(&laptop.clone, laptop.clone.with_file_name("moved")).expect("moved");
    let reader = shared.machine("reader");
    let stat = wfc(
        &reader.clone,
        &["diff", &run, "ab", "--stat", "--backend", url],
    );
    assert_eq!(stat.code, 0, "{}{}", stat.stdout, stat.stderr);
    assert!(stat.stdout.contains("ab.txt"), "{}", stat.stdout);
    let show = wfc(&reader.clone, &["show", &run, "bc", "--backend", url]);
    assert_eq!(show.code, 0, "{}{}", show.stdout, show.stderr);
    assert!(show.stdout.contains("+from-c"), "{}", show.stdout);
    assert!(!show.stdout.contains("cannot be shown"), "{}", show.stdout);
    // The run ended: `wfc gc --refs` in a worker's clone (and in the reader's) removes its
    // refs there, as it does in a run's own folder.
    let prefix = format!("refs/wfc/{run}/");
    for clone in machines.iter().map(|m| &m.clone).chain([&reader.clone]) {
        let before = git(clone, &["for-each-ref", "--format=%(refname)", &prefix]);
        let gc = wfc(clone, &["gc", "--refs", "--backend", url]);
        assert_eq!(gc.code, 0, "{}{}", gc.stdout, gc.stderr);
        let removed = before.lines().count();
        assert!(
            gc.stdout.contains(&format!("and {removed} ref(s)")),
            "{}: {}",
            clone.display(),
            gc.stdout
        );
        let after = git(clone, &["for-each-ref", "--format=%(refname)", &prefix]);
        assert_eq!(after, "", "{}", clone.display());
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
    cut_off.reach_remote_at(
        shared,
        &shared.root.path().join("nowhere.git").display().to_string(),
    );
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

/// A server that accepts connections and never answers, as a remote behind a broken proxy
/// would; it counts the connections it accepted and those the other side closed.
struct Silent {
    port: u16,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    closed: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Silent {
    fn start() -> Silent {
        use std::io::Read;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let port = listener.local_addr().expect("its address").port();
        let (accepted, closed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (a, c) = (Arc::clone(&accepted), Arc::clone(&closed));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                a.fetch_add(1, Ordering::SeqCst);
                let c = Arc::clone(&c);
                // It reads what git says and answers nothing, until git goes.
                std::thread::spawn(move || {
                    let mut buffer = [0u8; 4096];
                    while stream.read(&mut buffer).is_ok_and(|n| n > 0) {}
                    c.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        Silent {
            port,
            accepted,
            closed,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn closed(&self) -> usize {
        self.closed.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[test]
fn a_remote_that_never_answers_is_given_up_on_after_the_time_limit() {
    let scene = Scene::new("multi_silent");
    let (url, backend, shared) = (&scene.url, &scene.backend, &scene.shared);
    let run = scene.start_run("spread.wf", &[]);
    // On this machine the remote is a server that takes the connection and says nothing.
    let silent = Silent::start();
    let stuck = shared.machine("stuck");
    stuck.reach_remote_at(shared, &format!("git://127.0.0.1:{}/", silent.port));
    let started = Instant::now();
    let worker = stuck.worker_with(url, &[("WFC_REMOTE_TIMEOUT_SECS", "2")]);
    wait_until("the stuck worker gave a task back", || {
        !events_of(backend, &run, "task_given_back").is_empty()
    });
    let waited = started.elapsed();
    // The task sleeps 2 s, its push waits 2 s: well under git's own patience (none) or the
    // default limit of 60 s, even on a loaded machine.
    assert!(waited < Duration::from_secs(40), "{waited:?}");
    let given_back = events_of(backend, &run, "task_given_back");
    let reason = given_back[0]["reason"].as_str().expect("a reason");
    // Which task the stuck worker takes first decides whether it meets the silence pushing
    // its output or fetching its upstream's.
    assert!(
        reason.contains("cannot push to the run's remote")
            || reason.contains("cannot fetch from the run's remote"),
        "{reason}"
    );
    assert!(reason.contains("no answer within 2 s"), "{reason}");
    assert!(silent.accepted() >= 1, "git connected to the silent server");
    // Stopping git closed its connection: nothing of it is left waiting.
    wait_until("git's connections are closed", || {
        silent.closed() == silent.accepted()
    });
    let other = shared.machine("other").worker(url);
    let output = other.wait_with_output().expect("the worker ends");
    assert!(output.status.success(), "{}", text(&output));
    let output = worker.wait_with_output().expect("the stuck worker ends");
    let said = text(&output);
    assert!(output.status.success(), "{said}");
    assert!(said.contains("no answer within 2 s"), "{said}");
    assert_complete(shared, backend, &run);
}

/// One quick task after the gate.
const ONE: &str = r#"workflow one {
  gate go {
    ask = "Go?"
  }
  task only after go {
    run = "echo only > only.txt"
  }
}
"#;

#[test]
fn a_remote_that_refuses_every_push_fails_the_task_after_a_bounded_number_of_give_backs() {
    let scene = Scene::new("multi_refusing");
    let (url, backend, shared) = (&scene.url, &scene.backend, &scene.shared);
    std::fs::write(scene.laptop.clone.join("one.wf"), ONE).expect("workflow");
    // The remote takes the run's base, and refuses every task's output after.
    let hook = shared.remote.join("hooks").join("pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\nwhile read old new ref; do\n  case \"$ref\" in refs/wfc/*/outputs/*) \
         echo \"outputs are not welcome here\" >&2; exit 1;; esac\ndone\n",
    )
    .expect("hook");
    let mut permissions = std::fs::metadata(&hook).expect("hook").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&hook, permissions).expect("executable");
    let run = scene.start_run("one.wf", &[]);
    let bound = [("WFC_REMOTE_GIVE_BACKS", "3")];
    // One machine after another takes the task, runs it and cannot push its output; the
    // first two give it back and are stopped (else each would try again after its pause),
    // and the third, counting their give-backs in the store, fails it.
    for (given, name) in ["one", "two"].iter().enumerate() {
        let worker = shared.machine(name).worker_with(url, &bound);
        wait_until("the task was given back", || {
            events_of(backend, &run, "task_given_back").len() > given
        });
        let output = interrupt(worker);
        assert!(output.status.success(), "{}", text(&output));
    }
    let last = shared.machine("three").worker_with(url, &bound);
    let output = last.wait_with_output().expect("the worker ends");
    let said = text(&output);
    assert!(said.contains("given back 3 times"), "{said}");
    let record = backend.get_run(&run).expect("the run");
    assert_eq!(record.state, RunState::Failed, "{record:?}\n{said}");
    let task = backend
        .get_task(&wfc::runtime::TaskKey::new(&run, "only"))
        .expect("the task");
    assert_eq!(task.state, TaskState::Failed, "{task:?}");
    // Two give-backs, then the third attempt failed instead: three attempts in all, each
    // on another machine.
    let given_back = events_of(backend, &run, "task_given_back");
    assert_eq!(given_back.len(), 2, "{given_back:?}");
    assert_ne!(given_back[0]["worker"], given_back[1]["worker"]);
    assert_eq!(task.attempts, 3, "{task:?}");
    let failed = events_of(backend, &run, "task_failed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    let error = failed[0]["error"].as_str().expect("an error");
    for words in [
        "given back 3 times",
        "cannot push to the run's remote /",
        "remote.git",
        "outputs are not welcome here",
        &format!("wfc retry {run} only"),
    ] {
        assert!(error.contains(words), "{words}: {error}");
    }
    // `wfc status` says why, on any machine.
    let status = wfc(&scene.laptop.clone, &["status", &run, "--backend", url]);
    assert!(
        status.stdout.contains("given back 3 times"),
        "{}",
        status.stdout
    );
    // Once the remote takes outputs again, `wfc retry` (as the error says) runs it, with the
    // count started again.
    std::fs::remove_file(&hook).expect("the hook goes");
    let retried = scene
        .laptop
        .spawn_with(&["retry", &run, "only", "--backend", url], &bound)
        .wait_with_output()
        .expect("wfc retry ends");
    assert!(retried.status.success(), "{}", text(&retried));
    assert_eq!(
        backend.get_run(&run).expect("the run").state,
        RunState::Succeeded
    );
    assert_eq!(shared.file_on(&format!("wfc/{run}"), "only.txt"), "only\n");
}

#[test]
fn a_shared_run_is_resumed_in_a_clone_on_another_machine() {
    let scene = Scene::new("multi_resume");
    let (url, backend, shared, laptop) = (&scene.url, &scene.backend, &scene.shared, &scene.laptop);
    let run = scene.start_run("spread.wf", &[]);
    // The laptop is gone (as another machine finds it): its folder is out of reach.
    std::fs::rename(&laptop.clone, laptop.clone.with_file_name("away")).expect("moved");
    // Outside any clone, `wfc resume` says where to run it, and changes nothing.
    let elsewhere = shared.root.path().join("not-a-clone");
    std::fs::create_dir_all(&elsewhere).expect("a folder");
    let refused = wfc(&elsewhere, &["resume", &run, "--backend", url]);
    let said = format!("{}{}", refused.stdout, refused.stderr);
    assert_ne!(refused.code, 0, "{said}");
    for words in [
        "cannot go on from here",
        "is out of reach",
        &format!("git clone {}", shared.remote.display()),
    ] {
        assert!(said.contains(words), "{words}: {said}");
    }
    assert_eq!(
        backend.get_run(&run).expect("the run").state,
        RunState::Running
    );
    // In a folder inside another clone it goes on there, and ends the run.
    let desk = shared.machine("desk");
    let inside = desk.clone.join("notes");
    std::fs::create_dir_all(&inside).expect("a folder in the clone");
    let output = desk
        .spawn_in(&inside, &["resume", &run, "--backend", url], &[])
        .wait_with_output()
        .expect("wfc resume ends");
    assert!(output.status.success(), "{}", text(&output));
    assert_complete(shared, backend, &run);
    // Its worktrees were in the clone's own folder, not in the folder it ran in.
    assert!(!inside.join(".wfc").exists());
    let refs = git(&desk.clone, &["for-each-ref", "--format=%(refname)"]);
    assert!(
        refs.contains(&format!("refs/wfc/{run}/tasks/all")),
        "{refs}"
    );
    // A remote that lost the run's refs: `wfc diff` in a clone without the commit says so.
    let lost = git(
        &shared.remote,
        &["for-each-ref", "--format=%(refname)", "refs/wfc/"],
    );
    for name in lost
        .lines()
        .chain([format!("refs/heads/wfc/{run}").as_str()])
    {
        git(&shared.remote, &["update-ref", "-d", name]);
    }
    // (A local clone copies every object, kept or not: the lost ones go for good.)
    git(&shared.remote, &["gc", "--quiet", "--prune=now"]);
    let late = shared.machine("late");
    let diff = wfc(&late.clone, &["diff", &run, "ab", "--backend", url]);
    assert_eq!(diff.code, 2, "{}{}", diff.stdout, diff.stderr);
    let remote = shared.remote.display().to_string();
    for words in [
        "cannot show what task `ab` changed",
        &format!("the run's remote {remote} does not have commit"),
        &format!("refs/wfc/{run}/outputs/ab"),
    ] {
        assert!(diff.stderr.contains(words), "{words}: {}", diff.stderr);
    }
}
