//! Aider for the agent tests, from PyPI: installed into a virtual environment in a cache
//! folder, as the npm CLIs are (tests/npm_cli.rs). `tests/all.sh` installs it and names it in
//! `WFC_TEST_AIDER`; run alone, the tests install it themselves once per machine. A failed
//! install fails the tests with the reason: they are never skipped.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The `aider` program, installed if it is missing.
pub fn aider_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(path) = std::env::var_os("WFC_TEST_AIDER") {
            let path = PathBuf::from(path);
            assert!(path.is_file(), "WFC_TEST_AIDER names {}, which does not exist", path.display());
            return path;
        }
        let venv = crate::tools::cache().join("aider-venv");
        let version = crate::tools::pinned("AIDER_VERSION");
        let bin = venv.join("bin").join("aider");
        if !bin.exists() {
            let made = Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv)
                .status()
                .expect("python3 runs (the Aider tests install Aider with it)");
            assert!(made.success(), "python3 -m venv {} failed", venv.display());
            let installed = Command::new(venv.join("bin").join("pip"))
                .args(["install", "--quiet", &format!("aider-chat=={version}")])
                .status()
                .expect("pip runs");
            assert!(installed.success(), "pip install aider-chat=={version} failed; the Aider tests need it (or set WFC_TEST_AIDER)");
        }
        assert!(bin.exists(), "pip installed no {}", bin.display());
        bin
    })
    .clone()
}
