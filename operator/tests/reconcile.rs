//! Reconciles against a mock API server: what the operator applies, and the
//! status it writes, for gateways and toolkits in their usual situations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use http::{Method, StatusCode};
use kube::runtime::controller::Action;
use mcpgw_crds::{McpGateway, McpToolkit};
use mcpgw_operator::controller::{Context, error_policy, reconcile_gateway, reconcile_toolkit};
use serde_json::{Value, json};
use support::{FakeApi, FakeProbe, context};

const NS: &str = "/api/v1/namespaces/shop";
const APPS: &str = "/apis/apps/v1/namespaces/shop";
const MCPGW: &str = "/apis/mcpgw.dev/v1alpha1/namespaces/shop";

fn gateway(generation: i64) -> McpGateway {
    serde_json::from_value(json!({
        "apiVersion": "mcpgw.dev/v1alpha1", "kind": "McpGateway",
        "metadata": {"name": "demo", "namespace": "shop", "uid": "uid-demo", "generation": generation},
        "spec": {"replicas": 2},
    }))
    .unwrap()
}

fn toolkit_json(name: &str, toolkit: &str, service: &str, port: i32, created: &str) -> Value {
    json!({
        "apiVersion": "mcpgw.dev/v1alpha1", "kind": "McpToolkit",
        "metadata": {"name": name, "namespace": "shop", "generation": 1, "creationTimestamp": created},
        "spec": {"gateway": "demo", "toolkit": toolkit, "upstream": {"service": {"name": service, "port": port}}},
    })
}

/// The demo's cluster: gateway `demo` (also stored, for status), toolkits and Services.
fn demo_cluster() -> FakeApi {
    let api = FakeApi::default();
    api.put(
        &format!("{MCPGW}/mcpgateways/demo"),
        serde_json::to_value(gateway(3)).unwrap(),
    );
    api.put(
        &format!("{MCPGW}/mcptoolkits/everything"),
        toolkit_json(
            "everything",
            "everything",
            "everything",
            3001,
            "2026-01-01T00:00:00Z",
        ),
    );
    api.put(
        &format!("{MCPGW}/mcptoolkits/time"),
        toolkit_json("time", "time", "time", 3002, "2026-01-01T00:00:01Z"),
    );
    for (name, port) in [("everything", 3001), ("time", 3002)] {
        api.put(
            &format!("{NS}/services/{name}"),
            json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "shop"}, "spec": {"ports": [{"port": port}]}}),
        );
    }
    api
}

fn pod(name: &str, ip: &str, ready: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "labels": {"mcpgw.dev/gateway": "demo", "app.kubernetes.io/name": "mcpgw-dataplane"}},
        "status": {"podIP": ip, "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}})
}

fn condition<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == type_)
        .unwrap_or_else(|| panic!("no {type_} in {status}"))
}

/// The message of the condition `type_` in `status`.
fn message<'a>(status: &'a Value, type_: &str) -> &'a str {
    condition(status, type_)["message"].as_str().unwrap()
}

fn last_status(api: &FakeApi, path: &str) -> Value {
    api.patches(&format!("{path}/status"))
        .pop()
        .unwrap_or_else(|| panic!("no status written to {path}"))["status"]
        .clone()
}

fn rendered_config(api: &FakeApi) -> String {
    let cm = api
        .get(&format!("{NS}/configmaps/demo-config"))
        .expect("ConfigMap applied");
    cm["data"]["config.yaml"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_new_gateway_gets_its_objects_applied_and_an_honest_status() {
    let api = demo_cluster();
    let probe = Arc::new(FakeProbe::default());
    let action = reconcile_gateway(Arc::new(gateway(3)), context(&api, probe))
        .await
        .unwrap();
    assert_eq!(
        action,
        Action::requeue(std::time::Duration::from_secs(5)),
        "not ready yet: look again soon"
    );

    // Applied with server-side apply under one field manager, owned by the gateway.
    for path in [
        format!("{NS}/configmaps/demo-config"),
        format!("{NS}/serviceaccounts/demo"),
        format!("{NS}/services/demo"),
        format!("{APPS}/deployments/demo"),
    ] {
        let call = api
            .calls()
            .into_iter()
            .find(|c| c.method == Method::PATCH && c.path == path)
            .unwrap_or_else(|| panic!("{path} not applied"));
        assert!(
            call.query.contains("fieldManager=mcpgw-operator") && call.query.contains("force=true"),
            "{}",
            call.query
        );
        assert_eq!(
            call.body["metadata"]["ownerReferences"][0]["uid"],
            "uid-demo"
        );
    }
    let config = rendered_config(&api);
    let plan = mcpgw_config::compile_yaml(&config).expect("the data plane accepts the config");
    let toolkits: Vec<_> = plan.listeners[0].routes[0]
        .endpoint
        .proxy
        .toolkits
        .iter()
        .map(|t| t.name.clone())
        .collect();
    assert_eq!(toolkits, ["everything", "time"]);

    let status = last_status(&api, &format!("{MCPGW}/mcpgateways/demo"));
    assert_eq!(status["observedGeneration"], 3);
    assert_eq!(status["toolkits"], json!(["everything", "time"]));
    assert_eq!(status["endpoint"], "http://demo.shop.svc:7114/mcp");
    assert_eq!(condition(&status, "Accepted")["status"], "True");
    assert_eq!(condition(&status, "Programmed")["status"], "True");
    let ready = condition(&status, "Ready");
    assert_eq!(
        (ready["status"].as_str(), ready["reason"].as_str()),
        (Some("False"), Some("Pending"))
    );
    assert_eq!(condition(&status, "Ready")["observedGeneration"], 3);
    for toolkit in ["everything", "time"] {
        let status = last_status(&api, &format!("{MCPGW}/mcptoolkits/{toolkit}"));
        assert_eq!(condition(&status, "Accepted")["status"], "True");
        assert_eq!(condition(&status, "ResolvedRefs")["status"], "True");
        assert_eq!(status["observedGeneration"], 1);
    }
    let events: Vec<_> = api
        .calls()
        .into_iter()
        .filter(|c| c.method == Method::POST && c.path.ends_with("/events"))
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].body["reason"], "Programmed");
}

#[tokio::test]
async fn ready_means_every_replica_serves_the_rendered_config() {
    let api = demo_cluster();
    let probe = Arc::new(FakeProbe::default());
    let ctx = context(&api, probe.clone());
    reconcile_gateway(Arc::new(gateway(3)), ctx.clone())
        .await
        .unwrap();
    let sha = mcpgw_dataplane_sha(&rendered_config(&api));
    api.put(
        &format!("{NS}/pods/demo-a"),
        pod("demo-a", "10.0.0.1", true),
    );
    api.put(
        &format!("{NS}/pods/demo-b"),
        pod("demo-b", "10.0.0.2", true),
    );
    probe
        .0
        .lock()
        .unwrap()
        .insert("10.0.0.1".into(), sha.clone());
    probe
        .0
        .lock()
        .unwrap()
        .insert("10.0.0.2".into(), "an-older-config".into());

    reconcile_gateway(Arc::new(gateway(3)), ctx.clone())
        .await
        .unwrap();
    let status = last_status(&api, &format!("{MCPGW}/mcpgateways/demo"));
    assert_eq!(condition(&status, "Ready")["status"], "False");
    assert!(message(&status, "Ready").starts_with("1 of 2 replicas serve config"));
    assert_eq!(status["readyReplicas"], 1);

    probe.0.lock().unwrap().insert("10.0.0.2".into(), sha);
    let action = reconcile_gateway(Arc::new(gateway(3)), ctx).await.unwrap();
    let status = last_status(&api, &format!("{MCPGW}/mcpgateways/demo"));
    assert_eq!(condition(&status, "Ready")["status"], "True", "{status}");
    assert_eq!(status["readyReplicas"], 2);
    assert_eq!(action, Action::requeue(std::time::Duration::from_secs(120)));
}

/// The SHA-256 the data plane reports for a config file's bytes.
fn mcpgw_dataplane_sha(config: &str) -> String {
    mcpgw_config::config_sha256(config.as_bytes())
}

#[tokio::test]
async fn a_toolkit_added_changes_the_config_but_never_the_pod_template() {
    let api = demo_cluster();
    let ctx = context(&api, Arc::new(FakeProbe::default()));
    reconcile_gateway(Arc::new(gateway(3)), ctx.clone())
        .await
        .unwrap();
    let before = (
        rendered_config(&api),
        api.get(&format!("{APPS}/deployments/demo")).unwrap(),
    );
    api.put(
        &format!("{MCPGW}/mcptoolkits/more"),
        toolkit_json("more", "more", "everything", 3001, "2026-01-02T00:00:00Z"),
    );
    reconcile_gateway(Arc::new(gateway(3)), ctx).await.unwrap();
    let after = (
        rendered_config(&api),
        api.get(&format!("{APPS}/deployments/demo")).unwrap(),
    );
    assert_ne!(before.0, after.0);
    assert!(after.0.contains("toolkit: more"));
    assert_eq!(
        before.1, after.1,
        "the Deployment (and so its pods) is untouched by config changes"
    );
    let status = last_status(&api, &format!("{MCPGW}/mcpgateways/demo"));
    assert_eq!(status["toolkits"], json!(["everything", "more", "time"]));
}

#[tokio::test]
async fn status_conditions_keep_their_transition_time_while_unchanged() {
    let api = demo_cluster();
    let ctx = context(&api, Arc::new(FakeProbe::default()));
    reconcile_gateway(Arc::new(gateway(3)), ctx.clone())
        .await
        .unwrap();
    // What the API server holds now, with its transitions planted in the past.
    let mut stored = api.get(&format!("{MCPGW}/mcpgateways/demo")).unwrap();
    for c in stored["status"]["conditions"].as_array_mut().unwrap() {
        c["lastTransitionTime"] = json!("2020-01-01T00:00:00Z");
    }
    let mut seen: McpGateway = serde_json::from_value(stored).unwrap();
    seen.metadata.generation = Some(4);
    reconcile_gateway(Arc::new(seen), ctx).await.unwrap();
    let second = last_status(&api, &format!("{MCPGW}/mcpgateways/demo"));
    for type_ in ["Accepted", "Programmed", "Ready"] {
        assert_eq!(
            condition(&second, type_)["lastTransitionTime"],
            "2020-01-01T00:00:00Z",
            "{type_}"
        );
    }
    assert_eq!(second["observedGeneration"], 4);
}

#[tokio::test]
async fn duplicate_names_and_missing_services_are_reported_on_the_toolkits() {
    let api = demo_cluster();
    api.put(
        &format!("{MCPGW}/mcptoolkits/time-copy"),
        toolkit_json("time-copy", "time", "time", 3002, "2026-02-01T00:00:00Z"),
    );
    api.put(
        &format!("{MCPGW}/mcptoolkits/ghost"),
        toolkit_json("ghost", "ghost", "nowhere", 80, "2026-02-01T00:00:00Z"),
    );
    reconcile_gateway(
        Arc::new(gateway(3)),
        context(&api, Arc::new(FakeProbe::default())),
    )
    .await
    .unwrap();
    let copy = last_status(&api, &format!("{MCPGW}/mcptoolkits/time-copy"));
    assert_eq!(
        condition(&copy, "Accepted")["reason"],
        "DuplicateToolkitName"
    );
    assert!(message(&copy, "Accepted").contains("\"time\""));
    let ghost = last_status(&api, &format!("{MCPGW}/mcptoolkits/ghost"));
    assert_eq!(condition(&ghost, "ResolvedRefs")["status"], "False");
    assert_eq!(
        condition(&ghost, "ResolvedRefs")["reason"],
        "ServiceNotFound"
    );
    let status = last_status(&api, &format!("{MCPGW}/mcpgateways/demo"));
    assert_eq!(status["toolkits"], json!(["everything", "time"]));
}

#[tokio::test]
async fn a_gateway_without_toolkits_applies_nothing_and_says_why() {
    let api = FakeApi::default();
    api.put(
        &format!("{MCPGW}/mcpgateways/demo"),
        serde_json::to_value(gateway(1)).unwrap(),
    );
    reconcile_gateway(
        Arc::new(gateway(1)),
        context(&api, Arc::new(FakeProbe::default())),
    )
    .await
    .unwrap();
    assert!(api.get(&format!("{NS}/configmaps/demo-config")).is_none());
    assert!(api.get(&format!("{APPS}/deployments/demo")).is_none());
    let status = last_status(&api, &format!("{MCPGW}/mcpgateways/demo"));
    assert_eq!(condition(&status, "Programmed")["reason"], "NoToolkits");
    let event = api
        .calls()
        .into_iter()
        .find(|c| c.method == Method::POST)
        .expect("a Warning event");
    assert_eq!(event.body["type"], "Warning");
}

#[tokio::test]
async fn a_toolkit_naming_a_missing_gateway_is_told_so() {
    let api = FakeApi::default();
    let orphan: McpToolkit = serde_json::from_value(json!({
        "apiVersion": "mcpgw.dev/v1alpha1", "kind": "McpToolkit",
        "metadata": {"name": "orphan", "namespace": "shop", "generation": 2},
        "spec": {"gateway": "nope", "toolkit": "orphan", "upstream": {"url": "http://x:1/mcp"}},
    }))
    .unwrap();
    api.put(
        &format!("{MCPGW}/mcptoolkits/orphan"),
        serde_json::to_value(&orphan).unwrap(),
    );
    let action = reconcile_toolkit(
        Arc::new(orphan),
        context(&api, Arc::new(FakeProbe::default())),
    )
    .await
    .unwrap();
    assert_eq!(action, Action::await_change());
    let status = last_status(&api, &format!("{MCPGW}/mcptoolkits/orphan"));
    assert_eq!(condition(&status, "Accepted")["reason"], "GatewayNotFound");
    assert!(message(&status, "Accepted").contains("\"nope\""));
    assert_eq!(status["observedGeneration"], 2);
}

#[tokio::test]
async fn deleting_a_gateway_is_left_to_the_garbage_collector() {
    // Everything applied is owned by the gateway with controller=true, so the
    // API server's garbage collector removes it with the gateway: the
    // operator itself never deletes.
    let api = demo_cluster();
    reconcile_gateway(
        Arc::new(gateway(3)),
        context(&api, Arc::new(FakeProbe::default())),
    )
    .await
    .unwrap();
    assert!(api.calls().iter().all(|c| c.method != Method::DELETE));
    for path in [
        format!("{NS}/configmaps/demo-config"),
        format!("{APPS}/deployments/demo"),
        format!("{NS}/services/demo"),
        format!("{NS}/serviceaccounts/demo"),
    ] {
        let owner = &api.get(&path).unwrap()["metadata"]["ownerReferences"][0];
        assert_eq!(
            (owner["kind"].as_str(), owner["controller"].as_bool()),
            (Some("McpGateway"), Some(true)),
            "{path}"
        );
    }
}

/// Reconcile `gateway` while the API server fails, and the retry the error policy asks for.
async fn retry_after_failure(gateway: &Arc<McpGateway>, ctx: &Arc<Context>) -> Action {
    let error = reconcile_gateway(gateway.clone(), ctx.clone())
        .await
        .expect_err("the API server fails");
    error_policy(gateway.clone(), &error, ctx.clone())
}

#[tokio::test]
async fn failures_back_off_per_object_and_a_success_resets_the_wait() {
    let api = demo_cluster();
    let ctx = context(&api, Arc::new(FakeProbe::default()));
    let demo = Arc::new(gateway(3));
    let mut other = gateway(1);
    other.metadata.name = Some("other".into());
    let other = Arc::new(other);
    let after = |seconds| Action::requeue(Duration::from_secs(seconds));

    api.fail("", StatusCode::INTERNAL_SERVER_ERROR);
    let mut waits = Vec::new();
    for _ in 0..3 {
        waits.push(retry_after_failure(&demo, &ctx).await);
    }
    assert_eq!(waits, [after(5), after(10), after(20)]);
    let toolkit: Arc<McpToolkit> = Arc::new(
        serde_json::from_value(toolkit_json(
            "demo",
            "demo",
            "demo",
            80,
            "2026-01-01T00:00:00Z",
        ))
        .unwrap(),
    );
    let error = reconcile_toolkit(toolkit.clone(), ctx.clone())
        .await
        .expect_err("the API server fails");
    assert_eq!(
        error_policy(toolkit, &error, ctx.clone()),
        after(5),
        "a toolkit named like the gateway has a count of its own"
    );
    assert_eq!(
        retry_after_failure(&other, &ctx).await,
        after(5),
        "another gateway has a count of its own"
    );

    api.recover();
    reconcile_gateway(demo.clone(), ctx.clone()).await.unwrap();
    api.fail("", StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        retry_after_failure(&demo, &ctx).await,
        after(5),
        "a success starts the count again"
    );
    assert_eq!(retry_after_failure(&other, &ctx).await, after(10));

    let metrics = ctx.admin.render_metrics();
    for line in [
        r#"mcpgw_operator_reconciles_total{kind="McpGateway",result="error"} 6"#,
        r#"mcpgw_operator_reconciles_total{kind="McpGateway",result="ok"} 1"#,
        r#"mcpgw_operator_reconcile_errors_total{kind="McpGateway",reason="api-5xx"} 6"#,
        r#"mcpgw_operator_reconcile_errors_total{kind="McpToolkit",reason="api-5xx"} 1"#,
        // Every reconcile is timed, the failed ones too.
        r#"mcpgw_operator_reconcile_duration_seconds_count{kind="McpGateway"} 7"#,
        r#"mcpgw_operator_reconcile_duration_seconds_count{kind="McpToolkit"} 1"#,
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
}
