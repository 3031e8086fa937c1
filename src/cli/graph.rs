//! `wfc graph FILE [WORKFLOW] [--format mermaid|dot]`: a workflow's graph, drawn without
//! parameter values and without running anything.

use super::output::Output;
use super::target::load;
use std::path::Path;
use std::process::ExitCode;

/// The notations `wfc graph` draws in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A Mermaid flowchart, which GitHub and many Markdown viewers render.
    Mermaid,
    /// A Graphviz digraph, for `dot -Tsvg`.
    Dot,
}

/// Runs `wfc graph`.
pub fn run(path: &Path, workflow: Option<&str>, format: Format, output: &Output) -> ExitCode {
    let loaded = match load(path, output) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let chosen = match loaded.workflow(workflow, output) {
        Ok(chosen) => chosen,
        Err(code) => return code,
    };
    let (session, id) = (&loaded.session, loaded.module);
    let text = match format {
        Format::Mermaid => crate::graph::mermaid(session, id, chosen),
        Format::Dot => crate::graph::dot(session, id, chosen),
    };
    output.stdout_line(text.trim_end());
    ExitCode::SUCCESS
}
