//! Before a run is stored, every agent program its tasks will start is looked up, so a typo in
//! `--agent`, a profile nobody declared or a CLI that is not installed stops `wfc run` with
//! nothing stored, instead of failing task after task (or waiting for a worker that would run
//! it with a program nobody meant).

use super::{cli_agent, Adapters, Profile};
use crate::ir::Adapter;
use crate::plan::{Action, Plan};
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Checks that every agent task of `plan` has an adapter and that the program it will start
/// exists and is executable (found on the PATH, or relative to the task's workdir when it
/// names a folder). Returns every problem, one line each.
pub fn check_programs(adapters: &Adapters, plan: &Plan, workspace: &Path) -> Result<(), String> {
    let mut problems = BTreeSet::new();
    for task in &plan.tasks {
        let Action::Agent { profile, agent, .. } = &task.action else {
            continue;
        };
        if task.action.waits_for_person() {
            continue;
        }
        let spec = match adapters.choose(profile.as_deref(), agent.as_ref()) {
            Ok(spec) => spec,
            Err(reason) => {
                problems.insert(format!("task `{}`: {reason}", task.id));
                continue;
            }
        };
        let settings = Profile::of(&spec);
        let (program, hint) = if spec.adapter == Adapter::Command.name() {
            match settings.strings("command").into_iter().next() {
                Some(program) => (program, "check the profile's `command` setting"),
                None => {
                    problems.insert(format!(
                        "task `{}`: the `command` profile needs `command = [\"program\", …]`",
                        task.id
                    ));
                    continue;
                }
            }
        } else {
            match cli_agent(&spec.adapter) {
                Some(agent) => (
                    settings
                        .string("bin")
                        .map(str::to_string)
                        .unwrap_or_else(|| agent.info().default_bin.to_string()),
                    agent.info().install_hint,
                ),
                None => {
                    problems.insert(format!(
                        "task `{}`: `{}` is not an agent adapter of this build of wfc",
                        task.id, spec.adapter
                    ));
                    continue;
                }
            }
        };
        if let Err(reason) = executable(&program, &workspace.join(&task.workdir)) {
            problems.insert(format!(
                "{} (adapter `{}`) cannot be started: {reason}. {hint}",
                describe(profile.as_deref(), &program),
                spec.adapter
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.into_iter().collect::<Vec<_>>().join("\n"))
    }
}

/// Names the program and the profile that asks for it.
fn describe(profile: Option<&str>, program: &str) -> String {
    match profile {
        Some(profile) => format!("`{program}` of the agent profile `{profile}`"),
        None => format!("`{program}`"),
    }
}

/// Where `program` is, as the process runner will start it, if it is an executable file.
fn executable(program: &str, workdir: &Path) -> Result<PathBuf, String> {
    let candidates: Vec<PathBuf> = if program.contains('/') {
        vec![workdir.join(program)]
    } else {
        std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join(program))
            .collect()
    };
    let mut not_executable = None;
    for candidate in candidates {
        match std::fs::metadata(&candidate) {
            Ok(meta) if meta.is_file() && meta.permissions().mode() & 0o111 != 0 => {
                return Ok(candidate)
            }
            Ok(meta) if meta.is_file() => not_executable = Some(candidate),
            _ => {}
        }
    }
    Err(match not_executable {
        Some(path) => format!("{} is not executable", path.display()),
        None if program.contains('/') => {
            format!("{} does not exist", workdir.join(program).display())
        }
        None => "it is not on the PATH".to_string(),
    })
}
