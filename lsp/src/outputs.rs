//! Typed task outputs in the editor (GRAMMAR.md, "Typed outputs"): the type a task declares
//! with `output:`, and the type of a field read from it, for hover and completion.

use crate::documents::Analyses;
use wfc::ir::{NodeKind, Type};

/// The type task `task` of workflow `workflow` declares with `output:`, from the first
/// analysis that knows it.
pub fn declared(analyses: &Analyses, workflow: &str, task: &str) -> Option<Type> {
    analyses.all().find_map(|analysis| {
        let (_, workflow) = analysis.module().ir.workflow(workflow)?;
        let (_, node) = workflow.node(task)?;
        match &node.kind {
            NodeKind::Task(task) => task.output.clone(),
            _ => None,
        }
    })
}

/// The type at `fields` inside a value of type `ty`: each field is one of a record's.
pub fn field_type(ty: &Type, fields: &[String]) -> Option<Type> {
    fields.iter().try_fold(ty.clone(), |ty, field| match ty {
        Type::Record(record) => record
            .into_iter()
            .find(|(name, _)| name == field)
            .map(|(_, ty)| ty),
        _ => None,
    })
}

/// The fields of a record type, with their types; none for any other type.
pub fn fields(ty: &Type) -> Vec<(String, Type)> {
    match ty {
        Type::Record(record) => record.clone(),
        _ => Vec::new(),
    }
}
