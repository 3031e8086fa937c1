//! Creating many issues in one `br create --file` call, and many dependencies in one
//! `br dep import` call, instead of one process per issue and per edge.
//!
//! br's markdown format has no escaping: an issue starts at a line `## TITLE`, sections at
//! lines `### NAME`, and section text is trimmed. So only issues whose text that format
//! carries unchanged go into the file ([`fits_markdown`]); the others are created one by one
//! with their description on stdin. What br printed is matched back to the issues in order
//! ([`match_created`]); an issue br skipped is then created on its own, so the file is an
//! optimisation that can never lose or alter an issue.

use super::issue::NewIssue;
use super::json::Issue;

/// The most issues put in one file. br reads at most 10 MiB of markdown.
pub const MAX_ISSUES_PER_FILE: usize = 500;

/// The most bytes put in one file, well below br's 10 MiB.
pub const MAX_BYTES_PER_FILE: usize = 4 * 1024 * 1024;

/// Whether br's markdown import would store `issue` exactly as it is: a one-line title and a
/// non-empty description without surrounding white space, no carriage return, and no line
/// that would start a new issue or section.
pub fn fits_markdown(issue: &NewIssue) -> bool {
    let title_fits = !issue.title.is_empty()
        && issue.title.trim() == issue.title
        && !issue.title.contains(['\n', '\r']);
    let description_fits = !issue.description.is_empty()
        && issue.description.trim() == issue.description
        && !issue.description.contains('\r')
        && issue
            .description
            .lines()
            .all(|line| !line.starts_with("## ") && !line.starts_with("### "));
    let labels_fit = issue
        .labels
        .iter()
        .all(|label| !label.contains([',', ' ', '\n']));
    title_fits && description_fits && labels_fit
}

/// The markdown file that creates `issues`, each of which [`fits_markdown`].
pub fn markdown(issues: &[&NewIssue]) -> String {
    let mut text = String::new();
    for issue in issues {
        text.push_str(&format!(
            "## {}\n\n### Type\ntask\n\n### Priority\n{}\n\n### Labels\n{}\n\n### Description\n{}\n\n",
            issue.title,
            issue.priority,
            issue.labels.join(", "),
            issue.description
        ));
    }
    text
}

/// Splits `issues` (indices into the caller's list) into groups that each fit one file.
pub fn batches<'a>(issues: &[(usize, &'a NewIssue)]) -> Vec<Vec<(usize, &'a NewIssue)>> {
    let mut batches: Vec<Vec<(usize, &NewIssue)>> = Vec::new();
    let mut bytes = 0;
    for (index, issue) in issues {
        let size = issue.title.len() + issue.description.len() + 200;
        let full = batches
            .last()
            .is_none_or(|b| b.len() >= MAX_ISSUES_PER_FILE || bytes + size > MAX_BYTES_PER_FILE);
        if full {
            batches.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        if let Some(batch) = batches.last_mut() {
            batch.push((*index, *issue));
        }
    }
    batches
}

/// For each issue of the file, in order, the id br created it with, or `None` if br did not
/// create it. br prints the issues it created in file order and skips (with a warning on
/// stderr) those it could not create, so each printed issue is matched to the next issue of
/// the file with the same title and description.
pub fn match_created(wanted: &[&NewIssue], created: &[Issue]) -> Vec<Option<String>> {
    let mut ids = Vec::with_capacity(wanted.len());
    let mut next = created.iter().peekable();
    for issue in wanted {
        let same = next
            .peek()
            .is_some_and(|c| c.title == issue.title && c.description == issue.description);
        if same {
            ids.push(next.next().map(|c| c.id.clone()));
        } else {
            ids.push(None);
        }
    }
    ids
}

/// The JSONL file for `br dep import`: one `blocks` edge a line, `issue_id` waiting for
/// `depends_on_id`.
pub fn deps_jsonl(edges: &[(String, String)]) -> String {
    let mut text = String::new();
    for (child, parent) in edges {
        let line = serde_json::json!({
            "issue_id": child,
            "depends_on_id": parent,
            "type": "blocks",
        });
        text.push_str(&line.to_string());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(title: &str, description: &str) -> NewIssue {
        NewIssue {
            title: title.into(),
            description: description.into(),
            priority: 2,
            labels: vec!["wfc".into(), "wfc-run:r".into()],
        }
    }

    #[test]
    fn only_text_the_format_keeps_goes_into_the_file() {
        assert!(fits_markdown(&issue(
            "-rf title",
            "Command:\n\n```sh\ntrue\n```"
        )));
        assert!(fits_markdown(&issue(
            "t",
            "a line\n#### deep heading\n##no space"
        )));
        for (title, description) in [
            ("t", "text\n## Acceptance criteria\n- x"),
            ("t", "### Labels"),
            ("t", "trailing\n"),
            ("t", " leading"),
            ("t", ""),
            ("t", "crlf\r\nline"),
            (" t", "x"),
            ("two\nlines", "x"),
        ] {
            assert!(
                !fits_markdown(&issue(title, description)),
                "{title:?} {description:?}"
            );
        }
    }

    #[test]
    fn the_file_has_one_section_per_field() {
        let a = issue("-a", "first\nsecond");
        assert_eq!(
            markdown(&[&a]),
            "## -a\n\n### Type\ntask\n\n### Priority\n2\n\n### Labels\nwfc, wfc-run:r\n\n### Description\nfirst\nsecond\n\n"
        );
    }

    #[test]
    fn created_issues_are_matched_in_order_and_gaps_found() {
        let (a, b) = (issue("a", "x"), issue("b", "y"));
        let wanted = [&a, &b, &a];
        let made = |id: &str, title: &str, description: &str| Issue {
            id: id.into(),
            title: title.into(),
            description: description.into(),
            ..Issue::default()
        };
        assert_eq!(
            match_created(&wanted, &[made("t-1", "a", "x"), made("t-3", "a", "x")]),
            [Some("t-1".to_string()), None, Some("t-3".to_string())]
        );
        assert_eq!(match_created(&wanted, &[]), [None, None, None]);
    }

    #[test]
    fn batches_respect_the_limits() {
        let many: Vec<NewIssue> = (0..1_200).map(|i| issue(&format!("t{i}"), "x")).collect();
        let indexed: Vec<(usize, &NewIssue)> = many.iter().enumerate().collect();
        let sizes: Vec<usize> = batches(&indexed).iter().map(Vec::len).collect();
        assert_eq!(sizes, [500, 500, 200]);
    }

    #[test]
    fn edges_are_one_json_object_a_line() {
        assert_eq!(
            deps_jsonl(&[("t-2".into(), "t-1".into())]),
            "{\"depends_on_id\":\"t-1\",\"issue_id\":\"t-2\",\"type\":\"blocks\"}\n"
        );
    }
}
