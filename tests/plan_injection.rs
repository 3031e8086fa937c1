//! Injection safety (LANGUAGE.md §5), tested by running the rendered commands for real with
//! `sh`: hostile parameter values placed in every shell position the checker allows must
//! arrive byte for byte in the command's argv, stdin or environment, and never run. Secrets
//! must never appear in what `wfc plan` prints.

use crate::support::{wfc, TempDir};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use wfc::check::{ModuleKey, NoFiles, Session};
use wfc::ir::WorkflowId;
use wfc::plan::{
    bind, instantiate, render_plan, Action, BindInput, EnvValue, EnvVar, Plan, Shell, ValuePart,
};

/// Every shell position a value may stand in, each writing what arrived to its own file.
/// (A redirection target is also allowed, but hostile values are not file names.)
const WORKFLOW: &str = r#"
workflow inject {
  param v: text

  task argv_bare {
    run    = "printf '%s\\0' {{ v }} > argv_bare.bin"
    verify = [
      "printf '%s\\0' {{ v }} | cmp -s - argv_bare.bin",
      "printf '%s' {{ v }} > verify.bin",
    ]
  }

  task double_quoted {
    run    = "printf '%s' \"pre-{{ v }}-post\" > dq.bin"
    verify = ["printf '%s' \"pre-{{ v }}-post\" | cmp -s - dq.bin"]
  }

  task in_word {
    run = "printf '%s' x{{ v }}y > word.bin"
  }

  task piped {
    run = "printf '%s' {{ v }} | cat > stdin.bin"
  }

  task positional {
    run = "sh -c 'printf \"%s\\0\" \"$@\"' sh {{ v }} > argv_positional.bin"
  }

  task several {
    run = "printf '%s\\0' {{ v }} \"{{ v }}\" a{{ v }} > several.bin"
  }

  task assigned {
    run = "V={{ v }} sh -c 'printf \"%s\" \"$V\"' > assign.bin"
  }

  task substituted {
    run = "printf '%s' \"$(printf '%s' {{ v }})\" > subst.bin"
  }

  task text_block {
    run = """
      # a comment that mentions {{ v }}
      if true; then
        printf '%s\0' {{ v }} > block.bin
      fi
      """
  }

  task from_env {
    run = "printf '%s' \"$V\" > env.bin && printf '%s' \"$W\" > env_around.bin"
    env = { V = "{{ v }}", W = "<{{ v }}>" }
  }
}
"#;

/// The file each position writes and the bytes it must hold for the value `v`.
fn expected_files(v: &str) -> Vec<(&'static str, Vec<u8>)> {
    let nul = |s: &str| format!("{s}\0").into_bytes();
    vec![
        ("argv_bare.bin", nul(v)),
        ("verify.bin", v.as_bytes().to_vec()),
        ("dq.bin", format!("pre-{v}-post").into_bytes()),
        ("word.bin", format!("x{v}y").into_bytes()),
        ("stdin.bin", v.as_bytes().to_vec()),
        ("argv_positional.bin", nul(v)),
        ("several.bin", format!("{v}\0{v}\0a{v}\0").into_bytes()),
        ("assign.bin", v.as_bytes().to_vec()),
        // `$( )` drops trailing newlines: that is the shell's rule, not an injection.
        ("subst.bin", v.trim_end_matches('\n').as_bytes().to_vec()),
        ("block.bin", nul(v)),
        ("env.bin", v.as_bytes().to_vec()),
        ("env_around.bin", format!("<{v}>").into_bytes()),
    ]
}

/// A sentinel folder every run starts with; `rm -rf sentinel` in a value must not reach it.
const SENTINEL: &str = "sentinel";

/// The hostile and awkward values, each with a label for messages.
fn corpus() -> Vec<(&'static str, String)> {
    let mut values: Vec<(&'static str, String)> = [
        ("command substitution", "$(touch pwned)"),
        ("backticks", "`touch pwned`"),
        ("semicolon", "; touch pwned"),
        ("and", "&& touch pwned"),
        ("pipe", "| touch pwned"),
        ("redirection", "> pwned"),
        ("append", ">> pwned 2>&1"),
        ("background", "& touch pwned &"),
        ("break out of double quotes", "\"; touch pwned; \""),
        ("break out of single quotes", "'; touch pwned; '"),
        ("break out of both", "'\"; touch pwned; \"'"),
        ("newline then command", "x\ntouch pwned\n"),
        ("rm the sentinel", "; rm -rf sentinel"),
        ("rm the sentinel in $()", "$(rm -rf sentinel)"),
        ("rm the sentinel in backticks", "`rm -rf sentinel`"),
        ("nested substitution", "$(echo $(touch pwned))"),
        ("process substitution", "<(touch pwned)"),
        ("subshell", "(touch pwned)"),
        ("brace group", "{ touch pwned; }"),
        ("variable", "$PWD"),
        ("braced variable", "${HOME}"),
        ("default expansion", "${X:-$(touch pwned)}"),
        ("arithmetic", "$((1+1))"),
        ("positional parameters", "$@ $* $1 $0 $# $? $$ $!"),
        ("ansi-c quoting", "$'\\x41'"),
        ("backslash", "\\"),
        ("two backslashes", "\\\\"),
        ("backslash newline", "a\\\nb"),
        ("double quote", "\""),
        ("single quote", "'"),
        ("glob star", "*"),
        ("glob question mark", "?"),
        ("glob class", "[a-z]"),
        ("brace expansion", "{a,b}"),
        ("tilde", "~"),
        ("tilde user", "~root/x"),
        ("history", "!!"),
        ("comment", "# touch pwned"),
        ("assignment", "IFS=x"),
        ("multiple spaces", "a b  c"),
        ("tabs", "\ttabs\t"),
        ("lines", "line1\nline2\n"),
        ("carriage return", "\r\n"),
        ("only newlines", "\n\n"),
        ("option --help", "--help"),
        ("option -rf", "-rf"),
        ("option -n", "-n"),
        ("option -e", "-e"),
        ("dash", "-"),
        ("double dash", "--"),
        ("leading and trailing spaces", "  padded  "),
        ("empty", ""),
        ("one space", " "),
        ("printf format", "%s%d%n%%"),
        ("printf escapes", "\\0\\n\\t\\\\"),
        (
            "control characters",
            "\u{1}\u{7}\u{1b}[31mred\u{1b}[0m\u{7f}",
        ),
        ("accents", "héllo"),
        ("cjk", "日本語"),
        ("emoji", "😀"),
        ("rtl", "עברית"),
        ("combining marks", "e\u{301}a\u{308}\u{20db}"),
        ("zero-width joiner", "👨\u{200d}👩\u{200d}👧"),
        ("byte order mark", "\u{feff}x"),
        ("line and paragraph separators", "a\u{2028}b\u{2029}c"),
        ("right-to-left override", "\u{202e}txt.exe"),
    ]
    .into_iter()
    .map(|(label, value)| (label, value.to_string()))
    .collect();
    values.push(("100 KB of everything", big_value()));
    values
}

/// A 100 KB value of mixed characters: under Linux's 128 KiB limit for one variable.
fn big_value() -> String {
    const PIECE: &str =
        "a$(touch pwned)`touch pwned`\"'\\\n\t日本😀 ; rm -rf sentinel | %s ${HOME} ~ * ";
    const LIMIT: usize = 100 * 1024;
    let mut value = String::with_capacity(LIMIT + PIECE.len());
    for c in PIECE.chars().cycle() {
        if value.len() + c.len_utf8() > LIMIT {
            break;
        }
        value.push(c);
    }
    assert!(value.len() > 100_000 && value.len() <= LIMIT);
    value
}

/// A short, one-line description of `value` for messages.
fn describe(label: &str, value: &str) -> String {
    let shown: String = value.chars().take(40).collect();
    let more = if value.chars().count() > 40 {
        "…"
    } else {
        ""
    };
    format!("{label} ({shown:?}{more}, {} bytes)", value.len())
}

/// The plan of `source`'s first workflow bound with `input`.
fn plan(source: &str, input: &BindInput) -> Result<Plan, String> {
    let mut session = Session::new(&NoFiles);
    let module = session.check_text(ModuleKey::File("inject.wf".into()), source.to_string());
    let checked = session.module(module);
    assert!(!checked.has_errors(), "{:#?}", checked.diagnostics);
    let workflow = &checked.ir.workflows[0];
    let bound = bind(workflow, input).map_err(|e| format!("bind: {e:#?}"))?;
    instantiate(&session, module, WorkflowId(0), &bound, "run-1")
        .map_err(|e| format!("instantiate: {e:#?}"))
}

/// The plan of [`WORKFLOW`] for `value`, bound from `-p v=VALUE` and, separately, from a
/// `--params` JSON file; both must give the same plan.
fn plan_for(value: &str) -> Plan {
    let from_args = BindInput {
        args: vec![format!("v={value}")],
        ..BindInput::default()
    };
    let json = serde_json::json!({ "v": value }).to_string();
    let from_file = BindInput {
        file: Some(("params.json".into(), json)),
        ..BindInput::default()
    };
    let a = plan(WORKFLOW, &from_args).unwrap_or_else(|e| panic!("-p: {e}"));
    let b = plan(WORKFLOW, &from_file).unwrap_or_else(|e| panic!("--params: {e}"));
    assert_eq!(a, b, "-p and --params give different plans");
    a
}

fn text(var: &EnvVar) -> &str {
    match &var.value {
        EnvValue::Text { text } => text,
        other => panic!("`{}` is not known at planning: {other:?}", var.name),
    }
}

/// Runs `shell` as the runtime would: `sh -c SCRIPT` with its `WF_ARG_n` values and the
/// task's `env` in the environment, in `dir`, stdin closed. Panics unless it exits 0.
fn run_shell(shell: &Shell, env: &[EnvVar], dir: &Path, what: &str) {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(&shell.script)
        .current_dir(dir)
        .env("HOME", dir)
        .stdin(Stdio::null());
    for var in env.iter().chain(&shell.args) {
        command.env(&var.name, text(var));
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: sh does not start: {e}"));
    assert!(
        output.status.success(),
        "{what}: `{}` failed ({}): {}",
        shell.display.chars().take(200).collect::<String>(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every file and folder under `dir`, relative, with `/` separators.
fn entries(dir: &Path) -> BTreeSet<String> {
    fn walk(base: &Path, dir: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).expect("readable").flatten() {
            let path = entry.path();
            let name = path
                .strip_prefix(base)
                .expect("inside")
                .to_string_lossy()
                .replace('\\', "/");
            found.insert(name);
            if path.is_dir() {
                walk(base, &path, found);
            }
        }
    }
    let mut found = BTreeSet::new();
    walk(dir, dir, &mut found);
    found
}

/// Asserts that no value of `plan` is part of a script: each interpolation is a quoted
/// reference to a `WF_ARG_n` variable that holds `value`.
fn assert_scripts_hold_no_value(plan: &Plan, what: &str, value: &str) {
    for task in &plan.tasks {
        let Action::Command { run } = &task.action else {
            panic!("{what}: `{}` is not a command task", task.id);
        };
        for shell in std::iter::once(run).chain(&task.verify) {
            assert!(
                !shell.script.contains("pwned") && !shell.script.contains("rm -rf"),
                "{what}: the value is in the script of `{}`: {}",
                task.id,
                shell.script
            );
            for (index, arg) in shell.args.iter().enumerate() {
                assert_eq!(arg.name, format!("WF_ARG_{}", index + 1), "{what}");
                assert_eq!(text(arg), value, "{what}: `{}` {}", task.id, arg.name);
                assert!(
                    shell.script.contains(&format!("\"${}\"", arg.name))
                        || shell.script.contains(&format!("${{{}}}", arg.name)),
                    "{what}: `{}` does not reference {}",
                    task.id,
                    arg.name
                );
            }
        }
    }
}

/// Checks the plan's scripts, then runs every command task and its `verify` commands.
fn execute_and_check(plan: &Plan, label: &str, value: &str) {
    let what = describe(label, value);
    assert_scripts_hold_no_value(plan, &what, value);
    execute(plan, &what, value);
}

/// Runs every command task of `plan` and its `verify` commands in a fresh folder, in plan
/// order, and asserts that `value` arrived intact in every position, that the sentinel
/// folder survived and that no other file was created.
fn execute(plan: &Plan, what: &str, value: &str) {
    let dir = TempDir::new("wfc-injection");
    std::fs::create_dir(dir.path().join(SENTINEL)).expect("sentinel");
    std::fs::write(dir.path().join(SENTINEL).join("keep"), "keep").expect("sentinel file");
    for task in &plan.tasks {
        let Action::Command { run } = &task.action else {
            panic!("{what}: `{}` is not a command task", task.id);
        };
        run_shell(
            run,
            &task.env,
            dir.path(),
            &format!("{what}: run of `{}`", task.id),
        );
        for (i, verify) in task.verify.iter().enumerate() {
            let context = format!("{what}: verify {} of `{}`", i + 1, task.id);
            run_shell(verify, &task.env, dir.path(), &context);
        }
    }

    assert!(
        !dir.path().join("pwned").exists(),
        "{what}: a marker file was created"
    );
    assert!(
        dir.path().join(SENTINEL).join("keep").exists(),
        "{what}: the sentinel folder was removed"
    );
    let expected = expected_files(value);
    for (file, bytes) in &expected {
        let got = std::fs::read(dir.path().join(file))
            .unwrap_or_else(|e| panic!("{what}: {file} was not written: {e}"));
        assert!(
            got == *bytes,
            "{what}: {file} holds {:?}…, not {:?}…",
            String::from_utf8_lossy(&got[..got.len().min(120)]),
            String::from_utf8_lossy(&bytes[..bytes.len().min(120)])
        );
    }
    // Nothing else was created anywhere in the folder.
    let mut allowed: BTreeSet<String> = expected.iter().map(|(f, _)| f.to_string()).collect();
    allowed.insert(SENTINEL.into());
    allowed.insert(format!("{SENTINEL}/keep"));
    assert_eq!(entries(dir.path()), allowed, "{what}: unexpected files");
}

#[test]
fn the_workflow_checks_and_uses_every_position() {
    let plan = plan_for("x");
    let ids: Vec<&str> = plan.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "argv_bare",
            "double_quoted",
            "in_word",
            "piped",
            "positional",
            "several",
            "assigned",
            "substituted",
            "text_block",
            "from_env"
        ]
    );
    // Both renderings occur: bare and inside double quotes.
    let scripts: Vec<&str> = plan
        .tasks
        .iter()
        .filter_map(|t| match &t.action {
            Action::Command { run } => Some(run.script.as_str()),
            _ => None,
        })
        .collect();
    assert!(scripts.iter().any(|s| s.contains("\"$WF_ARG_1\"")));
    assert!(scripts.iter().any(|s| s.contains("pre-${WF_ARG_1}-post")));
}

#[test]
fn every_corpus_value_arrives_intact_and_never_runs() {
    for (label, value) in corpus() {
        let plan = plan_for(&value);
        execute_and_check(&plan, label, &value);
    }
}

/// The same plan with each value pasted into the script, as a naive template engine would.
fn naively_rendered(plan: &Plan) -> Plan {
    let mut plan = plan.clone();
    for task in &mut plan.tasks {
        let Action::Command { run } = &mut task.action else {
            continue;
        };
        for shell in std::iter::once(run).chain(task.verify.iter_mut()) {
            for arg in &shell.args {
                let value = text(arg).to_string();
                shell.script = shell
                    .script
                    .replace(&format!("\"${}\"", arg.name), &value)
                    .replace(&format!("${{{}}}", arg.name), &value);
            }
        }
    }
    plan
}

#[test]
fn the_harness_catches_a_naive_rendering() {
    // Without the environment-variable rendering, each of these breaks something the
    // assertions look for: a marker file, the sentinel, or the bytes that arrive.
    for value in ["$(touch pwned)", "; rm -rf sentinel", "a b  c", "*"] {
        let plan = naively_rendered(&plan_for(value));
        let caught = std::panic::catch_unwind(|| execute(&plan, value, value)).is_err();
        assert!(caught, "a naive rendering of {value:?} went unnoticed");
    }
}

#[test]
fn the_cli_plan_runs_the_same_commands() {
    let dir = TempDir::new("wfc-injection-cli");
    dir.write("inject.wf", WORKFLOW);
    let chosen: Vec<(&str, String)> = corpus()
        .into_iter()
        .filter(|(label, _)| {
            [
                "command substitution",
                "break out of single quotes",
                "rm the sentinel",
                "lines",
                "option --help",
                "dash",
                "empty",
                "zero-width joiner",
                "100 KB of everything",
            ]
            .contains(label)
        })
        .collect();
    assert_eq!(chosen.len(), 9);
    for (label, value) in chosen {
        let what = describe(label, &value);
        let arg = format!("v={value}");
        let json = serde_json::json!({ "v": value }).to_string();
        dir.write("params.json", &json);
        let runs = [
            wfc(dir.path(), &["plan", "inject.wf", "-p", &arg, "--json"]),
            wfc(
                dir.path(),
                &["plan", "inject.wf", "--params", "params.json", "--json"],
            ),
        ];
        let library = plan_for(&value);
        for run in runs {
            assert_eq!(run.code, 0, "{what}: {}", run.stderr);
            let plan: Plan = serde_json::from_str(&run.stdout)
                .unwrap_or_else(|e| panic!("{what}: the JSON is not a plan: {e}"));
            plan.validate().expect("valid plan");
            assert_eq!(plan.tasks, library.tasks, "{what}: CLI and library differ");
            execute_and_check(&plan, label, &value);
        }
        assert!(!dir.path().join("pwned").exists(), "{what}");
    }
}

/// `-p v=a<NUL>b` and a `--params` file holding `"a\u0000b"`.
fn nul_inputs() -> [BindInput; 2] {
    [
        BindInput {
            args: vec!["v=a\0b".into()],
            ..BindInput::default()
        },
        BindInput {
            file: Some(("p.json".into(), r#"{"v": "a\u0000b"}"#.into())),
            ..BindInput::default()
        },
    ]
}

const NUL_WORKFLOW: &str = "workflow w {\n  param v: text\n  task t { run = \"true\" }\n}\n";

#[test]
fn a_value_with_a_nul_byte_does_not_panic() {
    for input in nul_inputs() {
        let _ = plan(NUL_WORKFLOW, &input);
    }
}

#[test]
fn a_value_with_a_nul_byte_is_rejected_by_bind() {
    let mut session = Session::new(&NoFiles);
    let module = session.check_text(ModuleKey::File("w.wf".into()), NUL_WORKFLOW.to_string());
    let workflow = &session.module(module).ir.workflows[0];
    for input in nul_inputs() {
        assert!(
            bind(workflow, &input).is_err(),
            "bind accepted a value with a NUL byte: {input:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Secrets never appear in what `wfc plan` prints.

const SECRET: &str = "s3cr3t-VALUE-42";

const SECRET_WORKFLOW: &str = r#"
workflow deploy {
  param target: string = "prod"
  param token: secret

  task push {
    run    = "curl -fsS -H \"Authorization: Bearer {{ token }}\" https://example.invalid/{{ target }}"
    env    = { TOKEN = "{{ token }}", BOTH = "{{ target }}:{{ token | upper }}" }
    verify = ["test -n {{ token }}"]
  }

  task show after push {
    run = "printf '%s' {{ token | lower }} > /dev/null"
  }
}
"#;

/// Whether `text` shows the secret in any case.
fn shows_secret(text: &str) -> bool {
    text.to_lowercase().contains(&SECRET.to_lowercase())
}

/// An environment variable: name and value.
type Var<'a> = (&'a str, &'a str);

/// Runs the real `wfc` in `dir` with `args` and extra environment variables.
fn wfc_with_env(dir: &Path, args: &[&str], env: &[Var]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wfc"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("WF_SECRET_") {
            command.env_remove(name);
        }
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("wfc runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The secret's references in a plan: only names, never values.
fn assert_secret_by_name(plan: &Plan) {
    assert_eq!(plan.secrets, ["token"]);
    let token = plan
        .params
        .iter()
        .find(|p| p.name == "token")
        .expect("token");
    assert_eq!(token.value, serde_json::Value::Null);
    let push = plan.task("push").expect("push");
    let Action::Command { run } = &push.action else {
        panic!("push is a command")
    };
    assert!(run.display.contains("<secret token>"), "{}", run.display);
    let is_secret = |value: &EnvValue| match value {
        EnvValue::Parts { parts } => parts
            .iter()
            .any(|p| matches!(p, ValuePart::Secret { name, .. } if name == "token")),
        EnvValue::Text { .. } => false,
    };
    assert!(is_secret(&run.args[0].value), "{:?}", run.args[0]);
    assert!(push.env.iter().all(|var| is_secret(&var.value)));
}

#[test]
fn a_bound_secret_is_in_no_plan_rendering() {
    let input = BindInput {
        secret_env: vec![("WF_SECRET_TOKEN".into(), SECRET.into())],
        ..BindInput::default()
    };
    let plan = plan(SECRET_WORKFLOW, &input).expect("plans");
    assert_secret_by_name(&plan);
    let json = serde_json::to_string(&plan).expect("serializes");
    assert!(!shows_secret(&json), "{json}");
    let human = render_plan(&plan);
    assert!(!shows_secret(&human), "{human}");
    assert!(!shows_secret(&format!("{plan:?}")));
}

#[test]
fn wfc_plan_never_prints_a_secret() {
    let dir = TempDir::new("wfc-injection-secret");
    dir.write("deploy.wf", SECRET_WORKFLOW);
    dir.write("token.txt", &format!("{SECRET}\n"));
    dir.write("params.json", &format!("{{\"token\": \"{SECRET}\"}}"));
    let env = [("WF_SECRET_TOKEN", SECRET)];
    let succeeding: [(&[&str], &[Var]); 4] = [
        (&["plan", "deploy.wf"], &env),
        (&["plan", "deploy.wf", "--json"], &env),
        (&["plan", "deploy.wf", "--secret", "token=@token.txt"], &[]),
        (
            &[
                "plan",
                "deploy.wf",
                "--secret",
                "token=@token.txt",
                "--json",
            ],
            &[],
        ),
    ];
    for (args, env) in succeeding {
        let (code, stdout, stderr) = wfc_with_env(dir.path(), args, env);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(
            !shows_secret(&stdout),
            "{args:?} prints the secret: {stdout}"
        );
        assert!(
            !shows_secret(&stderr),
            "{args:?} prints the secret: {stderr}"
        );
        if args.contains(&"--json") {
            let plan: Plan = serde_json::from_str(&stdout).expect("a plan");
            assert_secret_by_name(&plan);
        } else {
            assert!(stdout.contains("<secret token>"), "{stdout}");
        }
    }

    let given_on_command_line = format!("token={SECRET}");
    let misspelt = format!("tokn={SECRET}");
    let upper = format!("TOKEN={SECRET}");
    let failing: [&[&str]; 7] = [
        &["plan", "deploy.wf", "-p", &given_on_command_line],
        &["plan", "deploy.wf", "-p", &given_on_command_line, "--json"],
        &["plan", "deploy.wf", "-p", &misspelt],
        &["plan", "deploy.wf", "-p", &upper],
        &["plan", "deploy.wf", "--secret", &given_on_command_line],
        &["plan", "deploy.wf", "--secret", SECRET],
        &["plan", "deploy.wf", "--params", "params.json"],
    ];
    for args in failing {
        let (code, stdout, stderr) = wfc_with_env(dir.path(), args, &[]);
        assert_eq!(code, 1, "{args:?} should fail: {stdout}{stderr}");
        assert!(!stderr.is_empty(), "{args:?} says nothing");
        assert!(
            !shows_secret(&stdout),
            "{args:?} echoes the secret: {stdout}"
        );
        assert!(
            !shows_secret(&stderr),
            "{args:?} echoes the secret: {stderr}"
        );
    }
}

/// Paths that read as options (or a home folder) when they stand first in a word, given to
/// real commands through parameters, list elements, a `use` argument, a callee's default
/// and `workdir`.
const OPTION_PATHS: &str = r#"
workflow options {
  param f: path
  param g: path
  param many: list<path>
  param home: path
  param dir: path

  task count {
    run = "wc -c {{ f }}"
  }

  task list {
    run = "ls {{ g }}"
  }

  task whole {
    run = "printf '%s\\n' {{ many | json }}"
  }

  task every for each p in many {
    run = "ls -d {{ p }}"
  }

  task show {
    run = "cat {{ home }}"
  }

  task inside {
    workdir = "{{ dir }}"
    run = "basename \"$PWD\""
  }

  use lib.counted(file = "-rf") as literal
}
"#;

const OPTION_PATHS_LIB: &str = r#"
workflow counted {
  param file: path
  param other: path = "--version"

  task size {
    run = "wc -c {{ file }} {{ other }}"
  }
}
"#;

#[test]
fn a_path_that_looks_like_an_option_is_a_file_name() {
    let dir = TempDir::new("wfc-injection-option-paths");
    dir.write("lib.wf", OPTION_PATHS_LIB);
    let main = format!("import \"./lib.wf\" as lib\n{OPTION_PATHS}");
    dir.write("options.wf", &main);
    // Files whose names start with `-` or `~`, inside the workspace.
    dir.write("--files0-from=/etc/hostname", "inside\n");
    dir.write("-rf", "12345\n");
    dir.write("--version", "v\n");
    dir.write("-l", "");
    dir.write("~/x", "home\n");
    std::fs::create_dir_all(dir.path().join("-dir")).expect("a folder");
    let params = [
        "-p",
        "f=--files0-from=/etc/hostname",
        "-p",
        "g=-rf",
        "-p",
        r#"many=["-l","--version"]"#,
        "-p",
        "home=~/x",
        "-p",
        "dir=-dir",
    ];
    let mut args = vec!["plan", "options.wf"];
    args.extend(params);
    let plan = wfc(dir.path(), &args);
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
    for shown in [
        "./--files0-from=/etc/hostname",
        "./-rf",
        "./-l",
        "./--version",
        "./~/x",
        "./-dir",
    ] {
        assert!(
            plan.stdout.contains(shown),
            "`wfc plan` shows {shown}:\n{}",
            plan.stdout
        );
    }
    let mut args = vec!["run", "options.wf"];
    args.extend(params);
    let run = wfc(dir.path(), &args);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let status = wfc(dir.path(), &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).expect("JSON");
    let result = |task: &str| -> String {
        status["tasks"]
            .as_array()
            .and_then(|tasks| tasks.iter().find(|t| t["key"]["task"] == task))
            .and_then(|t| t["result"].as_str())
            .unwrap_or_else(|| panic!("no result of {task}: {status}"))
            .to_string()
    };
    // `wc` counted the file named so, not the files listed in /etc/hostname.
    assert_eq!(result("count"), "7 ./--files0-from=/etc/hostname\n");
    // `ls` listed the file `-rf`, not the folder, reversed and recursively.
    assert_eq!(result("list"), "./-rf\n");
    assert_eq!(result("whole"), "[\"./-l\",\"./--version\"]\n");
    let each: Vec<String> = status["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| {
            t["key"]["task"]
                .as_str()
                .is_some_and(|k| k.starts_with("every"))
        })
        .filter_map(|t| t["result"].as_str().map(str::to_string))
        .collect();
    assert_eq!(each.len(), 2, "{status}");
    assert!(each.contains(&"./-l\n".to_string()), "{each:?}");
    assert!(each.contains(&"./--version\n".to_string()), "{each:?}");
    assert_eq!(result("show"), "home\n");
    assert_eq!(result("inside"), "-dir\n");
    assert_eq!(result("literal.size"), "6 ./-rf\n2 ./--version\n8 total\n");
}
