//! Syntax: from `.wf` text to a syntax tree with byte spans, never panicking, recovering
//! after mistakes so one typo yields one error.

pub mod ast;
pub mod chunks;
pub mod parser;
pub mod scan;
pub mod strings;
pub mod syntax_error;

pub use parser::{decode, parse, Parsed};
