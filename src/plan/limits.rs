//! What a process can receive. Every value reaches a command in an environment variable
//! (`WF_ARG_n` or the task's `env`), and the script reaches `sh -c` as one argument; Linux
//! refuses to start a process with a longer argument or environment string than
//! `MAX_ARG_STRLEN`, or with more than `ARG_MAX` of them in all ("Argument list too long").
//! A value that cannot be passed is refused when it is bound or planned, naming it, rather
//! than failing every task that uses it at run time.
//!
//! It also holds the bounds on a plan's size: how many tasks, and how long an id.

use super::spec::{EnvValue, EnvVar, Shell, TaskSpec, ValuePart};

/// The longest argument or environment string Linux passes to a program (`MAX_ARG_STRLEN`,
/// 32 pages of 4 KiB), counting an environment variable's name, its `=` and the final NUL.
pub const MAX_ENV_STRING_BYTES: usize = 128 * 1024;

/// The longest secret: what fits in `WF_ARG_1`, the shortest variable that can hold it
/// (a secret reaches commands only through variables). Other values may be longer when they
/// go only into prompts; the variables they make are checked when the plan is made.
pub const MAX_VALUE_BYTES: usize = MAX_ENV_STRING_BYTES - "WF_ARG_1=".len() - 1;

/// The most a task may pass to one process: its script, its variables and the task's `env`,
/// together. Linux's usual `ARG_MAX` is 2 MiB (a quarter of an 8 MiB stack); half of it is
/// kept for the environment wfc and agents add (`PATH`, `HOME`, credentials).
pub const MAX_PROCESS_BYTES: usize = 1024 * 1024;

/// The bytes a variable takes in a process's environment, as far as the plan knows: its
/// name, `=`, the text known now and the final NUL. Secrets and results are filled in at
/// run time and counted as empty here; secrets were bounded when they were bound.
pub fn env_string_bytes(variable: &EnvVar) -> usize {
    let known = match &variable.value {
        EnvValue::Text { text } => text.len(),
        EnvValue::Parts { parts } => parts
            .iter()
            .map(|part| match part {
                ValuePart::Text { text } => text.len(),
                ValuePart::Secret { .. } | ValuePart::Result { .. } | ValuePart::Element { .. } => {
                    0
                }
            })
            .sum(),
    };
    variable.name.len() + 1 + known + 1
}

/// Why the processes of `task` could not be started, if they could not: a script longer
/// than one argument may be, or a command (its script, its variables and the task's `env`)
/// over [`MAX_PROCESS_BYTES`]. Single variables are checked where they are made, where the
/// parameters they hold are known.
pub fn process_problems(task: &TaskSpec) -> Vec<String> {
    let shared: usize = task.env.iter().map(env_string_bytes).sum();
    // A variable over its own limit has been reported already; one mistake, one error.
    let too_long = |variables: &[EnvVar]| {
        variables
            .iter()
            .any(|variable| env_string_bytes(variable) > MAX_ENV_STRING_BYTES)
    };
    let env_too_long = too_long(&task.env);
    let run = match &task.action {
        super::spec::Action::Command { run } => Some(("its `run` command", run)),
        _ => None,
    };
    let verify = task
        .verify
        .iter()
        .map(|shell| ("a `verify` command", shell));
    let mut problems = Vec::new();
    for (what, shell) in run.into_iter().chain(verify) {
        let script = shell.script.len() + 1;
        if script > MAX_ENV_STRING_BYTES {
            problems.push(format!(
                "{what} is {} bytes long; a command is passed to `sh -c` as one argument, \
                 and Linux passes at most {MAX_ENV_STRING_BYTES} bytes (128 KiB) in one",
                shell.script.len()
            ));
            continue;
        }
        let total = script + shell_variables(shell) + shared;
        if total > MAX_PROCESS_BYTES && !env_too_long && !too_long(&shell.args) {
            problems.push(format!(
                "{what} would receive {total} bytes of script and environment variables; \
                 the limit is {MAX_PROCESS_BYTES} bytes (1 MiB), half of Linux's usual \
                 ARG_MAX"
            ));
        }
    }
    if run.is_none() && shared > MAX_PROCESS_BYTES && !env_too_long {
        problems.push(format!(
            "its `env` holds {shared} bytes; the limit is {MAX_PROCESS_BYTES} bytes (1 MiB), \
             half of Linux's usual ARG_MAX"
        ));
    }
    problems
}

fn shell_variables(shell: &Shell) -> usize {
    shell.args.iter().map(env_string_bytes).sum()
}

/// The most tasks a plan may have. `for each` and `use` multiply: a workflow that uses
/// another twice, which uses another twice, and so on, doubles at every level, so a short
/// file could otherwise ask for more tasks than memory holds.
pub const MAX_PLAN_TASKS: usize = 200_000;

/// The longest task id, in bytes. Ids grow with `use` nesting (`a.b.c.task`) and with
/// `for each` keys; they are shown in every listing, status line and backend.
pub const MAX_TASK_ID_BYTES: usize = 1024;
