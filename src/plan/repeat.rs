//! Bounded loops at run time (GRAMMAR.md, "Bounded loops"): a loop `review_loop` is planned
//! as its first round, each of its tasks numbered by round (`review#1`, `fix#1`), and one
//! more task, `review_loop#1`, that waits for the round and runs nothing: when it is
//! claimed, the engine decides the loop's `until` on the round's outputs. If it holds, the
//! loop is over. If not, the engine makes the [`next_round`] (`review#2`, `fix#2`,
//! `review_loop#2`), each task waiting for what it waited for in the round before and for
//! that round's decision, and everything after the loop now waits for and reads the new
//! round; the new plan replaces the run's in one atomic step of the backend, which also
//! records the decision's success, so a round is made once or not at all. After `max`
//! rounds whose `until` is false the deciding task fails: the loop did not converge.

use super::condition::RunCondition;
use super::fan_out::{each_part, Part};
use super::spec::{Plan, TaskSpec};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// What the task that decides a loop's round knows of the loop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoopSpec {
    /// The loop's id, unnumbered: `review_loop` (`sub.review_loop` through a `use`).
    pub name: String,
    /// The round this task decides, from 1.
    pub round: u32,
    /// The most rounds the loop runs.
    pub max: u32,
    /// The condition that ends the loop, reading this round's tasks.
    pub until: RunCondition,
    /// The ids of the loop's tasks, unnumbered (`review`, `fix[a]`), in plan order.
    pub body: Vec<String>,
}

/// The id of `task` in `round`: `review#2`.
pub fn round_id(task: &str, round: u32) -> String {
    format!("{task}#{round}")
}

/// Numbers the first round of every loop of a freshly expanded plan: each loop's tasks and
/// its deciding task get `#1`, wherever they are named.
pub fn number_first_rounds(tasks: &mut [TaskSpec]) {
    let names: HashSet<String> = tasks
        .iter()
        .filter_map(|task| task.repeat.as_ref())
        .flat_map(|spec| spec.body.iter().chain(std::iter::once(&spec.name)))
        .cloned()
        .collect();
    if names.is_empty() {
        return;
    }
    let rename = |id: &str| names.contains(id).then(|| round_id(id, 1));
    for task in tasks.iter_mut() {
        rename_in(task, &rename);
    }
}

/// The plan with round `round + 1` of the loop that `decider` (its round `round`'s
/// deciding task) decides, placed right after `decider`; returns it with the new tasks' ids.
/// Refuses a loop already at its maximum.
pub fn next_round(plan: &Plan, decider: &str) -> Result<(Plan, Vec<String>), String> {
    let position = plan
        .tasks
        .iter()
        .position(|task| task.id == decider)
        .ok_or_else(|| format!("the plan has no task `{decider}`"))?;
    let spec = plan.tasks[position]
        .repeat
        .as_ref()
        .ok_or_else(|| format!("`{decider}` decides no loop"))?;
    if spec.round >= spec.max {
        return Err(format!(
            "the loop `{}` has run its {} rounds",
            spec.name, spec.max
        ));
    }
    let (now, next) = (spec.round, spec.round + 1);
    let renames: HashMap<String, String> = spec
        .body
        .iter()
        .chain(std::iter::once(&spec.name))
        .map(|id| (round_id(id, now), round_id(id, next)))
        .collect();
    let rename = |id: &str| renames.get(id).cloned();
    let body: HashSet<String> = spec.body.iter().map(|id| round_id(id, now)).collect();
    let mut round: Vec<TaskSpec> = plan.tasks[..position]
        .iter()
        .filter(|task| body.contains(&task.id))
        .map(|task| {
            let mut task = task.clone();
            rename_in(&mut task, &rename);
            // The round starts once the one before it is decided (which waited for the
            // decision before that).
            let earlier = round_id(&spec.name, now.saturating_sub(1));
            task.deps.retain(|dep| *dep != earlier);
            if !task.deps.iter().any(|dep| dep == decider) {
                task.deps.insert(0, decider.to_string());
            }
            task
        })
        .collect();
    let mut decides = plan.tasks[position].clone();
    rename_in(&mut decides, &rename);
    if let Some(repeat) = &mut decides.repeat {
        repeat.round = next;
    }
    round.push(decides);
    let ids: Vec<String> = round.iter().map(|task| task.id.clone()).collect();
    let mut tasks = Vec::with_capacity(plan.tasks.len() + round.len());
    tasks.extend(plan.tasks[..=position].iter().cloned());
    tasks.extend(round);
    // What comes after the loop waits for and reads its newest round.
    for task in &plan.tasks[position + 1..] {
        let mut task = task.clone();
        rename_in(&mut task, &rename);
        tasks.push(task);
    }
    let expanded = Plan {
        tasks,
        ..plan.clone()
    };
    expanded.validate()?;
    Ok((expanded, ids))
}

/// `plan` as the file plans it: each loop's later rounds gone, and everything after a loop
/// waiting for and reading its first round again. Comparing a run's snapshot with its file
/// compares this.
pub fn collapse(plan: &Plan) -> Plan {
    let mut later: HashMap<String, String> = HashMap::new();
    for spec in plan.tasks.iter().filter_map(|task| task.repeat.as_ref()) {
        for id in spec.body.iter().chain(std::iter::once(&spec.name)) {
            for round in 2..=spec.round {
                later.insert(round_id(id, round), round_id(id, 1));
            }
        }
    }
    if later.is_empty() {
        return plan.clone();
    }
    let rename = |id: &str| later.get(id).cloned();
    let tasks = plan
        .tasks
        .iter()
        .filter(|task| !later.contains_key(&task.id))
        .map(|task| {
            let mut task = task.clone();
            rename_in(&mut task, &rename);
            task.deps.dedup();
            task
        })
        .collect();
    Plan {
        tasks,
        ..plan.clone()
    }
}

/// Renames every task id `task` holds (its own, what it waits for and reads) that `rename`
/// gives a new id.
fn rename_in(task: &mut TaskSpec, rename: &dyn Fn(&str) -> Option<String>) {
    let swap = |id: &mut String| {
        if let Some(new) = rename(id) {
            *id = new;
        }
    };
    if task.title == task.id {
        swap(&mut task.title);
    }
    swap(&mut task.id);
    task.deps.iter_mut().for_each(swap);
    task.outcomes.iter_mut().for_each(|o| swap(&mut o.task));
    if let Some(condition) = &mut task.condition {
        condition.rename_tasks(rename);
    }
    if let Some(fan_out) = &mut task.fan_out {
        swap(&mut fan_out.from);
    }
    if let Some(repeat) = &mut task.repeat {
        repeat.until.rename_tasks(rename);
    }
    each_part(task, &mut |part| {
        if let Part::Tasks(read) = part {
            read.iter_mut().for_each(swap);
        }
    });
}
