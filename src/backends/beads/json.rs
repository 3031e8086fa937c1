//! Reading what the beads CLIs print with `--json`, in the shapes both of them use:
//!
//! - `create --json`: one issue object (bd injects `schema_version`); `br create --file`
//!   prints an array, or `{created, warnings}` when there are capacity warnings.
//! - `show --json`: an array, even for one id (both).
//! - `list --json`: a bare array in bd, `{issues, total, limit, offset, has_more}` in br.
//! - `ready --json`: a bare array (both).
//! - bd with `BD_JSON_ENVELOPE=1` wraps everything as `{schema_version, data}`; wfc clears
//!   that variable, but an envelope is still unwrapped.
//! - Errors: br prints `{"error": {"code", "message", "context": {"field", …}}}` on stdout;
//!   bd prints `{"error": "…", "hint": "…"}` or plain `Error …` lines on stderr.

use super::cli::{Dialect, Output};
use serde_json::Value;

/// The fields of an issue wfc reads back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Issue {
    /// The issue's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its description.
    pub description: String,
    /// `open`, `in_progress`, `blocked`, `closed`, …
    pub status: String,
    /// Who holds it, if anyone.
    pub assignee: Option<String>,
    /// Why it was closed.
    pub close_reason: Option<String>,
    /// Its labels.
    pub labels: Vec<String>,
}

/// Why output could not be read.
pub type ParseError = String;

/// Whether `id` looks like a beads issue id: it is later passed back as an argument, so it
/// must not look like an option and must hold nothing a person could misread.
pub fn valid_issue_id(id: &str) -> bool {
    id.len() <= 200
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
}

fn parse(text: &str) -> Result<Value, ParseError> {
    let value: Value = serde_json::from_str(text.trim()).map_err(|error| {
        let start: String = text.trim().chars().take(200).collect();
        format!("the output is not JSON ({error}): `{start}`")
    })?;
    Ok(unwrap_envelope(value))
}

/// `{schema_version, data}` → `data`.
fn unwrap_envelope(value: Value) -> Value {
    match value {
        Value::Object(mut map)
            if map.contains_key("data") && map.contains_key("schema_version") =>
        {
            map.remove("data").unwrap_or(Value::Null)
        }
        other => other,
    }
}

fn issue(value: &Value) -> Result<Issue, ParseError> {
    let object = value
        .as_object()
        .ok_or_else(|| format!("expected an issue object, found `{value}`"))?;
    let id = object
        .get("id")
        .and_then(Value::as_str)
        .ok_or("an issue without an `id`")?;
    if !valid_issue_id(id) {
        return Err(format!("`{id}` is not an issue id wfc can use"));
    }
    let text = |name: &str| object.get(name).and_then(Value::as_str).map(str::to_string);
    Ok(Issue {
        id: id.to_string(),
        title: text("title").unwrap_or_default(),
        description: text("description").unwrap_or_default(),
        status: text("status").unwrap_or_default(),
        assignee: text("assignee").filter(|a| !a.is_empty()),
        close_reason: text("close_reason"),
        labels: object
            .get("labels")
            .and_then(Value::as_array)
            .map(|labels| {
                labels
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// A list of issues: a bare array, or an object holding one under `issues`, `created` or
/// `data`.
fn issue_array(value: &Value) -> Result<Vec<Issue>, ParseError> {
    let items = match value {
        Value::Array(items) => items,
        Value::Object(map) => ["issues", "created", "data"]
            .iter()
            .find_map(|key| map.get(*key).and_then(Value::as_array))
            .ok_or_else(|| {
                let keys: Vec<&str> = map.keys().map(String::as_str).collect();
                format!("expected a list of issues, found an object with {keys:?}")
            })?,
        other => return Err(format!("expected a list of issues, found `{other}`")),
    };
    items.iter().map(issue).collect()
}

/// The issue `create --json` printed.
pub fn created(stdout: &str) -> Result<Issue, ParseError> {
    match parse(stdout)? {
        Value::Array(items) if items.len() == 1 => issue(&items[0]),
        value @ Value::Object(_) => issue(&value),
        other => Err(format!("expected the created issue, found `{other}`")),
    }
}

/// The issues `create --file --json` printed, in the order they were created.
pub fn created_many(stdout: &str) -> Result<Vec<Issue>, ParseError> {
    issue_array(&parse(stdout)?)
}

/// The issues `list --json`, `ready --json` or `show --json` printed.
pub fn issues(stdout: &str) -> Result<Vec<Issue>, ParseError> {
    issue_array(&parse(stdout)?)
}

/// The one issue `show ID --json` printed.
pub fn shown(stdout: &str) -> Result<Issue, ParseError> {
    let mut all = issues(stdout)?;
    match all.len() {
        1 => Ok(all.remove(0)),
        n => Err(format!("expected one issue, found {n}")),
    }
}

/// Tells a lost claim (exit code non-zero, the CLI refused the claim) from every other
/// failure, which the caller reports as an error.
pub fn claim_refused(dialect: Dialect, output: &Output) -> Option<String> {
    match dialect {
        Dialect::Br => {
            // br: exit 4, `{"error": {"code": "VALIDATION_FAILED", "context": {"field": "claim"}}}`.
            let value = parse(&output.stdout).ok()?;
            let error = value.get("error")?;
            let field = error.get("context")?.get("field")?.as_str()?;
            (field == "claim").then(|| error_message(output))
        }
        Dialect::Bd => {
            // bd: exit 1, `Error claiming ID: issue already claimed …` or `… not claimable`.
            let text = format!("{}\n{}", output.stderr, output.stdout);
            let refused = text.lines().any(|line| {
                line.contains("Error claiming")
                    || line.contains("already claimed")
                    || line.contains("not claimable")
            });
            refused.then(|| error_message(output))
        }
    }
}

/// The error message a failed call printed: br's and bd's JSON error objects, else the last
/// lines of stderr, else of stdout.
pub fn error_message(output: &Output) -> String {
    for text in [&output.stdout, &output.stderr] {
        if let Ok(value) = parse(text) {
            if let Some(error) = value.get("error") {
                let message = error
                    .get("message")
                    .and_then(Value::as_str)
                    .or_else(|| error.as_str());
                if let Some(message) = message {
                    return message.to_string();
                }
            }
        }
    }
    let text = if output.stderr.trim().is_empty() {
        &output.stdout
    } else {
        &output.stderr
    };
    let lines: Vec<&str> = text.trim().lines().collect();
    if lines.is_empty() {
        return "it printed nothing".to_string();
    }
    lines[lines.len().saturating_sub(5)..].join("\n")
}

/// Whether a failed `close` only found the issues closed already (br exits 3 with
/// `NOTHING_TO_DO` and every issue `skipped` as `already closed`).
pub fn only_already_closed(output: &Output) -> bool {
    // br 0.7.6 prints what it did first, `{"closed": […], "skipped": [{"id", "reason"}]}`, and
    // exits 3 when it skipped any (its error's hint then says "already closed or not found",
    // whatever the reason was): every skipped issue must be one that was closed already.
    let first = output.stdout.lines().next().unwrap_or_default();
    if let Ok(report) = serde_json::from_str::<serde_json::Value>(first) {
        if let Some(skipped) = report.get("skipped").and_then(serde_json::Value::as_array) {
            return skipped.iter().all(|issue| {
                issue.get("reason").and_then(serde_json::Value::as_str) == Some("already closed")
            });
        }
    }
    let text = format!("{}{}", output.stdout, output.stderr);
    text.contains("already closed")
        && !text.contains("not found")
        && (text.contains("NOTHING_TO_DO") || text.contains("skipped"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(code: i32, stdout: &str, stderr: &str) -> Output {
        Output {
            code,
            stdout: stdout.to_string(),
            stderr: stderr.to_string(),
        }
    }

    #[test]
    fn a_close_that_skipped_only_closed_issues_did_its_work() {
        // br 0.7.6, as printed by the real br closing an open and a closed issue.
        let partly = out(
            3,
            "{\"closed\":[{\"id\":\"t-hgc\",\"status\":\"closed\"}],\"skipped\":[{\"id\":\"t-ez4\",\"reason\":\"already closed\"}]}\n{\"error\":{\"code\":\"CLOSE_INCOMPLETE\",\"hint\":\"Skipped issue(s) were already closed or not found.\"}}",
            "",
        );
        assert!(only_already_closed(&partly));
        let missing = out(
            3,
            "{\"closed\":[],\"skipped\":[{\"id\":\"t-zzz\",\"reason\":\"not found\"}]}",
            "",
        );
        assert!(!only_already_closed(&missing));
    }

    #[test]
    fn bd_and_br_create_output_gives_the_id() {
        // bd 1.0.5: one object with `schema_version` injected (beads.md §1.2).
        let bd = r#"{"id":"bd-a3f2","title":"T","status":"open","priority":2,"issue_type":"task","schema_version":1}"#;
        assert_eq!(created(bd).map(|i| i.id), Ok("bd-a3f2".to_string()));
        // br 0.7.6, as printed by the real br.
        let br = r#"{"id":"t-zu4","title":"-dash title","description":"line one\n","status":"open","priority":1,"issue_type":"task","labels":["wfc","wfc-run:r1"]}"#;
        let issue = created(br).expect("br");
        assert_eq!(
            (issue.id.as_str(), issue.title.as_str(), issue.labels.len()),
            ("t-zu4", "-dash title", 2)
        );
        // bd with BD_JSON_ENVELOPE=1.
        let enveloped = r#"{"schema_version":1,"data":{"id":"bd-1","title":"T"}}"#;
        assert_eq!(created(enveloped).map(|i| i.id), Ok("bd-1".to_string()));
        assert!(created("Created issue bd-1").is_err());
        assert!(
            created(r#"{"id":"--force"}"#).is_err(),
            "an id that looks like an option"
        );
    }

    #[test]
    fn list_is_an_array_in_bd_and_an_object_in_br() {
        let bd = r#"[{"id":"bd-1","title":"a","status":"open","dependency_count":0},{"id":"bd-2","title":"b","status":"closed","close_reason":"done"}]"#;
        let br = r#"{"issues":[{"id":"t-1","title":"a","status":"open"}],"total":1,"limit":0,"offset":0,"has_more":false}"#;
        let bd = issues(bd).expect("bd");
        assert_eq!(bd.len(), 2);
        assert_eq!(bd[1].close_reason.as_deref(), Some("done"));
        assert_eq!(issues(br).expect("br")[0].id, "t-1");
        let bulk = r#"{"created":[{"id":"t-2","title":"x"}],"warnings":[{"kind":"capacity"}]}"#;
        assert_eq!(created_many(bulk).expect("bulk")[0].id, "t-2");
        assert!(issues(r#"{"total":0}"#).is_err());
    }

    #[test]
    fn show_is_an_array_even_for_one_id() {
        let shown_bd = r#"[{"id":"bd-9","title":"T","description":"d","status":"in_progress","assignee":"w1","labels":["wfc"],"dependencies":[{"id":"bd-8","dependency_type":"blocks"}],"schema_version":1}]"#;
        let issue = shown(shown_bd).expect("show");
        assert_eq!(
            (issue.status.as_str(), issue.assignee.as_deref()),
            ("in_progress", Some("w1"))
        );
        assert!(shown("[]").is_err());
    }

    #[test]
    fn refused_claims_are_told_from_failures() {
        let br_lost = out(
            4,
            r#"{"error":{"code":"VALIDATION_FAILED","message":"Validation failed: claim: issue t-1 already assigned to w1","hint":null,"retryable":true,"context":{"field":"claim","reason":"issue t-1 already assigned to w1"}}}"#,
            "",
        );
        assert!(
            claim_refused(Dialect::Br, &br_lost).is_some_and(|m| m.contains("already assigned"))
        );
        let br_other = out(
            3,
            r#"{"error":{"code":"ISSUE_NOT_FOUND","message":"Issue not found: t-9","context":{"id":"t-9"}}}"#,
            "",
        );
        assert_eq!(claim_refused(Dialect::Br, &br_other), None);
        assert_eq!(error_message(&br_other), "Issue not found: t-9");
        let bd_lost = out(
            1,
            "",
            "Error claiming bd-1: issue already claimed by alice\n",
        );
        assert!(claim_refused(Dialect::Bd, &bd_lost).is_some());
        let bd_other = out(1, "", "Error: no active beads workspace found\n");
        assert_eq!(claim_refused(Dialect::Bd, &bd_other), None);
        assert_eq!(
            error_message(&out(
                1,
                "",
                r#"{"error":"database locked","schema_version":1}"#
            )),
            "database locked"
        );
        assert_eq!(error_message(&out(1, "", "")), "it printed nothing");
    }

    #[test]
    fn closing_a_closed_issue_is_recognised() {
        let br = out(
            3,
            r#"{"closed":[],"skipped":[{"id":"t-1","reason":"already closed"}]}
{"error":{"code":"NOTHING_TO_DO","message":"Nothing to do: all 1 issue(s) skipped — t-1: already closed"}}"#,
            "",
        );
        assert!(only_already_closed(&br));
        assert!(!only_already_closed(&out(
            3,
            r#"{"error":{"code":"ISSUE_NOT_FOUND","message":"not found"}}"#,
            ""
        )));
    }

    #[test]
    fn issue_ids_must_not_look_like_options() {
        assert!(valid_issue_id("bd-a3f8.1"));
        assert!(valid_issue_id("t-zu4"));
        for bad in ["", "-x", "a b", "a;b", "x\n"] {
            assert!(!valid_issue_id(bad), "{bad:?}");
        }
    }
}
