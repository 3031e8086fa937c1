//! `wfc`: a compiler and runtime for workflow templates that coding agents execute.
//!
//! The pipeline (see `docs/architecture.md`): [`syntax`] turns text into a syntax tree,
//! [`check`] lowers it into the typed [`ir`] and reports diagnostics, [`fmt`] prints the
//! canonical layout. The core modules do no I/O; [`cli`] reads files and prints.

pub mod agents;
pub mod backends;
pub mod check;
pub mod cli;
pub mod diagnostic;
pub mod events;
pub mod fmt;
pub mod graph;
pub mod ir;
pub mod isolation;
pub mod plan;
pub mod render;
pub mod runtime;
pub mod schema;
pub mod shell_word;
pub mod span;
pub mod stdlib;
pub mod suggest;
pub mod syntax;
pub mod user_file;
pub mod workspace_path;
pub mod workspaces;
