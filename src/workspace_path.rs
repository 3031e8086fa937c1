//! The one rule for `path` values (LANGUAGE.md §3, §5): relative, inside the workspace,
//! and written one canonical way.

/// `path` made canonical (`./a//b/../c` is `a/c`; empty or `.` is `.`), or why it is not a
/// path inside the workspace. Backslashes separate too, so a path cannot escape on Windows
/// either. A path whose first name starts with `-` or `~` keeps a leading `./` (`./-rf`,
/// `./~/x`): as a command's argument it is then a file name, never an option, and it never
/// reads as a home folder.
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
    match parts.first() {
        None => Ok(".".into()),
        Some(first) if first.starts_with(['-', '~']) => Ok(format!("./{}", parts.join("/"))),
        Some(_) => Ok(parts.join("/")),
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

    #[test]
    fn a_path_never_starts_with_a_dash_or_a_tilde() {
        assert_eq!(normalize("-rf"), Ok("./-rf".to_string()));
        assert_eq!(
            normalize("--files0-from=/etc/hostname"),
            Ok("./--files0-from=/etc/hostname".to_string())
        );
        assert_eq!(normalize("./-n"), Ok("./-n".to_string()));
        assert_eq!(normalize("x/../-n"), Ok("./-n".to_string()));
        assert_eq!(normalize("~/x"), Ok("./~/x".to_string()));
        assert_eq!(normalize("~"), Ok("./~".to_string()));
        // Later names may start with either: only the first can be read as an option.
        assert_eq!(normalize("a/-b/~c"), Ok("a/-b/~c".to_string()));
        // Normalising twice changes nothing.
        for path in ["-rf", "~/x", "./-n", "a/b"] {
            let once = normalize(path).expect("inside");
            assert_eq!(normalize(&once), Ok(once.clone()));
        }
    }
}
