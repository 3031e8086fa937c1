//! Limits on what wfc reads and produces: files a user names are read only if they are regular
//! files, and never past a limit; values too long for a process's environment are refused
//! when they are bound; import chains, `use` nesting and ids have documented bounds.
//!
//! Every input is made by the test in a temporary folder, and every run of `wfc` has a time
//! limit, so a regression shows as a failure, not as a hang or an exhausted machine.

use crate::support::TempDir;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a run of `wfc` produced.
struct Outcome {
    code: i32,
    stderr: String,
    stdout: String,
}

/// Runs the real `wfc` in `dir`; fails the test if it has not ended within `limit`.
fn wfc_within(dir: &Path, args: &[&str], limit: Duration) -> Outcome {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wfc"))
        .args(args)
        .current_dir(dir)
        .env_remove("WFC_BACKEND")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wfc starts");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("wfc {args:?} did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
    }
}

const SHORT: Duration = Duration::from_secs(20);

/// A workflow with a string parameter and a secret, for binding tests.
const WITH_PARAMS: &str = r#"workflow w {
  param name: string
  param token: secret

  task show {
    run = "echo {{ name }}"
    env = { TOKEN = "{{ token }}" }
  }
}
"#;

fn make_fifo(path: &Path) {
    nix::unistd::mkfifo(
        path,
        nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
    )
    .expect("mkfifo");
}

/// A sparse file one byte over the 64 MiB limit: it takes no space on disk.
fn make_oversized(path: &Path) {
    let file = std::fs::File::create(path).expect("create");
    file.set_len((64 << 20) + 1).expect("set_len");
}

fn assert_refused(outcome: &Outcome, expected: &str) {
    assert_ne!(outcome.code, 0, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains(expected),
        "expected {expected:?} in:\n{}",
        outcome.stderr
    );
    assert!(!outcome.stderr.contains("panicked"), "{}", outcome.stderr);
}

#[test]
fn a_params_file_that_is_not_a_regular_file_or_too_large_is_refused_without_reading_it() {
    let dir = TempDir::new("wfc-limits-params");
    dir.write("w.wf", WITH_PARAMS);
    make_fifo(&dir.path().join("fifo.json"));
    std::fs::create_dir(dir.path().join("folder.json")).expect("mkdir");
    make_oversized(&dir.path().join("huge.json"));
    let cases = [
        ("/dev/zero", "/dev/zero is a device, not a regular file"),
        (
            "fifo.json",
            "fifo.json is a FIFO (named pipe), not a regular file",
        ),
        ("folder.json", "folder.json is a folder, not a regular file"),
        (
            "huge.json",
            "huge.json is 67108865 bytes; the limit is 67108864 bytes (64 MiB)",
        ),
    ];
    for (file, expected) in cases {
        let outcome = wfc_within(dir.path(), &["plan", "w.wf", "--params", file], SHORT);
        assert_refused(&outcome, expected);
    }
}

#[test]
fn a_secret_file_that_is_not_a_regular_file_or_too_large_is_refused_without_reading_it() {
    let dir = TempDir::new("wfc-limits-secret");
    dir.write("w.wf", WITH_PARAMS);
    make_fifo(&dir.path().join("fifo"));
    std::fs::create_dir(dir.path().join("folder")).expect("mkdir");
    make_oversized(&dir.path().join("huge"));
    let cases = [
        ("/dev/zero", "/dev/zero is a device, not a regular file"),
        ("fifo", "fifo is a FIFO (named pipe), not a regular file"),
        ("folder", "folder is a folder, not a regular file"),
        (
            "huge",
            "huge is 67108865 bytes; the limit is 67108864 bytes",
        ),
    ];
    for (file, expected) in cases {
        let secret = format!("token=@{file}");
        let outcome = wfc_within(
            dir.path(),
            &["plan", "w.wf", "-p", "name=a", "--secret", &secret],
            SHORT,
        );
        assert_refused(&outcome, expected);
        assert!(outcome.stderr.contains("for the secret `token`"));
    }
}

#[test]
fn a_workflow_file_that_is_not_a_regular_file_or_too_large_is_refused_by_every_command() {
    let dir = TempDir::new("wfc-limits-wf");
    make_fifo(&dir.path().join("fifo.wf"));
    make_oversized(&dir.path().join("huge.wf"));
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.wf")).expect("symlink");
    let cases = [
        ("zero.wf", "zero.wf is a device, not a regular file"),
        (
            "fifo.wf",
            "fifo.wf is a FIFO (named pipe), not a regular file",
        ),
        (
            "huge.wf",
            "huge.wf is 67108865 bytes; the limit is 67108864 bytes",
        ),
    ];
    for (file, expected) in cases {
        for command in ["check", "fmt", "plan", "list", "graph"] {
            let outcome = wfc_within(dir.path(), &[command, file], SHORT);
            assert_refused(&outcome, expected);
        }
    }
}

#[test]
fn an_import_that_is_not_a_regular_file_is_a_located_import_error() {
    let dir = TempDir::new("wfc-limits-import");
    make_fifo(&dir.path().join("fifo.wf"));
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.wf")).expect("symlink");
    std::fs::create_dir(dir.path().join("folder.wf")).expect("mkdir");
    for (file, expected) in [
        ("fifo.wf", "is a FIFO (named pipe), not a regular file"),
        ("zero.wf", "is a device, not a regular file"),
        ("folder.wf", "is a folder, not a regular file"),
    ] {
        dir.write(
            "main.wf",
            &format!("import \"./{file}\" as lib\n\nworkflow w {{\n  task t {{\n    run = \"true\"\n  }}\n}}\n"),
        );
        let outcome = wfc_within(dir.path(), &["check", "main.wf"], SHORT);
        assert_refused(&outcome, expected);
        assert!(outcome.stderr.contains("wf::import"), "{}", outcome.stderr);
        assert!(outcome.stderr.contains("main.wf:1:8"), "{}", outcome.stderr);
        assert!(outcome.stdout.is_empty() || !outcome.stdout.contains("panicked"));
    }
}
