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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::from_text::plan_of;

    const LOOP: &str = r#"workflow w {
  task draft { run = "echo draft" }
  repeat polish after draft max 3 until review.output.ok {
    task review {
      run    = "cat review.json"
      labels = ["review"]
      output: { ok: bool }
    }
    task fix after review when !review.output.ok {
      run    = "echo {{ review.result }}"
      labels = ["fix", "review"]
    }
  }
  task ship after polish (failed) { run = "echo {{ review.result }}" }
}
"#;

    fn planned() -> Plan {
        plan_of(LOOP, "run")
    }

    fn ids(plan: &Plan) -> Vec<&str> {
        plan.tasks.iter().map(|t| t.id.as_str()).collect()
    }

    fn reads(task: &TaskSpec) -> Vec<String> {
        let mut task = task.clone();
        let mut found = Vec::new();
        each_part(&mut task, &mut |part| {
            if let Part::Tasks(read) = part {
                found.extend(read.iter().cloned());
            }
        });
        found
    }

    #[test]
    fn the_first_round_is_numbered_wherever_it_is_named() {
        let plan = planned();
        assert_eq!(
            ids(&plan),
            ["draft", "review#1", "fix#1", "polish#1", "ship"]
        );
        let fix = plan.task("fix#1").expect("fix");
        assert_eq!(fix.deps, ["review#1", "draft"]);
        assert_eq!(
            fix.condition.as_ref().map(|c| c.reads()),
            Some(vec!["review#1"])
        );
        let ship = plan.task("ship").expect("ship");
        assert_eq!(ship.deps, ["polish#1"]);
        assert_eq!(ship.outcomes[0].task, "polish#1");
        assert_eq!(reads(ship), ["review#1"]);
        let repeat = plan
            .task("polish#1")
            .and_then(|t| t.repeat.clone())
            .expect("decider");
        assert_eq!((repeat.round, repeat.max), (1, 3));
        assert_eq!(repeat.body, ["review", "fix"]);
        assert_eq!(repeat.until.reads(), ["review#1"]);
        // A worker that takes the round's tasks by their labels decides the round too.
        assert_eq!(
            plan.task("polish#1").expect("decider").labels,
            ["review", "fix"]
        );
    }

    #[test]
    fn each_next_round_follows_the_decision_before_it_and_what_follows_reads_it() {
        let first = planned();
        let (second, made) = next_round(&first, "polish#1").expect("round 2");
        assert_eq!(made, ["review#2", "fix#2", "polish#2"]);
        let (third, _) = next_round(&second, "polish#2").expect("round 3");
        assert_eq!(
            ids(&third),
            [
                "draft", "review#1", "fix#1", "polish#1", "review#2", "fix#2", "polish#2",
                "review#3", "fix#3", "polish#3", "ship"
            ]
        );
        let review = third.task("review#3").expect("review");
        assert_eq!(
            review.deps,
            ["polish#2", "draft"],
            "after the decision before it only"
        );
        assert_eq!(review.title, "review#3");
        let fix = third.task("fix#3").expect("fix");
        assert_eq!(fix.deps, ["polish#2", "review#3", "draft"]);
        assert_eq!(reads(fix), ["review#3"]);
        let decider = third.task("polish#3").expect("decider");
        assert_eq!(decider.deps, ["draft", "review#3", "fix#3"]);
        let repeat = decider.repeat.as_ref().expect("loop");
        assert_eq!((repeat.round, repeat.until.reads()), (3, vec!["review#3"]));
        let ship = third.task("ship").expect("ship");
        assert_eq!(
            (ship.deps.clone(), ship.outcomes[0].task.clone()),
            (vec!["polish#3".to_string()], "polish#3".to_string())
        );
        assert_eq!(reads(ship), ["review#3"]);
        let refused = next_round(&third, "polish#3").expect_err("at its maximum");
        assert_eq!(refused, "the loop `polish` has run its 3 rounds");
        assert!(next_round(&third, "draft").is_err(), "decides no loop");
        // The file plans the first round only: so does a run's plan collapsed.
        assert_eq!(collapse(&third), first);
        assert_eq!(collapse(&first), first);
    }
}
