//! Golden tests: resources in, binding config and verdicts out.
//! `MCPGW_UPDATE_GOLDEN=1 cargo test -p mcpgw-operator` rewrites the golden files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
use kube::api::ObjectMeta;
use mcpgw_crds::{
    McpGateway, McpGatewaySpec, McpToolkit, McpToolkitSpec, SecretKeyReference, ServiceReference,
    Upstream, reason,
};

use super::*;

mod auth;
mod limits;
mod tls;

fn gateway(name: &str) -> McpGateway {
    let mut g = McpGateway::new(name, McpGatewaySpec::default());
    g.metadata.namespace = Some("shop".into());
    g
}

fn toolkit(object: &str, toolkit: &str, upstream: Upstream, created: i64) -> McpToolkit {
    let mut t = McpToolkit::new(object, McpToolkitSpec::new("demo", toolkit, upstream));
    t.metadata = ObjectMeta {
        name: Some(object.into()),
        namespace: Some("shop".into()),
        creation_timestamp: Some(Time(
            k8s_openapi::jiff::Timestamp::from_second(1_700_000_000 + created).unwrap_or_default(),
        )),
        ..ObjectMeta::default()
    };
    t
}

fn service(name: &str, port: i32) -> Upstream {
    Upstream::service(ServiceReference::new(name, port))
}

fn services() -> BTreeMap<String, BTreeSet<i32>> {
    BTreeMap::from([
        ("everything".to_owned(), BTreeSet::from([3001])),
        ("time".to_owned(), BTreeSet::from([3002])),
    ])
}

/// The Secrets every test cluster holds: name → keys.
fn secrets() -> BTreeMap<String, BTreeSet<String>> {
    BTreeMap::from([(
        "demo-key".to_owned(),
        BTreeSet::from(["session.key".to_owned()]),
    )])
}

fn run(gateway: &McpGateway, toolkits: &[McpToolkit]) -> Rendered {
    render(&Inputs {
        gateway,
        toolkits,
        services: &services(),
        secrets: &secrets(),
        config_maps: &BTreeMap::new(),
    })
}

/// The plan the data plane compiles from the rendered config.
fn plan_of(rendered: Rendered) -> mcpgw_config::Plan {
    let config = rendered.config.expect("a config");
    mcpgw_config::compile_yaml(&config.yaml).expect("compiles")
}

/// Compare with (or, on request, rewrite) `golden/<name>.yaml`, and check the
/// data plane's own parser accepts it.
fn golden(name: &str, rendered: &Rendered) {
    let config = rendered.config.as_ref().expect("a config");
    mcpgw_config::compile_yaml(&config.yaml)
        .unwrap_or_else(|e| panic!("the data plane rejects it: {e}"));
    golden_model(name, rendered);
}

/// [`golden`] without the data plane's parser (the config rendered has compiled from
/// the model, in `render`).
fn golden_model(name: &str, rendered: &Rendered) {
    let config = rendered.config.as_ref().expect("a config");
    assert_eq!(
        config.sha256,
        mcpgw_config::config_sha256(config.yaml.as_bytes())
    );
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("src/render/golden/{name}.yaml"));
    if std::env::var_os("MCPGW_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &config.yaml).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (MCPGW_UPDATE_GOLDEN=1 writes it)", path.display()));
    assert_eq!(
        config.yaml, expected,
        "{name}: run with MCPGW_UPDATE_GOLDEN=1 and review the diff"
    );
}

/// Every toolkit `r` judged is accepted and has its references resolved.
fn assert_all_accepted_and_resolved(r: &Rendered) {
    assert!(
        r.toolkits
            .values()
            .all(|v| v.accepted.status && v.resolved_refs.status),
        "{:?}",
        r.toolkits
    );
}

fn demo_toolkits() -> Vec<McpToolkit> {
    vec![
        toolkit("time", "time", service("time", 3002), 2),
        toolkit("everything", "everything", service("everything", 3001), 1),
    ]
}

#[test]
fn the_demo_renders_both_toolkits() {
    let r = run(&gateway("demo"), &demo_toolkits());
    assert_eq!(r.served, ["everything", "time"]);
    assert!(r.accepted.status && r.programmed.status);
    assert_all_accepted_and_resolved(&r);
    golden("demo", &r);
}

#[test]
fn a_listing_cache_renders_a_memory_store_and_the_proxys_cache() {
    let mut cached = gateway("demo");
    cached.spec.listing_cache = Some(mcpgw_crds::ListingCache {
        ttl: "PT2M".into(),
        max_entries: 500,
    });
    let r = run(&cached, &demo_toolkits());
    golden("cache", &r);
    let plan = plan_of(r);
    let cache = plan.listeners[0].routes[0].endpoint.proxy.cache.clone();
    assert_eq!(
        cache,
        Some(mcpgw_config::CachePlan {
            store: "cache".into(),
            ttl: std::time::Duration::from_secs(120),
            max_entries: 500,
        })
    );
}

#[test]
fn telemetry_renders_one_otlp_exporter_of_traces() {
    let traced = |path: Option<&str>| {
        let mut g = gateway("demo");
        g.spec.telemetry = Some(mcpgw_crds::Telemetry {
            otlp_endpoint: "http://otel-collector.observability:4318".into(),
            traces_path: path.map(str::to_owned),
        });
        let r = run(&g, &demo_toolkits());
        let plan = plan_of(r);
        plan.telemetry
            .map(|t| (t.exporter, t.traces_endpoint.to_string()))
    };
    assert_eq!(
        traced(None),
        Some((
            "otlp".to_owned(),
            "http://otel-collector.observability:4318/v1/traces".to_owned()
        ))
    );
    assert_eq!(
        traced(Some("/otlp/spans")).map(|(_, url)| url),
        Some("http://otel-collector.observability:4318/otlp/spans".to_owned())
    );
    let untraced = run(&gateway("demo"), &demo_toolkits());
    let plan = plan_of(untraced);
    assert_eq!(plan.telemetry, None);
}

#[test]
fn a_toolkit_added_or_removed_changes_the_config() {
    let mut three = demo_toolkits();
    let mut allowed = toolkit(
        "search",
        "search",
        Upstream::url("http://search.example:8080/mcp"),
        3,
    );
    allowed.spec.tools = Some(vec!["find-*".into()]);
    allowed.spec.timeout = "PT5S".into();
    three.push(allowed);
    let added = run(&gateway("demo"), &three);
    assert_eq!(added.served, ["everything", "search", "time"]);
    golden("added", &added);

    let removed = run(&gateway("demo"), &demo_toolkits()[..1]);
    assert_eq!(removed.served, ["time"]);
    golden("removed", &removed);
    let demo = run(&gateway("demo"), &demo_toolkits());
    assert_ne!(
        removed.config.as_ref().map(|c| &c.sha256),
        demo.config.as_ref().map(|c| &c.sha256)
    );
}

#[test]
fn rendering_is_deterministic_whatever_the_listing_order() {
    let mut reversed = demo_toolkits();
    reversed.reverse();
    assert_eq!(
        run(&gateway("demo"), &demo_toolkits()),
        run(&gateway("demo"), &reversed)
    );
}

#[test]
fn an_upstream_the_data_plane_cannot_serve_is_refused_and_the_rest_served() {
    let mut toolkits = demo_toolkits();
    toolkits.push(toolkit(
        "secure",
        "secure",
        Upstream::url("ftp://mcp.example.com/mcp"),
        3,
    ));
    let r = run(&gateway("demo"), &toolkits);
    assert_eq!(r.served, ["everything", "time"]);
    let secure = &r.toolkits["secure"];
    assert!(!secure.accepted.status);
    assert_eq!(secure.accepted.reason, reason::INVALID);
    assert!(
        secure.accepted.message.contains("not an http(s) URL"),
        "{}",
        secure.accepted.message
    );
    // The message names the rendered field it is about.
    assert!(
        secure.accepted.message.contains("bindings."),
        "{}",
        secure.accepted.message
    );
}

#[test]
fn the_older_toolkit_keeps_a_duplicate_name() {
    let mut toolkits = demo_toolkits();
    toolkits.push(toolkit("time-again", "time", service("time", 3002), 0));
    let r = run(&gateway("demo"), &toolkits);
    assert!(r.toolkits["time-again"].accepted.status, "created first");
    let loser = &r.toolkits["time"].accepted;
    assert_eq!(
        (loser.status, loser.reason),
        (false, reason::DUPLICATE_TOOLKIT_NAME)
    );
    assert!(loser.message.contains("time-again"), "{}", loser.message);
    assert_eq!(r.served, ["everything", "time"]);
}

#[test]
fn missing_services_and_ports_are_unresolved_refs_and_not_served() {
    let toolkits = vec![
        toolkit("a", "a", service("nowhere", 1), 1),
        toolkit("b", "b", service("time", 9999), 2),
        toolkit("everything", "everything", service("everything", 3001), 3),
    ];
    let r = run(&gateway("demo"), &toolkits);
    assert_eq!(r.served, ["everything"]);
    assert_eq!(
        r.toolkits["a"].resolved_refs.reason,
        reason::SERVICE_NOT_FOUND
    );
    assert_eq!(
        r.toolkits["b"].resolved_refs.reason,
        reason::SERVICE_PORT_NOT_FOUND
    );
    assert!(!r.toolkits["a"].resolved_refs.status && !r.toolkits["b"].resolved_refs.status);
}

#[test]
fn a_selector_serves_only_the_toolkits_it_matches() {
    let mut g = gateway("demo");
    g.spec.toolkit_selector = Some(LabelSelector {
        match_labels: Some(BTreeMap::from([("tier".into(), "public".into())])),
        ..LabelSelector::default()
    });
    let mut toolkits = demo_toolkits();
    toolkits[0].metadata.labels = Some(BTreeMap::from([("tier".into(), "public".into())]));
    let r = run(&g, &toolkits);
    assert_eq!(r.served, ["time"]);
    assert_eq!(
        r.toolkits["everything"].accepted.reason,
        reason::NOT_SELECTED
    );
}

#[test]
fn a_gateway_without_toolkits_is_accepted_but_not_programmed() {
    let r = run(&gateway("demo"), &[]);
    assert!(r.accepted.status);
    assert_eq!(
        (r.programmed.status, r.programmed.reason),
        (false, reason::NO_TOOLKITS)
    );
    assert!(r.config.is_none());
    let other = toolkit("x", "x", service("time", 3002), 1);
    let mut elsewhere = other.clone();
    elsewhere.spec.gateway = "another".into();
    let r = run(&gateway("demo"), &[elsewhere]);
    assert!(
        r.toolkits.is_empty(),
        "toolkits of other gateways are not ours to judge"
    );
}

#[test]
fn a_missing_session_key_secret_refuses_the_gateway() {
    let mut g = gateway("demo");
    g.spec.session_key_secret_ref = Some(SecretKeyReference::new("demo-key"));
    let r = render(&Inputs {
        gateway: &g,
        toolkits: &demo_toolkits(),
        services: &services(),
        secrets: &BTreeMap::new(),
        config_maps: &BTreeMap::new(),
    });
    assert_eq!(
        (r.accepted.status, r.accepted.reason),
        (false, reason::SECRET_NOT_FOUND)
    );
    assert_eq!(
        (r.resolved_refs.status, r.resolved_refs.reason),
        (false, reason::SECRET_NOT_FOUND)
    );
    assert!(r.config.is_none());
    let found = run(&g, &demo_toolkits());
    let yaml = &found.config.as_ref().expect("config").yaml;
    assert!(
        yaml.contains("session_key: /etc/mcpgw/session/session.key"),
        "{yaml}"
    );
}
