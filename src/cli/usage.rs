//! What a run's tasks used and did, summed from its events in one pass: its agent sessions
//! (`agent_session`: sessions, cost, tokens and the last session id, per task and for the whole
//! run) and, in a run isolated in git, how many files each task's output changed
//! (`task_succeeded`), and whether the run is paused for its budget (`run_paused`). `wfc status`
//! shows it and `wfc logs` prints each session's line.

use crate::runtime::{BackendResult, TaskBackend};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// How many events are read per page while summing.
const PAGE: usize = 5_000;

/// The sum of some agent sessions.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Usage {
    /// How many sessions ran.
    pub sessions: u64,
    /// Their cost in US dollars, summed over the sessions that reported one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// Input tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Output tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    /// The id of the newest session, to find its transcript.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_session_id: Option<String>,
}

impl Usage {
    fn add(&mut self, data: &Value) {
        self.sessions += 1;
        if let Some(cost) = data.get("cost_usd").and_then(Value::as_f64) {
            // Summed in millionths of a dollar: adding binary fractions gives sums such as
            // 0.08610000000000001, which `--json` would print as they are.
            let sum = self.cost_usd.unwrap_or(0.0) + cost;
            self.cost_usd = Some((sum * 1_000_000.0).round() / 1_000_000.0);
        }
        if let Some(tokens) = data.get("input_tokens").and_then(Value::as_u64) {
            *self.input_tokens.get_or_insert(0) += tokens;
        }
        if let Some(tokens) = data.get("output_tokens").and_then(Value::as_u64) {
            *self.output_tokens.get_or_insert(0) += tokens;
        }
        if let Some(id) = data.get("session_id").and_then(Value::as_str) {
            self.last_session_id = Some(id.to_string());
        }
    }

    /// `$0.0123 · 12.3k in / 456 out`, or `-` for no sessions.
    pub fn text(&self) -> String {
        if self.sessions == 0 {
            return "-".into();
        }
        let mut parts = Vec::new();
        if let Some(cost) = self.cost_usd {
            parts.push(dollars(cost));
        }
        if self.input_tokens.is_some() || self.output_tokens.is_some() {
            parts.push(format!(
                "{} in / {} out",
                tokens(self.input_tokens.unwrap_or(0)),
                tokens(self.output_tokens.unwrap_or(0))
            ));
        }
        if parts.is_empty() {
            parts.push("no usage reported".into());
        }
        parts.join(" · ")
    }
}

/// The usage of a run: per task, and in all.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RunUsage {
    /// Per task id.
    pub tasks: BTreeMap<String, Usage>,
    /// Every session of the run.
    pub total: Usage,
    /// How many files each task's output commit changed, by task id (runs isolated in git).
    #[serde(skip)]
    pub files_changed: BTreeMap<String, u64>,
    /// Why the run is paused: the message of a `run_paused` event that no engine started
    /// after (`run_started`).
    #[serde(skip)]
    pub paused: Option<String>,
    /// The newest provider-limit wait of each agent profile (`profile_waiting`): its kind
    /// (`usage_limit`) and until when, in milliseconds.
    #[serde(skip)]
    pub waits: BTreeMap<String, (String, i64)>,
}

/// Sums the `agent_session` events of `run`.
pub fn run_usage(backend: &dyn TaskBackend, run: &str) -> BackendResult<RunUsage> {
    let mut usage = RunUsage::default();
    let mut after = 0;
    loop {
        let events = backend.read_events(run, after, PAGE)?;
        for event in &events {
            match event.kind.as_str() {
                "run_started" => usage.paused = None,
                "profile_waiting" => {
                    let data = &event.data;
                    if let (Some(profile), Some(until)) = (
                        data.get("profile").and_then(Value::as_str),
                        data.get("until").and_then(Value::as_i64),
                    ) {
                        let what = data
                            .get("what")
                            .and_then(Value::as_str)
                            .unwrap_or("a limit");
                        usage
                            .waits
                            .insert(profile.to_string(), (what.to_string(), until));
                    }
                }
                "run_paused" => {
                    usage.paused = event
                        .data
                        .get("message")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                }
                _ => {}
            }
            if event.kind == "task_succeeded" {
                let files = event.data.get("files_changed").and_then(Value::as_u64);
                if let (Some(task), Some(files)) = (&event.task, files) {
                    usage.files_changed.insert(task.clone(), files);
                }
            }
            if event.kind == "agent_session" {
                usage.total.add(&event.data);
                if let Some(task) = &event.task {
                    usage
                        .tasks
                        .entry(task.clone())
                        .or_default()
                        .add(&event.data);
                }
            }
        }
        match events.last() {
            Some(last) if events.len() == PAGE => after = last.seq,
            _ => return Ok(usage),
        }
    }
}

/// One session's line, from its event's data: `session ID · $0.0123 · 1.2k in / 45 out ·
/// 3 turns`.
pub fn usage_text(data: &Value) -> String {
    let mut one = Usage::default();
    one.add(data);
    let mut parts = vec![format!(
        "session {}",
        one.last_session_id.as_deref().unwrap_or("(no id)")
    )];
    let text = one.text();
    if text != "no usage reported" {
        parts.push(text);
    }
    if let Some(turns) = data.get("turns").and_then(Value::as_u64) {
        parts.push(super::human::plural(turns as usize, "turn"));
    }
    parts.join(" · ")
}

/// Dollars as people read them, with enough places for a cheap session to show: `$0.0861`,
/// `$1.25`. Every cost wfc prints goes through here.
pub fn dollars(cost: f64) -> String {
    if cost >= 1.0 {
        format!("${cost:.2}")
    } else {
        format!("${cost:.4}")
    }
}

/// 12345 as `12.3k`.
pub fn tokens(count: u64) -> String {
    match count {
        0..=999 => count.to_string(),
        1_000..=999_999 => format!("{:.1}k", count as f64 / 1_000.0),
        _ => format!("{:.1}M", count as f64 / 1_000_000.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_add_up() {
        let mut usage = Usage::default();
        usage.add(&serde_json::json!({"session_id": "a", "cost_usd": 0.5, "input_tokens": 1200, "output_tokens": 30}));
        usage.add(&serde_json::json!({"session_id": "b", "cost_usd": 0.75, "input_tokens": 800}));
        assert_eq!(usage.sessions, 2);
        assert_eq!(usage.last_session_id.as_deref(), Some("b"));
        assert_eq!(usage.text(), "$1.25 · 2.0k in / 30 out");
    }

    #[test]
    fn costs_sum_to_the_cent_fractions_reported() {
        let mut usage = Usage::default();
        usage.add(&serde_json::json!({"cost_usd": 0.0123}));
        usage.add(&serde_json::json!({"cost_usd": 0.0738}));
        assert_eq!(usage.text(), "$0.0861");
        let json = serde_json::to_string(&usage).expect("usage serializes");
        assert!(json.contains("\"cost_usd\":0.0861}"), "{json}");
    }

    #[test]
    fn one_turn_is_one_turn() {
        let line = usage_text(&serde_json::json!({"session_id": "s", "turns": 1}));
        assert_eq!(line, "session s · 1 turn");
    }

    #[test]
    fn a_session_line_names_its_id_and_turns() {
        let line = usage_text(
            &serde_json::json!({"session_id": "s-1", "cost_usd": 0.0018, "input_tokens": 300, "output_tokens": 60, "turns": 2}),
        );
        assert_eq!(line, "session s-1 · $0.0018 · 300 in / 60 out · 2 turns");
        assert_eq!(usage_text(&serde_json::json!({})), "session (no id)");
    }
}
