//! `McpToolkit.spec.tls` and `upstream.service.scheme`: their CEL rules (kube-cel,
//! client-side) and the OpenAPI constraints the API server checks before them.

mod support;

use mcpgw_crds::{
    HttpVersion, McpToolkitSpec, SecretOrConfigMapKey, ServiceReference, TlsSecretReference,
    Upstream, UpstreamScheme, UpstreamTls,
};
use serde_json::{Value, json};
use support::{cel_failures, schema_problems, toolkit_schema};

const HTTPS_ONLY: &str = "spec: tls applies to an https upstream only: use an upstream.url \
    starting with https://, or set upstream.service.scheme to https";
const SKIP_CONFLICT: &str = "spec.tls: insecureSkipVerify turns certificate verification off, \
    so there is nothing to verify with caBundle or trustSystemRoots: true; keep one or the other";
const NOTHING_TRUSTED: &str = "spec.tls: trustSystemRoots: false with no caBundle trusts no \
    certificate, so the upstream could never be verified: add a caBundle, or leave \
    trustSystemRoots out";
const ALPN_NOT_A_VERSION: &str = "spec.tls: every alpn protocol must be one of httpVersions";
const ONE_CA_SOURCE: &str =
    "spec.tls.caBundle: set exactly one of secretKeyRef and configMapKeyRef";

fn toolkit(upstream: Value, tls: Value) -> Value {
    json!({
        "apiVersion": "mcpgw.dev/v1alpha1",
        "kind": "McpToolkit",
        "metadata": { "name": "internal", "namespace": "default" },
        "spec": { "gateway": "demo", "toolkit": "internal", "upstream": upstream, "tls": tls },
    })
}

fn https() -> Value {
    json!({ "url": "https://mcp.internal.example:8443/mcp" })
}

fn ca() -> Value {
    json!({ "secretKeyRef": { "name": "internal-ca", "key": "ca.crt" } })
}

/// CEL failures and schema problems together: what the API server would refuse.
fn refusals(object: &Value) -> Vec<String> {
    let schema = toolkit_schema();
    let mut all = schema_problems(&schema, object);
    all.extend(cel_failures(&schema, object, None));
    all
}

#[test]
fn tls_needs_an_https_url_or_a_service_with_the_https_scheme() {
    let service = |scheme: Option<&str>| {
        let mut s = json!({ "name": "internal", "port": 8443 });
        if let Some(scheme) = scheme {
            s["scheme"] = json!(scheme);
        }
        json!({ "service": s })
    };
    for (upstream, expected) in [
        (https(), vec![]),
        (
            json!({ "url": "http://mcp.internal:8080/mcp" }),
            vec![HTTPS_ONLY],
        ),
        (service(Some("https")), vec![]),
        (service(Some("http")), vec![HTTPS_ONLY]),
        (service(None), vec![HTTPS_ONLY]),
    ] {
        let object = toolkit(upstream.clone(), json!({ "caBundle": ca() }));
        assert_eq!(refusals(&object), expected, "{upstream}");
    }
    let mut plain = toolkit(service(Some("https")), json!({}));
    plain["spec"].as_object_mut().map(|spec| spec.remove("tls"));
    assert_eq!(refusals(&plain), Vec::<String>::new(), "https without tls");
    let mut ftp = toolkit(service(Some("ftp")), json!({}));
    ftp["spec"].as_object_mut().map(|spec| spec.remove("tls"));
    assert!(!refusals(&ftp).is_empty(), "scheme is http or https");
}

#[test]
fn skipping_verification_refuses_anything_to_verify_with() {
    for (tls, expected) in [
        (json!({ "insecureSkipVerify": true }), vec![]),
        (
            json!({ "insecureSkipVerify": true, "trustSystemRoots": false }),
            vec![],
        ),
        (
            json!({ "insecureSkipVerify": true, "caBundle": ca() }),
            vec![SKIP_CONFLICT],
        ),
        (
            json!({ "insecureSkipVerify": true, "trustSystemRoots": true }),
            vec![SKIP_CONFLICT],
        ),
        (
            json!({ "insecureSkipVerify": false, "caBundle": ca() }),
            vec![],
        ),
    ] {
        assert_eq!(refusals(&toolkit(https(), tls.clone())), expected, "{tls}");
    }
}

#[test]
fn something_must_be_trusted() {
    for (tls, expected) in [
        (json!({ "trustSystemRoots": false }), vec![NOTHING_TRUSTED]),
        (
            json!({ "trustSystemRoots": false, "caBundle": ca() }),
            vec![],
        ),
        (
            json!({ "trustSystemRoots": true, "caBundle": ca() }),
            vec![],
        ),
        (json!({ "trustSystemRoots": true }), vec![]),
        (json!({}), vec![]),
    ] {
        assert_eq!(refusals(&toolkit(https(), tls.clone())), expected, "{tls}");
    }
}

#[test]
fn alpn_offers_only_the_http_versions_each_once() {
    for (tls, expected) in [
        (json!({ "alpn": ["h2", "http/1.1"] }), vec![]),
        (json!({ "alpn": [] }), vec![]),
        (
            json!({ "alpn": ["http/1.1"], "httpVersions": ["http/1.1"] }),
            vec![],
        ),
        (
            json!({ "alpn": ["h2"], "httpVersions": ["http/1.1"] }),
            vec![ALPN_NOT_A_VERSION],
        ),
        (
            json!({ "alpn": ["h2", "h2"] }),
            vec!["spec.tls.alpn: each protocol once"],
        ),
    ] {
        assert_eq!(refusals(&toolkit(https(), tls.clone())), expected, "{tls}");
    }
}

/// The CA bundle is a `SecretOrConfigMapKey`, as the JWT keys are (its rule is tested
/// with them, in auth.rs): the rule holds here too.
#[test]
fn the_ca_bundle_names_exactly_one_object() {
    let both = json!({ "secretKeyRef": { "name": "ca", "key": "ca.crt" },
                       "configMapKeyRef": { "name": "ca", "key": "ca.crt" } });
    let object = toolkit(https(), json!({ "caBundle": both }));
    assert_eq!(refusals(&object), [ONE_CA_SOURCE]);
}

#[test]
fn names_versions_and_references_are_checked_by_the_schema() {
    for (tls, valid) in [
        (json!({ "serverName": "mcp.internal.example" }), true),
        (json!({ "serverName": "10.0.0.7" }), true),
        (json!({ "serverName": "fd00::7" }), true),
        (json!({ "serverName": "" }), false),
        (json!({ "serverName": "a b" }), false),
        (json!({ "serverName": "https://mcp.internal" }), false),
        (json!({ "alpn": ["h3"] }), false),
        (json!({ "alpn": ["h2", "http/1.1", "h2"] }), false),
        (json!({ "httpVersions": [] }), false),
        (json!({ "httpVersions": ["h2"] }), true),
        (
            json!({ "clientCertificateSecretRef": { "name": "internal-client" } }),
            true,
        ),
        (
            json!({ "clientCertificateSecretRef": { "name": "Not_A_Name" } }),
            false,
        ),
        (json!({ "clientCertificateSecretRef": {} }), false),
        (
            json!({ "caBundle": { "secretKeyRef": { "name": "ca" } } }),
            false,
        ),
    ] {
        let problems = schema_problems(&toolkit_schema(), &toolkit(https(), tls.clone()));
        assert_eq!(problems.is_empty(), valid, "{tls}: {problems:?}");
    }
}

/// What the builders make is what the schema accepts, and survives a trip through JSON.
#[test]
fn the_builders_make_valid_tls_toolkits() {
    let mut service = ServiceReference::new("internal", 8443);
    service.scheme = UpstreamScheme::Https;
    let mut spec = McpToolkitSpec::new("demo", "internal", Upstream::service(service));
    spec.tls = Some(UpstreamTls {
        ca_bundle: Some(SecretOrConfigMapKey::config_map("internal-ca", "ca.crt")),
        trust_system_roots: Some(true),
        client_certificate_secret_ref: Some(TlsSecretReference::new("internal-client")),
        server_name: Some("mcp.internal.example".into()),
        alpn: Some(vec![HttpVersion::H2, HttpVersion::Http11]),
        http_versions: Some(vec![HttpVersion::Http11, HttpVersion::H2]),
        insecure_skip_verify: false,
    });
    let json = serde_json::to_value(&spec).unwrap_or_default();
    assert_eq!(
        json.pointer("/upstream/service/scheme"),
        Some(&json!("https"))
    );
    assert_eq!(json.pointer("/tls/alpn"), Some(&json!(["h2", "http/1.1"])));
    let object = json!({ "metadata": { "name": "internal" }, "spec": json });
    assert_eq!(refusals(&object), Vec::<String>::new(), "{json}");
    let back: McpToolkitSpec = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, spec);
    let empty: UpstreamTls = serde_json::from_value(json!({})).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(empty, UpstreamTls::default());
}
