//! Task backends: the implementations of the [`TaskBackend`](crate::runtime::TaskBackend) port.

pub mod memory;
pub mod sqlite;

pub use memory::MemoryBackend;
pub use sqlite::SqliteBackend;
