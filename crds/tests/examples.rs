//! The manifests in `examples/k8s/`: they are what the types and the schemas accept, and
//! resources survive a trip through JSON and YAML.

mod support;

use kube::Resource;
use mcpgw_crds::{
    Listener, McpGateway, McpGatewaySpec, McpGatewayStatus, McpToolkit, McpToolkitSpec,
    McpToolkitStatus, SecretKeyReference, ServiceReference, ServiceType, Upstream, condition_type,
    reason,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use support::{cel_failures, example_documents, gateway_schema, schema_problems, toolkit_schema};

fn kind(document: &Value) -> &str {
    document.get("kind").and_then(Value::as_str).unwrap_or("")
}

fn parse<T: DeserializeOwned>(file: &str, document: &Value) -> T {
    serde_json::from_value(document.clone())
        .unwrap_or_else(|error| panic!("{file}: {} does not deserialize: {error}", kind(document)))
}

fn gateways() -> Vec<McpGateway> {
    let documents = example_documents();
    let gateways = documents
        .iter()
        .filter(|(_, document)| kind(document) == "McpGateway");
    gateways
        .map(|(file, document)| parse(file, document))
        .collect()
}

fn toolkits() -> Vec<McpToolkit> {
    let documents = example_documents();
    let toolkits = documents
        .iter()
        .filter(|(_, document)| kind(document) == "McpToolkit");
    toolkits
        .map(|(file, document)| parse(file, document))
        .collect()
}

fn named<K: Resource + Clone>(resources: &[K], name: &str) -> K {
    let found = resources
        .iter()
        .find(|r| r.meta().name.as_deref() == Some(name));
    found
        .cloned()
        .unwrap_or_else(|| panic!("no example named {name}"))
}

#[test]
fn examples_hold_only_our_kinds_in_our_api_version() {
    let documents = example_documents();
    assert!(documents.len() >= 6, "{documents:?}");
    for (file, document) in &documents {
        assert_eq!(
            document.get("apiVersion"),
            Some(&json!("mcpgw.dev/v1alpha1")),
            "{file}"
        );
        assert!(
            ["McpGateway", "McpToolkit"].contains(&kind(document)),
            "{file}: {document}"
        );
    }
}

#[test]
fn demo_example_deserializes_into_the_types() {
    let demo = named(&gateways(), "demo");
    assert_eq!(demo.spec, McpGatewaySpec::default());

    let toolkits = toolkits();
    let everything = named(&toolkits, "everything");
    assert_eq!(everything.spec.gateway, "demo");
    assert_eq!(everything.spec.toolkit, "everything");
    assert_eq!(
        everything.spec.upstream,
        Upstream::service(ServiceReference::new("everything", 3001))
    );
    assert_eq!(
        everything.spec.tools,
        Some(vec!["echo".to_owned(), "get-*".to_owned()])
    );

    let time = named(&toolkits, "time");
    let expected = McpToolkitSpec::new(
        "demo",
        "time",
        Upstream::service(ServiceReference::new("time", 3002)),
    );
    assert_eq!(time.spec, expected);
}

#[test]
fn selector_example_deserializes_into_the_types() {
    let public = named(&gateways(), "public");
    let selector = public.spec.toolkit_selector.clone().unwrap_or_default();
    assert_eq!(
        selector.match_labels,
        Some([("tier".to_owned(), "public".to_owned())].into())
    );
    assert_eq!(public.spec.replicas, 2);
    assert_eq!(
        public.spec.session_key_secret_ref,
        Some(SecretKeyReference::new("public-session-key"))
    );
    assert_eq!(public.spec.service_type, ServiceType::LoadBalancer);
    assert!(public.spec.resources.is_some());

    let time = named(&toolkits(), "public-time");
    assert_eq!(
        time.spec.upstream,
        Upstream::url("http://time.default.svc.cluster.local:3002/mcp")
    );
    assert_eq!(time.spec.prompts, Some(vec![]));
    assert_eq!(time.spec.tools, None);
    assert_eq!(time.spec.timeout, "PT30S");
}

/// Every field written in an example is still there after deserializing and serializing:
/// none is misspelled or unknown (which serde, and the API server, would drop silently).
#[test]
fn examples_use_only_fields_the_types_know() {
    for (file, document) in example_documents() {
        let reserialized = match kind(&document) {
            "McpGateway" => serde_json::to_value(parse::<McpGateway>(&file, &document)),
            _ => serde_json::to_value(parse::<McpToolkit>(&file, &document)),
        };
        let reserialized = reserialized.unwrap_or_else(|error| panic!("{file}: {error}"));
        assert_contains(&reserialized, &document, &file);
    }
}

fn assert_contains(whole: &Value, part: &Value, path: &str) {
    match (whole, part) {
        (Value::Object(whole), Value::Object(part)) => {
            for (key, value) in part {
                let found = whole
                    .get(key)
                    .unwrap_or_else(|| panic!("{path}.{key}: dropped"));
                assert_contains(found, value, &format!("{path}.{key}"));
            }
        }
        _ => assert_eq!(whole, part, "{path}"),
    }
}

#[test]
fn examples_satisfy_the_schemas_and_the_cel_rules() {
    for (file, document) in example_documents() {
        let schema = match kind(&document) {
            "McpGateway" => gateway_schema(),
            _ => toolkit_schema(),
        };
        let name = document
            .pointer("/metadata/name")
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            schema_problems(&schema, &document),
            Vec::<String>::new(),
            "{file}: {name}"
        );
        assert_eq!(
            cel_failures(&schema, &document, None),
            Vec::<String>::new(),
            "{file}: {name}"
        );
    }
}

/// What the API server stores for a spec left empty equals what serde fills in, so the
/// operator sees the same values whether or not the API server defaulted them.
#[test]
fn schema_defaults_equal_the_serde_defaults() {
    let defaulted = kube::core::cel::apply_defaults(&gateway_schema(), &json!({ "spec": {} }));
    let spec: McpGatewaySpec =
        serde_json::from_value(defaulted["spec"].clone()).unwrap_or_else(|error| panic!("{error}"));
    let from_serde: McpGatewaySpec =
        serde_json::from_value(json!({})).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(spec, from_serde);
    assert_eq!(spec, McpGatewaySpec::default());
    assert_eq!(
        spec.listener,
        Listener {
            port: 7114,
            path: "/mcp".to_owned()
        }
    );
    assert_eq!(spec.replicas, 1);

    let minimal = json!({
        "spec": {
            "gateway": "demo",
            "toolkit": "time",
            "upstream": { "service": { "name": "time", "port": 3002 } },
        }
    });
    let defaulted = kube::core::cel::apply_defaults(&toolkit_schema(), &minimal);
    assert_eq!(defaulted.pointer("/spec/timeout"), Some(&json!("PT60S")));
    assert_eq!(
        defaulted.pointer("/spec/upstream/service/path"),
        Some(&json!("/mcp"))
    );
    let spec: McpToolkitSpec =
        serde_json::from_value(defaulted["spec"].clone()).unwrap_or_else(|error| panic!("{error}"));
    let from_serde: McpToolkitSpec =
        serde_json::from_value(minimal["spec"].clone()).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(spec, from_serde);
}

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let json = serde_json::to_string(value).unwrap_or_else(|error| panic!("{error}"));
    let from_json: T =
        serde_json::from_str(&json).unwrap_or_else(|error| panic!("{json}: {error}"));
    assert_eq!(&from_json, value);
    let yaml = serde_yaml_ng::to_string(value).unwrap_or_else(|error| panic!("{error}"));
    let from_yaml: T =
        serde_yaml_ng::from_str(&yaml).unwrap_or_else(|error| panic!("{yaml}: {error}"));
    assert_eq!(&from_yaml, value);
}

#[test]
fn resources_round_trip_through_json_and_yaml() {
    for gateway in gateways() {
        round_trip(&gateway);
    }
    for toolkit in toolkits() {
        round_trip(&toolkit);
    }
}

#[test]
fn statuses_round_trip_with_camel_case_fields() {
    let condition =
        |type_: &str, reason: &str| k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
            type_: type_.to_owned(),
            status: "True".to_owned(),
            reason: reason.to_owned(),
            message: String::new(),
            observed_generation: Some(3),
            last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
            ),
        };
    let mut gateway = McpGateway::new("demo", McpGatewaySpec::default());
    gateway.status = Some(McpGatewayStatus {
        observed_generation: Some(3),
        conditions: vec![condition(condition_type::READY, reason::READY)],
        toolkits: vec!["everything".to_owned(), "time".to_owned()],
        endpoint: Some("http://demo.default.svc:7114/mcp".to_owned()),
        ready_replicas: Some(1),
    });
    round_trip(&gateway);
    let json = serde_json::to_value(&gateway).unwrap_or_default();
    assert_eq!(json.pointer("/status/observedGeneration"), Some(&json!(3)));
    assert_eq!(json.pointer("/status/readyReplicas"), Some(&json!(1)));
    assert_eq!(
        json.pointer("/status/conditions/0/type"),
        Some(&json!("Ready"))
    );

    let mut toolkit = McpToolkit::new(
        "time",
        McpToolkitSpec::new("demo", "time", Upstream::url("http://time:3002/mcp")),
    );
    toolkit.status = Some(McpToolkitStatus {
        observed_generation: Some(1),
        conditions: vec![condition(
            condition_type::RESOLVED_REFS,
            reason::SERVICE_NOT_FOUND,
        )],
    });
    round_trip(&toolkit);
    let json = serde_json::to_value(&toolkit).unwrap_or_default();
    assert_eq!(
        json.pointer("/apiVersion"),
        Some(&json!("mcpgw.dev/v1alpha1"))
    );
    assert_eq!(
        json.pointer("/status/conditions/0/reason"),
        Some(&json!("ServiceNotFound"))
    );
}

#[test]
fn left_out_optional_fields_are_not_serialized() {
    let toolkit = McpToolkitSpec::new("demo", "time", Upstream::url("http://time:3002/mcp"));
    assert_eq!(
        serde_json::to_value(&toolkit).unwrap_or_default(),
        json!({
            "gateway": "demo",
            "toolkit": "time",
            "upstream": { "url": "http://time:3002/mcp" },
            "timeout": "PT60S",
            // Defaulted fields are written out, as the API server would store them.
            "forwardCallerToken": false,
        })
    );
    assert_eq!(
        serde_json::to_value(McpGatewaySpec::default()).unwrap_or_default(),
        json!({
            "listener": { "port": 7114, "path": "/mcp" },
            "replicas": 1,
            "serviceType": "ClusterIP",
        })
    );
}
