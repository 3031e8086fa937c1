//! Bounded loops (issue 16): `repeat NAME max N until EXPR { … }` through the real `wfc`
//! binary, real processes and every kind of store: a loop that converges, one that hits its
//! maximum (and is planned again), one whose engine is killed between rounds, and one in a
//! run isolated in git, where each round starts from the work of the round before; and
//! `std/plan-and-implement` with the real Claude Code CLI against the scripted server, its
//! first review asking for changes and its second approving.

use crate::agents::read;
use crate::support::{run_id, task_status, wfc, wfc_with_env, TempDir};
use wfc::backends::SqliteBackend;
use wfc::runtime::TaskBackend;

/// A review loop of at most `max` rounds: `review` approves in the round `approve-at` names
/// (`review#2`, or `never`), taking `pause` seconds first; `fix` runs when it asks for
/// changes; `ship`, after the loop, reads the last round's verdict; `notify` runs when the
/// loop fails. Each task writes its
/// round's id (`$WF_TASK_ID`) when it ends, so the files say which rounds ran, and how often.
fn review_loop(max: u32, pause: &str) -> String {
    format!(
        r#"workflow reviewed {{
  param rounds: int = {max}

  task draft {{
    run = "echo draft"
  }}

  /// Review and fix until the review approves.
  repeat review_loop after draft max rounds until review.output.verdict == "approve" {{
    task review {{
      run    = """
        sleep {pause}
        echo "$WF_TASK_ID" >> reviews.txt
        if [ "$WF_TASK_ID" = "$(cat approve-at)" ]; then verdict=approve; else verdict=changes; fi
        printf '{{"verdict": "%s"}}' "$verdict"
        """
      output: {{ verdict: enum("approve", "changes") }}
    }}

    task fix after review when review.output.verdict == "changes" {{
      run = "echo \"$WF_TASK_ID\" >> fixes.txt"
    }}
  }}

  task ship after review_loop {{
    run = "printf '%s\n' {{{{ review.output.verdict }}}} > shipped.txt"
  }}

  task notify after review_loop (failed) {{
    run = "echo notified > notified.txt"
  }}
}}
"#
    )
}

fn lines(dir: &std::path::Path, name: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join(name))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_loop_that_converges_in_round_two_runs_two_rounds_then_what_waits_for_it() {
    // The same run in each kind of store: they share the replan step that makes a round.
    for backend in ["sqlite", "memory", "beads", "postgres"] {
        let schemas = (backend == "postgres").then(|| crate::postgres::Schemas::new("loops"));
        let dir = match backend {
            "beads" => crate::beads::store("wfc-loops"),
            _ => TempDir::new("wfc-loops"),
        };
        dir.write("approve-at", "review#2");
        dir.write("loop.wf", &review_loop(3, "0"));
        let store = match backend {
            "memory" => "memory:".to_string(),
            "beads" => crate::beads::backend_url(dir.path()),
            "postgres" => schemas.as_ref().expect("schemas").url(),
            _ => format!("sqlite:{}", dir.path().join("state.db").display()),
        };
        let env = [("WFC_BACKEND", store.as_str())];
        let run = wfc_with_env(dir.path(), &["run", "loop.wf"], &env);
        assert_eq!(run.code, 0, "{backend}: {}{}", run.stdout, run.stderr);
        assert_eq!(lines(dir.path(), "reviews.txt"), ["review#1", "review#2"]);
        assert_eq!(
            lines(dir.path(), "fixes.txt"),
            ["fix#1"],
            "{backend}: the approving round's fix is skipped"
        );
        assert_eq!(
            read(dir.path(), "shipped.txt"),
            "approve\n",
            "{backend}: what follows the loop reads its last round"
        );
        if backend == "memory" {
            continue;
        }
        let id = run_id(&run.stdout);
        let status = wfc_with_env(dir.path(), &["status", &id, "--json"], &env);
        let status: serde_json::Value = serde_json::from_str(&status.stdout).expect("JSON");
        let rows: Vec<(String, String)> = status["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .map(|t| {
                (
                    t["key"]["task"].as_str().unwrap_or_default().to_string(),
                    t["state"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let expected = [
            ("draft", "succeeded"),
            ("review#1", "succeeded"),
            ("fix#1", "succeeded"),
            ("review_loop#1", "succeeded"),
            ("review#2", "succeeded"),
            ("fix#2", "skipped"),
            ("review_loop#2", "succeeded"),
            ("ship", "succeeded"),
            ("notify", "skipped"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(rows, expected, "{backend}: the rounds the run expanded to");
        assert_eq!(
            status["loops"],
            serde_json::json!([{"name": "review_loop", "round": 2, "max": 3, "state": "succeeded"}]),
            "{backend}"
        );
        if backend == "sqlite" {
            let text = wfc_with_env(dir.path(), &["status", &id], &env);
            assert!(
                text.stdout
                    .contains("loop review_loop: ended in round 2 of at most 3"),
                "{}",
                text.stdout
            );
            let shown = wfc_with_env(dir.path(), &["show", &id, "review_loop#1"], &env);
            assert!(
                shown.stdout.contains(
                    "`until review#1.output.verdict == \"approve\"` is false after round 1; \
                     round 2 made: review#2, fix#2, review_loop#2"
                ),
                "{}{}",
                shown.stdout,
                shown.stderr
            );
            let shown = wfc_with_env(dir.path(), &["show", &id, "review_loop#2"], &env);
            assert!(
                shown.stdout.contains(
                    "the loop ended in round 2: `until review#2.output.verdict == \"approve\"` holds"
                ),
                "{}",
                shown.stdout
            );
            let graph = wfc_with_env(dir.path(), &["graph", &id], &env);
            for row in ["review#2", "review_loop#2", "fix#2"] {
                assert!(graph.stdout.contains(row), "{}", graph.stdout);
            }
            // The file is unchanged: comparing it with a run whose loop ran two rounds
            // compares it with the first round alone.
            let resumed = wfc_with_env(dir.path(), &["resume", &id], &env);
            let said = format!("{}{}", resumed.stdout, resumed.stderr);
            assert!(
                !said.contains("has changed since the run started"),
                "{said}"
            );
        }
    }
}

#[test]
fn a_loop_is_shown_by_plan_and_graph_as_what_repeats_at_run_time() {
    let dir = TempDir::new("wfc-loops-plan");
    dir.write("loop.wf", &review_loop(3, "0"));
    let planned = wfc(dir.path(), &["plan", "loop.wf"]);
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    for line in [
        "2. review#1  [command]",
        "3. fix#1  [command]",
        "4. review_loop#1  [loop: decides round 1 of at most 3]",
        "   after:   draft, review#1, fix#1",
        "   until:   review#1.output.verdict == \"approve\" (decided when the round has run)",
        "   repeats: review, fix at run time while it is false (round 2 on: review#2, fix#2)",
        "5. ship  [command]",
        "   after:   review_loop#1",
    ] {
        assert!(planned.stdout.contains(line), "{line}\n{}", planned.stdout);
    }
    let graph = wfc(dir.path(), &["graph", "loop.wf"]);
    assert!(
        graph.stdout.contains(
            "review_loop ↻ max rounds<br/>until review.output.verdict == #quot;approve#quot;"
        ),
        "{}",
        graph.stdout
    );
    // A maximum from a parameter is bounded when the plan is made.
    let refused = wfc(dir.path(), &["plan", "loop.wf", "-p", "rounds=0"]);
    assert_ne!(refused.code, 0);
    assert!(
        refused
            .stderr
            .contains("the loop `review_loop` may run 0 rounds; a loop runs 1 to 100"),
        "{}",
        refused.stderr
    );
}

#[test]
fn a_loop_that_never_converges_fails_its_last_decision_and_nothing_after_it_runs() {
    let dir = TempDir::new("wfc-loops-max");
    dir.write("approve-at", "never");
    dir.write("loop.wf", &review_loop(3, "0"));
    let run = wfc(dir.path(), &["run", "loop.wf"]);
    assert_ne!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        lines(dir.path(), "reviews.txt"),
        ["review#1", "review#2", "review#3"],
        "three rounds, no fourth"
    );
    assert_eq!(lines(dir.path(), "fixes.txt"), ["fix#1", "fix#2", "fix#3"]);
    let id = run_id(&run.stdout);
    let last = task_status(dir.path(), &id, "review_loop#3");
    assert_eq!(last["state"], "failed", "{last}");
    assert_eq!(
        last["last_error"],
        "the loop `review_loop` did not converge in 3 rounds: `until review#3.output.verdict == \
         \"approve\"` was still false after round 3"
    );
    assert_eq!(task_status(dir.path(), &id, "ship")["state"], "pending");
    let status = wfc(dir.path(), &["status", &id]);
    assert!(
        status
            .stdout
            .contains("loop review_loop: failed in round 3 of at most 3"),
        "{}",
        status.stdout
    );
    assert!(!dir.path().join("shipped.txt").exists());
    assert_eq!(
        read(dir.path(), "notified.txt"),
        "notified\n",
        "what waits for the loop's failure runs"
    );
    // A decision that made the next round cannot be retried: it would make it again.
    let refused = wfc(dir.path(), &["retry", &id, "review_loop#1", "--from"]);
    assert_ne!(refused.code, 0, "{}", refused.stdout);
    assert!(
        refused.stderr.contains(
            "`review_loop#1` made its loop's next round, and a retry cannot take a round back yet"
        ),
        "{}",
        refused.stderr
    );
    // Planned again from the file, which holds the first round only, the loop decides
    // again from round 1 and makes its later rounds anew: now round 2 approves.
    dir.write("approve-at", "review#2");
    let replanned = wfc(dir.path(), &["resume", &id, "--replan"]);
    assert_eq!(
        replanned.code, 0,
        "{}{}",
        replanned.stdout, replanned.stderr
    );
    assert_eq!(
        lines(dir.path(), "reviews.txt"),
        ["review#1", "review#2", "review#3", "review#2"],
        "round 1 kept, round 2 made and run again"
    );
    assert_eq!(read(dir.path(), "shipped.txt"), "approve\n");
    assert_eq!(
        task_status(dir.path(), &id, "review_loop#2")["state"],
        "succeeded"
    );
}

#[test]
fn a_run_killed_between_rounds_resumes_with_each_round_once() {
    let dir = TempDir::new("wfc-loops-kill");
    dir.write("approve-at", "review#3");
    // Each review takes long enough that the killed engine's review of round 2 has not
    // ended when the files are read after the kill.
    dir.write("loop.wf", &review_loop(3, "2"));
    // Kill -9 as soon as round 2 is stored, before its review has ended.
    let seen = crate::support::kill_run_once_task_exists(
        dir.path(),
        "loop.wf",
        "review#2",
        std::time::Duration::from_secs(30),
    );
    let run = seen.expect("round 2 was never made");
    assert_eq!(
        lines(dir.path(), "reviews.txt"),
        ["review#1"],
        "killed before round 2's review ended"
    );
    // The lease of a task the killed engine held runs out; then the run resumes.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    let resumed = wfc(dir.path(), &["resume", &run]);
    assert_eq!(resumed.code, 0, "{}{}", resumed.stdout, resumed.stderr);
    // An attempt is at least once: the killed engine's review of round 2 runs in a process
    // group of its own, and if it ends before the resumed engine stops it, it runs again.
    // What happens once is the round: made once, run in order, none skipped.
    let mut reviews = lines(dir.path(), "reviews.txt");
    reviews.dedup();
    assert_eq!(
        reviews,
        ["review#1", "review#2", "review#3"],
        "no round was made twice, none was skipped"
    );
    assert_eq!(lines(dir.path(), "fixes.txt"), ["fix#1", "fix#2"]);
    assert_eq!(read(dir.path(), "shipped.txt"), "approve\n");
    let store = SqliteBackend::open(&dir.path().join(".wfc/state.db")).expect("store");
    let ids: Vec<String> = store
        .get_run(&run)
        .expect("run")
        .plan
        .tasks
        .iter()
        .map(|t| t.id.clone())
        .collect();
    assert_eq!(
        ids,
        [
            "draft",
            "review#1",
            "fix#1",
            "review_loop#1",
            "review#2",
            "fix#2",
            "review_loop#2",
            "review#3",
            "fix#3",
            "review_loop#3",
            "ship",
            "notify"
        ],
        "each round made once"
    );
}

#[test]
fn in_a_run_isolated_in_git_each_round_starts_from_the_round_before_it() {
    // `fix` counts the rounds in a file of the work; the review approves once two fixes are
    // in it, which only happens when round 2's worktree holds round 1's fix.
    let workflow = r#"workflow w {
  repeat polish max 3 until review.output.ok {
    task review {
      run    = "n=$(cat count.txt 2>/dev/null || echo 0); if [ \"$n\" -ge 2 ]; then echo '{\"ok\": true}'; else echo '{\"ok\": false}'; fi"
      output: { ok: bool }
    }
    task fix after review when !review.output.ok {
      run = "n=$(cat count.txt 2>/dev/null || echo 0); echo $((n+1)) > count.txt; echo \"$WF_TASK_ID\" >> fixes.txt"
    }
  }
  task ship after polish {
    run = "cat count.txt fixes.txt > shipped.txt"
  }
}
"#;
    let (_dir, path) = crate::isolation_run::repo("wfc-loops-git", workflow);
    let run = wfc(&path, &["run", "w.wf", "--isolation", "git"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let id = run_id(&run.stdout);
    assert_eq!(task_status(&path, &id, "fix#3")["state"], "skipped");
    assert_eq!(
        crate::support::git(&path, &["show", &format!("wfc/{id}:shipped.txt")]),
        "2\nfix#1\nfix#2\n",
        "the result holds every round's work"
    );
}

#[test]
fn std_plan_and_implement_reviews_until_approved_with_claude_code() {
    use crate::model_server::{ModelServer, Reply, Rule};
    use serde_json::json;
    let server = ModelServer::start(vec![
        Rule::new(
            "Plan the change `search`",
            vec![
                Reply::tool("StructuredOutput", json!({"steps": ["alpha"]})),
                Reply::text("One step."),
            ],
        ),
        Rule::new("Implement one step", vec![Reply::text("implemented")]),
        // The first review asks for changes, every later one approves.
        Rule::new(
            "as a whole: every step of the plan",
            vec![
                Reply::queue(
                    vec![Reply::tool(
                        "StructuredOutput",
                        json!({"verdict": "changes", "findings": ["[[finding]] add a test"]}),
                    )],
                    Reply::tool(
                        "StructuredOutput",
                        json!({"verdict": "approve", "findings": []}),
                    ),
                ),
                Reply::text("Reviewed."),
            ],
        ),
        Rule::new("asked for changes", vec![Reply::text("fixed")]),
    ]);
    let (_dir, path) = crate::isolation_run::repo("wfc-loops-std", "");
    let (code, output) = crate::agents::wfc(
        &path,
        Some(&server),
        &[
            "run",
            "std/plan-and-implement",
            "-p",
            "name=search",
            "-p",
            "goal=Add search.",
        ],
    );
    assert_eq!(code, 0, "{output}");
    let (_, tasks) = crate::agents::only_run(&path);
    let states: Vec<(String, String)> = tasks
        .iter()
        .map(|t| (t.key.task.clone(), t.state.to_string()))
        .collect();
    for (id, state) in [
        ("review#1", "succeeded"),
        ("fix#1", "succeeded"),
        ("review_loop#1", "succeeded"),
        ("review#2", "succeeded"),
        ("fix#2", "skipped"),
        ("review_loop#2", "succeeded"),
    ] {
        assert!(
            states.contains(&(id.to_string(), state.to_string())),
            "{id} {state} in {states:?}"
        );
    }
    assert!(!states.iter().any(|(id, _)| id == "review#3"), "{states:?}");
    let requests: Vec<String> = server
        .session_requests()
        .iter()
        .map(serde_json::Value::to_string)
        .collect();
    let fixes: Vec<&String> = requests
        .iter()
        .filter(|r| r.contains("asked for changes"))
        .collect();
    assert_eq!(fixes.len(), 1, "one fix session");
    assert!(
        fixes[0].contains("[[finding]] add a test"),
        "the fix is told the finding"
    );
}
