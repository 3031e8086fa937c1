//! Embeds every `stdlib/*.wf` module in the binary, so `std/NAME` works from any folder.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let stdlib = Path::new(&root).join("stdlib");
    println!("cargo:rerun-if-changed={}", stdlib.display());
    let mut names: Vec<String> = std::fs::read_dir(&stdlib)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| {
                    let path = entry.path();
                    println!("cargo:rerun-if-changed={}", path.display());
                    let name = path.file_name()?.to_str()?.strip_suffix(".wf")?.to_string();
                    Some(name)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut code = String::from("/// Every stdlib module: its name (`std/NAME`) and its source.\npub static MODULES: &[(&str, &str)] = &[\n");
    for name in &names {
        let path = stdlib.join(format!("{name}.wf"));
        let _ = writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    code.push_str("];\n");
    let out = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    if let Err(error) = std::fs::write(Path::new(&out).join("stdlib_modules.rs"), code) {
        println!("cargo:warning=cannot write the stdlib table: {error}");
        std::process::exit(1);
    }
}
