//! The message of a commit wfc makes: a one-line title, an optional body, and trailers
//! (`Wfc-Run: …`) that git's trailer tools read back. It reaches git on standard input, never
//! as an argument, so its text cannot be taken as an option.

use super::error::GitError;

/// The trailer that names the run a commit belongs to.
pub const RUN_TRAILER: &str = "Wfc-Run";

/// The trailer that names the task whose output or attempt a commit is.
pub const TASK_TRAILER: &str = "Wfc-Task";

/// The trailer that numbers the attempt a commit comes from.
pub const ATTEMPT_TRAILER: &str = "Wfc-Attempt";

/// A commit message being put together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitMessage {
    title: String,
    body: String,
    trailers: Vec<(String, String)>,
}

impl CommitMessage {
    /// A message whose first line is `title` (line breaks in it become spaces, since a title
    /// is one line).
    pub fn new(title: &str) -> CommitMessage {
        CommitMessage {
            title: one_line(title),
            body: String::new(),
            trailers: Vec::new(),
        }
    }

    /// Adds `body` as the paragraphs after the title.
    pub fn with_body(mut self, body: &str) -> CommitMessage {
        self.body = body.trim().to_string();
        self
    }

    /// Adds the trailer `key: value`. The key must be letters, digits and `-` (git's rule for
    /// trailer tokens); line breaks in the value become spaces, so it stays one trailer.
    pub fn with_trailer(mut self, key: &str, value: &str) -> Result<CommitMessage, GitError> {
        let valid = !key.is_empty()
            && key
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-');
        if !valid {
            return Err(GitError::invalid(format!(
                "`{key}` cannot be a trailer key: use letters, digits and `-`"
            )));
        }
        self.trailers.push((key.to_string(), one_line(value)));
        Ok(self)
    }

    /// Adds the trailers that name the run, the task and the attempt.
    pub fn with_wfc_trailers(
        self,
        run: &str,
        task: &str,
        attempt: u32,
    ) -> Result<CommitMessage, GitError> {
        self.with_trailer(RUN_TRAILER, run)?
            .with_trailer(TASK_TRAILER, task)?
            .with_trailer(ATTEMPT_TRAILER, &attempt.to_string())
    }

    /// The full text, as git stores it.
    pub fn render(&self) -> String {
        let mut text = format!("{}\n", self.title);
        if !self.body.is_empty() {
            text.push('\n');
            text.push_str(&self.body);
            text.push('\n');
        }
        if !self.trailers.is_empty() {
            text.push('\n');
            for (key, value) in &self.trailers {
                text.push_str(&format!("{key}: {value}\n"));
            }
        }
        text
    }
}

/// `text` on one line: line breaks (and other control characters) become spaces.
fn one_line(text: &str) -> String {
    text.trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_title_body_and_trailers() {
        let message = CommitMessage::new("Build\nthe thing")
            .with_body("Why it was built.\n")
            .with_wfc_trailers("run-1", "build\nx", 2)
            .map(|m| m.render());
        assert_eq!(
            message,
            Ok(
                "Build the thing\n\nWhy it was built.\n\nWfc-Run: run-1\nWfc-Task: build x\n\
                Wfc-Attempt: 2\n"
                    .to_string()
            )
        );
    }

    #[test]
    fn refuses_trailer_keys_git_would_not_read() {
        assert!(CommitMessage::new("t")
            .with_trailer("Bad Key", "v")
            .is_err());
        assert!(CommitMessage::new("t").with_trailer("a:b", "v").is_err());
        assert!(CommitMessage::new("t").with_trailer("", "v").is_err());
    }
}
