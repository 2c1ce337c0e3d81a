//! The files the data plane reads besides its config: which keys of which Secrets
//! and ConfigMaps the Deployment mounts, and whether those keys exist.
//!
//! NB: only names of objects and keys pass through here, never their values.

use std::collections::{BTreeMap, BTreeSet};

use mcpgw_crds::{McpGateway, McpToolkit, SecretOrConfigMapKey, reason};

use super::{Inputs, Verdict, tls};

/// A key of a Secret or ConfigMap to mount as one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    Secret { name: String, key: String },
    ConfigMap { name: String, key: String },
}

impl KeySource {
    /// What a resource's `secretKeyRef` / `configMapKeyRef` names; `None` when it names
    /// neither (the CRD's CEL rule refuses that).
    pub fn of(reference: &SecretOrConfigMapKey) -> Option<Self> {
        match (&reference.secret_key_ref, &reference.config_map_key_ref) {
            (Some(r), _) => Some(Self::Secret {
                name: r.name.clone(),
                key: r.key.clone(),
            }),
            (None, Some(r)) => Some(Self::ConfigMap {
                name: r.name.clone(),
                key: r.key.clone(),
            }),
            (None, None) => None,
        }
    }

    /// The field of a [`SecretOrConfigMapKey`] that names this source.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Secret { .. } => "secretKeyRef",
            Self::ConfigMap { .. } => "configMapKeyRef",
        }
    }

    /// `ResolvedRefs=False` naming `field` (the path of the reference in the resource),
    /// when the object or its key does not exist.
    pub fn missing(&self, field: &str, inputs: &Inputs<'_>) -> Option<Verdict> {
        let (objects, reason, kind, name, key) = match self {
            Self::Secret { name, key } => (
                inputs.secrets,
                reason::SECRET_NOT_FOUND,
                "Secret",
                name,
                key,
            ),
            Self::ConfigMap { name, key } => (
                inputs.config_maps,
                reason::CONFIG_MAP_NOT_FOUND,
                "ConfigMap",
                name,
                key,
            ),
        };
        (!has_key(objects, name, key)).then(|| {
            Verdict::no(
                reason,
                format!("{field}: {kind} {name:?} with key {key:?} not found in this namespace"),
            )
        })
    }

    /// The key `key` of the Secret `name`.
    pub fn secret(name: &str, key: &str) -> Self {
        Self::Secret {
            name: name.to_owned(),
            key: key.to_owned(),
        }
    }
}

/// The TLS files of one toolkit, mounted under `TLS_DIR/<toolkit>/`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// The CA bundle, mounted as `CA_BUNDLE_FILE`.
    pub ca_bundle: Option<KeySource>,
    /// The name of the `kubernetes.io/tls` Secret whose `tls.crt` and `tls.key` are
    /// mounted as `CLIENT_CERTIFICATE_FILE` and `CLIENT_KEY_FILE`.
    pub client_certificate: Option<String>,
}

/// The files the data plane reads besides its config and session key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mounts {
    /// The JWT keys, mounted as `JWKS_DIR/JWKS_FILE`.
    pub jwks: Option<KeySource>,
    /// Per served toolkit name: its credential Secret and key, mounted as
    /// `CREDENTIALS_DIR/<toolkit>/CREDENTIAL_FILE`.
    pub credentials: BTreeMap<String, (String, String)>,
    /// Per served toolkit name that has any: its TLS files.
    pub tls: BTreeMap<String, TlsFiles>,
}

/// What the gateway mounts: its JWT keys, and the credentials and TLS files of `served`
/// toolkits.
pub fn mounts<'a>(
    gateway: &McpGateway,
    served: impl IntoIterator<Item = &'a McpToolkit>,
) -> Mounts {
    let jwks = gateway
        .spec
        .auth
        .as_ref()
        .and_then(|auth| auth.jwt.keys_from.as_ref())
        .and_then(KeySource::of);
    let mut mounts = Mounts {
        jwks,
        ..Mounts::default()
    };
    for toolkit in served {
        let name = &toolkit.spec.toolkit;
        if let Some(r) = &toolkit.spec.credential_secret_ref {
            let source = (r.name.clone(), r.key.clone());
            mounts.credentials.insert(name.clone(), source);
        }
        if let Some(files) = tls::files(toolkit) {
            mounts.tls.insert(name.clone(), files);
        }
    }
    mounts
}

fn has_key(objects: &BTreeMap<String, BTreeSet<String>>, name: &str, key: &str) -> bool {
    objects.get(name).is_some_and(|keys| keys.contains(key))
}
