//! The version of git, and the oldest one isolation works with.

use std::fmt;

/// A git release, by its major and minor number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GitVersion {
    /// The major number (`2` in 2.47.3).
    pub major: u32,
    /// The minor number (`47` in 2.47.3).
    pub minor: u32,
}

/// The oldest git isolation works with: 2.38 brought `git merge-tree --write-tree`, which merges
/// commits without a checkout. (`--end-of-options`, which every call relies on, is older: 2.24.)
pub const MINIMUM_VERSION: GitVersion = GitVersion {
    major: 2,
    minor: 38,
};

impl GitVersion {
    /// The version a `git --version` line announces: `git version 2.47.3`, also with a
    /// vendor's suffix (`2.39.2 (Apple Git-143)`, `2.45.1.windows.1`).
    pub fn parse(line: &str) -> Option<GitVersion> {
        let number = line.trim().strip_prefix("git version ")?;
        let mut parts = number.split(['.', ' ', '-']);
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(GitVersion { major, minor })
    }

    /// Whether isolation works with this version.
    pub fn is_supported(self) -> bool {
        self >= MINIMUM_VERSION
    }
}

impl fmt::Display for GitVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_vendor_versions() {
        assert_eq!(
            GitVersion::parse("git version 2.47.3\n"),
            Some(GitVersion {
                major: 2,
                minor: 47
            })
        );
        assert_eq!(
            GitVersion::parse("git version 2.39.2 (Apple Git-143)"),
            Some(GitVersion {
                major: 2,
                minor: 39
            })
        );
        assert_eq!(
            GitVersion::parse("git version 2.45.1.windows.1"),
            Some(GitVersion {
                major: 2,
                minor: 45
            })
        );
        assert_eq!(GitVersion::parse("hg version 6"), None);
    }

    #[test]
    fn the_minimum_is_the_first_with_merge_tree_write_tree() {
        assert!(GitVersion::parse("git version 2.38.0").is_some_and(GitVersion::is_supported));
        assert!(!GitVersion::parse("git version 2.37.9").is_some_and(GitVersion::is_supported));
        assert!(!GitVersion::parse("git version 1.99.0").is_some_and(GitVersion::is_supported));
        assert!(GitVersion::parse("git version 3.0.0").is_some_and(GitVersion::is_supported));
    }
}
