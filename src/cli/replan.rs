//! Planning a run's workflow again from its file, with the parameters the run was planned
//! with: how `wfc resume` notices an edited file, and how `wfc rerun` starts a new run.

use super::inputs::{resolve_inputs, FsLoader};
use super::plan::Planned;
use crate::check::Session;
use crate::plan::{bind, instantiate, BindInput, Plan};
use std::path::{Path, PathBuf};

/// The input of planning a run again only to see its plan: no secret is read, since a plan
/// never holds a secret's value (a missing one is bound to "").
pub fn without_secrets() -> BindInput {
    BindInput {
        args: Vec::new(),
        file: None,
        secret_env: Vec::new(),
        secret_files: Vec::new(),
        secrets_optional: true,
    }
}

/// Plans `snapshot`'s workflow from its file (relative to the run's `workspace`, where it was
/// named) for run `run_id`, with the snapshot's parameter values; `input` brings the secrets
/// (and says whether they may be missing). Nothing is printed: the callers say what the
/// error means for them.
pub fn replan(
    snapshot: &Plan,
    workspace: &Path,
    run_id: &str,
    input: BindInput,
) -> Result<Planned, String> {
    static LOADER: FsLoader = FsLoader;
    let source = if snapshot.source.starts_with("std/") {
        PathBuf::from(&snapshot.source)
    } else {
        workspace.join(&snapshot.source)
    };
    let key = resolve_inputs(&[source])?
        .into_iter()
        .next()
        .ok_or_else(|| format!("{} names no file", snapshot.source))?;
    let mut session = Session::new(&LOADER);
    let module = session.check(key)?;
    let errors = session
        .modules()
        .flat_map(|(_, checked)| checked.diagnostics.iter())
        .filter(|d| d.is_error())
        .count();
    if errors > 0 {
        return Err(format!("`wfc check` finds {errors} error(s) in it"));
    }
    let ir = &session.module(module).ir;
    let (workflow, declared) = ir
        .workflow(&snapshot.workflow)
        .ok_or_else(|| format!("it has no workflow `{}` any more", snapshot.workflow))?;
    // The run's values, as a file of parameters; secrets are not stored (`null`) and come
    // from `input`.
    let values: serde_json::Map<String, serde_json::Value> = snapshot
        .params
        .iter()
        .filter(|param| !param.value.is_null())
        .map(|param| (param.name.clone(), param.value.clone()))
        .collect();
    let input = BindInput {
        file: Some((
            "the run's parameters".to_string(),
            serde_json::Value::Object(values).to_string(),
        )),
        ..input
    };
    let bound = bind(declared, &input).map_err(|errors| {
        errors
            .first()
            .map(|e| e.message.clone())
            .unwrap_or_default()
    })?;
    let secrets = super::plan::secret_values(declared, &bound);
    let mut plan = instantiate(&session, module, workflow, &bound, run_id).map_err(|errors| {
        errors
            .first()
            .map(|e| e.message.clone())
            .unwrap_or_default()
    })?;
    // The file is named as the run named it (relative to its workspace), not by the path it
    // was read from here.
    plan.source.clone_from(&snapshot.source);
    Ok(Planned { plan, secrets })
}
