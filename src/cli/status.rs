//! `wfc status [RUN] [--json]`: where a run is (the newest when none is named): its tasks with
//! their state, attempts, duration and last error, a summary line, why each failed task failed
//! (wrapped, below the table, whose column has room for only a line), and the gates and
//! `human` tasks waiting for an answer with their whole question and the command that gives
//! it.

use super::human::{self, Cell, Paint, Tone};
use super::output::Output;
use super::store::{self, shell_word, BackendArgs, Store};
use super::usage::{run_usage, RunUsage};
use crate::backends::Access;
use crate::runtime::{
    now_millis, BackendResult, Millis, RunRecord, RunState, TaskBackend, TaskRecord, TaskState,
};
use serde_json::json;
use std::collections::HashMap;
use std::process::ExitCode;

/// The order states are counted in on the summary line.
const SUMMARY_ORDER: [TaskState; 10] = [
    TaskState::Succeeded,
    TaskState::Approved,
    TaskState::Skipped,
    TaskState::Running,
    TaskState::Claimed,
    TaskState::Waiting,
    TaskState::Failed,
    TaskState::Rejected,
    TaskState::Cancelled,
    TaskState::Pending,
];

/// How many lines of a failed task's reason `wfc status` shows before it says where the rest
/// is; a person sees the start of a long traceback without scrolling past it.
const REASON_LINES: usize = 20;

/// Runs `wfc status`.
pub fn run(args: &BackendArgs, run: Option<&str>, as_json: bool, output: &Output) -> ExitCode {
    let store = match Store::open(args, Access::Read, output) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let record = match store.run_or_newest(run, output) {
        Ok(record) => record,
        Err(code) => return code,
    };
    let tasks = match store.backend.list_tasks(&record.id) {
        Ok(tasks) => tasks,
        Err(error) => return store::report(&error, output),
    };
    let usage = match run_usage(&*store.backend, &record.id) {
        Ok(usage) => usage,
        Err(error) => return store::report(&error, output),
    };
    let questions = match questions(&*store.backend, &record.id, &tasks) {
        Ok(questions) => questions,
        Err(error) => return store::report(&error, output),
    };
    let view = View {
        run: &record,
        tasks: &tasks,
        usage: &usage,
        questions: &questions,
    };
    if as_json {
        output.stdout_line(
            &serde_json::to_string_pretty(&to_json(&view, now_millis())).unwrap_or_default(),
        );
    } else {
        for line in to_text(&view, now_millis(), human::width(), Paint::stdout()) {
            output.stdout_line(&line);
        }
    }
    ExitCode::SUCCESS
}

/// What `wfc status` shows of a run.
struct View<'a> {
    run: &'a RunRecord,
    tasks: &'a [TaskRecord],
    usage: &'a RunUsage,
    /// The question each waiting task puts to a person, as it was put (filled in, secrets
    /// redacted), by task id.
    questions: &'a HashMap<String, String>,
}

/// The questions the waiting tasks of `run` put to a person: the `ask` of each one's last
/// `gate_waiting` event, which holds the text as filled in when it began to wait.
fn questions(
    backend: &dyn TaskBackend,
    run: &str,
    tasks: &[TaskRecord],
) -> BackendResult<HashMap<String, String>> {
    let mut questions = HashMap::new();
    if !tasks.iter().any(|t| t.state == TaskState::Waiting) {
        return Ok(questions);
    }
    let mut after = 0;
    loop {
        let page = backend.read_events(run, after, 1000)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for event in page.iter().filter(|e| e.kind == "gate_waiting") {
            if let (Some(task), Some(ask)) = (&event.task, event.data["ask"].as_str()) {
                questions.insert(task.clone(), ask.to_string());
            }
        }
    }
    let waiting: Vec<&str> = tasks
        .iter()
        .filter(|t| t.state == TaskState::Waiting)
        .map(|t| t.key.task.as_str())
        .collect();
    questions.retain(|task, _| waiting.contains(&task.as_str()));
    Ok(questions)
}

/// Whether `task` is held by an engine that stopped renewing its lease (killed, or its
/// machine gone): shown as interrupted, not as running, until another engine takes it over.
fn engine_gone(task: &TaskRecord, now: Millis) -> bool {
    matches!(task.state, TaskState::Claimed | TaskState::Running)
        && task.lease_until.is_some_and(|until| until < now)
}

/// What the STATE column says of `task`.
fn state_text(task: &TaskRecord, now: Millis) -> &'static str {
    if engine_gone(task, now) {
        "interrupted (engine gone)"
    } else {
        task.state.as_str()
    }
}

/// The run and its tasks as one JSON object; each task says whether its engine is gone, and a
/// waiting one its question.
fn to_json(view: &View<'_>, now: Millis) -> serde_json::Value {
    let View {
        run, tasks, usage, ..
    } = *view;
    let task_values: Vec<serde_json::Value> = tasks
        .iter()
        .map(|task| {
            let mut value = serde_json::to_value(task).unwrap_or_default();
            if let Some(object) = value.as_object_mut() {
                object.insert("engine_gone".into(), json!(engine_gone(task, now)));
                if let Some(files) = usage.files_changed.get(&task.key.task) {
                    object.insert("files_changed".into(), json!(files));
                }
                if let Some(question) = view.questions.get(&task.key.task) {
                    object.insert("question".into(), json!(question));
                }
            }
            value
        })
        .collect();
    let counts: serde_json::Map<String, serde_json::Value> = SUMMARY_ORDER
        .iter()
        .map(|&state| (state.as_str().to_string(), json!(count(tasks, state))))
        .collect();
    let mut value = json!({
        "run": {
            "id": run.id,
            "workflow": run.plan.workflow,
            "source": run.plan.source,
            "state": run.state,
            "created_at": run.created_at,
            "finished_at": run.finished_at,
            "params": run.plan.params,
            "place": run.place,
        },
        "tasks": task_values,
        "counts": counts,
        "agents": usage,
    });
    if let (Some(paused), RunState::Running) = (&usage.paused, run.state) {
        value["paused"] = paused.as_str().into();
    }
    let waiting: Vec<serde_json::Value> = waiting(usage, run, now)
        .map(|(profile, kind, until)| json!({"profile": profile, "kind": kind, "until": until}))
        .collect();
    if !waiting.is_empty() {
        value["waiting"] = waiting.into();
    }
    let loops = super::loop_rounds::loop_rounds(&run.plan, tasks);
    if !loops.is_empty() {
        value["loops"] = json!(loops);
    }
    value
}

/// The agent profiles of a running run that wait for a provider's limit to end now: profile,
/// the limit's kind in words, and until when.
fn waiting<'a>(
    usage: &'a RunUsage,
    run: &RunRecord,
    now: Millis,
) -> impl Iterator<Item = (&'a str, &'a str, Millis)> + 'a {
    let running = run.state == RunState::Running;
    usage
        .waits
        .iter()
        .filter(move |(_, (_, until))| running && *until > now)
        .map(|(profile, (kind, until))| (profile.as_str(), kind.as_str(), *until))
}

fn count(tasks: &[TaskRecord], state: TaskState) -> usize {
    tasks.iter().filter(|t| t.state == state).count()
}

/// The lines `wfc status` prints.
fn to_text(view: &View<'_>, now: Millis, width: usize, paint: Paint) -> Vec<String> {
    let View {
        run, tasks, usage, ..
    } = *view;
    let mut lines = vec![
        format!("run       {}", paint.tone(&run.id, Tone::Strong)),
        format!("workflow  {} ({})", run.plan.workflow, run.plan.source),
        match &run.place {
            Some(place) => match &place.repository {
                Some(repository) => format!(
                    "workspace {} on {}; shared through {}",
                    place.workspace, place.host, repository.remote
                ),
                None => format!("workspace {} on {}", place.workspace, place.host),
            },
            None => {
                "workspace (not recorded: the run is older than wfc's workspace records)".into()
            }
        },
        format!(
            "state     {}",
            paint.tone(run.state.as_str(), Tone::run(run.state))
        ),
        format!(
            "created   {} ({})",
            human::date_time(run.created_at),
            human::ago(run.created_at, now)
        ),
    ];
    if let (Some(paused), RunState::Running) = (&usage.paused, run.state) {
        lines.push(format!("paused    {paused}"));
    }
    for (profile, kind, until) in waiting(usage, run, now) {
        lines.push(format!(
            "waiting: {kind} of {profile}, resumes {}",
            human::time_of_day(until, now)
        ));
    }
    if let Some(finished) = run.finished_at {
        lines.push(format!(
            "finished  {} (after {})",
            human::date_time(finished),
            human::duration(finished - run.created_at)
        ));
    }
    lines.push(String::new());
    // The agent column appears only in runs where some agent session ran, the files column
    // only in runs isolated in git.
    let agents = usage.total.sessions > 0;
    let isolated = !run.plan.isolation.is_none();
    let rows: Vec<Vec<Cell>> = tasks
        .iter()
        .map(|task| {
            let mut row = vec![
                Cell::plain(task.key.task.clone()),
                Cell::toned(
                    state_text(task, now),
                    if engine_gone(task, now) {
                        Tone::Bad
                    } else {
                        Tone::task(task.state)
                    },
                ),
                Cell::plain(format!("{}/{}", task.attempts, task.max_attempts)),
                Cell::plain(task_duration(task, now).unwrap_or_else(|| "-".into())),
            ];
            if isolated {
                let files = usage.files_changed.get(&task.key.task);
                row.push(Cell::plain(
                    files.map_or_else(|| "-".into(), u64::to_string),
                ));
            }
            if agents {
                let text = usage
                    .tasks
                    .get(&task.key.task)
                    .map(|u| u.text())
                    .unwrap_or_else(|| "-".into());
                row.push(Cell::plain(text));
            }
            row.push(Cell::toned(last_error(task), Tone::Bad));
            row
        })
        .collect();
    let mut headers = vec!["TASK", "STATE", "ATTEMPTS", "DURATION"];
    if isolated {
        headers.push("FILES");
    }
    if agents {
        headers.push("AGENT USAGE");
    }
    headers.push("LAST ERROR");
    lines.extend(human::table(&headers, &rows, width, paint));
    lines.push(String::new());
    lines.push(summary(tasks));
    for rounds in super::loop_rounds::loop_rounds(&run.plan, tasks) {
        lines.push(rounds.text());
    }
    let gone = tasks.iter().filter(|t| engine_gone(t, now)).count();
    if gone > 0 {
        lines.push(format!(
            "{} held by an engine that stopped renewing its lease: `wfc resume {}` takes {} over",
            human::plural(gone, "task"),
            shell_word(&run.id),
            if gone == 1 { "it" } else { "them" }
        ));
    }
    if agents {
        lines.push(format!(
            "agents: {} · {}",
            human::plural(usage.total.sessions as usize, "session"),
            usage.total.text()
        ));
    }
    let run_word = shell_word(&run.id);
    for task in tasks.iter().filter(|t| t.state == TaskState::Waiting) {
        let gate = shell_word(&task.key.task);
        let spec = run.plan.task(&task.key.task);
        let human = spec.is_some_and(|spec| {
            spec.action.waits_for_person()
                && matches!(spec.action, crate::plan::Action::Agent { .. })
        });
        let conflict = spec.is_some_and(|spec| !spec.action.waits_for_person());
        lines.push(if conflict {
            let folder = conflict_worktree(run, &task.key.task)
                .map(|folder| format!(" in {}", folder.display()))
                .unwrap_or_default();
            format!(
                "waiting for a person to resolve the conflict of {}'s upstream work{folder} — then `wfc approve {run_word} {gate}`, or `wfc reject {run_word} {gate} --reason TEXT`",
                task.key.task
            )
        } else if human {
            format!(
                "waiting for a person: {} — `wfc approve {run_word} {gate} --result TEXT` or `wfc reject {run_word} {gate} --reason TEXT`",
                task.key.task
            )
        } else {
            format!(
                "waiting for approval: {} — `wfc approve {run_word} {gate}` or `wfc reject {run_word} {gate} --reason TEXT`",
                task.key.task
            )
        });
        // The whole question: what the person must judge (a diffstat, a summary) is often
        // at its end.
        if let Some(question) = view.questions.get(&task.key.task) {
            lines.extend(indented(question, width, usize::MAX));
        }
    }
    lines.extend(failure_reasons(run, tasks, width));
    for (task, folder) in kept_worktrees(run, tasks) {
        lines.push(format!(
            "the worktree of {task}'s last attempt is kept for you to look into: {}",
            folder.display()
        ));
    }
    if run.state == RunState::Failed {
        lines.push(format!(
            "to try again: `wfc retry {run_word} TASK` (add `--from` for what follows it too), then `wfc resume {run_word}`"
        ));
    }
    lines
}

/// Why each failed or rejected task failed, below the table: a heading naming the task and
/// its attempts, then the reason wrapped to `width` and indented, up to [`REASON_LINES`]
/// lines and then where the rest is.
fn failure_reasons(run: &RunRecord, tasks: &[TaskRecord], width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for task in tasks {
        let failed = matches!(task.state, TaskState::Failed | TaskState::Rejected);
        let Some(reason) = task.last_error.as_deref().filter(|_| failed) else {
            continue;
        };
        if reason.trim().is_empty() {
            continue;
        }
        let what = if task.state == TaskState::Rejected {
            format!("why {} was rejected:", task.key.task)
        } else {
            format!(
                "why {} failed (attempt {}/{}):",
                task.key.task, task.attempts, task.max_attempts
            )
        };
        lines.push(String::new());
        lines.push(what);
        let shown = indented(reason, width, REASON_LINES);
        let all = indented(reason, width, usize::MAX).len();
        lines.extend(shown);
        if all > REASON_LINES {
            lines.push(format!(
                "  (+{} more lines: `wfc show {} {}`)",
                all - REASON_LINES,
                shell_word(&run.id),
                shell_word(&task.key.task)
            ));
        }
    }
    lines
}

/// `text` wrapped to `width` with a two-space indent, at most `max` lines.
fn indented(text: &str, width: usize, max: usize) -> Vec<String> {
    human::wrap(text, width.saturating_sub(2))
        .into_iter()
        .take(max)
        .map(|line| format!("  {line}").trim_end().to_string())
        .collect()
}

/// Where a person resolves the conflict `task` of `run` waits on (`on_conflict = "human"`).
fn conflict_worktree(run: &RunRecord, task: &str) -> Option<std::path::PathBuf> {
    let place = run.place.as_ref()?;
    let folder =
        crate::workspaces::git::worktrees_folder(std::path::Path::new(&place.workspace), &run.id)
            .ok()?;
    let name = crate::isolation::ref_name::encode_component(task).ok()?;
    Some(folder.join("conflicts").join(name))
}

/// The worktrees kept of the failed tasks of a run isolated in git, where they still are.
fn kept_worktrees(run: &RunRecord, tasks: &[TaskRecord]) -> Vec<(String, std::path::PathBuf)> {
    let Some(place) = run.place.as_ref().filter(|_| !run.plan.isolation.is_none()) else {
        return Vec::new();
    };
    let workspace = std::path::Path::new(&place.workspace);
    tasks
        .iter()
        .filter(|task| task.state == TaskState::Failed)
        .filter_map(|task| {
            let pool = crate::workspaces::git::worktrees_folder(workspace, &run.id).ok()?;
            let name =
                crate::workspaces::git::attempt_folder_name(&task.key.task, task.attempts).ok()?;
            let folder = pool.join("failed").join(name);
            folder.is_dir().then(|| (task.key.task.clone(), folder))
        })
        .collect()
}

/// `12 tasks: 9 succeeded, 1 running, 1 failed, 1 pending`, naming only the states some task
/// is in.
fn summary(tasks: &[TaskRecord]) -> String {
    let parts: Vec<String> = SUMMARY_ORDER
        .iter()
        .map(|&state| (state, count(tasks, state)))
        .filter(|&(_, n)| n > 0)
        .map(|(state, n)| format!("{n} {state}"))
        .collect();
    let total = human::plural(tasks.len(), "task");
    if parts.is_empty() {
        total
    } else {
        format!("{total}: {}", parts.join(", "))
    }
}

/// How long the task's current or last attempt took, or has taken so far.
fn task_duration(task: &TaskRecord, now: Millis) -> Option<String> {
    // A task reset by `wfc retry` keeps the times of its old attempts.
    let started = task.started_at.filter(|_| task.attempts > 0)?;
    let end = match task.state {
        // A gone engine's attempt stopped when its lease stopped being renewed.
        TaskState::Running | TaskState::Claimed if engine_gone(task, now) => {
            task.lease_until.unwrap_or(now)
        }
        TaskState::Running | TaskState::Claimed | TaskState::Waiting => now,
        TaskState::Pending => return None,
        _ => task.finished_at?,
    };
    Some(human::duration(end - started))
}

/// The first line of why the last attempt failed; nothing for a task that succeeded or that
/// `wfc retry` reset.
fn last_error(task: &TaskRecord) -> String {
    match &task.last_error {
        Some(error) if task.attempts > 0 && !task.state.satisfies_dependents() => {
            human::first_line(error)
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::TaskKey;

    fn task(id: &str, state: TaskState) -> TaskRecord {
        TaskRecord {
            key: TaskKey::new("r", id),
            state,
            attempts: 1,
            max_attempts: 1,
            worker: None,
            lease_until: None,
            started_at: Some(1_000),
            finished_at: Some(2_500),
            result: None,
            last_error: None,
            output: None,
            typed_output: None,
        }
    }

    #[test]
    fn the_summary_names_only_states_in_use() {
        let tasks = [
            task("a", TaskState::Succeeded),
            task("b", TaskState::Succeeded),
            task("c", TaskState::Failed),
            task("d", TaskState::Pending),
        ];
        assert_eq!(summary(&tasks), "4 tasks: 2 succeeded, 1 failed, 1 pending");
        assert_eq!(summary(&[]), "0 tasks");
    }

    #[test]
    fn durations_run_to_now_while_running() {
        assert_eq!(
            task_duration(&task("a", TaskState::Succeeded), 9_000).as_deref(),
            Some("1.5s")
        );
        let mut running = task("a", TaskState::Running);
        running.finished_at = None;
        assert_eq!(task_duration(&running, 4_000).as_deref(), Some("3.0s"));
        assert_eq!(task_duration(&task("a", TaskState::Pending), 4_000), None);
    }

    #[test]
    fn a_task_whose_engine_is_gone_is_interrupted_not_running() {
        let mut held = task("a", TaskState::Running);
        held.finished_at = None;
        held.lease_until = Some(3_000);
        assert_eq!(state_text(&held, 2_000), "running");
        assert_eq!(task_duration(&held, 2_000).as_deref(), Some("1.0s"));
        // Past its lease: interrupted, and its time stops where the lease ended.
        assert_eq!(state_text(&held, 60_000), "interrupted (engine gone)");
        assert_eq!(task_duration(&held, 60_000).as_deref(), Some("2.0s"));
    }
}
