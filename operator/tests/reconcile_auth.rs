//! Reconciles of gateways with a JWT guard and toolkits with credentials, against the mock
//! API server: missing Secrets are reported and never block the rest, a Secret that
//! appears is picked up, and no Secret's value lands in anything the operator writes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use mcpgw_crds::McpGateway;
use mcpgw_operator::controller::reconcile_gateway;
use mcpgw_operator::references::Kind;
use serde_json::json;
use support::{
    APPS, FakeApi, FakeProbe, MCPGW, NS, assert_none_sent, condition, context, demo_cluster_with,
    demo_config, demo_gateway, last_status, secret,
};

/// The credential's value, as stored (base64) and as the data plane would read it.
const TOKEN_B64: &str = "Z2hwX3NlY3JldHRva2Vu";
const TOKEN: &str = "ghp_secrettoken";
const JWKS_B64: &str = "eyJrZXlzIjpbXX0=";

fn gateway() -> McpGateway {
    demo_gateway(json!({"auth": {"jwt": {
        "issuer": "https://auth.example.com",
        "audiences": ["https://mcp.example.com/mcp"],
        "keysFrom": {"secretKeyRef": {"name": "jwks", "key": "jwks.json"}},
    }}}))
}

/// Gateway `demo` with a JWT guard whose keys exist; toolkit `github` (roles, forwarding
/// and a credential Secret `gh-token` that does not exist yet) and toolkit `time` (open).
fn cluster() -> FakeApi {
    let github = json!({"gateway": "demo", "toolkit": "github",
        "upstream": {"url": "http://github-mcp:8080/mcp"},
        "requiredRoles": ["repo"], "forwardCallerToken": false,
        "credentialSecretRef": {"name": "gh-token", "key": "token", "header": "x-api-key"}});
    let api = demo_cluster_with(&gateway(), "github", github);
    api.put(
        &format!("{NS}/secrets/jwks"),
        secret("jwks", json!({"jwks.json": JWKS_B64})),
    );
    api
}

/// Nothing the operator sent (applies, statuses, events) holds a Secret's value.
fn assert_no_secret_values(api: &FakeApi) {
    assert_none_sent(api, &[TOKEN_B64, TOKEN, JWKS_B64]);
}

#[tokio::test]
async fn a_missing_credential_secret_is_reported_until_it_appears() {
    let api = cluster();
    let ctx = context(&api, Arc::new(FakeProbe::default()));
    reconcile_gateway(Arc::new(gateway()), ctx.clone())
        .await
        .unwrap();

    let github = last_status(&api, &format!("{MCPGW}/mcptoolkits/github"));
    let refs = condition(&github, "ResolvedRefs");
    assert_eq!(
        (refs["status"].as_str(), refs["reason"].as_str()),
        (Some("False"), Some("SecretNotFound"))
    );
    assert!(
        refs["message"]
            .as_str()
            .unwrap()
            .contains("Secret \"gh-token\" with key \"token\""),
        "{refs}"
    );
    let status = last_status(&api, &format!("{MCPGW}/mcpgateways/demo"));
    assert_eq!(status["toolkits"], json!(["time"]), "served without github");
    assert_eq!(condition(&status, "ResolvedRefs")["status"], "True");
    assert!(!demo_config(&api).contains("github"));
    // The watch on Secrets maps `gh-token` back to this gateway.
    let waiting = ctx.references.gateways(Kind::Secret, "shop", "gh-token");
    assert_eq!(
        waiting.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["demo"]
    );

    api.put(
        &format!("{NS}/secrets/gh-token"),
        secret("gh-token", json!({"token": TOKEN_B64})),
    );
    reconcile_gateway(Arc::new(gateway()), ctx).await.unwrap();
    let github = last_status(&api, &format!("{MCPGW}/mcptoolkits/github"));
    assert_eq!(condition(&github, "ResolvedRefs")["status"], "True");
    assert_eq!(condition(&github, "Accepted")["status"], "True");
    let status = last_status(&api, &format!("{MCPGW}/mcpgateways/demo"));
    assert_eq!(status["toolkits"], json!(["github", "time"]));
    let yaml = demo_config(&api);
    assert!(
        yaml.contains("file: /etc/mcpgw/credentials/github/credential"),
        "{yaml}"
    );
    assert!(
        yaml.contains("keys_file: /etc/mcpgw/jwks/jwks.json"),
        "{yaml}"
    );

    // The Deployment mounts exactly the two keys, read-only, where the config names them.
    let deployment = api.get(&format!("{APPS}/deployments/demo")).unwrap();
    let pod = &deployment["spec"]["template"]["spec"];
    let volumes = pod["volumes"].as_array().unwrap();
    let projected = |name: &str| {
        volumes.iter().find(|v| v["name"] == name).unwrap()["projected"]["sources"].clone()
    };
    assert_eq!(
        projected("credentials"),
        json!([{"secret": {"name": "gh-token", "optional": true,
                           "items": [{"key": "token", "path": "github/credential"}]}}])
    );
    assert_eq!(
        projected("jwks"),
        json!([{"secret": {"name": "jwks", "optional": true,
                           "items": [{"key": "jwks.json", "path": "jwks.json"}]}}])
    );
    let mounts = pod["containers"][0]["volumeMounts"].as_array().unwrap();
    assert!(
        mounts
            .iter()
            .filter(|m| m["name"] == "credentials" || m["name"] == "jwks")
            .all(|m| m["readOnly"] == true),
        "{mounts:?}"
    );
    assert_no_secret_values(&api);
}

#[tokio::test]
async fn missing_jwt_keys_leave_the_gateway_unresolved_and_unprogrammed() {
    let api = cluster();
    api.put(
        &format!("{NS}/secrets/jwks"),
        secret("jwks", json!({"other-key": JWKS_B64})),
    );
    reconcile_gateway(
        Arc::new(gateway()),
        context(&api, Arc::new(FakeProbe::default())),
    )
    .await
    .unwrap();
    let status = last_status(&api, &format!("{MCPGW}/mcpgateways/demo"));
    for type_ in ["ResolvedRefs", "Accepted"] {
        let c = condition(&status, type_);
        assert_eq!(
            (c["status"].as_str(), c["reason"].as_str()),
            (Some("False"), Some("SecretNotFound")),
            "{type_}"
        );
        assert!(
            c["message"].as_str().unwrap().contains(
                "spec.auth.jwt.keysFrom.secretKeyRef: Secret \"jwks\" with key \"jwks.json\""
            ),
            "{c}"
        );
    }
    assert_eq!(condition(&status, "Programmed")["status"], "False");
    assert!(api.get(&format!("{NS}/configmaps/demo-config")).is_none());
    assert_no_secret_values(&api);
}
