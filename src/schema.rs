//! JSON Schema of a workflow's parameters, for `wfc list --json` and for tools that build
//! parameter files or forms.

use crate::ir::{Type, Workflow};
use serde_json::{json, Map, Value};

/// The JSON Schema (draft 2020-12) of an object holding `workflow`'s parameter values.
pub fn params_schema(workflow: &Workflow) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for param in &workflow.params {
        let mut schema = type_schema(&param.ty);
        if let (Some(pattern), Some(object)) = (&param.pattern, schema.as_object_mut()) {
            let anchored = format!("^(?:{pattern})$");
            match object.get_mut("items").and_then(Value::as_object_mut) {
                Some(items) => {
                    items.insert("pattern".into(), Value::String(anchored));
                }
                None => {
                    object.insert("pattern".into(), Value::String(anchored));
                }
            }
        }
        if let Some(object) = schema.as_object_mut() {
            if let Some(docs) = &param.docs {
                object.insert("description".into(), Value::String(docs.clone()));
            }
            if let Some(default) = &param.default {
                object.insert(
                    "default".into(),
                    serde_json::to_value(default).unwrap_or(Value::Null),
                );
            }
            object.insert("x-wfc-type".into(), Value::String(param.ty.to_string()));
        }
        if param.default.is_none() {
            required.push(Value::String(param.name.clone()));
        }
        properties.insert(param.name.clone(), schema);
    }
    let mut schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": workflow.name,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    });
    if let (Some(docs), Some(object)) = (&workflow.docs, schema.as_object_mut()) {
        object.insert("description".into(), Value::String(docs.clone()));
    }
    schema
}

/// The JSON Schema of a value of type `ty`: a parameter's, or a task's typed output (where
/// records require every field and allow no other).
pub fn type_schema(ty: &Type) -> Value {
    match ty {
        Type::String | Type::Text | Type::Path | Type::Error => json!({ "type": "string" }),
        Type::Secret => json!({ "type": "string", "writeOnly": true }),
        Type::Int => json!({ "type": "integer" }),
        Type::Bool => json!({ "type": "boolean" }),
        Type::Enum(values) => json!({ "type": "string", "enum": values }),
        Type::List(element) => json!({ "type": "array", "items": type_schema(element) }),
        Type::Record(fields) => {
            let properties: Map<String, Value> = fields
                .iter()
                .map(|(name, ty)| (name.clone(), type_schema(ty)))
                .collect();
            let required: Vec<&str> = fields.iter().map(|(name, _)| name.as_str()).collect();
            json!({
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": false,
            })
        }
    }
}
