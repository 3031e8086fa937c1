//! Shell text that needs no shell: one program with plain words as its arguments.
//!
//! `/bin/sh -c "cargo test --workspace"` starts a shell that forks and starts `cargo`: two
//! programs loaded for one. Like make, wfc starts such a command itself, with the same
//! arguments, environment and folder, when the text holds nothing the shell would read
//! differently from plain words: no quote, variable, glob, redirection, separator, comment or
//! line break, and a first word that is neither a keyword nor a command the shell runs itself.
//! Anything else goes to `/bin/sh -c` as before. On a run of 2,000 no-op tasks this is about a
//! tenth of the run's time (see docs/performance.md).

use std::path::{Path, PathBuf};

/// How to start `script` without the shell, for a command whose environment is `env`: the
/// program by its full name, and the words (the first is the name the program is told it was
/// started by); `None` when the shell is needed.
///
/// Only by a full name: a relative one would make the standard library copy the whole wfc
/// process to start it (see [`find_in_path`]), and a script started by another name than the
/// one written would see another `$0`.
pub fn without_shell<'s>(
    script: &'s str,
    env: &[(String, String)],
) -> Option<(PathBuf, Vec<&'s str>)> {
    let words = simple_command(script)?;
    let program = if words[0].contains('/') {
        Some(PathBuf::from(words[0])).filter(|path| path.is_absolute())?
    } else {
        let (_, path) = env.iter().rev().find(|(name, _)| name == "PATH")?;
        find_in_path(words[0], path)?
    };
    Some((program, words))
}

/// The words of `script` when it is one simple command the shell would run as that program
/// with those arguments; `None` when the shell is needed to read it.
pub fn simple_command(script: &str) -> Option<Vec<&str>> {
    if !script.bytes().all(|b| plain(b) || b == b' ' || b == b'\t') {
        return None;
    }
    let words: Vec<&str> = script
        .split([' ', '\t'])
        .filter(|w| !w.is_empty())
        .collect();
    let (first, arguments) = words.split_first()?;
    // A leading `-` or `+` would be read by some shells as an option of theirs; `=` in the
    // first word is an assignment, which only a shell makes.
    if first.starts_with(['-', '+']) || first.contains('=') {
        return None;
    }
    // `true` and `false` are the shell's own, and the programs of the same names do the same
    // unless given arguments (`true --help` prints help).
    let own_without_arguments = matches!(*first, "true" | "false") && arguments.is_empty();
    if SHELL_WORDS.contains(first) && !own_without_arguments {
        return None;
    }
    Some(words)
}

/// Where the shell would find `program` (a name without `/`) on `path` (the command's
/// `PATH`): the first executable file of that name. `None` when it is not there, or when a
/// folder of `path` before it is relative (or empty, the current folder), which the shell
/// would name to the program differently.
///
/// The caller starts what this finds by its full name: a name looked up on a `PATH` other
/// than wfc's own, or a relative one, makes the standard library copy the whole wfc process to
/// start it (a `fork` in place of a `posix_spawn`), which costs more than the shell it saves.
fn find_in_path(program: &str, path: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    for dir in path.split(':').map(Path::new) {
        if !dir.is_absolute() {
            return None;
        }
        let candidate = dir.join(program);
        let executable = std::fs::metadata(&candidate)
            .is_ok_and(|found| found.is_file() && found.permissions().mode() & 0o111 != 0);
        if executable {
            return Some(candidate);
        }
    }
    None
}

/// Bytes that mean nothing to the shell inside a word. `=` is among them: after the first
/// word it is an ordinary character (`--jobs=2`).
fn plain(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"_-./,:+@%=".contains(&byte)
}

/// The shell's keywords and the commands it runs itself (those of dash, bash and POSIX), which
/// a program of the same name, if there is one, does differently or not at all.
const SHELL_WORDS: &[&str] = &[
    "!",
    ".",
    ":",
    "[",
    "[[",
    "]]",
    "{",
    "}",
    "alias",
    "bg",
    "bind",
    "break",
    "builtin",
    "caller",
    "case",
    "cd",
    "chdir",
    "command",
    "compgen",
    "complete",
    "compopt",
    "continue",
    "declare",
    "dirs",
    "disown",
    "do",
    "done",
    "echo",
    "elif",
    "else",
    "enable",
    "esac",
    "eval",
    "exec",
    "exit",
    "export",
    "false",
    "fc",
    "fg",
    "fi",
    "for",
    "function",
    "getopts",
    "hash",
    "help",
    "history",
    "if",
    "in",
    "jobs",
    "kill",
    "let",
    "local",
    "logout",
    "mapfile",
    "popd",
    "printf",
    "pushd",
    "pwd",
    "read",
    "readarray",
    "readonly",
    "return",
    "select",
    "set",
    "shift",
    "shopt",
    "source",
    "suspend",
    "test",
    "then",
    "time",
    "times",
    "trap",
    "true",
    "type",
    "typeset",
    "ulimit",
    "umask",
    "unalias",
    "unset",
    "until",
    "wait",
    "while",
];

#[cfg(test)]
mod tests {
    use super::simple_command;

    #[test]
    fn plain_words_are_a_simple_command() {
        assert_eq!(
            simple_command("cargo test --workspace --jobs=2"),
            Some(vec!["cargo", "test", "--workspace", "--jobs=2"])
        );
        assert_eq!(
            simple_command("  ./build.sh\tsrc/a.c  "),
            Some(vec!["./build.sh", "src/a.c"])
        );
        assert_eq!(simple_command("true"), Some(vec!["true"]));
        assert_eq!(simple_command("false"), Some(vec!["false"]));
    }

    #[test]
    fn a_program_is_started_by_the_full_name_the_shell_would_find() {
        use super::without_shell;
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("wfc-simple-command-{}", std::process::id()));
        let (bin, other) = (dir.join("bin"), dir.join("other"));
        for folder in [&bin, &other] {
            std::fs::create_dir_all(folder).expect("folder");
        }
        let tool = bin.join("tool");
        std::fs::write(&tool, "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        // Not executable: the shell passes it over, and so does the look-up.
        std::fs::write(other.join("tool"), "").expect("write");
        let env = |path: String| vec![("PATH".to_string(), path)];
        let path = format!("{}:{}", other.display(), bin.display());
        assert_eq!(
            without_shell("tool --all", &env(path.clone())),
            Some((tool.clone(), vec!["tool", "--all"]))
        );
        let absolute = tool.to_string_lossy().into_owned();
        assert_eq!(
            without_shell(&absolute, &env(String::new())),
            Some((tool.clone(), vec![absolute.as_str()]))
        );
        // Not on the PATH, a relative folder before it, a relative name, no PATH at all: the
        // shell decides.
        assert_eq!(
            without_shell("tool", &env(other.display().to_string())),
            None
        );
        assert_eq!(without_shell("tool", &env(format!("bin:{path}"))), None);
        assert_eq!(without_shell("./bin/tool", &env(path)), None);
        assert_eq!(without_shell("tool", &[]), None);
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn whatever_the_shell_reads_differently_goes_to_the_shell() {
        for script in [
            "",
            "   ",
            "echo \"$WF_ARG_0\"",
            "make 'a b'",
            "ls *.rs",
            "a && b",
            "a; b",
            "a | b",
            "a > out",
            "a\nb",
            "cat ~/x",
            "run # comment",
            "a\\ b",
            "x=1 make",
            "$(id)",
            "`id`",
            "-x",
            "true --help",
            "echo hello",
            "cd /tmp",
            "exit 3",
            "export A",
            "if",
            "pwd",
            "kill 1",
            "{",
            "[ -f x ]",
            "test -f x",
            "run (x)",
            "a!b",
            "é",
        ] {
            assert_eq!(simple_command(script), None, "{script:?}");
        }
    }
}
