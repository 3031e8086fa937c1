//! Planning: snapshots of the plans of every example, stdlib module and plan fixture, and the
//! structure of expansion (fan-out ids, `when` bridging, `use` entry and exit edges).

use crate::check::FileLoader;
use crate::support::{relative, root, wf_files, wfc, TempDir};
use std::path::Path;
use wfc::check::{ModuleKey, Session};
use wfc::ir::WorkflowId;
use wfc::plan::{bind, instantiate, render_plan, Action, BindInput, Plan};

/// Parameter values for the examples and stdlib workflows that require some.
fn params_for(file: &str, workflow: &str) -> Vec<String> {
    let args: &[&str] = match (file, workflow) {
        ("examples/feature.wf", _) => &["name=search", "spec=Add full-text search to the CLI."],
        ("examples/flaky_test.wf", _) => &["test=tests::retries_once"],
        ("stdlib/bugfix.wf", _) => &["id=bug-17", "report=The CLI crashes on empty input."],
        ("stdlib/feature.wf", _) => &["name=search", "spec=Add search."],
        ("stdlib/plan-and-implement.wf", _) => &["name=search", "goal=Add search."],
        ("stdlib/refactor.wf", _) => &[
            "area=src/parser",
            "goal=Split the parser into one file per rule.",
        ],
        ("stdlib/review.wf", _) => &["target=main"],
        _ => &[],
    };
    args.iter().map(|a| a.to_string()).collect()
}

/// Plans every workflow of `path` with `args`, secrets left out as `wfc plan` does.
fn plans_of(path: &Path, args: &[String]) -> Vec<Plan> {
    let text = std::fs::read_to_string(path).expect("readable");
    let loader = FileLoader;
    let mut session = Session::new(&loader);
    let module = session.check_text(ModuleKey::File(relative(path).into()), text);
    let checked = session.module(module);
    assert!(
        !checked.has_errors(),
        "{} has errors: {:#?}",
        relative(path),
        checked.diagnostics
    );
    let count = checked.ir.workflows.len();
    (0..count)
        .map(|index| {
            let workflow = &session.module(module).ir.workflows[index];
            let input = BindInput {
                args: args.to_vec(),
                secrets_optional: true,
                ..BindInput::default()
            };
            let bound =
                bind(workflow, &input).unwrap_or_else(|e| panic!("{}: {e:#?}", relative(path)));
            instantiate(&session, module, WorkflowId(index as u32), &bound, "run-1")
                .unwrap_or_else(|e| panic!("{}: {e:#?}", relative(path)))
        })
        .collect()
}

#[test]
fn plans_of_examples_stdlib_and_fixtures_match_their_snapshots() {
    let mut files = wf_files("examples");
    files.extend(wf_files("stdlib"));
    files.extend(
        wf_files("tests/fixtures/plan")
            .into_iter()
            .filter(|p| !relative(p).contains("/lib/")),
    );
    for path in files {
        let name = relative(&path);
        for plan in plans_of(&path, &params_for(&name, "")) {
            plan.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
            let snapshot = format!(
                "{}_{}",
                name.trim_end_matches(".wf").replace(['/', '-'], "_"),
                plan.workflow
            );
            insta::assert_snapshot!(snapshot, render_plan(&plan));
        }
    }
}

#[test]
fn fixture_plans_match_their_json_snapshots() {
    for path in wf_files("tests/fixtures/plan")
        .into_iter()
        .filter(|p| !relative(p).contains("/lib/"))
    {
        let name = relative(&path);
        for plan in plans_of(&path, &[]) {
            let json = serde_json::to_string_pretty(&plan).expect("serializable");
            // The JSON is the run's snapshot: it must read back as the same plan.
            let back: Plan = serde_json::from_str(&json).expect("deserializable");
            assert_eq!(back, plan);
            let snapshot = format!(
                "{}_{}_json",
                name.trim_end_matches(".wf").replace(['/', '-'], "_"),
                plan.workflow
            );
            insta::assert_snapshot!(snapshot, json);
        }
    }
}

fn plan_fixture(name: &str, args: &[&str]) -> Plan {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    plans_of(&root().join("tests/fixtures/plan").join(name), &args).remove(0)
}

fn ids(plan: &Plan) -> Vec<&str> {
    plan.tasks.iter().map(|t| t.id.as_str()).collect()
}

fn deps<'p>(plan: &'p Plan, id: &str) -> Vec<&'p str> {
    plan.task(id)
        .unwrap_or_else(|| panic!("no task {id}"))
        .deps
        .iter()
        .map(String::as_str)
        .collect()
}

#[test]
fn fan_out_makes_one_task_per_element() {
    let plan = plan_fixture("fan_out.wf", &[]);
    // Simple words name the instances; free text (and repeated elements) use the index.
    assert_eq!(
        &ids(&plan)[..3],
        ["build[rust]", "build[go]", "build[rust2]"]
    );
    assert_eq!(
        &ids(&plan)[3..6],
        ["annotate[0]", "annotate[1]", "annotate[2]"]
    );
    // Waiting for a fan-out waits for all of its instances.
    assert_eq!(
        deps(&plan, "annotate[1]"),
        ["build[rust]", "build[go]", "build[rust2]"]
    );
    // `when` with the loop variable filters instances.
    assert!(plan.task("skip_go[go]").is_none());
    assert_eq!(
        deps(&plan, "summary"),
        [
            "annotate[0]",
            "annotate[1]",
            "annotate[2]",
            "skip_go[rust]",
            "skip_go[rust2]"
        ]
    );
    let plan = plan_fixture("fan_out.wf", &["langs=", "notes=[]"]);
    // An empty fan-out is bridged like a task left out.
    assert_eq!(ids(&plan), ["summary"]);
}

#[test]
fn tasks_left_out_by_when_are_bridged_in_order() {
    let plan = plan_fixture("bridged_when.wf", &[]);
    assert_eq!(ids(&plan), ["fetch", "report", "done"]);
    assert_eq!(deps(&plan, "report"), ["fetch"]);
    assert_eq!(deps(&plan, "done"), ["report"]);
    let Action::Command { run } = &plan.task("report").expect("report").action else {
        panic!("a command")
    };
    // The result of a task left out is its fallback, known when the plan is made.
    assert!(run.args.iter().any(|a| a.value
        == wfc::plan::EnvValue::Text {
            text: "no slow tests".into()
        }));
    let plan = plan_fixture("bridged_when.wf", &["lint=true", "mode=full"]);
    assert_eq!(
        ids(&plan),
        ["fetch", "lint", "slow_tests", "report", "ship", "done"]
    );
    assert_eq!(deps(&plan, "slow_tests"), ["lint"]);
    assert_eq!(deps(&plan, "done"), ["ship"]);
}

#[test]
fn use_blocks_are_inlined_with_entry_and_exit_edges() {
    let plan = plan_fixture("nested_use.wf", &[]);
    assert_eq!(
        ids(&plan),
        [
            "prepare",
            "ship.build",
            "ship.first.package",
            "ship.first.push",
            "ship.first.checksum",
            "ship.second.package",
            "ship.second.push",
            "ship.second.checksum",
            "announce"
        ]
    );
    assert_eq!(deps(&plan, "ship.build"), ["prepare"]);
    assert_eq!(deps(&plan, "ship.second.package"), ["ship.build"]);
    assert_eq!(
        deps(&plan, "announce"),
        [
            "ship.first.push",
            "ship.first.checksum",
            "ship.second.push",
            "ship.second.checksum"
        ]
    );
    // The secret reaches the inlined task by the name of the top-level parameter.
    let push = plan.task("ship.first.push").expect("push");
    let expected = wfc::plan::EnvValue::Parts {
        parts: vec![wfc::plan::ValuePart::Secret {
            name: "token".into(),
            filters: vec![],
        }],
    };
    assert_eq!(push.env[0].value, expected);
    assert_eq!(plan.secrets, ["token"]);
}

#[test]
fn plans_are_dags_in_topological_order() {
    for path in wf_files("examples") {
        let name = relative(&path);
        for plan in plans_of(&path, &params_for(&name, "")) {
            let graph = plan.graph();
            let order = petgraph::algo::toposort(&graph, None).expect("acyclic");
            assert_eq!(order.len(), plan.tasks.len());
            for (i, task) in plan.tasks.iter().enumerate() {
                for dep in &task.deps {
                    let position = plan
                        .tasks
                        .iter()
                        .position(|t| &t.id == dep)
                        .expect("dependency exists");
                    assert!(
                        position < i,
                        "{name}: {} comes before its dependency {dep}",
                        task.id
                    );
                }
            }
        }
    }
}

#[test]
fn validate_rejects_broken_snapshots() {
    let mut plan = plan_fixture("bridged_when.wf", &[]);
    plan.tasks[0].deps.push("done".into());
    assert!(plan.validate().expect_err("cycle").contains("comes after"));
    let mut plan = plan_fixture("bridged_when.wf", &[]);
    plan.version += 1;
    assert!(plan.validate().is_err());
    let mut plan = plan_fixture("bridged_when.wf", &[]);
    plan.tasks[1].id = "fetch".into();
    assert!(plan
        .validate()
        .expect_err("duplicate")
        .contains("two tasks"));
}

#[test]
fn wfc_plan_command_line() {
    let dir = TempDir::new("wfc-plan-cli");
    let file = root().join("tests/fixtures/plan/bridged_when.wf");
    let file = file.to_string_lossy();
    let run = wfc(dir.path(), &["plan", &file, "-p", "mode=full"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("4. ship  [gate]"), "{}", run.stdout);
    let run = wfc(dir.path(), &["plan", &file, "--json"]);
    let plan: Plan = serde_json::from_str(&run.stdout).expect("JSON plan");
    assert_eq!(plan.version, wfc::plan::PLAN_VERSION);
    // Bad values are located errors with exit 1.
    let run = wfc(dir.path(), &["plan", &file, "-p", "mode=fullest"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("-p mode=fullest") && run.stderr.contains("\"full\""),
        "{}",
        run.stderr
    );
    let run = wfc(dir.path(), &["plan", &file, "-p", "lnit=true"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("did you mean `lint`?"),
        "{}",
        run.stderr
    );
    dir.write("params.toml", "lint = \"yes\"\n");
    let run = wfc(dir.path(), &["plan", &file, "--params", "params.toml"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("params.toml:1:8"), "{}", run.stderr);
    // A file with several workflows needs the name of one.
    let run = wfc(dir.path(), &["plan", "std/review", "-p", "target=main"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// The diagnostics (code, message, help) of checking `source` alone.
fn check_messages(source: &str) -> Vec<(String, String, Option<String>)> {
    let mut session = Session::new(&wfc::check::NoFiles);
    let id = session.check_text(ModuleKey::File("w.wf".into()), source.to_string());
    session
        .module(id)
        .diagnostics
        .iter()
        .map(|d| (d.code.to_string(), d.message.clone(), d.help.clone()))
        .collect()
}

#[test]
fn words_makes_each_element_of_a_list_its_own_shell_word_and_never_syntax() {
    let dir = TempDir::new("wfc-words");
    dir.write(
        "w.wf",
        r#"workflow w {
  param parts: list<text>

  task loop {
    run = """
      for b in {{ parts | words }}; do
        printf '<%s>\n' "$b" >> out.txt
      done
      printf '%s\n' {{ parts | words }} end >> count.txt
      """
  }
}
"#,
    );
    let hostile = r#"parts=["a b", "$(touch pwned)", "", "-n", "x;y", "*", "'\"", "line\nbreak"]"#;
    let planned = wfc(dir.path(), &["plan", "w.wf", "-p", hostile, "--json"]);
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    let plan: serde_json::Value = serde_json::from_str(&planned.stdout).expect("JSON");
    let run = &plan["tasks"][0]["action"]["run"];
    let script = run["script"].as_str().expect("script");
    // The script holds only references; each element is its own quoted variable.
    assert!(
        script.starts_with(
            "for b in \"$WF_ARG_1_1\" \"$WF_ARG_1_2\" \"$WF_ARG_1_3\" \"$WF_ARG_1_4\" \
             \"$WF_ARG_1_5\" \"$WF_ARG_1_6\" \"$WF_ARG_1_7\" \"$WF_ARG_1_8\"; do"
        ),
        "{script}"
    );
    assert!(
        script.contains("printf '%s\\n' \"$WF_ARG_2_1\""),
        "{script}"
    );
    assert!(!script.contains("touch"), "{script}");

    let outcome = wfc(
        dir.path(),
        &["run", "w.wf", "-p", hostile, "--backend", "memory"],
    );
    assert_eq!(outcome.code, 0, "{}\n{}", outcome.stdout, outcome.stderr);
    let out = std::fs::read_to_string(dir.path().join("out.txt")).expect("out.txt");
    assert_eq!(
        out,
        "<a b>\n<$(touch pwned)>\n<>\n<-n>\n<x;y>\n<*>\n<'\">\n<line\nbreak>\n"
    );
    assert!(!dir.path().join("pwned").exists());
    let count = std::fs::read_to_string(dir.path().join("count.txt")).expect("count.txt");
    assert_eq!(count.lines().count(), 10, "{count}");

    // An empty list is no words at all: the loop runs zero times.
    std::fs::remove_file(dir.path().join("out.txt")).expect("rm");
    let outcome = wfc(
        dir.path(),
        &["run", "w.wf", "-p", "parts=", "--backend", "memory"],
    );
    assert_eq!(outcome.code, 0, "{}\n{}", outcome.stdout, outcome.stderr);
    assert!(!dir.path().join("out.txt").exists());
}

#[test]
fn words_is_refused_where_it_cannot_keep_each_element_one_word() {
    let messages = check_messages(
        r#"agent writer {
  adapter = "claude-code"
}

workflow w {
  param parts: list<string>
  param one: string = "x"

  task quoted {
    run = "echo \"{{ parts | words }}\""
  }

  task not_last {
    run = "echo {{ parts | words | default(\"x\") }}"
  }

  task scalar {
    run = "echo {{ one | words }}"
  }

  task write {
    prompt = "Look at {{ parts | words }}."
    agent  = writer
  }

  task env {
    run = "true"
    env = { ALL = "{{ parts | words }}" }
  }

  task bare {
    run = "echo {{ parts }}"
  }
}
"#,
    );
    let shown: Vec<(&str, &str)> = messages
        .iter()
        .map(|(code, message, _)| (code.as_str(), message.as_str()))
        .collect();
    assert_eq!(
        shown,
        vec![
            (
                "wf::type",
                "`{{ parts | words }}` stands inside double quotes, where it would be one word"
            ),
            (
                "wf::type",
                "`words` must be the last filter: it makes shell words, which no filter reads"
            ),
            (
                "wf::type",
                "`words` splits a list into shell words, and this is a string"
            ),
            (
                "wf::type",
                "`{{ parts | words }}` makes shell words, and this is not shell text"
            ),
            (
                "wf::type",
                "`{{ parts | words }}` makes shell words, and this is not shell text"
            ),
            (
                "wf::type",
                "`parts` is a list, which cannot be interpolated as it is"
            ),
        ],
        "{messages:#?}"
    );
    // A list in shell text is pointed at `words`.
    assert_eq!(
        messages[5].2.as_deref(),
        Some(
            "make each element a shell word: `{{ parts | words }}`; or join it: \
             `{{ parts | join(\" \") }}`, which makes one word of all"
        )
    );
}
