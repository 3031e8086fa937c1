//! Keeping one failing request from taking the server down, and its failure from showing
//! the document's text.
//!
//! A panic inside a handler would unwind through the server's message loop and end the
//! process, losing every open document. Each handler's work runs inside [`guarded`], which
//! turns a panic into an error response for that request alone. The response says only which
//! request failed: a panic's message may quote the text it was reading (the standard
//! library's string-slicing panics do), and the text is the user's, possibly secret. The log
//! on standard error gets the panic's place and its message up to the first quoted text
//! ([`log_panics`]).

use std::panic::{catch_unwind, AssertUnwindSafe, PanicHookInfo};
use tower_lsp_server::jsonrpc;

/// Runs `work`, answering an internal error instead of unwinding if it panics.
pub fn guarded<T>(request: &str, work: impl FnOnce() -> T) -> jsonrpc::Result<T> {
    // The handlers only read shared state through `Arc`s and take locks that recover from
    // poisoning, so nothing they leave half-done is observed after a panic.
    catch_unwind(AssertUnwindSafe(work)).map_err(|_| {
        eprintln!("wfc-lsp: {request} failed");
        let mut error = jsonrpc::Error::internal_error();
        error.message =
            format!("wfc-lsp: {request} failed with an internal error; its log says where").into();
        error
    })
}

/// Replaces the default panic message on standard error with one that never quotes text.
pub fn log_panics() {
    std::panic::set_hook(Box::new(|info| eprintln!("{}", describe(info))));
}

/// Where a panic happened and what it said, cut before anything it quotes.
fn describe(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic");
    let place = info
        .location()
        .map_or_else(String::new, |l| format!(" at {}:{}", l.file(), l.line()));
    format!("wfc-lsp: panicked{place}: {}", unquoted(message))
}

/// `message` up to its first quotation (`` ` ``, `'` or `"`), which is where the standard
/// library's messages quote the text they were given.
fn unquoted(message: &str) -> &str {
    match message.find(['`', '\'', '"']) {
        Some(at) => message[..at].trim_end(),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::unquoted;

    #[test]
    fn a_slicing_message_keeps_its_place_and_loses_the_text() {
        let message =
            "byte index 1 is not a char boundary; it is inside 'é' (bytes 0..2) of `é secret`";
        assert_eq!(
            unquoted(message),
            "byte index 1 is not a char boundary; it is inside"
        );
        assert_eq!(unquoted("no quotes here"), "no quotes here");
    }
}
