//! The process runner against real processes: output tails, stdin, environment, argv,
//! timeouts and cancels that kill the whole process group, spawn failures.

use crate::support::TempDir;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wfc::runtime::process::{
    minimal_env, no_cancel, run_process, sh, ExitStatusKind, OutputStream, ProcessError,
    ProcessOutcome, ProcessSpec, Stdin,
};

/// A spec that runs `script` with `/bin/sh -c` in the temporary folder.
fn shell(script: &str) -> ProcessSpec {
    let (program, args) = sh(script);
    ProcessSpec::new(program, args, std::env::temp_dir())
}

async fn run(spec: ProcessSpec) -> ProcessOutcome {
    run_process(spec, no_cancel(), |_| {})
        .await
        .expect("the process runs")
}

/// Runs `spec` and also returns the pid the script printed first (`echo $$`), which is the
/// process group's id since the child leads its own group.
async fn run_reporting_pgid(spec: ProcessSpec) -> (ProcessOutcome, i32) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let outcome = run_process(spec, no_cancel(), move |chunk| {
        if chunk.stream == OutputStream::Stdout {
            sink.lock().expect("lock").extend_from_slice(chunk.bytes);
        }
    })
    .await
    .expect("the process runs");
    let pgid = first_line_number(&seen.lock().expect("lock"));
    (outcome, pgid)
}

fn first_line_number(bytes: &[u8]) -> i32 {
    String::from_utf8_lossy(bytes)
        .lines()
        .next()
        .and_then(|line| line.trim().parse().ok())
        .expect("the script printed its pid first")
}

/// The processes of group `pgid` that are alive (not zombies), from `/proc`.
fn live_members(pgid: i32) -> Vec<i32> {
    let mut live = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        if fields.get(2) == Some(&pgid.to_string().as_str()) && !matches!(fields[0], "Z" | "X") {
            live.push(pid);
        }
    }
    live
}

fn assert_group_gone(pgid: i32) {
    assert!(pgid > 1, "a real process group: {pgid}");
    assert_eq!(
        live_members(pgid),
        Vec::<i32>::new(),
        "group {pgid} is gone"
    );
}

// ---------------------------------------------------------------------------------- output

#[tokio::test]
async fn exit_code_stdout_and_stderr() {
    let outcome = run(shell("echo out; echo err >&2; exit 3")).await;
    assert_eq!(outcome.status, ExitStatusKind::Code(3));
    assert!(!outcome.success());
    assert_eq!(outcome.stdout_tail, b"out\n");
    assert_eq!(outcome.stderr_tail, b"err\n");
    assert!(!outcome.stdout_truncated && !outcome.stderr_truncated);
    assert!(!outcome.killed_leftovers);

    let ok = run(shell("true")).await;
    assert_eq!(ok.status, ExitStatusKind::Code(0));
    assert!(ok.success());
    assert!(ok.stdout_tail.is_empty() && ok.stderr_tail.is_empty());
}

#[tokio::test]
async fn a_signal_that_kills_the_child_is_reported() {
    let outcome = run(shell("kill -9 $$")).await;
    assert_eq!(outcome.status, ExitStatusKind::Signal(9));
    assert_eq!(outcome.status.to_string(), "killed by signal 9 (SIGKILL)");
}

#[tokio::test]
async fn ten_megabytes_on_both_streams_keep_only_the_tails() {
    const N: u32 = 1_500_000;
    let expected: Vec<u8> = (1..=N)
        .flat_map(|n| format!("{n}\n").into_bytes())
        .collect();
    assert!(expected.len() > 10_000_000);
    let limit = 64 * 1024;

    let mut spec = shell(&format!("seq 1 {N} >&2 & seq 1 {N}; wait"));
    spec.output_limit = limit;
    let streamed = Arc::new(Mutex::new((Vec::new(), 0usize)));
    let sink = Arc::clone(&streamed);
    let outcome = run_process(spec, no_cancel(), move |chunk| {
        let mut sink = sink.lock().expect("lock");
        match chunk.stream {
            OutputStream::Stdout => sink.0.extend_from_slice(chunk.bytes),
            OutputStream::Stderr => sink.1 += chunk.bytes.len(),
        }
    })
    .await
    .expect("runs");

    assert_eq!(outcome.status, ExitStatusKind::Code(0));
    assert_eq!(outcome.stdout_tail.len(), limit);
    assert_eq!(outcome.stderr_tail.len(), limit);
    assert_eq!(outcome.stdout_tail, expected[expected.len() - limit..]);
    assert_eq!(outcome.stderr_tail, expected[expected.len() - limit..]);
    assert!(outcome.stdout_truncated && outcome.stderr_truncated);
    // The kept tails are bounded by the limit; every byte still went through `on_output`.
    assert!(outcome.stdout_tail.capacity() <= 2 * limit);
    let streamed = streamed.lock().expect("lock");
    assert!(
        streamed.0 == expected,
        "on_output saw all of stdout in order"
    );
    assert_eq!(streamed.1, expected.len());
}

#[tokio::test]
async fn output_exactly_at_the_limit_is_not_truncated() {
    let mut spec = shell("printf 12345");
    spec.output_limit = 5;
    let outcome = run(spec).await;
    assert_eq!(outcome.stdout_tail, b"12345");
    assert!(!outcome.stdout_truncated);

    let mut spec = shell("printf 123456");
    spec.output_limit = 5;
    let outcome = run(spec).await;
    assert_eq!(outcome.stdout_tail, b"23456");
    assert!(outcome.stdout_truncated);
}

// ----------------------------------------------------------------------------------- stdin

#[tokio::test]
async fn null_stdin_gives_cat_end_of_input_at_once() {
    let started = Instant::now();
    let mut spec = ProcessSpec::new("cat", Vec::<OsString>::new(), std::env::temp_dir());
    spec.timeout = Some(Duration::from_secs(20));
    let outcome = run(spec).await;
    assert_eq!(outcome.status, ExitStatusKind::Code(0));
    assert!(outcome.stdout_tail.is_empty());
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn bytes_on_stdin_arrive_exactly_then_stdin_closes() {
    let small = vec![0x00, 0xff, 0xfe, b'\n', 0xc3, 0x28, b'x'];
    let mut spec = ProcessSpec::new("cat", Vec::<OsString>::new(), std::env::temp_dir());
    spec.stdin = Stdin::Bytes(small.clone());
    let outcome = run(spec).await;
    assert_eq!(outcome.status, ExitStatusKind::Code(0));
    assert_eq!(outcome.stdout_tail, small);

    // 1 MiB: `cat` fills its stdout pipe long before it has read all of stdin.
    let big: Vec<u8> = (0..1024 * 1024).map(|i| (i * 7 % 256) as u8).collect();
    let mut spec = ProcessSpec::new("cat", Vec::<OsString>::new(), std::env::temp_dir());
    spec.stdin = Stdin::Bytes(big.clone());
    spec.output_limit = 2 * 1024 * 1024;
    spec.timeout = Some(Duration::from_secs(60));
    let outcome = run(spec).await;
    assert_eq!(outcome.status, ExitStatusKind::Code(0));
    assert!(outcome.stdout_tail == big, "1 MiB echoed byte for byte");
    assert!(!outcome.stdout_truncated);
}

#[tokio::test]
async fn a_child_that_ignores_its_stdin_is_fine() {
    let mut spec = shell("exec 0<&-; echo done");
    spec.stdin = Stdin::Bytes(vec![b'x'; 1024 * 1024]);
    spec.timeout = Some(Duration::from_secs(20));
    let outcome = run(spec).await;
    assert_eq!(outcome.status, ExitStatusKind::Code(0));
    assert_eq!(outcome.stdout_tail, b"done\n");
}

// ------------------------------------------------------------------------------------- env

#[tokio::test]
async fn the_child_sees_exactly_the_given_environment() {
    let mut spec = ProcessSpec::new("/usr/bin/env", Vec::<OsString>::new(), "/");
    spec.env = vec![
        ("PATH".into(), "/usr/bin:/bin".into()),
        (
            "WF_ARG_0".into(),
            "a value with spaces; $(and) `more`".into(),
        ),
        ("EMPTY".into(), String::new()),
    ];
    let outcome = run(spec).await;
    assert_eq!(outcome.status, ExitStatusKind::Code(0));
    let mut lines: Vec<String> = String::from_utf8_lossy(&outcome.stdout_tail)
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "EMPTY=",
            "PATH=/usr/bin:/bin",
            "WF_ARG_0=a value with spaces; $(and) `more`",
        ]
    );
}

#[tokio::test]
async fn the_test_process_environment_does_not_leak() {
    // Variables the test process has (cargo sets several) that the spec does not give; not
    // those a shell sets by itself.
    let by_the_shell = [
        "PWD", "OLDPWD", "SHLVL", "_", "PPID", "IFS", "OPTIND", "PS1", "PS2", "PS4", "LINENO",
    ];
    let spec_env = minimal_env(&[]);
    let leaked = std::env::vars()
        .map(|(name, _)| name)
        .filter(|name| {
            name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !name.bytes().next().is_some_and(|b| b.is_ascii_digit())
                && !spec_env.iter().any(|(n, _)| n == name)
                && !by_the_shell.contains(&name.as_str())
        })
        .collect::<Vec<_>>();
    assert!(!leaked.is_empty(), "the test process has some variable");
    let script: String = leaked
        .iter()
        .map(|name| format!("echo \"{name}=${{{name}-unset}}\";"))
        .collect();
    let outcome = run(shell(&script)).await;
    assert_eq!(outcome.status, ExitStatusKind::Code(0));
    let text = String::from_utf8_lossy(&outcome.stdout_tail).into_owned();
    for (line, name) in text.lines().zip(&leaked) {
        assert_eq!(line, format!("{name}=unset"));
    }
    assert_eq!(text.lines().count(), leaked.len());
}

#[test]
fn minimal_env_keeps_the_basics_and_lets_extra_override() {
    let env = minimal_env(&[
        ("WF_ARG_0".into(), "x".into()),
        ("PATH".into(), "/only/here".into()),
    ]);
    let get = |name: &str| env.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    assert_eq!(get("PATH"), Some("/only/here"));
    assert_eq!(get("WF_ARG_0"), Some("x"));
    assert_eq!(env.iter().filter(|(n, _)| n == "PATH").count(), 1);
    if let Ok(home) = std::env::var("HOME") {
        assert_eq!(get("HOME"), Some(home.as_str()));
    }
    for (name, _) in &env {
        assert!(
            ["PATH", "HOME", "LANG", "LC_ALL", "TERM", "TMPDIR", "WF_ARG_0"]
                .contains(&name.as_str()),
            "{name} is not passed on"
        );
    }
}

#[tokio::test]
async fn an_invalid_environment_name_is_an_error() {
    let mut spec = shell("true");
    spec.env.push(("A=B".into(), "x".into()));
    let error = run_process(spec, no_cancel(), |_| {})
        .await
        .expect_err("fails");
    assert!(matches!(error, ProcessError::InvalidEnv { ref name, .. } if name == "A=B"));
}

// ------------------------------------------------------------------------------------ argv

#[tokio::test]
async fn every_value_arrives_as_one_argv_element() {
    let values: Vec<OsString> = vec![
        "with spaces".into(),
        "'single quotes'".into(),
        "\"double quotes\"".into(),
        "$(echo pwned)".into(),
        "`id`".into(),
        "${HOME}".into(),
        "line one\nline two".into(),
        "-n".into(),
        "--".into(),
        "".into(),
        "*".into(),
        "; rm -rf /".into(),
        OsString::from_vec(vec![0xff, 0xfe, b'z']),
    ];
    let mut args: Vec<OsString> = vec!["-c".into(), "printf '%s\\0' \"$@\"".into(), "sh".into()];
    args.extend(values.iter().cloned());
    let outcome = run(ProcessSpec::new("/bin/sh", args, std::env::temp_dir())).await;
    assert_eq!(outcome.status, ExitStatusKind::Code(0));
    let received: Vec<&[u8]> = outcome.stdout_tail.split(|b| *b == 0).collect();
    let (last, received) = received.split_last().expect("output");
    assert!(last.is_empty());
    let expected: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
    assert_eq!(received, expected);
}

#[test]
fn sh_is_bin_sh_dash_c() {
    let (program, args) = sh("echo \"$WF_ARG_0\"");
    assert_eq!(program, std::path::Path::new("/bin/sh"));
    assert_eq!(args, [OsString::from("-c"), "echo \"$WF_ARG_0\"".into()]);
}

#[tokio::test]
async fn values_reach_a_script_only_through_the_environment() {
    let mut spec = shell("printf '%s' \"$WF_ARG_0\"");
    let value = "$(touch /tmp/wfc-pwned) `x` ; echo no";
    spec.env.push(("WF_ARG_0".into(), value.into()));
    let outcome = run(spec).await;
    assert_eq!(outcome.stdout_tail, value.as_bytes());
}

// ------------------------------------------------------------------------ timeout and cancel

#[tokio::test]
async fn a_timeout_kills_the_process_promptly() {
    let mut spec = shell("echo $$; exec sleep 1000");
    spec.timeout = Some(Duration::from_secs(2));
    let started = Instant::now();
    let (outcome, pgid) = run_reporting_pgid(spec).await;
    let elapsed = started.elapsed();
    assert_eq!(outcome.status, ExitStatusKind::TimedOut);
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert_group_gone(pgid);
}

#[tokio::test]
async fn a_timeout_kills_grandchildren_too() {
    let mut spec = shell("echo $$; sleep 1000 & sleep 1000 & wait");
    spec.timeout = Some(Duration::from_secs(2));
    let started = Instant::now();
    let (outcome, pgid) = run_reporting_pgid(spec).await;
    let elapsed = started.elapsed();
    assert_eq!(outcome.status, ExitStatusKind::TimedOut);
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert_group_gone(pgid);
}

#[tokio::test]
async fn a_child_that_ignores_term_dies_by_kill_after_the_grace() {
    let mut spec = shell("trap '' TERM; echo $$; sleep 1000 & sleep 1000");
    spec.timeout = Some(Duration::from_secs(1));
    spec.grace = Duration::from_secs(1);
    let started = Instant::now();
    let (outcome, pgid) = run_reporting_pgid(spec).await;
    let elapsed = started.elapsed();
    assert_eq!(outcome.status, ExitStatusKind::TimedOut);
    assert!(
        elapsed >= Duration::from_secs(2),
        "KILL only after the grace: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert_group_gone(pgid);
}

#[tokio::test]
async fn cancelling_kills_the_group_and_returns_promptly() {
    let (sender, receiver) = tokio::sync::watch::channel(false);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let spec = shell("echo $$; sleep 1000 & sleep 1000");
    let watched = Arc::clone(&seen);
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        // Before the cancel, the group is alive: the shell and its two sleeps.
        let pgid = first_line_number(&watched.lock().expect("lock"));
        let alive = live_members(pgid).len();
        let _ = sender.send(true);
        (sender, alive)
    });
    let started = Instant::now();
    let outcome = run_process(spec, receiver, move |chunk| {
        sink.lock().expect("lock").extend_from_slice(chunk.bytes);
    })
    .await
    .expect("runs");
    let elapsed = started.elapsed();
    let (_sender, alive_before) = canceller.await.expect("canceller");
    assert_eq!(alive_before, 3, "the shell and two sleeps ran in one group");
    assert_eq!(outcome.status, ExitStatusKind::Cancelled);
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_group_gone(first_line_number(&seen.lock().expect("lock")));
}

#[tokio::test]
async fn an_already_cancelled_signal_starts_nothing() {
    let (_sender, receiver) = tokio::sync::watch::channel(true);
    let outcome = run_process(shell("echo started"), receiver, |_| {})
        .await
        .expect("runs");
    assert_eq!(outcome.status, ExitStatusKind::Cancelled);
    assert!(outcome.stdout_tail.is_empty());
}

#[tokio::test]
async fn a_dropped_cancel_sender_does_not_cancel() {
    let (sender, receiver) = tokio::sync::watch::channel(false);
    drop(sender);
    let outcome = run_process(shell("sleep 0.3; echo ok"), receiver, |_| {})
        .await
        .expect("runs");
    assert_eq!(outcome.status, ExitStatusKind::Code(0));
    assert_eq!(outcome.stdout_tail, b"ok\n");
}

#[tokio::test]
async fn leftovers_of_a_finished_command_are_stopped() {
    let started = Instant::now();
    let (outcome, pgid) = run_reporting_pgid(shell("echo $$; sleep 1000 & echo done")).await;
    assert_eq!(outcome.status, ExitStatusKind::Code(0));
    assert!(outcome.killed_leftovers);
    assert_eq!(outcome.stdout_tail, format!("{pgid}\ndone\n").as_bytes());
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_group_gone(pgid);
}

#[tokio::test]
async fn a_process_that_left_the_group_does_not_hold_the_run_forever() {
    // `setsid` takes the sleep out of the group; it keeps stdout open, so EOF never comes.
    let mut spec = shell("echo $$; setsid sleep 30 & echo $!; sleep 1000");
    spec.timeout = Some(Duration::from_secs(1));
    spec.grace = Duration::from_secs(1);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let started = Instant::now();
    let outcome = run_process(spec, no_cancel(), move |chunk| {
        sink.lock().expect("lock").extend_from_slice(chunk.bytes);
    })
    .await
    .expect("runs");
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&seen.lock().expect("lock")).into_owned();
    let pids: Vec<i32> = text.lines().filter_map(|l| l.parse().ok()).collect();
    if let Some(&escaped) = pids.get(1) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(escaped),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    assert_eq!(outcome.status, ExitStatusKind::TimedOut);
    assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
    assert_group_gone(pids[0]);
}

// ---------------------------------------------------------------------------------- errors

#[tokio::test]
async fn a_missing_program_is_a_spawn_error_that_names_it() {
    let spec = ProcessSpec::new(
        "wfc-no-such-program-anywhere",
        Vec::<OsString>::new(),
        std::env::temp_dir(),
    );
    let error = run_process(spec, no_cancel(), |_| {})
        .await
        .expect_err("fails");
    match &error {
        ProcessError::Spawn { program, .. } => {
            assert_eq!(
                program,
                std::path::Path::new("wfc-no-such-program-anywhere")
            )
        }
        other => panic!("expected a spawn error, got {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("wfc-no-such-program-anywhere"),
        "{message}"
    );
    assert!(
        message.contains("is it installed and on PATH?"),
        "{message}"
    );
}

#[tokio::test]
async fn a_program_that_is_not_executable_is_a_spawn_error() {
    let dir = TempDir::new("wfc-process");
    let script = dir.write("not-executable.sh", "#!/bin/sh\necho hi\n");
    let spec = ProcessSpec::new(&script, Vec::<OsString>::new(), dir.path());
    let error = run_process(spec, no_cancel(), |_| {})
        .await
        .expect_err("fails");
    assert!(matches!(error, ProcessError::Spawn { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("not-executable.sh"), "{message}");
    assert!(message.contains("executable"), "{message}");
}

#[tokio::test]
async fn a_missing_working_directory_is_an_error() {
    let dir = TempDir::new("wfc-process");
    let spec = ProcessSpec::new("true", Vec::<OsString>::new(), dir.path().join("absent"));
    let error = run_process(spec, no_cancel(), |_| {})
        .await
        .expect_err("fails");
    assert!(matches!(error, ProcessError::Cwd { .. }), "{error:?}");
    assert!(error.to_string().contains("absent"));
}

#[tokio::test]
async fn the_working_directory_is_used() {
    let dir = TempDir::new("wfc-process");
    let (program, args) = sh("pwd -P");
    let outcome = run(ProcessSpec::new(program, args, dir.path())).await;
    let expected = std::fs::canonicalize(dir.path()).expect("canonical");
    assert_eq!(
        String::from_utf8_lossy(&outcome.stdout_tail).trim_end(),
        expected.to_string_lossy()
    );
}
