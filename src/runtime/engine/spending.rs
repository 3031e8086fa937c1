//! What each run's agent sessions have spent, as this engine knows it, and the check before an
//! agent attempt starts ([`lifecycle::next_agent_attempt`]).
//!
//! The tally is read from the run's log (its `agent_session` events, and the newest
//! `budget_set` event over the plan's `budget`): all of it the first time, then, before each
//! check, the events stored since. The sessions this engine runs are counted as they end (its
//! own events reach the log a moment later, and are then skipped by their `worker`); those of
//! every other engine on the same run (`wfc worker`, a second `wfc run`) are counted when they
//! are read, so the budget is the run's, whichever engines spend it. The log is the source
//! because every backend has one: no backend stores a budget or a sum.

use super::limits::{self, ProfileWait};
use super::{Engine, EngineError, EventKind, TaskKey};
use crate::plan::{Action, TaskSpec};
use crate::runtime::agent::AgentReply;
use crate::runtime::lifecycle::{self, OverBudget, SessionAllowance};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

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
    /// The `seq` of the last event of the run's log read.
    read_to: i64,
    /// Tasks that needed an agent session to resolve a conflict: budget-gated from then on.
    resolving: HashSet<String>,
    /// Tasks whose attempt the budget refused that session, until the attempt ends.
    refused: HashSet<String>,
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
    /// Brings the tally of `run` up to date with its log: all of it the first time, then what
    /// other engines' sessions stored since (and new budgets and waits), with the waits of its
    /// profiles (`profile_waiting` events; a session of the profile that succeeded later ends
    /// the run of strikes). Called before every claim of an agent task: after the first read
    /// it reads only the events stored since the last.
    pub(super) async fn spending(&self, run: &str) -> Result<(), EngineError> {
        let known = self.lock_spending().get(run).map(|tally| tally.read_to);
        let plan = self.plan(run).await?;
        let id = run.to_string();
        let after = known.unwrap_or(0);
        // Only the events that change the tally are kept, with the last `seq` read.
        let (read, last) = self
            .call(move |backend| {
                let mut kept = Vec::new();
                let mut last = after;
                loop {
                    let events = backend.read_events(&id, last, PAGE)?;
                    let full = events.len() == PAGE;
                    for event in events {
                        last = last.max(event.seq);
                        if matches!(
                            event.kind.as_str(),
                            "agent_session" | "profile_waiting" | "budget_set"
                        ) {
                            kept.push(event);
                        }
                    }
                    if !full {
                        return Ok((kept, last));
                    }
                }
            })
            .await?;
        let own = self.config.worker.as_str();
        let profile = |task: &str| plan.task(task).and_then(limits::profile_of);
        let mut waits: HashMap<String, ProfileWait> = HashMap::new();
        {
            let mut spending = self.lock_spending();
            let tally = spending
                .entry(run.to_string())
                .or_insert_with(|| RunSpending {
                    budget: plan.budget_usd,
                    ..RunSpending::default()
                });
            // Another call read these events already.
            let read_to = tally.read_to;
            let fresh = read.iter().filter(|event| event.seq > read_to);
            for event in fresh {
                let data = &event.data;
                match (event.kind.as_str(), &event.task) {
                    ("agent_session", Some(task)) => {
                        // This engine counted its own sessions when they ended.
                        let mine = data.get("worker").and_then(Value::as_str) == Some(own);
                        if known.is_none() || !mine {
                            tally.add(task, data);
                        }
                        let ok = data.get("ok").and_then(Value::as_bool);
                        if let (Some(true), Some(profile)) = (ok, profile(task)) {
                            waits.entry(profile).or_default().strikes = 0;
                        }
                    }
                    ("profile_waiting", _) => {
                        if let Some(profile) = data.get("profile").and_then(Value::as_str) {
                            let number = |name: &str| data.get(name).and_then(Value::as_i64);
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
                        tally.budget = data.get("budget_usd").and_then(Value::as_f64);
                    }
                    _ => {}
                }
            }
            tally.read_to = tally.read_to.max(last);
        }
        self.merge_waits(waits);
        Ok(())
    }

    fn lock_spending(&self) -> std::sync::MutexGuard<'_, HashMap<String, RunSpending>> {
        self.spending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a session of `key`'s attempt `attempt` that ended with `reply` (for `purpose`,
    /// when it was not the task's own work): its usage as an `agent_session` event, a failed
    /// session's too, since it was paid for; its cost in the run's tally; and the provider's
    /// limit it met, or that its profile's limits are over.
    pub(super) fn session_ended(
        &self,
        key: &TaskKey,
        spec: &TaskSpec,
        attempt: u32,
        reply: &AgentReply,
        purpose: Option<&str>,
    ) {
        let mut data = serde_json::to_value(&reply.usage).unwrap_or_else(|_| serde_json::json!({}));
        data["attempt"] = attempt.into();
        data["ok"] = reply.outcome.is_ok().into();
        // Which engine ran it: an engine skips its own sessions when it reads the log again.
        data["worker"] = self.config.worker.clone().into();
        if let Some(purpose) = purpose {
            data["purpose"] = purpose.into();
        }
        if let Some(tally) = self.lock_spending().get_mut(&key.run) {
            tally.add(&key.task, &data);
        }
        match &reply.usage.limit {
            Some(limit) => self.note_limit(key, limit.clone()),
            None if reply.outcome.is_ok() => self.limit_cleared(spec),
            None => {}
        }
        self.emit(&key.run, EventKind::AgentSession, Some(&key.task), data);
    }

    /// Whether the next attempt of `key` may start: always for tasks that start no agent
    /// session, by the budget rule for agent tasks and for tasks whose conflict needed a
    /// session to resolve it. The first refusal of a run is recorded as a `run_paused` event.
    pub(super) async fn budget_allows(
        &self,
        key: &TaskKey,
        spec: &TaskSpec,
    ) -> Result<Result<SessionAllowance, OverBudget>, EngineError> {
        let agent = matches!(spec.action, Action::Agent { .. }) && !spec.action.waits_for_person();
        if !agent && !self.resolves_conflict(key) {
            return Ok(Ok(SessionAllowance { max_usd: None }));
        }
        self.session_budget(key, spec).await
    }

    /// Whether an agent session resolves `key`'s conflict (an attempt of it asked for one):
    /// its next attempt is gated by the budget like an agent task.
    pub(super) fn resolves_conflict(&self, key: &TaskKey) -> bool {
        self.lock_spending()
            .get(&key.run)
            .is_some_and(|tally| tally.resolving.contains(&key.task))
    }

    /// Whether `key` may start the agent session that resolves its conflict, by the same rule
    /// as an agent task's session; the task is then gated like an agent task. A refusal is
    /// remembered for the attempt's end ([`Engine::take_budget_refusal`]).
    pub(super) async fn conflict_budget(
        &self,
        key: &TaskKey,
        spec: &TaskSpec,
    ) -> Result<Result<SessionAllowance, OverBudget>, EngineError> {
        self.spending(&key.run).await?;
        if let Some(tally) = self.lock_spending().get_mut(&key.run) {
            tally.resolving.insert(key.task.clone());
        }
        let verdict = self.session_budget(key, spec).await?;
        if verdict.is_err() {
            if let Some(tally) = self.lock_spending().get_mut(&key.run) {
                tally.refused.insert(key.task.clone());
            }
        }
        Ok(verdict)
    }

    /// Whether the attempt of `key` ended because the budget could not pay for the session
    /// that would resolve its conflict; forgets it.
    pub(super) fn take_budget_refusal(&self, key: &TaskKey) -> bool {
        self.lock_spending()
            .get_mut(&key.run)
            .is_some_and(|tally| tally.refused.remove(&key.task))
    }

    /// The budget rule for one more agent session of `key`.
    async fn session_budget(
        &self,
        key: &TaskKey,
        spec: &TaskSpec,
    ) -> Result<Result<SessionAllowance, OverBudget>, EngineError> {
        let unbounded = Ok(SessionAllowance { max_usd: None });
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
