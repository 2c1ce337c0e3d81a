//! The data-plane objects of a gateway: mounts, ownership, what never rolls the pods.

use mcpgw_crds::{McpGatewaySpec, SecretKeyReference};

use super::*;
use crate::render::TlsFiles;

fn gateway() -> McpGateway {
    let mut g = McpGateway::new("demo", McpGatewaySpec::default());
    g.metadata.namespace = Some("shop".into());
    g.metadata.uid = Some("uid-1".into());
    g.spec.session_key_secret_ref = Some(SecretKeyReference::new("demo-key"));
    g
}

#[test]
fn the_deployment_mounts_config_and_key_and_never_restarts_on_config_changes() {
    let d = deployment(
        &gateway(),
        "ghcr.io/mcpgw/mcpgw-dataplane:0.1.0",
        &Mounts::default(),
    );
    let template = d.spec.as_ref().map(|s| &s.template);
    let annotations = template
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.annotations.as_ref());
    assert!(
        annotations.is_none(),
        "no config checksum in the pod template"
    );
    let pod = template.and_then(|t| t.spec.as_ref()).expect("pod spec");
    let c = &pod.containers[0];
    assert_eq!(
        c.args.as_deref(),
        Some(
            &[
                "--config".to_owned(),
                "/etc/mcpgw/config/config.yaml".to_owned(),
                "--log-json".to_owned()
            ][..]
        )
    );
    let mounts: Vec<_> = c
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| m.mount_path.as_str())
        .collect();
    assert_eq!(mounts, ["/etc/mcpgw/config", "/etc/mcpgw/session"]);
    assert_eq!(
        c.readiness_probe
            .as_ref()
            .and_then(|p| p.http_get.as_ref())
            .and_then(|h| h.path.as_deref()),
        Some("/readyz")
    );
    assert_eq!(pod.service_account_name.as_deref(), Some("demo"));
}

#[test]
fn worker_threads_reach_the_data_plane_command_line_only_when_set() {
    let args = |g: &McpGateway| {
        let d = deployment(g, "ghcr.io/mcpgw/mcpgw-dataplane:0.1.0", &Mounts::default());
        let pod = d.spec.and_then(|s| s.template.spec).expect("pod spec");
        pod.containers[0].args.clone().unwrap_or_default()
    };
    let mut g = gateway();
    assert!(!args(&g).contains(&"--worker-threads".to_owned()));
    g.spec.worker_threads = Some(1);
    assert_eq!(
        args(&g)[3..],
        ["--worker-threads".to_owned(), "1".to_owned()]
    );
}

#[test]
fn jwt_keys_credentials_and_tls_files_are_mounted_read_only_as_the_files_the_config_names() {
    let mounts = Mounts {
        jwks: Some(KeySource::ConfigMap {
            name: "jwks".into(),
            key: "keys.json".into(),
        }),
        credentials: BTreeMap::from([
            ("github".into(), ("gh".into(), "token".into())),
            ("search".into(), ("search-api".into(), "api-key".into())),
        ]),
        tls: BTreeMap::from([
            (
                "internal".into(),
                TlsFiles {
                    ca_bundle: Some(KeySource::ConfigMap {
                        name: "internal-ca".into(),
                        key: "bundle.pem".into(),
                    }),
                    client_certificate: Some("internal-client".into()),
                },
            ),
            (
                "partner".into(),
                TlsFiles {
                    ca_bundle: Some(KeySource::secret("partner-ca", "ca.crt")),
                    client_certificate: None,
                },
            ),
        ]),
    };
    let d = deployment(&gateway(), "img", &mounts);
    let pod = d.spec.and_then(|s| s.template.spec).expect("pod spec");
    let container_mounts: Vec<_> = pod.containers[0]
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| (m.name.as_str(), m.mount_path.as_str(), m.read_only))
        .collect();
    assert_eq!(
        container_mounts,
        [
            ("config", "/etc/mcpgw/config", Some(true)),
            ("session-key", "/etc/mcpgw/session", Some(true)),
            ("jwks", "/etc/mcpgw/jwks", Some(true)),
            ("credentials", "/etc/mcpgw/credentials", Some(true)),
            ("tls", "/etc/mcpgw/tls", Some(true)),
        ]
    );
    let volume = |name: &str| {
        let volumes = pod.volumes.iter().flatten();
        let found = volumes
            .filter(|v| v.name == name)
            .find_map(|v| v.projected.clone());
        found.and_then(|p| p.sources).unwrap_or_default()
    };
    let files = |sources: Vec<VolumeProjection>| -> Vec<(String, String, String)> {
        sources
            .into_iter()
            .flat_map(|s| {
                let (name, items) = match (s.secret, s.config_map) {
                    (Some(s), _) => (format!("Secret/{}", s.name), s.items),
                    (None, Some(c)) => (format!("ConfigMap/{}", c.name), c.items),
                    _ => (String::new(), None),
                };
                let items = items.into_iter().flatten();
                items.map(move |i| (name.clone(), i.key, i.path))
            })
            .collect()
    };
    let row = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    assert_eq!(
        files(volume("jwks")),
        [row("ConfigMap/jwks", "keys.json", "jwks.json")]
    );
    assert_eq!(
        files(volume("credentials")),
        [
            row("Secret/gh", "token", "github/credential"),
            row("Secret/search-api", "api-key", "search/credential"),
        ]
    );
    assert_eq!(
        files(volume("tls")),
        [
            row("ConfigMap/internal-ca", "bundle.pem", "internal/ca.crt"),
            row("Secret/internal-client", "tls.crt", "internal/tls.crt"),
            row("Secret/internal-client", "tls.key", "internal/tls.key"),
            row("Secret/partner-ca", "ca.crt", "partner/ca.crt"),
        ]
    );
    assert_eq!(
        crate::render::credential_path("github"),
        "/etc/mcpgw/credentials/github/credential"
    );
    assert_eq!(
        crate::render::tls_path("internal", crate::render::CA_BUNDLE_FILE),
        "/etc/mcpgw/tls/internal/ca.crt"
    );
}

#[test]
fn every_object_is_owned_by_the_gateway() {
    let g = gateway();
    for meta in [
        config_map(&g, "x").metadata,
        service_account(&g).metadata,
        service(&g).metadata,
        deployment(&g, "img", &Mounts::default()).metadata,
    ] {
        let owner = &meta.owner_references.expect("owned")[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str(), owner.controller),
            ("McpGateway", "demo", Some(true))
        );
        assert_eq!(meta.namespace.as_deref(), Some("shop"));
    }
    assert_eq!(endpoint(&g), "http://demo.shop.svc:7114/mcp");
}
