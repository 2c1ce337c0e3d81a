//! `docs/crds.md` documents every field, rule message and condition reason of the types.

mod support;

use std::path::Path;

use mcpgw_crds::{condition_type, reason};
use serde_json::Value;
use support::{cel_rules, gateway_schema, toolkit_schema};

fn reference() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/crds.md");
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Dotted paths of the leaf fields of our own types under `node` (Kubernetes' own types,
/// such as Condition and LabelSelector, are documented upstream).
fn leaf_fields(node: &Value, prefix: &str, out: &mut Vec<String>) {
    let Some(properties) = node.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, property) in properties {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let foreign = ["resources", "toolkitSelector", "conditions"].contains(&path.as_str());
        if foreign || property.get("properties").is_none() {
            out.push(path);
        } else {
            leaf_fields(property, &path, out);
        }
    }
}

#[test]
fn reference_lists_every_field() {
    let reference = reference();
    for schema in [gateway_schema(), toolkit_schema()] {
        for part in ["spec", "status"] {
            let mut fields = Vec::new();
            leaf_fields(&schema["properties"][part], "", &mut fields);
            assert!(!fields.is_empty(), "no {part} fields");
            for field in fields {
                assert!(
                    reference.contains(&format!("| `{field}` |")),
                    "{part}.{field} is not in docs/crds.md"
                );
            }
        }
    }
}

#[test]
fn reference_quotes_every_rule_and_message() {
    let reference = reference();
    for schema in [gateway_schema(), toolkit_schema()] {
        for (path, rule, message) in cel_rules(&schema) {
            assert!(
                reference.contains(&format!("`{rule}`")),
                "{path}: rule {rule} is not in docs/crds.md"
            );
            assert!(
                reference.contains(&format!("`{message}`")),
                "{path}: message {message} is not in docs/crds.md"
            );
        }
    }
}

#[test]
fn reference_explains_every_condition_type_and_reason() {
    let reference = reference();
    let names = [
        condition_type::ACCEPTED,
        condition_type::PROGRAMMED,
        condition_type::READY,
        condition_type::RESOLVED_REFS,
        reason::ACCEPTED,
        reason::INVALID,
        reason::SECRET_NOT_FOUND,
        reason::CONFIG_MAP_NOT_FOUND,
        reason::GATEWAY_AUTH_MISSING,
        reason::PROGRAMMED,
        reason::NO_TOOLKITS,
        reason::INVALID_CONFIG,
        reason::PENDING,
        reason::READY,
        reason::SCALED_TO_ZERO,
        reason::GATEWAY_NOT_FOUND,
        reason::NOT_SELECTED,
        reason::DUPLICATE_TOOLKIT_NAME,
        reason::RESOLVED_REFS,
        reason::SERVICE_NOT_FOUND,
        reason::SERVICE_PORT_NOT_FOUND,
    ];
    for name in names {
        assert!(
            reference.contains(&format!("| `{name}` |")),
            "{name} is not in docs/crds.md"
        );
    }
}
