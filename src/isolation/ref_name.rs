//! Ref names, checked by git's own rules (`git check-ref-format`) before they reach git, and
//! wfc's refs built from run and task ids through an encoding that always yields a valid name.

use super::error::GitError;
use std::fmt;

/// A full ref name (`refs/...`) that `git check-ref-format` accepts. It starts with `refs/`,
/// so git can never take it for an option.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RefName(String);

impl RefName {
    /// `name` as a ref name, if it is a full one that git accepts.
    pub fn new(name: &str) -> Result<RefName, GitError> {
        match problem(name) {
            None => Ok(RefName(name.to_string())),
            Some(reason) => Err(GitError::invalid(format!(
                "`{name}` is not a valid ref name: {reason}"
            ))),
        }
    }

    /// The branch `branch` (`refs/heads/BRANCH`), if git accepts that name.
    pub fn branch(branch: &str) -> Result<RefName, GitError> {
        RefName::new(&format!("refs/heads/{branch}"))
    }

    /// The folder of a run's refs, `refs/wfc/RUN/`, with the run id encoded by
    /// [`encode_component`]; [`super::Git::list_refs`] lists what is under it.
    pub fn run_prefix(run: &str) -> Result<String, GitError> {
        Ok(format!("refs/wfc/{}/", encode_component(run)?))
    }

    /// The ref that keeps a task's output commit: `refs/wfc/RUN/tasks/TASK`.
    ///
    /// Outputs and attempts live in separate folders because a ref cannot also be a folder of
    /// refs: `refs/wfc/RUN/TASK` and `refs/wfc/RUN/TASK/1` cannot both exist.
    pub fn task_output(run: &str, task: &str) -> Result<RefName, GitError> {
        RefName::new(&format!(
            "{}tasks/{}",
            RefName::run_prefix(run)?,
            encode_component(task)?
        ))
    }

    /// The ref that keeps what one attempt of a task changed (a failed attempt's work, which
    /// the next attempt is told about): `refs/wfc/RUN/attempts/TASK/ATTEMPT`.
    pub fn attempt(run: &str, task: &str, attempt: u32) -> Result<RefName, GitError> {
        RefName::new(&format!(
            "{}attempts/{}/{attempt}",
            RefName::run_prefix(run)?,
            encode_component(task)?
        ))
    }

    /// The ref that keeps a run's base commit on the shared remote its work moves through, so
    /// a clone on another machine can fetch it: `refs/wfc/RUN/base`.
    pub fn run_base(run: &str) -> Result<RefName, GitError> {
        RefName::new(&format!("{}base", RefName::run_prefix(run)?))
    }

    /// The ref that keeps the output commit of one attempt of a task on a shared remote:
    /// `refs/wfc/RUN/outputs/TASK/ATTEMPT`. Each attempt's is its own, so an engine whose
    /// claim ran out while it pushed cannot push over the output of the attempt after it.
    pub fn attempt_output(run: &str, task: &str, attempt: u32) -> Result<RefName, GitError> {
        RefName::new(&format!("{}/{attempt}", RefName::outputs_of(run, task)?))
    }

    /// The folder of [`RefName::attempt_output`]'s refs of a task: `refs/wfc/RUN/outputs/TASK`.
    pub fn outputs_of(run: &str, task: &str) -> Result<RefName, GitError> {
        RefName::new(&format!(
            "{}outputs/{}",
            RefName::run_prefix(run)?,
            encode_component(task)?
        ))
    }

    /// The folder of the refs of a task's attempts, `refs/wfc/RUN/attempts/TASK`, each of
    /// which [`RefName::attempt`] names.
    pub fn attempts_of(run: &str, task: &str) -> Result<RefName, GitError> {
        RefName::new(&format!(
            "{}attempts/{}",
            RefName::run_prefix(run)?,
            encode_component(task)?
        ))
    }

    /// The run's result branch, `refs/heads/wfc/RUN`.
    pub fn run_result(run: &str) -> Result<RefName, GitError> {
        RefName::new(&format!("refs/heads/wfc/{}", encode_component(run)?))
    }

    /// The full name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RefName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<std::ffi::OsStr> for RefName {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_ref()
    }
}

/// `id` as one component of a ref name: every byte outside `[A-Za-z0-9_-]` becomes `%XX`.
/// The dot is encoded too, so no component starts with `.`, holds `..` or ends in `.lock`;
/// `/` is encoded, so an id is always exactly one component; and the encoding is reversible,
/// so two ids never share a ref.
pub fn encode_component(id: &str) -> Result<String, GitError> {
    if id.is_empty() {
        return Err(GitError::invalid("an empty id cannot name a ref"));
    }
    let mut encoded = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    Ok(encoded)
}

/// What makes `name` an invalid full ref name, by the rules of `git check-ref-format`, or
/// `None` if it is valid.
fn problem(name: &str) -> Option<&'static str> {
    if !name.starts_with("refs/") {
        return Some("it must start with `refs/`");
    }
    if name.ends_with('/') {
        return Some("it ends with `/`");
    }
    if name.ends_with('.') {
        return Some("it ends with `.`");
    }
    if name.contains("..") {
        return Some("it contains `..`");
    }
    if name.contains("@{") {
        return Some("it contains `@{`");
    }
    if name
        .chars()
        .any(|c| c.is_ascii_control() || " ~^:?*[\\".contains(c))
    {
        return Some("it contains a space, a control character or one of ~ ^ : ? * [ \\");
    }
    for component in name.split('/') {
        if component.is_empty() {
            return Some("it contains `//`");
        }
        if component.starts_with('.') {
            return Some("a component starts with `.`");
        }
        if component.ends_with(".lock") {
            return Some("a component ends with `.lock`");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_git_accepts() {
        for name in [
            "refs/heads/main",
            "refs/wfc/r1/tasks/a%2Eb",
            "refs/heads/fix-1.2",
        ] {
            assert!(RefName::new(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn refuses_what_git_refuses() {
        for name in [
            "main",
            "--upload-pack=x",
            "refs/heads/",
            "refs/heads/a..b",
            "refs/heads/.hidden",
            "refs/heads/a.lock",
            "refs/heads/a@{1}",
            "refs/heads/a b",
            "refs/heads/a:b",
            "refs/heads//a",
            "refs/heads/a.",
            "refs/heads/a\u{7f}",
        ] {
            assert!(RefName::new(name).is_err(), "{name}");
        }
    }

    #[test]
    fn encodes_ids_into_single_valid_components() {
        assert_eq!(
            encode_component("build.linux/x 1"),
            Ok("build%2Elinux%2Fx%201".to_string())
        );
        assert_eq!(encode_component("a%"), Ok("a%25".to_string()));
        assert_eq!(encode_component("é"), Ok("%C3%A9".to_string()));
        assert!(encode_component("").is_err());
        let name = RefName::task_output("..", "--upload-pack=touch x");
        assert_eq!(
            name.map(|n| n.to_string()),
            Ok("refs/wfc/%2E%2E/tasks/--upload-pack%3Dtouch%20x".to_string())
        );
    }

    #[test]
    fn outputs_and_attempts_do_not_collide() {
        let output = RefName::task_output("r", "t").map(|n| n.to_string());
        let attempt = RefName::attempt("r", "t", 2).map(|n| n.to_string());
        assert_eq!(output, Ok("refs/wfc/r/tasks/t".to_string()));
        assert_eq!(attempt, Ok("refs/wfc/r/attempts/t/2".to_string()));
    }
}
