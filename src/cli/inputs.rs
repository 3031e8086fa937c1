//! Turning command-line paths into modules to check: files, folders searched for `*.wf`,
//! and `std/NAME`; and reading files for imports.

use crate::check::{normalize, Loader, ModuleKey};
use std::path::{Path, PathBuf};

/// Reads imported files from the file system.
pub struct FsLoader;

impl Loader for FsLoader {
    fn load(&self, path: &Path) -> Result<Vec<u8>, String> {
        std::fs::read(path).map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => format!("there is no file {}", path.display()),
            _ => format!("{} cannot be read: {error}", path.display()),
        })
    }
}

/// Folders never searched for `.wf` files.
const SKIPPED_DIRS: [&str; 3] = ["target", "node_modules", ".git"];

/// The modules named by `paths`: each file as it is, each folder's `*.wf` files
/// (recursively, sorted), each `std/NAME` from the stdlib.
pub fn resolve_inputs(paths: &[PathBuf]) -> Result<Vec<ModuleKey>, String> {
    let mut keys = Vec::new();
    for path in paths {
        let text = path.to_string_lossy();
        if let Some(name) = text.strip_prefix("std/") {
            if crate::stdlib::source(name).is_none() {
                return Err(format!(
                    "there is no stdlib module `{text}`; the stdlib has {}",
                    crate::stdlib::names()
                        .iter()
                        .map(|n| format!("std/{n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            keys.push(ModuleKey::Std(name.to_string()));
            continue;
        }
        let metadata = std::fs::metadata(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        if metadata.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found)
                .map_err(|error| format!("cannot read the folder {}: {error}", path.display()))?;
            found.sort();
            keys.extend(found.into_iter().map(|p| ModuleKey::File(normalize(&p))));
        } else {
            keys.push(ModuleKey::File(normalize(path)));
        }
    }
    let mut seen = std::collections::HashSet::new();
    keys.retain(|key| seen.insert(key.clone()));
    Ok(keys)
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
