//! Task backends: the implementations of the [`TaskBackend`](crate::runtime::TaskBackend) port.

pub mod beads;
pub mod memory;
pub mod postgres;
pub mod sqlite;

pub use beads::BeadsBackend;
pub use memory::MemoryBackend;
pub use postgres::PostgresBackend;
pub use sqlite::{Access, SqliteBackend, StoreCheck};
pub mod url;
pub use url::{open_backend, open_backend_with, DEFAULT_BACKEND};
