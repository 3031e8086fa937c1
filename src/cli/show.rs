//! `wfc show RUN TASK [--attempt N] [--json] [--raw]`: everything about one task of a run, in
//! one place. Its spec as planned; then per attempt its timings and outcome, the prompt as it
//! was sent (from the run's `prompt_sent` events), the agent's transcript read back as steps
//! (`runtime::transcript`, `agents::session_steps`), a command's output, the error and failed
//! verify commands, the session's id, cost and tokens, and in a run isolated in git the files
//! the task changed, with the patch.

use super::human::{self, date_time, duration, plural};
use super::output::Output;
use super::store::{self, BackendArgs, Store};
use crate::agents::{session_steps, Step};
use crate::backends::Access;
use crate::plan::{Action, Isolation, TaskSpec};
use crate::runtime::transcript::{
    read_transcript, transcript_path, SessionPurpose, TranscriptLine,
};
use crate::runtime::{EventRecord, Millis, RunRecord, TaskKey, TaskRecord};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// How many lines of a tool's result the readable transcript shows.
const TOOL_RESULT_LINES: usize = 6;

/// What `wfc show` was asked for.
pub struct Shown<'a> {
    /// The run's id.
    pub run: &'a str,
    /// The task's id.
    pub task: &'a str,
    /// Only this attempt.
    pub attempt: Option<u32>,
    /// One JSON document.
    pub json: bool,
    /// The stored transcripts as they are.
    pub raw: bool,
}

/// Everything known about one task, as `--json` prints it.
#[derive(Serialize)]
struct TaskView {
    run: String,
    task: TaskSpec,
    state: String,
    attempts_started: u32,
    max_attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_commit: Option<String>,
    attempts: Vec<AttemptView>,
}

/// One attempt.
#[derive(Serialize, Default)]
struct AttemptView {
    attempt: u32,
    /// `running`, `succeeded`, `failed`, `retried`, `waiting` or `interrupted`.
    outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<Millis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ended_at: Option<Millis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    worker: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    prompts: Vec<PromptView>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    sessions: Vec<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    transcripts: Vec<TranscriptView>,
    #[serde(skip_serializing_if = "String::is_empty")]
    output: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    verify_failed: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    files_changed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    diff_unavailable: Option<String>,
}

/// A prompt as it was sent.
#[derive(Serialize)]
struct PromptView {
    purpose: String,
    prompt: String,
}

/// One session's transcript.
#[derive(Serialize)]
struct TranscriptView {
    purpose: String,
    path: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    adapter: Option<String>,
    steps: Vec<Step>,
    stderr: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cut: Option<String>,
    #[serde(skip)]
    lines: Vec<TranscriptLine>,
}

/// Runs `wfc show`.
pub fn run(args: &BackendArgs, shown: &Shown<'_>, output: &Output) -> ExitCode {
    let (store, record) = match Store::open_run(args, shown.run, Access::Read, output) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let spec = match store::task(&record, shown.task, output) {
        Ok(spec) => spec.clone(),
        Err(code) => return code,
    };
    let key = TaskKey::new(record.id.clone(), &spec.id);
    let task = match store.backend.get_task(&key) {
        Ok(task) => task,
        Err(error) => return store::report(&error, output),
    };
    let events = match task_events(&store, &key) {
        Ok(events) => events,
        Err(code) => return code,
    };
    let workspace = workspace_of(&record);
    let mut attempts = attempts_of(&events, &task);
    if let Some(wanted) = shown.attempt {
        attempts.retain(|attempt| attempt.attempt == wanted);
        if attempts.is_empty() {
            return store::refuse(
                &format!(
                    "task `{}` of run {} has no attempt {wanted}: it had {}",
                    spec.id,
                    record.id,
                    plural(task.attempts as usize, "attempt")
                ),
                output,
            );
        }
    }
    for attempt in &mut attempts {
        attempt.transcripts = transcripts_of(&workspace, &key, attempt.attempt);
        if record.plan.isolation != Isolation::None {
            if let Some(commit) = &attempt.output_commit {
                match super::diff::task_patch(&workspace, &record, &spec.id, commit, false) {
                    Ok(patch) => attempt.diff = Some(patch.unwrap_or_default()),
                    Err(why) => attempt.diff_unavailable = Some(why),
                }
            }
        }
    }
    if shown.raw {
        return print_raw(&attempts, output);
    }
    let view = TaskView {
        run: record.id.clone(),
        state: task.state.to_string(),
        attempts_started: task.attempts,
        max_attempts: task.max_attempts,
        result: task.result.clone(),
        last_error: task.last_error.clone(),
        output_commit: task.output.clone(),
        task: spec,
        attempts,
    };
    if shown.json {
        match serde_json::to_string_pretty(&view) {
            Ok(text) => {
                output.stdout_line(&text);
                ExitCode::SUCCESS
            }
            Err(error) => output.fail(&format!("cannot write the JSON: {error}")),
        }
    } else {
        for line in text(&view) {
            output.stdout_line(&line);
        }
        ExitCode::SUCCESS
    }
}

/// Every event of the task, in order.
fn task_events(store: &Store, key: &TaskKey) -> Result<Vec<EventRecord>, ExitCode> {
    const PAGE: usize = 1000;
    let mut events = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .backend
            .read_events(&key.run, after, PAGE)
            .map_err(|error| store::report(&error, &Output::from_env()))?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        let full = page.len() == PAGE;
        events.extend(
            page.into_iter()
                .filter(|event| event.task.as_deref() == Some(key.task.as_str())),
        );
        if !full {
            break;
        }
    }
    Ok(events)
}

/// Where the run's transcripts and repository are: its workspace, when this machine reaches
/// it; else the current folder.
fn workspace_of(record: &RunRecord) -> PathBuf {
    match &record.place {
        Some(place) if place.unreachable().is_none() => PathBuf::from(&place.workspace),
        _ => std::env::current_dir().unwrap_or_else(|_| ".".into()),
    }
}

/// The attempts the events tell of. An event that names no attempt (a command's output)
/// belongs to the attempt that started last.
fn attempts_of(events: &[EventRecord], task: &TaskRecord) -> Vec<AttemptView> {
    let mut attempts: Vec<AttemptView> = Vec::new();
    let mut current = 0u32;
    for event in events {
        // A skip is no attempt: the task never ran, and its result says why.
        if event.kind == "task_skipped" {
            continue;
        }
        let named = event
            .data
            .get("attempt")
            .and_then(Value::as_u64)
            .map(|n| n as u32);
        let number = match (event.kind.as_str(), named) {
            // Stopping an earlier attempt's processes is done by the next one.
            ("attempt_stopped", _) => current.max(1),
            (_, Some(n)) => n,
            (_, None) => current.max(1),
        };
        if event.kind == "task_claimed" || event.kind == "task_started" {
            current = number;
        }
        let index = match attempts.iter().position(|a| a.attempt == number) {
            Some(index) => index,
            None => {
                attempts.push(AttemptView {
                    attempt: number,
                    outcome: "running".into(),
                    ..AttemptView::default()
                });
                attempts.len() - 1
            }
        };
        let attempt = &mut attempts[index];
        let text = |name: &str| {
            event
                .data
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        match event.kind.as_str() {
            "task_claimed" => {
                attempt.worker = text("worker");
                attempt.started_at.get_or_insert(event.at);
            }
            "task_started" => {
                attempt.started_at.get_or_insert(event.at);
            }
            "prompt_sent" => attempt.prompts.push(PromptView {
                purpose: text("purpose").unwrap_or_else(|| "work".into()),
                prompt: text("prompt").unwrap_or_default(),
            }),
            "agent_session" => attempt.sessions.push(event.data.clone()),
            "task_output" => attempt.output.push_str(&text("output").unwrap_or_default()),
            "verify_failed" => attempt.verify_failed.push(event.data.clone()),
            "gate_waiting" => attempt.outcome = "waiting".into(),
            // The engine could not reach the run's shared remote and gave the task back.
            "task_given_back" => {
                attempt.outcome = "given back".into();
                attempt.ended_at = Some(event.at);
                attempt.error = text("reason");
            }
            "gate_answered" => {
                attempt.outcome = match event.data.get("approved").and_then(Value::as_bool) {
                    Some(true) => "approved".into(),
                    _ => "rejected".into(),
                };
                attempt.ended_at = Some(event.at);
            }
            "task_succeeded" | "task_failed" | "task_retrying" => {
                attempt.outcome = match event.kind.as_str() {
                    "task_succeeded" => "succeeded",
                    "task_failed" => "failed",
                    _ => "retried",
                }
                .into();
                attempt.ended_at = Some(event.at);
                attempt.seconds = event.data.get("seconds").and_then(Value::as_f64);
                attempt.error = text("error");
                attempt.output_commit = text("output");
                attempt.files_changed = event.data.get("files_changed").and_then(Value::as_u64);
            }
            _ => {}
        }
    }
    // An attempt that never ended while the task is no longer running was interrupted (its
    // engine stopped); the task's record has why.
    let running = matches!(task.state.as_str(), "running" | "claimed");
    let last = attempts.iter().map(|a| a.attempt).max().unwrap_or(0);
    for attempt in &mut attempts {
        if attempt.outcome == "running" && (!running || attempt.attempt < last) {
            attempt.outcome = "interrupted".into();
            if attempt.attempt == last {
                attempt.error = task.last_error.clone();
            }
        }
    }
    attempts.sort_by_key(|a| a.attempt);
    attempts
}

/// The transcripts of `attempt` that exist, read back as steps.
fn transcripts_of(workspace: &Path, key: &TaskKey, attempt: u32) -> Vec<TranscriptView> {
    let mut views = Vec::new();
    for purpose in [SessionPurpose::ResolveConflict, SessionPurpose::Work] {
        let path = transcript_path(workspace, &key.run, &key.task, attempt, purpose);
        let Ok(lines) = read_transcript(&path) else {
            continue;
        };
        let mut adapter = None;
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let mut cut = None;
        for line in &lines {
            match line {
                TranscriptLine::Header { adapter: name, .. } => adapter = Some(name.clone()),
                TranscriptLine::Stdout { stdout: text, .. } => stdout.push(text.as_str()),
                TranscriptLine::Stderr { stderr: text, .. } => stderr.push(text.clone()),
                TranscriptLine::Cut { cut: why } => cut = Some(why.clone()),
            }
        }
        let steps = session_steps(adapter.as_deref().unwrap_or(""), &stdout);
        views.push(TranscriptView {
            purpose: purpose.as_str().to_string(),
            path,
            adapter,
            steps,
            stderr,
            cut,
            lines,
        });
    }
    views
}

/// `--raw`: the stored transcripts as they were printed.
fn print_raw(attempts: &[AttemptView], output: &Output) -> ExitCode {
    let mut any = false;
    for attempt in attempts {
        for transcript in &attempt.transcripts {
            any = true;
            for line in &transcript.lines {
                match line {
                    TranscriptLine::Header { .. } => {}
                    TranscriptLine::Stdout { stdout, .. } => output.stdout_line(stdout),
                    TranscriptLine::Stderr { stderr, .. } => {
                        output.stdout_line(&format!("stderr: {stderr}"))
                    }
                    TranscriptLine::Cut { cut } => output.stdout_line(&format!("({cut})")),
                }
            }
        }
    }
    if any {
        ExitCode::SUCCESS
    } else {
        store::refuse(
            "no transcript is stored for this task: it ran no agent session on this machine",
            output,
        )
    }
}

/// The whole view as a person reads it.
fn text(view: &TaskView) -> Vec<String> {
    let spec = &view.task;
    let mut lines = vec![format!(
        "task {} of run {}: {} ({} of {} started)",
        spec.id,
        view.run,
        view.state,
        plural(view.attempts_started as usize, "attempt"),
        view.max_attempts
    )];
    let mut field = |name: &str, value: String| {
        if !value.is_empty() {
            lines.push(format!("  {name:<9} {value}"));
        }
    };
    field("title", spec.title.clone());
    field("kind", kind_of(&spec.action));
    field("after", spec.after_text());
    if let Some(condition) = &spec.condition {
        // Values in it are JSON, whose strings escape control characters.
        field("when", condition.text());
    }
    field(
        "retry",
        match spec.retry {
            0 => "none".to_string(),
            n => format!("{n} ({} at most)", plural(n as usize + 1, "attempt")),
        },
    );
    field(
        "timeout",
        spec.timeout_secs
            .map(|s| duration(s as Millis * 1000))
            .unwrap_or_else(|| "none".into()),
    );
    field("workdir", spec.workdir.clone());
    if let Action::Command { run } = &spec.action {
        field("run", run.display.clone());
    }
    field(
        "verify",
        spec.verify
            .iter()
            .map(|v| v.display.clone())
            .collect::<Vec<_>>()
            .join("\n            "),
    );
    if !spec.work.is_default() {
        field(
            "work",
            serde_json::to_string(&spec.work).unwrap_or_default(),
        );
    }
    if let Some(result) = &view.result {
        lines.push("  result:".into());
        lines.extend(block(result, "    │ "));
    }
    for attempt in &view.attempts {
        lines.push(String::new());
        lines.extend(attempt_text(attempt));
    }
    if view.attempts.is_empty() {
        lines.push(String::new());
        lines.push("no attempt has started".into());
    }
    lines
}

/// What a task does, in a few words.
fn kind_of(action: &Action) -> String {
    match action {
        Action::Command { .. } => "command".into(),
        Action::Gate { .. } => "gate".into(),
        Action::Agent { profile, agent, .. } => {
            let adapter = agent
                .as_ref()
                .map(|a| a.adapter.clone())
                .unwrap_or_else(|| "the run's default".into());
            match profile {
                Some(profile) => format!("agent {profile} (adapter {adapter})"),
                None => format!("agent (adapter {adapter})"),
            }
        }
    }
}

/// One attempt as a person reads it.
fn attempt_text(attempt: &AttemptView) -> Vec<String> {
    let mut head = format!("attempt {}: {}", attempt.attempt, attempt.outcome);
    if let Some(at) = attempt.started_at {
        head.push_str(&format!(", started {}", date_time(at)));
    }
    if let Some(seconds) = attempt.seconds {
        head.push_str(&format!(
            ", took {}",
            duration((seconds * 1000.0) as Millis)
        ));
    }
    let mut lines = vec![head];
    if let Some(worker) = &attempt.worker {
        lines.push(format!("  worker {worker}"));
    }
    for session in &attempt.sessions {
        let purpose = session
            .get("purpose")
            .and_then(Value::as_str)
            .map(|p| format!(" ({p})"))
            .unwrap_or_default();
        lines.push(format!("  {}{purpose}", super::usage::usage_text(session)));
    }
    for prompt in &attempt.prompts {
        lines.push(format!(
            "  prompt sent ({}, {}):",
            prompt.purpose,
            plural(prompt.prompt.lines().count(), "line")
        ));
        lines.extend(block(&prompt.prompt, "    │ "));
    }
    for transcript in &attempt.transcripts {
        lines.push(format!(
            "  transcript ({}, {}):",
            transcript.purpose,
            transcript.adapter.as_deref().unwrap_or("unknown adapter")
        ));
        for step in &transcript.steps {
            lines.extend(step_text(step));
        }
        if !transcript.stderr.is_empty() {
            lines.push("    stderr:".into());
            for line in &transcript.stderr {
                lines.push(format!("      │ {line}"));
            }
        }
        if let Some(cut) = &transcript.cut {
            lines.push(format!("    ({cut})"));
        }
    }
    if !attempt.output.is_empty() {
        lines.push("  output:".into());
        lines.extend(block(&attempt.output, "    │ "));
    }
    for failed in &attempt.verify_failed {
        let text = |name: &str| failed.get(name).and_then(Value::as_str).unwrap_or("");
        lines.push(format!("  verify failed: {}", text("command")));
        // The attempt's error is usually this one; it is printed once, below.
        let repeated = attempt
            .error
            .as_deref()
            .is_some_and(|error| error.contains(text("error")));
        if !repeated {
            lines.extend(block(text("error"), "    │ "));
        }
    }
    if let Some(error) = &attempt.error {
        lines.push("  error:".into());
        lines.extend(block(error, "    │ "));
    }
    if let Some(commit) = &attempt.output_commit {
        let files = attempt
            .files_changed
            .map(|n| format!(", {}", plural(n as usize, "file") + " changed"))
            .unwrap_or_default();
        lines.push(format!(
            "  output commit {}{files}",
            &commit[..commit.len().min(12)]
        ));
    }
    match (&attempt.diff, &attempt.diff_unavailable) {
        (Some(diff), _) if diff.is_empty() => lines.push("  it changed nothing".into()),
        (Some(diff), _) => {
            lines.push("  diff:".into());
            lines.extend(block(diff, "    "));
        }
        (None, Some(why)) => lines.push(format!("  (what it changed cannot be shown: {why})")),
        (None, None) => {}
    }
    lines
}

/// One step of a transcript.
fn step_text(step: &Step) -> Vec<String> {
    match step {
        Step::Started { text } => vec![format!("    ● {text}")],
        Step::Message { text } => prefixed("    says: ", "          ", text),
        Step::ToolCall { tool, input } => prefixed(&format!("    → {tool} "), "        ", input),
        Step::ToolResult { output, failed } => {
            let mark = if *failed { "✗" } else { "←" };
            let all: Vec<&str> = output.trim_end().lines().collect();
            let mut lines: Vec<String> = all
                .iter()
                .take(TOOL_RESULT_LINES)
                .enumerate()
                .map(|(i, line)| {
                    let lead = if i == 0 {
                        format!("      {mark} ")
                    } else {
                        "        ".into()
                    };
                    format!("{lead}{}", human::truncate(line, 200))
                })
                .collect();
            if lines.is_empty() {
                lines.push(format!("      {mark} (no output)"));
            }
            if all.len() > TOOL_RESULT_LINES {
                lines.push(format!(
                    "        (+{} more lines; --raw or --json has them all)",
                    all.len() - TOOL_RESULT_LINES
                ));
            }
            lines
        }
        Step::Final { text } => prefixed("    final message: ", "      │ ", text)
            .into_iter()
            .collect(),
        Step::Error { text } => prefixed("    error: ", "      ", text),
        Step::Text { text } => vec![format!("    {text}")],
    }
}

/// `text` with `first` before its first line and `rest` before the others.
fn prefixed(first: &str, rest: &str, text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .trim_end()
        .lines()
        .enumerate()
        .map(|(i, line)| format!("{}{line}", if i == 0 { first } else { rest }))
        .collect();
    if lines.is_empty() {
        lines.push(first.trim_end().to_string());
    }
    lines
}

/// `text` whole, each line after `lead`.
fn block(text: &str, lead: &str) -> Vec<String> {
    text.trim_end()
        .lines()
        .map(|line| format!("{lead}{line}").trim_end().to_string())
        .collect()
}
