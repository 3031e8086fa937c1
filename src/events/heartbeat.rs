//! Heartbeat lines for output without a terminal: a CI log shows nothing between a task's
//! start and its end, so a task running longer than the interval (a minute, or
//! `WFC_HEARTBEAT_SECS`) gets a line every interval: `… design running 5m, $0.42`.

use super::{Event, EventKind};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The interval when `WFC_HEARTBEAT_SECS` does not set one.
const DEFAULT_EVERY: Duration = Duration::from_secs(60);

/// The tasks running in this process, and when each is due its next heartbeat line.
pub struct Heartbeats {
    every: Duration,
    /// By run, then task.
    running: BTreeMap<(String, String), Running>,
}

struct Running {
    since: Instant,
    next: Instant,
    /// What the task's finished agent sessions cost (an earlier attempt's included).
    sessions_usd: Option<f64>,
    /// What the session that runs now reported so far, when its adapter reports it.
    current_usd: Option<f64>,
}

impl Heartbeats {
    /// Heartbeats every `every`.
    pub fn new(every: Duration) -> Self {
        Heartbeats {
            every: every.max(Duration::from_secs(1)),
            running: BTreeMap::new(),
        }
    }

    /// The interval `WFC_HEARTBEAT_SECS` sets (whole seconds, at least 1), else a minute.
    pub fn interval_from_env() -> Duration {
        std::env::var("WFC_HEARTBEAT_SECS")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .filter(|&s| s > 0)
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_EVERY)
    }

    /// Follows `event`, which happened at `now`.
    pub fn see(&mut self, event: &Event, now: Instant) {
        let key = (event.run.clone(), event.task.clone().unwrap_or_default());
        match event.kind {
            EventKind::TaskStarted => {
                let sessions_usd = self.running.get(&key).and_then(|r| r.sessions_usd);
                self.running.insert(
                    key,
                    Running {
                        since: now,
                        next: now + self.every,
                        sessions_usd,
                        current_usd: None,
                    },
                );
            }
            EventKind::AgentActivity => {
                if let (Some(running), Some(cost)) =
                    (self.running.get_mut(&key), event.data["cost_usd"].as_f64())
                {
                    running.current_usd = Some(cost);
                }
            }
            EventKind::AgentSession => {
                if let (Some(running), Some(cost)) =
                    (self.running.get_mut(&key), event.data["cost_usd"].as_f64())
                {
                    *running.sessions_usd.get_or_insert(0.0) += cost;
                    running.current_usd = None;
                }
            }
            EventKind::TaskSucceeded
            | EventKind::TaskSkipped
            | EventKind::TaskFailed
            | EventKind::TaskRetrying
            | EventKind::TaskGivenBack
            | EventKind::GateWaiting => {
                self.running.remove(&key);
            }
            EventKind::RunFinished => self.running.retain(|(run, _), _| *run != event.run),
            _ => {}
        }
    }

    /// How many tasks run in this process.
    pub fn running(&self) -> usize {
        self.running.len()
    }

    /// The heartbeat lines due at `now`, each with its run, and when each is due next.
    pub fn due(&mut self, now: Instant) -> Vec<(String, String)> {
        let every = self.every;
        let mut lines = Vec::new();
        for ((run, task), running) in &mut self.running {
            if now < running.next {
                continue;
            }
            running.next = now + every;
            let cost = match (running.sessions_usd, running.current_usd) {
                (None, None) => String::new(),
                (a, b) => format!(", ${:.2}", a.unwrap_or(0.0) + b.unwrap_or(0.0)),
            };
            let span = span(now.duration_since(running.since));
            lines.push((run.clone(), format!("… {task} running {span}{cost}")));
        }
        lines
    }
}

/// A running time a person reads at a glance: `45s`, `5m`, `1h 05m`.
pub fn span(elapsed: Duration) -> String {
    let seconds = elapsed.as_secs();
    match seconds {
        0..=59 => format!("{seconds}s"),
        60..=3599 => format!("{}m", seconds / 60),
        _ => format!("{}h {:02}m", seconds / 3600, (seconds % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind, task: &str, data: serde_json::Value) -> Event {
        Event {
            at: 0,
            run: "r1".into(),
            kind,
            task: Some(task.into()),
            data,
        }
    }

    #[test]
    fn a_long_task_gets_a_line_every_interval_with_its_cost() {
        let start = Instant::now();
        let mut beats = Heartbeats::new(Duration::from_secs(60));
        beats.see(
            &event(EventKind::TaskStarted, "design", serde_json::json!({})),
            start,
        );
        assert!(beats.due(start + Duration::from_secs(59)).is_empty());
        assert_eq!(
            beats.due(start + Duration::from_secs(61)),
            vec![("r1".into(), "… design running 1m".into())]
        );
        assert!(beats.due(start + Duration::from_secs(62)).is_empty());
        beats.see(
            &event(
                EventKind::AgentActivity,
                "design",
                serde_json::json!({"activity": "Read", "cost_usd": 0.42}),
            ),
            start,
        );
        assert_eq!(
            beats.due(start + Duration::from_secs(300)),
            vec![("r1".into(), "… design running 5m, $0.42".into())]
        );
        beats.see(
            &event(EventKind::TaskSucceeded, "design", serde_json::json!({})),
            start,
        );
        assert!(beats.due(start + Duration::from_secs(900)).is_empty());
        assert_eq!(beats.running(), 0);
    }

    #[test]
    fn spans_read_at_a_glance() {
        assert_eq!(span(Duration::from_secs(45)), "45s");
        assert_eq!(span(Duration::from_secs(301)), "5m");
        assert_eq!(span(Duration::from_secs(3900)), "1h 05m");
    }
}
