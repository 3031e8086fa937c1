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

/// Why `std/NAME` names no module: the closest name when `name` looks like a typo of one, and
/// every module there is.
pub fn no_such_module(name: &str) -> String {
    let names = names();
    let typo = crate::suggest::closest(name, names.iter().copied())
        .map(|best| format!(" (did you mean `std/{best}`?)"))
        .unwrap_or_default();
    let all: Vec<String> = names.iter().map(|n| format!("`std/{n}`")).collect();
    format!(
        "there is no stdlib module `std/{name}`{typo}; the stdlib has {}",
        all.join(", ")
    )
}
