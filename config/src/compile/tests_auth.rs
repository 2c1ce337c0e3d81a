//! Compiling guards, guarded routes and toolkit credentials.

use std::time::Duration;

use super::tests::{toolkit, url};
use crate::model::{
    Authorization, Binding, Guard, JwtKeys, JwtOptions, McpClient, McpProxy, McpProxyRoute,
    McpServer, ResourceMetadata, StaticCredentials, ToolkitCondition,
};
use crate::plan::{
    AccessRule, Allow, AuthorizationPlan, CredentialFormat, EndpointPlan, JwtAlgorithm,
    JwtGuardPlan, KeySource, NamePattern, ResourceMetadataPlan, StaticCredentialsPlan, ToolkitPlan,
};
use crate::testing::{GUARDED, guarded_with, rust_config};
use crate::{compile, compile_yaml, parse_yaml, to_yaml};

fn endpoint(yaml: &str) -> Result<EndpointPlan, String> {
    compile_yaml(yaml)
        .map(|plan| plan.listeners[0].routes[0].endpoint.clone())
        .map_err(|e| e.to_string())
}

fn roles(list: &[&str]) -> Option<Vec<String>> {
    Some(list.iter().map(|role| (*role).to_owned()).collect())
}

#[test]
fn guarded_example_compiles_to_the_expected_plan() {
    let time = ToolkitPlan {
        access: vec![AccessRule {
            allow: Allow::default(),
            roles: roles(&["time:read"]),
        }],
        forward: Some(CredentialFormat::bearer()),
        ..toolkit("time", 3002, 60)
    };
    let authorization = AuthorizationPlan {
        guard: "authn_jwt".to_owned(),
        jwt: JwtGuardPlan {
            issuer: "https://auth.example.com".to_owned(),
            audiences: vec!["http://127.0.0.1:7114/mcp".to_owned()],
            keys: KeySource::File("/etc/mcpgw/jwks/jwks.json".to_owned()),
            algorithms: JwtAlgorithm::ALL.to_vec(),
            leeway: Duration::from_secs(30),
            roles_claim: "scope".to_owned(),
            identity_claim: "sub".to_owned(),
            refresh_interval: Duration::from_secs(300),
            trust_files: Vec::new(),
        },
        credentials: CredentialFormat::bearer(),
        resource_metadata: ResourceMetadataPlan {
            resource: Some(url("http://127.0.0.1:7114/mcp")),
            authorization_servers: vec!["https://auth.example.com".to_owned()],
            scopes_supported: vec!["time:read".to_owned()],
            resource_name: None,
            resource_documentation: None,
        },
    };
    let endpoint = endpoint(GUARDED);
    assert_eq!(
        endpoint.as_ref().map(|e| e.authorization.clone()),
        Ok(Some(authorization))
    );
    assert_eq!(
        endpoint.map(|e| e.proxy.toolkits),
        Ok(vec![toolkit("everything", 3001, 60), time])
    );
}

#[test]
fn guard_options_are_carried_into_the_plan() {
    let yaml = guarded_with(
        "      keys_file: /etc/mcpgw/jwks/jwks.json",
        "      keys: [ { kty: OKP, kid: k1, use: sig, crv: Ed25519, x: \
         11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo } ]\n      \
         algorithms: [ EdDSA, ES256 ]\n      leeway: PT5S\n      roles: roles\n      \
         identity: email\n      refresh_interval: PT1M\n      #",
    )
    .replacen(
        "audience: http://127.0.0.1:7114/mcp",
        "audience: [ a, b ]",
        1,
    );
    let jwt = endpoint(&yaml).map(|e| e.authorization.map(|a| a.jwt));
    assert_eq!(
        jwt,
        Ok(Some(JwtGuardPlan {
            issuer: "https://auth.example.com".to_owned(),
            audiences: vec!["a".to_owned(), "b".to_owned()],
            keys: KeySource::Inline(
                r#"{"keys":[{"kty":"OKP","kid":"k1","use":"sig","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#
                    .to_owned()
            ),
            algorithms: vec![JwtAlgorithm::EdDSA, JwtAlgorithm::ES256],
            leeway: Duration::from_secs(5),
            roles_claim: "roles".to_owned(),
            identity_claim: "email".to_owned(),
            refresh_interval: Duration::from_secs(60),
            trust_files: Vec::new(),
        }))
    );
    let url_keys = guarded_with(
        "keys_file: /etc/mcpgw/jwks/jwks.json",
        "keys: https://auth.example.com/.well-known/jwks.json",
    );
    let keys = endpoint(&url_keys).map(|e| e.authorization.map(|a| a.jwt.keys));
    assert_eq!(
        keys,
        Ok(Some(KeySource::Url(url(
            "https://auth.example.com/.well-known/jwks.json"
        ))))
    );
}

/// guarded.yaml whose proxy has, in this order: time for `time:read` (tools
/// `get-*`), everything for anyone, time for `time:read` and `time:admin`, and
/// time for any authenticated caller.
fn several_routes_per_toolkit() -> String {
    let routes = "      - when: [ { toolkit: time, tools: [ get-* ] } ]
        guarded: { authn_jwt: [ \"time:read\" ] }
        exit: south_mcp_client_time
      - when: [ { toolkit: everything } ]
        exit: south_mcp_client_everything
      - when: [ { toolkit: time } ]
        guarded: { authn_jwt: [ \"time:read\", \"time:admin\" ] }
        exit: south_mcp_client_time
      - when: [ { toolkit: time, prompts: [] } ]
        guarded: { authn_jwt: [] }
        exit: south_mcp_client_time
";
    let start = GUARDED.find("      - when: [ { toolkit: everything } ]");
    let end = GUARDED.find("  south_mcp_client_everything:");
    match (start, end) {
        (Some(start), Some(end)) => format!("{}{routes}{}", &GUARDED[..start], &GUARDED[end..]),
        _ => panic!("guarded.yaml changed shape"),
    }
}

#[test]
fn routes_of_one_toolkit_become_its_access_rules_in_route_order() {
    let endpoint = endpoint(&several_routes_per_toolkit());
    let toolkits = endpoint.as_ref().map(|e| {
        let toolkits = e.proxy.toolkits.iter();
        toolkits
            .map(|t| (t.name.clone(), t.access.clone()))
            .collect::<Vec<_>>()
    });
    let time = vec![
        AccessRule {
            allow: Allow {
                tools: Some(vec![NamePattern::new("get-*")]),
                ..Allow::default()
            },
            roles: roles(&["time:read"]),
        },
        AccessRule {
            allow: Allow::default(),
            roles: roles(&["time:read", "time:admin"]),
        },
        AccessRule {
            allow: Allow {
                prompts: Some(Vec::new()),
                ..Allow::default()
            },
            roles: roles(&[]),
        },
    ];
    // The toolkit sits where its first route is.
    assert_eq!(
        toolkits,
        Ok(vec![
            ("time".to_owned(), time),
            ("everything".to_owned(), vec![AccessRule::open()]),
        ])
    );
    let scopes = endpoint.map(|e| {
        e.authorization
            .map(|a| a.resource_metadata.scopes_supported)
    });
    assert_eq!(scopes, Ok(roles(&["time:read", "time:admin"])));
}

#[test]
fn resource_metadata_written_out_replaces_the_defaults() {
    let yaml = guarded_with(
        "        resource: http://127.0.0.1:7114/mcp  #",
        "        authorization_servers: [ \"https://login.example.com\", \"https://auth.example.com/\" ]\n        \
         scopes_supported: []\n        resource_name: Tools\n        \
         resource_documentation: https://docs.example.com/mcp\n        #",
    );
    let metadata = endpoint(&yaml).map(|e| e.authorization.map(|a| a.resource_metadata));
    assert_eq!(
        metadata,
        Ok(Some(ResourceMetadataPlan {
            resource: None,
            // As written: issuer identifiers compare character for character.
            authorization_servers: vec![
                "https://login.example.com".to_owned(),
                "https://auth.example.com/".to_owned(),
            ],
            scopes_supported: Vec::new(),
            resource_name: Some("Tools".to_owned()),
            resource_documentation: Some("https://docs.example.com/mcp".to_owned()),
        }))
    );
    // Without `resource_metadata`, every default applies.
    let start = GUARDED.find("      resource_metadata:");
    let end = GUARDED.find("    exit: north_mcp_proxy");
    let yaml = match (start, end) {
        (Some(start), Some(end)) => format!("{}{}", &GUARDED[..start], &GUARDED[end..]),
        _ => panic!("guarded.yaml changed shape"),
    };
    let metadata = endpoint(&yaml).map(|e| e.authorization.map(|a| a.resource_metadata));
    assert_eq!(
        metadata,
        Ok(Some(ResourceMetadataPlan {
            resource: None,
            authorization_servers: vec!["https://auth.example.com".to_owned()],
            scopes_supported: vec!["time:read".to_owned()],
            resource_name: None,
            resource_documentation: None,
        }))
    );
}

#[test]
fn static_credentials_and_authorization_url_compile() {
    let yaml = guarded_with(
        "options: { server: http://127.0.0.1:3001/mcp }",
        "options: { server: http://127.0.0.1:3001/mcp, credentials: { file: /run/key, header: \
         X-Api-Key, format: \"Key {credentials}\" }, authorization_url: \
         \"https://everything.example.com/connect\" }",
    );
    let everything = endpoint(&yaml).map(|e| e.proxy.toolkits[0].clone());
    assert_eq!(
        everything,
        Ok(ToolkitPlan {
            credentials: Some(StaticCredentialsPlan {
                file: "/run/key".to_owned(),
                header: "x-api-key".to_owned(),
                format: CredentialFormat::parse("Key {credentials}")
                    .unwrap_or_else(CredentialFormat::bearer),
            }),
            authorization_url: Some(url("https://everything.example.com/connect")),
            ..toolkit("everything", 3001, 60)
        })
    );
    let defaulted = guarded_with(
        "options: { server: http://127.0.0.1:3001/mcp }",
        "options: { server: http://127.0.0.1:3001/mcp, credentials: { file: /run/key } }",
    );
    let credentials = endpoint(&defaulted).map(|e| e.proxy.toolkits[0].credentials.clone());
    assert_eq!(
        credentials,
        Ok(Some(StaticCredentialsPlan {
            file: "/run/key".to_owned(),
            header: "authorization".to_owned(),
            format: CredentialFormat::bearer(),
        }))
    );
}

/// [`rust_config`] guarded the way the operator would build it.
fn guarded_rust_config() -> crate::model::Config {
    let keys = JwtKeys::Url("https://auth.example.com/jwks.json".to_owned());
    let guard = Guard::jwt(JwtOptions::new("https://auth.example.com", "mcp", keys));
    let mut server = McpServer::new("proxy");
    server
        .options
        .authorization
        .insert("jwt".to_owned(), Authorization::bearer());
    server.options.resource_metadata = Some(ResourceMetadata::default());
    let route = McpProxyRoute::new(ToolkitCondition::new("time"), "client").guarded("jwt", ["t"]);
    let mut client = McpClient::new("http://127.0.0.1:3002/mcp");
    client
        .options
        .authorization
        .insert("jwt".to_owned(), Authorization::bearer());
    let mut other = McpClient::new("http://127.0.0.1:3003/mcp");
    other.options.credentials = Some(StaticCredentials::file("/run/key"));
    other.options.authorization_url = Some("https://other.example.com/".to_owned());
    rust_config()
        .with_guard("jwt", guard)
        .with_binding("server", server)
        .with_binding(
            "proxy",
            McpProxy::new([route, McpProxyRoute::toolkit("other", "other")]),
        )
        .with_binding("client", client)
        .with_binding("other", other)
}

#[test]
fn guarded_config_built_in_rust_round_trips_through_to_yaml() {
    let config = guarded_rust_config();
    let yaml = to_yaml(&config).map_err(|e| e.to_string());
    assert_eq!(yaml.as_deref().map(compile_yaml), Ok(compile(&config)));
    assert_eq!(yaml.as_deref().map(parse_yaml), Ok(Ok(config.clone())));
    let plan = compile(&config).map_err(|e| e.to_string());
    let summary = plan.map(|plan| {
        let endpoint = &plan.listeners[0].routes[0].endpoint;
        let toolkits = &endpoint.proxy.toolkits;
        (
            endpoint.authorization.as_ref().map(|a| a.guard.clone()),
            toolkits[0].access[0].roles.clone(),
            toolkits[0].forward.clone(),
            toolkits[1].credentials.as_ref().map(|c| c.header.clone()),
        )
    });
    assert_eq!(
        summary,
        Ok((
            Some("jwt".to_owned()),
            roles(&["t"]),
            Some(CredentialFormat::bearer()),
            Some("authorization".to_owned()),
        ))
    );
}

#[test]
fn guarded_config_built_in_rust_reports_every_error() {
    let mut config = guarded_rust_config();
    config.guards.insert(
        "jwt".to_owned(),
        Guard::jwt(JwtOptions::new("", "mcp", JwtKeys::Inline(Vec::new()))),
    );
    if let Some(Binding::McpClient(client)) = config.bindings.get_mut("other") {
        client.options.authorization_url = Some("nowhere".to_owned());
    }
    let paths = compile(&config).map_err(|e| {
        let paths = e.errors.iter().map(|e| e.path.clone());
        paths.collect::<Vec<_>>()
    });
    assert_eq!(
        paths,
        Err(vec![
            "guards.jwt.options.issuer".to_owned(),
            "guards.jwt.options.keys".to_owned(),
            "bindings.other.options.authorization_url".to_owned(),
        ])
    );
}
