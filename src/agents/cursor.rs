//! The `cursor` adapter: Cursor's agent CLI in print mode.
//!
//! `cursor-agent -p --output-format json --trust --force`, the prompt on stdin. On success it
//! prints one result object in Claude Code's shape (`type`, `subtype`, `is_error`, `result`,
//! `session_id`, newer builds `usage`); on failure it exits non-zero with a message on stderr
//! and no JSON (cursor.com/docs/cli/reference/output-format). `--force` runs actions without
//! approval: print mode would otherwise reject whatever needs one.

use super::claude::StreamParser;
use super::cli::{CliAgent, CliInfo, SessionParser};
use super::profile::Profile;
use crate::runtime::sandbox::HomePath;
use std::ffi::OsString;
use std::path::PathBuf;

/// The Cursor agent adapter.
pub struct Cursor;

/// Cursor's names, variables and hints.
const INFO: CliInfo = CliInfo {
    name: "cursor",
    default_bin: "cursor-agent",
    install_hint: "Install Cursor's CLI (`curl https://cursor.com/install -fsS | bash`) so that `cursor-agent` is on PATH, or set `bin` in the agent profile (newer builds name it `agent`)",
    key_vars: &["CURSOR_API_KEY"],
    config_vars: &[],
    login_hint: "set CURSOR_API_KEY, or run `cursor-agent login` once",
    // Cursor's CLI keeps its login and settings in `~/.cursor` and `~/.config/cursor`.
    home_paths: &[
        HomePath { path: ".cursor", writable: true },
        HomePath { path: ".config/cursor", writable: true },
    ],
    path_vars: &[],
};

impl CliAgent for Cursor {
    fn info(&self) -> &'static CliInfo {
        &INFO
    }

    fn args(&self, profile: &Profile<'_>, _prompt_file: Option<&PathBuf>) -> Vec<OsString> {
        let mut args: Vec<OsString> = ["-p", "--output-format", "json", "--trust", "--force"]
            .into_iter()
            .map(OsString::from)
            .collect();
        if let Some(model) = profile.string("model") {
            args.push("--model".into());
            args.push(model.into());
        }
        args
    }

    fn parser(&self) -> Box<dyn SessionParser> {
        // The one JSON object it prints is a `result` event in Claude Code's format.
        Box::new(StreamParser::new("cursor-agent"))
    }
}
