//! Where the command line writes: data on stdout, diagnostics and messages on stderr,
//! with colour only on a terminal and never under `NO_COLOR`.

use crate::diagnostic::Diagnostic;
use crate::render::{render_human, Style};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// The terminal settings of one command.
pub struct Output {
    style: Style,
}

impl Output {
    /// Settings from the environment: `NO_COLOR`, `COLUMNS`, and whether stderr is a terminal.
    pub fn from_env() -> Self {
        let color = std::io::stderr().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(100);
        Output {
            style: Style { width, color },
        }
    }

    /// Prints a diagnostic to stderr.
    pub fn diagnostic(&self, diagnostic: &Diagnostic, name: &str, text: &str) {
        let rendered = render_human(diagnostic, name, text, self.style);
        let _ = std::io::stderr().write_all(rendered.as_bytes());
    }

    /// Prints a line of data to stdout.
    pub fn stdout_line(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
    }

    /// Prints a message to stderr.
    pub fn error(&self, message: &str) {
        let _ = writeln!(std::io::stderr(), "{message}");
    }

    /// Prints why the command could not run, and returns exit code 2.
    pub fn fail(&self, message: &str) -> ExitCode {
        self.error(&format!("error: {message}"));
        ExitCode::from(2)
    }
}
