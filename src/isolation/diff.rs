//! What changed between two commits: the list of changed files, a diffstat (what a retry's
//! prompt shows of the failed attempt), and the full patch. Plumbing (`git diff-tree`) only,
//! so the user's diff settings (external diff tools, text conversion, colour) do not apply.

use super::error::GitError;
use super::git::Git;
use super::oid::Oid;

/// How a file changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// It is new.
    Added,
    /// Its content or mode changed.
    Modified,
    /// It is gone.
    Deleted,
    /// It was moved (perhaps changed too) from this path.
    Renamed {
        /// The old path.
        from: String,
    },
    /// It changed type (a file became a symbolic link, …).
    TypeChanged,
}

/// One changed file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    /// Its path (the new one, if renamed).
    pub path: String,
    /// How it changed.
    pub kind: ChangeKind,
}

/// A summary of the changes between two commits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffStat {
    /// How many files changed.
    pub files_changed: usize,
    /// Lines added (binary files count none).
    pub insertions: u64,
    /// Lines removed.
    pub deletions: u64,
    /// git's `--stat` picture: a line per file and the summary line.
    pub text: String,
}

impl Git {
    /// The files that differ between `from` and `to`, in git's order (by path).
    pub fn changed_files(&self, from: &Oid, to: &Oid) -> Result<Vec<FileChange>, GitError> {
        let output = self.diff_tree(from, to, &["--name-status", "-z"])?;
        let fields = output.fields();
        let mut fields = fields.into_iter();
        let mut changes = Vec::new();
        while let Some(status) = fields.next() {
            let mut path = || {
                fields
                    .next()
                    .ok_or_else(|| output.unexpected("expected a path after a status"))
            };
            let change = match status.chars().next() {
                Some('A') => FileChange {
                    path: path()?,
                    kind: ChangeKind::Added,
                },
                Some('M') => FileChange {
                    path: path()?,
                    kind: ChangeKind::Modified,
                },
                Some('D') => FileChange {
                    path: path()?,
                    kind: ChangeKind::Deleted,
                },
                Some('T') => FileChange {
                    path: path()?,
                    kind: ChangeKind::TypeChanged,
                },
                Some('R') => {
                    let from = path()?;
                    FileChange {
                        path: path()?,
                        kind: ChangeKind::Renamed { from },
                    }
                }
                _ => return Err(output.unexpected("expected a status letter A, M, D, T or R")),
            };
            changes.push(change);
        }
        Ok(changes)
    }

    /// The diffstat of the changes from `from` to `to`.
    pub fn diffstat(&self, from: &Oid, to: &Oid) -> Result<DiffStat, GitError> {
        let numbers = self.diff_tree(from, to, &["--numstat", "-z"])?;
        let mut stat = DiffStat {
            files_changed: 0,
            insertions: 0,
            deletions: 0,
            text: String::new(),
        };
        let fields = numbers.fields();
        let mut fields = fields.iter();
        // Each file is `ADDED\tREMOVED\tPATH`; a rename leaves PATH empty and names the old
        // and new path in the next two fields; a binary file counts `-`.
        while let Some(field) = fields.next() {
            let mut parts = field.splitn(3, '\t');
            let (Some(added), Some(removed), Some(path)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(numbers.unexpected("expected `ADDED\\tREMOVED\\tPATH`"));
            };
            if path.is_empty() {
                fields.nth(1);
            }
            stat.files_changed += 1;
            stat.insertions += added.parse::<u64>().unwrap_or(0);
            stat.deletions += removed.parse::<u64>().unwrap_or(0);
        }
        stat.text = self.diff_tree(from, to, &["--stat=100"])?.text();
        Ok(stat)
    }

    /// The patch that turns `from` into `to`, as `git diff` prints it (binary files are
    /// named, not included).
    pub fn patch(&self, from: &Oid, to: &Oid) -> Result<String, GitError> {
        Ok(self.diff_tree(from, to, &["--patch"])?.text())
    }

    /// [`Git::patch`] for `paths` only.
    pub fn patch_of(&self, from: &Oid, to: &Oid, paths: &[String]) -> Result<String, GitError> {
        Ok(self.diff_tree_of(from, to, &["--patch"], paths)?.text())
    }

    /// `git diff-tree` between two commits, recursive, with renames found.
    fn diff_tree(
        &self,
        from: &Oid,
        to: &Oid,
        format: &[&str],
    ) -> Result<super::git::GitOutput, GitError> {
        self.diff_tree_of(from, to, format, &[])
    }

    /// [`Git::diff_tree`] limited to `paths` (all when empty), each taken literally.
    fn diff_tree_of(
        &self,
        from: &Oid,
        to: &Oid,
        format: &[&str],
        paths: &[String],
    ) -> Result<super::git::GitOutput, GitError> {
        let mut command = self
            .command()
            .args(["diff-tree", "-r", "-M", "--no-ext-diff", "--no-textconv"])
            .args(format)
            .arg("--end-of-options")
            .arg(from)
            .arg(to);
        if !paths.is_empty() {
            // Literal pathspecs: a file called `*` or `:(glob)x` is that file.
            command = command
                .env("GIT_LITERAL_PATHSPECS", "1")
                .arg("--")
                .args(paths);
        }
        command.run()
    }
}
