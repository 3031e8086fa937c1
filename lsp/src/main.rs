//! `wfc-lsp`: the language server for `.wf` workflow templates, speaking LSP on standard
//! input and output. It reuses the compiler's parser, checker and formatter; see the
//! language-server section of `docs/architecture.md`.

mod analysis;
mod completion;
mod cursor;
mod definition;
mod diagnostics;
mod documents;
mod formatting;
mod framing;
mod guard;
mod hover;
mod incoming;
mod index;
mod module_uri;
mod outputs;
mod overlay;
mod position;
mod rename;
mod scheduler;
mod server;
mod state;
mod stdio;
mod symbols;
mod text_diff;
mod view;
mod word_docs;

use module_uri::ModuleUris;
use state::State;

#[tokio::main]
async fn main() {
    if std::env::args()
        .skip(1)
        .any(|a| a == "--version" || a == "-V")
    {
        println!("wfc-lsp {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    guard::log_panics();
    let (service, socket) = server::service(State::new(ModuleUris::from_environment()));
    stdio::serve(service, socket).await;
    // The reader may still be blocked reading standard input, on a thread that cannot be
    // cancelled, and returning would wait for it (an editor that sent `exit` need not close
    // the pipe): every answer is written, so the process ends here.
    std::process::exit(0);
}
