//! Conditions decided while a run goes on (GRAMMAR.md, "Outcome conditions" and "`when` on
//! outputs"): a task's `after X (failed)` / `after X (always)`, and a `when` that reads
//! upstream outputs. Both are kept in the plan as data and decided by the engine when the
//! task is claimed: one that does not hold skips the task.

pub use crate::syntax::ast::Outcome;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// An upstream task a task waits for on an outcome other than success.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeDep {
    /// The upstream task's id (also among the task's `deps`).
    pub task: String,
    /// What the task waits for.
    pub on: Outcome,
}

/// How an upstream task ended, as far as an outcome condition is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// It succeeded, is an approved gate, or was skipped.
    Done,
    /// It failed, was rejected or cancelled, or waits for a failure and can never run.
    NotDone,
    /// It may still run.
    Open,
}

impl OutcomeDep {
    /// Whether the condition holds once its upstream `ended` so: `None` while it is open.
    pub fn holds(&self, ended: Ended) -> Option<bool> {
        match (ended, self.on) {
            (Ended::Open, _) => None,
            (_, Outcome::Always) => Some(true),
            (ended, Outcome::Failed) => Some(ended == Ended::NotDone),
        }
    }

    /// The reference as written: `build (failed)`.
    pub fn text(&self) -> String {
        format!("{} ({})", self.task, self.on.as_str())
    }
}

/// A `when` that reads upstream outputs, its parameters and loop variable already replaced
/// by their values when the plan was made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum RunCondition {
    /// A value known when the plan was made.
    Value {
        /// The value as JSON.
        value: Json,
    },
    /// `X.output.a.b`: a field of an upstream task's typed output.
    Output {
        /// The upstream task's id.
        task: String,
        /// The fields that lead to the value (empty: the whole output).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        fields: Vec<String>,
    },
    /// `!A`.
    Not {
        /// The negated condition.
        of: Box<RunCondition>,
    },
    /// `A == B`.
    Eq {
        /// The operands.
        of: Box<(RunCondition, RunCondition)>,
    },
    /// `A != B`.
    Ne {
        /// The operands.
        of: Box<(RunCondition, RunCondition)>,
    },
    /// `A in B`.
    In {
        /// The element and the list.
        of: Box<(RunCondition, RunCondition)>,
    },
    /// `A && B && …`.
    And {
        /// The operands.
        of: Vec<RunCondition>,
    },
    /// `A || B || …`.
    Or {
        /// The operands.
        of: Vec<RunCondition>,
    },
    /// A list of values.
    List {
        /// The elements.
        of: Vec<RunCondition>,
    },
}

/// Why a run-time condition could not be decided: an output it reads does not exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable(pub String);

impl RunCondition {
    /// The upstream tasks whose outputs it reads.
    pub fn reads(&self) -> Vec<&str> {
        let mut tasks = Vec::new();
        self.visit(&mut |c| {
            if let RunCondition::Output { task, .. } = c {
                tasks.push(task.as_str());
            }
        });
        tasks
    }

    /// Renames each upstream task it reads that `rename` gives a new id.
    pub fn rename_tasks(&mut self, rename: &dyn Fn(&str) -> Option<String>) {
        match self {
            RunCondition::Value { .. } => {}
            RunCondition::Output { task, .. } => {
                if let Some(new) = rename(task) {
                    *task = new;
                }
            }
            RunCondition::Not { of } => of.rename_tasks(rename),
            RunCondition::Eq { of } | RunCondition::Ne { of } | RunCondition::In { of } => {
                of.0.rename_tasks(rename);
                of.1.rename_tasks(rename);
            }
            RunCondition::And { of } | RunCondition::Or { of } | RunCondition::List { of } => {
                for item in of {
                    item.rename_tasks(rename);
                }
            }
        }
    }

    fn visit<'a>(&'a self, seen: &mut dyn FnMut(&'a RunCondition)) {
        seen(self);
        match self {
            RunCondition::Value { .. } | RunCondition::Output { .. } => {}
            RunCondition::Not { of } => of.visit(seen),
            RunCondition::Eq { of } | RunCondition::Ne { of } | RunCondition::In { of } => {
                of.0.visit(seen);
                of.1.visit(seen);
            }
            RunCondition::And { of } | RunCondition::Or { of } | RunCondition::List { of } => {
                for item in of {
                    item.visit(seen);
                }
            }
        }
    }

    /// Whether it holds, with `output` giving each upstream task's typed output (its JSON
    /// text, `None` when it has none: it was skipped, or left out of the plan).
    pub fn holds(&self, output: &dyn Fn(&str) -> Option<String>) -> Result<bool, Unreadable> {
        Ok(self.value(output)? == Json::Bool(true))
    }

    fn value(&self, output: &dyn Fn(&str) -> Option<String>) -> Result<Json, Unreadable> {
        let pair = |of: &(RunCondition, RunCondition)| -> Result<(Json, Json), Unreadable> {
            Ok((of.0.value(output)?, of.1.value(output)?))
        };
        Ok(match self {
            RunCondition::Value { value } => value.clone(),
            RunCondition::Output { task, fields } => {
                let path = fields
                    .iter()
                    .fold(format!("{task}.output"), |p, f| p + "." + f);
                let text = output(task).ok_or_else(|| {
                    Unreadable(format!(
                        "`{task}` has no output recorded, so `{path}` cannot be read"
                    ))
                })?;
                let json: Json = serde_json::from_str(&text)
                    .map_err(|e| Unreadable(format!("`{task}`'s output is not JSON: {e}")))?;
                fields
                    .iter()
                    .try_fold(json, |value, field| value.get(field).cloned())
                    .ok_or_else(|| Unreadable(format!("`{path}` is not in `{task}`'s output")))?
            }
            RunCondition::Not { of } => Json::Bool(of.value(output)? != Json::Bool(true)),
            RunCondition::Eq { of } => {
                let (a, b) = pair(of)?;
                Json::Bool(a == b)
            }
            RunCondition::Ne { of } => {
                let (a, b) = pair(of)?;
                Json::Bool(a != b)
            }
            RunCondition::In { of } => {
                let (needle, list) = pair(of)?;
                Json::Bool(list.as_array().is_some_and(|items| items.contains(&needle)))
            }
            RunCondition::And { of } => {
                for item in of {
                    if item.value(output)? != Json::Bool(true) {
                        return Ok(Json::Bool(false));
                    }
                }
                Json::Bool(true)
            }
            RunCondition::Or { of } => {
                for item in of {
                    if item.value(output)? == Json::Bool(true) {
                        return Ok(Json::Bool(true));
                    }
                }
                Json::Bool(false)
            }
            RunCondition::List { of } => Json::Array(
                of.iter()
                    .map(|item| item.value(output))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    /// The condition as a workflow would write it, for `wfc plan` and `wfc graph`.
    pub fn text(&self) -> String {
        let binary = |of: &(RunCondition, RunCondition), op: &str| {
            format!("{} {op} {}", of.0.text(), of.1.text())
        };
        let joined = |of: &[RunCondition], op: &str| {
            let parts: Vec<String> = of.iter().map(|c| format!("({})", c.text())).collect();
            parts.join(op)
        };
        match self {
            RunCondition::Value { value } => value.to_string(),
            RunCondition::Output { task, fields } => fields
                .iter()
                .fold(format!("{task}.output"), |p, f| p + "." + f),
            RunCondition::Not { of } => format!("!({})", of.text()),
            RunCondition::Eq { of } => binary(of, "=="),
            RunCondition::Ne { of } => binary(of, "!="),
            RunCondition::In { of } => binary(of, "in"),
            RunCondition::And { of } => joined(of, " && "),
            RunCondition::Or { of } => joined(of, " || "),
            RunCondition::List { of } => {
                let items: Vec<String> = of.iter().map(RunCondition::text).collect();
                format!("[{}]", items.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(name: &str) -> Box<RunCondition> {
        Box::new(RunCondition::Output {
            task: "review".into(),
            fields: vec![name.into()],
        })
    }

    #[test]
    fn a_condition_reads_upstream_outputs_when_decided() {
        let changes = RunCondition::Eq {
            of: Box::new((
                *output("verdict"),
                RunCondition::Value {
                    value: Json::String("changes".into()),
                },
            )),
        };
        let given = |text: &'static str| move |_: &str| Some(text.to_string());
        assert_eq!(changes.holds(&given(r#"{"verdict":"changes"}"#)), Ok(true));
        assert_eq!(changes.holds(&given(r#"{"verdict":"approve"}"#)), Ok(false));
        assert_eq!(changes.reads(), vec!["review"]);
        assert_eq!(changes.text(), r#"review.output.verdict == "changes""#);
        assert!(changes.holds(&|_| None).is_err());
        let negated = RunCondition::Not {
            of: output("risky"),
        };
        assert_eq!(negated.holds(&given(r#"{"risky":false}"#)), Ok(true));
    }

    #[test]
    fn an_outcome_condition_holds_once_its_upstream_ended() {
        let failed = OutcomeDep {
            task: "build".into(),
            on: Outcome::Failed,
        };
        assert_eq!(failed.holds(Ended::Open), None);
        assert_eq!(failed.holds(Ended::Done), Some(false));
        assert_eq!(failed.holds(Ended::NotDone), Some(true));
        let always = OutcomeDep {
            on: Outcome::Always,
            ..failed
        };
        assert_eq!(always.holds(Ended::Done), Some(true));
        assert_eq!(always.text(), "build (always)");
    }
}
