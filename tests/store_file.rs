//! The SQLite store's file, driven through the real `wfc` binary: a file that is not a wfc
//! store is refused unchanged, reading commands never create or change a store, damage is
//! found and named, a newer store is left alone, and a full disk loses nothing.

use crate::support::{wfc, Run, TempDir};
use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// Every command that opens the store, with the arguments it needs; `RUN` stands for a run id.
const EVERY_COMMAND: &[&[&str]] = &[
    &["run", "flow.wf"],
    &["resume", "RUN"],
    &["worker", "--exit-when-idle"],
    &["status"],
    &["status", "RUN"],
    &["runs"],
    &["logs", "RUN"],
    &["retry", "RUN", "a"],
    &["cancel", "RUN"],
    &["approve", "RUN", "a"],
    &["reject", "RUN", "a", "--reason", "no"],
    &["store", "check"],
];

/// The commands that only read.
const READING_COMMANDS: &[&[&str]] = &[
    &["status"],
    &["status", "RUN"],
    &["runs"],
    &["runs", "--json"],
    &["logs", "RUN"],
    &["store", "check"],
];

const FLOW: &str = "workflow flow {\n  task a {\n    run = \"echo a\"\n  }\n\n  task b after a {\n    run = \"echo b\"\n  }\n\n  task c after a {\n    run = \"echo c\"\n  }\n}\n";

/// A workspace with `flow.wf` in it.
fn workspace(prefix: &str) -> TempDir {
    let dir = TempDir::new(prefix);
    dir.write("flow.wf", FLOW);
    dir
}

/// Runs `wfc ARGS --backend sqlite:STORE` with `RUN` replaced by `run`.
fn on_store(dir: &Path, args: &[&str], store: &str, run: &str) -> Run {
    let backend = format!("sqlite:{store}");
    let mut full: Vec<&str> = args
        .iter()
        .map(|arg| if *arg == "RUN" { run } else { arg })
        .collect();
    full.extend(["--backend", &backend]);
    wfc(dir, &full)
}

/// Runs `flow.wf` to success in the workspace's default store; the run's id.
fn finished_run(dir: &Path) -> String {
    let run = wfc(dir, &["run", "flow.wf"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    run.stdout
        .split_whitespace()
        .nth(1)
        .map(|id| id.trim_end_matches(':').to_string())
        .expect("`run ID:` on the first line")
}

/// Every file in `dir` and its contents, but for SQLite's shared-memory index (`-shm`), in
/// which every reader of a write-ahead log marks what it reads.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("folder")
        .flatten()
        .filter(|entry| entry.path().is_file())
        .map(|entry| {
            let path = entry.path();
            let bytes = if path.to_string_lossy().ends_with("-shm") {
                Vec::new()
            } else {
                std::fs::read(&path).expect("file")
            };
            (path, bytes)
        })
        .collect();
    files.sort();
    files
}

fn journal_mode(path: &Path) -> String {
    Connection::open(path)
        .and_then(|c| c.query_row("PRAGMA journal_mode", [], |row| row.get(0)))
        .expect("journal mode")
}

fn assert_refused(result: &Run, code: i32, words: &[&str], what: &str) {
    assert_eq!(
        result.code, code,
        "{what}: exit code\n{}{}",
        result.stdout, result.stderr
    );
    for word in words {
        assert!(
            result.stderr.contains(word),
            "{what}: `{word}` in\n{}",
            result.stderr
        );
    }
    assert!(!result.stderr.contains("panicked"), "{}", result.stderr);
}

#[test]
fn another_programs_sqlite_file_is_refused_unchanged() {
    let dir = workspace("wfc-store-foreign");
    // A rollback-journal file, as most programs leave them, and a write-ahead-log file whose
    // log another process still holds open (so wfc may only read it through a read-only
    // connection, which cannot fold the log into the file).
    let plain = dir.path().join("plain/notes.db");
    std::fs::create_dir_all(plain.parent().expect("folder")).expect("folder");
    Connection::open(&plain)
        .and_then(|c| {
            c.execute_batch("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('keep me');")
        })
        .expect("another program's file");
    let logged = dir.path().join("logged/notes.db");
    std::fs::create_dir_all(logged.parent().expect("folder")).expect("folder");
    let holder = Connection::open(&logged).expect("another program");
    holder
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; \
             CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('keep me');",
        )
        .expect("another program's log");
    for (store, mode) in [(&plain, "delete"), (&logged, "wal")] {
        let folder = store.parent().expect("folder");
        let before = files(folder);
        assert_eq!(journal_mode(store), mode);
        let before_mode = files(folder);
        assert_eq!(
            before, before_mode,
            "asking the journal mode changes nothing"
        );
        for args in EVERY_COMMAND {
            let result = on_store(dir.path(), args, &store.display().to_string(), "r1");
            assert_refused(
                &result,
                2,
                &["not a wfc state store", &store.display().to_string()],
                &format!("{args:?} on {}", store.display()),
            );
            assert_eq!(
                files(folder),
                before,
                "{args:?} left {} byte for byte as it was, and made no file beside it",
                store.display()
            );
        }
        assert_eq!(journal_mode(store), mode, "the journal mode is unchanged");
    }
    drop(holder);
}

#[test]
fn without_a_store_nothing_but_run_creates_one() {
    let dir = workspace("wfc-store-absent");
    for args in EVERY_COMMAND.iter().filter(|args| args[0] != "run") {
        let result = on_store(dir.path(), args, ".wfc/state.db", "r1");
        assert_refused(
            &result,
            1,
            &[
                "no wfc store in",
                &dir.path().join(".wfc").display().to_string(),
                "`wfc run FILE`",
            ],
            &format!("{args:?}"),
        );
        assert!(
            !dir.path().join(".wfc").exists(),
            "{args:?} created no store"
        );
    }
    let run = finished_run(dir.path());
    let status = wfc(dir.path(), &["status", &run]);
    assert_eq!(status.code, 0, "{}", status.stderr);
}

#[test]
fn an_empty_or_garbage_store_is_damaged_and_never_overwritten() {
    let dir = workspace("wfc-store-garbage");
    let mut garbage: Vec<u8> = b"SQLite format 2\0".to_vec();
    garbage.extend((0..4000u32).map(|i| (i * 7 % 251) as u8));
    for (name, bytes, why) in [
        ("empty.db", Vec::new(), "empty (0 bytes)"),
        ("short.db", b"SQLite".to_vec(), "not an SQLite database"),
        ("garbage.db", garbage, "not an SQLite database"),
    ] {
        let store = dir.path().join(".wfc").join(name);
        std::fs::create_dir_all(store.parent().expect("folder")).expect("folder");
        std::fs::write(&store, &bytes).expect("file");
        let shown = format!(".wfc/{name}");
        for args in EVERY_COMMAND {
            let result = on_store(dir.path(), args, &shown, "r1");
            assert_refused(
                &result,
                2,
                &["is damaged", why, &store.display().to_string(), "move"],
                &format!("{args:?} on {name}"),
            );
            assert_eq!(
                std::fs::read(&store).expect("file"),
                bytes,
                "{args:?} left {name} as it was"
            );
        }
    }
    let sqlite_files: Vec<_> = std::fs::read_dir(dir.path().join(".wfc"))
        .expect("folder")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with("-wal") || name.ends_with("-shm") || name.contains(".new-"))
        .collect();
    assert!(sqlite_files.is_empty(), "no files beside: {sqlite_files:?}");
}

/// Opens the workspace's store the way another program would (foreign keys off, as in the
/// `sqlite3` shell) and runs `sql` on it.
fn tamper(dir: &Path, sql: &str) {
    Connection::open(dir.join(".wfc/state.db"))
        .and_then(|c| c.execute_batch(&format!("PRAGMA foreign_keys = OFF; {sql}")))
        .expect("tampering");
}

#[test]
fn deleted_rows_of_a_run_are_named_when_the_run_is_read() {
    let dir = workspace("wfc-store-rows");
    let damaged = finished_run(dir.path());
    let intact = finished_run(dir.path());
    tamper(
        dir.path(),
        &format!("DELETE FROM tasks WHERE run = '{damaged}' AND id = 'c'"),
    );
    for args in [
        &["status", "RUN"][..],
        &["logs", "RUN"],
        &["resume", "RUN"],
        &["retry", "RUN", "a"],
        &["cancel", "RUN"],
    ] {
        let result = on_store(dir.path(), args, ".wfc/state.db", &damaged);
        assert_refused(
            &result,
            2,
            &[
                "is damaged",
                &format!("run `{damaged}`"),
                "table `tasks` lacks 1 of its 3 tasks: `c`",
            ],
            &format!("{args:?}"),
        );
    }
    let other = wfc(dir.path(), &["status", &intact]);
    assert_eq!(other.code, 0, "another run reads on: {}", other.stderr);
    let check = wfc(dir.path(), &["store", "check"]);
    assert_refused(
        &check,
        2,
        &[
            "is damaged (2 runs, 6 tasks,",
            &format!("run `{damaged}`: table `tasks` lacks 1 of its 3 tasks: `c`"),
            "table `deps` has 1 row naming a missing row of `tasks`",
        ],
        "store check",
    );
    assert!(!check.stderr.contains(&intact), "{}", check.stderr);

    tamper(
        dir.path(),
        &format!("DELETE FROM deps WHERE run = '{intact}' AND child = 'b'"),
    );
    let result = wfc(dir.path(), &["status", &intact]);
    assert_refused(
        &result,
        2,
        &["table `deps` lacks 1 of its 2 dependencies: `b` after `a`"],
        "a deleted dependency",
    );
}

#[test]
fn a_wrong_count_of_unfinished_dependencies_is_named_by_the_store_check() {
    let dir = workspace("wfc-store-counts");
    let run = finished_run(dir.path());
    let check = wfc(dir.path(), &["store", "check"]);
    assert_eq!(check.code, 0, "a run's counts are right: {}", check.stderr);
    // A count of 1 on a task whose dependencies all succeeded would keep it waiting forever.
    tamper(
        dir.path(),
        &format!("UPDATE tasks SET unfinished_deps = 1 WHERE run = '{run}' AND id = 'c'"),
    );
    assert_refused(
        &wfc(dir.path(), &["store", "check"]),
        2,
        &[&format!(
            "run `{run}`: table `tasks` has 1 task whose count of unfinished dependencies \
             is wrong: `c` counts 1 unfinished dependency, not 0"
        )],
        "store check",
    );
}

#[test]
fn a_dropped_table_or_column_is_named_on_open() {
    let dir = workspace("wfc-store-schema");
    finished_run(dir.path());
    let store = dir.path().join(".wfc/state.db");
    let pristine = std::fs::read(&store).expect("store");
    for (sql, words) in [
        ("DROP TABLE deps", &["table `deps` is missing"][..]),
        ("DROP INDEX tasks_by_state", &["index `tasks_by_state` is missing"]),
        (
            "ALTER TABLE events DROP COLUMN task",
            &["table `events` has columns (run, seq, at, kind, data) instead of (run, seq, at, kind, task, data)"],
        ),
    ] {
        std::fs::write(&store, &pristine).expect("restore");
        tamper(dir.path(), sql);
        let damaged = std::fs::read(&store).expect("store");
        for args in EVERY_COMMAND {
            let result = on_store(dir.path(), args, ".wfc/state.db", "r1");
            let mut expected = vec!["is damaged"];
            expected.extend(words);
            assert_refused(&result, 2, &expected, &format!("{args:?} after {sql}"));
            assert_eq!(
                std::fs::read(&store).expect("store"),
                damaged,
                "{args:?} changed nothing"
            );
        }
    }
}

#[test]
fn a_store_cut_short_is_found() {
    let dir = workspace("wfc-store-cut");
    // Enough runs that the file has many pages, so the cut takes rows and not just the header.
    for _ in 0..4 {
        finished_run(dir.path());
    }
    let store = dir.path().join(".wfc/state.db");
    let length = std::fs::metadata(&store).expect("store").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&store)
        .and_then(|file| file.set_len(length / 2))
        .expect("cut short");
    for args in [
        &["status"][..],
        &["runs"],
        &["store", "check"],
        &["run", "flow.wf"],
    ] {
        let result = wfc(dir.path(), args);
        assert_refused(
            &result,
            2,
            &[
                &store.display().to_string(),
                &format!(
                    "the file is {} bytes, but its header says {length}: it was cut short",
                    length / 2
                ),
            ],
            &format!("{args:?}"),
        );
    }
    assert_eq!(
        std::fs::metadata(&store).expect("store").len(),
        length / 2,
        "nothing was written to it"
    );
}

#[test]
fn a_store_of_a_newer_schema_is_refused_unchanged() {
    let dir = workspace("wfc-store-newer");
    let run = finished_run(dir.path());
    let store = dir.path().join(".wfc/state.db");
    // A newer wfc that keeps its store in rollback-journal mode: nothing may switch it.
    tamper(
        dir.path(),
        "PRAGMA journal_mode = DELETE; PRAGMA user_version = 70;",
    );
    let before = files(&dir.path().join(".wfc"));
    for args in EVERY_COMMAND {
        let result = on_store(dir.path(), args, ".wfc/state.db", &run);
        assert_refused(
            &result,
            2,
            &[
                "schema version 70",
                &format!("(version {})", wfc::backends::sqlite::SCHEMA_VERSION),
                "a newer wfc wrote it",
                &store.display().to_string(),
            ],
            &format!("{args:?}"),
        );
        assert_eq!(
            files(&dir.path().join(".wfc")),
            before,
            "{args:?} left the newer store as it was"
        );
    }
    assert_eq!(journal_mode(&store), "delete");
}

/// A tmpfs of `size` mounted at `dir` for as long as it lives.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(dir).expect("mount point");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "mounting a {size} tmpfs at {} failed: this test needs root (CI runs as root)",
            dir.display()
        );
        SmallDisk(dir.to_path_buf())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn reading_commands_change_nothing_even_in_a_store_a_crash_left_behind() {
    let dir = workspace("wfc-store-crashed");
    let first = finished_run(dir.path());
    // Another process keeps the store open while the second run is stored, so its commits
    // stay in the write-ahead log; copying the files then gives the store as a crash (say a
    // `kill -9` of every wfc using it) leaves it: a log nobody has folded into the file.
    let holder = Connection::open(dir.path().join(".wfc/state.db")).expect("holder");
    holder
        .query_row("SELECT count(*) FROM runs", [], |row| row.get::<_, i64>(0))
        .expect("the holder reads, so it holds the log open");
    let second = finished_run(dir.path());
    let crashed = workspace("wfc-store-crashed-copy");
    std::fs::create_dir_all(crashed.path().join(".wfc")).expect("folder");
    for name in ["state.db", "state.db-wal"] {
        std::fs::copy(
            dir.path().join(".wfc").join(name),
            crashed.path().join(".wfc").join(name),
        )
        .expect("copy");
    }
    drop(holder);
    let before = files(&crashed.path().join(".wfc"));
    assert!(
        before
            .iter()
            .any(|(path, bytes)| path.ends_with("state.db-wal") && !bytes.is_empty()),
        "the log holds the second run"
    );
    for args in READING_COMMANDS {
        let result = on_store(crashed.path(), args, ".wfc/state.db", &second);
        assert_eq!(
            result.code, 0,
            "{args:?}\n{}{}",
            result.stdout, result.stderr
        );
        assert_eq!(
            files(&crashed.path().join(".wfc"))
                .into_iter()
                .filter(|(path, _)| !path.to_string_lossy().ends_with("-shm"))
                .collect::<Vec<_>>(),
            before,
            "{args:?} changed nothing, and folded no log into the file"
        );
    }
    let runs = wfc(crashed.path(), &["runs"]);
    assert!(
        runs.stdout.contains(&first) && runs.stdout.contains(&second),
        "both runs are read, the second from the log: {}",
        runs.stdout
    );
}

/// Fills the disk at `dir` with a file named `filler`, up to `leave` bytes.
fn fill(dir: &Path, leave: u64) {
    use std::io::Write;
    let mut file = std::fs::File::create(dir.join("filler")).expect("filler");
    let chunk = vec![0u8; 4096];
    while file.write_all(&chunk).is_ok() {}
    let _ = file.sync_all();
    let length = file.metadata().expect("filler").len();
    file.set_len(length.saturating_sub(leave)).expect("room");
}

#[test]
fn a_full_disk_is_a_clear_error_and_loses_nothing() {
    let outer = TempDir::new("wfc-store-full");
    let disk = SmallDisk::mount(&outer.path().join("disk"), "2m");
    let dir = disk.0.clone();
    std::fs::write(dir.join("flow.wf"), FLOW).expect("workflow");
    let mut big = String::from("workflow big {\n");
    for i in 0..40 {
        big.push_str(&format!(
            "  task t{i} {{\n    run = \"head -c 200000 /dev/zero | tr '\\\\0' x\"\n  }}\n"
        ));
    }
    big.push_str("}\n");
    std::fs::write(dir.join("big.wf"), big).expect("workflow");

    // A new store on a full disk: an error, and no store (nor a half-made one) left behind.
    fill(&dir, 0);
    let result = wfc(&dir, &["run", "flow.wf"]);
    assert_refused(&result, 2, &["is full", "free some space"], "a new store");
    let left: Vec<_> = std::fs::read_dir(dir.join(".wfc"))
        .map(|entries| entries.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "nothing is left in .wfc: {left:?}");
    std::fs::remove_file(dir.join("filler")).expect("room");

    // A run that fills the disk stops with an error that says so.
    let earlier = finished_run(&dir);
    let result = wfc(&dir, &["run", "big.wf"]);
    assert_ne!(result.code, 0, "{}", result.stdout);
    assert_refused(
        &result,
        result.code,
        &["is full", "free some space"],
        "a full run",
    );

    // Everything committed before is there, and the store is sound.
    std::fs::remove_file(dir.join("filler")).ok();
    let status = wfc(&dir, &["status", &earlier]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(
        status.stdout.contains("3 tasks: 3 succeeded"),
        "{}",
        status.stdout
    );
    let check = wfc(&dir, &["store", "check"]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
    let runs = wfc(&dir, &["runs"]);
    assert_eq!(runs.code, 0, "{}", runs.stderr);
    assert!(runs.stdout.contains(&earlier), "{}", runs.stdout);
    drop(disk);
}
