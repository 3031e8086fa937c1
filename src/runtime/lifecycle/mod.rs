//! The rules of a run's lifecycle, in one place (ARCHITECTURE.md "Ports": the core decides,
//! adapters store). Each rule is a plain function over what a backend reads inside its own
//! atomic step — a task's record and the few facts around it, or a run's progress — so every
//! store (memory, SQLite, beads, Postgres) applies the same rules, and they are tested once,
//! here. A backend only reads, lets a rule change the record, and writes it back.

mod attempt;
mod budget;
mod condition;
mod fan_out;
mod gate;
mod operator;
mod replan;
mod run_end;

pub use attempt::{
    claim, claimable, complete, fail, heartbeat, holds, lease_expired, release, start, unclaim,
    Completion, TaskFacts,
};
pub use budget::{next_agent_attempt, OverBudget, SessionAllowance};
pub use condition::{ended_at_claim, resolve_outcomes, skip};
pub use fan_out::expansion_records;
pub use gate::{answer_gate, wait_gate};
pub use operator::{
    cancel, interrupt, interrupted_error, interruption, mark_done, may_mark_done, reset, TaskReset,
};
pub use replan::{records_fit, replan, Fate, Replanned};
pub use run_end::{progress_of, settled_state, RunProgress};

#[cfg(test)]
pub(crate) fn task_in(state: super::model::TaskState) -> super::model::TaskRecord {
    super::model::TaskRecord {
        state,
        ..super::model::TaskRecord::new(super::TaskKey::new("r", "t"), 0)
    }
}
