//! Turning command-line paths into modules to check: files, folders searched for `*.wf`,
//! and `std/NAME`; and reading files for imports.

use crate::check::{normalize, Loader, ModuleKey};
use crate::user_file::{read_user_file, MAX_USER_FILE_BYTES};
use std::path::{Path, PathBuf};

/// Reads imported files from the file system.
pub struct FsLoader;

impl Loader for FsLoader {
    fn load(&self, path: &Path) -> Result<Vec<u8>, String> {
        read_user_file(path, MAX_USER_FILE_BYTES)
    }
}

/// Folders never searched for `.wf` files.
const SKIPPED_DIRS: [&str; 3] = ["target", "node_modules", ".git"];

/// The modules named by `paths`, or the first path that names none.
pub fn resolve_inputs(paths: &[PathBuf]) -> Result<Vec<ModuleKey>, String> {
    let (keys, mut problems) = resolve_all(paths);
    match problems.is_empty() {
        true => Ok(keys),
        false => Err(problems.remove(0)),
    }
}

/// The modules named by `paths`: each file as it is, each folder's `*.wf` files
/// (recursively, sorted), each `std/NAME` from the stdlib; and, separately, every path that
/// names nothing, so the others can still be processed.
pub fn resolve_all(paths: &[PathBuf]) -> (Vec<ModuleKey>, Vec<String>) {
    let mut keys = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        let text = path.to_string_lossy();
        if let Some(name) = text.strip_prefix("std/") {
            if crate::stdlib::source(name).is_none() {
                problems.push(crate::stdlib::no_such_module(name));
            } else {
                keys.push(ModuleKey::Std(name.to_string()));
            }
            continue;
        }
        match std::fs::metadata(path) {
            Err(error) => problems.push(format!("cannot read {}: {error}", path.display())),
            Ok(metadata) if metadata.is_dir() => {
                let mut found = Vec::new();
                match walk(path, &mut found) {
                    Ok(()) => {
                        found.sort();
                        keys.extend(found.into_iter().map(|p| ModuleKey::File(normalize(&p))));
                    }
                    Err(error) => problems.push(format!(
                        "cannot read the folder {}: {error}",
                        path.display()
                    )),
                }
            }
            Ok(_) => keys.push(ModuleKey::File(normalize(path))),
        }
    }
    let mut seen = std::collections::HashSet::new();
    keys.retain(|key| seen.insert(key.clone()));
    (keys, problems)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if entry.file_type()?.is_dir() {
            if !name.starts_with('.') && !SKIPPED_DIRS.contains(&name.as_ref()) {
                walk(&path, found)?;
            }
        } else if name.ends_with(".wf") {
            found.push(path);
        }
    }
    Ok(())
}
