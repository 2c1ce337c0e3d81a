//! Who may call a gateway (`McpGateway.spec.auth`) and the gateway's own credentials for
//! a toolkit (`McpToolkit.spec.credentialSecretRef`).
//!
//! NB: these types hold references (names of Secrets and ConfigMaps, URLs), never a key
//! or a credential: the operator mounts the referenced objects into the data plane and
//! the binding config names the files.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Claim holding the caller's roles when `spec.auth.jwt.rolesClaim` is left out.
pub const DEFAULT_ROLES_CLAIM: &str = "scope";
/// Claim naming the caller when `spec.auth.jwt.identityClaim` is left out.
pub const DEFAULT_IDENTITY_CLAIM: &str = "sub";

// NB: `Option` fields carry `#[schemars(with = "T")]` so that the schema does not mark them
// `nullable` (see gateway.rs).

/// How the gateway authenticates callers: a JWT guard and, optionally, what it tells OAuth
/// clients about itself.
#[derive(KubeSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayAuth {
    /// Bearer JSON Web Tokens, checked against the issuer's public keys. A request without
    /// a token is anonymous and reaches only toolkits without `requiredRoles`; a request
    /// with an invalid token gets 401.
    pub jwt: JwtAuth,
    /// The OAuth protected-resource metadata (RFC 9728) the gateway serves at
    /// `/.well-known/oauth-protected-resource`. Left out: the resource is the URL the client
    /// called and the authorization server is the JWT issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "ResourceMetadata")]
    pub resource_metadata: Option<ResourceMetadata>,
}

/// The JWT guard: who issues tokens, for whom, and where their public keys are. Exactly one
/// of `jwksUrl` and `keysFrom`.
#[derive(KubeSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[x_kube(validation = Rule::new("has(self.jwksUrl) != has(self.keysFrom)")
    .message("set exactly one of jwt.jwksUrl and jwt.keysFrom"))]
#[serde(rename_all = "camelCase")]
pub struct JwtAuth {
    /// The `iss` every token must carry, compared exactly, e.g. `https://auth.example.com`.
    #[schemars(length(min = 1, max = 2048))]
    pub issuer: String,
    /// The audiences: a token is accepted when one of its `aud` values is one of these,
    /// normally the gateway's public URL. At least one: a token minted for another service
    /// must not open this one.
    #[schemars(length(min = 1, max = 32), inner(length(min = 1, max = 2048)))]
    pub audiences: Vec<String>,
    /// URL of the issuer's JSON Web Key Set, `https` (or `http`), e.g.
    /// `https://auth.example.com/.well-known/jwks.json`. The data plane fetches it and
    /// caches the keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "String",
        length(min = 1, max = 2048),
        pattern(r"^https?://[^\s/?#@]+([/?][^\s#]*)?$")
    )]
    pub jwks_url: Option<String>,
    /// A key of a Secret or ConfigMap in the gateway's namespace holding the JSON Web Key
    /// Set (`{"keys": [...]}`, public keys only). It is mounted into the data plane, which
    /// re-reads it when it changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "SecretOrConfigMapKey")]
    pub keys_from: Option<SecretOrConfigMapKey>,
    /// The JWS algorithms accepted. Left out: all of them. `none` and the HMAC algorithms
    /// cannot be chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<JwtAlgorithm>", length(min = 1, max = 9))]
    pub algorithms: Option<Vec<JwtAlgorithm>>,
    /// Clock skew allowed on `exp` and `nbf`, as an ISO-8601 duration (`PnDTnHnMn.nS`, e.g.
    /// `PT30S`), at most `PT5M`. Default `PT30S`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1, max = 64))]
    #[x_kube(validation = Rule::new(
        "self.matches('^[Pp]([0-9]+[Dd])?([Tt]([0-9]+[Hh])?([0-9]+[Mm])?([0-9]+([.][0-9]{1,9})?[Ss])?)?$') \
         && self.matches('[DdHhMmSs]$')"
    ).message("must be an ISO-8601 duration, such as PT30S or PT1M"))]
    pub leeway: Option<String>,
    /// The claim holding the caller's roles: a space-separated string or an array of
    /// strings. A dotted name that is no top-level claim walks nested objects (Keycloak:
    /// `realm_access.roles`). Default `scope`.
    #[serde(default = "default_roles_claim")]
    #[schemars(length(min = 1, max = 256))]
    pub roles_claim: String,
    /// The claim naming the caller. Default `sub`.
    #[serde(default = "default_identity_claim")]
    #[schemars(length(min = 1, max = 256))]
    pub identity_claim: String,
}

impl JwtAuth {
    /// Tokens of `issuer` for `audience`, checked with the keys at `jwks_url`; the rest
    /// defaulted.
    pub fn with_jwks_url(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        jwks_url: impl Into<String>,
    ) -> Self {
        Self::new(issuer.into(), audience.into(), Some(jwks_url.into()), None)
    }

    /// Tokens of `issuer` for `audience`, checked with the keys in `keys_from`; the rest
    /// defaulted.
    pub fn with_keys_from(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        keys_from: SecretOrConfigMapKey,
    ) -> Self {
        Self::new(issuer.into(), audience.into(), None, Some(keys_from))
    }

    fn new(
        issuer: String,
        audience: String,
        jwks_url: Option<String>,
        keys_from: Option<SecretOrConfigMapKey>,
    ) -> Self {
        Self {
            issuer,
            audiences: vec![audience],
            jwks_url,
            keys_from,
            algorithms: None,
            leeway: None,
            roles_claim: default_roles_claim(),
            identity_claim: default_identity_claim(),
        }
    }
}

fn default_roles_claim() -> String {
    DEFAULT_ROLES_CLAIM.to_owned()
}

fn default_identity_claim() -> String {
    DEFAULT_IDENTITY_CLAIM.to_owned()
}

/// A key of a Secret or of a ConfigMap in the same namespace: exactly one of
/// `secretKeyRef` and `configMapKeyRef`. What the key holds (a JSON Web Key Set, PEM CA
/// certificates) is said by the field that names it.
#[derive(KubeSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[x_kube(validation = Rule::new("has(self.secretKeyRef) != has(self.configMapKeyRef)")
    .message("set exactly one of secretKeyRef and configMapKeyRef"))]
#[serde(rename_all = "camelCase")]
pub struct SecretOrConfigMapKey {
    /// A key of a Secret in the same namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "KeyReference")]
    pub secret_key_ref: Option<KeyReference>,
    /// A key of a ConfigMap in the same namespace (for what is not secret, such as public
    /// keys and CA certificates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "KeyReference")]
    pub config_map_key_ref: Option<KeyReference>,
}

impl SecretOrConfigMapKey {
    /// The key `key` of the Secret `name`.
    pub fn secret(name: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            secret_key_ref: Some(KeyReference::new(name, key)),
            config_map_key_ref: None,
        }
    }

    /// The key `key` of the ConfigMap `name`.
    pub fn config_map(name: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            secret_key_ref: None,
            config_map_key_ref: Some(KeyReference::new(name, key)),
        }
    }
}

/// A key of a Secret or ConfigMap in the same namespace.
#[derive(KubeSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyReference {
    /// Name of the object.
    #[schemars(
        length(min = 1, max = 253),
        pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: String,
    /// Key within the object's data.
    #[schemars(length(min = 1, max = 253), pattern(r"^[-._a-zA-Z0-9]+$"))]
    pub key: String,
}

impl KeyReference {
    /// The key `key` of the object `name`.
    pub fn new(name: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            key: key.into(),
        }
    }
}

/// The JWS algorithms a JWT guard can accept (asymmetric ones only).
#[derive(JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JwtAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA with P-256 and SHA-256.
    ES256,
    /// ECDSA with P-384 and SHA-384.
    ES384,
    /// Ed25519.
    EdDSA,
}

/// The OAuth protected-resource metadata (RFC 9728) of the gateway.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceMetadata {
    /// The resource identifier: the gateway's public URL, e.g. `https://mcp.example.com/mcp`
    /// (what clients ask tokens for, and so normally one of `jwt.audiences`). Left out: the
    /// URL the client called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "String",
        length(min = 1, max = 2048),
        pattern(r"^https?://[^\s/?#@]+([/?][^\s#]*)?$")
    )]
    pub resource: Option<String>,
    /// The authorization servers that issue tokens for the gateway (their issuer URLs).
    /// Left out: the JWT issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<String>", inner(length(min = 1, max = 2048)))]
    pub authorization_servers: Option<Vec<String>>,
    /// The scopes clients may ask for. Left out: every role some toolkit requires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<String>", inner(length(min = 1, max = 256)))]
    pub scopes_supported: Option<Vec<String>>,
    /// A human-readable name of the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", length(min = 1, max = 256))]
    pub resource_name: Option<String>,
    /// URL of documentation for developers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "String",
        length(min = 1, max = 2048),
        pattern(r"^https?://[^\s/?#@]+([/?][^\s#]*)?$")
    )]
    pub resource_documentation: Option<String>,
}

/// The gateway's own credential for a toolkit: a key of a Secret in the toolkit's
/// namespace, sent in a request header.
#[derive(KubeSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialSecretReference {
    /// Name of the Secret.
    #[schemars(
        length(min = 1, max = 253),
        pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: String,
    /// Key within the Secret's data; its value (surrounding whitespace ignored) is the
    /// credential.
    #[schemars(length(min = 1, max = 253), pattern(r"^[-._a-zA-Z0-9]+$"))]
    pub key: String,
    /// The request header it goes in, e.g. `x-api-key`. Default `authorization`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "String",
        length(min = 1, max = 256),
        pattern(r"^[-!#$%&'*+.^_`|~0-9A-Za-z]+$")
    )]
    pub header: Option<String>,
    /// The header value, with `{credentials}` (exactly once) where the Secret's value goes,
    /// e.g. `token {credentials}`. Default `Bearer {credentials}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        with = "String",
        length(min = 1, max = 256),
        pattern(r"^[^\x00-\x1F\x7F]*$")
    )]
    #[x_kube(validation = Rule::new(
        "self.indexOf('{credentials}') >= 0 && self.indexOf('{credentials}') == self.lastIndexOf('{credentials}')"
    ).message("must contain {credentials} exactly once, e.g. Bearer {credentials}"))]
    pub format: Option<String>,
}

impl CredentialSecretReference {
    /// The key `key` of the Secret `name`, sent as `Authorization: Bearer …`.
    pub fn new(name: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            key: key.into(),
            header: None,
            format: None,
        }
    }
}
