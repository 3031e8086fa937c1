//! What each run's agent sessions have spent, as this engine knows it, and the check before an
//! agent attempt starts ([`lifecycle::next_agent_attempt`]).
//!
//! The tally is read once per run from the run's log (its `agent_session` events, and the
//! newest `budget_set` event over the plan's `budget`), then kept up to date by the sessions
//! this engine runs. The log is the source because every backend has one: no backend stores
//! a budget or a sum. Another engine's sessions on the same run are counted when an engine
//! next reads the run (`wfc resume` always does).

use super::limits::{self, ProfileWait};
use super::{Engine, EngineError, EventKind, TaskKey};
use crate::plan::{Action, TaskSpec};
use crate::runtime::lifecycle::{self, OverBudget, SessionAllowance};
use serde_json::Value;
use std::collections::HashMap;

/// How many events are read per page.
const PAGE: usize = 5_000;

/// What a run's sessions have spent.
#[derive(Clone, Debug, Default)]
pub(super) struct RunSpending {
    /// The run's budget in US dollars, if it has one.
    budget: Option<f64>,
    /// The sum of the costs its sessions reported.
    spent: f64,
    /// Its sessions that reported no cost: unknown, never counted as free.
    unknown: u64,
    /// What each task's sessions spent.
    by_task: HashMap<String, f64>,
    /// Whether this engine already said that the run is paused.
    announced: bool,
}

impl RunSpending {
    fn add(&mut self, task: &str, data: &Value) {
        match data.get("cost_usd").and_then(Value::as_f64) {
            Some(cost) => {
                self.spent += cost;
                *self.by_task.entry(task.to_string()).or_default() += cost;
            }
            None => self.unknown += 1,
        }
    }
}

/// Dollars in the engine's messages: `$1.25`.
fn usd(amount: f64) -> String {
    format!("${amount:.2}")
}

impl Engine {
    /// The tally of `run`, read from its log the first time, with the waits of its profiles
    /// (`profile_waiting` events; a session of the profile that succeeded later ends the run
    /// of strikes).
    /// Called before every claim of an agent task, so it copies nothing once read.
    pub(super) async fn spending(&self, run: &str) -> Result<(), EngineError> {
        if self.lock_spending().contains_key(run) {
            return Ok(());
        }
        let plan = self.plan(run).await?;
        let id = run.to_string();
        let read = self
            .call(move |backend| {
                let mut tally = RunSpending {
                    budget: plan.budget_usd,
                    ..RunSpending::default()
                };
                let mut waits: HashMap<String, ProfileWait> = HashMap::new();
                let profile = |task: &str| plan.task(task).and_then(limits::profile_of);
                let mut after = 0;
                loop {
                    let events = backend.read_events(&id, after, PAGE)?;
                    for event in &events {
                        match (event.kind.as_str(), &event.task) {
                            ("agent_session", Some(task)) => {
                                tally.add(task, &event.data);
                                let ok = event.data.get("ok").and_then(Value::as_bool);
                                if let (Some(true), Some(profile)) = (ok, profile(task)) {
                                    waits.entry(profile).or_default().strikes = 0;
                                }
                            }
                            ("profile_waiting", _) => {
                                let data = &event.data;
                                if let Some(profile) = data.get("profile").and_then(Value::as_str) {
                                    let number =
                                        |name: &str| data.get(name).and_then(Value::as_i64);
                                    waits.insert(
                                        profile.to_string(),
                                        ProfileWait {
                                            until: number("until").unwrap_or(0),
                                            strikes: number("strikes").unwrap_or(1) as u32,
                                        },
                                    );
                                }
                            }
                            ("budget_set", _) => {
                                tally.budget = event.data.get("budget_usd").and_then(Value::as_f64)
                            }
                            _ => {}
                        }
                    }
                    match events.last() {
                        Some(last) if events.len() == PAGE => after = last.seq,
                        _ => return Ok((tally, waits)),
                    }
                }
            })
            .await?;
        let (read, waits) = read;
        self.merge_waits(waits);
        self.lock_spending().entry(run.to_string()).or_insert(read);
        Ok(())
    }

    fn lock_spending(&self) -> std::sync::MutexGuard<'_, HashMap<String, RunSpending>> {
        self.spending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds the usage of a session of `key` (an `agent_session` event's data) to its run's
    /// tally, if the tally was read.
    pub(super) fn add_session_spend(&self, key: &TaskKey, data: &Value) {
        if let Some(tally) = self.lock_spending().get_mut(&key.run) {
            tally.add(&key.task, data);
        }
    }

    /// Whether the next attempt of `key` may start: always for tasks that start no agent
    /// session, by the budget rule for agent tasks. The first refusal of a run is recorded as
    /// a `run_paused` event.
    pub(super) async fn budget_allows(
        &self,
        key: &TaskKey,
        spec: &TaskSpec,
    ) -> Result<Result<SessionAllowance, OverBudget>, EngineError> {
        let unbounded = Ok(SessionAllowance { max_usd: None });
        if !matches!(spec.action, Action::Agent { .. }) || spec.action.waits_for_person() {
            return Ok(unbounded);
        }
        self.spending(&key.run).await?;
        let Some((budget, spent, unknown, task_spent)) =
            self.lock_spending().get(&key.run).map(|tally| {
                let task_spent = tally.by_task.get(&key.task).copied().unwrap_or(0.0);
                (tally.budget, tally.spent, tally.unknown, task_spent)
            })
        else {
            return Ok(unbounded);
        };
        if budget.is_none() && spec.budget_usd.is_none() {
            return Ok(unbounded);
        }
        let verdict = lifecycle::next_agent_attempt(budget, spent, spec.budget_usd, task_spent);
        if let Err(over) = verdict {
            self.announce_pause(key, (budget, spent, unknown), over);
        }
        Ok(verdict)
    }

    /// Records, once per run, that the run is paused because `key` cannot be paid for.
    /// `tally` is the run's budget, what it spent, and how many sessions reported no cost.
    fn announce_pause(&self, key: &TaskKey, tally: (Option<f64>, f64, u64), over: OverBudget) {
        let (run_budget, run_spent, unknown_sessions) = tally;
        {
            let mut spending = self.lock_spending();
            let Some(known) = spending.get_mut(&key.run) else {
                return;
            };
            if known.announced {
                return;
            }
            known.announced = true;
        }
        let unknown = match unknown_sessions {
            0 => String::new(),
            1 => " (and 1 session of unknown cost)".to_string(),
            n => format!(" (and {n} sessions of unknown cost)"),
        };
        let message = match over {
            OverBudget::Run {
                budget,
                spent,
                needs: Some(needs),
            } => format!(
                "budget: {} of {} spent{unknown}, and {} may cost up to {}; \
                 `wfc resume {} --budget MORE` goes on",
                usd(spent),
                usd(budget),
                key.task,
                usd(needs),
                key.run
            ),
            OverBudget::Run { budget, spent, .. } => format!(
                "budget: {} of {} spent{unknown}; `wfc resume {} --budget MORE` goes on",
                usd(spent),
                usd(budget),
                key.run
            ),
            OverBudget::Task { cap, spent } => format!(
                "budget: task {} spent {} of its {} (`budget` in the task); \
                 raise it and `wfc resume {} --replan`",
                key.task,
                usd(spent),
                usd(cap),
                key.run
            ),
        };
        let (budget, needs) = match over {
            OverBudget::Run { budget, needs, .. } => (Some(budget), needs),
            OverBudget::Task { cap, .. } => (run_budget, Some(cap)),
        };
        self.emit(
            &key.run,
            EventKind::RunPaused,
            Some(&key.task),
            serde_json::json!({
                "reason": "budget",
                "message": message,
                "spent_usd": (run_spent * 1_000_000.0).round() / 1_000_000.0,
                "budget_usd": budget,
                "needs_usd": needs,
                "sessions_without_cost": unknown_sessions,
            }),
        );
        self.lock_paused().insert(key.run.clone(), message);
    }

    fn lock_paused(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.paused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Why `run` is paused, if this engine paused it: the engine ended because its budget
    /// cannot pay for its next agent session.
    pub fn paused(&self, run: &str) -> Option<String> {
        self.lock_paused().get(run).cloned()
    }
}
