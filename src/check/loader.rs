//! Finding the modules that imports name. The core does no I/O: files are read through the
//! [`Loader`] the caller supplies; stdlib modules are embedded.

use std::fmt;
use std::path::{Component, Path, PathBuf};

/// What identifies a module: a file path or a stdlib name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModuleKey {
    /// A `.wf` file.
    File(PathBuf),
    /// The stdlib module `std/NAME`.
    Std(String),
}

impl fmt::Display for ModuleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModuleKey::File(path) => write!(f, "{}", path.display()),
            ModuleKey::Std(name) => write!(f, "std/{name}"),
        }
    }
}

/// Reads the files that imports name.
pub trait Loader {
    /// The bytes of the file at `path`, or why it cannot be read.
    fn load(&self, path: &Path) -> Result<Vec<u8>, String>;
}

/// A loader that finds no files, for checking text that has no file imports.
pub struct NoFiles;

impl Loader for NoFiles {
    fn load(&self, path: &Path) -> Result<Vec<u8>, String> {
        Err(format!("{} is not available here", path.display()))
    }
}

/// The module that `import "SPEC"` in module `from` names, or why it names none.
pub fn resolve_import(from: &ModuleKey, spec: &str) -> Result<ModuleKey, String> {
    if let Some(name) = spec.strip_prefix("std/") {
        return match crate::stdlib::source(name) {
            Some(_) => Ok(ModuleKey::Std(name.to_string())),
            None => Err(crate::stdlib::no_such_module(name)),
        };
    }
    if !(spec.starts_with("./") || spec.starts_with("../")) {
        return Err("an import is `std/NAME` or a path relative to this file that starts with `./` or `../`".into());
    }
    if !spec.ends_with(".wf") {
        return Err("an imported file's name ends in `.wf`".into());
    }
    match from {
        ModuleKey::Std(_) => Err("a stdlib module can import only other stdlib modules".into()),
        ModuleKey::File(path) => {
            let base = path.parent().unwrap_or(Path::new(""));
            Ok(ModuleKey::File(normalize(&base.join(spec))))
        }
    }
}

/// Removes `.` and folds `..` into the path before it, without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}
