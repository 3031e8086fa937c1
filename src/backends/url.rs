//! Backends are named by URL (ARCHITECTURE.md "Backends"): `sqlite:PATH`, `memory:`,
//! `beads:[DIR][?bin=br&timeout=SECONDS]` and `postgres://USER@HOST:PORT/DB[?schema=NAME]`. The default is
//! `sqlite:.wfc/state.db` in the workspace.

use super::beads::{BeadsOptions, DEFAULT_TIMEOUT};
use super::postgres::redact;
use super::{Access, BeadsBackend, MemoryBackend, PostgresBackend, SqliteBackend};
use crate::runtime::TaskBackend;
use std::path::Path;
use std::sync::Arc;

/// The backend URL used when none is given.
pub const DEFAULT_BACKEND: &str = "sqlite:.wfc/state.db";

/// Opens the backend `url`, creating an SQLite store that does not exist yet; relative paths
/// are relative to `workspace`.
pub fn open_backend(url: &str, workspace: &Path) -> Result<Arc<dyn TaskBackend>, String> {
    open_backend_with(url, workspace, Access::Create)
}

/// Opens the backend `url` as `access` allows (SQLite and Postgres stores tell the accesses
/// apart: only `Create` makes a new store); relative paths are relative to `workspace`.
pub fn open_backend_with(
    url: &str,
    workspace: &Path,
    access: Access,
) -> Result<Arc<dyn TaskBackend>, String> {
    if let Some(path) = url.strip_prefix("sqlite:") {
        if path.is_empty() {
            return Err("`sqlite:` needs a path, as in `sqlite:.wfc/state.db`".into());
        }
        let path = workspace.join(path.strip_prefix("//").unwrap_or(path));
        return SqliteBackend::open_with(&path, access)
            .map(|b| Arc::new(b) as Arc<dyn TaskBackend>)
            .map_err(|e| e.to_string());
    }
    if url == "memory:" || url == "memory" {
        return Ok(Arc::new(MemoryBackend::new()));
    }
    if let Some(rest) = url.strip_prefix("beads:") {
        let options = beads_options(rest, workspace)?;
        return BeadsBackend::open(&options)
            .map(|b| Arc::new(b) as Arc<dyn TaskBackend>)
            .map_err(|e| e.to_string());
    }
    if is_postgres(url) {
        return PostgresBackend::open(url, access)
            .map(|b| Arc::new(b) as Arc<dyn TaskBackend>)
            .map_err(|e| e.to_string());
    }
    Err(format!(
        "`{}` names no backend; use `sqlite:PATH` (the default is `{DEFAULT_BACKEND}`), \
         `postgres://USER@HOST:PORT/DB`, `beads:DIR` or `memory:`",
        redact(url)
    ))
}

/// The options of `beads:[DIR][?bin=PROGRAM&timeout=SECONDS]` (what follows `beads:`); an
/// empty DIR is the workspace.
pub fn beads_options(rest: &str, workspace: &Path) -> Result<BeadsOptions, String> {
    let (dir, query) = rest.split_once('?').unwrap_or((rest, ""));
    let dir = dir.strip_prefix("//").unwrap_or(dir);
    let mut options = BeadsOptions {
        dir: if dir.is_empty() {
            workspace.to_path_buf()
        } else {
            workspace.join(dir)
        },
        bin: None,
        timeout: DEFAULT_TIMEOUT,
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "bin" if !value.is_empty() => options.bin = Some(value.into()),
            "timeout" => {
                let seconds: f64 = value.parse().ok().filter(|s: &f64| s.is_finite() && *s > 0.0).ok_or_else(|| {
                    format!("`timeout={value}` in `beads:{rest}` is not a number of seconds above 0")
                })?;
                options.timeout = std::time::Duration::from_secs_f64(seconds.min(86_400.0));
            }
            _ => {
                return Err(format!(
                    "`{pair}` in `beads:{rest}` is not an option; use `bin=PROGRAM` (bd, br or a \
                     path) and `timeout=SECONDS`"
                ))
            }
        }
    }
    Ok(options)
}

/// Whether `url` names a Postgres store (`postgres://…` or `postgresql://…`).
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
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

    #[test]
    fn beads_urls_name_a_folder_a_program_and_a_time_limit() {
        let workspace = Path::new("/w");
        let options = beads_options("store?bin=br&timeout=2.5", workspace).expect("options");
        assert_eq!(options.dir, Path::new("/w/store"));
        assert_eq!(options.bin.as_deref(), Some(Path::new("br")));
        assert_eq!(options.timeout, std::time::Duration::from_millis(2500));
        let options = beads_options("", workspace).expect("options");
        assert_eq!((options.dir.as_path(), options.bin), (workspace, None));
        assert_eq!(
            beads_options("///abs/store", workspace)
                .expect("options")
                .dir,
            Path::new("/abs/store")
        );
        for bad in ["x?timeout=0", "x?timeout=soon", "x?color=red", "x?bin="] {
            assert!(beads_options(bad, workspace).is_err(), "{bad}");
        }
        assert!(
            open_backend("beads:no-such-folder", Path::new("/nonexistent"))
                .err()
                .is_some_and(|e| e.contains("no beads store"))
        );
    }
}
