//! What the next session of a task is told of the attempt before it: why it failed, so that
//! it fixes that; or that it did not fail but was interrupted (a provider's limit, an engine
//! stopped, a worker that lost its lease), so that it does not hunt for a mistake no one made.

use crate::plan::filters::fenced;
use crate::runtime::lifecycle::interruption;

/// The prompt's section on attempt `attempt`, which ended with `error` (the task's
/// `last_error`). The error is quoted, fenced, in both cases: it may hold an agent's words.
pub(super) fn previous_attempt_section(attempt: u32, error: &str) -> String {
    if interruption(error).is_some() {
        format!(
            "\n## The previous attempt was interrupted\n\nAttempt {attempt} did not fail: it was interrupted before it finished, and this attempt does the task again. Files it changed may already be there; check them before you build on them.\n\n{}\n",
            fenced(error)
        )
    } else {
        format!(
            "\n## The previous attempt failed\n\nAttempt {attempt} failed. Fix what made it fail:\n\n{}\n",
            fenced(error)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupted_attempt_is_not_called_a_failure() {
        let limited = previous_attempt_section(
            2,
            "attempt 2 was interrupted: its session met a provider limit: rate limit of claude",
        );
        assert!(limited.contains("## The previous attempt was interrupted"));
        assert!(limited.contains("Attempt 2 did not fail"));
        assert!(limited.contains("rate limit of claude"));
        assert!(!limited.contains("failed"), "{limited}");
        let failed = previous_attempt_section(1, "verify failed: exit 1");
        assert!(failed.contains("## The previous attempt failed"));
        assert!(failed.contains("Fix what made it fail"));
    }
}
