//! "Did you mean …?": the closest known name to a misspelt one.

/// The candidate closest to `word` by edit distance, if it is close enough to be a typo; else
/// the only candidate that `word` (of at least 4 characters) begins, since a name cut short
/// (`claud` for `claude-code`) is as common as a misspelt one.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    let candidates: Vec<&'a str> = candidates
        .into_iter()
        .filter(|candidate| *candidate != word)
        .collect();
    let typo = candidates
        .iter()
        .map(|candidate| (edit_distance(word, candidate), *candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate);
    typo.or_else(|| {
        let mut begun = candidates
            .iter()
            .filter(|candidate| word.chars().count() >= 4 && candidate.starts_with(word));
        match (begun.next(), begun.next()) {
            (Some(only), None) => Some(*only),
            _ => None,
        }
    })
}

/// "did you mean `x`?" for the closest candidate, if any.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(word, candidates).map(|best| format!("did you mean `{best}`?"))
}

/// The word of `.wf` that another tool's word stands for, and that tool: people who come from
/// GitHub Actions write `needs` where a `.wf` file writes `after`, and no edit distance finds it.
pub fn foreign_word(word: &str) -> Option<(&'static str, &'static str)> {
    match word {
        "needs" => Some(("after", "GitHub Actions")),
        "depends_on" => Some(("after", "Docker Compose")),
        "dependsOn" => Some(("after", "Azure Pipelines")),
        _ => None,
    }
}

/// The help for another tool's word used as a field or keyword: what to write instead, with
/// the task header `after` belongs in.
pub fn foreign_word_help(word: &str) -> Option<String> {
    foreign_word(word).map(|(ours, tool)| {
        format!(
            "did you mean `{ours}`? (`{word}` is what {tool} calls it); a task names what it \
             waits for in its header: `task NAME {ours} a, b {{ … }}`"
        )
    })
}

/// The edit distance between two strings, counted in characters, where inserting, deleting
/// or replacing a character or swapping two neighbours costs one (optimal string alignment),
/// since swapped letters are the commonest typo.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swapped_letters_cost_one() {
        assert_eq!(edit_distance("nmae", "name"), 1);
        assert_eq!(edit_distance("afte", "after"), 1);
        assert_eq!(closest("tsk", ["task", "gate"]), Some("task"));
        assert_eq!(closest("zzz", ["task", "gate"]), None);
    }

    #[test]
    fn a_name_cut_short_finds_the_one_it_begins() {
        assert_eq!(
            closest("claud", ["claude-code", "codex"]),
            Some("claude-code")
        );
        assert_eq!(closest("revie", ["review-code", "review-docs"]), None);
    }

    #[test]
    fn other_tools_words_point_to_ours() {
        assert_eq!(foreign_word("needs"), Some(("after", "GitHub Actions")));
        assert_eq!(foreign_word("after"), None);
    }
}
