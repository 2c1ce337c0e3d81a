//! Guards (`guards:`) and the credential settings of the MCP bindings that use
//! them. A guard decides who a caller is; `mcp server` `options.authorization`
//! picks the guard of an endpoint, `mcp proxy` routes name it in `guarded`, and
//! `mcp client` `options.authorization` forwards the caller's token to one toolkit.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::IsoDuration;

/// A named guard. Only `type: jwt` exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Guard {
    /// The kind of guard; only `jwt`.
    #[serde(rename = "type")]
    pub guard_type: GuardType,
    /// The JWT guard's settings.
    pub options: JwtOptions,
}

impl Guard {
    /// A JWT guard with these options.
    pub fn jwt(options: JwtOptions) -> Self {
        Self {
            guard_type: GuardType::Jwt,
            options,
        }
    }
}

/// Kinds of guard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GuardType {
    /// Bearer JSON Web Tokens, checked against public keys.
    Jwt,
}

/// Options of a `jwt` guard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JwtOptions {
    /// The `iss` every token must carry, compared exactly, e.g. `https://auth.example.com`.
    #[schemars(length(min = 1))]
    pub issuer: String,
    /// The audience: a token is accepted when one of its `aud` values is this string (or
    /// one of these strings), normally the endpoint's resource URL. Required: a token
    /// minted for another service must not open this one.
    pub audience: Audience,
    /// The verification keys: a JWKS URL (`https://…/jwks.json`, `http` too), or a list
    /// of public JWKs written here. Exactly one of `keys` and `keys_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<JwtKeys>,
    /// Path of a file holding a JWK set (`{"keys": [...]}`), e.g. a mounted ConfigMap;
    /// re-read when it changes. Exactly one of `keys` and `keys_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub keys_file: Option<String>,
    /// The JWS algorithms accepted. Default: every one listed here. `none` and the
    /// HMAC algorithms cannot be chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub algorithms: Option<Vec<JwtAlgorithm>>,
    /// Clock skew allowed on `exp` and `nbf`, as an ISO-8601 duration, at most `PT5M`.
    /// Default `PT30S`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "PT30S"))]
    pub leeway: Option<IsoDuration>,
    /// The claim holding the caller's roles, a space-separated string or an array of
    /// strings. A dotted name that is no top-level claim walks nested objects (Keycloak:
    /// `realm_access.roles`). Default `scope`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1), extend("default" = "scope"))]
    pub roles: Option<String>,
    /// The claim naming the caller. Default `sub`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1), extend("default" = "sub"))]
    pub identity: Option<String>,
    /// For a JWKS URL or file: how long fetched keys are used before they are fetched
    /// again, and the least time between two fetches caused by a token with an unknown
    /// `kid`, as an ISO-8601 duration from `PT1S` to `P1D`. Default `PT5M`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "PT5M"))]
    pub refresh_interval: Option<IsoDuration>,
    /// For an `https` JWKS URL: PEM files of CA certificates trusted besides the system's
    /// roots (e.g. a mounted bundle of the issuer's private CA), re-read when they change.
    /// Default: the system's roots only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(length(min = 1)))]
    pub trust: Vec<String>,
}

impl JwtOptions {
    /// Options with this issuer, audience and keys, the rest defaulted.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>, keys: JwtKeys) -> Self {
        Self {
            issuer: issuer.into(),
            audience: Audience::One(audience.into()),
            keys: Some(keys),
            keys_file: None,
            algorithms: None,
            leeway: None,
            roles: None,
            identity: None,
            refresh_interval: None,
            trust: Vec::new(),
        }
    }
}

/// One audience or several.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Audience {
    /// One audience.
    One(String),
    /// Any of these audiences.
    Many(Vec<String>),
}

impl Audience {
    /// The audiences, as a list.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            Self::One(one) => vec![one.clone()],
            Self::Many(many) => many.clone(),
        }
    }
}

/// Where a JWT guard's keys come from: a JWKS URL, or JWKs written in the config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum JwtKeys {
    /// A JWKS URL (`http` or `https`).
    Url(String),
    /// Public JWKs.
    Inline(Vec<Jwk>),
}

/// A public JSON Web Key (RFC 7517). Private members (`d`, `p`, …) are refused:
/// secrets never go in the config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Jwk {
    /// Key type: `RSA`, `EC` or `OKP`.
    pub kty: String,
    /// Key id, matched against a token's `kid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The one algorithm this key is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Intended use; only `sig` keys are used.
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// Permitted operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    /// RSA modulus (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA exponent (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Curve: `P-256`, `P-384` or `Ed25519`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// EC or OKP x coordinate (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC y coordinate (base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// X.509 certificate chain (base64 DER); informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x5c: Option<Vec<String>>,
    /// X.509 SHA-1 thumbprint; informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x5t: Option<String>,
    /// X.509 SHA-256 thumbprint; informational.
    #[serde(default, rename = "x5t#S256", skip_serializing_if = "Option::is_none")]
    pub x5t_s256: Option<String>,
}

/// The JWS algorithms a JWT guard can accept: asymmetric ones only, so that `none`
/// and the HMAC-with-a-public-key confusion cannot be expressed.
// NB: the plan uses this type too (`plan::JwtAlgorithm`); the CRDs keep their own,
// since the Kubernetes API is versioned apart from the binding config.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum JwtAlgorithm {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    EdDSA,
}

impl JwtAlgorithm {
    /// Every algorithm, the default allow-list.
    pub const ALL: [Self; 9] = [
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::PS256,
        Self::PS384,
        Self::PS512,
        Self::ES256,
        Self::ES384,
        Self::EdDSA,
    ];

    /// The name in a JWS header (`alg`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
            Self::EdDSA => "EdDSA",
        }
    }
}

/// An entry of `options.authorization` (`mcp server` and `mcp client`), keyed by
/// guard name: how the caller's token is written in `Authorization`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// The header value with `{credentials}` where the token goes, e.g.
    /// `Bearer {credentials}`.
    #[schemars(example = "Bearer {credentials}")]
    pub credentials: String,
}

impl Authorization {
    /// `Bearer {credentials}`.
    pub fn bearer() -> Self {
        Self {
            credentials: "Bearer {credentials}".into(),
        }
    }
}

/// `options.authorization` of an `mcp server` or `mcp client`: one guard, by name.
pub type AuthorizationMap = IndexMap<String, Authorization>;

/// RFC 9728 protected-resource metadata of an `mcp server` (`options.resource_metadata`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceMetadata {
    /// The resource identifier: the endpoint's public URL, e.g.
    /// `https://mcp.example.com/mcp`. Default: the URL the client called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Authorization servers issuing tokens for this endpoint. Default: the guard's issuer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_servers: Vec<String>,
    /// Scopes clients may request. Default: every role named in `guarded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// Human-readable name of the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// URL of developer documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_documentation: Option<String>,
}

/// `options.credentials` of an `mcp client`: the gateway's own credential for the
/// toolkit, read from a file (a mounted Secret), never written in the config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StaticCredentials {
    /// Path of the file holding the credential, e.g. `/etc/mcpgw/credentials/github/token`;
    /// surrounding whitespace is ignored. Re-read when it changes.
    #[schemars(length(min = 1))]
    pub file: String,
    /// The request header it goes in. Default `authorization`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "authorization"))]
    pub header: Option<String>,
    /// The header value with `{credentials}` where the file's contents go. Default
    /// `Bearer {credentials}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Bearer {credentials}"))]
    pub format: Option<String>,
}

impl StaticCredentials {
    /// A bearer credential from this file.
    pub fn file(path: impl Into<String>) -> Self {
        Self {
            file: path.into(),
            header: None,
            format: None,
        }
    }
}
