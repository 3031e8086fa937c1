//! `wfc fmt [--check] PATH...`: rewrite files in the canonical layout, or with `--check`
//! only name the files that would change.

use super::inputs::resolve_all;
use super::output::Output;
use crate::check::ModuleKey;
use crate::user_file::{read_user_file, MAX_USER_FILE_BYTES};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Runs `wfc fmt`.
pub fn run(paths: &[PathBuf], check: bool, output: &Output) -> ExitCode {
    // A path that names nothing is reported, and the others are still processed.
    let (keys, problems) = resolve_all(paths);
    for problem in &problems {
        output.error(&format!("error: {problem}"));
    }
    let mut files = Vec::new();
    for key in keys {
        match key {
            ModuleKey::File(path) => files.push(path),
            ModuleKey::Std(name) => {
                return output.fail(&format!(
                    "std/{name} is built into wfc; format the file under stdlib/ instead"
                ))
            }
        }
    }
    if files.is_empty() {
        return output.fail(if problems.is_empty() {
            "no .wf files found"
        } else {
            "nothing to format"
        });
    }
    let (mut failed, mut unreadable, mut changed) = (false, !problems.is_empty(), 0usize);
    for path in &files {
        let bytes = match read_user_file(path, MAX_USER_FILE_BYTES) {
            Ok(bytes) => bytes,
            Err(message) => {
                output.error(&format!("error: {message}"));
                unreadable = true;
                continue;
            }
        };
        let name = path.display().to_string();
        let text = match crate::syntax::decode(&bytes) {
            Ok(text) => text,
            Err(diagnostic) => {
                output.diagnostic(&diagnostic, &name, &String::from_utf8_lossy(&bytes));
                failed = true;
                continue;
            }
        };
        let formatted = match crate::fmt::format_source(text) {
            Ok(formatted) => formatted,
            Err(diagnostics) => {
                for diagnostic in &diagnostics {
                    output.diagnostic(diagnostic, &name, text);
                }
                output.error(&format!("{name} was left as it is: it has syntax errors"));
                failed = true;
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        changed += 1;
        if check {
            output.stdout_line(&format!("would reformat {name}"));
        } else if let Err(error) = write_atomically(path, &formatted) {
            output.error(&format!("cannot write {name}: {error}"));
            unreadable = true;
        } else {
            output.stdout_line(&format!("formatted {name}"));
        }
    }
    if unreadable {
        ExitCode::from(2)
    } else if failed || (check && changed > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Replaces `path`'s contents so that a crash leaves either the old or the new text, never
/// half of one, and keeps the file's permissions.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{file_name}.wfc-fmt.tmp"));
    std::fs::write(&temporary, text)?;
    if let Ok(metadata) = std::fs::metadata(path) {
        std::fs::set_permissions(&temporary, metadata.permissions())?;
    }
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}
