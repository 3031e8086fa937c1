//! `wfc check PATH...`: check files, folders and stdlib modules; report every diagnostic.

use super::inputs::{resolve_all, FsLoader};
use super::output::Output;
use crate::check::{ModuleKey, Session};
use crate::diagnostic::{Diagnostic, Severity};
use crate::render::json_file;
use crate::user_file::{read_user_file, MAX_USER_FILE_BYTES};
use std::path::PathBuf;
use std::process::ExitCode;

/// How `wfc check` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Graphical reports for people.
    Human,
    /// One JSON object per file, one per line.
    Json,
}

/// Runs `wfc check`.
pub fn run(paths: &[PathBuf], format: Format, deny_warnings: bool, output: &Output) -> ExitCode {
    // A path that names nothing is reported, and the others are still processed.
    let (keys, problems) = resolve_all(paths);
    for problem in &problems {
        output.error(&format!("error: {problem}"));
    }
    if keys.is_empty() {
        return output.fail(if problems.is_empty() {
            "no .wf files found"
        } else {
            "nothing to check"
        });
    }
    let loader = FsLoader;
    let mut session = Session::new(&loader);
    let mut unreadable = !problems.is_empty();
    let mut results: Vec<(String, String, Vec<Diagnostic>)> = Vec::new();
    for key in &keys {
        // A file another one imported has already been checked in this session.
        if session.find(key).is_some() {
            continue;
        }
        match key {
            ModuleKey::File(path) => match read_user_file(path, MAX_USER_FILE_BYTES) {
                Err(message) => {
                    output.error(&format!("error: {message}"));
                    unreadable = true;
                    continue;
                }
                // The bytes become the text without a copy: a large file is held once.
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => {
                        session.check_text(key.clone(), text);
                    }
                    Err(not_utf8) => {
                        let bytes = not_utf8.into_bytes();
                        let diagnostics = crate::syntax::decode(&bytes).err().into_iter().collect();
                        let shown = String::from_utf8_lossy(&bytes).into_owned();
                        results.push((key.to_string(), shown, diagnostics));
                        continue;
                    }
                },
            },
            ModuleKey::Std(_) => {
                if let Err(message) = session.check(key.clone()) {
                    return output.fail(&message);
                }
            }
        }
    }
    // Report every module the session reached, the named ones and their imports, once each.
    for (_, module) in session.modules() {
        results.push((
            module.key.to_string(),
            module.text.clone(),
            module.diagnostics.clone(),
        ));
    }
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let (mut errors, mut warnings) = (0, 0);
    for (name, text, diagnostics) in &results {
        for diagnostic in diagnostics {
            match diagnostic.severity {
                Severity::Error => errors += 1,
                Severity::Warning => warnings += 1,
            }
        }
        match format {
            Format::Json => {
                let json = json_file(name, text, diagnostics);
                output.stdout_line(&serde_json::to_string(&json).unwrap_or_default());
            }
            Format::Human => {
                for diagnostic in diagnostics {
                    output.diagnostic(diagnostic, name, text);
                }
            }
        }
    }
    if format == Format::Human {
        let files = results.len();
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        output.error(&format!(
            "checked {}: {}, {}",
            plural(files, "file"),
            plural(errors, "error"),
            plural(warnings, "warning")
        ));
    }
    // The command ends here, and the process with it: freeing the syntax trees and the IR of a
    // large workflow node by node took 4% of `wfc check`'s instructions, for memory the
    // operating system takes back at once.
    std::mem::forget(session);
    if unreadable {
        ExitCode::from(2)
    } else if errors > 0 || (deny_warnings && warnings > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
