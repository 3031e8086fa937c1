//! The real agent CLIs for the agent tests, from the npm registry.
//!
//! `tests/all.sh` installs them into a cache folder and names each in its variable
//! (`WFC_TEST_CLAUDE`, `WFC_TEST_CODEX`, `WFC_TEST_GEMINI`, `WFC_TEST_OPENCODE`); run alone,
//! the tests install them there themselves (once per machine), so `cargo test` needs only npm. A CLI that cannot be
//! installed fails its tests with the reason: they are never skipped.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// One CLI on npm, pinned to the version the tests were written against (a newer CLI may
/// change its output or its requests).
pub struct NpmCli {
    /// The package, as npm names it.
    pub package: &'static str,
    /// The name of its pinned version in tests/tools.env.
    pub version: &'static str,
    /// The program the package puts in `node_modules/.bin`.
    pub bin: &'static str,
    /// The variable that names an installed program instead.
    pub var: &'static str,
}

/// Anthropic's Claude Code.
pub const CLAUDE_CODE: NpmCli = NpmCli {
    package: "@anthropic-ai/claude-code",
    version: "CLAUDE_CODE_VERSION",
    bin: "claude",
    var: "WFC_TEST_CLAUDE",
};

/// OpenAI's Codex CLI.
pub const CODEX: NpmCli = NpmCli {
    package: "@openai/codex",
    version: "CODEX_VERSION",
    bin: "codex",
    var: "WFC_TEST_CODEX",
};

/// Google's Gemini CLI.
pub const GEMINI: NpmCli = NpmCli {
    package: "@google/gemini-cli",
    version: "GEMINI_CLI_VERSION",
    bin: "gemini",
    var: "WFC_TEST_GEMINI",
};

/// OpenCode.
pub const OPENCODE: NpmCli = NpmCli {
    package: "opencode-ai",
    version: "OPENCODE_VERSION",
    bin: "opencode",
    var: "WFC_TEST_OPENCODE",
};

/// The program of `cli`: the one its variable names, or the cached one, installed if missing.
pub fn npm_bin(cli: &NpmCli) -> PathBuf {
    if let Some(path) = std::env::var_os(cli.var) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{} names {}, which does not exist",
            cli.var,
            path.display()
        );
        return path;
    }
    // Tests run in parallel, and two npm installs into one folder would spoil each other.
    static INSTALLING: Mutex<()> = Mutex::new(());
    let _guard = INSTALLING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let folder = crate::tools::cache().join("npm");
    let bin = folder.join("node_modules/.bin").join(cli.bin);
    if !bin.exists() {
        std::fs::create_dir_all(&folder).expect("create the npm cache folder");
        let spec = format!("{}@{}", cli.package, crate::tools::pinned(cli.version));
        let status = Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--save-exact",
                "--prefix",
            ])
            .arg(&folder)
            .arg(&spec)
            .status()
            .unwrap_or_else(|e| {
                panic!("npm cannot run ({e}); the agent tests install {spec} with it")
            });
        assert!(
            status.success(),
            "`npm install {spec}` failed ({status}); the agent tests need it (or set {})",
            cli.var
        );
    }
    assert!(bin.exists(), "npm installed no {}", bin.display());
    bin
}

/// The `claude` program, installed if it is missing.
pub fn claude_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| npm_bin(&CLAUDE_CODE)).clone()
}

/// The `codex` program, installed if it is missing.
pub fn codex_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| npm_bin(&CODEX)).clone()
}

/// The `gemini` program, installed if it is missing.
pub fn gemini_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| npm_bin(&GEMINI)).clone()
}

/// The `opencode` program, installed if it is missing.
pub fn opencode_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| npm_bin(&OPENCODE)).clone()
}
