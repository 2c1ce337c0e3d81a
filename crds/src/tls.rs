//! TLS towards a toolkit's upstream (`McpToolkit.spec.tls`): whom to trust, which
//! certificate to present, and what to offer.
//!
//! NB: as in auth.rs, these types hold names of Secrets and ConfigMaps, never a
//! certificate or a key: the operator mounts the referenced keys into the data plane and
//! the binding config names the files.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::auth::SecretOrConfigMapKey;

// NB: `Option` fields carry `#[schemars(with = "T")]` so that the schema does not mark them
// `nullable` (see toolkit.rs).

/// How the gateway speaks TLS to an `https` upstream. Every field is optional: `tls: {}`
/// verifies the upstream's certificate against the system's roots and the URL's host,
/// as an `https` upstream without `tls` does.
///
/// Certificates are read from mounted files that the data plane re-reads when the
/// kubelet updates them: renewing a certificate in its Secret or ConfigMap needs no
/// restart.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[x_kube(validation = Rule::new(
    "!self.insecureSkipVerify || (!has(self.caBundle) && !(has(self.trustSystemRoots) && self.trustSystemRoots))"
).message(
    "insecureSkipVerify turns certificate verification off, so there is nothing to verify \
     with caBundle or trustSystemRoots: true; keep one or the other"
))]
#[x_kube(validation = Rule::new(
    "!has(self.trustSystemRoots) || self.trustSystemRoots || has(self.caBundle) || self.insecureSkipVerify"
).message(
    "trustSystemRoots: false with no caBundle trusts no certificate, so the upstream could \
     never be verified: add a caBundle, or leave trustSystemRoots out"
))]
// NB: spelled out for the two protocols there are, rather than with `all()`, whose
// variable the rule analysis of the tests (kube-cel) does not know.
#[x_kube(validation = Rule::new(
    "!has(self.alpn) || !has(self.httpVersions) \
     || ((!('h2' in self.alpn) || 'h2' in self.httpVersions) \
     && (!('http/1.1' in self.alpn) || 'http/1.1' in self.httpVersions))"
).message("every alpn protocol must be one of httpVersions"))]
#[serde(rename_all = "camelCase")]
pub struct UpstreamTls {
    /// CA certificates (PEM, one or more) that the upstream's certificate may chain to: a
    /// key of a Secret or a ConfigMap in the toolkit's namespace, e.g. the `ca.crt` of a
    /// cert-manager Secret. Trusted instead of the system's roots unless
    /// `trustSystemRoots` is `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "SecretOrConfigMapKey")]
    pub ca_bundle: Option<SecretOrConfigMapKey>,
    /// Trust the system's root certificates (those of the data-plane image). Default
    /// `true` without `caBundle`, `false` with one; `true` with a `caBundle` trusts both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "bool")]
    pub trust_system_roots: Option<bool>,
    /// A client certificate to present (mutual TLS): a Secret of type
    /// `kubernetes.io/tls` in the toolkit's namespace, with the certificate chain in
    /// `tls.crt` and its private key in `tls.key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "TlsSecretReference")]
    pub client_certificate_secret_ref: Option<TlsSecretReference>,
    /// The name the upstream's certificate is verified against and that is sent as SNI (an
    /// IP address is checked against the certificate's IP addresses and sends no SNI).
    /// Default: the host of the upstream URL (for a `service`,
    /// `<name>.<namespace>.svc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "String",
        length(min = 1, max = 253),
        pattern(r"^[-.:a-zA-Z0-9]+$")
    )]
    pub server_name: Option<String>,
    /// The ALPN protocols offered, in order of preference, each once; every one must be
    /// among `httpVersions`. `[]` offers none, and HTTP/1.1 is spoken. Default
    /// `[h2, http/1.1]`, keeping those among `httpVersions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // NB: not a `set` list: server-side apply does not keep the order of a set, and
    // here the order is the preference.
    #[schemars(with = "Vec<HttpVersion>", length(max = 2))]
    #[x_kube(validation = Rule::new("self.size() < 2 || self[0] != self[1]")
        .message("each protocol once"))]
    pub alpn: Option<Vec<HttpVersion>>,
    /// The HTTP versions the gateway may speak to the upstream, each once; ALPN picks one
    /// of them. Default both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<HttpVersion>", length(min = 1, max = 2))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub http_versions: Option<Vec<HttpVersion>>,
    /// DANGEROUS: do not verify the upstream's certificate at all, so that anyone on the
    /// network path can impersonate the upstream and read what the gateway sends it
    /// (callers' tokens and credentials included). For tests against a throw-away
    /// upstream only; the data plane logs a warning when it applies it. Not with
    /// `caBundle` or `trustSystemRoots: true`. Default `false`.
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

/// A Secret of type `kubernetes.io/tls` in the same namespace (any Secret with the keys
/// `tls.crt` and `tls.key` will do).
#[derive(KubeSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsSecretReference {
    /// Name of the Secret.
    #[schemars(
        length(min = 1, max = 253),
        pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: String,
}

impl TlsSecretReference {
    /// The Secret `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }
}

/// The key of a `kubernetes.io/tls` Secret holding the certificate chain.
pub const TLS_SECRET_CERTIFICATE: &str = "tls.crt";
/// The key of a `kubernetes.io/tls` Secret holding the private key.
pub const TLS_SECRET_PRIVATE_KEY: &str = "tls.key";

/// An HTTP version, written as its ALPN protocol id.
#[derive(JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpVersion {
    /// HTTP/2.
    #[serde(rename = "h2")]
    H2,
    /// HTTP/1.1.
    #[serde(rename = "http/1.1")]
    Http11,
}

/// The scheme of an upstream behind a Service.
#[derive(JsonSchema, Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamScheme {
    /// Plain HTTP.
    #[default]
    Http,
    /// HTTP over TLS: the Service's certificate is verified, by default against the
    /// system's roots and `<name>.<namespace>.svc` (see `spec.tls`).
    Https,
}

impl UpstreamScheme {
    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}
