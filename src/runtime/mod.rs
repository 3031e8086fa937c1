//! The runtime: the ports a run goes through and the model of what it stores.

pub mod backend;
pub mod model;
pub mod process;

pub use backend::{BackendError, BackendErrorKind, BackendResult, NewEvent, TaskBackend};
pub use model::*;
