//! Binding parameter values (`wfc::plan::bind`): precedence, parsing by type, positions in
//! `--params` files, secrets, and robustness against arbitrary input.

use wfc::check::{ModuleKey, NoFiles, Session};
use wfc::ir::{Value, Workflow};
use wfc::plan::{bind, BindError, BindInput, Bound, Origin};

/// Every secret value any test uses; no message, help or shown argument may contain one.
const SECRETS: [&str; 5] = [
    "hunter2",
    "s3cr3t-env",
    "s3cr3t-file",
    "pr1v4te-in-file",
    "tok-zz9",
];

const SOURCE: &str = r#"
workflow w {
  param name: string matching "[a-z][a-z0-9-]*"
  param title: string = "untitled"
  param notes: text = ""
  param count: int = 3
  param verbose: bool = false
  param mode: enum("fast", "slow") = "fast"
  param dir: path = "./src//x/.."
  param tags: list<string> matching "[a-z ,]*" = []
  param sizes: list<int> = [1, 2]
  param dirs: list<path> = []
  param token: secret
  task t { run = "true" }
}
"#;

/// Checks `source` with the real checker and returns its first workflow.
fn workflow(source: &str) -> Workflow {
    let mut session = Session::new(&NoFiles);
    let id = session.check_text(ModuleKey::File("t.wf".into()), source.to_string());
    let module = session.module(id);
    assert!(!module.has_errors(), "{:#?}", module.diagnostics);
    module.ir.workflows[0].clone()
}

fn input(args: &[&str]) -> BindInput {
    BindInput {
        args: args.iter().map(|a| a.to_string()).collect(),
        file: None,
        secret_env: vec![("WF_SECRET_TOKEN".into(), "tok-zz9".into())],
        secret_files: Vec::new(),
        secrets_optional: false,
    }
}

fn with_file(mut input: BindInput, name: &str, text: &str) -> BindInput {
    input.file = Some((name.into(), text.into()));
    input
}

/// Asserts that no part of any error shows a secret value.
fn assert_no_secret(errors: &[BindError]) {
    for error in errors {
        let origin = match &error.origin {
            Origin::Arg { text, .. } | Origin::SecretArg { text } => text.clone(),
            _ => String::new(),
        };
        for part in [
            &error.message,
            error.help.as_ref().unwrap_or(&String::new()),
            &origin,
        ] {
            for secret in SECRETS {
                assert!(!part.contains(secret), "{secret:?} shown in {error:#?}");
            }
        }
    }
}

fn ok(input: &BindInput) -> Bound {
    match bind(&workflow(SOURCE), input) {
        Ok(bound) => bound,
        Err(errors) => panic!("unexpected errors: {errors:#?}"),
    }
}

fn fails(input: &BindInput) -> Vec<BindError> {
    match bind(&workflow(SOURCE), input) {
        Ok(bound) => panic!("expected errors, bound {bound:?}"),
        Err(errors) => {
            assert_no_secret(&errors);
            errors
        }
    }
}

fn value(bound: &Bound, name: &str) -> Value {
    let (id, _) = workflow(SOURCE).param(name).expect("param exists");
    bound.get(id).clone()
}

fn s(text: &str) -> Value {
    Value::String(text.into())
}

fn file_at(error: &BindError) -> (usize, usize) {
    match &error.origin {
        Origin::File { line, column, .. } => (*line, *column),
        other => panic!("not a file origin: {other:?}"),
    }
}

#[test]
fn defaults_are_used_and_normalised() {
    let bound = ok(&input(&["name=demo"]));
    assert_eq!(value(&bound, "name"), s("demo"));
    assert_eq!(value(&bound, "title"), s("untitled"));
    assert_eq!(value(&bound, "notes"), s(""));
    assert_eq!(value(&bound, "count"), Value::Int(3));
    assert_eq!(value(&bound, "verbose"), Value::Bool(false));
    assert_eq!(value(&bound, "mode"), s("fast"));
    assert_eq!(value(&bound, "dir"), s("src"));
    assert_eq!(value(&bound, "tags"), Value::List(vec![]));
    assert_eq!(
        value(&bound, "sizes"),
        Value::List(vec![Value::Int(1), Value::Int(2)])
    );
    assert_eq!(value(&bound, "token"), s("tok-zz9"));
    assert_eq!(bound.values.len(), 11);
}

#[test]
fn args_override_the_file_which_overrides_defaults() {
    let file = r#"{"name": "from-file", "title": "file title", "count": 10}"#;
    let bound = ok(&with_file(
        input(&["title=arg title", "count=2"]),
        "p.json",
        file,
    ));
    assert_eq!(value(&bound, "name"), s("from-file"));
    assert_eq!(value(&bound, "title"), s("arg title"));
    assert_eq!(value(&bound, "count"), Value::Int(2));
    assert_eq!(value(&bound, "verbose"), Value::Bool(false));
}

#[test]
fn each_type_is_parsed_from_args() {
    let bound = ok(&input(&[
        "name=a-1",
        "title=x=y",
        "notes=line one\nline two",
        "count=-42",
        "verbose=true",
        "mode=slow",
        "dir=./a//b/../c",
        "tags=a,b , c",
        "sizes=[4, 5]",
        "dirs=.,x/./y/",
    ]));
    assert_eq!(value(&bound, "name"), s("a-1"));
    // Only the first `=` separates the name from the value.
    assert_eq!(value(&bound, "title"), s("x=y"));
    assert_eq!(value(&bound, "notes"), s("line one\nline two"));
    assert_eq!(value(&bound, "count"), Value::Int(-42));
    assert_eq!(value(&bound, "verbose"), Value::Bool(true));
    assert_eq!(value(&bound, "mode"), s("slow"));
    assert_eq!(value(&bound, "dir"), s("a/c"));
    // Spaces around items split at commas are dropped.
    assert_eq!(
        value(&bound, "tags"),
        Value::List(vec![s("a"), s("b"), s("c")])
    );
    assert_eq!(
        value(&bound, "sizes"),
        Value::List(vec![Value::Int(4), Value::Int(5)])
    );
    assert_eq!(value(&bound, "dirs"), Value::List(vec![s("."), s("x/y")]));

    let bound = ok(&input(&["name=a", "sizes=", "tags=[\"x, y\"]", "dir="]));
    assert_eq!(value(&bound, "sizes"), Value::List(vec![]));
    assert_eq!(value(&bound, "tags"), Value::List(vec![s("x, y")]));
    assert_eq!(value(&bound, "dir"), s("."));
}

#[test]
fn ill_typed_args_are_errors_that_name_the_argument() {
    let errors = fails(&input(&[
        "name=a",
        "count=abc",
        "sizes=99999999999999999999",
        "verbose=yes",
        "sizes=1,x",
        "sizes=[1, \"x\"]",
        "sizes=[1,",
        "novalue",
    ]));
    let shown: Vec<(usize, &str)> = errors
        .iter()
        .map(|e| match &e.origin {
            Origin::Arg { index, .. } => (*index, e.message.as_str()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            (1, "`count` must be a whole number (int), not \"abc\""),
            (
                2,
                "item 1 of `sizes` is \"99999999999999999999\", which does not fit in an int \
                 (from -9223372036854775808 to 9223372036854775807)"
            ),
            (3, "`verbose` must be `true` or `false` (bool), not \"yes\""),
            (
                4,
                "item 2 of `sizes` must be a whole number (int), not \"x\""
            ),
            (
                5,
                "item 2 of `sizes` must be a whole number (int), not a string"
            ),
            (
                6,
                "the value of `sizes` starts with `[` but is not a JSON array: EOF while \
                 parsing a value at character 4"
            ),
            (7, "`-p \"novalue\"` has no `=`; `-p` takes NAME=VALUE"),
        ]
    );
    assert_eq!(errors[0].param.as_deref(), Some("count"));
    assert_eq!(
        errors[0].origin,
        Origin::Arg {
            index: 1,
            text: "count=abc".into()
        }
    );
    assert_eq!(errors[2].help.as_deref(), Some("write `true` or `false`"));
}

#[test]
fn unknown_arg_suggests_a_name() {
    let errors = fails(&input(&["name=a", "nmae=b", "zzzzzz=1"]));
    assert_eq!(errors.len(), 2);
    assert_eq!(
        errors[0].message,
        "there is no parameter `nmae` in workflow `w`"
    );
    assert_eq!(errors[0].help.as_deref(), Some("did you mean `name`?"));
    assert_eq!(errors[0].param, None);
    assert_eq!(
        errors[1].help.as_deref(),
        Some(
            "the parameters are `name`, `title`, `notes`, `count`, `verbose`, `mode`, `dir`, \
             `tags`, `sizes`, `dirs`, `token`"
        )
    );
}

#[test]
fn missing_params_are_all_reported_in_order() {
    let mut input = input(&[]);
    input.secret_env.clear();
    let errors = fails(&input);
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].origin, Origin::Missing);
    assert_eq!(errors[0].param.as_deref(), Some("name"));
    assert_eq!(
        errors[0].message,
        "the parameter `name` is required and has no value"
    );
    assert_eq!(
        errors[0].help.as_deref(),
        Some("give it with `-p name=…` or in a `--params` file")
    );
    assert_eq!(errors[1].param.as_deref(), Some("token"));
    assert_eq!(
        errors[1].message,
        "the secret `token` is required and has no value"
    );
    assert_eq!(
        errors[1].help.as_deref(),
        Some(
            "set WF_SECRET_TOKEN in the environment, or pass `--secret token=@FILE` with a \
             file that holds it"
        )
    );
}

#[test]
fn pattern_enum_path_and_line_violations() {
    let errors = fails(&input(&[
        "name=Bad",
        "mode=fsat",
        "dir=../x",
        "dirs=/etc",
        "dirs=a/../../x",
        "dirs=C:\\x",
        "title=two\nlines",
        "tags=ok,NOT",
        "notes=fine\nhere",
    ]));
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        vec![
            "\"Bad\" does not match the pattern of `name`: \"[a-z][a-z0-9-]*\"",
            "\"fsat\" is not one of the values of `mode`",
            "\"../x\" is not a path inside the workspace: its `..` leaves the workspace",
            "\"/etc\" is not a path inside the workspace: it is absolute",
            "\"a/../../x\" is not a path inside the workspace: its `..` leaves the workspace",
            "\"C:\\\\x\" is not a path inside the workspace: it is absolute",
            "the value of `title` must be one line, and \"two\\nlines\" holds a line break",
            "\"NOT\" does not match the pattern of `tags`: \"[a-z ,]*\"",
        ]
    );
    assert_eq!(
        errors[1].help.as_deref(),
        Some("did you mean `fast`? The values are \"fast\", \"slow\"")
    );
    assert_eq!(
        errors[6].help.as_deref(),
        Some("`title` is a `string` parameter; multi-line values need a `text` parameter")
    );
}

#[test]
fn json_file_errors_are_located() {
    let text = r#"{
  "title": 7,
  "tilte": "x",
  "sizes": [1, "two", 3],
  "token": "pr1v4te-in-file",
  "mode": "fsat",
  "count": 1.5
}
"#;
    let errors = fails(&with_file(input(&[]), "p.json", text));
    let located: Vec<((usize, usize), &str)> = errors
        .iter()
        .filter(|e| e.origin != Origin::Missing)
        .map(|e| (file_at(e), e.message.as_str()))
        .collect();
    assert_eq!(
        located,
        vec![
            (
                (2, 12),
                "`title` must be one line of text (string), not an integer"
            ),
            ((3, 3), "there is no parameter `tilte` in workflow `w`"),
            (
                (4, 16),
                "item 2 of `sizes` must be a whole number (int), not a string"
            ),
            (
                (5, 3),
                "`token` is a secret, and a file of parameters is not a secret store"
            ),
            ((6, 11), "\"fsat\" is not one of the values of `mode`"),
            ((7, 12), "`count` must be a whole number (int), not a float"),
        ]
    );
    assert_eq!(errors[0].help.as_deref(), Some("put the value in quotes"));
    assert_eq!(errors[1].help.as_deref(), Some("did you mean `title`?"));
    assert_eq!(
        errors[3].help.as_deref(),
        Some(
            "remove it from `p.json`; set WF_SECRET_TOKEN in the environment, or pass \
             `--secret token=@FILE` with a file that holds it"
        )
    );
    // `name` is still missing, and is reported after everything in the file.
    assert_eq!(errors.last().map(|e| &e.origin), Some(&Origin::Missing));
    assert_eq!(errors.len(), 7);
    if let Origin::File { name, .. } = &errors[0].origin {
        assert_eq!(name, "p.json");
    }
}

#[test]
fn json_columns_count_characters() {
    let text = "{\"title\": \"é\", \"count\": \"x\"}";
    let errors = fails(&with_file(input(&["name=a"]), "p.json", text));
    assert_eq!(errors.len(), 1);
    assert_eq!(file_at(&errors[0]), (1, 25));
}

#[test]
fn json_duplicates_and_non_objects() {
    let errors = fails(&with_file(
        input(&[]),
        "p.json",
        "{\"name\": \"a\",\n \"name\": \"b\"}",
    ));
    assert_eq!(errors.len(), 1);
    assert_eq!(file_at(&errors[0]), (2, 2));
    assert_eq!(errors[0].message, "`name` is given twice in `p.json`");

    let errors = fails(&with_file(input(&["name=a"]), "p.json", "\n  [1, 2]"));
    assert_eq!(errors.len(), 1);
    assert_eq!(file_at(&errors[0]), (2, 3));
    assert_eq!(
        errors[0].message,
        "`p.json` must hold an object whose keys are parameter names, not an array"
    );
}

#[test]
fn toml_file_values_and_errors_are_located() {
    let good = "name = \"from-toml\"\ncount = 0x10\nsizes = [7]\ndirs = ['./a/']\n";
    let bound = ok(&with_file(input(&[]), "p.toml", good));
    assert_eq!(value(&bound, "name"), s("from-toml"));
    assert_eq!(value(&bound, "count"), Value::Int(16));
    assert_eq!(value(&bound, "sizes"), Value::List(vec![Value::Int(7)]));
    assert_eq!(value(&bound, "dirs"), Value::List(vec![s("a")]));

    let text = "# params\ntitle = 7\n\"tilte\" = \"x\"\nsizes = [1, \"two\"]\ntoken = \
                \"pr1v4te-in-file\"\nname = \"ok\"\ncount = 99999999999999999999\n\n[mode]\nx = 1\n";
    let errors = fails(&with_file(input(&[]), "p.toml", text));
    let located: Vec<((usize, usize), &str)> = errors
        .iter()
        .map(|e| (file_at(e), e.message.as_str()))
        .collect();
    assert_eq!(
        located,
        vec![
            (
                (2, 9),
                "`title` must be one line of text (string), not an integer"
            ),
            ((3, 1), "there is no parameter `tilte` in workflow `w`"),
            (
                (4, 13),
                "item 2 of `sizes` must be a whole number (int), not a string"
            ),
            (
                (5, 1),
                "`token` is a secret, and a file of parameters is not a secret store"
            ),
            (
                (7, 9),
                "`count` is \"99999999999999999999\", which does not fit in an int (from \
                 -9223372036854775808 to 9223372036854775807)"
            ),
            (
                (9, 1),
                "`mode` must be one of \"fast\", \"slow\", not a table"
            ),
        ]
    );
}

#[test]
fn syntax_errors_are_located() {
    let errors = fails(&with_file(input(&[]), "p.json", "{\n  \"name\": \"a\",\n}"));
    assert_eq!(errors.len(), 2);
    assert_eq!(file_at(&errors[0]), (3, 1));
    assert_eq!(
        errors[0].message,
        "`p.json` is not valid JSON: trailing comma"
    );
    assert_eq!(errors[0].param, None);
    // The file could not be read, so `name` is reported missing too.
    assert_eq!(errors[1].origin, Origin::Missing);

    let errors = fails(&with_file(
        input(&["name=a"]),
        "p.toml",
        "count = 1\ntitle = \n",
    ));
    assert_eq!(errors.len(), 1);
    assert_eq!(file_at(&errors[0]), (2, 9));
    assert_eq!(
        errors[0].message,
        "`p.toml` is not valid TOML: string values must be quoted, expected literal string"
    );

    let errors = fails(&with_file(input(&["name=a"]), "p.json", ""));
    assert_eq!(file_at(&errors[0]), (1, 1));
}

#[test]
fn unnamed_files_are_json_or_toml() {
    let bound = ok(&with_file(input(&[]), "params", "{\"name\": \"j\"}"));
    assert_eq!(value(&bound, "name"), s("j"));
    let bound = ok(&with_file(input(&[]), "params", "name = 't'"));
    assert_eq!(value(&bound, "name"), s("t"));
    let errors = fails(&with_file(input(&["name=a"]), "params", "{\"a\": }"));
    assert!(errors[0].message.starts_with("`params` is not valid JSON"));
    let errors = fails(&with_file(input(&["name=a"]), "params", "a = = 1"));
    assert!(errors[0].message.starts_with("`params` is not valid TOML"));
}

#[test]
fn secrets_come_from_the_environment_or_a_file() {
    let mut from_env = input(&["name=a"]);
    from_env.secret_env = vec![
        ("WF_SECRET_OTHER".into(), "ignored".into()),
        ("WF_SECRET_TOKEN".into(), "s3cr3t-env".into()),
    ];
    assert_eq!(value(&ok(&from_env), "token"), s("s3cr3t-env"));

    let mut from_file = from_env.clone();
    from_file.secret_files = vec![("token=@/run/tok".into(), Ok("s3cr3t-file\n".into()))];
    assert_eq!(value(&ok(&from_file), "token"), s("s3cr3t-file"));

    let mut crlf = input(&["name=a"]);
    crlf.secret_files = vec![("token=@tok".into(), Ok("s3cr3t-file\r\n".into()))];
    assert_eq!(value(&ok(&crlf), "token"), s("s3cr3t-file"));
}

#[test]
fn secrets_are_never_taken_from_the_command_line() {
    let errors = fails(&input(&["name=a", "token=hunter2"]));
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].message,
        "`token` is a secret, and secrets are never given on the command line, where every \
         user of the machine can see them"
    );
    assert_eq!(
        errors[0].origin,
        Origin::Arg {
            index: 1,
            text: "token=<hidden>".into()
        }
    );

    // A misspelt secret's name hides the value too.
    let errors = fails(&input(&["name=a", "tokne=hunter2", "TOKEN=hunter2"]));
    assert_eq!(errors.len(), 2);
    assert_eq!(
        errors[0].message,
        "there is no parameter `tokne` in workflow `w`"
    );
    assert_eq!(errors[0].help.as_deref(), Some("did you mean `token`?"));
    assert_eq!(
        errors[1].origin,
        Origin::Arg {
            index: 2,
            text: "TOKEN=<hidden>".into()
        }
    );

    let mut given = input(&["name=a"]);
    given.secret_files = vec![
        ("token=hunter2".into(), Ok(String::new())),
        ("hunter2".into(), Ok(String::new())),
        ("token=@empty".into(), Ok("\n".into())),
        (
            "token=@gone".into(),
            Err("No such file or directory".into()),
        ),
        ("tokn=@f".into(), Ok("hunter2".into())),
        ("title=@f".into(), Ok("hunter2".into())),
    ];
    let errors = fails(&given);
    let shown: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| match &e.origin {
            Origin::SecretArg { text } => (text.as_str(), e.message.as_str()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        shown,
        vec![
            (
                "token=<hidden>",
                "`--secret` takes NAME=@FILE, naming a file that holds the secret; the secret \
                 itself is never given on the command line, where every user of the machine \
                 can see it"
            ),
            (
                "<hidden>",
                "`--secret` takes NAME=@FILE, naming a file that holds the secret"
            ),
            (
                "token=@empty",
                "`empty`, the file for the secret `token`, is empty"
            ),
            (
                "token=@gone",
                "cannot use `gone` for the secret `token`: No such file or directory"
            ),
            ("tokn=@f", "there is no secret `tokn` in workflow `w`"),
            ("title=@f", "`title` is a string, not a secret"),
        ]
    );
    assert_eq!(errors[4].help.as_deref(), Some("did you mean `token`?"));

    let mut empty_env = input(&["name=a"]);
    empty_env.secret_env = vec![("WF_SECRET_TOKEN".into(), String::new())];
    let errors = fails(&empty_env);
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].origin,
        Origin::Env {
            name: "WF_SECRET_TOKEN".into()
        }
    );
    assert_eq!(
        errors[0].message,
        "WF_SECRET_TOKEN, the secret `token`, is empty"
    );
}

#[test]
fn errors_are_ordered_by_origin() {
    let mut given = with_file(input(&["count=x", "verbose=1"]), "p.json", "{\"mode\": 1}");
    given.secret_files = vec![("token=hunter2".into(), Ok(String::new()))];
    let errors = fails(&given);
    let origins: Vec<&str> = errors
        .iter()
        .map(|e| match e.origin {
            Origin::Arg { .. } => "arg",
            Origin::SecretArg { .. } => "secret",
            Origin::File { .. } => "file",
            Origin::Env { .. } => "env",
            Origin::Missing => "missing",
        })
        .collect();
    assert_eq!(origins, vec!["arg", "arg", "secret", "file", "missing"]);
}

/// A seeded xorshift generator, so the random test is repeatable without a dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

#[test]
fn random_input_never_panics_nor_shows_secrets() {
    const PIECES: [&str; 44] = [
        "name",
        "title",
        "notes",
        "count",
        "verbose",
        "mode",
        "dir",
        "tags",
        "sizes",
        "dirs",
        "token",
        "=",
        "=",
        ",",
        "[",
        "]",
        "{",
        "}",
        "\"",
        "'",
        ":",
        "\n",
        "\r",
        " ",
        ".",
        "..",
        "/",
        "\\",
        "1",
        "-9",
        "99999999999999999999",
        "true",
        "fast",
        "é",
        "\u{0}",
        "#",
        "@",
        "x",
        "0x1F",
        "1.5",
        "\"\"\"",
        "[[a]]",
        "\\u00e9",
        "hunter2",
    ];
    let workflow = workflow(SOURCE);
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..4000 {
        let random_text = |rng: &mut XorShift, max: usize| {
            let count = rng.below(max);
            (0..count).map(|_| rng.pick(&PIECES)).collect::<String>()
        };
        let args: Vec<String> = (0..rng.below(4))
            .map(|_| random_text(&mut rng, 8))
            .collect();
        let file = match rng.below(4) {
            0 => None,
            n => {
                let name = ["p.json", "p.toml", "params"][n - 1];
                Some((name.to_string(), random_text(&mut rng, 30)))
            }
        };
        let secret_files = (0..rng.below(3))
            .map(|_| {
                let arg = random_text(&mut rng, 5);
                let contents = if rng.below(2) == 0 {
                    Ok("c0ntents-zz\n".to_string())
                } else {
                    Err("unreadable".to_string())
                };
                (arg, contents)
            })
            .collect();
        let input = BindInput {
            args,
            file,
            secret_env: vec![("WF_SECRET_TOKEN".into(), "s3cr3t-env".into())],
            secret_files,
            secrets_optional: false,
        };
        if let Err(errors) = bind(&workflow, &input) {
            // The random text may put anything into arguments and file, and those may be
            // shown; the values given only as secrets never are.
            for error in &errors {
                let origin = match &error.origin {
                    Origin::Arg { text, .. } | Origin::SecretArg { text } => text.as_str(),
                    _ => "",
                };
                let help = error.help.as_deref().unwrap_or("");
                for part in [error.message.as_str(), help, origin] {
                    assert!(!part.contains("s3cr3t-env"), "{error:#?}");
                    assert!(!part.contains("c0ntents-zz"), "{error:#?}");
                }
            }
        }
    }
}

#[test]
fn random_json_and_toml_documents_never_panic() {
    const PIECES: [&str; 30] = [
        "{",
        "}",
        "[",
        "]",
        "\"name\"",
        "\"count\"",
        "\"tags\"",
        "name",
        "count",
        "tags",
        ":",
        "=",
        ",",
        " ",
        "\n",
        "1",
        "-1",
        "1e5",
        "\"x\"",
        "'y'",
        "true",
        "null",
        "[mode]",
        "\"\\ud800\"",
        "\"\\n\"",
        "1979-05-27",
        "inf",
        "# c",
        "a.b",
        "\"é\"",
    ];
    let workflow = workflow(SOURCE);
    let mut rng = XorShift(42);
    for round in 0..4000 {
        let count = rng.below(24);
        let mut text: String = (0..count).map(|_| rng.pick(&PIECES)).collect();
        if round % 2 == 0 {
            text = format!("{{{text}}}");
        }
        let name = ["p.json", "p.toml", "params"][rng.below(3)];
        let input = with_file(input(&["name=a"]), name, &text);
        if let Err(errors) = bind(&workflow, &input) {
            for error in &errors {
                if let Origin::File { line, column, .. } = error.origin {
                    assert!(line >= 1 && column >= 1, "{error:#?}");
                    assert!(line <= text.lines().count().max(1) + 1, "{error:#?}");
                }
            }
        }
    }
}

/// A random scalar or array as JSON text (which is also valid TOML for these values).
fn random_value(rng: &mut XorShift, depth: usize) -> String {
    const SCALARS: [&str; 16] = [
        "1",
        "-7",
        "99999999999999999999",
        "2.5",
        "true",
        "false",
        "\"fast\"",
        "\"fsat\"",
        "\"../x\"",
        "\"./a//b\"",
        "\"a\\nb\"",
        "\"é\"",
        "\"ok-name\"",
        "\"Bad\"",
        "\"\"",
        "\"x y\"",
    ];
    if depth < 2 && rng.below(4) == 0 {
        let items: Vec<String> = (0..rng.below(4))
            .map(|_| random_value(rng, depth + 1))
            .collect();
        format!("[{}]", items.join(", "))
    } else {
        rng.pick(&SCALARS).to_string()
    }
}

#[test]
fn random_well_formed_documents_are_located_inside_the_text() {
    const KEYS: [&str; 14] = [
        "name", "title", "notes", "count", "verbose", "mode", "dir", "tags", "sizes", "dirs",
        "token", "tilte", "naïve", "x y",
    ];
    let workflow = workflow(SOURCE);
    let mut rng = XorShift(7);
    for round in 0..3000 {
        let json = round % 2 == 0;
        let entries: Vec<String> = (0..rng.below(6))
            .map(|_| {
                let key = rng.pick(&KEYS);
                // The secret's value goes only under the secret's key: other values may be
                // shown in messages, a secret's never.
                let value = if key == "token" {
                    "\"pr1v4te-in-file\"".to_string()
                } else {
                    random_value(&mut rng, 0)
                };
                if json {
                    format!("{key:?}: {value}")
                } else if key.contains(' ') || !key.is_ascii() {
                    format!("{key:?} = {value}")
                } else {
                    format!("{key} = {value}")
                }
            })
            .collect();
        let text = if json {
            format!("{{\n  {}\n}}\n", entries.join(",\n  "))
        } else {
            format!("{}\n", entries.join("\n"))
        };
        let name = if json { "p.json" } else { "p.toml" };
        let mut given = with_file(input(&[]), name, &text);
        given.secret_env.clear();
        let Err(errors) = bind(&workflow, &given) else {
            continue;
        };
        assert_no_secret(&errors);
        let lines: Vec<&str> = text.split('\n').collect();
        for error in &errors {
            if let Origin::File { line, column, .. } = error.origin {
                let shown = lines.get(line - 1).map(|l| l.chars().count());
                assert!(
                    shown.is_some_and(|length| column >= 1 && column <= length + 1),
                    "{error:#?} in {text}"
                );
            }
        }
    }
}

#[test]
fn list_args_trim_items_refuse_empty_ones_and_add_up_when_repeated() {
    // The JSON form keeps spaces and empty strings exactly.
    let bound = ok(&input(&["name=a", "tags=[\" a \", \"\"]"]));
    assert_eq!(value(&bound, "tags"), Value::List(vec![s(" a "), s("")]));

    // Repeating a list's `-p` adds its items, in order, whatever form each is in.
    let bound = ok(&input(&["name=a", "sizes=1, 2", "sizes=[3]", "sizes=4"]));
    assert_eq!(
        value(&bound, "sizes"),
        Value::List((1..=4).map(Value::Int).collect())
    );

    let errors = fails(&input(&["name=a", "tags=a,,b,", "sizes=, 1"]));
    let shown: Vec<(&str, Option<&str>)> = errors
        .iter()
        .map(|e| (e.message.as_str(), e.param.as_deref()))
        .collect();
    assert_eq!(
        shown,
        vec![
            (
                "item 2 of `tags` is empty (between commas 1 and 2)",
                Some("tags")
            ),
            (
                "item 4 of `tags` is empty (after the last comma)",
                Some("tags")
            ),
            (
                "item 1 of `sizes` is empty (before the first comma)",
                Some("sizes")
            ),
        ]
    );
    assert_eq!(
        errors[0].help.as_deref(),
        Some("remove the extra comma; an empty string is written in the JSON form, `-p tags='[\"a\", \"\"]'`")
    );
    assert_eq!(
        errors[0].origin,
        Origin::Arg {
            index: 1,
            text: "tags=a,,b,".into()
        }
    );
}

#[test]
fn repeating_a_scalar_arg_is_an_error_like_a_key_repeated_in_a_file() {
    let errors = fails(&input(&[
        "name=a",
        "count=1",
        "count=2",
        "name=b",
        "mode=fast",
    ]));
    let shown: Vec<(&str, &Origin)> = errors
        .iter()
        .map(|e| (e.message.as_str(), &e.origin))
        .collect();
    assert_eq!(
        shown,
        vec![
            (
                "`count` is given more than once with `-p`; a `int` parameter takes one value",
                &Origin::Arg {
                    index: 2,
                    text: "count=2".into()
                }
            ),
            (
                "`name` is given more than once with `-p`; a `string` parameter takes one value",
                &Origin::Arg {
                    index: 3,
                    text: "name=b".into()
                }
            ),
        ]
    );
    assert_eq!(errors[0].help.as_deref(), Some("keep one of them"));
    // Even when the first value was wrong, the second is still a repetition.
    let errors = fails(&input(&["name=a", "count=x", "count=2"]));
    assert_eq!(errors.len(), 2);
    assert!(errors[1].message.contains("more than once"));
}

#[test]
fn a_byte_order_mark_is_skipped_in_json_and_toml_files() {
    for (name, text) in [
        ("p.json", "\u{feff}{\"name\": \"bom\",\n \"count\": \"x\"}"),
        ("p.toml", "\u{feff}name = \"bom\"\ncount = \"x\"\n"),
        ("p", "\u{feff}{\"name\": \"bom\",\n \"count\": \"x\"}"),
    ] {
        // Positions are counted from after the mark, as an editor shows them.
        let errors = fails(&with_file(input(&[]), name, text));
        assert_eq!(errors.len(), 1, "{name}: {errors:#?}");
        assert_eq!(file_at(&errors[0]).0, 2, "{name}");
        let good = text.replace("\"x\"", "7");
        let bound = ok(&with_file(input(&[]), name, &good));
        assert_eq!(value(&bound, "name"), s("bom"), "{name}");
        assert_eq!(value(&bound, "count"), Value::Int(7), "{name}");
    }
}

#[test]
fn a_params_file_of_another_format_is_refused_naming_the_supported_ones() {
    let dir = crate::support::TempDir::new("wfc-params-extension");
    dir.write(
        "w.wf",
        "workflow w {\n  param name: string\n  task t {\n    run = \"echo {{ name }}\"\n  }\n}\n",
    );
    dir.write("values.yaml", "name: a\n");
    let run = crate::support::wfc(dir.path(), &["plan", "w.wf", "--params", "values.yaml"]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains(
            "--params values.yaml: a file of parameters is JSON (`.json`) or TOML (`.toml`), not `.yaml`"
        ),
        "{}",
        run.stderr
    );
    // A BOM-started file and a doubled `-p` reach the same rules through the real binary.
    std::fs::write(
        dir.path().join("values.json"),
        "\u{feff}{\"name\": \"from-file\"}",
    )
    .expect("write");
    let run = crate::support::wfc(dir.path(), &["plan", "w.wf", "--params", "values.json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("from-file"), "{}", run.stdout);
    let run = crate::support::wfc(
        dir.path(),
        &["plan", "w.wf", "-p", "name=a", "-p", "name=b"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: -p name=b: `name` is given more than once with `-p`"),
        "{}",
        run.stderr
    );
}
