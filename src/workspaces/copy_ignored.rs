//! `copy_ignored`: files git ignores (such as `.env`) copied from the run's folder into an
//! attempt's worktree, where a checkout does not bring them. Only ignored paths are copied: any
//! other would become part of the task's output commit.

use crate::isolation::Git;
use std::path::Path;

/// Copies each of `paths` (relative, checked by the checker) from `from` into the worktree
/// `to`, replacing what is there; a path missing in `from`, or one git does not ignore in
/// `to`, is an error naming it.
pub fn copy_ignored(git: &Git, from: &Path, to: &Path, paths: &[String]) -> Result<(), String> {
    for path in paths {
        let source = from.join(path);
        let metadata = std::fs::symlink_metadata(&source).map_err(|_| {
            format!(
                "`copy_ignored`: {path} does not exist in {}",
                from.display()
            )
        })?;
        let ignored = git
            .is_ignored(to, path, metadata.is_dir())
            .map_err(|error| format!("`copy_ignored`: {path}: {error}"))?;
        if !ignored {
            return Err(format!(
                "`copy_ignored`: git does not ignore {path}; copied into the worktree, it would \
                 become part of the task's commit (add it to .gitignore, or commit it)"
            ));
        }
        let target = to.join(path);
        remove(&target).map_err(|error| format!("`copy_ignored`: {path}: {error}"))?;
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|error| format!("`copy_ignored`: {path}: {error}"))?;
        }
        copy(&source, &target).map_err(|error| format!("`copy_ignored`: {path}: {error}"))?;
    }
    Ok(())
}

/// Removes whatever is at `path`, if anything.
fn remove(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

/// Copies a file, a symbolic link (as a link) or a folder (recursively), with permissions.
fn copy(from: &Path, to: &Path) -> std::io::Result<()> {
    let metadata = std::fs::symlink_metadata(from)?;
    if metadata.file_type().is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(from)?, to)
    } else if metadata.is_dir() {
        std::fs::create_dir(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy(&entry.path(), &to.join(entry.file_name()))?;
        }
        std::fs::set_permissions(to, metadata.permissions())
    } else {
        std::fs::copy(from, to).map(|_| ())
    }
}
