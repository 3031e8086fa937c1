//! Chained claims: a success claims the next task of its chain in the same step of the store,
//! as `make` goes on down a chain, but never ahead of a more urgent task the engine saw
//! waiting, and a stopped engine gives such a claim back like any other.

use crate::lifecycle::{stop_and_resume, wfc, write};
use crate::support::TempDir;
use std::path::Path;
use wfc::backends::SqliteBackend;
use wfc::runtime::TaskBackend;

/// The tasks of the only run of `dir`, in the order their attempts started.
fn started_in_order(dir: &Path) -> Vec<String> {
    let store = SqliteBackend::open(&dir.join(".wfc/state.db")).expect("the store exists");
    let runs = store.list_runs().expect("runs");
    assert_eq!(runs.len(), 1, "one run");
    store
        .read_events(&runs[0].id, 0, 1_000)
        .expect("events")
        .into_iter()
        .filter(|event| event.kind == "task_started")
        .filter_map(|event| event.task)
        .collect()
}

/// `first` and `other` are ready at once; `next` waits for `first`, with priority
/// `next_priority` (2, the default, is `first`'s and `other`'s). One task at a time.
fn run_with_next_priority(next_priority: u8) -> Vec<String> {
    let dir = TempDir::new("wfc-chain-order");
    write(
        dir.path(),
        "order.wf",
        &format!(
            "workflow order {{\n  task first {{\n    run = \"true\"\n  }}\n\n  task other {{\n    run = \"true\"\n  }}\n\n  task next after first {{\n    priority = {next_priority}\n    run = \"true\"\n  }}\n}}\n"
        ),
    );
    let (code, stdout, stderr) = wfc(dir.path(), &["run", "order.wf", "-j", "1"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    started_in_order(dir.path())
}

#[test]
fn a_success_goes_on_down_its_chain_but_not_past_a_more_urgent_task() {
    // Of the same priority and run: the next task of the chain comes before `other`, which
    // the look that took `first` saw waiting, as `make` goes depth first (a look would have
    // taken `other`, which comes first in the plan).
    assert_eq!(run_with_next_priority(2), ["first", "next", "other"]);
    // Less urgent than `other`: the engine looks again instead, and `other` goes first.
    assert_eq!(run_with_next_priority(4), ["first", "other", "next"]);
}

#[test]
fn a_stopped_engine_gives_back_the_task_its_chain_claimed() {
    let dir = TempDir::new("wfc-chain-stop");
    write(
        dir.path(),
        "pair.wf",
        "workflow pair {\n  task first {\n    run = \"true\"\n  }\n\n  task second after first {\n    run = \"touch started; test -f go || sleep 1000\"\n  }\n}\n",
    );
    // `second` is claimed with `first`'s success; the engine is stopped while it runs.
    stop_and_resume(dir.path(), &["run", "pair.wf"], "second");
}
