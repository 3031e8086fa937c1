//! Reading shell text the way `sh` will, to decide for each interpolation whether a value
//! placed there stays data (LANGUAGE.md §5).
//!
//! Values are passed in environment variables and referenced as `"$WF_ARG_n"` (outside
//! quotes) or `${WF_ARG_n}` (inside double quotes), so no value can become syntax of *this*
//! shell. What is still unsafe is a place where a variable's content would be treated as
//! code anyway, or would not be expanded at all:
//!
//! - inside single quotes, where nothing expands;
//! - in the command word, where the value would choose the program to run;
//! - in the script of an interpreter (`sh -c`, `bash -lc`, `python -c`, `perl -e`, `node -e`,
//!   an `awk` program), or anywhere in the arguments of `eval` or of an `ssh` command;
//! - inside `$(( ))`, where the shell evaluates the value as an expression;
//! - right after a backslash, which would break the quoting around the value.

use crate::ir::Placement;

/// Why an interpolation cannot stand where it is in shell text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unsafe {
    /// Inside `'…'`, where nothing expands.
    SingleQuoted,
    /// In the command word: the value would decide the program to run.
    CommandName,
    /// An argument of `eval`, which runs its arguments as shell code.
    Eval,
    /// Part of a script an interpreter runs (`sh -c`, `python -c`, an `awk` program, …).
    Script,
    /// Part of the command `ssh` runs on the remote host through its shell.
    RemoteCommand,
    /// Inside `$(( ))`, where the shell evaluates the value as an expression.
    Arithmetic,
    /// Right after a backslash, which would change the quoting around the value.
    AfterBackslash,
    /// In the body of a here-document, where the reference arrives quoted or not at all.
    HereDocument,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Single,
    Double,
}

/// Words after which the next word is still the command (options of these words too).
const PREFIX_WORDS: [&str; 19] = [
    "if", "then", "else", "elif", "do", "while", "until", "!", "time", "exec", "command", "nohup",
    "env", "sudo", "xargs", "{", "builtin", "watch", "nice",
];

/// Interpreters, and the option letters after which their next argument is a script.
const INTERPRETERS: [(&str, &str); 18] = [
    ("sh", "c"),
    ("bash", "c"),
    ("zsh", "c"),
    ("dash", "c"),
    ("ksh", "c"),
    ("fish", "c"),
    ("python", "c"),
    ("python3", "c"),
    ("python2", "c"),
    ("perl", "eE"),
    ("ruby", "e"),
    ("node", "ep"),
    ("deno", "e"),
    ("php", "r"),
    ("lua", "e"),
    ("tclsh", "c"),
    ("osascript", "e"),
    ("pwsh", "cC"),
];

/// Programs whose first argument that is not an option is a program in their own language.
const PROGRAM_TAKERS: [&str; 6] = ["awk", "gawk", "mawk", "nawk", "sed", "jq"];

/// Commands whose arguments no value can turn into an option that matters: words of the
/// shell's own syntax (`case`, `for`, `select`, `[[`), and `echo`, whose only options
/// (`-n`, `-e`, `-E`) change how it prints, never what it reads, writes or runs.
const NO_OPTIONS: [&str; 5] = ["case", "for", "select", "[[", "echo"];

/// Commands that read options only before their first operand (the builtins do not
/// reorder their arguments as GNU programs do): `printf FORMAT {{ v }}` is data.
const OPTIONS_BEFORE_OPERANDS: [&str; 1] = ["printf"];

/// `ssh` options that take an argument, so the word after them is not the destination.
const SSH_OPTIONS_WITH_ARGUMENT: &str = "BbcDEeFIiJLlmOoPpQRSWw";

/// A scanner fed the literal text of a shell template piece by piece.
pub(crate) struct ShellScanner {
    quote: Quote,
    escaped: bool,
    in_comment: bool,
    /// Whether the current word is (part of) the command word.
    command_start: bool,
    /// Whether a prefix word such as `time` came before in this command, so options still
    /// leave the command word to come.
    after_prefix: bool,
    word: String,
    word_started: bool,
    /// The command word of the current simple command.
    command: Option<String>,
    /// Why the current word is code, if it is.
    code_word: Option<Unsafe>,
    /// Why the next word will be code, if it will.
    next_word_code: Option<Unsafe>,
    /// Whether the rest of the command's words are code.
    rest_is_code: Option<Unsafe>,
    /// For `awk`, `sed` and `jq`: whether their program (the first word that is not an
    /// option) is still to come.
    program_pending: bool,
    /// Whether a `--` ended the current command's options, so later words are operands.
    end_of_options: bool,
    /// Whether the current word began with a quote or a backslash (so it is no
    /// redirection), and whether the word before it was a redirection without its target.
    word_quoted: bool,
    previous_redirection: bool,
    /// Arguments of the current command read so far that are not options or redirections.
    operands: usize,
    /// For `ssh`: whether the destination was read, and whether the next word is an
    /// option's argument.
    ssh_destination_seen: bool,
    skip_next_word: bool,
    /// Open parentheses of a `$(( … ))` being read; zero outside arithmetic.
    arithmetic: usize,
    /// The quoting outside each open `$( … )`, restored when it closes.
    substitutions: Vec<Quote>,
    /// Characters already consumed by a look-ahead.
    skip: usize,
    /// After `<<`: whether the next word is a here-document's delimiter, and whether `<<-`
    /// lets the closing line start with tabs.
    heredoc_pending: Option<bool>,
    /// Delimiters of here-documents whose bodies start at the next line break.
    heredocs_queued: Vec<(String, bool)>,
    /// The here-document whose body is being read, and the current line so far.
    heredoc: Option<(String, bool)>,
    heredoc_line: String,
    previous: char,
}

impl ShellScanner {
    /// A scanner at the start of a command line.
    pub fn new() -> Self {
        ShellScanner {
            quote: Quote::None,
            escaped: false,
            in_comment: false,
            command_start: true,
            after_prefix: false,
            word: String::new(),
            word_started: false,
            command: None,
            code_word: None,
            next_word_code: None,
            rest_is_code: None,
            program_pending: false,
            end_of_options: false,
            word_quoted: false,
            previous_redirection: false,
            operands: 0,
            ssh_destination_seen: false,
            skip_next_word: false,
            arithmetic: 0,
            substitutions: Vec::new(),
            skip: 0,
            heredoc_pending: None,
            heredocs_queued: Vec::new(),
            heredoc: None,
            heredoc_line: String::new(),
            previous: '\n',
        }
    }

    /// Reads literal text.
    pub fn feed(&mut self, text: &str) {
        let chars: Vec<char> = text.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            if self.skip > 0 {
                self.skip -= 1;
                continue;
            }
            self.step(c, &chars[i + 1..]);
            self.previous = c;
        }
    }

    fn step(&mut self, c: char, rest: &[char]) {
        if let Some((delimiter, strip_tabs)) = &self.heredoc {
            // A here-document's body runs to a line that is just its delimiter.
            if c == '\n' {
                let line = if *strip_tabs {
                    self.heredoc_line.trim_start_matches('\t')
                } else {
                    &self.heredoc_line
                };
                if line == delimiter {
                    self.heredoc = None;
                    self.start_next_heredoc();
                }
                self.heredoc_line.clear();
            } else {
                self.heredoc_line.push(c);
            }
            return;
        }
        if self.in_comment {
            if c == '\n' {
                self.in_comment = false;
                self.new_command();
            }
            return;
        }
        if self.escaped {
            self.escaped = false;
            self.push(c);
            return;
        }
        if self.arithmetic > 0 {
            match c {
                '(' => self.arithmetic += 1,
                ')' => self.arithmetic -= 1,
                _ => {}
            }
            self.push(c);
            return;
        }
        if c == '$' && self.quote != Quote::Single && rest.first() == Some(&'(') {
            if rest.get(1) == Some(&'(') {
                self.push('$');
                self.arithmetic = 2;
                self.skip = 2;
            } else {
                // A command substitution starts a new command with its own quoting.
                self.word_started = true;
                self.substitutions.push(self.quote);
                self.quote = Quote::None;
                self.skip = 1;
                self.new_command();
            }
            return;
        }
        match self.quote {
            Quote::Single => {
                if c == '\'' {
                    self.quote = Quote::None;
                } else {
                    self.push(c);
                }
            }
            Quote::Double => match c {
                '\\' => self.escaped = true,
                '"' => self.quote = Quote::None,
                _ => self.push(c),
            },
            Quote::None => match c {
                '\\' => {
                    self.word_quoted |= !self.word_started;
                    self.begin_word();
                    self.escaped = true;
                }
                '\'' => {
                    self.word_quoted |= !self.word_started;
                    self.begin_word();
                    self.quote = Quote::Single;
                }
                '"' => {
                    self.word_quoted |= !self.word_started;
                    self.begin_word();
                    self.quote = Quote::Double;
                }
                '#' if !self.word_started => self.in_comment = true,
                ' ' | '\t' => self.end_word(),
                // `<<<` is a here-string: an ordinary word follows.
                '<' if rest.first() == Some(&'<') && rest.get(1) == Some(&'<') => {
                    self.end_word();
                    self.skip = 2;
                    // The word that follows is the here-string, not an argument.
                    self.previous_redirection = true;
                }
                '<' if rest.first() == Some(&'<') => {
                    self.end_word();
                    let strip_tabs = rest.get(1) == Some(&'-');
                    self.skip = if strip_tabs { 2 } else { 1 };
                    self.heredoc_pending = Some(strip_tabs);
                }
                '\n' => {
                    self.new_command();
                    self.start_next_heredoc();
                }
                ';' | '|' | '(' | '`' => self.new_command(),
                '&' if self.previous == '>'
                    || self.previous == '<'
                    || rest.first() == Some(&'>') =>
                {
                    self.push(c)
                }
                '&' => self.new_command(),
                ')' => match self.substitutions.pop() {
                    Some(outer) => {
                        self.end_word();
                        self.quote = outer;
                        self.command_start = false;
                        self.word_started = true;
                        self.word.push('\u{0}');
                    }
                    None => self.end_word(),
                },
                _ => self.push(c),
            },
        }
    }

    fn push(&mut self, c: char) {
        self.begin_word();
        self.word.push(c);
    }

    /// Marks the start of a word, deciding whether the word is code.
    fn begin_word(&mut self) {
        if !self.word_started {
            self.word_started = true;
            self.code_word = self.next_word_code.take().or(self.rest_is_code);
        }
    }

    /// At a line break, the body of the first queued here-document begins.
    fn start_next_heredoc(&mut self) {
        if !self.heredocs_queued.is_empty() {
            self.heredoc = Some(self.heredocs_queued.remove(0));
            self.heredoc_line.clear();
        }
    }

    fn end_word(&mut self) {
        if !self.word_started {
            return;
        }
        let word = std::mem::take(&mut self.word);
        self.word_started = false;
        self.code_word = None;
        let redirection = !std::mem::take(&mut self.word_quoted) && is_redirection(&word);
        // `>` alone, or `2>&`: the next word is its target.
        self.previous_redirection = redirection && word.ends_with(['<', '>', '&', '|']);
        if let Some(strip_tabs) = self.heredoc_pending.take() {
            // The delimiter word; quotes in it only say the body is not expanded.
            self.heredocs_queued
                .push((word.replace(['\'', '"', '\\'], ""), strip_tabs));
            return;
        }
        if self.command_start {
            let is_assignment = is_assignment(&word);
            let is_prefix = PREFIX_WORDS.contains(&word.as_str());
            let is_prefix_option = self.after_prefix && word.starts_with('-');
            if is_prefix {
                self.after_prefix = true;
            }
            if !(is_assignment || is_prefix || is_prefix_option) {
                self.command_start = false;
                let program = basename(&word);
                if program == "eval" {
                    self.rest_is_code = Some(Unsafe::Eval);
                }
                if PROGRAM_TAKERS.contains(&program) {
                    self.program_pending = true;
                    self.next_word_code = Some(Unsafe::Script);
                }
                self.command = Some(program.to_string());
            }
            return;
        }
        // Taken, not cloned, for the rest of this word: this runs for every word of every
        // command in a workflow, and `wfc check` on a large one spends a tenth of its time here.
        let taken = self.command.take();
        let command = taken.as_deref().unwrap_or_default();
        if word == "--" || word == "--end-of-options" {
            self.end_of_options = true;
        } else if !word.starts_with('-') && !redirection {
            self.operands += 1;
        }
        // The script after an interpreter's `-c` (or `-lc`, `-e`, …) is code.
        if let Some((_, letters)) = INTERPRETERS.iter().find(|(name, _)| *name == command) {
            if word.starts_with('-')
                && !word.starts_with("--")
                && word[1..].chars().any(|c| letters.contains(c))
            {
                self.next_word_code = Some(Unsafe::Script);
            }
        }
        // `awk -F: 'program'`: options come first, then the program (`sed -e SCRIPT` too).
        if self.program_pending {
            if word.starts_with('-') {
                self.next_word_code = Some(Unsafe::Script);
            } else {
                self.program_pending = false;
            }
        }
        if command == "ssh" {
            if self.skip_next_word {
                self.skip_next_word = false;
            } else if let Some(letters) = word.strip_prefix('-') {
                self.skip_next_word = letters.len() == 1
                    && letters
                        .chars()
                        .all(|c| SSH_OPTIONS_WITH_ARGUMENT.contains(c));
            } else if !self.ssh_destination_seen {
                self.ssh_destination_seen = true;
                self.rest_is_code = Some(Unsafe::RemoteCommand);
            }
        }
        // A shell or interpreter named as an argument (`xargs sh -c`, `find -exec sh -c`)
        // makes the following `-c` word's successor a script as well.
        let program = basename(&word);
        self.command = if INTERPRETERS.iter().any(|(name, _)| *name == program) {
            Some(program.to_string())
        } else {
            taken
        };
    }

    fn new_command(&mut self) {
        self.end_word();
        self.command_start = true;
        self.after_prefix = false;
        self.command = None;
        self.next_word_code = None;
        self.rest_is_code = None;
        self.program_pending = false;
        self.end_of_options = false;
        self.previous_redirection = false;
        self.operands = 0;
        self.ssh_destination_seen = false;
        self.skip_next_word = false;
    }

    /// Whether a value interpolated here would begin an argument that the command may read
    /// as an option when the value starts with `-`: the value starts a word (alone, or
    /// before more text, also inside double quotes), the word is an argument of a command
    /// (not the command word, an assignment or a redirection's target), and no `--` came
    /// before it. An option's own value is not one when attached (`--name={{ v }}`,
    /// `-o{{ v }}`); after a separate option (`-o {{ v }}`) it is, since only the program
    /// knows whether `-o` takes a value. Returns the command's name when it is such a place.
    /// Call it before [`ShellScanner::value`].
    pub fn option_position(&self) -> Option<String> {
        if self.heredoc.is_some()
            || self.in_comment
            || self.escaped
            || self.arithmetic > 0
            || self.quote == Quote::Single
            || self.command_start
            || self.end_of_options
            || !self.word.is_empty()
        {
            return None;
        }
        let command = self.command.as_deref().unwrap_or_default();
        let data = self.previous_redirection
            || NO_OPTIONS.contains(&command)
            || (OPTIONS_BEFORE_OPERANDS.contains(&command) && self.operands > 0);
        (!data).then(|| command.to_string())
    }

    /// Judges an interpolation at the current position, then treats the value as part of
    /// the current word.
    pub fn value(&mut self) -> Result<Placement, Unsafe> {
        if self.heredoc.is_some() {
            self.heredoc_line.push('\u{0}');
            return Err(Unsafe::HereDocument);
        }
        if self.in_comment {
            // A reference inside a shell comment is never expanded, so it is harmless.
            return Ok(Placement::ShellUnquoted);
        }
        let escaped = self.escaped;
        self.begin_word();
        let verdict = if self.quote == Quote::Single {
            Err(Unsafe::SingleQuoted)
        } else if escaped {
            Err(Unsafe::AfterBackslash)
        } else if self.arithmetic > 0 {
            Err(Unsafe::Arithmetic)
        } else if self.command_start && !is_assignment(&self.word) {
            Err(Unsafe::CommandName)
        } else if let Some(why) = self.code_word {
            Err(why)
        } else if self.quote == Quote::Double {
            Ok(Placement::ShellDoubleQuoted)
        } else {
            Ok(Placement::ShellUnquoted)
        };
        self.escaped = false;
        // The value fills part of a word; a placeholder keeps the word non-empty.
        self.word.push('\u{0}');
        self.previous = '\u{0}';
        verdict
    }
}

/// Whether `word` starts with `NAME=`, a variable assignment.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit())
    })
}

/// Whether `word` is a redirection, with its target (`2>/dev/null`) or without (`>`, `2>&`).
fn is_redirection(word: &str) -> bool {
    let rest = word.trim_start_matches(|c: char| c.is_ascii_digit());
    rest.starts_with(['<', '>']) || rest.starts_with("&>")
}

/// The program name of a path such as `/usr/bin/python3`.
fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The verdict on each `{}` placeholder in `script`.
    fn verdicts(script: &str) -> Vec<Result<Placement, Unsafe>> {
        let mut scanner = ShellScanner::new();
        let mut out = Vec::new();
        let mut pieces = script.split("{}").peekable();
        while let Some(piece) = pieces.next() {
            scanner.feed(piece);
            if pieces.peek().is_some() {
                out.push(scanner.value());
            }
        }
        out
    }

    #[test]
    fn arguments_are_safe() {
        assert_eq!(
            verdicts("echo {} > {}.txt"),
            [Ok(Placement::ShellUnquoted), Ok(Placement::ShellUnquoted)]
        );
        assert_eq!(
            verdicts("echo \"a {} b\""),
            [Ok(Placement::ShellDoubleQuoted)]
        );
        assert_eq!(verdicts("FOO={} make"), [Ok(Placement::ShellUnquoted)]);
        assert_eq!(verdicts("make 2>&1 {}"), [Ok(Placement::ShellUnquoted)]);
        assert_eq!(verdicts("# note {}\nmake"), [Ok(Placement::ShellUnquoted)]);
        assert_eq!(verdicts("ssh {} uptime"), [Ok(Placement::ShellUnquoted)]);
        assert_eq!(
            verdicts("ssh -p 22 {} uptime"),
            [Ok(Placement::ShellUnquoted)]
        );
        assert_eq!(
            verdicts("sh -c 'echo \"$1\"' sh {}"),
            [Ok(Placement::ShellUnquoted)]
        );
        assert_eq!(
            verdicts("awk -F: '{print $1}' {}"),
            [Ok(Placement::ShellUnquoted)]
        );
        assert_eq!(verdicts("echo $(cat {})"), [Ok(Placement::ShellUnquoted)]);
    }

    /// Whether each `{}` placeholder in `script` stands where it could be read as an option.
    fn option_positions(script: &str) -> Vec<bool> {
        let mut scanner = ShellScanner::new();
        let mut out = Vec::new();
        let mut pieces = script.split("{}").peekable();
        while let Some(piece) = pieces.next() {
            scanner.feed(piece);
            if pieces.peek().is_some() {
                out.push(scanner.option_position().is_some());
                let _ = scanner.value();
            }
        }
        out
    }

    #[test]
    fn a_word_starting_with_a_value_is_an_option_position_until_a_double_dash() {
        assert_eq!(option_positions("wc -c {}"), [true]);
        assert_eq!(option_positions("ls \"{}\" x"), [true]);
        assert_eq!(option_positions("cat {}.txt"), [true]);
        assert_eq!(option_positions("git commit -m {}"), [true]);
        assert_eq!(option_positions("echo {}"), [false]);
        assert_eq!(option_positions("a; rm -f {}"), [true]);
        assert_eq!(option_positions("rm -- {} {}"), [false, false]);
        assert_eq!(option_positions("rm -f -- {}; rm {}"), [false, true]);
        assert_eq!(option_positions("git log --format={}"), [false]);
        assert_eq!(option_positions("cc -o{} x.c"), [false]);
        assert_eq!(option_positions("cat ./{} x{}"), [false, false]);
        assert_eq!(
            option_positions("cat < {} > {} 2>> {}"),
            [false, false, false]
        );
        assert_eq!(option_positions("cat \">\" {}"), [true]);
        assert_eq!(option_positions("cat <<< {}"), [false]);
        assert_eq!(option_positions("make 2>&1 {}"), [true]);
        assert_eq!(option_positions("printf '%s' {}"), [false]);
        assert_eq!(option_positions("printf '<p>%s' {}"), [false]);
        assert_eq!(
            option_positions("mkdir -p {} && printf '<html>\\n  <t>%s</t>' {} {} > {}/x"),
            [true, false, false, false]
        );
        assert_eq!(option_positions("printf {}"), [true]);
        assert_eq!(option_positions("git log --end-of-options {}"), [false]);
        assert_eq!(option_positions("printf got {}"), [false]);
        assert_eq!(option_positions("FOO={} make"), [false]);
        assert_eq!(option_positions("for x in {}; do :; done"), [false]);
        assert_eq!(option_positions("case {} in a) ;; esac"), [false]);
        assert_eq!(option_positions("echo '{}'"), [false]);
        assert_eq!(option_positions("# wc {}\nwc -- {}"), [false, false]);
    }

    #[test]
    fn code_positions_are_unsafe() {
        assert_eq!(verdicts("echo '{}'"), [Err(Unsafe::SingleQuoted)]);
        assert_eq!(verdicts("{} --help"), [Err(Unsafe::CommandName)]);
        assert_eq!(verdicts("./{} --help"), [Err(Unsafe::CommandName)]);
        assert_eq!(verdicts("time -p {}"), [Err(Unsafe::CommandName)]);
        assert_eq!(verdicts("a && {}"), [Err(Unsafe::CommandName)]);
        assert_eq!(verdicts("eval echo {}"), [Err(Unsafe::Eval)]);
        assert_eq!(verdicts("sh -c {}"), [Err(Unsafe::Script)]);
        assert_eq!(verdicts("sh -c \"echo {}\""), [Err(Unsafe::Script)]);
        assert_eq!(verdicts("bash -lc \"{}\""), [Err(Unsafe::Script)]);
        assert_eq!(
            verdicts("/usr/bin/python3 -c \"print({})\""),
            [Err(Unsafe::Script)]
        );
        assert_eq!(verdicts("perl -e {}"), [Err(Unsafe::Script)]);
        assert_eq!(verdicts("xargs sh -c \"{}\""), [Err(Unsafe::Script)]);
        assert_eq!(verdicts("awk \"{}\" file"), [Err(Unsafe::Script)]);
        assert_eq!(verdicts("awk -F: \"{}\" file"), [Err(Unsafe::Script)]);
        assert_eq!(verdicts("ssh host ls {}"), [Err(Unsafe::RemoteCommand)]);
        assert_eq!(verdicts("echo $(( {} + 1 ))"), [Err(Unsafe::Arithmetic)]);
        assert_eq!(verdicts("echo \\{}"), [Err(Unsafe::AfterBackslash)]);
        assert_eq!(
            verdicts("cat <<EOF\ngot {}\nEOF"),
            [Err(Unsafe::HereDocument)]
        );
        assert_eq!(verdicts("cat <<< {}"), [Ok(Placement::ShellUnquoted)]);
        assert_eq!(
            verdicts("cat <<'EOF' > f\n{}\nEOF\necho {}"),
            [Err(Unsafe::HereDocument), Ok(Placement::ShellUnquoted)]
        );
        assert_eq!(
            verdicts("cat <<-EOF\n\t{}\n\tEOF\n{} x"),
            [Err(Unsafe::HereDocument), Err(Unsafe::CommandName)]
        );
    }
}
