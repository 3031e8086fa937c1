//! Where an attempt's processes run. When an attempt's process group starts, the engine
//! records it in the run's log (the backend's, so every engine sharing the store can read
//! it): the group's id, the machine (host name and boot id) and the group leader's start
//! time. An engine that takes over a task whose engine stopped renewing its lease (killed
//! with `kill -9`, say) first stops what is left of the earlier attempt's group on the same
//! machine, so one task never has two live attempts. Across machines the lease is the fence:
//! another machine's processes cannot be signalled, and the task is taken over only after
//! its lease ended.

use super::process::stop_leftover_group;
use super::{this_host, EventRecord, NewEvent};
use serde_json::json;
use std::time::Duration;

/// The kind of the log events that record an attempt's process group.
pub const EVENT_KIND: &str = "attempt_process";

/// How long an earlier attempt's group gets between `SIGTERM` and `SIGKILL`.
const GRACE: Duration = Duration::from_secs(3);

/// An attempt's process group, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptProcess {
    /// The attempt's number.
    pub attempt: u32,
    /// The engine that ran it.
    pub worker: String,
    /// The machine's host name.
    pub host: String,
    /// The machine's boot id: a group id means nothing after a reboot.
    pub boot_id: String,
    /// The process group's id (its leader's pid).
    pub pgid: i32,
    /// The leader's start time, in clock ticks after boot: a group id reused later by
    /// another group has another leader start time.
    pub started: u64,
}

impl AttemptProcess {
    /// The group `pgid`, just started on this machine for `attempt` by `worker`.
    pub fn started_here(attempt: u32, worker: &str, pgid: i32) -> Self {
        AttemptProcess {
            attempt,
            worker: worker.to_string(),
            host: this_host(),
            boot_id: boot_id(),
            pgid,
            started: start_time(pgid).unwrap_or(0),
        }
    }

    /// The log event that records it, for task `task`.
    pub fn event(&self, task: &str, at: super::Millis) -> NewEvent {
        NewEvent {
            at,
            kind: EVENT_KIND.to_string(),
            task: Some(task.to_string()),
            data: json!({
                "attempt": self.attempt,
                "worker": self.worker,
                "host": self.host,
                "boot_id": self.boot_id,
                "pgid": self.pgid,
                "started": self.started,
            }),
        }
    }

    /// The record in a log event, if it is one.
    pub fn from_event(event: &EventRecord) -> Option<Self> {
        if event.kind != EVENT_KIND {
            return None;
        }
        let data = &event.data;
        Some(AttemptProcess {
            attempt: u32::try_from(data["attempt"].as_u64()?).ok()?,
            worker: data["worker"].as_str()?.to_string(),
            host: data["host"].as_str()?.to_string(),
            boot_id: data["boot_id"].as_str()?.to_string(),
            pgid: i32::try_from(data["pgid"].as_i64()?).ok()?,
            started: data["started"].as_u64()?,
        })
    }

    /// Whether the group is on this machine, since its last boot, and still has the leader
    /// it was recorded with (or, its leader gone, still has members: a group id is not given
    /// to a new group while any process is in the old one).
    pub fn may_be_alive_here(&self) -> bool {
        if self.host != this_host() || self.boot_id != boot_id() || self.pgid <= 1 {
            return false;
        }
        match start_time(self.pgid) {
            Some(started) => started == self.started,
            None => true,
        }
    }

    /// Stops what is left of the group: `SIGTERM`, then `SIGKILL` after a grace period.
    /// Returns whether anything was left to stop.
    pub async fn stop(&self) -> bool {
        stop_leftover_group(self.pgid, GRACE).await
    }
}

/// This boot's id (Linux), or nothing elsewhere.
fn boot_id() -> String {
    // It cannot change while this process lives: read once.
    static BOOT_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BOOT_ID
        .get_or_init(|| {
            std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
                .map(|id| id.trim().to_string())
                .unwrap_or_default()
        })
        .clone()
}

/// When process `pid` started, in clock ticks after boot (field 22 of `/proc/PID/stat`).
fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state …`: the command may hold spaces and parentheses.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_survives_the_log() {
        let record = AttemptProcess::started_here(2, "host:1:2", std::process::id() as i32);
        assert!(record.started > 0, "this process has a start time");
        let event = record.event("build", 5);
        let stored = EventRecord {
            seq: 1,
            at: event.at,
            kind: event.kind,
            task: event.task,
            data: event.data,
        };
        assert_eq!(AttemptProcess::from_event(&stored), Some(record.clone()));
        assert!(record.may_be_alive_here());
        // Another machine's, or another boot's, group is never signalled from here.
        let elsewhere = AttemptProcess {
            host: "another-host".into(),
            ..record.clone()
        };
        assert!(!elsewhere.may_be_alive_here());
        let reused = AttemptProcess {
            started: record.started + 1,
            ..record
        };
        assert!(
            !reused.may_be_alive_here(),
            "a reused group id is not the recorded group"
        );
    }
}
