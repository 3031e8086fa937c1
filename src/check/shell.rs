//! Reading shell text the way `sh` will, to decide for each interpolation whether a value
//! placed there stays data (LANGUAGE.md §5).
//!
//! Values are passed in environment variables and referenced as `"$WF_ARG_n"` (outside
//! quotes) or `${WF_ARG_n}` (inside double quotes), so no value can become syntax. What is
//! still unsafe is a place where the shell would treat the *variable's content* as code or
//! would not expand it at all: inside single quotes, as the command to run, as the argument
//! of `eval` or `sh -c`, inside `$(( ))`, or right after a backslash.

use crate::ir::Placement;

/// Why an interpolation cannot stand where it is in shell text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unsafe {
    /// Inside `'…'`, where nothing expands.
    SingleQuoted,
    /// At the start of a command word: the value would choose the program to run.
    CommandName,
    /// An argument of `eval`, which runs its arguments as shell code.
    Eval,
    /// The argument of `sh -c` (or bash, zsh, dash, ksh), which is shell code.
    ShellDashC,
    /// Inside `$(( … ))`, where the shell evaluates the value as an expression.
    Arithmetic,
    /// Right after a backslash, which would change the quoting around the value.
    AfterBackslash,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Single,
    Double,
}

/// Words after which the next word is still in command position.
const PREFIX_WORDS: [&str; 17] = [
    "if", "then", "else", "elif", "do", "while", "until", "!", "time", "exec", "command", "nohup",
    "env", "sudo", "xargs", "{", "builtin",
];

/// Programs whose `-c` argument is shell code.
const SHELLS: [&str; 5] = ["sh", "bash", "zsh", "dash", "ksh"];

/// A scanner fed the literal text of a shell template piece by piece.
pub(crate) struct ShellScanner {
    quote: Quote,
    escaped: bool,
    in_comment: bool,
    command_start: bool,
    word: String,
    word_started: bool,
    command: Option<String>,
    previous_word: Option<String>,
    /// Open parentheses of a `$(( … ))` being read; zero outside arithmetic.
    arithmetic: usize,
    /// The quoting outside each open `$( … )`, restored when it closes.
    substitutions: Vec<Quote>,
    /// Characters already consumed by a look-ahead.
    skip: usize,
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
            word: String::new(),
            word_started: false,
            command: None,
            previous_word: None,
            arithmetic: 0,
            substitutions: Vec::new(),
            skip: 0,
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
                    self.word_started = true;
                    self.escaped = true;
                }
                '\'' => {
                    self.word_started = true;
                    self.quote = Quote::Single;
                }
                '"' => {
                    self.word_started = true;
                    self.quote = Quote::Double;
                }
                '#' if !self.word_started => self.in_comment = true,
                ' ' | '\t' => self.end_word(),
                '\n' | ';' | '|' | '(' | '`' => self.new_command(),
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
        self.word.push(c);
        self.word_started = true;
    }

    fn end_word(&mut self) {
        if !self.word_started {
            return;
        }
        let word = std::mem::take(&mut self.word);
        self.word_started = false;
        if self.command_start {
            let is_assignment = word.split_once('=').is_some_and(|(name, _)| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
            if !(is_assignment || PREFIX_WORDS.contains(&word.as_str())) {
                self.command_start = false;
                self.command = Some(word.clone());
            }
        }
        self.previous_word = Some(word);
    }

    fn new_command(&mut self) {
        self.end_word();
        self.command_start = true;
        self.command = None;
        self.previous_word = None;
    }

    /// Judges an interpolation at the current position, then treats the value as part of
    /// the current word.
    pub fn value(&mut self) -> Result<Placement, Unsafe> {
        let verdict = if self.quote == Quote::Single {
            Err(Unsafe::SingleQuoted)
        } else if self.escaped {
            Err(Unsafe::AfterBackslash)
        } else if self.arithmetic > 0 {
            Err(Unsafe::Arithmetic)
        } else if self.command_start && self.word.is_empty() {
            Err(Unsafe::CommandName)
        } else if self.command.as_deref() == Some("eval") {
            Err(Unsafe::Eval)
        } else if self
            .command
            .as_deref()
            .is_some_and(|c| SHELLS.contains(&c.rsplit('/').next().unwrap_or(c)))
            && self.previous_word.as_deref() == Some("-c")
            && self.word.is_empty()
        {
            Err(Unsafe::ShellDashC)
        } else if self.quote == Quote::Double {
            Ok(Placement::ShellDoubleQuoted)
        } else {
            Ok(Placement::ShellUnquoted)
        };
        self.escaped = false;
        // The value fills part of a word; a placeholder keeps the word non-empty.
        self.push('\u{0}');
        self.previous = '\u{0}';
        verdict
    }
}
