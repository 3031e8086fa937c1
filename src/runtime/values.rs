//! Values only known when a task runs: upstream results and secrets, filled into shell
//! arguments, environment variables and prompts exactly as the plan describes.

use super::backend::TaskBackend;
use super::model::TaskKey;
use crate::ir::Value;
use crate::plan::filters::{apply, fenced};
use crate::plan::{EnvValue, FilterSpec, PromptPart, ValuePart};
use std::collections::HashMap;

/// Why a template of a run-time `for each` cannot run: its instances do, once it expands.
const UNEXPANDED: &str = "the element of a `for each` over a task's output is filled in when it expands; the template itself never runs";

/// Fills in results and secrets for the tasks of one run.
pub struct Resolver<'a> {
    /// Where results are read.
    pub backend: &'a dyn TaskBackend,
    /// The run.
    pub run: &'a str,
    /// Secret values by the upper-cased name of their top-level parameter.
    pub secrets: &'a HashMap<String, String>,
}

impl Resolver<'_> {
    /// The text of upstream results: one task's result, or for a fan-out each instance's
    /// result introduced by its id; the fallback when none exists.
    fn results(
        &self,
        tasks: &[String],
        filters: &[FilterSpec],
        fallback: &Option<String>,
    ) -> Result<String, String> {
        let mut found = Vec::new();
        for id in tasks {
            let record = self
                .backend
                .get_task(&TaskKey::new(self.run, id.as_str()))
                .map_err(|e| e.to_string())?;
            if let Some(result) = record.result {
                found.push((id, result));
            }
        }
        let text = match found.as_slice() {
            [] => return Ok(fallback.clone().unwrap_or_default()),
            [(_, only)] if tasks.len() == 1 => only.clone(),
            many => many
                .iter()
                .map(|(id, result)| format!("{id}:\n{}", result.trim_end()))
                .collect::<Vec<_>>()
                .join("\n\n"),
        };
        Ok(apply(&Value::String(text), filters))
    }

    /// The text of a field of an upstream task's typed output (`fields` empty: the whole
    /// output); the fallback when the task is not in the plan or has no output.
    fn output(
        &self,
        tasks: &[String],
        fields: &[String],
        filters: &[FilterSpec],
        fallback: &Option<String>,
    ) -> Result<String, String> {
        // The checker allows `X.output` only of a task without `for each`: one task.
        let Some(id) = tasks.first() else {
            return Ok(fallback.clone().unwrap_or_default());
        };
        let record = self
            .backend
            .get_task(&TaskKey::new(self.run, id.as_str()))
            .map_err(|e| e.to_string())?;
        let Some(json) = record.typed_output else {
            return match fallback {
                Some(text) => Ok(text.clone()),
                None => Err(format!("`{id}` has no output recorded")),
            };
        };
        let mut value: serde_json::Value = serde_json::from_str(&json)
            .map_err(|error| format!("the output of `{id}` is not JSON: {error}"))?;
        for field in fields {
            value = value
                .get(field)
                .cloned()
                .ok_or_else(|| format!("the output of `{id}` has no field `{field}`"))?;
        }
        Ok(apply(&Value::from_json(&value), filters))
    }

    fn part(&self, part: &ValuePart) -> Result<String, String> {
        match part {
            ValuePart::Text { text } => Ok(text.clone()),
            ValuePart::Secret { name, filters } => match self.secrets.get(&name.to_uppercase()) {
                Some(value) => Ok(apply(&Value::String(value.clone()), filters)),
                None => Err(format!(
                    "the secret `{name}` has no value; set WF_SECRET_{} or pass --secret {name}=@FILE",
                    name.to_uppercase()
                )),
            },
            ValuePart::Result {
                tasks,
                filters,
                fallback,
                output: None,
            } => self.results(tasks, filters, fallback),
            ValuePart::Result {
                tasks,
                filters,
                fallback,
                output: Some(fields),
            } => self.output(tasks, fields, filters, fallback),
            ValuePart::Element { .. } => Err(UNEXPANDED.into()),
        }
    }

    /// The value of an environment variable.
    pub fn env(&self, value: &EnvValue) -> Result<String, String> {
        match value {
            EnvValue::Text { text } => Ok(text.clone()),
            EnvValue::Parts { parts } => parts.iter().map(|p| self.part(p)).collect(),
        }
    }

    /// A prompt's text, results filled in (fenced where they stood alone on their line).
    pub fn prompt(&self, parts: &[PromptPart]) -> Result<String, String> {
        let mut text = String::new();
        for part in parts {
            match part {
                PromptPart::Text { text: t } => text.push_str(t),
                PromptPart::Result {
                    tasks,
                    filters,
                    fenced: fence,
                    fallback,
                    output,
                } => {
                    let value = match output {
                        Some(fields) => self.output(tasks, fields, filters, fallback)?,
                        None => self.results(tasks, filters, fallback)?,
                    };
                    if *fence {
                        text.push_str(&fenced(&value));
                    } else {
                        text.push_str(&value);
                    }
                }
                PromptPart::Element { .. } => return Err(UNEXPANDED.into()),
            }
        }
        Ok(text)
    }
}
