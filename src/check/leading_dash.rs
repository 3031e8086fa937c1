//! Whether a `matching` pattern lets a value start with `-`, so the checker knows which
//! constrained strings could still act as an option (`wf::option-injection`).

use regex_syntax::hir::{Class, Hir, HirKind};

/// Whether some value that `pattern` matches whole starts with `-`. A pattern that does not
/// parse is taken to allow it (the checker reports the pattern itself elsewhere).
pub(crate) fn allows_leading_dash(pattern: &str) -> bool {
    match regex_syntax::Parser::new().parse(pattern) {
        Ok(hir) => may_start_with_dash(&hir),
        Err(_) => true,
    }
}

/// Whether a match of `hir` can begin with `-`, read from its structure: a literal or class
/// at the front, through groups, repetitions and alternatives, past parts that can be empty.
fn may_start_with_dash(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => false,
        HirKind::Literal(literal) => literal.0.first() == Some(&b'-'),
        HirKind::Class(Class::Unicode(class)) => class
            .ranges()
            .iter()
            .any(|range| range.start() <= '-' && '-' <= range.end()),
        HirKind::Class(Class::Bytes(class)) => class
            .ranges()
            .iter()
            .any(|range| range.start() <= b'-' && b'-' <= range.end()),
        HirKind::Repetition(repetition) => {
            repetition.max != Some(0) && may_start_with_dash(&repetition.sub)
        }
        HirKind::Capture(capture) => may_start_with_dash(&capture.sub),
        HirKind::Concat(items) => {
            for item in items {
                if may_start_with_dash(item) {
                    return true;
                }
                if item.properties().minimum_len() != Some(0) {
                    return false;
                }
            }
            false
        }
        HirKind::Alternation(items) => items.iter().any(may_start_with_dash),
    }
}

#[cfg(test)]
mod tests {
    use super::allows_leading_dash;

    #[test]
    fn patterns_that_can_start_with_a_dash_are_found() {
        for pattern in [
            ".*",
            r"[\w-]+",
            "-?[0-9]+",
            "(a|-b)",
            "a?-x",
            r"\S+",
            "[^a]+",
            "(?i)[A-Z-]+",
            "(",
        ] {
            assert!(allows_leading_dash(pattern), "{pattern}");
        }
        for pattern in [
            "[a-z][a-z0-9-]*",
            r"\d+",
            "v[0-9.]+",
            "(feat|fix)/[a-z-]+",
            r"[A-Za-z0-9_.][\w.-]*",
            "a?b-",
            "x{0}y",
        ] {
            assert!(!allows_leading_dash(pattern), "{pattern}");
        }
    }
}
