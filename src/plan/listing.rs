//! The plan as people read it (`wfc plan`): each task in the order it can run, what it waits
//! for, and exactly what it will do. Values of secrets and results show as placeholders.

use super::spec::{Action, EnvValue, Plan, PromptPart, Shell, TaskSpec, ValuePart};

/// The plan as people read it: each task in the order it can run, with what it waits for and
/// exactly what it will do.
pub fn render_plan(plan: &Plan) -> String {
    let mut out = String::new();
    let count = plan.tasks.len();
    out.push_str(&format!(
        "plan of workflow `{}` from {}: {count} task{}\n",
        plan.workflow,
        plan.source,
        if count == 1 { "" } else { "s" }
    ));
    if !plan.params.is_empty() {
        out.push_str("\nparameters\n");
        for param in &plan.params {
            let value = match &param.value {
                serde_json::Value::Null => "<secret, read when the run starts>".to_string(),
                other => other.to_string(),
            };
            out.push_str(&format!("  {}: {} = {value}\n", param.name, param.ty));
        }
    }
    for (index, task) in plan.tasks.iter().enumerate() {
        let kind = match &task.action {
            Action::Command { .. } => "command".to_string(),
            Action::Gate { .. } => "gate".to_string(),
            Action::Agent {
                profile: Some(profile),
                agent: Some(agent),
                ..
            } => {
                format!("agent {profile} ({})", agent.adapter)
            }
            Action::Agent { .. } => "agent (the run's --agent)".to_string(),
        };
        if let Some(repeat) = &task.repeat {
            loop_lines(&mut out, index, task, repeat);
            continue;
        }
        out.push_str(&format!("\n{}. {}  [{kind}]\n", index + 1, task.id));
        if task.title != task.id {
            out.push_str(&format!("   title:   {}\n", visible(&task.title)));
        }
        let after = if task.deps.is_empty() {
            "nothing".to_string()
        } else {
            task.after_text()
        };
        out.push_str(&format!("   after:   {after}\n"));
        if let Some(condition) = &task.condition {
            out.push_str(&format!(
                "   when:    {} (decided when it is claimed; false skips it)\n",
                visible(&condition.text())
            ));
        }
        let mut settings = Vec::new();
        if task.retry > 0 {
            settings.push(format!("retry {}", task.retry));
        }
        if let Some(seconds) = task.timeout_secs {
            settings.push(format!("timeout {}", duration_text(seconds)));
        }
        if task.priority != 2 {
            settings.push(format!("priority {}", task.priority));
        }
        if task.workdir != "." {
            settings.push(format!("workdir {}", task.workdir));
        }
        if !task.labels.is_empty() {
            settings.push(format!("labels {}", task.labels.join(", ")));
        }
        if !settings.is_empty() {
            out.push_str(&format!("   with:    {}\n", settings.join(", ")));
        }
        for var in &task.env {
            out.push_str(&format!(
                "   env:     {}={}\n",
                var.name,
                visible(&env_display(&var.value))
            ));
        }
        match &task.action {
            Action::Command { run } => shell_lines(&mut out, "run", run),
            Action::Gate { ask, .. } => {
                out.push_str("   ask:\n");
                quote(&mut out, &prompt_text(ask));
            }
            Action::Agent { prompt, .. } => {
                out.push_str("   prompt:\n");
                quote(&mut out, &prompt_text(prompt));
            }
        }
        for command in &task.verify {
            shell_lines(&mut out, "verify", command);
        }
        if let Some(output) = &task.output {
            out.push_str(&format!("   output:  {}\n", output.ty));
        }
        if let Some(fan_out) = &task.fan_out {
            out.push_str(&format!(
                "   expands: {} ← {} at run time (at most {})\n",
                task.id,
                fan_out.source_text(),
                fan_out.max
            ));
        }
    }
    out
}

/// The lines of the task that decides a loop's round: what repeats, until what, how often.
fn loop_lines(out: &mut String, index: usize, task: &TaskSpec, repeat: &super::repeat::LoopSpec) {
    out.push_str(&format!(
        "\n{}. {}  [loop: decides round {} of at most {}]\n",
        index + 1,
        task.id,
        repeat.round,
        repeat.max
    ));
    out.push_str(&format!("   after:   {}\n", task.after_text()));
    out.push_str(&format!(
        "   until:   {} (decided when the round has run)\n",
        visible(&repeat.until.text())
    ));
    let round: Vec<String> = repeat
        .body
        .iter()
        .map(|id| super::repeat::round_id(id, repeat.round + 1))
        .collect();
    out.push_str(&format!(
        "   repeats: {} at run time while it is false (round {} on: {})\n",
        repeat.body.join(", "),
        repeat.round + 1,
        round.join(", ")
    ));
}

/// A duration in seconds as a `.wf` file writes it: in the largest unit that holds it exactly
/// (`5m` for 300 seconds, `90m` for 5400, `90s`, `1d`), since the plan keeps only seconds.
pub fn duration_text(seconds: u64) -> String {
    let unit = [(86_400, "d"), (3_600, "h"), (60, "m")]
        .into_iter()
        .find(|(size, _)| seconds > 0 && seconds % size == 0);
    match unit {
        Some((size, name)) => format!("{}{name}", seconds / size),
        None => format!("{seconds}s"),
    }
}

fn shell_lines(out: &mut String, label: &str, shell: &Shell) {
    let display = visible(&shell.display);
    let mut lines = display.lines();
    out.push_str(&format!(
        "   {label}:{}$ {}\n",
        " ".repeat(8 - label.len().min(7)),
        lines.next().unwrap_or("")
    ));
    for line in lines {
        out.push_str(&format!("             {line}\n"));
    }
}

fn quote(out: &mut String, text: &str) {
    for line in visible(text).trim_end().lines() {
        out.push_str(format!("     │ {line}").trim_end());
        out.push('\n');
    }
}

/// How the element of a run-time `for each` shows in a template, before it expands.
pub(crate) const ELEMENT_TEXT: &str = "<each element>";

/// How a value read at run time shows in a plan: `<result of TASK>`, or for a typed output
/// `<output.FIELD of TASK>`.
pub(crate) fn reference_text(tasks: &[String], output: Option<&[String]>) -> String {
    match output {
        None => format!("<result of {}>", tasks.join(", ")),
        Some(fields) => {
            let path: String = fields.iter().map(|f| format!(".{f}")).collect();
            format!("<output{path} of {}>", tasks.join(", "))
        }
    }
}

/// A prompt with the runtime's references shown as placeholders (also the description of a
/// task's beads issue).
pub fn prompt_text(parts: &[PromptPart]) -> String {
    parts
        .iter()
        .map(|part| match part {
            PromptPart::Text { text } => text.clone(),
            PromptPart::Result {
                tasks,
                fenced,
                output,
                ..
            } => {
                let what = reference_text(tasks, output.as_deref());
                if *fenced {
                    format!("```text\n{what}\n```")
                } else {
                    what
                }
            }
            PromptPart::Element { .. } => ELEMENT_TEXT.to_string(),
        })
        .collect()
}

fn env_display(value: &EnvValue) -> String {
    match value {
        EnvValue::Text { text } => format!("{text:?}"),
        EnvValue::Parts { parts } => parts
            .iter()
            .map(|part| match part {
                ValuePart::Text { text } => text.clone(),
                ValuePart::Secret { name, .. } => format!("<secret {name}>"),
                ValuePart::Result { tasks, output, .. } => reference_text(tasks, output.as_deref()),
                ValuePart::Element { .. } => ELEMENT_TEXT.to_string(),
            })
            .collect(),
    }
}

/// `text` with control characters other than line breaks and tabs written as `\u{…}`, so
/// a value cannot rewrite the terminal line it is shown on.
fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if super::expand::is_hidden_control(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::duration_text;

    #[test]
    fn durations_read_as_written() {
        assert_eq!(duration_text(300), "5m");
        assert_eq!(duration_text(5_400), "90m");
        assert_eq!(duration_text(7_200), "2h");
        assert_eq!(duration_text(172_800), "2d");
        assert_eq!(duration_text(90), "90s");
        assert_eq!(duration_text(0), "0s");
    }
}
