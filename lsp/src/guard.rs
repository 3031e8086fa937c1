//! Keeping one failing request from taking the server down.
//!
//! A panic inside a handler would unwind through the server's message loop and end the
//! process, losing every open document. Each handler's work runs inside [`guarded`], which
//! turns a panic into an error response for that request alone.

use std::panic::{catch_unwind, AssertUnwindSafe};
use tower_lsp_server::jsonrpc;

/// Runs `work`, answering an internal error instead of unwinding if it panics.
pub fn guarded<T>(request: &str, work: impl FnOnce() -> T) -> jsonrpc::Result<T> {
    // The handlers only read shared state through `Arc`s and take locks that recover from
    // poisoning, so nothing they leave half-done is observed after a panic.
    catch_unwind(AssertUnwindSafe(work)).map_err(|payload| {
        let why = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_string());
        eprintln!("wfc-lsp: {request} failed: {why}");
        let mut error = jsonrpc::Error::internal_error();
        error.message = format!("wfc-lsp: {request} failed: {why}").into();
        error
    })
}
