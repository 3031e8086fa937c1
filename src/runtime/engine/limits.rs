//! Provider limits (a usage limit, HTTP 429, HTTP 529): a session that ran into one did not
//! fail, the provider refused it for a while. Its attempt gives its claim back without using a
//! retry, and the profile waits — until the reset time the CLI reported, or with exponential
//! backoff when it reported none — before any task of that profile starts again. The run goes
//! on by itself when the wait ends.
//!
//! Each wait is a `profile_waiting` event in the run's log, so an engine started later (after
//! a crash, or `wfc resume`) reads it and waits the rest of it too.

use super::{Engine, EngineError, EventKind, TaskKey};
use crate::plan::{Action, TaskSpec};
use crate::runtime::agent::ProviderLimit;
use crate::runtime::{now_millis, Millis};
use std::collections::HashMap;

/// The environment variable that sets the first backoff, in seconds, when the provider says
/// nothing of when its limit ends (default [`DEFAULT_BACKOFF_SECS`]).
pub const BACKOFF_ENV: &str = "WFC_LIMIT_BACKOFF_SECS";

/// The first backoff without a reset time: the CLIs have already retried for a while by then.
const DEFAULT_BACKOFF_SECS: u64 = 60;

/// The longest backoff.
const MAX_BACKOFF_SECS: u64 = 3_600;

/// How long a profile waits.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ProfileWait {
    /// Until when no session of the profile starts.
    pub until: Millis,
    /// Limits met in a row without a session that succeeded: the backoff doubles with each.
    pub strikes: u32,
}

/// The profile whose limits an agent task shares: its profile's name, or `default` for the
/// run's `--agent`. `None` for tasks that start no session.
pub(super) fn profile_of(spec: &TaskSpec) -> Option<String> {
    match &spec.action {
        Action::Agent { profile, .. } if !spec.action.waits_for_person() => {
            Some(profile.clone().unwrap_or_else(|| "default".into()))
        }
        _ => None,
    }
}

/// The wait after the `strikes`th limit in a row: the reset time, if the provider gave one in
/// the future, else `base` doubled for each earlier strike, at most an hour.
pub(super) fn wait_until(limit: &ProviderLimit, strikes: u32, now: Millis, base: u64) -> Millis {
    if let Some(resets_at) = limit.resets_at.filter(|&at| at > now) {
        return resets_at;
    }
    let doubling = 2u64.saturating_pow(strikes.saturating_sub(1).min(20));
    let seconds = base.saturating_mul(doubling).min(MAX_BACKOFF_SECS);
    now + (seconds as Millis) * 1000
}

fn backoff_base() -> u64 {
    std::env::var(BACKOFF_ENV)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(DEFAULT_BACKOFF_SECS)
}

impl Engine {
    fn lock_waits(&self) -> std::sync::MutexGuard<'_, HashMap<String, ProfileWait>> {
        self.profile_waits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds the waits read from a run's log, keeping the later of two.
    pub(super) fn merge_waits(&self, read: HashMap<String, ProfileWait>) {
        let mut waits = self.lock_waits();
        for (profile, wait) in read {
            let known = waits.entry(profile).or_default();
            if wait.until > known.until {
                *known = wait;
            }
        }
    }

    /// Whether the profile of `spec` waits now for a provider's limit to end.
    pub(super) fn profile_waits(&self, spec: &TaskSpec) -> bool {
        let Some(profile) = profile_of(spec) else {
            return false;
        };
        self.lock_waits()
            .get(&profile)
            .is_some_and(|wait| wait.until > now_millis())
    }

    /// A session of `spec`'s profile succeeded: the next limit backs off from the start.
    pub(super) fn limit_cleared(&self, spec: &TaskSpec) {
        if let Some(profile) = profile_of(spec) {
            if let Some(wait) = self.lock_waits().get_mut(&profile) {
                wait.strikes = 0;
            }
        }
    }

    /// Remembers that the session of `key` ran into `limit`, for the attempt's end.
    pub(super) fn note_limit(&self, key: &TaskKey, limit: ProviderLimit) {
        self.limited
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key.clone(), limit);
    }

    /// The limit the session of `key` ran into, if it did.
    pub(super) fn take_limit(&self, key: &TaskKey) -> Option<ProviderLimit> {
        self.limited
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(key)
    }

    /// Ends an attempt that ran into `limit`: gives its claim back with no retry used, and
    /// makes its profile wait (a `profile_waiting` event, read again after a restart).
    pub(super) async fn wait_for_limit(
        &self,
        key: &TaskKey,
        spec: &TaskSpec,
        attempt: u32,
        limit: ProviderLimit,
    ) -> Result<(), EngineError> {
        let profile = profile_of(spec).unwrap_or_else(|| "default".into());
        let now = now_millis();
        let wait = {
            let mut waits = self.lock_waits();
            let known = waits.entry(profile.clone()).or_default();
            // Several tasks of the profile meet the same limit at once: one strike for them.
            if known.until <= now {
                known.strikes += 1;
                known.until = wait_until(&limit, known.strikes, now, backoff_base());
            }
            *known
        };
        // The next session is told that this attempt was interrupted, and why: it did not fail.
        let reason = format!(
            "its session met a provider limit: {} of {profile}",
            limit.kind.words()
        );
        let (k, w) = (key.clone(), self.config.worker.clone());
        self.call(move |b| b.release_task(&k, &w, &reason, now_millis()))
            .await?;
        self.emit(
            &key.run,
            EventKind::ProfileWaiting,
            Some(&key.task),
            serde_json::json!({
                "attempt": attempt,
                "profile": profile,
                "kind": limit.kind,
                "what": limit.kind.words(),
                "until": wait.until,
                "strikes": wait.strikes,
                "seconds": ((wait.until - now).max(0) as f64 / 1000.0).ceil(),
                "message": limit.message,
            }),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::agent::LimitKind;

    fn limit(resets_at: Option<Millis>) -> ProviderLimit {
        ProviderLimit {
            kind: LimitKind::RateLimit,
            resets_at,
            message: String::new(),
        }
    }

    #[test]
    fn a_reset_time_is_waited_for() {
        assert_eq!(wait_until(&limit(Some(50_000)), 1, 10_000, 60), 50_000);
    }

    #[test]
    fn without_one_the_backoff_doubles_up_to_an_hour() {
        assert_eq!(wait_until(&limit(None), 1, 0, 60), 60_000);
        assert_eq!(wait_until(&limit(None), 3, 0, 60), 240_000);
        assert_eq!(wait_until(&limit(None), 30, 0, 60), 3_600_000);
        // A reset time already past is no reset time.
        assert_eq!(wait_until(&limit(Some(5)), 2, 10, 1), 2_010);
    }
}
