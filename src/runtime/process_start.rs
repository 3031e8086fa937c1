//! When a process started, as `/proc/PID/stat` counts it (its field 22: clock ticks after
//! boot): what tells a process group's leader from a later process given the same id.
//!
//! The kernel stamps a process's start on the boot-time clock when it creates the process,
//! inside the call that starts it, and `/proc` shows the stamp in whole ticks. Read from
//! `/proc` just after the start, the stamp costs an open, a read and a close, and the read
//! waits until the new process has loaded its program (the kernel holds the process's exec
//! lock until then): one in six no-op tasks put its thread to sleep there. So the engine reads
//! the same clock before and after the call instead ([`ticks_now`]): when both readings fall
//! in one tick, the stamp between them is in that tick too ([`between`]); only a start that
//! straddles the end of a tick (a few in a hundred) is read from `/proc` ([`read`]).

use nix::time::{clock_gettime, ClockId};
use std::sync::OnceLock;

/// The boot-time clock now, in the ticks `/proc` counts start times in; `None` where the
/// clock cannot be read.
pub fn ticks_now() -> Option<u64> {
    let now = clock_gettime(ClockId::CLOCK_BOOTTIME).ok()?;
    let nanos = u64::try_from(now.tv_sec())
        .ok()?
        .checked_mul(1_000_000_000)?
        .checked_add(u64::try_from(now.tv_nsec()).ok()?)?;
    Some(nanos / nanos_per_tick()?)
}

/// The start time of a process created between the clock readings `before` and `after`
/// ([`ticks_now`]), when they tell it: both in the same tick.
pub fn between(before: Option<u64>, after: Option<u64>) -> Option<u64> {
    before.filter(|_| before == after)
}

/// When process `pid` started, in clock ticks after boot, read from `/proc`; `None` once it
/// is gone (or where there is no `/proc`).
pub fn read(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state …`: the command may hold spaces and parentheses.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// How long a tick of `/proc`'s start times is (`sysconf(_SC_CLK_TCK)`, 100 a second on
/// Linux), in nanoseconds.
fn nanos_per_tick() -> Option<u64> {
    static NANOS: OnceLock<Option<u64>> = OnceLock::new();
    *NANOS.get_or_init(|| {
        let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok()??;
        u64::try_from(ticks)
            .ok()
            .filter(|&ticks| ticks > 0 && 1_000_000_000 % ticks == 0)
            .map(|ticks| 1_000_000_000 / ticks)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The start time told by the clock readings around a start is the one `/proc` shows, for
    /// every start they tell; most starts are told.
    #[test]
    fn the_clock_around_a_start_tells_its_start_time() {
        let mut children = Vec::new();
        for _ in 0..60 {
            let before = ticks_now();
            let child = std::process::Command::new("sleep")
                .arg("30")
                .spawn()
                .expect("start sleep");
            let after = ticks_now();
            children.push((child, between(before, after)));
        }
        let mut told = 0;
        for (child, started) in &mut children {
            let pid = i32::try_from(child.id()).expect("pid");
            let from_proc = read(pid).expect("the start time in /proc");
            if let Some(started) = *started {
                assert_eq!(started, from_proc, "process {pid}");
                told += 1;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        assert!(
            told >= 30,
            "only {told} of 60 starts were told by the clock"
        );
    }

    #[test]
    fn readings_in_different_ticks_tell_nothing() {
        assert_eq!(between(Some(7), Some(7)), Some(7));
        assert_eq!(between(Some(7), Some(8)), None);
        assert_eq!(between(None, Some(8)), None);
        assert_eq!(between(None, None), None);
    }
}
