//! What `wfc list`, `wfc graph` and `wfc plan` work on: one checked module, free of errors,
//! and for the latter two one of its workflows.

use super::inputs::{resolve_inputs, FsLoader};
use super::output::Output;
use crate::check::{ModuleKey, Session};
use crate::ir::{ModuleId, WorkflowId};
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
    // Output made from IR with errors could leave things out without saying so, so the
    // errors are shown instead.
    let mut failed = false;
    for (_, checked) in session.modules() {
        for diagnostic in checked.diagnostics.iter().filter(|d| d.is_error()) {
            output.diagnostic(diagnostic, &checked.key.to_string(), &checked.text);
            failed = true;
        }
    }
    if failed {
        return Err(ExitCode::from(1));
    }
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
