//! The argument lists of every beads command wfc runs, for bd and br.
//!
//! Every value is one argument, in the `--flag=VALUE` form, so a value that starts with `-`
//! is never read as an option; descriptions go on stdin. Issue ids are checked
//! ([`super::json::valid_issue_id`]) before they are used, so they cannot look like options.
//!
//! Where the CLIs differ:
//!
//! - Dependencies: only `dep add CHILD PARENT` (CHILD depends on PARENT) is used, as
//!   `create --deps blocks:X` means opposite things in the two.
//! - The description from stdin: `--body-file=-` in bd, `--description-file=-` in br.
//! - `ready` stops at 100 issues in bd unless `--limit=0`; br has no limit by default.
//! - Moving a task another worker held: br refuses to update a blocked issue without
//!   `--force`; bd has no such check (and no such flag on `update`).
//! - Batches: br creates many issues from one markdown file (`create --file`) and imports
//!   many dependencies from one JSONL file (`dep import`); bd is given one call each.

use super::cli::Dialect;
use super::issue::NewIssue;

/// The type of every issue wfc creates. Not `gate`, which bd leaves out of `ready`.
const ISSUE_TYPE: &str = "task";

fn json(mut args: Vec<String>) -> Vec<String> {
    args.push("--json".into());
    args
}

/// `create` of one issue, and what goes on its stdin (the description).
pub fn create(dialect: Dialect, issue: &NewIssue) -> (Vec<String>, Vec<u8>) {
    let description = match dialect {
        Dialect::Bd => "--body-file=-",
        Dialect::Br => "--description-file=-",
    };
    let args = vec![
        "create".into(),
        format!("--title={}", issue.title),
        format!("--type={ISSUE_TYPE}"),
        format!("--priority={}", issue.priority),
        format!("--labels={}", issue.labels.join(",")),
        description.into(),
    ];
    (json(args), issue.description.as_bytes().to_vec())
}

/// `create --file`: the issues of a markdown file, in one call (br).
pub fn create_from_file(path: &str) -> Vec<String> {
    json(vec!["create".into(), format!("--file={path}")])
}

/// `dep add`: `child` waits for `parent` (a `blocks` edge).
pub fn dep_add(child: &str, parent: &str) -> Vec<String> {
    json(vec![
        "dep".into(),
        "add".into(),
        child.into(),
        parent.into(),
        "--type=blocks".into(),
    ])
}

/// `dep import`: the edges of a JSONL file, in one call (br).
pub fn dep_import(path: &str) -> Vec<String> {
    json(vec!["dep".into(), "import".into(), path.into()])
}

/// `ready`: every ready issue with `label`, without a limit.
pub fn ready(label: &str) -> Vec<String> {
    json(vec![
        "ready".into(),
        format!("--label={label}"),
        "--limit=0".into(),
    ])
}

/// `update --claim`: the atomic claim, as `actor`.
pub fn claim(issue: &str, actor: &str) -> Vec<String> {
    json(vec![
        "update".into(),
        issue.into(),
        "--claim".into(),
        format!("--actor={actor}"),
    ])
}

/// `update`: gives an issue whose holder stopped renewing its lease to `actor`. Not a
/// compare-and-swap in beads; the run's sidecar lock decides who takes it over.
pub fn take_over(dialect: Dialect, issue: &str, actor: &str) -> Vec<String> {
    let mut args = vec![
        "update".into(),
        issue.into(),
        "--status=in_progress".into(),
        format!("--assignee={actor}"),
        format!("--actor={actor}"),
    ];
    if dialect == Dialect::Br {
        args.push("--force".into());
    }
    json(args)
}

/// `update`: sets `status` (`open` to be claimed again, `blocked` for a task that failed for
/// good), clears the assignee and appends `note` to the notes.
pub fn set_status(issue: &str, status: &str, note: &str, actor: &str) -> Vec<String> {
    json(vec![
        "update".into(),
        issue.into(),
        format!("--status={status}"),
        "--assignee=".into(),
        format!("--append-notes={note}"),
        format!("--actor={actor}"),
    ])
}

/// `update`: clears the assignee of a gate that now waits for a person, with a note saying
/// how to answer it.
pub fn unassign(issue: &str, note: &str, actor: &str) -> Vec<String> {
    json(vec![
        "update".into(),
        issue.into(),
        "--assignee=".into(),
        format!("--append-notes={note}"),
        format!("--actor={actor}"),
    ])
}

/// `update`: puts `issues` back to `open` with no assignee (reopening closed ones).
pub fn reopen(issues: &[String], actor: &str) -> Vec<String> {
    let mut args = vec!["update".to_string()];
    args.extend(issues.iter().cloned());
    args.push("--status=open".into());
    args.push("--assignee=".into());
    args.push(format!("--actor={actor}"));
    json(args)
}

/// `close`: closes `issues` with `reason`, even if beads thinks something still blocks them
/// (wfc decided they are done).
pub fn close(issues: &[String], reason: &str, actor: &str) -> Vec<String> {
    let mut args = vec!["close".to_string()];
    args.extend(issues.iter().cloned());
    args.push(format!("--reason={reason}"));
    args.push("--force".into());
    args.push(format!("--actor={actor}"));
    json(args)
}

/// `show`: one issue.
pub fn show(issue: &str) -> Vec<String> {
    json(vec!["show".into(), issue.into()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_single_arguments_in_flag_equals_form() {
        let issue = NewIssue {
            title: "-rf --force $(rm -rf /)".into(),
            description: "line 1\n\"two\" $(x) `y`\n".into(),
            priority: 0,
            labels: vec!["wfc".into(), "wfc-run:r1".into()],
        };
        let (args, stdin) = create(Dialect::Br, &issue);
        assert_eq!(
            args,
            [
                "create",
                "--title=-rf --force $(rm -rf /)",
                "--type=task",
                "--priority=0",
                "--labels=wfc,wfc-run:r1",
                "--description-file=-",
                "--json"
            ]
        );
        assert_eq!(stdin, issue.description.as_bytes());
        let (args, _) = create(Dialect::Bd, &issue);
        assert!(args.contains(&"--body-file=-".to_string()));
    }

    #[test]
    fn dependencies_are_child_then_parent() {
        assert_eq!(
            dep_add("bd-2", "bd-1"),
            ["dep", "add", "bd-2", "bd-1", "--type=blocks", "--json"]
        );
    }

    #[test]
    fn claims_take_overs_and_closes() {
        assert_eq!(
            claim("t-1", "host:1:2"),
            ["update", "t-1", "--claim", "--actor=host:1:2", "--json"]
        );
        assert!(take_over(Dialect::Br, "t-1", "w").contains(&"--force".to_string()));
        assert!(!take_over(Dialect::Bd, "t-1", "w").contains(&"--force".to_string()));
        assert_eq!(
            close(&["t-1".into(), "t-2".into()], "-done\nsecond line", "w"),
            [
                "close",
                "t-1",
                "t-2",
                "--reason=-done\nsecond line",
                "--force",
                "--actor=w",
                "--json"
            ]
        );
        assert_eq!(
            ready("wfc-run:r")[2],
            "--limit=0",
            "bd stops at 100 without it"
        );
    }
}
