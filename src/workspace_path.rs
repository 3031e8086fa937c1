//! The one rule for `path` values (LANGUAGE.md §3, §5): relative, inside the workspace,
//! and written one canonical way.

/// `path` made canonical (`./a//b/../c` is `a/c`; empty or `.` is `.`), or why it is not a
/// path inside the workspace. Backslashes separate too, so a path cannot escape on Windows
/// either.
pub fn normalize(path: &str) -> Result<String, &'static str> {
    // `C:\x` and `C:/x` are absolute on Windows; `a:b` is an ordinary name elsewhere.
    let drive =
        matches!(path.as_bytes(), [letter, b':', b'/' | b'\\', ..] if letter.is_ascii_alphabetic());
    if path.starts_with(['/', '\\']) || drive {
        return Err("it is absolute");
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err("its `..` leaves the workspace");
                }
            }
            part => parts.push(part),
        }
    }
    if parts.is_empty() {
        Ok(".".into())
    } else {
        Ok(parts.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn paths_are_canonical_and_stay_inside() {
        assert_eq!(normalize("./a//b/../c"), Ok("a/c".to_string()));
        assert_eq!(normalize(""), Ok(".".to_string()));
        assert_eq!(normalize("a/.."), Ok(".".to_string()));
        assert_eq!(normalize("a\\b"), Ok("a/b".to_string()));
        assert!(normalize("../x").is_err());
        assert!(normalize("a/../../x").is_err());
        assert!(normalize("/etc").is_err());
        assert!(normalize("C:\\x").is_err());
        assert_eq!(normalize("a:b"), Ok("a:b".to_string()));
    }
}
