//! Where an attempt's processes run. When an attempt's process group starts, the engine
//! records it in the run's log (the backend's, so every engine sharing the store can read
//! it): the group's id, the machine (host name and boot id) and the group leader's start
//! time. An engine that takes over a task whose engine stopped renewing its lease (killed
//! with `kill -9`, say) first stops what is left of the earlier attempt's group on the same
//! machine, so one task never has two live attempts. Across machines the lease is the fence:
//! another machine's processes cannot be signalled, and the task is taken over only after
//! its lease ended.
//!
//! The record is written a moment after the group started (see the engine's
//! `attempt_start`), so an engine killed in that moment leaves a group no record names: such
//! groups are found by the variables every attempt's processes get (`WF_RUN_ID`,
//! `WF_TASK_ID`, `WF_ATTEMPT`), read from `/proc` ([`AttemptProcess::found_here`]).

use super::process::{stop_leftover_group, Started};
use super::process_start;
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
    /// The group `pgid` of `started`, just started on this machine for `attempt` by `worker`.
    pub fn started_here(attempt: u32, worker: &str, started: Started) -> Self {
        let pgid = started.pgid;
        AttemptProcess {
            attempt,
            worker: worker.to_string(),
            host: this_host(),
            boot_id: boot_id(),
            pgid,
            started: started
                .start_ticks
                .or_else(|| process_start::read(pgid))
                .unwrap_or(0),
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
        match process_start::read(self.pgid) {
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

impl AttemptProcess {
    /// The process groups on this machine whose processes were started for an attempt of run
    /// `run` that `wanted(task, attempt)` picks, found by the variables the engine gave them
    /// (only the processes of this user can be read; none where there is no `/proc`). The
    /// engine's own group is never among them, whatever its variables say.
    pub fn found_here(run: &str, wanted: impl Fn(&str, u32) -> bool) -> Vec<AttemptProcess> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        let own_group = nix::unistd::getpgrp().as_raw();
        let mut found: Vec<AttemptProcess> = Vec::new();
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i32>().ok())
            else {
                continue;
            };
            let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
                continue;
            };
            let Some((task, attempt)) = attempt_of(&environ, run) else {
                continue;
            };
            if !wanted(task, attempt) {
                continue;
            }
            let Ok(pgid) = nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(pid))) else {
                continue;
            };
            let pgid = pgid.as_raw();
            if pgid <= 1 || pgid == own_group || found.iter().any(|p| p.pgid == pgid) {
                continue;
            }
            found.push(AttemptProcess {
                attempt,
                worker: String::new(),
                host: this_host(),
                boot_id: boot_id(),
                pgid,
                started: process_start::read(pgid).unwrap_or(0),
            });
        }
        found
    }

    /// `recorded` groups, then those [`found_here`](Self::found_here) (for run `run`, as
    /// `wanted` picks) that no record names: every group an engine that is gone may have left
    /// on this machine, each once.
    pub fn and_found_here(
        mut recorded: Vec<AttemptProcess>,
        run: &str,
        wanted: impl Fn(&str, u32) -> bool,
    ) -> Vec<AttemptProcess> {
        for process in Self::found_here(run, wanted) {
            if !recorded.iter().any(|known| known.pgid == process.pgid) {
                recorded.push(process);
            }
        }
        recorded
    }
}

/// The task and attempt a process's environment (`/proc/PID/environ`: `NAME=value` entries
/// each ended by a NUL) says it runs for, if it runs for run `run`.
fn attempt_of<'a>(environ: &'a [u8], run: &str) -> Option<(&'a str, u32)> {
    let (mut of_run, mut task, mut attempt) = (false, None, None);
    for entry in environ.split(|byte| *byte == 0) {
        let Ok(entry) = std::str::from_utf8(entry) else {
            continue;
        };
        match entry.split_once('=') {
            Some(("WF_RUN_ID", value)) => of_run = value == run,
            Some(("WF_TASK_ID", value)) => task = Some(value),
            Some(("WF_ATTEMPT", value)) => attempt = value.parse().ok(),
            _ => {}
        }
    }
    if of_run {
        task.zip(attempt)
    } else {
        None
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attempt_a_process_runs_for_is_read_from_its_environment() {
        let environ = b"PATH=/bin\0WF_RUN_ID=r1\0WF_TASK_ID=build\0WF_ATTEMPT=2\0";
        assert_eq!(attempt_of(environ, "r1"), Some(("build", 2)));
        assert_eq!(attempt_of(environ, "r2"), None);
        assert_eq!(attempt_of(b"WF_RUN_ID=r1\0WF_TASK_ID=build\0", "r1"), None);
        assert_eq!(
            attempt_of(b"WF_RUN_ID=r10\0WF_TASK_ID=a\0WF_ATTEMPT=1", "r1"),
            None
        );
    }

    #[test]
    fn a_group_that_no_record_names_is_found_by_its_variables() {
        use std::os::unix::process::CommandExt;
        let run = format!("found-here-{}", std::process::id());
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .env("WF_RUN_ID", &run)
            .env("WF_TASK_ID", "build")
            .env("WF_ATTEMPT", "1")
            .process_group(0)
            .spawn()
            .expect("sleep starts");
        let pgid = i32::try_from(child.id()).expect("a pid");
        // The child's environment is readable once its `exec` is done, which `spawn` does
        // not always wait for.
        let started = std::time::Instant::now();
        let mut found = Vec::new();
        while found.is_empty() && started.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(10));
            found =
                AttemptProcess::found_here(&run, |task, attempt| task == "build" && attempt < 2);
        }
        let later = AttemptProcess::found_here(&run, |_, attempt| attempt < 1);
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(
            found
                .iter()
                .map(|p| (p.pgid, p.attempt))
                .collect::<Vec<_>>(),
            [(pgid, 1)]
        );
        assert!(found[0].started > 0);
        assert!(later.is_empty(), "{later:?}");
    }

    #[test]
    fn a_record_survives_the_log() {
        // Not told by a clock around its start: read from `/proc`.
        let this = Started {
            pgid: std::process::id() as i32,
            start_ticks: None,
        };
        let record = AttemptProcess::started_here(2, "host:1:2", this);
        assert!(record.started > 0, "this process has a start time");
        let told = Started {
            start_ticks: Some(record.started),
            ..this
        };
        assert_eq!(AttemptProcess::started_here(2, "host:1:2", told), record);
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
