//! Every form of a secret that wfc itself can produce, so the redactor can hide each of them:
//! the value, what each filter makes of it (computed with the runtime's own filter code), and
//! the escaped text of each inside stored JSON.

use crate::ir::Value;
use crate::plan::filters::apply;
use crate::plan::FilterSpec;
use std::collections::BTreeSet;

/// A derived form shorter than this many characters is redacted only when it is as long as
/// the secret itself: a short fragment (`slug` of `"!!a!!"` is `"a"`) carries little of the
/// secret, and hiding it would hide every occurrence of ordinary letters.
pub const MIN_DERIVED_CHARS: usize = 4;

/// How many times `json` is nested in the chains computed without a plan. Each nesting adds
/// a layer of escapes, so the forms never end; chains a plan uses are added exactly.
const JSON_NESTING: usize = 3;

/// A bound on the forms searched, so no secret can make the search run long; a few dozen is
/// usual.
const SEARCH_LIMIT: usize = 4096;

/// Every filter the language has, as it acts on a secret's text. `join` and `default` leave
/// a string unchanged, and `words` applies to lists only, which a secret never is (the match
/// makes a new filter say what it does before this compiles).
fn text_filters() -> Vec<FilterSpec> {
    [
        FilterSpec::Slug,
        FilterSpec::Upper,
        FilterSpec::Lower,
        FilterSpec::Trim,
        FilterSpec::Json,
        FilterSpec::Join(String::new()),
        FilterSpec::Default(String::new()),
        FilterSpec::Words,
    ]
    .into_iter()
    .filter(|filter| match filter {
        FilterSpec::Slug
        | FilterSpec::Upper
        | FilterSpec::Lower
        | FilterSpec::Trim
        | FilterSpec::Json => true,
        FilterSpec::Join(_) | FilterSpec::Default(_) | FilterSpec::Words => false,
    })
    .collect()
}

/// The forms of `secret` to redact: the value itself; every result of a chain of filters
/// (any chain that nests `json` at most three times, and each chain in `chains`, which are
/// the ones a plan applies to it); for each of those, its escaped text inside a JSON string
/// and, when it spans lines, each of its lines. Forms shorter than [`MIN_DERIVED_CHARS`] and
/// shorter than the secret are left out.
pub fn secret_forms(secret: &str, chains: &[Vec<FilterSpec>]) -> BTreeSet<String> {
    let mut derived: BTreeSet<String> = BTreeSet::new();
    // Breadth first over chains of filters, counting `json`s so the search ends.
    let mut frontier = vec![(secret.to_string(), 0usize)];
    let mut seen: BTreeSet<(String, usize)> = BTreeSet::new();
    let filters = text_filters();
    while let Some((text, nesting)) = frontier.pop() {
        if seen.len() >= SEARCH_LIMIT || !seen.insert((text.clone(), nesting)) {
            continue;
        }
        for filter in &filters {
            let nesting = nesting + usize::from(*filter == FilterSpec::Json);
            if nesting > JSON_NESTING {
                continue;
            }
            let next = apply(&Value::String(text.clone()), std::slice::from_ref(filter));
            frontier.push((next, nesting));
        }
        derived.insert(text);
    }
    for chain in chains {
        derived.insert(apply(&Value::String(secret.to_string()), chain));
    }
    let mut forms = BTreeSet::new();
    for form in derived {
        let escaped = serde_json::to_string(&form).unwrap_or_default();
        let escaped = escaped
            .strip_prefix('"')
            .and_then(|e| e.strip_suffix('"'))
            .unwrap_or_default()
            .to_string();
        let lines: Vec<String> = if form.contains('\n') {
            form.lines()
                .map(|l| l.trim_end_matches('\r').to_string())
                .collect()
        } else {
            Vec::new()
        };
        forms.insert(form);
        forms.insert(escaped);
        forms.extend(lines);
    }
    let secret_chars = secret.chars().count();
    forms.retain(|form| {
        let chars = form.chars().count();
        chars > 0 && (chars >= MIN_DERIVED_CHARS || chars >= secret_chars)
    });
    if !secret.is_empty() {
        forms.insert(secret.to_string());
    }
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_filter_and_chain_of_filters_is_a_form() {
        let secret = " Tok-en\"9 ";
        let forms = secret_forms(secret, &[]);
        for filter in text_filters() {
            let once = apply(&Value::String(secret.into()), std::slice::from_ref(&filter));
            assert!(forms.contains(&once), "{filter:?}: {once}");
            for second in text_filters() {
                let twice = apply(&Value::String(secret.into()), &[filter.clone(), second]);
                assert!(forms.contains(&twice), "{twice}");
            }
        }
        // `join` and `default` change no string, so they add no form.
        for identity in [
            FilterSpec::Join(",".into()),
            FilterSpec::Default("x".into()),
        ] {
            assert_eq!(apply(&Value::String(secret.into()), &[identity]), secret);
        }
        // The JSON of the JSON string, as stored JSON holds it.
        assert!(forms.contains(r#"\" TOK-EN\\\"9 \""#), "{forms:?}");
    }

    #[test]
    fn chains_a_plan_uses_are_added_however_long() {
        let json = FilterSpec::Json;
        let chain = vec![json.clone(), json.clone(), json.clone(), json.clone(), json];
        let deep = apply(&Value::String("s3cret".into()), &chain);
        assert!(!secret_forms("s3cret", &[]).contains(&deep));
        assert!(secret_forms("s3cret", &[chain]).contains(&deep));
    }

    #[test]
    fn short_derived_forms_are_left_out_but_the_secret_never_is() {
        // `slug` makes `a` and `trim` makes `ab` of these; too short to hide everywhere.
        let forms = secret_forms("!!!!!a!!!!", &[]);
        assert!(!forms.contains("a"), "{forms:?}");
        assert!(forms.contains("!!!!!a!!!!"));
        let forms = secret_forms("  ab  ", &[]);
        assert!(!forms.contains("ab") && !forms.contains("AB"), "{forms:?}");
        // A short secret is hidden with its forms of its own length.
        let forms = secret_forms("ab", &[]);
        assert!(forms.contains("ab") && forms.contains("AB"), "{forms:?}");
        assert!(!forms.contains(""));
        // A secret that slugs to nothing adds no empty form.
        assert!(!secret_forms("!!!!", &[]).contains(""));
    }

    #[test]
    fn each_line_of_a_secret_that_spans_lines_is_a_form() {
        let forms = secret_forms("line-one\r\nline-two", &[]);
        assert!(
            forms.contains("line-one") && forms.contains("LINE-TWO"),
            "{forms:?}"
        );
    }
}
