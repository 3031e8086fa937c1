//! `wfc plan FILE|std/NAME [WORKFLOW] -p NAME=VALUE … [--params FILE] [--secret NAME=@FILE]
//! [--json]`: instantiate a workflow without running it, and show every task as it will run.

use super::output::Output;
use super::target::load;
use crate::plan::{bind, instantiate, render_plan, BindError, BindInput, Origin};
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
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
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
                    Some((_, path)) => std::fs::read_to_string(path)
                        .map_err(|e| format!("cannot read {path}: {e}")),
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

/// Runs `wfc plan`.
pub fn run(
    path: &Path,
    workflow: Option<&str>,
    params: &ParamArgs,
    as_json: bool,
    output: &Output,
) -> ExitCode {
    let loaded = match load(path, output) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let chosen = match loaded.workflow(workflow, output) {
        Ok(chosen) => chosen,
        Err(code) => return code,
    };
    let mut input = match params.input() {
        Ok(input) => input,
        Err(message) => return output.fail(&message),
    };
    // A plan holds no secret's value, so showing one needs none.
    input.secrets_optional = true;
    let ir = &loaded.session.module(loaded.module).ir.workflows[chosen.0 as usize];
    let bound = match bind(ir, &input) {
        Ok(bound) => bound,
        Err(errors) => {
            report_bind_errors(&errors, output);
            return ExitCode::from(1);
        }
    };
    let plan = match instantiate(&loaded.session, loaded.module, chosen, &bound, "<run id>") {
        Ok(plan) => plan,
        Err(errors) => {
            for error in errors {
                let task = error
                    .task
                    .map(|t| format!("task `{t}`: "))
                    .unwrap_or_default();
                output.error(&format!("error: {task}{}", error.message));
            }
            return ExitCode::from(1);
        }
    };
    if as_json {
        output.stdout_line(&serde_json::to_string_pretty(&plan).unwrap_or_default());
    } else {
        output.stdout_line(render_plan(&plan).trim_end());
    }
    ExitCode::SUCCESS
}
