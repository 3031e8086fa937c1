//! The `wfc` binary.

fn main() -> std::process::ExitCode {
    wfc::cli::main()
}
