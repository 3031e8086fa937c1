//! The runtime: the ports a run goes through and the model of what it stores.

pub mod agent;
pub mod attempt_process;
pub mod backend;
pub mod engine;
pub mod lifecycle;
pub mod model;
pub mod output_throttle;
pub mod process;
pub mod process_start;
pub mod sandbox;
pub mod serves;
pub mod simple_command;
pub mod transcript;
pub mod values;

pub(crate) use backend::first_taken;
pub use backend::{
    BackendError, BackendErrorKind, BackendResult, NewEvent, ReplanDecision, RunSettled,
    StartWithSuccess, TaskBackend, TaskChange,
};
pub use model::*;
