//! Refs, which keep wfc's commits alive and visible: read one, move one by compare-and-swap
//! (`git update-ref NAME NEW OLD`), delete one, and list those under a prefix.

use super::error::GitError;
use super::git::Git;
use super::oid::Oid;
use super::ref_name::RefName;

/// What a ref must point at for an update to go ahead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The ref must not exist (create only).
    Missing,
    /// The ref must point at this object.
    Value(Oid),
    /// Whatever it points at (or if it does not exist).
    Anything,
}

/// The outcome of an update that git could carry out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefUpdate {
    /// The ref was changed as asked.
    Done,
    /// The ref was not where the caller expected (someone else moved, made or deleted it),
    /// so nothing was changed.
    Stale {
        /// Where the ref points now (`None`: it does not exist).
        current: Option<Oid>,
    },
}

impl Git {
    /// Where the ref `name` points, or `None` if it does not exist.
    pub fn read_ref(&self, name: &RefName) -> Result<Option<Oid>, GitError> {
        // `for-each-ref` takes the name literally, where `rev-parse` would try other refs
        // (`refs/heads/NAME`, …) when this one is missing. Its pattern also matches refs
        // below the name as a folder, so only the exact name counts.
        let refs = self.refs_matching(name.as_str())?;
        Ok(refs
            .into_iter()
            .find(|(found, _)| found == name)
            .map(|(_, oid)| oid))
    }

    /// Points the ref `name` at `new` if it is now as `expect` says; returns
    /// [`RefUpdate::Stale`] (and changes nothing) if it is not.
    pub fn update_ref(
        &self,
        name: &RefName,
        new: &Oid,
        expect: &Expect,
    ) -> Result<RefUpdate, GitError> {
        let mut command = self
            .command()
            .args(["update-ref", "--end-of-options"])
            .arg(name)
            .arg(new);
        command = match expect {
            // The empty old value is git's way of saying "must not exist yet".
            Expect::Missing => command.arg(""),
            Expect::Value(old) => command.arg(old),
            Expect::Anything => command,
        };
        self.outcome(name, expect, command.output()?)
    }

    /// Deletes the ref `name` if it is now as `expect` says; deleting a ref that does not
    /// exist, with [`Expect::Anything`], is done.
    pub fn delete_ref(&self, name: &RefName, expect: &Expect) -> Result<RefUpdate, GitError> {
        let mut command = self
            .command()
            .args(["update-ref", "-d", "--end-of-options"])
            .arg(name);
        command = match expect {
            Expect::Missing => {
                return Err(GitError::invalid(format!(
                    "deleting `{name}` only if it does not exist means nothing"
                )))
            }
            Expect::Value(old) => command.arg(old),
            Expect::Anything => command,
        };
        self.outcome(name, expect, command.output()?)
    }

    /// Every ref whose name starts with `prefix` (a folder of refs such as `refs/wfc/RUN/`,
    /// see [`RefName::run_prefix`]), sorted by name, with where each points.
    pub fn list_refs(&self, prefix: &str) -> Result<Vec<(RefName, Oid)>, GitError> {
        let folder = prefix.trim_end_matches('/');
        RefName::new(folder)?;
        let refs = self.refs_matching(&format!("{folder}/"))?;
        Ok(refs)
    }

    /// The refs `for-each-ref` lists for `pattern`.
    fn refs_matching(&self, pattern: &str) -> Result<Vec<(RefName, Oid)>, GitError> {
        let output = self
            .command()
            .args([
                "for-each-ref",
                "--format=%(objectname) %(refname)",
                "--end-of-options",
                pattern,
            ])
            .run()?;
        let text = output.text();
        let mut refs = Vec::new();
        for line in text.lines() {
            let parsed = line
                .split_once(' ')
                .and_then(|(oid, name)| Some((RefName::new(name).ok()?, Oid::parse(oid).ok()?)));
            match parsed {
                Some((name, oid)) => refs.push((name, oid)),
                None => return Err(output.unexpected("expected `OID REFNAME` lines")),
            }
        }
        Ok(refs)
    }

    /// What a finished `update-ref` means: done, stale (the ref is not as expected), or an
    /// error.
    fn outcome(
        &self,
        name: &RefName,
        expect: &Expect,
        output: super::git::GitOutput,
    ) -> Result<RefUpdate, GitError> {
        if output.code == Some(0) {
            return Ok(RefUpdate::Done);
        }
        let current = self.read_ref(name)?;
        let as_expected = match expect {
            Expect::Missing => current.is_none(),
            Expect::Value(old) => current.as_ref() == Some(old),
            Expect::Anything => true,
        };
        if as_expected {
            Err(output.failure())
        } else {
            Ok(RefUpdate::Stale { current })
        }
    }
}
