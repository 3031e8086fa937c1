//! Task backends: the implementations of the [`TaskBackend`](crate::runtime::TaskBackend) port.

pub mod memory;

pub use memory::MemoryBackend;
