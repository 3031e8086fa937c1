//! Where each bounded loop of a run is (`wfc status`): the round its newest deciding task
//! decides, of at most how many, and whether the loop ended, failed or goes on.

use crate::plan::Plan;
use crate::runtime::model::{TaskRecord, TaskState};
use serde::Serialize;
use std::collections::HashMap;

/// One loop of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LoopRounds {
    /// The loop's id, unnumbered: `review_loop`.
    pub name: String,
    /// The newest round the run made.
    pub round: u32,
    /// The most rounds it may run.
    pub max: u32,
    /// The state of that round's deciding task: `succeeded` once the loop ended, `failed`
    /// when it did not converge (or its `until` could not be read), else still to decide.
    pub state: TaskState,
}

impl LoopRounds {
    /// The line `wfc status` shows for it.
    pub fn text(&self) -> String {
        let (name, round, max) = (&self.name, self.round, self.max);
        match self.state {
            TaskState::Succeeded => format!("loop {name}: ended in round {round} of at most {max}"),
            TaskState::Failed => format!("loop {name}: failed in round {round} of at most {max}"),
            _ => format!("loop {name}: in round {round} of at most {max}"),
        }
    }
}

/// The loops of `plan`, in plan order, each at its newest round, with `tasks`' states.
pub fn loop_rounds(plan: &Plan, tasks: &[TaskRecord]) -> Vec<LoopRounds> {
    let states: HashMap<&str, TaskState> = tasks
        .iter()
        .map(|task| (task.key.task.as_str(), task.state))
        .collect();
    let mut loops: Vec<LoopRounds> = Vec::new();
    for task in &plan.tasks {
        let Some(repeat) = &task.repeat else {
            continue;
        };
        let state = states
            .get(task.id.as_str())
            .copied()
            .unwrap_or(TaskState::Pending);
        let newest = LoopRounds {
            name: repeat.name.clone(),
            round: repeat.round,
            max: repeat.max,
            state,
        };
        match loops.iter_mut().find(|known| known.name == repeat.name) {
            Some(known) if known.round < repeat.round => *known = newest,
            Some(_) => {}
            None => loops.push(newest),
        }
    }
    loops
}
