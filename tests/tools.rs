//! The outside tools the tests drive: their pinned versions (tests/tools.env, shared with
//! tests/all.sh, which installs them) and the cache folder they are installed into.

use std::path::PathBuf;

/// The pinned value named `name` in tests/tools.env.
pub fn pinned(name: &str) -> &'static str {
    include_str!("tools.env")
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
        .unwrap_or_else(|| panic!("tests/tools.env pins no {name}"))
}

/// `~/.cache/wfc-tools` (or under `XDG_CACHE_HOME`): where tests/all.sh installs the tools,
/// once per machine.
pub fn cache() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .expect("HOME is set")
        .join("wfc-tools")
}
