#!/usr/bin/env bash
# The whole test suite, from a fresh machine with Rust: installs what the tests need (once per
# machine, cached under ~/.cache/wfc-tools; every step is skipped when its tool is already
# there), then runs `cargo test` and the VS Code extension's tests. `.ci/run` calls this same
# script. Versions come from tests/tools.env, which the Rust tests read too.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tools.env
source tests/tools.env

TOOLS="${XDG_CACHE_HOME:-$HOME/.cache}/wfc-tools"
mkdir -p "$TOOLS"

say() { printf '== %s\n' "$*"; }

# Debian packages: each is installed only when its program is missing. Installing needs root
# (or sudo); without either, the script names what to install and stops, rather than letting
# the tests fail one by one later.
apt_updated=""
install_package() { # PACKAGE WHAT-NEEDS-IT
  local run_as=()
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      run_as=(sudo -n)
    else
      echo "the tests need $2 (Debian package $1); install it: apt-get install $1" >&2
      exit 1
    fi
  fi
  if [ -z "$apt_updated" ]; then
    "${run_as[@]}" apt-get update -qq
    apt_updated=1
  fi
  say "installing $1 (for $2)"
  "${run_as[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1"
}
need_package() { # PROGRAM PACKAGE
  command -v "$1" >/dev/null 2>&1 || install_package "$2" "\`$1\`"
}

say "packages"
need_package dot graphviz         # validates the DOT drawings of `wfc graph`
need_package npm npm              # the agent CLIs and the VS Code extension
need_package node nodejs
need_package python3 python3      # Aider runs in a virtual environment of its own
need_package chromium chromium    # the extension's typing test drives Monaco in it
need_package bwrap bubblewrap      # `sandbox = "bwrap"` runs tasks under it (tests/sandbox.rs)
python3 -c 'import ensurepip' 2>/dev/null || install_package python3-venv "python3's venv module"

say "agent CLIs"
# The real agent CLIs from npm, at the pinned versions, named for the tests in their variables.
NPM_PREFIX="$TOOLS/npm"
install_npm_cli() { # VARIABLE PACKAGE VERSION PROGRAM
  local bin="$NPM_PREFIX/node_modules/.bin/$4"
  local installed
  installed="$(node -p "require('$NPM_PREFIX/node_modules/$2/package.json').version" 2>/dev/null || true)"
  if [ ! -x "$bin" ] || [ "$installed" != "$3" ]; then
    npm install --no-audit --no-fund --save-exact --prefix "$NPM_PREFIX" "$2@$3"
  fi
  export "$1=$bin"
  echo "$2@$3: $bin"
}
install_npm_cli WFC_TEST_CLAUDE @anthropic-ai/claude-code "$CLAUDE_CODE_VERSION" claude
install_npm_cli WFC_TEST_CODEX @openai/codex "$CODEX_VERSION" codex
install_npm_cli WFC_TEST_GEMINI @google/gemini-cli "$GEMINI_CLI_VERSION" gemini
install_npm_cli WFC_TEST_OPENCODE opencode-ai "$OPENCODE_VERSION" opencode

say "aider"
AIDER_VENV="$TOOLS/aider-venv"
if [ ! -x "$AIDER_VENV/bin/aider" ] ||
  [ "$("$AIDER_VENV/bin/pip" show aider-chat 2>/dev/null | sed -n 's/^Version: //p')" != "$AIDER_VERSION" ]; then
  python3 -m venv "$AIDER_VENV"
  "$AIDER_VENV/bin/pip" install --quiet "aider-chat==$AIDER_VERSION"
fi
export WFC_TEST_AIDER="$AIDER_VENV/bin/aider"
echo "aider-chat@$AIDER_VERSION: $WFC_TEST_AIDER"

say "beads (br)"
# br, built from crates.io once into the cache. The flags are needed: `--locked` keeps the
# dependency versions br was released with, and RUSTC_BOOTSTRAP with --ignore-rust-version let
# the toolchain at hand build it.
BR_ROOT="$TOOLS/br"
export WFC_TEST_BR="$BR_ROOT/bin/br"
if [ ! -x "$WFC_TEST_BR" ] || ! "$WFC_TEST_BR" --version | grep -qF "$BEADS_RUST_VERSION"; then
  RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$TOOLS/br-build" \
    cargo install beads_rust --version "$BEADS_RUST_VERSION" --locked --ignore-rust-version \
    --root "$BR_ROOT"
fi
"$WFC_TEST_BR" --version

say "postgres"
# The PostgreSQL server every machine of this project runs (trust auth, database `test`); the
# Postgres tests each make a schema of their own in it and drop it afterwards.
export WFC_TEST_POSTGRES_URL="${WFC_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
if ! command -v pg_isready >/dev/null || ! pg_isready -q -d "$WFC_TEST_POSTGRES_URL"; then
  echo "note: no PostgreSQL answers at $WFC_TEST_POSTGRES_URL; the Postgres tests will say so" >&2
fi

say "cargo test"
cargo test --locked --no-fail-fast

say "editor extension"
# The extension's tests: the TextMate grammar against its fixtures, typing into Monaco (VS
# Code's editor) in headless Chromium with the extension's language configuration, the
# client's types, and a .vsix that bundles the client. `npm ci` runs only when node_modules is missing or was
# installed from another package-lock.json (a stamp inside node_modules records which).
(
  cd editors/vscode
  lock="$(sha256sum package-lock.json | cut -d' ' -f1)"
  if [ "$(cat node_modules/.wfc-lock-stamp 2>/dev/null)" != "$lock" ]; then
    npm ci --no-audit --no-fund
    echo "$lock" >node_modules/.wfc-lock-stamp
  fi
  npm run test:grammar
  npm run test:typing
  npm run check
  npm run package
)
say "all tests passed"
