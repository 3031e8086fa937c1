//! The real Claude Code CLI for the agent tests, from the npm registry.
//!
//! `.ci/run` installs it into a cache folder and names it in `WFC_TEST_CLAUDE`; run alone, the
//! tests install it there themselves (once per machine), so `cargo test` needs only npm.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The version the tests were written against; a newer CLI may change its output.
pub const CLAUDE_CODE_VERSION: &str = "2.1.197";

/// The folder npm installs into.
fn cache() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .expect("HOME is set");
    base.join("wfc-tools").join("npm")
}

/// The `claude` program, installed if it is missing.
pub fn claude_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(path) = std::env::var_os("WFC_TEST_CLAUDE") {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "WFC_TEST_CLAUDE names {}, which does not exist",
                path.display()
            );
            return path;
        }
        let folder = cache();
        let bin = folder.join("node_modules/.bin/claude");
        if !bin.exists() {
            std::fs::create_dir_all(&folder).expect("create the npm cache folder");
            let status = Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--prefix"])
                .arg(&folder)
                .arg(format!("@anthropic-ai/claude-code@{CLAUDE_CODE_VERSION}"))
                .status()
                .expect("npm runs (the agent tests install Claude Code with it)");
            assert!(
                status.success(),
                "npm install @anthropic-ai/claude-code failed"
            );
        }
        assert!(bin.exists(), "npm installed no {}", bin.display());
        bin
    })
    .clone()
}
