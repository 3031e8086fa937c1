//! Binding parameter values: from `-p name=value`, a `--params` file (JSON or TOML), the
//! defaults, and, for secrets, the environment or a file, never the command line.
//!
//! This module does no I/O: the command line reads the files and the environment and
//! passes their contents in [`BindInput`].
//!
//! Precedence: for ordinary parameters `-p` beats the `--params` file, which beats the
//! default; for secrets `--secret NAME=@FILE` beats `WF_SECRET_<NAME>`. When the same name is
//! given twice with `-p` (or `--secret`), the last one wins, as with most command lines;
//! every one of them must still be a valid value. Every value, whatever its origin, is
//! checked against its parameter's type, `matching` pattern, enum values and (for paths)
//! the workspace, and paths are normalised (`./a//b/../c` becomes `a/c`).
//!
//! No message ever holds a secret's value: where an argument that may carry one is shown,
//! the value is replaced by `<hidden>`.

mod file;

use super::limits::MAX_VALUE_BYTES;
use crate::ir::{Param, ParamId, Type, Value, Workflow};
use crate::suggest::{closest, did_you_mean};
use file::{Format, Kind, Node};
use regex::Regex;

/// Everything parameter values can come from.
#[derive(Clone, Debug, Default)]
pub struct BindInput {
    /// Each `-p NAME=VALUE`, in command-line order.
    pub args: Vec<String>,
    /// The `--params FILE`: its name (for messages) and text.
    pub file: Option<(String, String)>,
    /// `WF_SECRET_<NAME>` variables from the environment: (variable name, value).
    pub secret_env: Vec<(String, String)>,
    /// Each `--secret NAME=@FILE`: the argument as given, and the file's contents (or why it
    /// could not be read).
    pub secret_files: Vec<(String, Result<String, String>)>,
    /// Whether a secret may have no value: `wfc plan` shows plans without reading secrets,
    /// since a plan never holds a secret's value. A missing secret is then bound to "".
    pub secrets_optional: bool,
}

/// The bound values of a workflow's parameters, indexed by [`ParamId`].
#[derive(Clone, Debug, PartialEq)]
pub struct Bound {
    /// One value per parameter; secrets hold their value here and nowhere else.
    pub values: Vec<Value>,
}

impl Bound {
    /// The value of parameter `id`.
    pub fn get(&self, id: ParamId) -> &Value {
        &self.values[id.0 as usize]
    }
}

/// Where a bad value came from, so the message can point at it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The `index`-th `-p` argument (0-based), as written.
    Arg {
        /// Its position among the `-p` arguments.
        index: usize,
        /// The argument.
        text: String,
    },
    /// A place in the `--params` file.
    File {
        /// The file's name.
        name: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// An environment variable.
    Env {
        /// Its name.
        name: String,
    },
    /// A `--secret` argument.
    SecretArg {
        /// The argument as given.
        text: String,
    },
    /// Nowhere in particular: a required parameter nobody gave.
    Missing,
}

/// A parameter value that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindError {
    /// The parameter concerned, if the problem names one.
    pub param: Option<String>,
    /// Where the value came from.
    pub origin: Origin,
    /// What is wrong, as a sentence.
    pub message: String,
    /// How to fix it, where a fix is known.
    pub help: Option<String>,
}

/// Binds every parameter of `workflow`: command-line values win over the file, the file over
/// defaults; secrets come from `--secret NAME=@FILE`, else from `WF_SECRET_<NAME>`. Returns
/// every problem found, not just the first, ordered by where they were written: `-p`
/// arguments in order, then `--secret` arguments, then the file by position, then the
/// environment, then parameters nobody gave.
pub fn bind(workflow: &Workflow, input: &BindInput) -> Result<Bound, Vec<BindError>> {
    let mut binder = Binder::new(workflow);
    for (index, arg) in input.args.iter().enumerate() {
        binder.arg(index, arg);
    }
    for (index, (arg, contents)) in input.secret_files.iter().enumerate() {
        binder.secret_arg(index, arg, contents);
    }
    if let Some((name, text)) = &input.file {
        binder.file(name, text);
    }
    binder.environment(&input.secret_env);
    if input.secrets_optional {
        binder.fill_missing_secrets();
    }
    binder.finish()
}

/// The placeholder shown instead of a value that may be a secret.
const HIDDEN: &str = "<hidden>";

/// The longest value, in characters, quoted in a message; longer ones are cut with `…`.
const SHOWN_CHARS: usize = 60;

/// Ranks of origins, the first part of the key errors are sorted by.
const RANK_ARG: u8 = 0;
const RANK_SECRET_ARG: u8 = 1;
const RANK_FILE: u8 = 2;
const RANK_ENV: u8 = 3;
const RANK_MISSING: u8 = 4;

/// A problem before it is placed: what is wrong and how to fix it.
struct Problem {
    message: String,
    help: Option<String>,
}

impl Problem {
    fn new(message: impl Into<String>) -> Self {
        Problem {
            message: message.into(),
            help: None,
        }
    }

    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// A problem found in a value read from a file or a JSON `-p` list, with the byte offset of
/// the value it concerns.
type Located = (usize, Problem);

/// The state of one call to [`bind`].
struct Binder<'w> {
    workflow: &'w Workflow,
    /// Each parameter's `matching` pattern, anchored and compiled once.
    patterns: Vec<Option<Regex>>,
    /// Every error, with the key that orders it.
    errors: Vec<((u8, usize, usize), BindError)>,
    /// Whether anything tried to give each parameter a value, so that a parameter whose only
    /// value was wrong is not also reported as missing.
    attempted: Vec<bool>,
    /// Whether a `--secret` named each parameter; then the environment is not consulted.
    secret_arg_given: Vec<bool>,
    /// Whether a `-p` named each parameter, so that naming a scalar twice is an error.
    arg_given: Vec<bool>,
    /// Values from `-p`.
    from_args: Vec<Option<Value>>,
    /// Values from the `--params` file.
    from_file: Vec<Option<Value>>,
    /// Secret values from `--secret` or the environment.
    secrets: Vec<Option<Value>>,
}

impl<'w> Binder<'w> {
    fn new(workflow: &'w Workflow) -> Self {
        let count = workflow.params.len();
        Binder {
            workflow,
            patterns: workflow
                .params
                .iter()
                .map(|param| {
                    // The checker has already rejected invalid patterns; one that still does
                    // not compile constrains nothing rather than failing every run.
                    param
                        .pattern
                        .as_ref()
                        .and_then(|source| Regex::new(&format!("^(?:{source})$")).ok())
                })
                .collect(),
            errors: Vec::new(),
            attempted: vec![false; count],
            secret_arg_given: vec![false; count],
            arg_given: vec![false; count],
            from_args: vec![None; count],
            from_file: vec![None; count],
            secrets: vec![None; count],
        }
    }

    fn report(
        &mut self,
        key: (u8, usize, usize),
        param: Option<&str>,
        origin: Origin,
        problem: Problem,
    ) {
        self.errors.push((
            key,
            BindError {
                param: param.map(str::to_string),
                origin,
                message: problem.message,
                help: problem.help,
            },
        ));
    }

    /// "there is no parameter `x`" with a suggestion from `names`.
    fn unknown(&self, name: &str, kind: &str, names: &[&str]) -> Problem {
        let problem = Problem::new(format!(
            "there is no {kind} `{name}` in workflow `{}`",
            self.workflow.name
        ));
        let help = match did_you_mean(name, names.iter().copied()) {
            Some(hint) => hint,
            None if names.is_empty() => {
                format!("workflow `{}` has no {kind}s", self.workflow.name)
            }
            None => format!("the {kind}s are {}", backticked(names)),
        };
        problem.help(help)
    }

    fn param_names(&self) -> Vec<&'w str> {
        self.workflow
            .params
            .iter()
            .map(|param| param.name.as_str())
            .collect()
    }

    fn secret_names(&self) -> Vec<&'w str> {
        self.workflow
            .params
            .iter()
            .filter(|param| param.ty == Type::Secret)
            .map(|param| param.name.as_str())
            .collect()
    }

    /// Whether `name`, which names no parameter, is close to the name of a secret: the same
    /// but for case, or what "did you mean" would suggest.
    fn near_a_secret(&self, name: &str) -> bool {
        let secrets = self.secret_names();
        secrets
            .iter()
            .any(|secret| secret.eq_ignore_ascii_case(name))
            || closest(name, self.param_names())
                .is_some_and(|suggestion| secrets.contains(&suggestion))
    }

    /// One `-p NAME=VALUE`.
    fn arg(&mut self, index: usize, arg: &str) {
        let key = (RANK_ARG, index, 0);
        let origin = |text: &str| Origin::Arg {
            index,
            text: text.to_string(),
        };
        let Some((name, value)) = arg.split_once('=') else {
            let known = self.workflow.param(arg);
            if let Some((id, _)) = known {
                self.attempted[id.0 as usize] = true;
            }
            let problem = match known {
                Some((_, param)) if param.ty == Type::Secret => Problem::new(format!(
                    "`{arg}` is a secret, and secrets are never given on the command line, \
                     where every user of the machine can see them"
                ))
                .help(secret_help(&param.name)),
                Some((_, param)) => {
                    Problem::new(format!("`-p {arg}` has no `=`; `-p` takes NAME=VALUE"))
                        .help(format!("write `-p {}=VALUE`", param.name))
                }
                None => Problem::new(format!(
                    "`-p {}` has no `=`; `-p` takes NAME=VALUE",
                    shown(arg)
                ))
                .help("write `-p NAME=VALUE`"),
            };
            let param = known.map(|(_, param)| param.name.as_str());
            self.report(key, param, origin(arg), problem);
            return;
        };
        if name.is_empty() {
            let problem =
                Problem::new("`-p` takes NAME=VALUE, and this argument names no parameter")
                    .help("write `-p NAME=VALUE`");
            self.report(key, None, origin(arg), problem);
            return;
        }
        let Some((id, param)) = self.workflow.param(name) else {
            let problem = self.unknown(name, "parameter", &self.param_names());
            // A misspelt secret's name is most likely followed by the secret: hide it.
            let text = if self.near_a_secret(name) {
                format!("{name}={HIDDEN}")
            } else {
                arg.to_string()
            };
            self.report(key, None, origin(&text), problem);
            return;
        };
        let slot = id.0 as usize;
        self.attempted[slot] = true;
        if param.ty == Type::Secret {
            let problem = Problem::new(format!(
                "`{name}` is a secret, and secrets are never given on the command line, where \
                 every user of the machine can see them"
            ))
            .help(secret_help(name));
            self.report(
                key,
                Some(name),
                origin(&format!("{name}={HIDDEN}")),
                problem,
            );
            return;
        }
        // A second `-p` for a list adds its items; for any other type it would silently
        // replace the first value, as a file that names a key twice would, so it is an error.
        let repeated = std::mem::replace(&mut self.arg_given[slot], true);
        if repeated && !matches!(param.ty, Type::List(_)) {
            let problem = Problem::new(format!(
                "`{name}` is given more than once with `-p`; a `{}` parameter takes one value",
                param.ty
            ))
            .help("keep one of them");
            self.report(key, Some(name), origin(arg), problem);
            return;
        }
        match self.value_from_text(slot, param, value) {
            Ok(Value::List(items)) => match &mut self.from_args[slot] {
                Some(Value::List(earlier)) => earlier.extend(items),
                _ => self.from_args[slot] = Some(Value::List(items)),
            },
            Ok(value) => self.from_args[slot] = Some(value),
            Err(problems) => {
                for problem in problems {
                    self.report(key, Some(name), origin(arg), problem);
                }
            }
        }
    }

    /// One `--secret NAME=@FILE` and what reading the file gave.
    fn secret_arg(&mut self, index: usize, arg: &str, contents: &Result<String, String>) {
        let key = (RANK_SECRET_ARG, index, 0);
        let origin = |text: String| Origin::SecretArg { text };
        let Some((name, rest)) = arg.split_once('=') else {
            // Without `=` the argument may be the secret itself, so it is shown only when it
            // is plainly a parameter's name.
            let known = self
                .workflow
                .param(arg)
                .map(|(_, param)| param.name.as_str());
            let text = known.map_or_else(|| HIDDEN.to_string(), str::to_string);
            let help = match known {
                Some(name) => format!("write `--secret {name}=@FILE`"),
                None => "write `--secret NAME=@FILE`".to_string(),
            };
            let problem =
                Problem::new("`--secret` takes NAME=@FILE, naming a file that holds the secret")
                    .help(help);
            self.report(key, known, origin(text), problem);
            return;
        };
        let known = self
            .workflow
            .param(name)
            .map(|(id, param)| (id.0 as usize, param));
        let Some(path) = rest.strip_prefix('@') else {
            let problem = Problem::new(
                "`--secret` takes NAME=@FILE, naming a file that holds the secret; the secret \
                 itself is never given on the command line, where every user of the machine \
                 can see it",
            )
            .help(secret_help(name));
            if let Some((slot, _)) = known {
                self.attempted[slot] = true;
            }
            let param = known.map(|(_, param)| param.name.as_str());
            self.report(key, param, origin(format!("{name}={HIDDEN}")), problem);
            return;
        };
        let Some((slot, param)) = known else {
            let problem = self.unknown(name, "secret", &self.secret_names());
            self.report(key, None, origin(arg.to_string()), problem);
            return;
        };
        if param.ty != Type::Secret {
            let problem = Problem::new(format!("`{name}` is a {}, not a secret", param.ty)).help(
                format!("give it with `-p {name}=VALUE` or in the `--params` file"),
            );
            self.report(key, Some(name), origin(arg.to_string()), problem);
            return;
        }
        self.attempted[slot] = true;
        self.secret_arg_given[slot] = true;
        match contents {
            Err(why) => {
                let problem = Problem::new(format!(
                    "cannot use `{path}` for the secret `{name}`: {why}"
                ));
                self.report(key, Some(name), origin(arg.to_string()), problem);
            }
            Ok(contents) => {
                // Files usually end with a newline that is not part of the secret.
                let secret = contents
                    .strip_suffix("\r\n")
                    .or_else(|| contents.strip_suffix('\n'))
                    .unwrap_or(contents);
                if secret.is_empty() {
                    let problem = Problem::new(format!(
                        "`{path}`, the file for the secret `{name}`, is empty"
                    ))
                    .help("put the secret in the file");
                    self.report(key, Some(name), origin(arg.to_string()), problem);
                } else if secret.len() > MAX_VALUE_BYTES {
                    let problem = too_long(&format!("the secret `{name}`"), secret.len());
                    self.report(key, Some(name), origin(arg.to_string()), problem);
                } else {
                    self.secrets[slot] = Some(Value::String(secret.to_string()));
                }
            }
        }
    }

    /// The `--params` file.
    fn file(&mut self, name: &str, text: &str) {
        // Editors on Windows start UTF-8 files with a byte order mark, which is no part of
        // the JSON or TOML; positions are counted from after it, as the editor shows them.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let at = |offset: usize| {
            let (line, column) = file::line_column(text, offset);
            (
                (RANK_FILE, line, column),
                Origin::File {
                    name: name.to_string(),
                    line,
                    column,
                },
            )
        };
        let (format, root) = match file::parse(name, text) {
            Ok(parsed) => parsed,
            Err(error) => {
                let (key, origin) = at(error.offset);
                let problem = Problem::new(format!(
                    "`{name}` is not valid {}: {}",
                    error.format.name(),
                    error.message
                ));
                self.report(key, None, origin, problem);
                return;
            }
        };
        let Kind::Table(entries) = root.kind else {
            let (key, origin) = at(root.offset);
            let problem = Problem::new(format!(
                "`{name}` must hold an object whose keys are parameter names, not {}",
                root.kind.describe(format)
            ))
            .help("write `{\"NAME\": VALUE, …}`");
            self.report(key, None, origin, problem);
            return;
        };
        let mut seen: Vec<&str> = Vec::new();
        for entry in &entries {
            let (key, origin) = at(entry.key_offset);
            let Some((id, param)) = self.workflow.param(&entry.key) else {
                let problem = self.unknown(&entry.key, "parameter", &self.param_names());
                self.report(key, None, origin, problem);
                continue;
            };
            let slot = id.0 as usize;
            self.attempted[slot] = true;
            if seen.contains(&entry.key.as_str()) {
                let problem = Problem::new(format!("`{}` is given twice in `{name}`", entry.key))
                    .help("remove one of them");
                self.report(key, Some(&param.name), origin, problem);
                continue;
            }
            seen.push(&entry.key);
            if param.ty == Type::Secret {
                let problem = Problem::new(format!(
                    "`{}` is a secret, and a file of parameters is not a secret store",
                    param.name
                ))
                .help(format!(
                    "remove it from `{name}`; {}",
                    secret_help(&param.name)
                ));
                self.report(key, Some(&param.name), origin, problem);
                continue;
            }
            match self.value_from_node(slot, param, &param.ty, &entry.value, format) {
                Ok(value) => self.from_file[slot] = Some(value),
                Err(problems) => {
                    for (offset, problem) in problems {
                        let (key, origin) = at(offset);
                        self.report(key, Some(&param.name), origin, problem);
                    }
                }
            }
        }
    }

    /// `WF_SECRET_<NAME>` for every secret that no `--secret` gave. Variables that name no
    /// secret of this workflow are ignored: the environment may hold other workflows' secrets.
    fn environment(&mut self, variables: &[(String, String)]) {
        for (slot, param) in self.workflow.params.iter().enumerate() {
            if param.ty != Type::Secret || self.secret_arg_given[slot] {
                continue;
            }
            let variable = env_name(&param.name);
            let Some((index, (_, value))) = variables
                .iter()
                .enumerate()
                .rev()
                .find(|(_, (name, _))| *name == variable)
            else {
                continue;
            };
            self.attempted[slot] = true;
            if value.is_empty() {
                let problem =
                    Problem::new(format!("{variable}, the secret `{}`, is empty", param.name))
                        .help(format!(
                            "set it to the secret, or unset it and pass `--secret {}=@FILE`",
                            param.name
                        ));
                self.report(
                    (RANK_ENV, index, 0),
                    Some(&param.name),
                    Origin::Env { name: variable },
                    problem,
                );
            } else {
                self.secrets[slot] = Some(Value::String(value.clone()));
            }
        }
    }

    /// Binds every secret that has no value to the empty string, for previews.
    fn fill_missing_secrets(&mut self) {
        for (slot, param) in self.workflow.params.iter().enumerate() {
            if param.ty == Type::Secret && self.secrets[slot].is_none() && !self.attempted[slot] {
                self.secrets[slot] = Some(Value::String(String::new()));
            }
        }
    }

    /// Chooses each parameter's value, reports those that have none, and sorts the errors.
    fn finish(mut self) -> Result<Bound, Vec<BindError>> {
        let mut values = Vec::with_capacity(self.workflow.params.len());
        for (slot, param) in self.workflow.params.iter().enumerate() {
            let chosen = if param.ty == Type::Secret {
                self.secrets[slot].take()
            } else if let Some(value) = self.from_args[slot].take() {
                Some(value)
            } else if let Some(value) = self.from_file[slot].take() {
                Some(value)
            } else if let Some(default) = &param.default {
                self.default(slot, param, default)
            } else {
                None
            };
            if chosen.is_none() && !self.attempted[slot] {
                let key = (RANK_MISSING, slot, 0);
                let problem = missing(param);
                self.report(key, Some(&param.name), Origin::Missing, problem);
            }
            values.push(chosen);
        }
        if !self.errors.is_empty() {
            self.errors.sort_by_key(|(key, _)| *key);
            return Err(self.errors.into_iter().map(|(_, error)| error).collect());
        }
        match values.into_iter().collect::<Option<Vec<Value>>>() {
            Some(values) => Ok(Bound { values }),
            // Every parameter without a value has an error above; this is a safety net.
            None => Err(vec![BindError {
                param: None,
                origin: Origin::Missing,
                message: "some parameters have no value".into(),
                help: None,
            }]),
        }
    }

    /// A parameter's default, checked and normalised like any other value (the checker has
    /// already checked it, so a problem here means the two disagree).
    fn default(&mut self, slot: usize, param: &Param, default: &Value) -> Option<Value> {
        let node = value_node(default);
        match self.value_from_node(slot, param, &param.ty, &node, Format::Json) {
            Ok(value) => Some(value),
            Err(problems) => {
                for (_, problem) in problems {
                    let problem = Problem {
                        message: format!("the default of `{}`: {}", param.name, problem.message),
                        help: problem.help,
                    };
                    self.report(
                        (RANK_MISSING, slot, 0),
                        Some(&param.name),
                        Origin::Missing,
                        problem,
                    );
                }
                None
            }
        }
    }

    /// The value of a `-p` argument, parsed by the parameter's type.
    fn value_from_text(
        &self,
        slot: usize,
        param: &Param,
        text: &str,
    ) -> Result<Value, Vec<Problem>> {
        let Type::List(element) = &param.ty else {
            let what = format!("`{}`", param.name);
            return self
                .scalar_from_text(slot, param, &param.ty, text, &what)
                .map_err(|problem| vec![problem]);
        };
        if text.starts_with('[') {
            let node = match file::parse_json(text) {
                Ok(node) => node,
                Err(error) => {
                    let (_, column) = file::line_column(text, error.offset);
                    return Err(vec![Problem::new(format!(
                        "the value of `{}` starts with `[` but is not a JSON array: {} at \
                         character {column}",
                        param.name, error.message
                    ))
                    .help(
                        "write a JSON array such as `[\"a\", \"b\"]`, or the items separated \
                         by commas without brackets",
                    )]);
                }
            };
            return self
                .value_from_node(slot, param, &param.ty, &node, Format::Json)
                .map_err(|problems| problems.into_iter().map(|(_, p)| p).collect());
        }
        if text.trim().is_empty() {
            return Ok(Value::List(Vec::new()));
        }
        let mut items = Vec::new();
        let mut problems = Vec::new();
        // Spaces around an item are dropped (`a, b` is two items, `a` and `b`); an empty item
        // (`a,,b`, a trailing comma) is a mistake, not an empty string. The JSON form keeps
        // items exactly as written, spaces and empty strings included.
        let count = text.split(',').count();
        for (i, item) in text.split(',').map(str::trim).enumerate() {
            let what = format!("item {} of `{}`", i + 1, param.name);
            if item.is_empty() {
                let place = match i {
                    0 => "before the first comma".to_string(),
                    _ if i + 1 == count => "after the last comma".to_string(),
                    _ => format!("between commas {i} and {}", i + 1),
                };
                problems.push(
                    Problem::new(format!("{what} is empty ({place})")).help(format!(
                        "remove the extra comma; an empty string is written in the JSON form, \
                         `-p {}='[\"a\", \"\"]'`",
                        param.name
                    )),
                );
                continue;
            }
            match self.scalar_from_text(slot, param, element, item, &what) {
                Ok(value) => items.push(value),
                Err(problem) => problems.push(problem),
            }
        }
        if problems.is_empty() {
            Ok(Value::List(items))
        } else {
            Err(problems)
        }
    }

    /// One scalar written as plain text; `what` names it in messages.
    fn scalar_from_text(
        &self,
        slot: usize,
        param: &Param,
        ty: &Type,
        text: &str,
        what: &str,
    ) -> Result<Value, Problem> {
        let value = match ty {
            Type::Int => match text.parse::<i64>() {
                Ok(n) => Value::Int(n),
                Err(_) => {
                    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
                    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(too_large(what, text));
                    }
                    return Err(Problem::new(format!(
                        "{what} must be {}, not {}",
                        describe(ty),
                        shown(text)
                    )));
                }
            },
            Type::Bool => match text {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => {
                    return Err(Problem::new(format!(
                        "{what} must be {}, not {}",
                        describe(ty),
                        shown(text)
                    ))
                    .help("write `true` or `false`"))
                }
            },
            Type::List(_) | Type::Record(_) => {
                return Err(Problem::new(format!(
                    "{what} must be {}, and a list cannot hold lists",
                    describe(ty)
                )))
            }
            Type::String | Type::Text | Type::Path | Type::Secret | Type::Enum(_) | Type::Error => {
                Value::String(text.to_string())
            }
        };
        self.check_scalar(slot, param, ty, value)
    }

    /// A value from a file (or a JSON list, or a default), by the type `ty`.
    fn value_from_node(
        &self,
        slot: usize,
        param: &Param,
        ty: &Type,
        node: &Node,
        format: Format,
    ) -> Result<Value, Vec<Located>> {
        let what = format!("`{}`", param.name);
        let Type::List(element) = ty else {
            return self
                .scalar_from_node(slot, param, ty, node, format, &what)
                .map_err(|problem| vec![(node.offset, problem)]);
        };
        let Kind::Array(items) = &node.kind else {
            let mut problem = mismatch(&what, ty, &node.kind, format);
            if matches!(node.kind, Kind::Str(_) | Kind::Int(_) | Kind::Bool(_)) {
                problem = problem.help("put the value in brackets: `[…]`");
            }
            return Err(vec![(node.offset, problem)]);
        };
        let mut values = Vec::new();
        let mut problems = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let what = format!("item {} of `{}`", i + 1, param.name);
            match self.scalar_from_node(slot, param, element, item, format, &what) {
                Ok(value) => values.push(value),
                Err(problem) => problems.push((item.offset, problem)),
            }
        }
        if problems.is_empty() {
            Ok(Value::List(values))
        } else {
            Err(problems)
        }
    }

    fn scalar_from_node(
        &self,
        slot: usize,
        param: &Param,
        ty: &Type,
        node: &Node,
        format: Format,
        what: &str,
    ) -> Result<Value, Problem> {
        let value = match (ty, &node.kind) {
            (Type::Int, Kind::Int(n)) => Value::Int(*n),
            (Type::Int, Kind::BigInt(raw)) => return Err(too_large(what, raw)),
            (Type::Bool, Kind::Bool(b)) => Value::Bool(*b),
            (
                Type::String | Type::Text | Type::Path | Type::Secret | Type::Enum(_) | Type::Error,
                Kind::Str(text),
            ) => Value::String(text.clone()),
            (Type::Error, Kind::Int(n)) => Value::Int(*n),
            (Type::Error, Kind::Bool(b)) => Value::Bool(*b),
            (ty, kind) => {
                let mut problem = mismatch(what, ty, kind, format);
                if ty.is_textual()
                    && matches!(
                        kind,
                        Kind::Int(_) | Kind::BigInt(_) | Kind::Float | Kind::Bool(_)
                    )
                {
                    problem = problem.help("put the value in quotes");
                }
                return Err(problem);
            }
        };
        self.check_scalar(slot, param, ty, value)
    }

    /// The checks every value of a scalar type passes, whatever its origin: one line for
    /// `string` and `path`, the pattern, the enum's values, and a path inside the workspace
    /// (which is also normalised here).
    fn check_scalar(
        &self,
        slot: usize,
        param: &Param,
        ty: &Type,
        value: Value,
    ) -> Result<Value, Problem> {
        let Value::String(text) = value else {
            return Ok(value);
        };
        let name = &param.name;
        // Values travel to commands in environment variables, which cannot hold a NUL. (How
        // long a value may be depends on where it goes: a prompt takes any length, a
        // variable does not, so that is checked when the plan is made.)
        if text.contains('\0') {
            return Err(Problem::new(format!(
                "the value of `{name}` holds a NUL character, which no command can receive"
            )));
        }
        // A carriage return counts as a line break too: alone it makes a terminal overwrite
        // the line, which hides what the value really is.
        if matches!(ty, Type::String | Type::Path) && text.contains(['\n', '\r']) {
            return Err(Problem::new(format!(
                "the value of `{name}` must be one line, and {} holds a line break",
                shown(&text)
            ))
            .help(format!(
                "`{name}` is a `{ty}` parameter; multi-line values need a `text` parameter"
            )));
        }
        match ty {
            Type::String => {
                let pattern = self.patterns.get(slot).and_then(Option::as_ref);
                if let (Some(regex), Some(source)) = (pattern, &param.pattern) {
                    if !regex.is_match(&text) {
                        return Err(Problem::new(format!(
                            "{} does not match the pattern of `{name}`: \"{source}\"",
                            shown(&text)
                        )));
                    }
                }
                Ok(Value::String(text))
            }
            Type::Enum(values) => {
                if values.contains(&text) {
                    return Ok(Value::String(text));
                }
                let list = quoted_list(values);
                let help = match did_you_mean(&text, values.iter().map(String::as_str)) {
                    Some(hint) => format!("{hint} The values are {list}"),
                    None => format!("the values are {list}"),
                };
                Err(Problem::new(format!(
                    "{} is not one of the values of `{name}`",
                    shown(&text)
                ))
                .help(help))
            }
            Type::Path => match crate::workspace_path::normalize(&text) {
                Ok(path) => Ok(Value::String(path)),
                Err(why) => Err(Problem::new(format!(
                    "{} is not a path inside the workspace: {why}",
                    shown(&text)
                ))
                .help("paths are relative to the workspace, without `..` that leaves it")),
            },
            _ => Ok(Value::String(text)),
        }
    }
}

/// The environment variable that holds the secret `name`.
fn env_name(name: &str) -> String {
    format!("WF_SECRET_{}", name.to_uppercase())
}

/// How to give the secret `name`.
fn secret_help(name: &str) -> String {
    format!(
        "set {} in the environment, or pass `--secret {name}=@FILE` with a file that holds it",
        env_name(name)
    )
}

/// The error for a parameter nobody gave.
fn missing(param: &Param) -> Problem {
    let name = &param.name;
    if param.ty == Type::Secret {
        Problem::new(format!("the secret `{name}` is required and has no value"))
            .help(secret_help(name))
    } else {
        Problem::new(format!(
            "the parameter `{name}` is required and has no value"
        ))
        .help(format!(
            "give it with `-p {name}=…` or in a `--params` file"
        ))
    }
}

/// "`x` must be a whole number (int), not a string".
fn mismatch(what: &str, ty: &Type, kind: &Kind, format: Format) -> Problem {
    Problem::new(format!(
        "{what} must be {}, not {}",
        describe(ty),
        kind.describe(format)
    ))
}

/// The error for a secret no environment variable can hold: secrets reach commands only
/// through variables.
fn too_long(what: &str, len: usize) -> Problem {
    Problem::new(format!(
        "{what} is {len} bytes; the limit is {MAX_VALUE_BYTES} bytes, because a secret \
         reaches commands in an environment variable, which Linux limits to 128 KiB"
    ))
}

/// The error for an integer outside i64.
fn too_large(what: &str, raw: &str) -> Problem {
    Problem::new(format!(
        "{what} is {}, which does not fit in an int (from {} to {})",
        shown(raw),
        i64::MIN,
        i64::MAX
    ))
}

/// What values of `ty` look like, for "must be X" messages.
fn describe(ty: &Type) -> String {
    match ty {
        Type::String => "one line of text (string)".into(),
        Type::Text => "text".into(),
        Type::Int => "a whole number (int)".into(),
        Type::Bool => "`true` or `false` (bool)".into(),
        Type::Path => "a path".into(),
        Type::Secret => "a secret".into(),
        Type::Enum(values) => format!("one of {}", quoted_list(values)),
        Type::List(_) | Type::Record(_) => format!("a value of type {ty}"),
        Type::Error => "a value".into(),
    }
}

/// `"a", "b"`.
fn quoted_list(values: &[String]) -> String {
    values
        .iter()
        .map(|value| format!("{value:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "`a`, `b`".
fn backticked(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A value quoted for a message, escaped so it stays on one line, and cut if it is long.
fn shown(text: &str) -> String {
    if text.chars().count() <= SHOWN_CHARS {
        format!("{text:?}")
    } else {
        let cut: String = text.chars().take(SHOWN_CHARS).collect();
        format!("{cut:?}…")
    }
}

/// A [`Value`] as a [`Node`], so defaults go through the same checks as file values.
fn value_node(value: &Value) -> Node {
    let kind = match value {
        Value::String(text) => Kind::Str(text.clone()),
        Value::Int(n) => Kind::Int(*n),
        Value::Bool(b) => Kind::Bool(*b),
        Value::List(items) => Kind::Array(items.iter().map(value_node).collect()),
        // No parameter has a record type: the checker allows records only in outputs.
        Value::Record(_) => Kind::Str(value.to_string()),
    };
    Node { offset: 0, kind }
}
