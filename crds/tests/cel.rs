//! The CEL rules, evaluated client-side (kube-cel) against the generated schemas, and the
//! OpenAPI constraints that stand in for the binding config's rules.

mod support;

use std::str::FromStr;

use mcpgw_config::model::IsoDuration;
use serde_json::{Value, json};
use support::{cel_failures, gateway_schema, schema_problems, toolkit_schema};

fn toolkit(spec: Value) -> Value {
    json!({
        "apiVersion": "mcpgw.dev/v1alpha1",
        "kind": "McpToolkit",
        "metadata": { "name": "t", "namespace": "default" },
        "spec": spec,
    })
}

fn time_toolkit() -> Value {
    toolkit(json!({
        "gateway": "demo",
        "toolkit": "time",
        "upstream": { "service": { "name": "time", "port": 3002 } },
    }))
}

/// `object` with the field at `pointer` set to `value` (added if missing).
fn with(mut object: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    match object.pointer_mut(parent).and_then(Value::as_object_mut) {
        Some(parent) => {
            parent.insert(key.to_owned(), value);
        }
        None => panic!("{object} has no object at {parent}"),
    }
    object
}

#[test]
fn changing_the_toolkit_name_is_rejected_as_immutable() {
    let old = time_toolkit();
    let renamed = with(old.clone(), "/spec/toolkit", json!("clock"));
    assert_eq!(
        cel_failures(&toolkit_schema(), &renamed, Some(&old)),
        vec!["spec.toolkit: toolkit name is immutable"]
    );
}

#[test]
fn other_changes_to_a_toolkit_are_allowed() {
    let old = time_toolkit();
    let updated = with(old.clone(), "/spec/gateway", json!("other"));
    let updated = with(
        updated,
        "/spec/upstream",
        json!({ "url": "https://time.example.com/mcp" }),
    );
    assert_eq!(
        cel_failures(&toolkit_schema(), &updated, Some(&old)),
        Vec::<String>::new()
    );
    assert_eq!(
        cel_failures(&toolkit_schema(), &old, None),
        Vec::<String>::new()
    );
}

#[test]
fn upstream_needs_exactly_one_of_url_and_service() {
    let message = "spec.upstream: set exactly one of upstream.url and upstream.service";
    let both =
        json!({ "url": "http://time:3002/mcp", "service": { "name": "time", "port": 3002 } });
    for (upstream, expected) in [
        (both, vec![message]),
        (json!({}), vec![message]),
        (json!({ "url": "http://time:3002/mcp" }), vec![]),
        (
            json!({ "service": { "name": "time", "port": 3002 } }),
            vec![],
        ),
    ] {
        let object = with(time_toolkit(), "/spec/upstream", upstream.clone());
        assert_eq!(
            cel_failures(&toolkit_schema(), &object, None),
            expected,
            "{upstream}"
        );
    }
}

/// The rule accepts exactly what the binding config accepts for `options.timeout`: an
/// ISO-8601 duration that `IsoDuration` parses, longer than zero.
#[test]
fn timeout_rule_agrees_with_the_binding_config() {
    let samples = [
        "PT60S",
        "PT30S",
        "PT1M30S",
        "PT0.5S",
        "P1D",
        "P1DT12H",
        "pt5m",
        "PT0.000000001S",
        "P0DT1S",
        "PT1H0M0S",
        "PT0S",
        "P0D",
        "PT0.0S",
        "P",
        "PT",
        "P1DT",
        "60s",
        "PT1.5M",
        "P1W",
        "P1Y",
        "PT1S1M",
        "PT0.1234567891S",
        "-PT1S",
        " PT1S",
        "PT1S ",
    ];
    for sample in samples {
        let config_accepts =
            IsoDuration::from_str(sample).is_ok_and(|duration| !duration.as_duration().is_zero());
        let object = with(time_toolkit(), "/spec/timeout", json!(sample));
        let crd_accepts = cel_failures(&toolkit_schema(), &object, None).is_empty();
        assert_eq!(crd_accepts, config_accepts, "timeout {sample:?}");
    }
}

#[test]
fn timeout_error_names_the_expected_form() {
    let object = with(time_toolkit(), "/spec/timeout", json!("60s"));
    assert_eq!(
        cel_failures(&toolkit_schema(), &object, None),
        vec![
            "spec.timeout: must be an ISO-8601 duration longer than zero, such as PT30S, \
             PT1M30S, PT0.5S or P1D"
        ]
    );
}

#[test]
fn gateway_names_must_be_dns_1035_labels() {
    let gateway = |name: &str| {
        json!({
            "apiVersion": "mcpgw.dev/v1alpha1",
            "kind": "McpGateway",
            "metadata": { "name": name, "namespace": "default" },
            "spec": {},
        })
    };
    for name in ["demo", "a", "team-a-gateway", &"g".repeat(63)] {
        assert_eq!(
            cel_failures(&gateway_schema(), &gateway(name), None),
            Vec::<String>::new()
        );
    }
    for name in ["1demo", "demo.example", "Demo", "demo-", &"g".repeat(64)] {
        let failures = cel_failures(&gateway_schema(), &gateway(name), None);
        assert!(
            failures.len() == 1 && failures[0].contains("McpGateway names must be DNS-1035 labels"),
            "{name}: {failures:?}"
        );
    }
}

/// The toolkit name pattern is the binding config's (`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`,
/// at most 63 characters), so a name the API server accepts always renders.
#[test]
fn toolkit_names_follow_the_binding_configs_rule() {
    let long = "t".repeat(63);
    let too_long = "t".repeat(64);
    for (name, valid) in [
        ("time", true),
        ("42", true),
        ("my-toolkit-2", true),
        (long.as_str(), true),
        ("", false),
        (too_long.as_str(), false),
        ("Time", false),
        ("-time", false),
        ("time-", false),
        ("my_toolkit", false),
        ("a__b", false),
        ("a+b", false),
    ] {
        let object = with(time_toolkit(), "/spec/toolkit", json!(name));
        let problems = schema_problems(&toolkit_schema(), &object);
        assert_eq!(problems.is_empty(), valid, "toolkit {name:?}: {problems:?}");
    }
}

#[test]
fn upstream_urls_are_http_or_https_without_user_info_or_fragment() {
    for (url, valid) in [
        ("http://time:3002/mcp", true),
        ("https://api.githubcopilot.com/mcp/", true),
        ("http://10.0.0.1:8080", true),
        ("http://time.default.svc.cluster.local:3002/mcp?x=1", true),
        ("ftp://time/mcp", false),
        ("time:3002/mcp", false),
        ("http://user:secret@time/mcp", false),
        ("http://time/mcp#top", false),
        ("http:///mcp", false),
        ("http://time /mcp", false),
    ] {
        let object = with(time_toolkit(), "/spec/upstream", json!({ "url": url }));
        let problems = schema_problems(&toolkit_schema(), &object);
        assert_eq!(problems.is_empty(), valid, "url {url:?}: {problems:?}");
    }
}

#[test]
fn ports_are_checked_against_their_range() {
    for (port, valid) in [
        (1, true),
        (65535, true),
        (0, false),
        (65536, false),
        (-1, false),
    ] {
        let object = with(time_toolkit(), "/spec/upstream/service/port", json!(port));
        let problems = schema_problems(&toolkit_schema(), &object);
        assert_eq!(
            problems.is_empty(),
            valid,
            "service port {port}: {problems:?}"
        );

        let gateway = json!({ "spec": { "listener": { "port": port } } });
        let problems = schema_problems(&gateway_schema(), &gateway);
        assert_eq!(
            problems.is_empty(),
            valid,
            "listener port {port}: {problems:?}"
        );
    }
}

#[test]
fn allow_list_patterns_are_between_1_and_512_characters() {
    let long = "x".repeat(512);
    let too_long = "x".repeat(513);
    for (patterns, valid) in [
        (json!([]), true),
        (json!(["get-*", long]), true),
        (json!([""]), false),
        (json!([too_long]), false),
    ] {
        for field in ["tools", "prompts", "resources"] {
            let object = with(time_toolkit(), &format!("/spec/{field}"), patterns.clone());
            let problems = schema_problems(&toolkit_schema(), &object);
            assert_eq!(
                problems.is_empty(),
                valid,
                "{field}: {patterns}: {problems:?}"
            );
        }
    }
}
