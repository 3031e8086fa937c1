//! A shared remote that runs on many machines move their work through: its URL, checked
//! once, and fetching and pushing wfc's refs by it.
//!
//! Invariant: the URL is data. It is checked when a run records it (no leading `-`, no
//! control characters, no password, no `ext::` or `fd::` transport, which would run a
//! command), passed after `--end-of-options`, and every command that uses it refuses the
//! `ext` transport again (`protocol.ext.allow=never`), so a URL read back from a shared store
//! can never make git run a program. Refspecs are built only from [`Oid`]s and [`RefName`]s,
//! which hold no `:` or `+`.

use super::error::GitError;
use super::git::Git;
use super::oid::Oid;
use super::ref_name::RefName;
use std::fmt;
use std::path::Path;

/// Configuration for every command that talks to a remote: no command-running transport,
/// and no automatic `gc` or maintenance started by a fetch in the middle of a run.
const REMOTE_CONFIG: &[&str] = &[
    "-c",
    "protocol.ext.allow=never",
    "-c",
    "gc.auto=0",
    "-c",
    "maintenance.auto=false",
];

/// The URL of a shared remote, as git takes it: `scheme://…`, `user@host:path`, or an
/// absolute path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteUrl(String);

impl RemoteUrl {
    /// `text` as a remote URL; a relative path is made absolute against `from` (so every
    /// machine reads it the same), or why it cannot be one.
    pub fn parse(text: &str, from: &Path) -> Result<RemoteUrl, GitError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(GitError::invalid("the remote's URL is empty"));
        }
        if text.starts_with('-') {
            return Err(GitError::invalid(format!(
                "the remote `{text}` starts with `-`, so git would read it as an option"
            )));
        }
        if text.chars().any(char::is_control) {
            return Err(GitError::invalid(
                "the remote's URL holds a control character",
            ));
        }
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("ext::") || lower.starts_with("fd::") {
            return Err(GitError::invalid(format!(
                "the remote `{text}` uses a transport that runs a command; give a URL or a path"
            )));
        }
        if has_password(text) {
            return Err(GitError::invalid(
                "the remote's URL holds a password, which would be stored with the run and \
                 shown to every worker: leave it out and let git's credential helper (or \
                 ~/.netrc, or an SSH key) give it on each machine",
            ));
        }
        if is_local_path(text) && !Path::new(text).is_absolute() {
            let joined = from.join(text);
            let absolute = std::fs::canonicalize(&joined)
                .or_else(|_| std::path::absolute(&joined))
                .map_err(|error| GitError::io(format!("resolve `{text}`"), &error))?;
            return Ok(RemoteUrl(absolute.display().to_string()));
        }
        Ok(RemoteUrl(text.to_string()))
    }

    /// The URL as stored, for git and for messages (it holds no password).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RemoteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `url` is a local path rather than a URL (`scheme://…`) or git's scp-like
/// `host:path`: git's own rule, a colon before any slash makes it a host.
fn is_local_path(url: &str) -> bool {
    if url.contains("://") {
        return false;
    }
    match (url.find(':'), url.find('/')) {
        (Some(colon), Some(slash)) => slash < colon,
        (Some(_), None) => false,
        (None, _) => true,
    }
}

/// Whether `url` carries a password: `scheme://user:password@host/…`.
fn has_password(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or("");
    authority
        .rsplit_once('@')
        .is_some_and(|(user, _)| user.contains(':'))
}

/// One ref to publish: the commit, the ref it goes to on the remote, and whether it may move
/// the ref where that is not a fast-forward.
#[derive(Clone, Debug)]
pub struct Publish {
    /// The commit.
    pub commit: Oid,
    /// The ref on the remote.
    pub to: RefName,
    /// Whether the remote's ref is replaced whatever it points at (a task's own ref),
    /// rather than only moved forward (a branch handed to people).
    pub force: bool,
}

impl Git {
    /// Whether the repository has commit `commit`.
    pub fn has_commit(&self, commit: &Oid) -> Result<bool, GitError> {
        let output = self
            .command()
            .args(["cat-file", "-e", "--end-of-options"])
            .arg(format!("{commit}^{{commit}}"))
            .output()?;
        match output.code {
            Some(0) => Ok(true),
            Some(_) => Ok(false),
            None => Err(output.failure()),
        }
    }

    /// The URL the remote `name` of this repository is configured with (`remote.NAME.url`),
    /// or `None` if it has none.
    pub fn remote_url(&self, name: &str) -> Result<Option<String>, GitError> {
        let output = self
            .command()
            .args(["config", "--get", "--end-of-options"])
            .arg(format!("remote.{name}.url"))
            .output()?;
        match output.code {
            Some(0) => Ok(Some(output.text().trim().to_string())),
            Some(1) => Ok(None),
            _ => Err(output.failure()),
        }
    }

    /// Fetches each of `refs`, and every ref under each of the folders `folders`
    /// (`refs/wfc/RUN/outputs/TASK`), from `url` into the refs of the same names here,
    /// replacing what they pointed at: each of wfc's refs of a run is written by one task's
    /// holder only. A folder the remote has nothing in fetches nothing.
    pub fn fetch_refs(
        &self,
        url: &RemoteUrl,
        refs: &[RefName],
        folders: &[RefName],
    ) -> Result<(), GitError> {
        if refs.is_empty() && folders.is_empty() {
            return Ok(());
        }
        self.command()
            .args(REMOTE_CONFIG)
            .args([
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "--no-recurse-submodules",
                "--end-of-options",
            ])
            .arg(url.as_str())
            .args(refs.iter().map(|name| format!("+{name}:{name}")))
            .args(
                folders
                    .iter()
                    .map(|folder| format!("+{folder}/*:{folder}/*")),
            )
            .run()?;
        Ok(())
    }

    /// Pushes each of `refs` to `url` in one push: with their objects, and no other ref.
    pub fn push_refs(&self, url: &RemoteUrl, refs: &[Publish]) -> Result<(), GitError> {
        if refs.is_empty() {
            return Ok(());
        }
        self.command()
            .args(REMOTE_CONFIG)
            .args([
                "push",
                "--quiet",
                "--no-verify",
                "--no-recurse-submodules",
                "--end-of-options",
            ])
            .arg(url.as_str())
            .args(refs.iter().map(|publish| {
                let force = if publish.force { "+" } else { "" };
                format!("{force}{}:{}", publish.commit, publish.to)
            }))
            .run()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_local_paths_made_absolute() {
        let here = Path::new("/work/clone");
        for good in [
            "https://example.com/r.git",
            "git@example.com:team/r.git",
            "ssh://git@example.com/r.git",
            "https://user@example.com/r.git",
            "/srv/r.git",
        ] {
            assert_eq!(RemoteUrl::parse(good, here).expect(good).as_str(), good);
        }
        let relative = RemoteUrl::parse("../shared.git", here).expect("a path");
        assert!(
            relative.as_str().starts_with('/') && relative.as_str().ends_with("shared.git"),
            "{relative}"
        );
        for bad in [
            "",
            "--upload-pack=touch x",
            "ext::sh -c touch% x",
            "FD::3",
            "https://user:token@example.com/r.git",
            "https://example.com/r\n.git",
        ] {
            assert!(RemoteUrl::parse(bad, here).is_err(), "{bad:?}");
        }
    }
}
