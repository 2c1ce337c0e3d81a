//! The generated CRDs: what the API server will accept and what users will see.

mod support;

use kube::CustomResourceExt;
use kube::core::cel::{ScopeContext, analyze_rule, compile_schema};
use mcpgw_crds::{McpGateway, McpToolkit, crds};
use serde_json::{Value, json};
use support::{cel_rules, crd_json, gateway_schema, schema_of, toolkit_schema, walk};

#[test]
fn schemas_have_no_unsigned_integer_formats() {
    for crd in crds() {
        walk(&crd_json(&crd), "", &mut |path, node| {
            if let Some(format) = node.get("format").and_then(Value::as_str) {
                assert!(
                    !format.starts_with("uint"),
                    "{path}: format {format} makes the API server warn"
                );
            }
        });
    }
}

#[test]
fn integers_are_int32_or_int64() {
    for crd in crds() {
        walk(&schema_of(&crd), "", &mut |path, node| {
            if node.get("type") == Some(&json!("integer")) {
                let format = node.get("format").and_then(Value::as_str);
                assert!(
                    matches!(format, Some("int32" | "int64")),
                    "{path}: integer with format {format:?}"
                );
            }
        });
    }
}

/// What the API server requires of a structural schema, as far as our types can break it:
/// every node typed (or int-or-string), and none of the keywords a structural schema forbids.
#[test]
fn schemas_are_structural() {
    for crd in crds() {
        let schema = schema_of(&crd);
        let check = |path: &str, node: &Value| {
            for keyword in [
                "$ref",
                "$schema",
                "definitions",
                "$defs",
                "oneOf",
                "anyOf",
                "allOf",
            ] {
                assert!(node.get(keyword).is_none(), "{path}: has {keyword}");
            }
            let typed = node.get("type").is_some()
                || node.get("x-kubernetes-int-or-string") == Some(&json!(true));
            assert!(typed, "{path}: no type");
        };
        check("", &schema);
        walk(&schema, "", &mut |path, node| {
            if let Some(properties) = node.get("properties").and_then(Value::as_object) {
                for (name, property) in properties {
                    check(&format!("{path}/properties/{name}"), property);
                }
            }
            for key in ["items", "additionalProperties"] {
                if let Some(child) = node.get(key).filter(|child| child.is_object()) {
                    check(&format!("{path}/{key}"), child);
                }
            }
        });
    }
}

/// An explicit `null` for an optional field is dropped by the API server (the field is
/// left out) only when the schema does not mark it `nullable`.
#[test]
fn optional_spec_fields_are_not_nullable() {
    for crd in crds() {
        let spec = schema_of(&crd)
            .pointer("/properties/spec")
            .cloned()
            .unwrap_or_default();
        walk(&spec, "/properties/spec", &mut |path, node| {
            assert!(node.get("nullable").is_none(), "{path}: nullable");
        });
    }
}

#[test]
fn every_field_of_our_types_has_a_description() {
    // Below these, the types are Kubernetes' own (documented by k8s-openapi).
    let foreign = ["/conditions/items", "/resources/", "/toolkitSelector/"];
    for crd in crds() {
        let schema = schema_of(&crd);
        assert!(
            schema.get("description").is_some(),
            "{}: no description",
            crd.spec.names.kind
        );
        walk(&schema, "", &mut |path, node| {
            if foreign.iter().any(|prefix| path.contains(prefix)) {
                return;
            }
            if let Some(properties) = node.get("properties").and_then(Value::as_object) {
                for (name, property) in properties {
                    let described = property
                        .get("description")
                        .and_then(Value::as_str)
                        .is_some_and(|text| !text.trim().is_empty());
                    assert!(described, "{path}/properties/{name}: no description");
                }
            }
        });
    }
}

#[test]
fn defaults_are_in_the_schema() {
    let gateway = gateway_schema();
    let toolkit = toolkit_schema();
    let default = |schema: &Value, pointer: &str| {
        schema
            .pointer(&format!("/properties/spec{pointer}/default"))
            .cloned()
    };
    assert_eq!(
        default(&gateway, "/properties/listener/properties/port"),
        Some(json!(7114))
    );
    assert_eq!(
        default(&gateway, "/properties/listener/properties/path"),
        Some(json!("/mcp"))
    );
    assert_eq!(
        default(&gateway, "/properties/listener"),
        Some(json!({ "port": 7114, "path": "/mcp" }))
    );
    assert_eq!(default(&gateway, "/properties/replicas"), Some(json!(1)));
    assert_eq!(
        default(&gateway, "/properties/serviceType"),
        Some(json!("ClusterIP"))
    );
    assert_eq!(
        default(&gateway, "/properties/sessionKeySecretRef/properties/key"),
        Some(json!("session.key"))
    );
    assert_eq!(
        default(&toolkit, "/properties/timeout"),
        Some(json!("PT60S"))
    );
    assert_eq!(
        default(
            &toolkit,
            "/properties/upstream/properties/service/properties/path"
        ),
        Some(json!("/mcp"))
    );
}

#[test]
fn cel_rules_carry_their_messages() {
    let toolkit = cel_rules(&toolkit_schema());
    let has = |rules: &[(String, String, String)], path: &str, rule: &str, message: &str| {
        rules
            .iter()
            .any(|(p, r, m)| p == path && r == rule && m == message)
    };
    assert!(
        has(
            &toolkit,
            "/properties/spec/properties/toolkit",
            "self == oldSelf",
            "toolkit name is immutable"
        ),
        "{toolkit:#?}"
    );
    assert!(
        has(
            &toolkit,
            "/properties/spec/properties/upstream",
            "has(self.url) != has(self.service)",
            "set exactly one of upstream.url and upstream.service"
        ),
        "{toolkit:#?}"
    );
    assert!(
        toolkit.iter().any(
            |(path, _, message)| path == "/properties/spec/properties/timeout"
                && message.starts_with("must be an ISO-8601 duration longer than zero")
        ),
        "{toolkit:#?}"
    );
    let gateway = cel_rules(&gateway_schema());
    assert!(
        gateway.iter().any(|(path, rule, message)| path.is_empty()
            && rule.contains("self.metadata.name")
            && message.starts_with("McpGateway names must be DNS-1035 labels")),
        "{gateway:#?}"
    );
    // Every rule says what is wrong in words, not as the failed expression.
    for (path, rule, message) in toolkit.iter().chain(&gateway) {
        assert!(!message.is_empty(), "{path}: rule {rule} has no message");
    }
}

#[test]
fn cel_rules_compile_use_only_self_and_old_self_and_stay_within_the_cost_budget() {
    for crd in crds() {
        let schema = schema_of(&crd);
        walk(&schema, "", &mut |path, node| {
            let Some(rules) = node
                .get("x-kubernetes-validations")
                .and_then(Value::as_array)
            else {
                return;
            };
            let compiled = compile_schema(node);
            assert!(
                !compiled.has_errors(),
                "{path}: {:?}",
                compiled.compilation_errors()
            );
            for rule in rules {
                let rule = rule.get("rule").and_then(Value::as_str).unwrap_or("");
                let warnings = analyze_rule(rule, &compiled, ScopeContext::CrdValidation);
                assert!(warnings.is_empty(), "{path}: {rule}: {warnings:?}");
            }
        });
    }
}

#[test]
fn conditions_are_list_maps_keyed_by_type() {
    for crd in crds() {
        let conditions = schema_of(&crd)
            .pointer("/properties/status/properties/conditions")
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            conditions.get("x-kubernetes-list-type"),
            Some(&json!("map"))
        );
        assert_eq!(
            conditions.get("x-kubernetes-list-map-keys"),
            Some(&json!(["type"]))
        );
    }
}

#[test]
fn both_kinds_are_namespaced_in_mcpgw_dev_v1alpha1_with_a_status_subresource() {
    for crd in crds() {
        let json = crd_json(&crd);
        assert_eq!(json.pointer("/spec/group"), Some(&json!("mcpgw.dev")));
        assert_eq!(json.pointer("/spec/scope"), Some(&json!("Namespaced")));
        assert_eq!(
            json.pointer("/spec/versions/0/name"),
            Some(&json!("v1alpha1"))
        );
        assert_eq!(
            json.pointer("/spec/versions/0/subresources/status"),
            Some(&json!({}))
        );
        assert_eq!(
            json.pointer("/spec/names/categories"),
            Some(&json!(["mcpgw"]))
        );
    }
}

fn columns(crd: &Value) -> Vec<(String, String)> {
    let columns = crd.pointer("/spec/versions/0/additionalPrinterColumns");
    columns
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|column| {
            let text = |key: &str| {
                column
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            };
            (text("name"), text("jsonPath"))
        })
        .collect()
}

fn pair(name: &str, json_path: &str) -> (String, String) {
    (name.to_owned(), json_path.to_owned())
}

#[test]
fn gateway_has_its_short_name_and_columns() {
    let crd = crd_json(&McpGateway::crd());
    assert_eq!(
        crd.pointer("/metadata/name"),
        Some(&json!("mcpgateways.mcpgw.dev"))
    );
    assert_eq!(
        crd.pointer("/spec/names/shortNames"),
        Some(&json!(["mcpgtw"]))
    );
    assert_eq!(
        columns(&crd),
        vec![
            pair("Ready", r#".status.conditions[?(@.type=="Ready")].status"#),
            pair("Toolkits", ".status.toolkits"),
            pair("Endpoint", ".status.endpoint"),
            pair("Age", ".metadata.creationTimestamp"),
        ]
    );
}

#[test]
fn toolkit_has_its_short_name_columns_and_selectable_fields() {
    let crd = crd_json(&McpToolkit::crd());
    assert_eq!(
        crd.pointer("/metadata/name"),
        Some(&json!("mcptoolkits.mcpgw.dev"))
    );
    assert_eq!(
        crd.pointer("/spec/names/shortNames"),
        Some(&json!(["mcptk"]))
    );
    assert_eq!(
        columns(&crd),
        vec![
            pair("Gateway", ".spec.gateway"),
            pair("Toolkit", ".spec.toolkit"),
            pair(
                "Accepted",
                r#".status.conditions[?(@.type=="Accepted")].status"#
            ),
            pair(
                "ResolvedRefs",
                r#".status.conditions[?(@.type=="ResolvedRefs")].status"#
            ),
            pair("Age", ".metadata.creationTimestamp"),
        ]
    );
    assert_eq!(
        crd.pointer("/spec/versions/0/selectableFields"),
        Some(&json!([{ "jsonPath": ".spec.gateway" }, { "jsonPath": ".spec.toolkit" }]))
    );
}
