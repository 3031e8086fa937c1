//! `wfc graph FILE [WORKFLOW] [--format mermaid|dot]`: a workflow's graph, drawn without
//! parameter values and without running anything; `wfc graph RUN [--format
//! text|mermaid|dot]`: a run's graph with the state of each task ([`super::run_graph`]).
//!
//! What names a file and what names a run: a path that exists, ends in `.wf` or is a stdlib
//! module (`std/NAME`) is a file; anything else is a run (its id, a unique prefix or suffix of
//! it, or `latest`).

use super::output::Output;
use super::run_graph;
use super::store::{self, BackendArgs, Store};
use super::target::load;
use crate::backends::Access;
use std::path::Path;
use std::process::ExitCode;

/// The notations `wfc graph` draws in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A Mermaid flowchart, which GitHub and many Markdown viewers render.
    Mermaid,
    /// A Graphviz digraph, for `dot -Tsvg`.
    Dot,
    /// Lines for the terminal, a state mark per task (a run's graph only).
    Text,
}

/// Runs `wfc graph`.
pub fn run(
    target: &str,
    workflow: Option<&str>,
    format: Option<Format>,
    store: &BackendArgs,
    output: &Output,
) -> ExitCode {
    if names_a_file(target) {
        draw_file(Path::new(target), workflow, format, output)
    } else {
        draw_run(target, workflow, format, store, output)
    }
}

/// Whether `target` names a workflow file rather than a run.
fn names_a_file(target: &str) -> bool {
    Path::new(target).exists()
        || target.ends_with(".wf")
        || target.starts_with("std/")
        || target.contains(std::path::MAIN_SEPARATOR)
}

fn draw_file(
    path: &Path,
    workflow: Option<&str>,
    format: Option<Format>,
    output: &Output,
) -> ExitCode {
    if format == Some(Format::Text) {
        return store::refuse(
            "the text form draws a run's graph (`wfc graph RUN`); draw a file with \
             `--format mermaid` or `--format dot`",
            output,
        );
    }
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
        Some(Format::Dot) => crate::graph::dot(session, id, chosen),
        _ => crate::graph::mermaid(session, id, chosen),
    };
    output.stdout_line(text.trim_end());
    ExitCode::SUCCESS
}

fn draw_run(
    run: &str,
    workflow: Option<&str>,
    format: Option<Format>,
    args: &BackendArgs,
    output: &Output,
) -> ExitCode {
    if let Some(workflow) = workflow {
        return store::refuse(
            &format!(
                "a run has one workflow; `{workflow}` is for drawing a file (`wfc graph FILE \
                 WORKFLOW`)"
            ),
            output,
        );
    }
    let (store, record) = match Store::open_run(args, run, Access::Read, output) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let tasks = match store.backend.list_tasks(&record.id) {
        Ok(tasks) => tasks,
        Err(error) => return store::report(&error, output),
    };
    match format.unwrap_or(Format::Text) {
        Format::Text => {
            for line in run_graph::text(&record.plan, &tasks) {
                output.stdout_line(&line);
            }
        }
        Format::Mermaid => {
            output.stdout_line(run_graph::mermaid(&record.plan, &tasks).trim_end());
        }
        Format::Dot => output.stdout_line(run_graph::dot(&record.plan, &tasks).trim_end()),
    }
    ExitCode::SUCCESS
}
