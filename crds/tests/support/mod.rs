//! Helpers shared by the integration tests: the CRDs as JSON, the example manifests, and a
//! small checker for the OpenAPI keywords the CRDs use (what the API server enforces before
//! it runs the CEL rules).

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use mcpgw_crds::{McpGateway, McpToolkit};
use serde::Deserialize;
use serde_json::Value;

/// A CRD as JSON.
pub fn crd_json(crd: &CustomResourceDefinition) -> Value {
    serde_json::to_value(crd).unwrap_or_else(|error| panic!("CRD is not JSON: {error}"))
}

/// The `openAPIV3Schema` of a CRD's only version.
pub fn schema_of(crd: &CustomResourceDefinition) -> Value {
    crd_json(crd)
        .pointer("/spec/versions/0/schema/openAPIV3Schema")
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "{} has no openAPIV3Schema",
                crd.metadata.name.as_deref().unwrap_or("?")
            )
        })
}

pub fn gateway_schema() -> Value {
    schema_of(&McpGateway::crd())
}

pub fn toolkit_schema() -> Value {
    schema_of(&McpToolkit::crd())
}

/// Calls `visit(path, node)` for every JSON value under `value`, depth first.
pub fn walk<'a>(value: &'a Value, path: &str, visit: &mut dyn FnMut(&str, &'a Value)) {
    visit(path, value);
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                walk(child, &format!("{path}/{key}"), visit);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                walk(child, &format!("{path}/{index}"), visit);
            }
        }
        _ => {}
    }
}

/// Every `x-kubernetes-validations` rule of a schema: (schema path, rule, message).
pub fn cel_rules(schema: &Value) -> Vec<(String, String, String)> {
    let mut rules = Vec::new();
    walk(schema, "", &mut |path, node| {
        if let Some(list) = node
            .get("x-kubernetes-validations")
            .and_then(Value::as_array)
        {
            for rule in list {
                let text = |key: &str| {
                    rule.get(key)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned()
                };
                rules.push((path.to_owned(), text("rule"), text("message")));
            }
        }
    });
    rules
}

/// The workspace's `examples/k8s` directory.
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/k8s")
}

/// Every document of every `examples/k8s/*.yaml`, as (file name, document).
pub fn example_documents() -> Vec<(String, Value)> {
    let dir = examples_dir();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    paths.sort();
    let mut documents = Vec::new();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{name}: {error}"));
        for document in serde_yaml_ng::Deserializer::from_str(&text) {
            let value = Value::deserialize(document)
                .unwrap_or_else(|error| panic!("{name}: not YAML: {error}"));
            documents.push((name.clone(), value));
        }
    }
    documents
}

/// What the API server's OpenAPI validation would say about `value`, one line per problem:
/// types, required and unknown fields (which the API server would prune silently), enums,
/// bounds, lengths, item counts and patterns. CEL rules are not evaluated here.
pub fn schema_problems(schema: &Value, value: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    check(schema, value, "", &mut problems);
    problems
}

fn check(schema: &Value, value: &Value, path: &str, problems: &mut Vec<String>) {
    let mut problem = |message: String| problems.push(format!("{path}: {message}"));
    if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        if !(value.is_string() || value.is_i64() || value.is_u64()) {
            problem(format!("not an int or a string: {value}"));
        }
        return;
    }
    let kind = schema.get("type").and_then(Value::as_str).unwrap_or("");
    let kind_ok = match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        _ => true,
    };
    if !kind_ok {
        problem(format!("expected {kind}, got {value}"));
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        problem(format!("{value} is not one of {allowed:?}"));
    }
    let number = |key: &str| schema.get(key).and_then(Value::as_f64);
    if let Some(n) = value.as_f64() {
        if number("minimum").is_some_and(|min| n < min) {
            problem(format!("{n} is below the minimum"));
        }
        if number("maximum").is_some_and(|max| n > max) {
            problem(format!("{n} is above the maximum"));
        }
    }
    if let Some(text) = value.as_str() {
        let chars = text.chars().count() as f64;
        if number("minLength").is_some_and(|min| chars < min) {
            problem(format!("{text:?} is shorter than minLength"));
        }
        if number("maxLength").is_some_and(|max| chars > max) {
            problem(format!("{text:?} is longer than maxLength"));
        }
        if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
            let regex = regex::Regex::new(pattern)
                .unwrap_or_else(|error| panic!("{path}: bad pattern {pattern}: {error}"));
            if !regex.is_match(text) {
                problem(format!("{text:?} does not match {pattern}"));
            }
        }
    }
    if let Some(values) = value.as_array() {
        let count = values.len() as f64;
        if number("minItems").is_some_and(|min| count < min) {
            problems.push(format!("{path}: fewer items than minItems"));
        }
        if number("maxItems").is_some_and(|max| count > max) {
            problems.push(format!("{path}: more items than maxItems"));
        }
    }
    if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
        for (index, item) in values.iter().enumerate() {
            check(items, item, &format!("{path}[{index}]"), problems);
        }
    }
    if let Some(fields) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = required.as_str()
                && !fields.contains_key(name)
            {
                problems.push(format!("{path}.{name}: missing required field"));
            }
        }
        for (name, field) in fields {
            let field_path = format!("{path}.{name}");
            match (properties.and_then(|p| p.get(name)), additional) {
                (Some(field_schema), _) => check(field_schema, field, &field_path, problems),
                (None, Some(field_schema)) if field_schema.is_object() => {
                    check(field_schema, field, &field_path, problems)
                }
                // The API server handles these itself; the CRD schema leaves them out.
                _ if path.is_empty()
                    && ["apiVersion", "kind", "metadata"].contains(&name.as_str()) => {}
                _ => problems.push(format!("{field_path}: unknown field")),
            }
        }
    }
}

/// The messages of the CEL rules that `object` breaks (as an update of `old`, if given),
/// evaluated client-side by kube-cel after applying the schema's defaults, as the API
/// server does.
pub fn cel_failures(schema: &Value, object: &Value, old: Option<&Value>) -> Vec<String> {
    match kube::core::cel::Validator::new().validate(schema, object, old) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.iter().map(|error| error.to_string()).collect(),
    }
}
