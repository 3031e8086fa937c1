//! The budget rule: whether the next agent attempt of a task may start, given what the run and
//! the task have spent, and how much the session may spend if it does.
//!
//! The rule is deliberately cautious: with a cap on the task, an attempt starts only if the
//! run could pay the task's whole remaining cap, so a run never ends above its budget because
//! of sessions that started under it. Without a cap nothing bounds a session beforehand, so an
//! attempt starts while anything of the budget is left. Sessions that reported no cost add
//! nothing here (there is nothing to add), but they are counted and shown as unknown.

/// What an agent attempt may spend, when the rule lets it start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SessionAllowance {
    /// The most the session may spend, in US dollars, when anything bounds it: the smaller of
    /// the task's remaining cap and the run's remaining budget. Passed to CLIs that can stop a
    /// session at a cost (Claude Code's `--max-budget-usd`).
    pub max_usd: Option<f64>,
}

/// Why an agent attempt may not start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OverBudget {
    /// The run's budget cannot pay the attempt: `spent` of `budget` is spent, and the task
    /// may need `needs` more.
    Run {
        /// The run's budget.
        budget: f64,
        /// What the run's sessions have spent.
        spent: f64,
        /// What the attempt may cost: the task's remaining cap, if it has one.
        needs: Option<f64>,
    },
    /// The task has spent its own cap.
    Task {
        /// The task's cap.
        cap: f64,
        /// What its sessions have spent.
        spent: f64,
    },
}

/// Whether the next agent attempt of a task may start: `budget` and `run_spent` are the run's,
/// `cap` and `task_spent` the task's (all in US dollars).
pub fn next_agent_attempt(
    budget: Option<f64>,
    run_spent: f64,
    cap: Option<f64>,
    task_spent: f64,
) -> Result<SessionAllowance, OverBudget> {
    let task_left = match cap {
        Some(cap) if task_spent >= cap => {
            return Err(OverBudget::Task {
                cap,
                spent: task_spent,
            })
        }
        Some(cap) => Some(cap - task_spent),
        None => None,
    };
    let run_left = match budget {
        Some(budget) => {
            let fits = match task_left {
                Some(needs) => run_spent + needs <= budget + f64::EPSILON,
                None => run_spent < budget,
            };
            if !fits {
                return Err(OverBudget::Run {
                    budget,
                    spent: run_spent,
                    needs: task_left,
                });
            }
            Some(budget - run_spent)
        }
        None => None,
    };
    let max_usd = match (task_left, run_left) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok(SessionAllowance { max_usd })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_budgets_every_attempt_starts_unbounded() {
        assert_eq!(
            next_agent_attempt(None, 100.0, None, 0.0),
            Ok(SessionAllowance { max_usd: None })
        );
    }

    #[test]
    fn a_cap_must_fit_in_what_is_left_of_the_budget() {
        assert_eq!(
            next_agent_attempt(Some(10.0), 7.0, Some(3.0), 0.0),
            Ok(SessionAllowance { max_usd: Some(3.0) })
        );
        assert_eq!(
            next_agent_attempt(Some(10.0), 7.5, Some(3.0), 0.0),
            Err(OverBudget::Run {
                budget: 10.0,
                spent: 7.5,
                needs: Some(3.0)
            })
        );
        // What the task already spent is part of the run's spending, and not needed again.
        assert_eq!(
            next_agent_attempt(Some(10.0), 8.0, Some(3.0), 1.0),
            Ok(SessionAllowance { max_usd: Some(2.0) })
        );
    }

    #[test]
    fn without_a_cap_an_attempt_starts_while_budget_is_left() {
        assert_eq!(
            next_agent_attempt(Some(10.0), 9.5, None, 0.0),
            Ok(SessionAllowance { max_usd: Some(0.5) })
        );
        assert!(next_agent_attempt(Some(10.0), 10.0, None, 0.0).is_err());
    }

    #[test]
    fn a_task_that_spent_its_cap_stops() {
        assert_eq!(
            next_agent_attempt(None, 2.0, Some(2.0), 2.0),
            Err(OverBudget::Task {
                cap: 2.0,
                spent: 2.0
            })
        );
    }
}
