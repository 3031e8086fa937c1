//! The Postgres backend against the real server CI runs (`WFC_TEST_POSTGRES_URL`, set by
//! `.ci/run`): whole runs through the `wfc` binary, claims across processes, and the errors
//! for a wrong URL, a refused password, a database without rights and a newer schema. Each
//! test works in schemas of its own, dropped after.

use crate::support::{run_id, wfc, Run, TempDir};
use nix::fcntl::{Flock, FlockArg};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use wfc::backends::{Access, PostgresBackend};
use wfc::runtime::TaskBackend;

/// The variable that names the test server.
const URL_VAR: &str = "WFC_TEST_POSTGRES_URL";

/// The test server's URL; a test that needs it fails without it, saying so.
pub fn server_url() -> String {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "set {URL_VAR} to a PostgreSQL server the tests may create schemas in, e.g. \
             `postgres://postgres@127.0.0.1:5432/test` (`.ci/run` sets it)"
        ),
    }
}

/// Runs `sql` on the test server as its administrator.
pub fn admin(sql: &str) {
    admin_rows(sql);
}

/// Runs `sql` on the test server as its administrator and returns the rows it gives, each
/// value as text (`None` for NULL).
pub fn admin_rows(sql: &str) -> Vec<Vec<Option<String>>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let messages = runtime
        .block_on(async {
            let (client, connection) =
                tokio_postgres::connect(&server_url(), tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            client.simple_query(sql).await
        })
        .unwrap_or_else(|error| panic!("`{sql}` on the test server: {error:?}"));
    messages
        .iter()
        .filter_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_string))
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

/// A hold on the test server: every test that uses it holds it shared, for as long as its
/// [`Schemas`] live; the test that restarts the server holds it exclusively, so it waits for
/// the others to end and they wait for it. An `flock` on one file in the temporary folder, so
/// test processes of every clone on this machine take turns the same way.
pub struct ServerHold(#[allow(dead_code)] Flock<std::fs::File>);

impl ServerHold {
    /// Waits for the hold: `exclusive` for the test that restarts the server.
    pub fn take(exclusive: bool) -> ServerHold {
        let path = std::env::temp_dir().join("wfc-test-postgres.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let how = if exclusive {
            FlockArg::LockExclusive
        } else {
            FlockArg::LockShared
        };
        match Flock::lock(file, how) {
            Ok(lock) => ServerHold(lock),
            Err((_, error)) => panic!("cannot lock {}: {error}", path.display()),
        }
    }
}

/// Fresh schemas on the test server, each dropped (with everything in it) when this is.
pub struct Schemas {
    prefix: String,
    made: AtomicUsize,
    /// The shared hold on the server, if this took it (dropped after the schemas are).
    _hold: Option<ServerHold>,
}

impl Schemas {
    /// Schemas named after `name` and this process, with a shared hold on the server.
    pub fn new(name: &str) -> Schemas {
        Schemas::holding(name, Some(ServerHold::take(false)))
    }

    /// Schemas for a test that holds the server exclusively already.
    pub fn held(name: &str) -> Schemas {
        Schemas::holding(name, None)
    }

    fn holding(name: &str, hold: Option<ServerHold>) -> Schemas {
        Schemas {
            prefix: format!("wfc_test_{name}_{}", std::process::id()),
            made: AtomicUsize::new(0),
            _hold: hold,
        }
    }

    /// The URL of a new, empty schema.
    pub fn url(&self) -> String {
        let n = self.made.fetch_add(1, Ordering::SeqCst);
        with_schema(&server_url(), &format!("{}_{n}", self.prefix))
    }
}

impl Drop for Schemas {
    fn drop(&mut self) {
        let made = self.made.load(Ordering::SeqCst);
        if made == 0 || std::env::var(URL_VAR).is_err() {
            return;
        }
        let drops: String = (0..made)
            .map(|n| format!("DROP SCHEMA IF EXISTS {}_{n} CASCADE;", self.prefix))
            .collect();
        admin(&drops);
    }
}

/// `url` with `?schema=NAME` added.
pub fn with_schema(url: &str, schema: &str) -> String {
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}schema={schema}")
}

/// A new store in a schema of `schemas`.
pub fn open_new(schemas: &Schemas) -> Arc<dyn TaskBackend> {
    Arc::new(PostgresBackend::open(&schemas.url(), Access::Create).expect("a Postgres store"))
}

const SMALL: &str = r#"workflow small {
  task a { run = "echo A" }
  task b after a { run = "echo B" }
  task c after a { run = "echo C" }
}
"#;

fn all(run: &Run) -> String {
    format!("exit {}\n{}{}", run.code, run.stdout, run.stderr)
}

#[test]
fn a_workflow_runs_on_postgres_and_the_views_read_it() {
    let schemas = Schemas::new("run");
    let url = schemas.url();
    let dir = TempDir::new("wfc-pg-run");
    dir.write("small.wf", SMALL);
    let run = wfc(dir.path(), &["run", "small.wf", "--backend", &url]);
    assert_eq!(run.code, 0, "{}", all(&run));
    let id = run_id(&run.stdout);
    let status = wfc(dir.path(), &["status", &id, "--backend", &url, "--json"]);
    assert_eq!(status.code, 0, "{}", all(&status));
    for task in ["\"a\"", "\"b\"", "\"c\""] {
        assert!(status.stdout.contains(task), "{}", status.stdout);
    }
    let status: serde_json::Value = serde_json::from_str(&status.stdout).expect("status JSON");
    let states: Vec<&str> = status["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|task| task["state"].as_str())
        .collect();
    assert_eq!(states, ["succeeded"; 3], "{status}");
    let runs = wfc(dir.path(), &["runs", "--backend", &url]);
    assert!(
        runs.code == 0 && runs.stdout.contains(&id),
        "{}",
        all(&runs)
    );
    // WFC_BACKEND names the store as well as --backend does.
    let runs = crate::support::wfc_with_env(dir.path(), &["runs"], &[("WFC_BACKEND", &url)]);
    assert!(
        runs.code == 0 && runs.stdout.contains(&id),
        "{}",
        all(&runs)
    );
}

/// The URL of the test server with `user:password@` in place of its user part.
pub fn with_login(url: &str, login: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
    let rest = rest.split_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{login}@{rest}")
}

/// Checks that opening `url` fails as a person sees it: exit 2, the URL named without its
/// password, `expected` in the message, and the password nowhere.
pub fn refused(url: &str, expected: &str) -> String {
    let dir = TempDir::new("wfc-pg-refused");
    let runs = wfc(dir.path(), &["runs", "--backend", url]);
    let shown = wfc::backends::postgres::redact(url);
    assert_eq!(runs.code, 2, "{}", all(&runs));
    assert!(
        runs.stderr.contains(&shown),
        "the URL is named: {}",
        all(&runs)
    );
    assert!(runs.stderr.contains(expected), "{expected}: {}", all(&runs));
    assert!(
        !all(&runs).contains("sekrit"),
        "the password shows: {}",
        all(&runs)
    );
    assert!(!all(&runs).contains("panicked"), "{}", all(&runs));
    runs.stderr
}

#[test]
fn a_wrong_port_is_a_clear_error_without_the_password() {
    let url = with_login(&server_url(), "postgres:sekrit");
    let url = url.replacen(":5432/", ":1/", 1);
    assert!(
        url.contains(":1/"),
        "the test server listens on 5432: {url}"
    );
    refused(&url, "check the host and port");
}

#[test]
fn a_bad_url_is_a_clear_error_without_the_password() {
    refused(
        "postgres://u:sekrit@127.0.0.1:notaport/test",
        "is not a PostgreSQL URL wfc can use",
    );
    refused(
        "postgres://u:sekrit@127.0.0.1:5432/test?schema=a;b",
        "is not a schema name",
    );
}

/// A server that asks for a password and refuses it, as PostgreSQL does with
/// `password authentication failed` (SQLSTATE 28P01). The test server trusts every
/// connection from this machine (TCP and its socket alike), so it cannot refuse a password
/// itself; this stands in for one that does, speaking just enough of the protocol.
fn refusing_server() -> (u16, std::thread::JoinHandle<Vec<u8>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("its address").port();
    let server = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().expect("wfc connects");
        let read_message = |socket: &mut std::net::TcpStream, tagged: bool| {
            let mut tag = [0u8; 1];
            if tagged {
                socket.read_exact(&mut tag).expect("a tag");
            }
            let mut len = [0u8; 4];
            socket.read_exact(&mut len).expect("a length");
            let mut body = vec![0u8; u32::from_be_bytes(len) as usize - 4];
            socket.read_exact(&mut body).expect("a body");
            body
        };
        let mut startup = read_message(&mut socket, false);
        // A request for TLS (code 80877103) is answered "no", as a server without TLS does;
        // the startup message follows.
        if startup == [4, 210, 22, 47] {
            socket.write_all(b"N").expect("no TLS");
            startup = read_message(&mut socket, false);
        }
        assert!(!startup.is_empty(), "a startup message");
        // AuthenticationCleartextPassword.
        socket
            .write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3])
            .expect("ask for the password");
        let password = read_message(&mut socket, true);
        let mut fields = Vec::new();
        for (code, text) in [
            (b'S', "FATAL"),
            (b'V', "FATAL"),
            (b'C', "28P01"),
            (b'M', "password authentication failed for user \"postgres\""),
        ] {
            fields.push(code);
            fields.extend_from_slice(text.as_bytes());
            fields.push(0);
        }
        fields.push(0);
        let mut error = vec![b'E'];
        error.extend_from_slice(&(fields.len() as u32 + 4).to_be_bytes());
        error.extend_from_slice(&fields);
        socket.write_all(&error).expect("refuse");
        password
    });
    (port, server)
}

#[test]
fn a_refused_password_is_a_clear_error_without_the_password() {
    let (port, server) = refusing_server();
    let url = format!("postgres://postgres:sekrit@127.0.0.1:{port}/test");
    let stderr = refused(&url, "password authentication failed");
    assert!(
        stderr.contains("the server refused the password"),
        "{stderr}"
    );
    let sent = server.join().expect("the server ends");
    assert!(
        String::from_utf8_lossy(&sent).contains("sekrit"),
        "the password went to the server"
    );
}

#[test]
fn a_password_from_pgpassword_or_pgpass_is_sent() {
    let (port, server) = refusing_server();
    let dir = TempDir::new("wfc-pg-pgpass");
    let pgpass = dir.write(
        ".pgpass",
        &format!("127.0.0.1:{port}:test:postgres:sekrit\n"),
    );
    let url = format!("postgres://postgres@127.0.0.1:{port}/test");
    let runs = crate::support::wfc_with_env(
        dir.path(),
        &["runs", "--backend", &url],
        &[("PGPASSFILE", pgpass.to_str().expect("a UTF-8 path"))],
    );
    assert_eq!(runs.code, 2, "{}", all(&runs));
    assert!(!all(&runs).contains("sekrit"), "{}", all(&runs));
    let sent = server.join().expect("the server ends");
    assert!(
        String::from_utf8_lossy(&sent).contains("sekrit"),
        "from .pgpass"
    );
    let (port, server) = refusing_server();
    let url = format!("postgres://postgres@127.0.0.1:{port}/test");
    let runs = crate::support::wfc_with_env(
        dir.path(),
        &["runs", "--backend", &url],
        &[("PGPASSWORD", "sekrit")],
    );
    assert!(!all(&runs).contains("sekrit"), "{}", all(&runs));
    let sent = server.join().expect("the server ends");
    assert!(
        String::from_utf8_lossy(&sent).contains("sekrit"),
        "from PGPASSWORD"
    );
}

#[test]
fn a_user_without_rights_is_a_clear_error() {
    let schemas = Schemas::new("norights");
    let role = format!("wfc_test_norights_{}", std::process::id());
    admin(&format!(
        "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN"
    ));
    let url = with_login(&schemas.url(), &role);
    let dir = TempDir::new("wfc-pg-norights");
    dir.write("small.wf", SMALL);
    let run = wfc(dir.path(), &["run", "small.wf", "--backend", &url]);
    admin(&format!("DROP ROLE IF EXISTS {role}"));
    assert_eq!(run.code, 2, "{}", all(&run));
    assert!(run.stderr.contains("permission denied"), "{}", all(&run));
    assert!(run.stderr.contains("lacks the rights"), "{}", all(&run));
    // Commands that only read say there is no store there, and make none.
    let runs = wfc(dir.path(), &["runs", "--backend", &schemas.url()]);
    assert_ne!(runs.code, 0, "{}", all(&runs));
    assert!(runs.stderr.contains("no wfc state store"), "{}", all(&runs));
}

/// A host that does not exist, a database that does not exist and a role that may not log in
/// fail on the first connection, at once (not after the minute wfc keeps trying a server
/// that went away once it was reached).
#[test]
fn a_wrong_host_a_missing_database_and_a_role_without_login_fail_at_once() {
    let _hold = ServerHold::take(false);
    let role = format!("wfc_test_nologin_{}", std::process::id());
    admin(&format!(
        "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} NOLOGIN"
    ));
    let server = server_url();
    let cases = [
        (
            with_login(&server, "postgres:sekrit").replacen("127.0.0.1", "nosuchhost.invalid", 1),
            "check the host and port",
        ),
        (
            with_login(&server, "postgres:sekrit").replacen("/test", "/wfc_no_such_db", 1),
            "the database does not exist",
        ),
        (
            with_login(&server, &format!("{role}:sekrit")),
            "is not permitted to log in",
        ),
    ];
    for (url, expected) in &cases {
        assert!(url.contains("sekrit") && url != &server, "{url}");
        let started = std::time::Instant::now();
        let stderr = refused(url, expected);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{url} took {:?} to fail: {stderr}",
            started.elapsed()
        );
    }
    admin(&format!("DROP ROLE IF EXISTS {role}"));
}

/// Something on the port that accepts the connection and then says nothing (another program,
/// a hung server): wfc gives up after twice the connect timeout, not never.
#[test]
fn a_server_that_never_answers_is_a_clear_error_in_seconds() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("its address").port();
    let silent = std::thread::spawn(move || {
        let (socket, _) = listener.accept().expect("wfc connects");
        std::thread::sleep(std::time::Duration::from_secs(8));
        drop(socket);
    });
    let started = std::time::Instant::now();
    refused(
        &format!("postgres://postgres:sekrit@127.0.0.1:{port}/test?connect_timeout=2"),
        "timeout waiting for server",
    );
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_secs(3) && took < std::time::Duration::from_secs(8),
        "gave up after {took:?}"
    );
    silent.join().expect("the silent server ends");
}

/// A user that may log in but has no rights on the schema of a store another user made.
#[test]
fn a_user_without_rights_on_the_stores_schema_is_a_clear_error() {
    let schemas = Schemas::new("noschema");
    let url = schemas.url();
    drop(PostgresBackend::open(&url, Access::Create).expect("a store"));
    let role = format!("wfc_test_noschema_{}", std::process::id());
    admin(&format!(
        "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN"
    ));
    let stderr = refused(
        &with_login(&url, &format!("{role}:sekrit")),
        "permission denied for schema",
    );
    admin(&format!("DROP ROLE IF EXISTS {role}"));
    assert!(stderr.contains("lacks the rights"), "{stderr}");
}

#[test]
fn a_store_of_a_newer_schema_is_refused() {
    let schemas = Schemas::new("newer");
    let url = schemas.url();
    drop(PostgresBackend::open(&url, Access::Create).expect("a store"));
    let schema = url.rsplit_once("schema=").expect("a schema").1;
    admin(&format!("UPDATE {schema}.wfc_schema SET version = 99"));
    let stderr = refused(&url, "has schema version 99, newer than this wfc reads");
    assert!(stderr.contains("use that wfc"), "{stderr}");
}

#[test]
fn store_check_reads_a_postgres_store_and_names_what_is_wrong() {
    let schemas = Schemas::new("check");
    let url = schemas.url();
    let dir = TempDir::new("wfc-pg-check");
    let missing = wfc(dir.path(), &["store", "check", "--backend", &url]);
    assert_eq!(missing.code, 1, "{}", all(&missing));
    assert!(
        missing.stderr.contains("no wfc state store"),
        "{}",
        all(&missing)
    );
    dir.write("small.wf", SMALL);
    let run = wfc(dir.path(), &["run", "small.wf", "--backend", &url]);
    assert_eq!(run.code, 0, "{}", all(&run));
    let id = run_id(&run.stdout);
    let sound = wfc(dir.path(), &["store", "check", "--backend", &url]);
    assert_eq!(sound.code, 0, "{}", all(&sound));
    assert!(
        sound.stdout.contains(&format!(
            "(schema version {}): 1 run, 3 tasks,",
            wfc::backends::postgres::SCHEMA_VERSION
        )) && sound.stdout.contains("no problems found"),
        "{}",
        all(&sound)
    );
    let schema = url.rsplit_once("schema=").expect("a schema").1;
    admin(&format!(
        "UPDATE {schema}.tasks SET state = 'bogus' WHERE id = 'a'; \
         UPDATE {schema}.tasks SET worker = 'gone' WHERE id = 'b'; \
         UPDATE {schema}.tasks SET state = 'running', worker = NULL WHERE id = 'c'; \
         UPDATE {schema}.runs SET last_event = 1; \
         UPDATE {schema}.tasks SET unfinished_deps = 5 WHERE id = 'b'"
    ));
    let damaged = wfc(dir.path(), &["store", "check", "--backend", &url]);
    assert_eq!(damaged.code, 2, "{}", all(&damaged));
    for problem in [
        format!("task `{id}/a` has the state `bogus`"),
        format!("task `{id}/b` is succeeded but still names worker `gone`"),
        format!("task `{id}/c` is running but has no worker or no lease"),
        format!("run `{id}` counts 1 events but holds event"),
        // `a`'s state is not a done one now, so `b` and `c` each wait for one dependency.
        format!("task `{id}/b` counts 5 unfinished dependencies, not 1"),
        format!("task `{id}/c` counts 0 unfinished dependencies, not 1"),
        "DROP SCHEMA".to_string(),
    ] {
        assert!(
            damaged.stderr.contains(&problem),
            "{problem}: {}",
            all(&damaged)
        );
    }
}

/// The command of `wfc worker` on `url` in `dir`, with stdin closed.
pub fn worker_command(dir: &std::path::Path, url: &str, extra: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_wfc"));
    command
        .args(["worker", "--backend", url])
        .args(extra)
        .current_dir(dir)
        .env_remove("WFC_BACKEND")
        .stdin(std::process::Stdio::null());
    command
}

/// Starts `wfc worker` on `url` in `dir`, its output piped.
fn worker(dir: &std::path::Path, url: &str, extra: &[&str]) -> std::process::Child {
    worker_command(dir, url, extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("a worker")
}

#[test]
fn workers_in_several_processes_run_every_task_once() {
    let schemas = Schemas::new("workers");
    let url = schemas.url();
    let backend = PostgresBackend::open(&url, Access::Create).expect("a store");
    let ids: Vec<String> = (0..60).map(|i| format!("t{i}")).collect();
    let specs: Vec<(&str, &[&str], u32)> = ids.iter().map(|id| (id.as_str(), &[][..], 0)).collect();
    let plan = crate::backend_contract::plan(&specs);
    let dir = TempDir::new("wfc-pg-workers");
    let place = wfc::runtime::RunPlace::here(dir.path());
    backend
        .create_run("p", &plan, Some(&place), 1_000)
        .expect("run");
    backend.create_tasks("p", &plan).expect("tasks");
    let workers: Vec<_> = (0..3)
        .map(|_| worker(dir.path(), &url, &["--exit-when-idle", "-j", "4"]))
        .collect();
    for child in workers {
        let output = child.wait_with_output().expect("the worker ends");
        assert!(
            output.status.success(),
            "a worker failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let tasks = backend.list_tasks("p").expect("tasks");
    assert_eq!(tasks.len(), 60);
    for task in &tasks {
        assert_eq!(
            (task.state, task.attempts),
            (wfc::runtime::TaskState::Succeeded, 1),
            "{task:?}"
        );
    }
    assert_eq!(
        backend.get_run("p").expect("run").state,
        wfc::runtime::RunState::Succeeded
    );
    // Each worker looks whether the run is over after its last tasks; only the one that ended
    // it logs the end.
    let ends = backend
        .read_events("p", 0, 10_000)
        .expect("events")
        .iter()
        .filter(|event| event.kind == "run_finished")
        .count();
    assert_eq!(ends, 1, "the run's end is logged once");
}

/// An idle worker's look for claims skips the tasks another engine's look holds at that
/// instant; its look for whether to exit must not, or two workers looking at once each see
/// nothing and both leave ready work behind.
#[test]
fn a_worker_does_not_exit_idle_while_another_look_holds_a_ready_task() {
    let schemas = Schemas::new("idle_exit");
    let url = schemas.url();
    let schema = url.rsplit("schema=").next().expect("a schema").to_string();
    let backend = PostgresBackend::open(&url, Access::Create).expect("a store");
    let plan = crate::backend_contract::plan(&[("a", &[], 0)]);
    let dir = TempDir::new("wfc-pg-idle-exit");
    let place = wfc::runtime::RunPlace::here(dir.path());
    backend
        .create_run("p", &plan, Some(&place), 1_000)
        .expect("run");
    backend.create_tasks("p", &plan).expect("tasks");
    // Another session holds the ready task's row for 3 s, as a claim look in flight does
    // for an instant.
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let (mut client, connection) =
                tokio_postgres::connect(&server_url(), tokio_postgres::NoTls)
                    .await
                    .expect("a connection");
            tokio::spawn(connection);
            let hold = client.transaction().await.expect("a transaction");
            hold.simple_query(&format!(
                "SELECT 1 FROM {schema}.tasks WHERE run = 'p' AND id = 'a' FOR UPDATE"
            ))
            .await
            .expect("the row is held");
            held_tx.send(()).expect("the test waits");
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            hold.rollback().await.expect("let go");
        });
    });
    held_rx.recv().expect("the row is held");
    let started = std::time::Instant::now();
    let output = worker(dir.path(), &url, &["--exit-when-idle"])
        .wait_with_output()
        .expect("the worker ends");
    holder.join().expect("the holder ends");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{said}");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "the worker left at once, while the task was held: {said}"
    );
    let task = backend
        .get_task(&wfc::runtime::TaskKey::new("p", "a"))
        .expect("task");
    assert_eq!(
        (task.state, task.attempts),
        (wfc::runtime::TaskState::Succeeded, 1),
        "{said}"
    );
    assert_eq!(
        backend.get_run("p").expect("run").state,
        wfc::runtime::RunState::Succeeded
    );
}

/// How long idle workers take to claim a task made ready, which `NOTIFY wfc_ready` should
/// keep to tens of milliseconds (polling alone would take up to a second).
#[test]
fn idle_workers_pick_up_a_ready_task_at_once() {
    let schemas = Schemas::new("latency");
    let url = schemas.url();
    let backend = PostgresBackend::open(&url, Access::Create).expect("a store");
    let dir = TempDir::new("wfc-pg-latency");
    let place = wfc::runtime::RunPlace::here(dir.path());
    let mut workers: Vec<_> = (0..2).map(|_| worker(dir.path(), &url, &[])).collect();
    // Long enough for their polls to back off to the slowest.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let mut latencies = Vec::new();
    for round in 0..5 {
        let run = format!("l{round}");
        let plan = crate::backend_contract::plan(&[("a", &[], 0)]);
        backend
            .create_run(&run, &plan, Some(&place), 1_000)
            .expect("run");
        let made = std::time::Instant::now();
        backend.create_tasks(&run, &plan).expect("tasks");
        let key = wfc::runtime::TaskKey::new(run.clone(), "a");
        loop {
            let task = backend.get_task(&key).expect("task");
            if task.state != wfc::runtime::TaskState::Pending {
                latencies.push(made.elapsed());
                break;
            }
            assert!(
                made.elapsed() < std::time::Duration::from_secs(10),
                "never claimed"
            );
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        std::thread::sleep(std::time::Duration::from_millis(1500));
    }
    for child in &mut workers {
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    }
    for child in workers {
        let _ = child.wait_with_output();
    }
    latencies.sort();
    println!("pick-up latencies: {latencies:?}");
    assert!(
        latencies[2] < std::time::Duration::from_millis(300),
        "the median pick-up took {:?}: {latencies:?}",
        latencies[2]
    );
}

#[test]
fn a_lost_connection_is_made_again_and_the_work_goes_on() {
    let schemas = Schemas::new("reconnect");
    let url = schemas.url();
    let backend = PostgresBackend::open(&url, Access::Create).expect("a store");
    let plan = crate::backend_contract::plan(&[("a", &[], 0)]);
    backend.create_run("r", &plan, None, 1_000).expect("run");
    backend.create_tasks("r", &plan).expect("tasks");
    let key = wfc::runtime::TaskKey::new("r", "a");
    backend
        .claim_task(&key, "w", 2_000, 60_000)
        .expect("claim")
        .expect("won");
    // The server ends every connection of wfc's, as a restart would.
    admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = 'wfc' AND pid <> pg_backend_pid()",
    );
    backend
        .complete_task(&key, "w", "done", 2_001)
        .expect("the outcome is written on a new connection");
    assert_eq!(
        backend.get_task(&key).expect("task").state,
        wfc::runtime::TaskState::Succeeded
    );
}

/// Fencing: an engine paused (SIGSTOP) past its lease, whose task another engine took over
/// and finished, cannot write its own late outcome when it wakes up (SIGCONT).
#[test]
fn a_worker_paused_past_its_lease_cannot_write_over_the_engine_that_took_its_task_over() {
    let schemas = Schemas::new("fence");
    let url = schemas.url();
    let dir = TempDir::new("wfc-pg-fence");
    // Each attempt notes its number, works half a second and says which attempt it was.
    dir.write(
        "f.wf",
        "workflow f {\n  task t {\n    run = \"echo $WF_ATTEMPT >> ran; sleep 0.5; echo done-$WF_ATTEMPT\"\n  }\n}\n",
    );
    let paused = std::process::Command::new(env!("CARGO_BIN_EXE_wfc"))
        .args(["run", "f.wf", "--lease", "1", "--backend", &url])
        .current_dir(dir.path())
        .env_remove("WFC_BACKEND")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("wfc run");
    let ran = dir.path().join("ran");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !ran.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "attempt 1 never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let pid = nix::unistd::Pid::from_raw(paused.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).expect("SIGSTOP");
    // Attempt 1's command ends while its engine sleeps; its lease of 1 s runs out.
    std::thread::sleep(std::time::Duration::from_millis(2_500));
    let taker = worker(dir.path(), &url, &["--exit-when-idle", "--lease", "1"])
        .wait_with_output()
        .expect("the worker ends");
    assert!(
        taker.status.success(),
        "{}{}",
        String::from_utf8_lossy(&taker.stdout),
        String::from_utf8_lossy(&taker.stderr)
    );
    let backend = PostgresBackend::open(&url, Access::Read).expect("the store");
    let run = backend.list_runs().expect("runs").remove(0).id;
    let key = wfc::runtime::TaskKey::new(run.clone(), "t");
    let taken = backend.get_task(&key).expect("the task");
    assert_eq!(
        (taken.state, taken.attempts, taken.result.as_deref()),
        (wfc::runtime::TaskState::Succeeded, 2, Some("done-2\n")),
        "the engine that took the task over finished it"
    );
    // Woken up, the paused engine finds its command done and tries to record attempt 1.
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).expect("SIGCONT");
    let woken = paused.wait_with_output().expect("the paused engine ends");
    let after = backend.get_task(&key).expect("the task");
    assert_eq!(
        (after.state, after.attempts, after.result.as_deref()),
        (wfc::runtime::TaskState::Succeeded, 2, Some("done-2\n")),
        "the late outcome was refused: {}{}",
        String::from_utf8_lossy(&woken.stdout),
        String::from_utf8_lossy(&woken.stderr)
    );
    let events = backend.read_events(&run, 0, 1_000).expect("events");
    let succeeded: Vec<_> = events
        .iter()
        .filter(|event| event.kind == "task_succeeded")
        .map(|event| event.data["attempt"].clone())
        .collect();
    assert_eq!(
        succeeded,
        [serde_json::json!(2)],
        "one success, the second attempt's"
    );
    assert_eq!(
        std::fs::read_to_string(&ran).expect("ran"),
        "1\n2\n",
        "no third attempt"
    );
}
