//! The language server's one integration-test binary: each test starts the real `wfc-lsp`
//! and talks to it over standard input and output, as an editor does.

mod completion;
mod diagnostics;
mod editing;
mod framing;
mod hover;
mod line_endings;
mod loops;
mod navigation;
mod outputs;
mod resilience;
mod support;
mod sweep;
mod unicode;
