//! The command line, run as a real process: `wfc check`, `wfc fmt`, `wfc list`.

use crate::support::{relative, root, wf_files, wfc, TempDir};

const CLEAN: &str = "workflow hello {\n  /// Who to greet.\n  param name: string matching \"[a-z]+\" = \"world\"\n\n  task greet {\n    run = \"echo {{ name }}\"\n  }\n}\n";
const BROKEN: &str =
    "workflow hello {\n  task greet after nothing {\n    run = \"echo hi\"\n  }\n}\n";
const WARNS: &str = "workflow hello {\n  param unused: string = \"x\"\n\n  task greet {\n    run = \"echo hi\"\n  }\n}\n";

#[test]
fn check_exits_0_1_2() {
    let dir = TempDir::new("wfc-cli-exit");
    dir.write("clean.wf", CLEAN);
    dir.write("broken.wf", BROKEN);
    assert_eq!(wfc(dir.path(), &["check", "clean.wf"]).code, 0);
    let broken = wfc(dir.path(), &["check", "broken.wf"]);
    assert_eq!(broken.code, 1);
    assert!(
        broken.stderr.contains("wf::unknown-ref"),
        "{}",
        broken.stderr
    );
    assert!(
        broken.stderr.contains("broken.wf:2:20"),
        "the report names file, line and column: {}",
        broken.stderr
    );
    assert!(broken.stderr.contains("1 error"), "{}", broken.stderr);
    let missing = wfc(dir.path(), &["check", "no_such_file.wf"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("no_such_file.wf"),
        "{}",
        missing.stderr
    );
    assert_eq!(
        wfc(dir.path(), &["check", "--format", "yaml", "clean.wf"]).code,
        2
    );
    assert_eq!(wfc(dir.path(), &["frobnicate"]).code, 2);
}

#[test]
fn check_output_has_no_colour_when_not_a_terminal() {
    let dir = TempDir::new("wfc-cli-colour");
    dir.write("broken.wf", BROKEN);
    let run = wfc(dir.path(), &["check", "broken.wf"]);
    assert!(
        !run.stderr.contains('\u{1b}'),
        "escape codes in {:?}",
        run.stderr
    );
}

#[test]
fn check_json_prints_one_object_per_file() {
    let dir = TempDir::new("wfc-cli-json");
    dir.write("a_clean.wf", CLEAN);
    dir.write("b_broken.wf", BROKEN);
    let run = wfc(
        dir.path(),
        &["check", "--format", "json", "a_clean.wf", "b_broken.wf"],
    );
    assert_eq!(run.code, 1);
    let objects: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[0]["file"], "a_clean.wf");
    assert_eq!(objects[0]["diagnostics"].as_array().map(Vec::len), Some(0));
    let diagnostic = &objects[1]["diagnostics"][0];
    assert_eq!(objects[1]["file"], "b_broken.wf");
    assert_eq!(diagnostic["code"], "wf::unknown-ref");
    assert_eq!(diagnostic["severity"], "error");
    assert!(diagnostic["message"]
        .as_str()
        .is_some_and(|m| m.contains("nothing")));
    let label = &diagnostic["labels"][0];
    assert_eq!(label["offset"], BROKEN.find("nothing").expect("in source"));
    assert_eq!(label["length"], 7);
    assert_eq!(label["line"], 2);
    assert_eq!(label["column"], 20);
    assert!(
        run.stderr.is_empty(),
        "JSON mode prints nothing else: {}",
        run.stderr
    );
}

#[test]
fn deny_warnings_turns_warnings_into_failure() {
    let dir = TempDir::new("wfc-cli-warn");
    dir.write("warns.wf", WARNS);
    let run = wfc(dir.path(), &["check", "warns.wf"]);
    assert_eq!(run.code, 0);
    assert!(run.stderr.contains("wf::unused"));
    assert_eq!(
        wfc(dir.path(), &["check", "--deny-warnings", "warns.wf"]).code,
        1
    );
}

#[test]
fn check_searches_folders_for_wf_files() {
    let dir = TempDir::new("wfc-cli-folder");
    dir.write("top.wf", CLEAN);
    dir.write("nested/deeper/inner.wf", BROKEN);
    dir.write("nested/notes.txt", "not a workflow");
    dir.write(".hidden/skipped.wf", "this is not parsed at all {{{");
    let run = wfc(dir.path(), &["check", "--format", "json", "."]);
    let files: Vec<String> = run
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json")["file"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(files, ["nested/deeper/inner.wf", "top.wf"]);
    assert_eq!(run.code, 1);
    // With no path, the current folder is checked.
    assert_eq!(wfc(dir.path(), &["check"]).code, 1);
}

#[test]
fn imported_files_are_checked_once_and_reported_under_their_own_name() {
    let dir = TempDir::new("wfc-cli-import");
    dir.write("lib/steps.wf", BROKEN);
    dir.write(
        "main.wf",
        "import \"./lib/steps.wf\" as steps\n\nworkflow main {\n  use steps.hello() as first\n}\n",
    );
    let run = wfc(
        dir.path(),
        &["check", "--format", "json", "main.wf", "lib/steps.wf"],
    );
    let objects: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let names: Vec<&str> = objects.iter().filter_map(|o| o["file"].as_str()).collect();
    assert_eq!(names, ["lib/steps.wf", "main.wf"]);
    assert_eq!(objects[0]["diagnostics"].as_array().map(Vec::len), Some(1));
}

#[test]
fn fmt_check_names_the_files_that_would_change() {
    let dir = TempDir::new("wfc-cli-fmt");
    let messy = "workflow   hello{\n task greet{\n run=\"echo hi\"\n }\n}\n";
    dir.write("messy.wf", messy);
    dir.write("tidy.wf", CLEAN);
    let run = wfc(dir.path(), &["fmt", "--check", "."]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("messy.wf") && !run.stdout.contains("tidy.wf"),
        "{}",
        run.stdout
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("messy.wf")).expect("read"),
        messy,
        "--check changes nothing"
    );
    let run = wfc(dir.path(), &["fmt", "."]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(wfc(dir.path(), &["fmt", "--check", "."]).code, 0);
    let formatted = std::fs::read_to_string(dir.path().join("messy.wf")).expect("read");
    assert!(
        formatted.contains("  task greet {\n    run = \"echo hi\"\n  }"),
        "{formatted}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("tidy.wf")).expect("read"),
        CLEAN
    );
}

#[test]
fn fmt_leaves_files_with_syntax_errors_alone() {
    let dir = TempDir::new("wfc-cli-fmt-bad");
    let bad = "workflow hello {\n  task greet {\n    run \"echo\"\n  }\n}\n";
    dir.write("bad.wf", bad);
    let run = wfc(dir.path(), &["fmt", "bad.wf"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("wf::syntax"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("bad.wf")).expect("read"),
        bad
    );
}

#[test]
fn list_shows_workflows_params_and_docs() {
    let dir = TempDir::new("wfc-cli-list");
    let source = "/// Says hello.\nworkflow hello {\n  /// Who to greet.\n  param name: string matching \"[a-z]+\"\n  /// How loud.\n  param volume: enum(\"soft\", \"loud\") = \"soft\"\n  param times: int = 1\n  param tags: list<string> = [\"a\"]\n  param token: secret\n\n  task greet {\n    run = \"echo {{ name }} {{ volume }} {{ times }} {{ tags | join(\\\",\\\") }} {{ token }}\"\n  }\n}\n";
    let source = source.replace("\\\",\\\"", "\",\"");
    dir.write("hello.wf", &source);
    let run = wfc(dir.path(), &["list", "hello.wf"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("workflow hello"), "{}", run.stdout);
    assert!(run.stdout.contains("Says hello."));
    assert!(
        run.stdout
            .contains("name: string matching \"[a-z]+\" (required)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Who to greet."));
    assert!(
        run.stdout
            .contains("volume: enum(\"soft\", \"loud\") = \"soft\""),
        "{}",
        run.stdout
    );

    let run = wfc(dir.path(), &["list", "--json", "hello.wf"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let workflow = &json["workflows"][0];
    assert_eq!(workflow["name"], "hello");
    assert_eq!(workflow["docs"], "Says hello.");
    let schema = &workflow["schema"];
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["required"], serde_json::json!(["name", "token"]));
    assert_eq!(schema["additionalProperties"], false);
    let props = &schema["properties"];
    assert_eq!(props["name"]["type"], "string");
    assert_eq!(props["name"]["pattern"], "^(?:[a-z]+)$");
    assert_eq!(props["name"]["description"], "Who to greet.");
    assert_eq!(props["volume"]["enum"], serde_json::json!(["soft", "loud"]));
    assert_eq!(props["volume"]["default"], "soft");
    assert_eq!(props["times"]["type"], "integer");
    assert_eq!(props["tags"]["type"], "array");
    assert_eq!(props["tags"]["items"]["type"], "string");
    assert_eq!(props["token"]["writeOnly"], true);
}

#[test]
fn list_refuses_a_file_with_errors() {
    let dir = TempDir::new("wfc-cli-list-bad");
    dir.write("broken.wf", BROKEN);
    let run = wfc(dir.path(), &["list", "broken.wf"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("wf::unknown-ref"));
}

#[test]
fn stdlib_modules_check_and_list_from_any_folder() {
    let dir = TempDir::new("wfc-cli-std");
    let names = wfc::stdlib::names();
    assert!(
        names.contains(&"review"),
        "the stdlib has std/review: {names:?}"
    );
    for name in names {
        let module = format!("std/{name}");
        let run = wfc(dir.path(), &["check", "--deny-warnings", &module]);
        assert_eq!(run.code, 0, "{module}: {}", run.stderr);
        let run = wfc(dir.path(), &["list", "--json", &module]);
        assert_eq!(run.code, 0, "{module}: {}", run.stderr);
        let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
        assert!(
            json["workflows"].as_array().is_some_and(|w| !w.is_empty()),
            "{module} has workflows"
        );
    }
    dir.write("uses_std.wf", "import \"std/review\" as review\n\nworkflow main {\n  use review.pull_request(target = \"main\") as check\n}\n");
    let run = wfc(dir.path(), &["check", "uses_std.wf"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn every_example_checks_clean_without_warnings() {
    let examples = wf_files("examples");
    assert!(examples.len() >= 4, "at least four examples");
    for path in examples {
        let run = wfc(&root(), &["check", "--deny-warnings", &relative(&path)]);
        assert_eq!(run.code, 0, "{}: {}", relative(&path), run.stderr);
    }
}

#[test]
fn the_readme_examples_check_clean_and_are_formatted() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let blocks: Vec<&str> = readme
        .split("```wf\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .collect();
    assert!(!blocks.is_empty(), "README.md shows a workflow");
    let dir = TempDir::new("wfc-cli-readme");
    for (index, block) in blocks.iter().enumerate() {
        let name = format!("readme_{index}.wf");
        dir.write(&name, block);
        let run = wfc(dir.path(), &["check", "--deny-warnings", &name]);
        assert_eq!(run.code, 0, "README block {index}: {}", run.stderr);
        assert_eq!(
            wfc(dir.path(), &["fmt", "--check", &name]).code,
            0,
            "README block {index} is not formatted"
        );
    }
}
