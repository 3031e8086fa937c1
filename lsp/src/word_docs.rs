//! Descriptions of the words that are not declared in a file: fields, filters, keywords,
//! types and values. Completion shows them as details, hover as the description of the word.

use crate::cursor::BlockKind;

/// What a field of a task, gate, `defaults` or agent profile (the `block` it is in) is for.
/// The block matters where one name means two things: `sandbox` in an agent profile is
/// Codex's own setting, in a task or `defaults` how wfc runs the attempt.
pub fn field_doc(block: BlockKind, name: &str) -> &'static str {
    match (block, name) {
        (BlockKind::Agent, "sandbox") => {
            "Codex's own sandbox mode (`--sandbox`), such as \"read-only\"; default: \"workspace-write\""
        }
        (_, name) => shared_field_doc(name),
    }
}

/// What a field is for, where its name means one thing in every block.
fn shared_field_doc(name: &str) -> &'static str {
    match name {
        "title" => "shown in status and the backend; default: the id",
        "prompt" => "the instructions for an agent task",
        "run" => "a shell command: a command task, run without an agent",
        "accept" => "acceptance criteria, given to the agent with the prompt",
        "verify" => "shell commands that must all exit 0 after the task",
        "agent" => "which agent profile runs it",
        "retry" => "extra attempts after a failure",
        "timeout" => "per attempt, such as 30m",
        "priority" => "0 (most urgent) to 4",
        "labels" => "copied to the backend",
        "workdir" => "where the task runs, inside the workspace",
        "env" => "extra environment for commands and agents",
        "pass_env" => "names of variables passed through from the environment wfc runs in",
        "context" => "named values for the prompt's Context section",
        "isolation" => "where its attempts work: \"git\" (a worktree of their own) or \"none\" (the run's folder); unset: as the run decides",
        "on_conflict" => "when the work of the tasks it waits for conflicts: \"fail\" (the default), \"agent\" (an agent resolves it) or \"human\" (a person does)",
        "retry_from" => "what a retry starts from: \"start\" (a clean worktree at the task's start commit, the default) or \"failed\" (the failed attempt's tree)",
        "setup" => "shell commands run in each attempt's new worktree, in `workdir`, before the task",
        "copy_ignored" => "paths git ignores (such as `.env`) copied from the run's folder into each worktree before `setup`",
        "budget" => "US dollars: on a task, the most its agent sessions may cost; in `defaults`, the run's budget",
        "output" => "`output: TYPE`: the JSON value the task returns, checked when an attempt ends and read by later tasks as `TASK.output`",
        "max" => "the most instances a `for each` over a task's output expands to (100 when not set)",
        "ask" => "the question a person answers",
        "adapter" => "the built-in adapter that runs the profile",
        "model" => "the model the agent CLI uses",
        "max_parallel" => "the most sessions of the profile at once, across every engine sharing the store",
        "max_turns" => "how many turns the agent may take",
        "allow" => "tools the agent may use without asking",
        "deny" => "tools the agent may not use",
        "args" => "extra arguments for the agent CLI",
        "bin" => "the agent CLI's program, if not the usual name on the PATH",
        "command" => "the program and its arguments; the prompt goes to its standard input",
        "permission_mode" => "Claude Code's permission mode",
        "sandbox" => "\"bwrap\" runs the attempt's processes under bubblewrap: its folder writable, the rest read-only, the home hidden; default: \"none\"",
        "approval_mode" => "Gemini's approval mode",
        _ => "",
    }
}

/// What the choice `value` of `field` means, in a task or `defaults`; empty for any other
/// word. The values are those of the checker's [`wfc::ir::Choice`] types.
pub fn choice_doc(block: BlockKind, field: &str, value: &str) -> &'static str {
    if block == BlockKind::Agent {
        return "";
    }
    match (field, value) {
        ("isolation", "git") => "the attempts work in a git worktree of their own, at the task's start commit",
        ("isolation", "none") => "the attempts work in the run's folder as it is; their changes stay there, uncommitted",
        ("on_conflict", "fail") => "the task fails before it starts, naming the conflicting files and the tasks that changed them (the default)",
        ("on_conflict", "agent") => "a fresh session of the task's agent resolves the conflicted tree; then the task's own work follows",
        ("on_conflict", "human") => "the task waits like a gate: a person resolves the conflicted worktree, then `wfc approve RUN TASK`",
        ("retry_from", "start") => "a retry starts from a clean worktree at the task's start commit, told what the failed attempt changed (the default)",
        ("retry_from", "failed") => "a retry goes on from the failed attempt's tree",
        ("sandbox", "none") => "the attempt's processes run as the user, like any other (the default)",
        ("sandbox", "bwrap") => "every process of the attempt runs under bubblewrap: its folder writable, the rest of the file system read-only, the user's home hidden but for what the agent CLI needs",
        _ => "",
    }
}

/// What a filter does.
pub fn filter_doc(name: &str) -> &'static str {
    match name {
        "slug" => "lower-case words joined by `-`",
        "upper" => "upper case",
        "lower" => "lower case",
        "trim" => "without leading and trailing white space",
        "join" => "a list's elements joined by a separator",
        "words" => "a list's elements as separate shell words, each passed as data",
        "json" => "the value as JSON",
        "default" => "the text used when a result is missing",
        _ => "",
    }
}

/// What a keyword means, with the form it is written in.
pub fn keyword_doc(word: &str) -> &'static str {
    match word {
        "import" => "`import \"PATH\" as NAME` loads another `.wf` file (its path relative to this one) or a stdlib module (`std/NAME`), whose workflows `use NAME.WORKFLOW(…)` then inlines.",
        "as" => "`as NAME` names what an `import` loads, or the node a `use` inlines.",
        "agent" => "`agent NAME { adapter = \"…\" … }` is an agent profile: which CLI runs the prompts of the tasks that name it (`agent = NAME`), with its settings.",
        "workflow" => "`workflow NAME { … }` is a graph of tasks, gates and `use` blocks with its parameters: what a run executes.",
        "param" => "`param NAME: TYPE [matching \"REGEX\"] [= DEFAULT]` is a value the run is given; without a default, a run must give it.",
        "defaults" => "`defaults { … }` gives field values to every task of the workflow that does not set them itself.",
        "task" => "`task NAME [for each VAR in LIST] [after …] [when COND] { … }` is one unit of work: a `prompt` for an agent, or a `run` command.",
        "gate" => "`gate NAME [after …] { ask = \"…\" }` waits for a person to approve before what comes after it runs.",
        "use" => "`use MODULE.WORKFLOW(PARAM = …) as NAME` inlines an imported workflow's tasks here, with its parameters given as arguments.",
        "after" => "`after A, B` makes the node wait until `A` and `B` have succeeded (a gate: been approved).",
        "for" | "each" | "in" => "`for each VAR in LIST` makes one instance of the task for each element of the list, with `VAR` bound to it.",
        "when" => "`when COND` keeps the node only if the condition holds when the plan is made; otherwise it is left out, and what waits for it waits for its dependencies instead.",
        "matching" => "`matching \"REGEX\"` requires a string parameter's value (each element of a list) to match the pattern, whole.",
        "true" | "false" => "a `bool` value: for `bool` parameters, `when` conditions and settings that are on or off.",
        _ => "",
    }
}

/// What a parameter type holds.
pub fn type_doc(word: &str) -> &'static str {
    match word {
        "string" => "one line of text",
        "text" => "free text of any number of lines",
        "int" => "an integer",
        "bool" => "`true` or `false`",
        "path" => "a relative path inside the workspace",
        "secret" => "text that is never shown: given in the environment (`WF_SECRET_NAME`) or with `--secret`, and redacted from everything stored or shown",
        "enum" => "`enum(\"a\", \"b\", …)`: one of the listed strings",
        "list" => "`list<T>`: a list of values of a scalar type `T` (in a task's output, also of records)",
        _ => "",
    }
}

/// A duration such as `2d` in words and seconds: "2 days = 172800 s".
pub fn duration_doc(word: &str) -> Option<String> {
    let unit_at = word.len().checked_sub(1)?;
    let (digits, unit) = word.split_at(unit_at);
    let count: u64 = digits.parse().ok()?;
    let (name, seconds) = match unit {
        "s" => ("second", 1),
        "m" => ("minute", 60),
        "h" => ("hour", 3_600),
        "d" => ("day", 86_400),
        _ => return None,
    };
    let plural = if count == 1 { "" } else { "s" };
    Some(match count.checked_mul(seconds) {
        Some(total) => format!("{count} {name}{plural} = {total} s"),
        None => format!("{count} {name}{plural}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wfc::check::{DEFAULTS_FIELDS, GATE_FIELDS, TASK_FIELDS};
    use wfc::ir::{Adapter, Choice, OnConflict, RetryFrom, Sandbox, TaskIsolation};

    #[test]
    fn every_field_the_checker_takes_is_described() {
        let blocks = [
            (BlockKind::Task, &TASK_FIELDS[..]),
            (BlockKind::Defaults, &DEFAULTS_FIELDS[..]),
            (BlockKind::Gate, &GATE_FIELDS[..]),
        ];
        for (block, fields) in blocks {
            for field in fields {
                assert!(!field_doc(block, field).is_empty(), "{block:?} `{field}`");
            }
        }
        for adapter in Adapter::ALL {
            for (setting, _) in adapter.settings() {
                assert!(
                    !field_doc(BlockKind::Agent, setting).is_empty(),
                    "`{setting}`"
                );
            }
        }
        assert_ne!(
            field_doc(BlockKind::Agent, "sandbox"),
            field_doc(BlockKind::Task, "sandbox")
        );
    }

    fn described<T: Choice>(field: &str) {
        for (value, _) in T::CHOICES {
            assert!(
                !choice_doc(BlockKind::Task, field, value).is_empty(),
                "`{field} = {value:?}`"
            );
            assert_eq!(choice_doc(BlockKind::Agent, field, value), "");
        }
    }

    #[test]
    fn every_choice_of_a_work_field_is_described() {
        described::<TaskIsolation>("isolation");
        described::<OnConflict>("on_conflict");
        described::<RetryFrom>("retry_from");
        described::<Sandbox>("sandbox");
    }
}
