//! Backends are named by URL (ARCHITECTURE.md "Backends"): `sqlite:PATH`, `memory:`, and later
//! `beads:[DIR][?bin=br]` and `postgres://…`. The default is `sqlite:.wfc/state.db` in the
//! workspace.

use super::{MemoryBackend, SqliteBackend};
use crate::runtime::TaskBackend;
use std::path::Path;
use std::sync::Arc;

/// The backend URL used when none is given.
pub const DEFAULT_BACKEND: &str = "sqlite:.wfc/state.db";

/// Opens the backend `url`; relative paths are relative to `workspace`.
pub fn open_backend(url: &str, workspace: &Path) -> Result<Arc<dyn TaskBackend>, String> {
    if let Some(path) = url.strip_prefix("sqlite:") {
        if path.is_empty() {
            return Err("`sqlite:` needs a path, as in `sqlite:.wfc/state.db`".into());
        }
        let path = workspace.join(path.strip_prefix("//").unwrap_or(path));
        return SqliteBackend::open(&path)
            .map(|b| Arc::new(b) as Arc<dyn TaskBackend>)
            .map_err(|e| e.to_string());
    }
    if url == "memory:" || url == "memory" {
        return Ok(Arc::new(MemoryBackend::new()));
    }
    let scheme = url.split(':').next().unwrap_or(url);
    match scheme {
        "beads" | "postgres" | "postgresql" => Err(format!("the `{scheme}` backend is not built yet; use `sqlite:PATH` or `memory:`")),
        _ => Err(format!("`{url}` names no backend; use `sqlite:PATH` (the default is `{DEFAULT_BACKEND}`) or `memory:`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_backends() {
        let dir = std::env::temp_dir().join(format!("wfc-url-{}", std::process::id()));
        assert!(open_backend("memory:", &dir).is_ok());
        assert!(open_backend("sqlite:state.db", &dir).is_ok());
        assert!(open_backend("sqlite:", &dir).is_err());
        assert!(open_backend("redis://x", &dir)
            .err()
            .is_some_and(|e| e.contains("names no backend")));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
