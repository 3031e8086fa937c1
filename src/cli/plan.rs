//! `wfc plan FILE|std/NAME [WORKFLOW] -p NAME=VALUE … [--params FILE] [--secret NAME=@FILE]
//! [--json]`: instantiate a workflow without running it, and show every task as it will run.

use super::output::Output;
use super::target::load_workflow;
use crate::ir::{Type, Value};
use crate::plan::{bind, instantiate, render_plan, BindError, BindInput, Bound, Origin, Plan};
use crate::user_file::{read_user_text, MAX_USER_FILE_BYTES};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Where parameter values come from on the command line.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ParamArgs {
    /// A parameter value, NAME=VALUE; repeatable. Lists: a,b,c or ["a","b"].
    #[arg(short = 'p', long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// A JSON or TOML file of parameter values.
    #[arg(long = "params", value_name = "FILE")]
    pub params_file: Option<PathBuf>,
    /// A secret's value from a file, NAME=@FILE; repeatable. Secrets are also read from
    /// WF_SECRET_<NAME> in the environment, and never from the command line.
    #[arg(long = "secret", value_name = "NAME=@FILE")]
    pub secrets: Vec<String>,
}

impl ParamArgs {
    /// Reads the files and the environment the values come from.
    pub fn input(&self) -> Result<BindInput, String> {
        let file = match &self.params_file {
            Some(path) => {
                check_params_extension(path)?;
                let text = read_user_text(path, MAX_USER_FILE_BYTES)?;
                Some((path.display().to_string(), text))
            }
            None => None,
        };
        let secret_env = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .filter(|(name, _)| name.starts_with("WF_SECRET_"))
            .collect();
        let secret_files = self
            .secrets
            .iter()
            .map(|arg| {
                let contents = match arg.split_once("=@") {
                    Some((_, path)) => read_user_text(Path::new(path), MAX_USER_FILE_BYTES),
                    None => Err("not of the form NAME=@FILE".to_string()),
                };
                (arg.clone(), contents)
            })
            .collect();
        Ok(BindInput {
            args: self.params.clone(),
            file,
            secret_env,
            secret_files,
            secrets_optional: false,
        })
    }
}

/// Refuses a `--params` file whose extension names a format wfc does not read (a `.yaml`
/// file would otherwise be guessed at and reported as broken TOML). A name without an
/// extension is read as JSON if it parses as JSON, else as TOML.
fn check_params_extension(path: &Path) -> Result<(), String> {
    let Some(extension) = path.extension() else {
        return Ok(());
    };
    let extension = extension.to_string_lossy().to_ascii_lowercase();
    if extension == "json" || extension == "toml" {
        return Ok(());
    }
    Err(format!(
        "--params {}: a file of parameters is JSON (`.json`) or TOML (`.toml`), not `.{extension}`",
        path.display()
    ))
}

/// Prints why parameter values cannot be used.
pub fn report_bind_errors(errors: &[BindError], output: &Output) {
    for error in errors {
        let place = match &error.origin {
            Origin::Arg { text, .. } => format!("-p {text}"),
            Origin::File { name, line, column } => format!("{name}:{line}:{column}"),
            Origin::Env { name } => format!("the environment variable {name}"),
            Origin::SecretArg { text } => {
                format!("--secret {}", text.split('=').next().unwrap_or(""))
            }
            Origin::Missing => "missing".to_string(),
        };
        output.error(&format!("error: {place}: {}", error.message));
        if let Some(help) = &error.help {
            output.error(&format!("  help: {help}"));
        }
    }
}

/// A workflow planned from the command line: what `wfc plan` shows and `wfc run` runs.
pub struct Planned {
    /// The plan.
    pub plan: Plan,
    /// The secrets' values by upper-cased parameter name (as in `WF_SECRET_<NAME>`); empty
    /// values where secrets were optional and not given.
    pub secrets: HashMap<String, String>,
}

/// The values of `workflow`'s secrets in `bound`, by upper-cased parameter name (as in
/// `WF_SECRET_<NAME>`).
pub fn secret_values(workflow: &crate::ir::Workflow, bound: &Bound) -> HashMap<String, String> {
    workflow
        .params
        .iter()
        .zip(&bound.values)
        .filter(|(param, _)| param.ty == Type::Secret)
        .filter_map(|(param, value)| match value {
            Value::String(text) => Some((param.name.to_uppercase(), text.clone())),
            _ => None,
        })
        .collect()
}

/// Checks the file, chooses the workflow, binds the parameters and instantiates the plan for
/// run `run_id`; on failure prints why and returns the exit code.
pub fn plan_from_args(
    path: &Path,
    workflow: Option<&str>,
    params: &ParamArgs,
    secrets_optional: bool,
    run_id: &str,
    output: &Output,
) -> Result<Planned, ExitCode> {
    let (loaded, chosen) = load_workflow(path, workflow, output)?;
    let mut input = params.input().map_err(|message| output.fail(&message))?;
    input.secrets_optional = secrets_optional;
    let ir = &loaded.session.module(loaded.module).ir.workflows[chosen.0 as usize];
    let bound = bind(ir, &input).map_err(|errors| {
        report_bind_errors(&errors, output);
        ExitCode::from(1)
    })?;
    let secrets = secret_values(ir, &bound);
    let plan =
        instantiate(&loaded.session, loaded.module, chosen, &bound, run_id).map_err(|errors| {
            for error in errors {
                let task = error
                    .task
                    .map(|t| format!("task `{t}`: "))
                    .unwrap_or_default();
                output.error(&format!("error: {task}{}", error.message));
            }
            ExitCode::from(1)
        })?;
    Ok(Planned { plan, secrets })
}

/// Runs `wfc plan`.
pub fn run(
    path: &Path,
    workflow: Option<&str>,
    params: &ParamArgs,
    as_json: bool,
    output: &Output,
) -> ExitCode {
    // A plan holds no secret's value, so showing one needs none.
    let plan = match plan_from_args(path, workflow, params, true, "<run id>", output) {
        Ok(planned) => planned.plan,
        Err(code) => return code,
    };
    if as_json {
        output.stdout_line(&serde_json::to_string_pretty(&plan).unwrap_or_default());
    } else {
        output.stdout_line(render_plan(&plan).trim_end());
    }
    ExitCode::SUCCESS
}
