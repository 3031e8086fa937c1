//! One-line descriptions of the words that are not declared in a file: fields and filters.
//! Completion shows them as details, hover as the description of the word.

/// What a field of a task, gate, `defaults` or agent profile is for.
pub fn field_doc(name: &str) -> &'static str {
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
        "context" => "named values for the prompt's Context section",
        "ask" => "the question a person answers",
        "adapter" => "the built-in adapter that runs the profile",
        "model" => "the model the agent CLI uses",
        "max_turns" => "how many turns the agent may take",
        "allow" => "tools the agent may use without asking",
        "deny" => "tools the agent may not use",
        "args" => "extra arguments for the agent CLI",
        "bin" => "the agent CLI's program, if not the usual name on the PATH",
        "command" => "the program and its arguments; the prompt goes to its standard input",
        "permission_mode" => "Claude Code's permission mode",
        "sandbox" => "Codex's sandbox mode",
        "approval_mode" => "Gemini's approval mode",
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
