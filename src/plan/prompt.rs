//! Prompt assembly (ARCHITECTURE.md "Prompt assembly"): the one text an agent session gets,
//! built deterministically from the task's rendered prompt, its acceptance criteria, its
//! verify commands and its context values. Results of upstream tasks stay references until
//! the runtime fills them in; on a retry the runtime appends why the last attempt failed.

use super::output::{instructions, OutputSpec};
use super::spec::{PromptPart, Shell};

/// Assembles the full prompt of an agent task.
pub fn assemble(
    prompt: Vec<PromptPart>,
    accept: Vec<Vec<PromptPart>>,
    verify: &[Shell],
    context: Vec<(String, Vec<PromptPart>)>,
    workdir: &str,
    output: Option<&OutputSpec>,
) -> Vec<PromptPart> {
    let mut out: Vec<PromptPart> = Vec::new();
    extend(&mut out, prompt);
    end_with_newline(&mut out);
    if !accept.is_empty() {
        push(
            &mut out,
            "\n## Acceptance criteria\n\nThe task is done when all of these hold:\n\n",
        );
        for criterion in accept {
            push(&mut out, "- ");
            extend(&mut out, criterion);
            end_with_newline(&mut out);
        }
    }
    if !verify.is_empty() {
        push(
            &mut out,
            &format!(
                "\n## Verification\n\nWhen you finish, these commands run in `{workdir}`; the task succeeds only if every one exits with status 0:\n\n"
            ),
        );
        for command in verify {
            push(
                &mut out,
                &format!("    {}\n", command.display.replace('\n', "\n    ")),
            );
        }
    }
    if !context.is_empty() {
        push(&mut out, "\n## Context\n");
        for (name, value) in context {
            push(&mut out, &format!("\n### {name}\n\n"));
            extend(&mut out, value);
            end_with_newline(&mut out);
        }
    }
    if let Some(output) = output {
        push(&mut out, &instructions(output));
    }
    out
}

fn push(out: &mut Vec<PromptPart>, text: &str) {
    if text.is_empty() {
        return;
    }
    match out.last_mut() {
        Some(PromptPart::Text { text: last }) => last.push_str(text),
        _ => out.push(PromptPart::Text {
            text: text.to_string(),
        }),
    }
}

fn extend(out: &mut Vec<PromptPart>, parts: Vec<PromptPart>) {
    for part in parts {
        match part {
            PromptPart::Text { text } => push(out, &text),
            other => out.push(other),
        }
    }
}

/// Ends the text so far with exactly one line break (a result counts as text that ends one).
fn end_with_newline(out: &mut Vec<PromptPart>) {
    match out.last_mut() {
        Some(PromptPart::Text { text }) => {
            let trimmed = text.trim_end_matches('\n').len();
            text.truncate(trimmed);
            text.push('\n');
        }
        Some(PromptPart::Result { .. } | PromptPart::Element { .. }) => push(out, "\n"),
        None => {}
    }
}
