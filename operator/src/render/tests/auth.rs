//! Rendering of the gateway's JWT guard and the toolkits' roles, forwarding and
//! credentials; and the verdicts when what they need is missing.

use mcpgw_crds::{
    CredentialSecretReference, GatewayAuth, JwtAlgorithm, JwtAuth, ResourceMetadata,
    SecretOrConfigMapKey,
};

use super::*;

const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "https://mcp.example.com/mcp";

fn auth(keys: SecretOrConfigMapKey) -> GatewayAuth {
    let mut jwt = JwtAuth::with_keys_from(ISSUER, AUDIENCE, keys);
    jwt.audiences.push("mcp-gateway".into());
    jwt.algorithms = Some(vec![JwtAlgorithm::RS256, JwtAlgorithm::ES256]);
    jwt.leeway = Some("PT10S".into());
    jwt.roles_claim = "roles".into();
    GatewayAuth {
        jwt,
        resource_metadata: Some(ResourceMetadata {
            resource: Some(AUDIENCE.into()),
            authorization_servers: Some(vec![ISSUER.into()]),
            scopes_supported: Some(vec!["repo".into(), "search".into()]),
            resource_name: Some("Shop tools".into()),
            resource_documentation: Some("https://docs.example.com/mcp".into()),
        }),
    }
}

fn auth_gateway() -> McpGateway {
    let mut g = gateway("demo");
    g.spec.auth = Some(auth(SecretOrConfigMapKey::secret("jwks", "keys.json")));
    g
}

/// A guarded, forwarding toolkit; one with the gateway's own key; one open to any
/// authenticated caller; and an open one.
fn auth_toolkits() -> Vec<McpToolkit> {
    let mut github = toolkit(
        "github",
        "github",
        Upstream::url("http://github-mcp.example:8080/mcp/"),
        1,
    );
    github.spec.required_roles = Some(vec!["repo".into()]);
    github.spec.forward_caller_token = true;
    github.spec.authorization_url = Some("https://github.com/login/oauth/authorize".into());
    let mut search = toolkit("search", "search", service("everything", 3001), 2);
    search.spec.required_roles = Some(vec!["search".into(), "read".into()]);
    let mut credential = CredentialSecretReference::new("search-api", "api-key");
    credential.header = Some("x-api-key".into());
    credential.format = Some("{credentials}".into());
    search.spec.credential_secret_ref = Some(credential);
    let mut members = toolkit("members", "members", service("time", 3002), 3);
    members.spec.required_roles = Some(vec![]);
    members.spec.credential_secret_ref = Some(CredentialSecretReference::new("members", "token"));
    vec![
        github,
        search,
        members,
        toolkit("time", "time", service("time", 3002), 4),
    ]
}

fn auth_secrets() -> BTreeMap<String, BTreeSet<String>> {
    let keys = |keys: &[&str]| keys.iter().map(|k| (*k).to_owned()).collect();
    BTreeMap::from([
        ("jwks".to_owned(), keys(&["keys.json"])),
        ("search-api".to_owned(), keys(&["api-key"])),
        ("members".to_owned(), keys(&["token", "other"])),
    ])
}

fn yaml_value(text: &str) -> serde_yaml_ng::Value {
    serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn run_with(
    gateway: &McpGateway,
    toolkits: &[McpToolkit],
    secrets: &BTreeMap<String, BTreeSet<String>>,
    config_maps: &BTreeMap<String, BTreeSet<String>>,
) -> Rendered {
    render(&Inputs {
        gateway,
        toolkits,
        services: &services(),
        secrets,
        config_maps,
    })
}

#[test]
fn a_gateway_with_auth_renders_its_guard_and_the_toolkits_access() {
    let r = run_with(
        &auth_gateway(),
        &auth_toolkits(),
        &auth_secrets(),
        &BTreeMap::new(),
    );
    assert_eq!(r.served, ["github", "members", "search", "time"]);
    assert!(r.accepted.status && r.resolved_refs.status && r.programmed.status);
    assert_all_accepted_and_resolved(&r);
    let yaml = &r.config.as_ref().expect("a config").yaml;
    let config = yaml_value(yaml);
    let guard = &config["guards"][JWT_GUARD]["options"];
    assert_eq!(guard["keys_file"], yaml_value("/etc/mcpgw/jwks/jwks.json"));
    assert_eq!(guard.get("keys"), None);
    let client = |toolkit: &str| {
        &config["bindings"][format!("south_mcp_client_{toolkit}").as_str()]["options"]
    };
    assert_eq!(
        client("search")["credentials"],
        yaml_value(
            "{file: /etc/mcpgw/credentials/search/credential, header: x-api-key, format: '{credentials}'}"
        )
    );
    assert_eq!(
        client("github")["authorization"],
        yaml_value("{jwt: {credentials: 'Bearer {credentials}'}}")
    );
    assert_eq!(
        client("search").get("authorization"),
        None,
        "no forwarding unless asked"
    );
    let routes = &config["bindings"]["north_mcp_proxy"]["routes"];
    let guarded: Vec<_> = ["github", "members", "search", "time"]
        .iter()
        .enumerate()
        .map(|(i, name)| (*name, routes[i].get("guarded").cloned()))
        .collect();
    assert_eq!(
        guarded,
        [
            ("github", Some(yaml_value("{jwt: [repo]}"))),
            ("members", Some(yaml_value("{jwt: []}"))),
            ("search", Some(yaml_value("{jwt: [search, read]}"))),
            ("time", None),
        ]
    );
    // NB: the config names files; no Secret's or ConfigMap's name or key is in it.
    for object in [
        "jwks",
        "keys.json",
        "search-api",
        "api-key",
        "members/token",
    ] {
        assert!(
            !yaml.contains(&format!(" {object}\n")),
            "{object} in\n{yaml}"
        );
    }
    assert_eq!(
        r.mounts,
        Mounts {
            jwks: Some(KeySource::Secret {
                name: "jwks".into(),
                key: "keys.json".into()
            }),
            credentials: BTreeMap::from([
                ("members".into(), ("members".into(), "token".into())),
                ("search".into(), ("search-api".into(), "api-key".into())),
            ]),
            tls: BTreeMap::new(),
        }
    );
    golden_model("auth", &r);
}

#[test]
fn a_jwks_url_renders_as_keys_and_mounts_nothing() {
    let mut g = gateway("demo");
    g.spec.auth = Some(GatewayAuth {
        jwt: JwtAuth::with_jwks_url(ISSUER, AUDIENCE, "https://auth.example.com/jwks.json"),
        resource_metadata: None,
    });
    let r = run_with(&g, &demo_toolkits(), &BTreeMap::new(), &BTreeMap::new());
    let yaml = &r.config.as_ref().expect("a config").yaml;
    let options = &yaml_value(yaml)["guards"][JWT_GUARD]["options"];
    assert_eq!(
        options["keys"],
        yaml_value("https://auth.example.com/jwks.json")
    );
    assert_eq!(options.get("keys_file"), None);
    assert_eq!(options["audience"], yaml_value(AUDIENCE));
    assert_eq!(r.mounts, Mounts::default());
    assert!(yaml.contains("authorization:\n"), "{yaml}");
    assert!(!yaml.contains("resource_metadata"), "{yaml}");
    golden_model("auth-jwks-url", &r);
}

#[test]
fn keys_from_a_config_map_are_mounted_from_it() {
    let mut g = gateway("demo");
    g.spec.auth = Some(auth(SecretOrConfigMapKey::config_map("jwks", "jwks.json")));
    let maps = BTreeMap::from([("jwks".to_owned(), BTreeSet::from(["jwks.json".to_owned()]))]);
    let r = run_with(&g, &demo_toolkits(), &BTreeMap::new(), &maps);
    assert!(r.resolved_refs.status, "{:?}", r.resolved_refs);
    assert_eq!(
        r.mounts.jwks,
        Some(KeySource::ConfigMap {
            name: "jwks".into(),
            key: "jwks.json".into()
        })
    );
}

#[test]
fn missing_jwt_keys_refuse_the_gateway_and_name_the_object() {
    let mut g = gateway("demo");
    g.spec.auth = Some(auth(SecretOrConfigMapKey::config_map("jwks", "jwks.json")));
    let wrong_key = BTreeMap::from([("jwks".to_owned(), BTreeSet::from(["other".to_owned()]))]);
    for maps in [BTreeMap::new(), wrong_key] {
        let r = run_with(&g, &demo_toolkits(), &BTreeMap::new(), &maps);
        assert_eq!(
            (r.resolved_refs.status, r.resolved_refs.reason),
            (false, reason::CONFIG_MAP_NOT_FOUND)
        );
        assert_eq!(r.accepted.reason, reason::CONFIG_MAP_NOT_FOUND);
        assert!(
            r.resolved_refs
                .message
                .contains("ConfigMap \"jwks\" with key \"jwks.json\""),
            "{}",
            r.resolved_refs.message
        );
        assert!(r.config.is_none() && r.mounts == Mounts::default());
    }
    let r = run_with(
        &auth_gateway(),
        &demo_toolkits(),
        &BTreeMap::new(),
        &BTreeMap::new(),
    );
    assert_eq!(r.resolved_refs.reason, reason::SECRET_NOT_FOUND);
    assert!(r.resolved_refs.message.contains("keysFrom.secretKeyRef"));
}

#[test]
fn a_missing_credential_secret_is_an_unresolved_ref_and_the_toolkit_is_left_out() {
    let mut secrets = auth_secrets();
    secrets.remove("search-api");
    secrets.insert("members".into(), BTreeSet::from(["other".to_owned()]));
    let r = run_with(
        &auth_gateway(),
        &auth_toolkits(),
        &secrets,
        &BTreeMap::new(),
    );
    assert_eq!(r.served, ["github", "time"]);
    for (toolkit, secret, key) in [
        ("search", "search-api", "api-key"),
        ("members", "members", "token"),
    ] {
        let refs = &r.toolkits[toolkit].resolved_refs;
        assert_eq!(
            (refs.status, refs.reason),
            (false, reason::SECRET_NOT_FOUND)
        );
        assert!(
            refs.message
                .contains(&format!("Secret {secret:?} with key {key:?}")),
            "{}",
            refs.message
        );
    }
    assert!(r.mounts.credentials.is_empty(), "{:?}", r.mounts);
    assert!(r.resolved_refs.status, "the gateway's own refs resolve");
}

#[test]
fn roles_or_forwarding_on_a_gateway_without_auth_are_not_accepted() {
    let r = run(&gateway("demo"), &auth_toolkits());
    assert_eq!(r.served, ["time"]);
    for toolkit in ["github", "search", "members"] {
        let accepted = &r.toolkits[toolkit].accepted;
        assert_eq!(
            (accepted.status, accepted.reason),
            (false, reason::GATEWAY_AUTH_MISSING),
            "{toolkit}"
        );
    }
    let github = &r.toolkits["github"].accepted.message;
    assert!(
        github.contains("spec.requiredRoles and spec.forwardCallerToken")
            && github.contains("McpGateway \"demo\" has no spec.auth"),
        "{github}"
    );
    let yaml = &r.config.as_ref().expect("a config").yaml;
    assert!(!yaml.contains("guard"), "{yaml}");

    // A credential alone needs no guard.
    let mut keyed = toolkit("keyed", "keyed", service("time", 3002), 5);
    keyed.spec.credential_secret_ref = Some(CredentialSecretReference::new("members", "token"));
    keyed.spec.authorization_url = Some("https://example.com/connect".into());
    let r = run_with(
        &gateway("demo"),
        &[keyed],
        &auth_secrets(),
        &BTreeMap::new(),
    );
    assert_eq!(r.served, ["keyed"]);
}

/// The auth goldens through the data plane's own parser.
#[test]
fn the_auth_goldens_are_accepted_by_the_data_planes_parser() {
    for name in ["auth", "auth-jwks-url"] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join(format!("src/render/golden/{name}.yaml"));
        let yaml = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let plan = mcpgw_config::compile_yaml(&yaml)
            .unwrap_or_else(|e| panic!("{name}: the data plane rejects it: {e}"));
        let endpoint = &plan.listeners[0].routes[0].endpoint;
        assert!(
            endpoint.authorization.is_some(),
            "{name}: no guard in the plan"
        );
    }
}
