//! Which Secrets and ConfigMaps each gateway depends on (session key, JWT keys,
//! toolkits' credentials and TLS files), as its last reconcile found them, so that a change
//! to one of them (created, updated, deleted) re-reconciles exactly the
//! gateways that name it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, Client, ResourceExt};
use mcpgw_crds::{McpGateway, McpToolkit, SecretOrConfigMapKey};

use crate::render::KeySource;

/// The kinds of object a gateway references by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Secret,
    ConfigMap,
}

/// A referenced object: its kind and name (in the gateway's namespace).
pub type Referenced = (Kind, String);

/// Gateway (namespace, name) → the objects it references.
#[derive(Debug, Default)]
pub struct References(Mutex<BTreeMap<(String, String), BTreeSet<Referenced>>>);

impl References {
    /// What the gateway `name` in `namespace` references now (replacing what it did).
    pub fn record(&self, namespace: &str, name: &str, objects: BTreeSet<Referenced>) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let key = (namespace.to_owned(), name.to_owned());
        if objects.is_empty() {
            map.remove(&key);
        } else {
            map.insert(key, objects);
        }
    }

    /// The gateways that reference the object `kind`/`name` in `namespace`.
    pub fn gateways(&self, kind: Kind, namespace: &str, name: &str) -> Vec<ObjectRef<McpGateway>> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let wanted = (kind, name.to_owned());
        map.iter()
            .filter(|((ns, _), objects)| ns == namespace && objects.contains(&wanted))
            .map(|((ns, gateway), _)| ObjectRef::new(gateway).within(ns))
            .collect()
    }
}

/// The Secrets and ConfigMaps that `gateway` and the toolkits naming it reference.
pub fn referenced_objects(
    gateway: &McpGateway,
    toolkits: &[McpToolkit],
) -> BTreeSet<(Kind, String)> {
    let spec = &gateway.spec;
    let mut objects = BTreeSet::new();
    if let Some(r) = &spec.session_key_secret_ref {
        objects.insert((Kind::Secret, r.name.clone()));
    }
    let keys_from = spec.auth.as_ref().and_then(|a| a.jwt.keys_from.as_ref());
    objects.extend(keys_from.and_then(object_of));
    let name = gateway.name_any();
    for toolkit in toolkits.iter().filter(|t| t.spec.gateway == name) {
        if let Some(r) = &toolkit.spec.credential_secret_ref {
            objects.insert((Kind::Secret, r.name.clone()));
        }
        if let Some(tls) = &toolkit.spec.tls {
            objects.extend(tls.ca_bundle.as_ref().and_then(object_of));
            if let Some(r) = &tls.client_certificate_secret_ref {
                objects.insert((Kind::Secret, r.name.clone()));
            }
        }
    }
    objects
}

/// The object a `secretKeyRef` / `configMapKeyRef` pair names.
fn object_of(reference: &SecretOrConfigMapKey) -> Option<Referenced> {
    Some(match KeySource::of(reference)? {
        KeySource::Secret { name, .. } => (Kind::Secret, name),
        KeySource::ConfigMap { name, .. } => (Kind::ConfigMap, name),
    })
}

/// Name → data keys of each referenced object that exists. NB: only the key names
/// leave this function; the values are dropped with the objects.
pub async fn referenced_keys(
    client: &Client,
    ns: &str,
    referenced: &BTreeSet<(Kind, String)>,
) -> Result<(KeysByName, KeysByName), kube::Error> {
    let secrets_api = Api::<Secret>::namespaced(client.clone(), ns);
    let config_maps_api = Api::<ConfigMap>::namespaced(client.clone(), ns);
    let (mut secrets, mut config_maps) = (KeysByName::new(), KeysByName::new());
    for (kind, name) in referenced {
        match kind {
            Kind::Secret => {
                if let Some(secret) = secrets_api.get_opt(name).await? {
                    let keys = secret.data.into_iter().flat_map(|d| d.into_keys());
                    secrets.insert(name.clone(), keys.collect());
                }
            }
            Kind::ConfigMap => {
                if let Some(map) = config_maps_api.get_opt(name).await? {
                    let text = map.data.into_iter().flat_map(|d| d.into_keys());
                    let binary = map.binary_data.into_iter().flat_map(|d| d.into_keys());
                    config_maps.insert(name.clone(), text.chain(binary).collect());
                }
            }
        }
    }
    Ok((secrets, config_maps))
}

/// Object name → the keys of its data.
pub type KeysByName = BTreeMap<String, BTreeSet<String>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_maps_to_the_gateways_of_its_namespace_that_name_it() {
        let refs = References::default();
        let secret = |name: &str| (Kind::Secret, name.to_owned());
        refs.record(
            "shop",
            "a",
            BTreeSet::from([secret("key"), secret("github")]),
        );
        refs.record("shop", "b", BTreeSet::from([secret("github")]));
        refs.record("other", "c", BTreeSet::from([secret("github")]));
        let names = |found: Vec<ObjectRef<McpGateway>>| {
            let mut names: Vec<String> = found.into_iter().map(|r| r.name).collect();
            names.sort();
            names
        };
        assert_eq!(
            names(refs.gateways(Kind::Secret, "shop", "github")),
            ["a", "b"]
        );
        assert_eq!(names(refs.gateways(Kind::Secret, "shop", "key")), ["a"]);
        assert!(refs.gateways(Kind::ConfigMap, "shop", "key").is_empty());
        refs.record("shop", "a", BTreeSet::new());
        assert!(refs.gateways(Kind::Secret, "shop", "key").is_empty());
    }

    #[test]
    fn a_toolkits_ca_bundle_and_client_certificate_are_references_of_its_gateway() {
        use mcpgw_crds::{McpGatewaySpec, McpToolkitSpec, TlsSecretReference, Upstream};
        use mcpgw_crds::{SecretOrConfigMapKey, UpstreamTls};

        let gateway = McpGateway::new("demo", McpGatewaySpec::default());
        let upstream = Upstream::url("https://mcp.internal.example/mcp");
        let mut spec = McpToolkitSpec::new("demo", "internal", upstream);
        spec.tls = Some(UpstreamTls {
            ca_bundle: Some(SecretOrConfigMapKey::config_map("internal-ca", "ca.crt")),
            client_certificate_secret_ref: Some(TlsSecretReference::new("internal-client")),
            ..UpstreamTls::default()
        });
        let mut other = spec.clone();
        other.gateway = "another".into();
        let toolkits = [
            McpToolkit::new("internal", spec),
            McpToolkit::new("elsewhere", other),
        ];
        assert_eq!(
            referenced_objects(&gateway, &toolkits),
            BTreeSet::from([
                (Kind::Secret, "internal-client".to_owned()),
                (Kind::ConfigMap, "internal-ca".to_owned()),
            ])
        );
    }
}
