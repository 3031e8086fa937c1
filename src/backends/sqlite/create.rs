//! Making a new store so that no process ever sees it half made.
//!
//! The store is built in a file of its own beside the final path (write-ahead logging on,
//! every table, `user_version` and `application_id` set, the connection closed so the log is
//! folded into the file), and only then linked to the final path. A link never replaces a
//! file: if another process made the store meanwhile, its store stays and this one is thrown
//! away. So a file at the store's path is always a whole store, and an empty or half-written
//! one is damage, never a store being made.

use super::recognise::log_of;
use super::schema::{self, APPLICATION_ID, SCHEMA, SCHEMA_VERSION};
use super::{fail, Stop};
use crate::runtime::BackendError;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Makes a new, empty store at `path` unless a file is there already (then that file is left
/// as it is, for the caller to recognise).
pub fn create(path: &Path) -> Result<(), BackendError> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|error| {
        BackendError::storage(
            format!(
                "cannot create the folder `{}` for the state store `{}`: {error}",
                parent.display(),
                path.display()
            ),
            format!(
                "`{}` must be a folder this user can write to: remove what is in the way or \
                 fix its permissions, or choose another path for the store",
                parent.display()
            ),
        )
    })?;
    let draft = Draft::new(path);
    build(draft.path()).map_err(|stop| fail(path, stop, || "create it".to_string()))?;
    match std::fs::hard_link(draft.path(), path) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
        // A file system without hard links (some network and FAT ones): a rename that checks
        // first, which can only lose a race against another wfc creating the same store.
        Err(_) if !path.exists() => std::fs::rename(draft.path(), path)
            .map_err(|error| cannot_place(path, draft.path(), &error))?,
        Err(_) => {}
    }
    // wfc's own folder holds nothing of the user's work: git leaves it out of their status.
    if parent.file_name().is_some_and(|name| name == ".wfc") {
        let ignore = parent.join(".gitignore");
        if !ignore.exists() {
            let _ = std::fs::write(&ignore, "*\n");
        }
    }
    Ok(())
}

/// Writes a complete new store into the file at `draft`, which no other process knows.
fn build(draft: &Path) -> Result<(), Stop> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(draft, flags)?;
    schema::use_wal(&conn, draft)?;
    let tx = conn.transaction()?;
    tx.execute_batch(SCHEMA)?;
    tx.execute_batch(&format!(
        "PRAGMA user_version = {SCHEMA_VERSION}; PRAGMA application_id = {APPLICATION_ID};"
    ))?;
    tx.commit()?;
    // Closing the only connection folds the log into the file and removes it, so the file
    // alone is the whole store when it is linked into place.
    conn.close().map_err(|(_, error)| Stop::Sql(error))?;
    Ok(())
}

fn cannot_place(path: &Path, draft: &Path, error: &std::io::Error) -> BackendError {
    BackendError::storage(
        format!(
            "cannot move the new state store `{}` to `{}`: {error}",
            draft.display(),
            path.display()
        ),
        format!(
            "`{}` must be a folder this user can write to, or choose another path for the store",
            path.parent().unwrap_or(Path::new(".")).display()
        ),
    )
}

/// The file a new store is built in, removed (with SQLite's files beside it) when dropped.
struct Draft(PathBuf);

impl Draft {
    fn new(path: &Path) -> Draft {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let unique = format!(
            ".{name}.new-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        Draft(path.with_file_name(unique))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Draft {
    fn drop(&mut self) {
        let mut shared = self.0.as_os_str().to_owned();
        shared.push("-shm");
        for file in [self.0.clone(), log_of(&self.0), PathBuf::from(shared)] {
            let _ = std::fs::remove_file(file);
        }
    }
}
