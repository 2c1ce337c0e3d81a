//! Reconciles of a toolkit with `spec.tls` against the mock API server: a missing CA
//! bundle Secret is reported until it appears, the CA bundle and client certificate are
//! then mounted where the config names them, a renewed certificate leaves the pod
//! template as it was, and no certificate or key lands in anything the operator writes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use mcpgw_crds::McpGateway;
use mcpgw_operator::controller::reconcile_gateway;
use mcpgw_operator::references::Kind;
use serde_json::{Value, json};
use support::{
    APPS, FakeApi, FakeProbe, MCPGW, NS, assert_none_sent, condition, context, demo_cluster_with,
    demo_config, demo_gateway, last_status, secret,
};

/// The Secrets' values as stored (base64): a CA bundle, a renewed one, a client
/// certificate and its key. None may leave the API server through the operator.
const CA_B64: &str = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBLTEKLS0tLS1FTkQ=";
const RENEWED_CA_B64: &str = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBLTIKLS0tLS1FTkQ=";
const CERT_B64: &str = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNMSUVOVAo=";
const KEY_B64: &str = "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tClNFQ1JFVAo=";

fn gateway() -> McpGateway {
    demo_gateway(json!({}))
}

fn ca_secret(value: &str) -> Value {
    secret("internal-ca", json!({"ca.crt": value}))
}

/// Gateway `demo`; toolkit `internal` (an https URL, a CA bundle from Secret
/// `internal-ca`, not created yet, and the client certificate of the `kubernetes.io/tls`
/// Secret `internal-client`); toolkit `time` (plain http).
fn cluster() -> FakeApi {
    let internal = json!({"gateway": "demo", "toolkit": "internal",
        "upstream": {"url": "https://mcp.internal.example:8443/mcp"},
        "tls": {"caBundle": {"secretKeyRef": {"name": "internal-ca", "key": "ca.crt"}},
                "clientCertificateSecretRef": {"name": "internal-client"}}});
    let api = demo_cluster_with(&gateway(), "internal", internal);
    let mut client = secret(
        "internal-client",
        json!({"tls.crt": CERT_B64, "tls.key": KEY_B64}),
    );
    client["type"] = json!("kubernetes.io/tls");
    api.put(&format!("{NS}/secrets/internal-client"), client);
    api
}

fn pod_template(api: &FakeApi) -> Value {
    let deployment = api.get(&format!("{APPS}/deployments/demo")).unwrap();
    deployment["spec"]["template"].clone()
}

#[tokio::test]
async fn a_ca_bundle_secret_is_reported_until_it_appears_then_mounted_without_its_value() {
    let api = cluster();
    let ctx = context(&api, Arc::new(FakeProbe::default()));
    reconcile_gateway(Arc::new(gateway()), ctx.clone())
        .await
        .unwrap();

    let internal = last_status(&api, &format!("{MCPGW}/mcptoolkits/internal"));
    let refs = condition(&internal, "ResolvedRefs");
    assert_eq!(
        (refs["status"].as_str(), refs["reason"].as_str()),
        (Some("False"), Some("SecretNotFound"))
    );
    let message = refs["message"].as_str().unwrap();
    assert!(
        message
            .contains("spec.tls.caBundle.secretKeyRef: Secret \"internal-ca\" with key \"ca.crt\""),
        "{refs}"
    );
    let status = last_status(&api, &format!("{MCPGW}/mcpgateways/demo"));
    assert_eq!(
        status["toolkits"],
        json!(["time"]),
        "served without internal"
    );
    assert!(!demo_config(&api).contains("internal"));
    assert!(
        !pod_template(&api).to_string().contains("internal"),
        "nothing of an unresolved toolkit is mounted"
    );
    // The watch on Secrets maps both of the toolkit's Secrets back to this gateway.
    for secret in ["internal-ca", "internal-client"] {
        let waiting = ctx.references.gateways(Kind::Secret, "shop", secret);
        let names: Vec<_> = waiting.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["demo"], "{secret}");
    }

    api.put(&format!("{NS}/secrets/internal-ca"), ca_secret(CA_B64));
    reconcile_gateway(Arc::new(gateway()), ctx.clone())
        .await
        .unwrap();
    let internal = last_status(&api, &format!("{MCPGW}/mcptoolkits/internal"));
    assert_eq!(condition(&internal, "ResolvedRefs")["status"], "True");
    assert_eq!(condition(&internal, "Accepted")["status"], "True");
    let status = last_status(&api, &format!("{MCPGW}/mcpgateways/demo"));
    assert_eq!(status["toolkits"], json!(["internal", "time"]));
    let yaml = demo_config(&api);
    for line in [
        "exit: south_http_client_internal",
        "- /etc/mcpgw/tls/internal/ca.crt",
        "certificate_file: /etc/mcpgw/tls/internal/tls.crt",
        "key_file: /etc/mcpgw/tls/internal/tls.key",
    ] {
        assert!(yaml.contains(line), "{line} not in\n{yaml}");
    }

    // The Deployment mounts exactly the three keys, read-only, where the config names them.
    let template = pod_template(&api);
    let pod = &template["spec"];
    let volumes = pod["volumes"].as_array().unwrap();
    let tls = volumes.iter().find(|v| v["name"] == "tls").unwrap();
    assert_eq!(
        tls["projected"]["sources"],
        json!([
            {"secret": {"name": "internal-ca", "optional": true,
                        "items": [{"key": "ca.crt", "path": "internal/ca.crt"}]}},
            {"secret": {"name": "internal-client", "optional": true,
                        "items": [{"key": "tls.crt", "path": "internal/tls.crt"},
                                  {"key": "tls.key", "path": "internal/tls.key"}]}},
        ])
    );
    let mounts = pod["containers"][0]["volumeMounts"].as_array().unwrap();
    let mount = mounts.iter().find(|m| m["name"] == "tls").unwrap();
    assert_eq!(
        (&mount["mountPath"], &mount["readOnly"]),
        (&json!("/etc/mcpgw/tls"), &json!(true))
    );

    // A renewed CA bundle reaches the pods through the volume: the pod template, and so
    // the pods, stay as they were.
    api.put(
        &format!("{NS}/secrets/internal-ca"),
        ca_secret(RENEWED_CA_B64),
    );
    reconcile_gateway(Arc::new(gateway()), ctx).await.unwrap();
    assert_eq!(
        pod_template(&api),
        template,
        "no rollout for a renewed certificate"
    );
    assert_eq!(demo_config(&api), yaml);

    assert_none_sent(&api, &[CA_B64, RENEWED_CA_B64, CERT_B64, KEY_B64]);
}
