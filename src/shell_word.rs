//! A word as one shell word, for the commands wfc prints for people to paste (`wfc approve RUN
//! 'review[style]'`): quoted only when it needs to be, since `review[style]` would glob.

use std::borrow::Cow;

/// `word` as one shell word: as it is when every character is safe, else in single quotes.
pub fn shell_word(word: &str) -> Cow<'_, str> {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.,:/@%+=".contains(c));
    if plain {
        Cow::Borrowed(word)
    } else {
        Cow::Owned(format!("'{}'", word.replace('\'', r"'\''")))
    }
}
