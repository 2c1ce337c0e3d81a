//! The authentication and credential fields: their CEL rules (kube-cel, client-side) and
//! the OpenAPI constraints the API server checks before them.

mod support;

use mcpgw_crds::{
    CredentialSecretReference, GatewayAuth, JwtAuth, McpGatewaySpec, McpToolkitSpec,
    ResourceMetadata, SecretOrConfigMapKey, Upstream,
};
use serde_json::{Value, json};
use support::{cel_failures, gateway_schema, schema_problems, toolkit_schema};

const FORWARD_CONFLICT: &str = "spec: forwardCallerToken sends the caller's token in the \
    Authorization header, where credentialSecretRef would go too: set credentialSecretRef.header \
    to another header, or drop one of the two";
const ONE_KEY_SOURCE: &str = "spec.auth.jwt: set exactly one of jwt.jwksUrl and jwt.keysFrom";
const ONE_KEY_REF: &str =
    "spec.auth.jwt.keysFrom: set exactly one of secretKeyRef and configMapKeyRef";

fn toolkit(extra: Value) -> Value {
    let mut spec = json!({
        "gateway": "demo",
        "toolkit": "github",
        "upstream": { "url": "https://api.githubcopilot.com/mcp/" },
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    json!({
        "apiVersion": "mcpgw.dev/v1alpha1",
        "kind": "McpToolkit",
        "metadata": { "name": "github", "namespace": "default" },
        "spec": spec,
    })
}

fn gateway(jwt: Value) -> Value {
    json!({
        "apiVersion": "mcpgw.dev/v1alpha1",
        "kind": "McpGateway",
        "metadata": { "name": "demo", "namespace": "default" },
        "spec": { "auth": { "jwt": jwt } },
    })
}

fn jwt(extra: Value) -> Value {
    let mut jwt = json!({ "issuer": "https://auth.example.com", "audiences": ["https://mcp.example.com/mcp"] });
    if let (Some(jwt), Some(extra)) = (jwt.as_object_mut(), extra.as_object()) {
        jwt.extend(extra.clone());
    }
    jwt
}

/// CEL failures and schema problems together: what the API server would refuse.
fn refusals(schema: &Value, object: &Value) -> Vec<String> {
    let mut all = schema_problems(schema, object);
    all.extend(cel_failures(schema, object, None));
    all
}

#[test]
fn forwarding_the_callers_token_conflicts_with_a_credential_in_authorization() {
    let secret = |header: Option<&str>| {
        let mut r = json!({ "name": "github-token", "key": "token" });
        if let Some(header) = header {
            r["header"] = json!(header);
        }
        r
    };
    for (extra, expected) in [
        (
            json!({ "forwardCallerToken": true, "credentialSecretRef": secret(None) }),
            vec![FORWARD_CONFLICT],
        ),
        (
            json!({ "forwardCallerToken": true, "credentialSecretRef": secret(Some("Authorization")) }),
            vec![FORWARD_CONFLICT],
        ),
        (
            json!({ "forwardCallerToken": true, "credentialSecretRef": secret(Some("authorization")) }),
            vec![FORWARD_CONFLICT],
        ),
        (
            json!({ "forwardCallerToken": true, "credentialSecretRef": secret(Some("x-api-key")) }),
            vec![],
        ),
        (json!({ "credentialSecretRef": secret(None) }), vec![]),
        (
            json!({ "forwardCallerToken": false, "credentialSecretRef": secret(None) }),
            vec![],
        ),
        (json!({ "forwardCallerToken": true }), vec![]),
        (json!({}), vec![]),
    ] {
        let object = toolkit(extra.clone());
        assert_eq!(refusals(&toolkit_schema(), &object), expected, "{extra}");
    }
}

#[test]
fn a_jwt_guard_needs_exactly_one_key_source() {
    let url = json!("https://auth.example.com/.well-known/jwks.json");
    let keys_from = json!({ "configMapKeyRef": { "name": "jwks", "key": "jwks.json" } });
    for (extra, expected) in [
        (json!({ "jwksUrl": url }), vec![]),
        (json!({ "keysFrom": keys_from }), vec![]),
        (
            json!({ "jwksUrl": url, "keysFrom": keys_from }),
            vec![ONE_KEY_SOURCE],
        ),
        (json!({}), vec![ONE_KEY_SOURCE]),
    ] {
        let object = gateway(jwt(extra.clone()));
        assert_eq!(refusals(&gateway_schema(), &object), expected, "{extra}");
    }
}

#[test]
fn keys_come_from_exactly_one_of_a_secret_and_a_config_map() {
    let reference = json!({ "name": "jwks", "key": "jwks.json" });
    for (keys_from, expected) in [
        (json!({ "secretKeyRef": reference }), vec![]),
        (json!({ "configMapKeyRef": reference }), vec![]),
        (
            json!({ "secretKeyRef": reference, "configMapKeyRef": reference }),
            vec![ONE_KEY_REF],
        ),
        (json!({}), vec![ONE_KEY_REF]),
    ] {
        let object = gateway(jwt(json!({ "keysFrom": keys_from })));
        assert_eq!(
            refusals(&gateway_schema(), &object),
            expected,
            "{keys_from}"
        );
    }
}

#[test]
fn a_jwt_guard_needs_an_issuer_and_an_audience() {
    let url = "https://auth.example.com/jwks.json";
    for (jwt, valid) in [
        (
            json!({ "issuer": "i", "audiences": ["a"], "jwksUrl": url }),
            true,
        ),
        (json!({ "audiences": ["a"], "jwksUrl": url }), false),
        (
            json!({ "issuer": "", "audiences": ["a"], "jwksUrl": url }),
            false,
        ),
        (json!({ "issuer": "i", "jwksUrl": url }), false),
        (
            json!({ "issuer": "i", "audiences": [], "jwksUrl": url }),
            false,
        ),
        (
            json!({ "issuer": "i", "audiences": [""], "jwksUrl": url }),
            false,
        ),
        (
            json!({ "issuer": "i", "audiences": ["a"], "jwksUrl": "ftp://x/jwks" }),
            false,
        ),
        (
            json!({ "issuer": "i", "audiences": ["a"], "jwksUrl": url, "algorithms": ["RS256", "EdDSA"] }),
            true,
        ),
        (
            json!({ "issuer": "i", "audiences": ["a"], "jwksUrl": url, "algorithms": ["HS256"] }),
            false,
        ),
        (
            json!({ "issuer": "i", "audiences": ["a"], "jwksUrl": url, "algorithms": ["none"] }),
            false,
        ),
        (
            json!({ "issuer": "i", "audiences": ["a"], "jwksUrl": url, "algorithms": [] }),
            false,
        ),
    ] {
        let object = gateway(jwt.clone());
        let problems = refusals(&gateway_schema(), &object);
        assert_eq!(problems.is_empty(), valid, "{jwt}: {problems:?}");
    }
}

#[test]
fn leeway_is_an_iso_8601_duration_and_may_be_zero() {
    let message = "spec.auth.jwt.leeway: must be an ISO-8601 duration, such as PT30S or PT1M";
    let url = json!("https://auth.example.com/jwks.json");
    for (leeway, valid) in [
        ("PT30S", true),
        ("PT0S", true),
        ("PT1M", true),
        ("PT0.5S", true),
        ("30s", false),
        ("P", false),
        ("PT", false),
    ] {
        let object = gateway(jwt(json!({ "jwksUrl": url, "leeway": leeway })));
        let failures = cel_failures(&gateway_schema(), &object, None);
        let expected: Vec<&str> = if valid { vec![] } else { vec![message] };
        assert_eq!(failures, expected, "leeway {leeway:?}");
    }
}

#[test]
fn claims_default_to_scope_and_sub() {
    let schema = gateway_schema();
    let claims = schema
        .pointer("/properties/spec/properties/auth/properties/jwt/properties")
        .cloned()
        .unwrap_or_default();
    assert_eq!(claims["rolesClaim"]["default"], json!("scope"));
    assert_eq!(claims["identityClaim"]["default"], json!("sub"));
    let toolkit = toolkit_schema();
    assert_eq!(
        toolkit.pointer("/properties/spec/properties/forwardCallerToken/default"),
        Some(&json!(false))
    );
}

#[test]
fn credential_formats_hold_the_placeholder_exactly_once() {
    let message = "spec.credentialSecretRef.format: must contain {credentials} exactly once, \
                   e.g. Bearer {credentials}";
    for (format, valid) in [
        ("Bearer {credentials}", true),
        ("{credentials}", true),
        ("token {credentials};v=1", true),
        ("Bearer", false),
        ("{credentials} {credentials}", false),
    ] {
        let object = toolkit(json!({ "credentialSecretRef": {
            "name": "github-token", "key": "token", "format": format } }));
        let failures = cel_failures(&toolkit_schema(), &object, None);
        let expected: Vec<&str> = if valid { vec![] } else { vec![message] };
        assert_eq!(failures, expected, "format {format:?}");
    }
}

#[test]
fn credential_headers_formats_roles_and_urls_are_checked_by_the_schema() {
    let reference = |field: &str, value: &str| {
        let mut r = json!({ "name": "github-token", "key": "token" });
        r[field] = json!(value);
        toolkit(json!({ "credentialSecretRef": r }))
    };
    for (object, valid) in [
        (reference("header", "x-api-key"), true),
        (reference("header", "x api key"), false),
        (reference("header", "x-api-key:"), false),
        (
            reference("format", "Bearer {credentials}\r\nX-Evil: 1"),
            false,
        ),
        (reference("name", "Not_A_Name"), false),
        (reference("key", "a/b"), false),
        (
            toolkit(json!({ "requiredRoles": ["repo", "read:org"] })),
            true,
        ),
        (toolkit(json!({ "requiredRoles": [] })), true),
        (toolkit(json!({ "requiredRoles": ["two words"] })), false),
        (toolkit(json!({ "requiredRoles": [""] })), false),
        (
            toolkit(json!({ "authorizationUrl": "https://github.com/login/oauth" })),
            true,
        ),
        (
            toolkit(json!({ "authorizationUrl": "javascript:alert(1)" })),
            false,
        ),
    ] {
        let problems = schema_problems(&toolkit_schema(), &object);
        assert_eq!(problems.is_empty(), valid, "{object}: {problems:?}");
    }
}

#[test]
fn resource_metadata_urls_are_http_or_https() {
    let url = json!("https://auth.example.com/jwks.json");
    for (metadata, valid) in [
        (
            json!({ "resource": "https://mcp.example.com/mcp",
                    "authorizationServers": ["https://auth.example.com"],
                    "scopesSupported": ["repo"], "resourceName": "Tools",
                    "resourceDocumentation": "https://docs.example.com" }),
            true,
        ),
        (json!({}), true),
        (json!({ "resource": "mcp.example.com" }), false),
        (
            json!({ "resourceDocumentation": "file:///etc/passwd" }),
            false,
        ),
    ] {
        let mut object = gateway(jwt(json!({ "jwksUrl": url })));
        object["spec"]["auth"]["resourceMetadata"] = metadata.clone();
        let problems = refusals(&gateway_schema(), &object);
        assert_eq!(problems.is_empty(), valid, "{metadata}: {problems:?}");
    }
}

/// What the builders make is what the schema accepts, and survives a trip through JSON.
#[test]
fn the_builders_make_valid_resources() {
    let gateway_spec = McpGatewaySpec {
        auth: Some(GatewayAuth {
            jwt: JwtAuth::with_keys_from(
                "https://auth.example.com",
                "https://mcp.example.com/mcp",
                SecretOrConfigMapKey::secret("jwks", "jwks.json"),
            ),
            resource_metadata: Some(ResourceMetadata::default()),
        }),
        ..McpGatewaySpec::default()
    };
    let mut toolkit_spec = McpToolkitSpec::new(
        "demo",
        "github",
        Upstream::url("https://api.githubcopilot.com/mcp/"),
    );
    toolkit_spec.required_roles = Some(vec!["repo".into()]);
    toolkit_spec.forward_caller_token = false;
    toolkit_spec.credential_secret_ref = Some(CredentialSecretReference::new("gh", "token"));
    for (schema, spec) in [
        (gateway_schema(), serde_json::to_value(&gateway_spec)),
        (toolkit_schema(), serde_json::to_value(&toolkit_spec)),
    ] {
        let spec = spec.unwrap_or_default();
        let object = json!({ "metadata": { "name": "demo" }, "spec": spec });
        assert_eq!(refusals(&schema, &object), Vec::<String>::new(), "{spec}");
    }
    let back: McpGatewaySpec =
        serde_json::from_value(serde_json::to_value(&gateway_spec).unwrap_or_default())
            .unwrap_or_default();
    assert_eq!(back, gateway_spec);
}
