//! Rendering of toolkits' `spec.tls`: the explicit south chain with the mounted files'
//! paths, `sys:http_client` for an `https` upstream without it, and the verdicts when a
//! CA bundle or client certificate is missing or the chain cannot be served.

use mcpgw_crds::{
    HttpVersion, SecretOrConfigMapKey, TlsSecretReference, UpstreamScheme, UpstreamTls,
};

use super::*;

fn keys(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| (*k).to_owned()).collect()
}

/// `internal`: an https Service, its CA from a ConfigMap, a client certificate, HTTP/1.1
/// only. `partner`: an https URL, its CA from a Secret on top of the system's roots, a
/// client certificate. `public`: an https URL without `tls`.
fn tls_toolkits() -> Vec<McpToolkit> {
    let mut https_service = ServiceReference::new("everything", 3001);
    https_service.scheme = UpstreamScheme::Https;
    let mut internal = toolkit("internal", "internal", Upstream::service(https_service), 1);
    internal.spec.tls = Some(UpstreamTls {
        ca_bundle: Some(SecretOrConfigMapKey::config_map(
            "internal-ca",
            "bundle.pem",
        )),
        client_certificate_secret_ref: Some(TlsSecretReference::new("internal-client")),
        server_name: Some("mcp.internal.example".into()),
        alpn: Some(vec![HttpVersion::Http11]),
        http_versions: Some(vec![HttpVersion::Http11]),
        ..UpstreamTls::default()
    });
    let mut partner = toolkit(
        "partner",
        "partner",
        Upstream::url("https://mcp.partner.example/mcp"),
        2,
    );
    partner.spec.tls = Some(UpstreamTls {
        ca_bundle: Some(SecretOrConfigMapKey::secret("partner-ca", "ca.crt")),
        trust_system_roots: Some(true),
        client_certificate_secret_ref: Some(TlsSecretReference::new("partner-client")),
        ..UpstreamTls::default()
    });
    let public = toolkit(
        "public",
        "public",
        Upstream::url("https://api.githubcopilot.com/mcp/"),
        3,
    );
    vec![internal, partner, public]
}

fn tls_secrets() -> BTreeMap<String, BTreeSet<String>> {
    BTreeMap::from([
        ("partner-ca".to_owned(), keys(&["ca.crt"])),
        ("internal-client".to_owned(), keys(&["tls.crt", "tls.key"])),
        (
            "partner-client".to_owned(),
            keys(&["ca.crt", "tls.crt", "tls.key"]),
        ),
    ])
}

fn tls_config_maps() -> BTreeMap<String, BTreeSet<String>> {
    BTreeMap::from([("internal-ca".to_owned(), keys(&["bundle.pem"]))])
}

fn run_tls(
    toolkits: &[McpToolkit],
    secrets: &BTreeMap<String, BTreeSet<String>>,
    config_maps: &BTreeMap<String, BTreeSet<String>>,
) -> Rendered {
    render(&Inputs {
        gateway: &gateway("demo"),
        toolkits,
        services: &services(),
        secrets,
        config_maps,
    })
}

fn yaml_value(text: &str) -> serde_yaml_ng::Value {
    serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn an_https_toolkit_with_a_ca_bundle_and_a_client_certificate_renders_the_explicit_chain() {
    let r = run_tls(&tls_toolkits(), &tls_secrets(), &tls_config_maps());
    assert_eq!(r.served, ["internal", "partner", "public"]);
    assert_all_accepted_and_resolved(&r);
    let yaml = &r.config.as_ref().expect("a config").yaml;
    let config = yaml_value(yaml);
    let binding = |name: &str| config["bindings"][name].clone();
    assert_eq!(
        binding("south_mcp_client_internal")["options"]["server"],
        yaml_value("https://everything.shop.svc:3001/mcp")
    );
    assert_eq!(
        binding("south_mcp_client_internal")["exit"],
        yaml_value("south_http_client_internal")
    );
    assert_eq!(
        binding("south_tls_client_internal"),
        yaml_value(
            "{type: tls, kind: client, exit: south_tcp_client_internal, options: {
               trust: [/etc/mcpgw/tls/internal/ca.crt], sni: [mcp.internal.example],
               alpn: [http/1.1], certificate_file: /etc/mcpgw/tls/internal/tls.crt,
               key_file: /etc/mcpgw/tls/internal/tls.key}}"
        )
    );
    assert_eq!(
        binding("south_tls_client_partner")["options"]["trustcacerts"],
        yaml_value("true")
    );
    assert_eq!(
        binding("south_mcp_client_public")["exit"],
        yaml_value("sys:http_client"),
        "an https upstream without tls keeps the built-in client"
    );
    assert_eq!(
        binding("south_tls_client_public"),
        serde_yaml_ng::Value::Null
    );
    // NB: the config names files; no Secret's or ConfigMap's name or key is in it.
    for object in ["internal-ca", "bundle.pem", "partner-ca", "-client"] {
        assert!(!yaml.contains(object), "{object} in\n{yaml}");
    }
    let files = |ca_bundle, client: &str| TlsFiles {
        ca_bundle: Some(ca_bundle),
        client_certificate: Some(client.to_owned()),
    };
    assert_eq!(
        r.mounts.tls,
        BTreeMap::from([
            (
                "internal".to_owned(),
                files(
                    KeySource::ConfigMap {
                        name: "internal-ca".into(),
                        key: "bundle.pem".into()
                    },
                    "internal-client"
                )
            ),
            (
                "partner".to_owned(),
                files(KeySource::secret("partner-ca", "ca.crt"), "partner-client")
            ),
        ])
    );
    golden("tls", &r);
}

#[test]
fn tls_that_names_no_file_mounts_nothing() {
    let mut named = toolkit("named", "named", Upstream::url("https://10.0.0.7/mcp"), 1);
    named.spec.tls = Some(UpstreamTls {
        server_name: Some("mcp.internal.example".into()),
        ..UpstreamTls::default()
    });
    let r = run_tls(&[named], &BTreeMap::new(), &BTreeMap::new());
    assert_eq!(r.served, ["named"]);
    assert_eq!(r.mounts, Mounts::default());
    let yaml = &r.config.as_ref().expect("a config").yaml;
    let tls = &yaml_value(yaml)["bindings"]["south_tls_client_named"];
    assert_eq!(tls["options"], yaml_value("{sni: [mcp.internal.example]}"));
}

#[test]
fn a_missing_ca_bundle_or_client_certificate_is_an_unresolved_ref_and_the_toolkit_is_left_out() {
    let mut secrets = tls_secrets();
    secrets.remove("partner-ca");
    secrets.insert("internal-client".into(), keys(&["tls.crt"]));
    let r = run_tls(&tls_toolkits(), &secrets, &tls_config_maps());
    assert_eq!(r.served, ["public"]);
    for (toolkit, reason, message) in [
        (
            "internal",
            reason::SECRET_NOT_FOUND,
            "spec.tls.clientCertificateSecretRef: Secret \"internal-client\" with key \"tls.key\" not found",
        ),
        (
            "partner",
            reason::SECRET_NOT_FOUND,
            "spec.tls.caBundle.secretKeyRef: Secret \"partner-ca\" with key \"ca.crt\" not found",
        ),
    ] {
        let refs = &r.toolkits[toolkit].resolved_refs;
        assert_eq!((refs.status, refs.reason), (false, reason), "{toolkit}");
        assert!(refs.message.contains(message), "{}", refs.message);
    }
    assert!(r.mounts.tls.is_empty(), "{:?}", r.mounts);

    let r = run_tls(&tls_toolkits(), &tls_secrets(), &BTreeMap::new());
    let refs = &r.toolkits["internal"].resolved_refs;
    assert_eq!(
        (refs.status, refs.reason),
        (false, reason::CONFIG_MAP_NOT_FOUND)
    );
    assert!(
        refs.message.contains(
            "spec.tls.caBundle.configMapKeyRef: ConfigMap \"internal-ca\" with key \"bundle.pem\""
        ),
        "{}",
        refs.message
    );
}

#[test]
fn a_chain_the_config_refuses_is_that_toolkits_fault_alone() {
    let mut toolkits = tls_toolkits();
    // Offering no protocol means HTTP/1.1, which this toolkit does not allow; the API
    // server's CEL rules let it through.
    toolkits[1].spec.tls = Some(UpstreamTls {
        alpn: Some(vec![]),
        http_versions: Some(vec![HttpVersion::H2]),
        ..UpstreamTls::default()
    });
    // tls on a plain-http upstream (CEL refuses it; the config does too).
    let mut plain = toolkit("plain", "plain", service("time", 3002), 4);
    plain.spec.tls = Some(UpstreamTls::default());
    toolkits.push(plain);
    let r = run_tls(&toolkits, &tls_secrets(), &tls_config_maps());
    assert_eq!(r.served, ["internal", "public"]);
    for (toolkit, words) in [
        ("partner", "offering no protocol leaves only HTTP/1.1"),
        ("plain", "the server is `http`"),
    ] {
        let accepted = &r.toolkits[toolkit].accepted;
        assert_eq!(
            (accepted.status, accepted.reason),
            (false, reason::INVALID),
            "{toolkit}"
        );
        assert!(accepted.message.contains(words), "{}", accepted.message);
    }
}
