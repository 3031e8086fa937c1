//! The mapping between document URIs and the checker's module keys, including the stdlib.
//!
//! Stdlib modules are compiled into `wfc`, so they have no file an editor could open. Going to
//! a definition in one writes the embedded source, read-only, to
//! `$XDG_CACHE_HOME/wfc-lsp/stdlib-HASH/NAME.wf` (or `~/.cache/…`), where HASH covers every
//! module's source, so two versions of the server never share a folder. A document opened from
//! that folder is checked as `std/NAME`, so references into the stdlib find it.

use std::path::{Path, PathBuf};
use tower_lsp_server::ls_types::Uri;
use wfc::check::{normalize, ModuleKey};

/// Knows where stdlib modules are written and which URIs are theirs.
#[derive(Clone, Debug)]
pub struct ModuleUris {
    stdlib_dir: PathBuf,
}

impl ModuleUris {
    /// Uses the cache folder the environment names (`XDG_CACHE_HOME`, else `HOME/.cache`, else
    /// the temporary folder).
    pub fn from_environment() -> Self {
        let root = std::env::var_os("XDG_CACHE_HOME")
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        ModuleUris {
            stdlib_dir: root
                .join("wfc-lsp")
                .join(format!("stdlib-{:016x}", stdlib_hash())),
        }
    }

    /// The module a document is checked as: its file, or `std/NAME` for a materialised
    /// stdlib file. A URI that is not a file (an unsaved buffer) becomes a file key named
    /// after the URI, which no import can reach.
    pub fn key_of(&self, uri: &Uri) -> ModuleKey {
        match uri.to_file_path() {
            Some(path) => {
                let path = normalize(&path);
                match self.stdlib_name(&path) {
                    Some(name) => ModuleKey::Std(name),
                    None => ModuleKey::File(path),
                }
            }
            None => ModuleKey::File(PathBuf::from(uri.as_str())),
        }
    }

    /// The URI an editor opens for a module, writing a stdlib module's file first if needed.
    pub fn uri_of(&self, key: &ModuleKey) -> Option<Uri> {
        match key {
            ModuleKey::File(path) if path.is_absolute() => Uri::from_file_path(path),
            ModuleKey::File(path) => path.to_str().and_then(|text| text.parse().ok()),
            ModuleKey::Std(name) => Uri::from_file_path(self.materialise(name)?),
        }
    }

    fn stdlib_name(&self, path: &Path) -> Option<String> {
        if path.parent()? != self.stdlib_dir {
            return None;
        }
        let name = path.file_name()?.to_str()?.strip_suffix(".wf")?;
        wfc::stdlib::source(name).map(|_| name.to_string())
    }

    /// Writes `std/NAME` to the cache folder unless it is there already, and returns its path.
    fn materialise(&self, name: &str) -> Option<PathBuf> {
        let source = wfc::stdlib::source(name)?;
        let path = self.stdlib_dir.join(format!("{name}.wf"));
        if std::fs::read_to_string(&path).is_ok_and(|text| text == source) {
            return Some(path);
        }
        std::fs::create_dir_all(&self.stdlib_dir).ok()?;
        // Writing to a private name and renaming means a reader never sees half a file, even
        // when two servers materialise the same module at once.
        let partial = self
            .stdlib_dir
            .join(format!(".{name}.{}.partial", std::process::id()));
        std::fs::write(&partial, source).ok()?;
        if let Ok(metadata) = std::fs::metadata(&partial) {
            let mut permissions = metadata.permissions();
            permissions.set_readonly(true);
            let _ = std::fs::set_permissions(&partial, permissions);
        }
        std::fs::rename(&partial, &path).ok()?;
        Some(path)
    }
}

/// A 64-bit FNV-1a hash of every stdlib module's name and source.
fn stdlib_hash() -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for name in wfc::stdlib::names() {
        let source = wfc::stdlib::source(name).unwrap_or_default();
        for byte in name.bytes().chain([0]).chain(source.bytes()).chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}
