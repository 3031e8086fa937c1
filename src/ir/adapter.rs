//! The agent adapters a profile may name, and the settings each accepts.

use std::fmt;

/// A built-in agent adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Adapter {
    /// Anthropic's Claude Code CLI (`claude -p`).
    ClaudeCode,
    /// OpenAI's Codex CLI (`codex exec`).
    Codex,
    /// Google's Gemini CLI (`gemini -p`).
    Gemini,
    /// Aider (`aider --message-file`).
    Aider,
    /// OpenCode (`opencode run`).
    Opencode,
    /// Cursor's agent CLI (`cursor-agent -p`).
    Cursor,
    /// Any program: the prompt on its stdin.
    Command,
    /// A person, who answers with `wfc approve` / `wfc reject`.
    Human,
}

/// The type of an adapter setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettingKind {
    /// A string.
    String,
    /// A non-negative integer.
    Int,
    /// A list of strings.
    Strings,
    /// A map of strings.
    Map,
}

impl fmt::Display for SettingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SettingKind::String => "a string",
            SettingKind::Int => "a number",
            SettingKind::Strings => "a list of strings",
            SettingKind::Map => "a map of strings",
        })
    }
}

/// Settings every CLI adapter accepts.
const CLI_SETTINGS: [(&str, SettingKind); 6] = [
    ("model", SettingKind::String),
    ("args", SettingKind::Strings),
    ("env", SettingKind::Map),
    ("pass_env", SettingKind::Strings),
    ("bin", SettingKind::String),
    ("max_parallel", SettingKind::Int),
];

impl Adapter {
    /// Every adapter, in the order users read them.
    pub const ALL: [Adapter; 8] = [
        Adapter::ClaudeCode,
        Adapter::Codex,
        Adapter::Gemini,
        Adapter::Aider,
        Adapter::Opencode,
        Adapter::Cursor,
        Adapter::Command,
        Adapter::Human,
    ];

    /// The adapter's name as written in `adapter = "…"`.
    pub fn name(self) -> &'static str {
        match self {
            Adapter::ClaudeCode => "claude-code",
            Adapter::Codex => "codex",
            Adapter::Gemini => "gemini",
            Adapter::Aider => "aider",
            Adapter::Opencode => "opencode",
            Adapter::Cursor => "cursor",
            Adapter::Command => "command",
            Adapter::Human => "human",
        }
    }

    /// The adapter called `name`.
    pub fn from_name(name: &str) -> Option<Adapter> {
        Adapter::ALL
            .into_iter()
            .find(|adapter| adapter.name() == name)
    }

    /// The settings this adapter accepts besides `adapter`, with their types.
    pub fn settings(self) -> Vec<(&'static str, SettingKind)> {
        let mut settings = match self {
            Adapter::Command => {
                return vec![
                    ("command", SettingKind::Strings),
                    ("env", SettingKind::Map),
                    ("pass_env", SettingKind::Strings),
                    ("max_parallel", SettingKind::Int),
                ];
            }
            Adapter::Human => return Vec::new(),
            _ => CLI_SETTINGS.to_vec(),
        };
        match self {
            Adapter::ClaudeCode => settings.extend([
                ("max_turns", SettingKind::Int),
                ("allow", SettingKind::Strings),
                ("deny", SettingKind::Strings),
                ("permission_mode", SettingKind::String),
            ]),
            Adapter::Codex => settings.push(("sandbox", SettingKind::String)),
            Adapter::Gemini => settings.push(("approval_mode", SettingKind::String)),
            _ => {}
        }
        settings
    }

    /// Settings that must be present.
    pub fn required_settings(self) -> &'static [&'static str] {
        match self {
            Adapter::Command => &["command"],
            _ => &[],
        }
    }
}

impl fmt::Display for Adapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
