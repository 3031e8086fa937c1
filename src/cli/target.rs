//! What `wfc list`, `wfc graph`, `wfc plan` and `wfc run` work on: one checked module, free
//! of errors, and for all but `list` one of its workflows (for `plan` and `run`, errors
//! confined to the file's other workflows do not count).

use super::inputs::{resolve_inputs, FsLoader};
use super::output::Output;
use crate::check::{ModuleKey, Session};
use crate::diagnostic::Diagnostic;
use crate::ir::{ModuleId, WorkflowId};
use crate::span::Span;
use std::path::Path;
use std::process::ExitCode;

/// Imported files are read from the file system for every command.
static LOADER: FsLoader = FsLoader;

/// A checked module named on the command line.
pub struct Loaded {
    /// The session that checked it and its imports.
    pub session: Session<'static>,
    /// The module.
    pub module: ModuleId,
    /// Its key, for messages.
    pub key: ModuleKey,
}

/// Checks the module at `path` (a file or `std/NAME`). On errors, prints them and returns the
/// exit code to end with: 1 for errors in the module or its imports, 2 if it cannot be read.
pub fn load(path: &Path, output: &Output) -> Result<Loaded, ExitCode> {
    let loaded = check(path, output)?;
    // Output made from IR with errors could leave things out without saying so, so the
    // errors are shown instead.
    if report_errors(&loaded, |_| true, output) > 0 {
        return Err(ExitCode::from(1));
    }
    Ok(loaded)
}

/// Checks the module at `path` and chooses its workflow `name` (or its only one), for `wfc
/// plan` and `wfc run`. An error confined to another workflow of the file does not stop this
/// one, since nothing of it is planned: it is counted in a note instead. Every other error
/// does: one in this workflow, in the file's shared parts (imports, agent profiles) or in an
/// imported module.
pub fn load_workflow(
    path: &Path,
    name: Option<&str>,
    output: &Output,
) -> Result<(Loaded, WorkflowId), ExitCode> {
    let loaded = check(path, output)?;
    let module = &loaded.session.module(loaded.module).ir;
    let chosen = match name {
        Some(name) => module.workflow(name).map(|(id, _)| id),
        None if module.workflows.len() == 1 => Some(WorkflowId(0)),
        None => None,
    };
    let Some(chosen) = chosen else {
        // No workflow to confine the errors to: all of them are shown, else why none is chosen.
        if report_errors(&loaded, |_| true, output) > 0 {
            return Err(ExitCode::from(1));
        }
        let chosen = loaded.workflow(name, output)?;
        return Ok((loaded, chosen));
    };
    let others: Vec<(Span, &str)> = module
        .workflows
        .iter()
        .enumerate()
        .filter(|(index, _)| *index != chosen.0 as usize)
        .map(|(_, workflow)| (workflow.span, workflow.name.as_str()))
        .collect();
    let main = loaded.module;
    // The other workflow an error of the main module lies in, if it lies in one.
    let confined_to = |module: ModuleId, diagnostic: &Diagnostic| {
        let at = diagnostic.primary_span();
        (module == main)
            .then(|| {
                others
                    .iter()
                    .find(|(span, _)| span.start <= at.start && at.end <= span.end)
                    .map(|(_, name)| *name)
            })
            .flatten()
    };
    if report_errors(
        &loaded,
        |(module, d)| confined_to(module, d).is_none(),
        output,
    ) > 0
    {
        return Err(ExitCode::from(1));
    }
    let mut elsewhere: Vec<&str> = Vec::new();
    let mut count = 0;
    for diagnostic in loaded.session.module(main).diagnostics.iter() {
        if let Some(other) = confined_to(main, diagnostic).filter(|_| diagnostic.is_error()) {
            count += 1;
            if !elsewhere.contains(&other) {
                elsewhere.push(other);
            }
        }
    }
    if count > 0 {
        let names: Vec<String> = elsewhere.iter().map(|n| format!("`{n}`")).collect();
        output.error(&format!(
            "note: {} has {} in other workflows ({}), not in `{}`; `wfc check {}` shows them",
            loaded.key,
            super::human::plural(count, "error"),
            names.join(", "),
            module.workflows[chosen.0 as usize].name,
            path.display()
        ));
    }
    Ok((loaded, chosen))
}

/// Prints the errors of every module `loaded` checked that `shown` selects, and returns how
/// many it printed.
fn report_errors(
    loaded: &Loaded,
    shown: impl Fn((ModuleId, &Diagnostic)) -> bool,
    output: &Output,
) -> usize {
    let mut printed = 0;
    for (id, checked) in loaded.session.modules() {
        for diagnostic in checked.diagnostics.iter().filter(|d| d.is_error()) {
            if shown((id, diagnostic)) {
                output.diagnostic(diagnostic, &checked.key.to_string(), &checked.text);
                printed += 1;
            }
        }
    }
    printed
}

/// Checks the module at `path` and its imports, printing nothing but why it cannot be read.
fn check(path: &Path, output: &Output) -> Result<Loaded, ExitCode> {
    let key = match resolve_inputs(&[path.to_path_buf()]) {
        Ok(keys) if keys.len() == 1 => keys.into_iter().next(),
        Ok(_) => return Err(output.fail(&format!("{} is not one .wf file", path.display()))),
        Err(message) => return Err(output.fail(&message)),
    };
    let Some(key) = key else {
        return Err(output.fail("nothing to read"));
    };
    let mut session = Session::new(&LOADER);
    let module = session
        .check(key.clone())
        .map_err(|message| output.fail(&message))?;
    Ok(Loaded {
        session,
        module,
        key,
    })
}

impl Loaded {
    /// The workflow called `name`, or the only one when no name is given.
    pub fn workflow(&self, name: Option<&str>, output: &Output) -> Result<WorkflowId, ExitCode> {
        let module = &self.session.module(self.module).ir;
        let names: Vec<&str> = module.workflows.iter().map(|w| w.name.as_str()).collect();
        let key = &self.key;
        match (name, names.as_slice()) {
            (None, []) => Err(output.fail(&format!("{key} has no workflows"))),
            (None, [_]) => Ok(WorkflowId(0)),
            (None, _) => Err(output.fail(&format!(
                "{key} has several workflows; name one of: {}",
                names.join(", ")
            ))),
            (Some(name), _) => match module.workflow(name) {
                Some((chosen, _)) => Ok(chosen),
                None => {
                    let has = if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    };
                    Err(output.fail(&format!("{key} has no workflow `{name}`; it has: {has}")))
                }
            },
        }
    }
}
