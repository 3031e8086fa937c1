//! Merging upstream outputs into a start commit without a checkout: `git merge-tree
//! --write-tree` merges two commits into a tree in the object store, and `git commit-tree`
//! records the result with every input as a parent. A conflict is an outcome the caller
//! reports, not an error.

use super::commit_message::CommitMessage;
use super::error::GitError;
use super::git::Git;
use super::oid::Oid;

/// What merging commits gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MergeOutcome {
    /// The merge commit (or the one commit that already holds all the others).
    Merged(Oid),
    /// The commits cannot be merged without a person deciding.
    Conflict(Conflict),
}

/// Why commits could not be merged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The paths git could not merge, sorted.
    pub files: Vec<String>,
    /// The commits that merged cleanly before the conflict, in the order given.
    pub merged: Vec<Oid>,
    /// The commit whose merge into those conflicted.
    pub incoming: Oid,
    /// git's explanation, one line per conflict (`CONFLICT (content): Merge conflict in f`).
    pub messages: Vec<String>,
}

/// The message of the commits a merge of three or more commits makes on the way; they are
/// parents of nothing and only their trees are used, so git's garbage collection removes them.
const STEP_TITLE: &str = "wfc: merge step";

impl Git {
    /// Merges `commits` into one commit with `message`, every one of them a parent (an
    /// octopus merge, made one pair at a time). Commits that another one already contains are
    /// dropped first (as `git merge` fast-forwards), so one commit, or commits of which one
    /// contains the rest, give that commit itself and no new one.
    pub fn merge(
        &self,
        commits: &[Oid],
        message: &CommitMessage,
    ) -> Result<MergeOutcome, GitError> {
        match self.merge_all(commits, message, false)? {
            (commit, None) => Ok(MergeOutcome::Merged(commit)),
            (_, Some(conflict)) => Ok(MergeOutcome::Conflict(conflict)),
        }
    }

    /// [`Git::merge`], going on through conflicts: the commit's tree holds each conflicting
    /// file with git's conflict markers, for someone to resolve; the conflicts are returned
    /// beside it (every file that conflicted in any step; the first step's commits).
    pub fn merge_marking_conflicts(
        &self,
        commits: &[Oid],
        message: &CommitMessage,
    ) -> Result<(Oid, Option<Conflict>), GitError> {
        self.merge_all(commits, message, true)
    }

    /// Merges `commits` one pair at a time; at a conflict, stops with it, or, when
    /// `through_conflicts`, goes on from the tree with markers and collects every conflict.
    fn merge_all(
        &self,
        commits: &[Oid],
        message: &CommitMessage,
        through_conflicts: bool,
    ) -> Result<(Oid, Option<Conflict>), GitError> {
        let commits = self.independent(commits)?;
        let Some((first, rest)) = commits.split_first() else {
            return Err(GitError::invalid("merging needs at least one commit"));
        };
        if rest.is_empty() {
            return Ok((first.clone(), None));
        }
        let mut so_far = first.clone();
        let mut tree = None;
        let mut found: Option<Conflict> = None;
        for (position, incoming) in rest.iter().enumerate() {
            let merged_before = &commits[..=position];
            let step = match self.merge_pair(&so_far, incoming)? {
                PairMerge::Clean(step) => step,
                PairMerge::Conflict {
                    tree,
                    files,
                    messages,
                } => {
                    let conflict = found.get_or_insert_with(|| Conflict {
                        files: Vec::new(),
                        merged: merged_before.to_vec(),
                        incoming: incoming.clone(),
                        messages: Vec::new(),
                    });
                    conflict.files.extend(files);
                    conflict.files.sort();
                    conflict.files.dedup();
                    conflict.messages.extend(messages);
                    if !through_conflicts {
                        return Ok((so_far, found));
                    }
                    tree
                }
            };
            if position + 1 < rest.len() {
                // merge-tree merges commits, not trees: the next pair needs this step as a
                // commit, whose history gives the next merge its base.
                so_far = self.commit_tree(
                    &step,
                    &[so_far.clone(), incoming.clone()],
                    &CommitMessage::new(STEP_TITLE),
                )?;
            }
            tree = Some(step);
        }
        let tree = tree.ok_or_else(|| GitError::invalid("merging needs at least one commit"))?;
        Ok((self.commit_tree(&tree, &commits, message)?, found))
    }

    /// The best common ancestor of all of `commits` (`git merge-base --octopus`), if they
    /// have one.
    pub fn merge_base(&self, commits: &[Oid]) -> Result<Option<Oid>, GitError> {
        let output = self
            .command()
            .args(["merge-base", "--octopus", "--end-of-options"])
            .args(commits)
            .output()?;
        match output.code {
            Some(0) => output.oid().map(Some),
            Some(1) => Ok(None),
            _ => Err(output.failure()),
        }
    }

    /// `commits` without repeats and without those another one contains, in the order given.
    fn independent(&self, commits: &[Oid]) -> Result<Vec<Oid>, GitError> {
        let mut unique: Vec<Oid> = Vec::new();
        for commit in commits {
            if !unique.contains(commit) {
                unique.push(commit.clone());
            }
        }
        if unique.len() < 2 {
            return Ok(unique);
        }
        let output = self
            .command()
            .args(["merge-base", "--independent", "--end-of-options"])
            .args(&unique)
            .run()?;
        let text = output.text();
        let mut heads = Vec::new();
        for line in text.lines() {
            heads.push(Oid::parse(line).map_err(|_| output.unexpected("expected object ids"))?);
        }
        unique.retain(|commit| heads.contains(commit));
        Ok(unique)
    }

    /// Merges two commits into a tree with `git merge-tree --write-tree`.
    fn merge_pair(&self, ours: &Oid, theirs: &Oid) -> Result<PairMerge, GitError> {
        let output = self
            .command()
            .args([
                "merge-tree",
                "--write-tree",
                "-z",
                "--name-only",
                "--end-of-options",
            ])
            .arg(ours)
            .arg(theirs)
            .output()?;
        let fields = output.fields();
        let tree = fields
            .first()
            .and_then(|tree| Oid::parse(tree).ok())
            .ok_or_else(|| output.unexpected("expected the merged tree's id"));
        match output.code {
            Some(0) => Ok(PairMerge::Clean(tree?)),
            // Exit code 1 is a conflict; the output then lists the conflicting paths, an empty
            // field, and the messages, each as COUNT, COUNT paths, a type and the text.
            Some(1) if tree.is_ok() => {
                let mut rest = fields.iter().skip(1);
                let mut files: Vec<String> = rest
                    .by_ref()
                    .take_while(|field| !field.is_empty())
                    .cloned()
                    .collect();
                files.sort();
                files.dedup();
                let mut messages = Vec::new();
                while let Some(count) = rest.next() {
                    let count: usize = count
                        .parse()
                        .map_err(|_| output.unexpected("expected a count of paths"))?;
                    let kind = rest.by_ref().nth(count);
                    let text = rest.next();
                    if let (Some(kind), Some(text)) = (kind, text) {
                        if kind.starts_with("CONFLICT") {
                            messages.push(text.trim_end().to_string());
                        }
                    }
                }
                Ok(PairMerge::Conflict {
                    tree: tree?,
                    files,
                    messages,
                })
            }
            _ => Err(output.failure()),
        }
    }
}

/// What merging one pair of commits gave.
enum PairMerge {
    /// The merged tree.
    Clean(Oid),
    /// The merged tree, with conflict markers in the conflicting files; the conflicting
    /// paths and git's messages.
    Conflict {
        tree: Oid,
        files: Vec<String>,
        messages: Vec<String>,
    },
}
