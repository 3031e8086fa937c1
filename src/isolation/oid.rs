//! A git object id, checked once when it comes from git, so it can be passed back to git as
//! an argument without ever being mistaken for an option.

use super::error::GitError;
use std::fmt;

/// A full object id: 40 (SHA-1) or 64 (SHA-256) lower-case hexadecimal digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid(String);

impl Oid {
    /// The id `text` spells (surrounding whitespace ignored), if it is a full object id.
    pub fn parse(text: &str) -> Result<Oid, GitError> {
        let text = text.trim();
        let hex = text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if hex && (text.len() == 40 || text.len() == 64) {
            Ok(Oid(text.to_string()))
        } else {
            Err(GitError::invalid(format!(
                "`{text}` is not a full git object id (40 or 64 lower-case hex digits)"
            )))
        }
    }

    /// The hexadecimal digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first seven digits, for messages.
    pub fn short(&self) -> &str {
        &self.0[..7]
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<std::ffi::OsStr> for Oid {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_full_lower_case_ids() {
        let sha1 = "473cee840145b7c5f133b47fcc5f39ef4c865cc0";
        assert_eq!(
            Oid::parse(&format!("{sha1}\n")).map(|o| o.short().to_string()),
            Ok("473cee8".to_string())
        );
        assert!(Oid::parse(&"a".repeat(64)).is_ok());
        assert!(Oid::parse("473cee8").is_err());
        assert!(Oid::parse(&sha1.to_uppercase()).is_err());
        assert!(Oid::parse(&format!("-{}", &sha1[1..])).is_err());
        assert!(Oid::parse("HEAD").is_err());
    }
}
