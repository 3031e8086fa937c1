//! The standard library: `.wf` modules under `stdlib/`, embedded in the binary at build time.

include!(concat!(env!("OUT_DIR"), "/stdlib_modules.rs"));

/// The source of the stdlib module `std/NAME`.
pub fn source(name: &str) -> Option<&'static str> {
    MODULES
        .iter()
        .find(|(module, _)| *module == name)
        .map(|(_, source)| *source)
}

/// The names of every stdlib module, sorted.
pub fn names() -> Vec<&'static str> {
    MODULES.iter().map(|(name, _)| *name).collect()
}
