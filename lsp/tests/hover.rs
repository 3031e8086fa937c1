//! Hover: parameters, tasks, gates, agent profiles, loop variables and stdlib imports.

use crate::support::{open_feature, position, word_range};

/// The Markdown of the hover at the `nth` `needle` (plus `shift` characters) of the feature.
fn hover_text(needle: &str, nth: usize, shift: usize) -> String {
    let (mut server, _folder, uri, text) = open_feature();
    let hover = server.at(
        "textDocument/hover",
        &uri,
        position(&text, needle, nth, shift),
    );
    assert_eq!(hover["contents"]["kind"], "markdown", "{hover}");
    hover["contents"]["value"]
        .as_str()
        .expect("markdown text")
        .to_string()
}

#[test]
fn a_parameter_shows_its_type_pattern_and_docs() {
    let shown = hover_text("{{ name }}", 0, 3);
    assert!(
        shown.contains("param name: string matching \"[a-z][a-z0-9-]*\""),
        "{shown}"
    );
    assert!(shown.contains("Required"), "{shown}");
    assert!(
        shown.contains("Short name of the feature, used in file names."),
        "{shown}"
    );
}

#[test]
fn a_parameter_with_a_default_shows_it() {
    let shown = hover_text("reviewers", 0, 0);
    assert!(
        shown.contains(
            "param reviewers: list<string> matching \"[a-z]+\" = [\"correctness\", \"style\"]"
        ),
        "{shown}"
    );
    assert!(shown.contains("Optional"), "{shown}");
}

#[test]
fn a_task_shows_its_title_dependencies_agent_and_docs() {
    let shown = hover_text("after design", 0, 6);
    assert!(shown.contains("task design"), "{shown}");
    assert!(shown.contains("**title** \"Design {{ name }}\""), "{shown}");
    assert!(shown.contains("**after** nothing"), "{shown}");
    assert!(
        shown.contains("**agent** `claude` (claude-code)"),
        "{shown}"
    );
    assert!(shown.contains("**retry** 2"), "{shown}");
    assert!(shown.contains("**timeout** 30m"), "{shown}");
    assert!(shown.contains("Writes the design."), "{shown}");
    let shown = hover_text("task implement", 0, 5);
    assert!(shown.contains("**after** `approve`"), "{shown}");
}

#[test]
fn a_command_task_and_a_gate_show_what_they_do() {
    let shown = hover_text("after check", 0, 6);
    assert!(shown.contains("**runs** \"cargo test\""), "{shown}");
    let shown = hover_text("after approve", 0, 6);
    assert!(shown.contains("gate approve"), "{shown}");
    assert!(
        shown.contains("**ask** \"Approve the design of {{ name }}?\""),
        "{shown}"
    );
    assert!(shown.contains("**timeout** 2d"), "{shown}");
}

#[test]
fn an_agent_profile_shows_its_settings() {
    let shown = hover_text("agent   = claude", 0, 10);
    assert!(shown.contains("agent claude {"), "{shown}");
    assert!(shown.contains("adapter = \"claude-code\""), "{shown}");
    assert!(shown.contains("model = \"sonnet\""), "{shown}");
    assert!(shown.contains("max_turns = 40"), "{shown}");
    assert!(
        shown.contains("Claude Code, for the design and the implementation."),
        "{shown}"
    );
}

#[test]
fn a_loop_variable_shows_its_element_type() {
    let shown = hover_text("{{ aspect }}", 0, 3);
    assert!(shown.contains("aspect: string"), "{shown}");
    assert!(shown.contains("loop variable of task `review`"), "{shown}");
}

#[test]
fn a_stdlib_import_shows_the_modules_docs() {
    for (needle, shift) in [("\"std/review\"", 1), ("use review", 4), ("as review", 3)] {
        let shown = hover_text(needle, 0, shift);
        assert!(shown.contains("**std/review**"), "{needle}: {shown}");
        assert!(
            shown.contains("review a change from several angles"),
            "{needle}: {shown}"
        );
        assert!(
            shown.contains("workflow pull_request(target: string"),
            "{needle}: {shown}"
        );
    }
}

#[test]
fn the_hover_range_is_the_name() {
    let (mut server, _folder, uri, text) = open_feature();
    let hover = server.at(
        "textDocument/hover",
        &uri,
        position(&text, "after design", 0, 8),
    );
    assert_eq!(
        hover["range"],
        word_range(&text, "after design", 0, "design")
    );
}

#[test]
fn nothing_is_shown_where_no_name_is() {
    let (mut server, _folder, uri, text) = open_feature();
    let hover = server.at(
        "textDocument/hover",
        &uri,
        position(&text, "cargo test", 0, 2),
    );
    assert!(hover.is_null(), "{hover}");
}

#[test]
fn fields_and_filters_are_described() {
    let (mut server, _folder, uri, text) = open_feature();
    let hover = server.at(
        "textDocument/hover",
        &uri,
        position(&text, "retry  = 2", 0, 1),
    );
    assert_eq!(
        hover["contents"]["value"],
        "field `retry`: extra attempts after a failure"
    );
    assert_eq!(hover["range"], word_range(&text, "retry  = 2", 0, "retry"));
    let hover = server.at(
        "textDocument/hover",
        &uri,
        position(&text, "max_turns", 0, 2),
    );
    assert_eq!(
        hover["contents"]["value"],
        "field `max_turns`: how many turns the agent may take"
    );
    // A filter, after editing one into an interpolation.
    let edited = text.replace("Document {{ name }}", "Document {{ name | slug }}");
    server.replace(&uri, 2, &edited);
    server.diagnostics(&uri, 2);
    let hover = server.at(
        "textDocument/hover",
        &uri,
        position(&edited, "| slug", 0, 3),
    );
    assert_eq!(
        hover["contents"]["value"],
        "filter `slug`: lower-case words joined by `-`"
    );
}

/// The hover at the `nth` `needle` (plus `shift` characters) of the feature, null or not.
fn hover_at(needle: &str, nth: usize, shift: usize) -> serde_json::Value {
    let (mut server, _folder, uri, text) = open_feature();
    server.at(
        "textDocument/hover",
        &uri,
        position(&text, needle, nth, shift),
    )
}

fn has(shown: &str, wanted: &str) {
    assert!(shown.contains(wanted), "no {wanted:?} in {shown:?}");
}

#[test]
fn a_result_says_what_the_task_produced() {
    let shown = hover_text("{{ design.result }}", 0, 10);
    has(&shown, "`design.result`");
    has(&shown, "an agent's final message");
    let hover = hover_at("{{ design.result }}", 0, 10);
    assert_eq!(
        hover["range"],
        crate::support::word_range(&fixture_text(), "design.result", 0, "result")
    );
}

fn fixture_text() -> String {
    crate::support::fixture("feature.wf")
}

#[test]
fn keywords_say_what_they_do() {
    let (mut server, _folder, uri, text) = open_feature();
    for (needle, shift, keyword, words) in [
        (
            "import \"std/review\"",
            0,
            "import",
            "loads another `.wf` file",
        ),
        ("as review", 0, "as", "names what an `import` loads"),
        ("agent claude {", 0, "agent", "an agent profile"),
        ("workflow feature", 0, "workflow", "a graph of tasks"),
        ("param name", 0, "param", "a value the run is given"),
        ("matching \"[a-z][", 0, "matching", "match the pattern"),
        ("defaults {", 0, "defaults", "every task of the workflow"),
        ("task design", 0, "task", "one unit of work"),
        ("gate approve", 0, "gate", "waits for a person"),
        ("after design", 0, "after", "wait until"),
        ("for each aspect", 0, "for", "one instance of the task"),
        ("for each aspect", 4, "each", "one instance of the task"),
        ("aspect in reviewers", 7, "in", "one instance of the task"),
        ("when docs", 0, "when", "left out"),
        (
            "use review.pull_request",
            0,
            "use",
            "inlines an imported workflow",
        ),
        ("bool = true", 7, "true", "a `bool` value"),
    ] {
        let hover = server.at(
            "textDocument/hover",
            &uri,
            position(&text, needle, 0, shift),
        );
        let shown = hover["contents"]["value"].as_str().unwrap_or_default();
        has(shown, &format!("keyword `{keyword}`"));
        has(shown, words);
    }
}

#[test]
fn types_durations_and_numbers_say_what_they_mean() {
    has(
        &hover_text("string matching", 0, 0),
        "type `string`: one line of text",
    );
    has(&hover_text("spec: text", 0, 6), "type `text`");
    has(&hover_text("list<string>", 0, 0), "type `list`");
    has(&hover_text("list<string>", 0, 5), "type `string`");
    has(&hover_text("docs: bool", 0, 6), "type `bool`");
    has(
        &hover_text("timeout = 2d", 0, 10),
        "duration `2d`: 2 days = 172800 s",
    );
    has(
        &hover_text("timeout = 30m", 0, 10),
        "duration `30m`: 30 minutes = 1800 s",
    );
    has(
        &hover_text("retry  = 2", 0, 9),
        "up to 2 more times, 3 attempts in all",
    );
}

#[test]
fn words_in_comments_and_string_text_are_not_described() {
    // `workflow` in the file's first comment, `in` and `for` in a prompt's text.
    assert!(hover_at("// A workflow", 0, 5).is_null());
    assert!(hover_at("Document {{ name }} in", 0, 20).is_null());
    assert!(hover_at("for {{ aspect", 0, 0).is_null());
}

#[test]
fn work_fields_and_their_choices_are_described() {
    let (mut server, _folder, uri, text) = open_feature();
    let edited = text.replace(
        "    retry  = 2\n",
        "    retry  = 2\n    retry_from = \"failed\"\n    sandbox = \"bwrap\"\n",
    );
    server.replace(&uri, 2, &edited);
    assert_eq!(server.diagnostics(&uri, 2), Vec::<serde_json::Value>::new());
    let hover = server.at(
        "textDocument/hover",
        &uri,
        position(&edited, "retry_from", 0, 3),
    );
    let shown = hover["contents"]["value"].as_str().unwrap_or_default();
    has(shown, "field `retry_from`: what a retry starts from");
    has(shown, "\"failed\" (the failed attempt's tree)");
    assert_eq!(
        hover["range"],
        word_range(&edited, "retry_from", 0, "retry_from")
    );
    // The choice inside the string.
    let hover = server.at(
        "textDocument/hover",
        &uri,
        position(&edited, "\"failed\"", 0, 2),
    );
    let shown = hover["contents"]["value"].as_str().unwrap_or_default();
    has(shown, "`retry_from = \"failed\"`: a retry goes on");
    // A task's `sandbox` is wfc's, not Codex's.
    let hover = server.at(
        "textDocument/hover",
        &uri,
        position(&edited, "sandbox", 0, 1),
    );
    let shown = hover["contents"]["value"].as_str().unwrap_or_default();
    has(shown, "bubblewrap");
}
