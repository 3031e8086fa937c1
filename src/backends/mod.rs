//! Task backends: the implementations of the [`TaskBackend`](crate::runtime::TaskBackend) port.

pub mod beads;
pub mod memory;
pub mod sqlite;

pub use beads::BeadsBackend;
pub use memory::MemoryBackend;
pub use sqlite::SqliteBackend;
pub mod url;
pub use url::{open_backend, DEFAULT_BACKEND};
