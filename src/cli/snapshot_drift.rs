//! Whether a run's workflow file still says what the run's snapshot says. A run always
//! continues on its snapshot (ARCHITECTURE.md: resuming never re-reads a file that may have
//! changed), but a user who fixed a typo in the file and resumes must be told that the fix is
//! not what runs.

use crate::plan::Plan;

/// How the file compares with the snapshot.
#[derive(Debug, PartialEq, Eq)]
pub enum Drift {
    /// Planned again with the run's parameters, the file gives the same tasks.
    Same,
    /// The file gives other tasks: the ids of those added, removed and changed.
    Changed {
        added: Vec<String>,
        removed: Vec<String>,
        changed: Vec<String>,
    },
    /// The file can no longer be planned with the run's parameters, and why.
    Unplannable(String),
}

impl Drift {
    /// What to tell the user, if anything.
    pub fn message(&self, source: &str) -> Option<String> {
        match self {
            Drift::Same => None,
            Drift::Changed {
                added,
                removed,
                changed,
            } => {
                let mut parts = Vec::new();
                for (what, ids) in [("changed", changed), ("added", added), ("removed", removed)] {
                    if !ids.is_empty() {
                        parts.push(format!("{what}: {}", list(ids)));
                    }
                }
                Some(format!(
                    "note: {source} has changed since the run started ({}); the run continues \
                     on the plan it started with",
                    parts.join("; ")
                ))
            }
            Drift::Unplannable(why) => Some(format!(
                "note: {source} can no longer be planned as the run was ({why}); the run \
                 continues on the plan it started with"
            )),
        }
    }
}

/// At most five ids, then how many more.
pub fn list(ids: &[String]) -> String {
    let shown: Vec<String> = ids.iter().take(5).map(|id| format!("`{id}`")).collect();
    match ids.len() {
        n if n > 5 => format!("{} and {} more", shown.join(", "), n - 5),
        _ => shown.join(", "),
    }
}

/// Plans `snapshot`'s workflow again from its file, with the run's parameters, and compares.
pub fn compare(snapshot: &Plan, workspace: &std::path::Path, run_id: &str) -> Drift {
    // A plan holds no secret's value, so comparing needs none.
    let input = super::replan::without_secrets();
    // The file plans each run-time fan-out as its template, and each loop as its first
    // round: so does the snapshot, compared.
    let mut unexpanded = crate::plan::repeat::collapse(snapshot);
    for template in snapshot.tasks.iter().filter(|t| t.fan_out.is_some()) {
        unexpanded = crate::plan::fan_out::collapse(&unexpanded, &template.id);
    }
    match super::replan::replan(snapshot, workspace, run_id, input) {
        Ok(planned) => diff(&unexpanded, &planned.plan),
        Err(why) => Drift::Unplannable(why),
    }
}

/// The tasks `now` adds, removes and changes against `snapshot`.
fn diff(snapshot: &Plan, now: &Plan) -> Drift {
    let before: std::collections::HashMap<&str, _> =
        snapshot.tasks.iter().map(|t| (t.id.as_str(), t)).collect();
    let after: std::collections::HashMap<&str, _> =
        now.tasks.iter().map(|t| (t.id.as_str(), t)).collect();
    let added: Vec<String> = now
        .tasks
        .iter()
        .filter(|t| !before.contains_key(t.id.as_str()))
        .map(|t| t.id.clone())
        .collect();
    let removed: Vec<String> = snapshot
        .tasks
        .iter()
        .filter(|t| !after.contains_key(t.id.as_str()))
        .map(|t| t.id.clone())
        .collect();
    let changed: Vec<String> = snapshot
        .tasks
        .iter()
        .filter(|t| after.get(t.id.as_str()).is_some_and(|n| *n != *t))
        .map(|t| t.id.clone())
        .collect();
    if added.is_empty() && removed.is_empty() && changed.is_empty() {
        Drift::Same
    } else {
        Drift::Changed {
            added,
            removed,
            changed,
        }
    }
}
