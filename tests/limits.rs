//! Limits on what wfc reads and produces: files a user names are read only if they are regular
//! files, and never past a limit; values too long for a process's environment are refused
//! when they are bound; import chains, `use` nesting and ids have documented bounds.
//!
//! Every input is made by the test in a temporary folder, and every run of `wfc` has a time
//! limit, so a regression shows as a failure, not as a hang or an exhausted machine.

use crate::support::TempDir;
use std::io::Read;
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
    // The pipes are drained while waiting, so a long output cannot stall the child.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("wfc {args:?} did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Outcome {
        code: status.code().unwrap_or(-1),
        stderr: stderr.join().expect("stderr"),
        stdout: stdout.join().expect("stdout"),
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

/// Writes `{"NAME": "xxx…"}` with `bytes` characters to `name` in `dir`.
fn params_file(dir: &TempDir, name: &str, values: &[(&str, usize)]) {
    let entries: Vec<String> = values
        .iter()
        .map(|(param, bytes)| format!("\"{param}\": \"{}\"", "x".repeat(*bytes)))
        .collect();
    dir.write(name, &format!("{{{}}}", entries.join(", ")));
}

#[test]
fn a_value_too_long_for_an_environment_variable_is_refused_at_planning_naming_it() {
    let dir = TempDir::new("wfc-limits-value");
    dir.write(
        "w.wf",
        r#"workflow w {
  param big: text
  param other: text = ""

  task count {
    run = "printf %s {{ big }} | wc -c"
  }
}
"#,
    );
    params_file(&dir, "big.json", &[("big", 1 << 20)]);
    for command in ["plan", "run"] {
        let outcome = wfc_within(
            dir.path(),
            &[command, "w.wf", "--params", "big.json"],
            SHORT,
        );
        assert_eq!(outcome.code, 1, "{}", outcome.stderr);
        assert!(
            outcome.stderr.contains(
                "error: task `count`: the environment variable WF_ARG_1 (it holds the parameter \
                 `big`) would be 1048586 bytes with its name; Linux passes at most 131072 bytes \
                 (128 KiB) in one"
            ),
            "{}",
            outcome.stderr
        );
        // Nothing ran: the refusal comes before any task.
        assert!(!outcome.stdout.contains("1048576"), "{}", outcome.stdout);
    }

    // The same value fits once it is just under the limit, and the command really gets it.
    let fits = (128 << 10) - "WF_ARG_1=".len() - 1;
    params_file(&dir, "fits.json", &[("big", fits)]);
    let outcome = wfc_within(
        dir.path(),
        &[
            "run",
            "w.wf",
            "--params",
            "fits.json",
            "--backend",
            "memory",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(outcome.code, 0, "{}\n{}", outcome.stderr, outcome.stdout);
    let outcome = wfc_within(
        dir.path(),
        &["plan", "w.wf", "--params", "fits.json"],
        SHORT,
    );
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    params_file(&dir, "over.json", &[("big", fits + 1)]);
    let outcome = wfc_within(
        dir.path(),
        &["plan", "w.wf", "--params", "over.json"],
        SHORT,
    );
    assert_eq!(outcome.code, 1, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("would be 131073 bytes"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn values_two_variables_or_a_prompt_carry_are_judged_where_they_go() {
    let dir = TempDir::new("wfc-limits-where");
    dir.write(
        "w.wf",
        r#"workflow w {
  param a: text
  param b: text

  task joined {
    run = "true"
    env = { BOTH = "{{ a }}{{ b }}" }
  }

  task many {
    run = "echo {{ a }} {{ b }} {{ a }} {{ b }} {{ a }} {{ b }} {{ a }} {{ b }} {{ a }}"
  }

  task write {
    prompt = """
      Summarise this.
      {{ a }}
      """
  }
}
"#,
    );
    // Each value fits a variable, but two of them do not, nor nine in one command.
    params_file(&dir, "p.json", &[("a", 120 << 10), ("b", 120 << 10)]);
    let outcome = wfc_within(dir.path(), &["plan", "w.wf", "--params", "p.json"], SHORT);
    assert_eq!(outcome.code, 1, "{}", outcome.stderr);
    let errors: Vec<&str> = outcome
        .stderr
        .lines()
        .filter(|line| line.starts_with("error:"))
        .collect();
    assert_eq!(
        errors,
        vec![
            "error: task `joined`: the environment variable BOTH (it holds the parameters `a`, \
             `b`) would be 245766 bytes with its name; Linux passes at most 131072 bytes \
             (128 KiB) in one",
            "error: task `many`: its `run` command would receive 1106123 bytes of script and \
             environment variables; the limit is 1048576 bytes (1 MiB), half of Linux's usual \
             ARG_MAX",
        ],
        "{}",
        outcome.stderr
    );

    // A prompt reaches the agent on stdin, so a value far over a variable's limit is fine.
    dir.write(
        "prompt.wf",
        "workflow w {\n  param a: text\n\n  task write {\n    prompt = \"\"\"\n      Summarise this.\n      {{ a }}\n      \"\"\"\n  }\n}\n",
    );
    params_file(&dir, "long.json", &[("a", 1 << 20)]);
    let outcome = wfc_within(
        dir.path(),
        &["plan", "prompt.wf", "--params", "long.json"],
        SHORT,
    );
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
}

#[test]
fn a_script_longer_than_one_argument_is_refused_at_planning() {
    let dir = TempDir::new("wfc-limits-script");
    let script = format!("echo {}", "y".repeat(128 << 10));
    dir.write(
        "w.wf",
        &format!("workflow w {{\n  task long {{\n    run = \"{script}\"\n    verify = [\"true\"]\n  }}\n}}\n"),
    );
    let outcome = wfc_within(dir.path(), &["plan", "w.wf"], SHORT);
    assert_eq!(outcome.code, 1, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains(
            "error: task `long`: its `run` command is 131077 bytes long; a command is passed to \
             `sh -c` as one argument, and Linux passes at most 131072 bytes (128 KiB) in one"
        ),
        "{}",
        outcome.stderr
    );
}

#[test]
fn a_secret_too_long_for_an_environment_variable_is_refused_when_bound() {
    let dir = TempDir::new("wfc-limits-long-secret");
    dir.write("w.wf", WITH_PARAMS);
    dir.write("token", &"s".repeat(200 << 10));
    let outcome = wfc_within(
        dir.path(),
        &[
            "run",
            "w.wf",
            "-p",
            "name=a",
            "--secret",
            "token=@token",
            "--backend",
            "memory",
        ],
        SHORT,
    );
    assert_eq!(outcome.code, 1, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains(
            "the secret `token` is 204800 bytes; the limit is 131062 bytes, because a secret \
             reaches commands in an environment variable, which Linux limits to 128 KiB"
        ),
        "{}",
        outcome.stderr
    );
    assert!(!outcome.stderr.contains("sss"), "{}", outcome.stderr);
}

/// Writes a chain of `length` files, `f0.wf` … : each imports the next and uses its
/// workflow `uses` times after a task of its own; the last has one task.
fn write_chain(dir: &TempDir, length: usize, uses: usize) {
    for i in 0..length {
        let text = if i + 1 < length {
            let blocks: String = (0..uses)
                .map(|u| format!("\n  use next.w() as inner{u} after step\n"))
                .collect();
            format!(
                "import \"./f{}.wf\" as next\n\nworkflow w {{\n  task step {{\n    run = \"echo {i}\"\n  }}\n{blocks}}}\n",
                i + 1
            )
        } else {
            "workflow w {\n  task step {\n    run = \"echo last\"\n  }\n}\n".to_string()
        };
        dir.write(&format!("f{i}.wf"), &text);
    }
}

#[test]
fn an_import_chain_longer_than_the_limit_is_an_import_error_at_the_import_that_passes_it() {
    let dir = TempDir::new("wfc-limits-chain");
    // 64 files deep is allowed, and `use` nests through all of them.
    write_chain(&dir, 64, 1);
    let outcome = wfc_within(dir.path(), &["plan", "f0.wf", "--json"], SHORT);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let plan: serde_json::Value = serde_json::from_str(&outcome.stdout).expect("a JSON plan");
    let tasks = plan["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), 64);
    let deepest = format!("{}step", "inner0.".repeat(63));
    assert_eq!(tasks[63]["id"], deepest.as_str());
    assert_eq!(
        tasks[63]["deps"][0],
        format!("{}step", "inner0.".repeat(62)).as_str()
    );

    // One more file is one too many: a located wf::import in the file whose import passes
    // the limit, not a misleading syntax error from deep in the chain.
    write_chain(&dir, 65, 1);
    for command in ["check", "plan"] {
        let outcome = wfc_within(dir.path(), &[command, "f0.wf"], SHORT);
        assert_eq!(outcome.code, 1, "{}", outcome.stderr);
        let shown = format!("{}{}", outcome.stdout, outcome.stderr);
        assert!(shown.contains("wf::import"), "{shown}");
        assert!(
            shown.contains("imports nest more than 64 files deep"),
            "{shown}"
        );
        assert!(shown.contains("f63.wf:1:8"), "{shown}");
        assert!(
            shown.contains("this import would be file 65 of a chain that starts at f0.wf"),
            "{shown}"
        );
        assert!(!shown.contains("wf::syntax"), "{shown}");
    }
}

#[test]
fn a_plan_that_would_pass_the_task_limit_is_refused_quickly() {
    let dir = TempDir::new("wfc-limits-wide");
    // Each level uses the next twice: 2^21 - 1 tasks, over a million, from 21 small files.
    write_chain(&dir, 21, 2);
    let started = Instant::now();
    let outcome = wfc_within(dir.path(), &["plan", "f0.wf"], Duration::from_secs(120));
    assert_eq!(outcome.code, 1, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains(
            "error: the plan would have more than 200000 tasks; `for each` and `use` multiply"
        ),
        "{}",
        outcome.stderr
    );
    assert_eq!(
        outcome.stderr.matches("error:").count(),
        1,
        "{}",
        outcome.stderr
    );
    eprintln!("refused in {:?}", started.elapsed());

    // Under the limit, the same shape plans: 2^17 - 1 = 131071 tasks.
    let dir = TempDir::new("wfc-limits-wide-ok");
    write_chain(&dir, 17, 2);
    let outcome = wfc_within(
        dir.path(),
        &["plan", "f0.wf", "--json"],
        Duration::from_secs(120),
    );
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let plan: serde_json::Value = serde_json::from_str(&outcome.stdout).expect("a JSON plan");
    assert_eq!(plan["tasks"].as_array().expect("tasks").len(), 131_071);
}

#[test]
fn a_task_id_over_the_limit_is_refused_at_planning() {
    let dir = TempDir::new("wfc-limits-id");
    dir.write(
        "w.wf",
        "workflow w {\n  param items: list<string>\n\n  task build for each item in items {\n    run = \"echo {{ item }}\"\n  }\n}\n",
    );
    // An element that is a simple word becomes part of the id: `build[WORD]`.
    let fits = format!("items={}", "a".repeat(1024 - "build[]".len()));
    let outcome = wfc_within(dir.path(), &["plan", "w.wf", "-p", &fits], SHORT);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let over = format!("items={}", "a".repeat(1025 - "build[]".len()));
    let outcome = wfc_within(dir.path(), &["plan", "w.wf", "-p", &over], SHORT);
    assert_eq!(outcome.code, 1, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains(&format!(
            "error: the task id `build[{}…` is 1025 bytes; the limit is 1024",
            "a".repeat(54)
        )),
        "{}",
        outcome.stderr
    );
}
