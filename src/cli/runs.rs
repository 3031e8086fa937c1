//! `wfc runs [--state STATE…] [--json]`: the runs in the store, newest first, optionally only
//! those in some states; `wfc runs --prune OLDER_THAN [--dry-run]`: deletes the runs that
//! ended longer ago than that, with everything they left (rows, events, git worktrees and
//! refs, transcripts).

use super::gc;
use super::human::{self, Cell, Paint, Tone};
use super::output::Output;
use super::store::{self, BackendArgs, Store};
use crate::backends::Access;
use crate::runtime::{now_millis, this_host, transcript, Millis, RunState, RunSummary};
use std::path::Path;
use std::process::ExitCode;

/// The states `--state` picks runs by: a run's state, or `ended` for every state but running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StateFilter {
    /// Runs with tasks still to run (or waiting for a person).
    Running,
    /// Runs whose every task succeeded.
    Succeeded,
    /// Runs that stopped because something failed.
    Failed,
    /// Runs stopped by `wfc cancel`.
    Cancelled,
    /// Every run that is not running.
    Ended,
}

impl StateFilter {
    /// Whether a run in `state` is picked.
    fn picks(self, state: RunState) -> bool {
        match self {
            StateFilter::Running => state == RunState::Running,
            StateFilter::Succeeded => state == RunState::Succeeded,
            StateFilter::Failed => state == RunState::Failed,
            StateFilter::Cancelled => state == RunState::Cancelled,
            StateFilter::Ended => state != RunState::Running,
        }
    }
}

/// How long ago a run must have ended for `--prune` to delete it: `30s`, `15m`, `12h`, `7d`
/// or `2w`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Age(Millis);

impl Age {
    /// The age in milliseconds, for commands that pick runs newer than it (`wfc stats --since`).
    pub fn millis(self) -> Millis {
        self.0
    }
}

impl std::str::FromStr for Age {
    type Err = String;

    fn from_str(text: &str) -> Result<Age, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let seconds: i64 = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            _ => {
                return Err(format!(
                    "`{text}` is not an age: write a number and a unit, s, m, h, d or w \
                     (`7d`, `12h`)"
                ))
            }
        };
        let number: i64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not an age: it needs a number before `{unit}`"))?;
        number
            .checked_mul(seconds * 1000)
            .map(Age)
            .ok_or_else(|| format!("`{text}` is too long an age"))
    }
}

/// What `wfc runs` was asked to do.
pub struct RunsArgs {
    /// Only runs in one of these states; every run when empty.
    pub states: Vec<StateFilter>,
    /// `--prune`: delete the (picked) runs that ended longer ago than this.
    pub prune: Option<Age>,
    /// `--dry-run`: only say what `--prune` would delete.
    pub dry_run: bool,
    /// `--json`.
    pub json: bool,
}

/// Runs `wfc runs`.
pub fn run(args: &BackendArgs, runs_args: &RunsArgs, output: &Output) -> ExitCode {
    let access = match runs_args.prune {
        Some(_) if !runs_args.dry_run => Access::Write,
        _ => Access::Read,
    };
    let store = match Store::open(args, access, output) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let runs = match store.backend.list_runs() {
        Ok(runs) => runs,
        Err(error) => return store::report(&error, output),
    };
    let picked: Vec<RunSummary> = runs
        .into_iter()
        .filter(|run| {
            runs_args.states.is_empty() || runs_args.states.iter().any(|s| s.picks(run.state))
        })
        .collect();
    if let Some(age) = runs_args.prune {
        return prune(&store, picked, age, runs_args.dry_run, output);
    }
    if runs_args.json {
        output.stdout_line(&serde_json::to_string_pretty(&picked).unwrap_or_default());
    } else if picked.is_empty() && runs_args.states.is_empty() {
        output.error(&store.no_runs_yet());
    } else if picked.is_empty() {
        output.error(&format!(
            "no run in {} is in the states asked for",
            store.place
        ));
    } else {
        for line in to_text(&picked, now_millis(), human::width(), Paint::stdout()) {
            output.stdout_line(&line);
        }
    }
    ExitCode::SUCCESS
}

/// Deletes the runs of `runs` that ended more than `age` ago (only lists them when `dry_run`);
/// a running run is never deleted.
fn prune(
    store: &Store,
    runs: Vec<RunSummary>,
    age: Age,
    dry_run: bool,
    output: &Output,
) -> ExitCode {
    let now = now_millis();
    let old: Vec<RunSummary> = runs
        .into_iter()
        .filter(|run| run.state != RunState::Running)
        .filter(|run| now - run.finished_at.unwrap_or(run.created_at) > age.0)
        .collect();
    let mut removed = 0;
    let mut failed = false;
    for summary in &old {
        let ended = human::ago(summary.finished_at.unwrap_or(summary.created_at), now);
        let about = format!("run {} ({}, ended {ended})", summary.id, summary.state);
        if dry_run {
            output.stdout_line(&format!("would remove {about}"));
            continue;
        }
        match remove_run(store, &summary.id) {
            Ok(work) => {
                removed += 1;
                output.stdout_line(&format!("removed {about}{work}"));
            }
            Err(why) => {
                failed = true;
                output.error(&format!("error: kept {about}: {why}"));
            }
        }
    }
    if dry_run {
        output.stdout_line(&format!(
            "dry run: {} would be removed; nothing was",
            human::plural(old.len(), "run")
        ));
    } else {
        output.stdout_line(&format!("removed {}", human::plural(removed, "run")));
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Deletes run `id` with what it left: its git worktrees and refs, its transcripts, then its
/// rows and events. Its files go first, so a run whose files cannot be removed stays listed
/// and `--prune` can try it again. Returns what went besides the rows, as words to append.
fn remove_run(store: &Store, id: &str) -> Result<String, String> {
    let record = store.backend.get_run(id).map_err(|e| e.to_string())?;
    let mut parts = Vec::new();
    if let Some(place) = &record.place {
        // Worktrees and refs live in the run's repository, on the machine it ran on.
        if place.host != this_host() {
            return Err(format!(
                "it ran on {}, where its worktrees and refs are; prune it there",
                place.host
            ));
        }
        if !record.plan.isolation.is_none() && Path::new(&place.workspace).is_dir() {
            let collected = gc::remove_run_work(&*store.backend, &record)?;
            parts.push(format!(
                "{} worktree(s), {} ref(s)",
                collected.worktrees, collected.refs
            ));
        }
    }
    if let Some(place) = &record.place {
        let workspace = Path::new(&place.workspace);
        if transcript::run_transcripts(workspace, &record.id).is_dir() {
            transcript::remove_run_transcripts(workspace, &record.id)
                .map_err(|e| format!("cannot remove its transcripts: {e}"))?;
            parts.push("its transcripts".to_string());
        }
    }
    store
        .backend
        .delete_run(id)
        .map_err(|error| match error.hint {
            Some(hint) => format!("{} ({hint})", error.message),
            None => error.message,
        })?;
    Ok(if parts.is_empty() {
        String::new()
    } else {
        format!(" with {}", parts.join(" and "))
    })
}

/// The table `wfc runs` prints.
fn to_text(runs: &[RunSummary], now: Millis, width: usize, paint: Paint) -> Vec<String> {
    let rows: Vec<Vec<Cell>> = runs
        .iter()
        .map(|run| {
            vec![
                Cell::plain(run.id.clone()),
                Cell::plain(run.workflow.clone()),
                Cell::toned(run.state.as_str(), Tone::run(run.state)),
                Cell::plain(format!("{}/{}", run.succeeded, run.tasks)),
                Cell::plain(human::ago(run.created_at, now)),
                Cell::plain(run.source.clone()),
            ]
        })
        .collect();
    human::table(
        &["RUN", "WORKFLOW", "STATE", "TASKS", "CREATED", "SOURCE"],
        &rows,
        width,
        paint,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_have_a_number_and_a_unit() {
        assert_eq!("7d".parse::<Age>(), Ok(Age(7 * 86_400_000)));
        assert_eq!("12h".parse::<Age>(), Ok(Age(12 * 3_600_000)));
        assert_eq!("2w".parse::<Age>(), Ok(Age(14 * 86_400_000)));
        assert_eq!("0s".parse::<Age>(), Ok(Age(0)));
        assert!("7".parse::<Age>().is_err());
        assert!("d".parse::<Age>().is_err());
        assert!("7 days".parse::<Age>().is_err());
        assert!("99999999999999999d".parse::<Age>().is_err());
    }

    #[test]
    fn ended_picks_every_state_but_running() {
        assert!(StateFilter::Ended.picks(RunState::Failed));
        assert!(!StateFilter::Ended.picks(RunState::Running));
        assert!(StateFilter::Failed.picks(RunState::Failed));
        assert!(!StateFilter::Failed.picks(RunState::Cancelled));
    }
}
