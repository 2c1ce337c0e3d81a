//! The compiled form of guards and credentials: who may call an endpoint,
//! what each caller may see, and what reaches each toolkit.
//!
//! Secrets never appear here: keys and credentials are named by file or URL,
//! and the data plane reads them.

use std::time::Duration;

use url::Url;

use super::Allow;

/// `options.authorization` of an `mcp server`: the JWT guard that checks
/// callers, and what the endpoint tells clients about itself (RFC 9728).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationPlan {
    /// Name of the guard (its key under `guards`); routes name it in `guarded`.
    pub guard: String,
    /// The guard's settings.
    pub jwt: JwtGuardPlan,
    /// Where the token sits in the `Authorization` header (`credentials`).
    pub credentials: CredentialFormat,
    /// The protected-resource metadata served at `/.well-known/oauth-protected-resource`.
    pub resource_metadata: ResourceMetadataPlan,
}

/// A `type: jwt` guard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwtGuardPlan {
    /// The `iss` a token must carry, compared exactly.
    pub issuer: String,
    /// A token is accepted when any of its `aud` values is one of these (at least one).
    pub audiences: Vec<String>,
    /// Where the verification keys come from.
    pub keys: KeySource,
    /// The algorithms a token may be signed with (never `none`, never HMAC), at least one.
    pub algorithms: Vec<JwtAlgorithm>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
    /// The claim holding the caller's roles: a space-separated string or an array
    /// of strings (default `scope`).
    pub roles_claim: String,
    /// The claim naming the caller (default `sub`).
    pub identity_claim: String,
    /// For keys from a file or URL: how long fetched keys are trusted before they are
    /// fetched again, and the least time between two fetches caused by an unknown `kid`.
    pub refresh_interval: Duration,
    /// For an `https` JWKS URL: CA bundle files trusted besides the system's roots.
    pub trust_files: Vec<String>,
}

/// Where a JWT guard's public keys come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// A JWK set written in the config, as JSON text (`{"keys": [...]}`); public keys only.
    Inline(String),
    /// A JWK set in a file (e.g. a mounted ConfigMap), re-read when it changes.
    File(String),
    /// A JWK set served at this `http` or `https` URL.
    Url(Url),
}

pub use crate::model::JwtAlgorithm;

/// How a credential is written into a header value: Zilla's
/// `credentials: "Bearer {credentials}"`, split around the placeholder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialFormat {
    prefix: String,
    suffix: String,
}

/// The placeholder a credentials template must contain exactly once.
pub const CREDENTIALS_PLACEHOLDER: &str = "{credentials}";

impl CredentialFormat {
    /// `Bearer {credentials}`, the default.
    pub fn bearer() -> Self {
        Self {
            prefix: "Bearer ".into(),
            suffix: String::new(),
        }
    }

    /// Parses a template holding [`CREDENTIALS_PLACEHOLDER`] exactly once; `None` otherwise.
    pub fn parse(template: &str) -> Option<Self> {
        let (prefix, suffix) = template.split_once(CREDENTIALS_PLACEHOLDER)?;
        if suffix.contains(CREDENTIALS_PLACEHOLDER) {
            return None;
        }
        Some(Self {
            prefix: prefix.to_owned(),
            suffix: suffix.to_owned(),
        })
    }

    /// The template as written.
    pub fn template(&self) -> String {
        format!("{}{CREDENTIALS_PLACEHOLDER}{}", self.prefix, self.suffix)
    }

    /// The header value carrying `credentials`.
    pub fn format(&self, credentials: &str) -> String {
        format!("{}{credentials}{}", self.prefix, self.suffix)
    }

    /// The credentials in a header value written in this format, if it is. The
    /// prefix is compared ignoring ASCII case (an auth scheme is case-insensitive);
    /// empty credentials are no credentials.
    pub fn extract<'a>(&self, value: &'a str) -> Option<&'a str> {
        let head = value.get(..self.prefix.len())?;
        if !head.eq_ignore_ascii_case(&self.prefix) {
            return None;
        }
        let rest = value.get(self.prefix.len()..)?;
        let credentials = rest.strip_suffix(self.suffix.as_str())?;
        (!credentials.is_empty()).then_some(credentials)
    }
}

/// RFC 9728 protected-resource metadata of an endpoint (`options.resource_metadata`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceMetadataPlan {
    /// The resource identifier clients use as `resource` and tokens as `aud`;
    /// `None`: the URL the client called (scheme from `X-Forwarded-Proto`, else `http`).
    pub resource: Option<Url>,
    /// Authorization servers that issue tokens for it (default: the guard's issuer).
    pub authorization_servers: Vec<String>,
    /// Scopes clients may ask for (default: every role named in `guarded`, in order).
    pub scopes_supported: Vec<String>,
    /// Human-readable name of the resource.
    pub resource_name: Option<String>,
    /// URL of documentation for developers.
    pub resource_documentation: Option<String>,
}

/// One `mcp proxy` route of a toolkit: what it allows, and to whom.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AccessRule {
    /// The allow-lists of the route's condition.
    pub allow: Allow,
    /// `guarded: {GUARD: [roles]}`: the caller must be authenticated by the
    /// endpoint's guard and hold every one of these roles (an empty list: any
    /// authenticated caller). `None`: anyone, anonymous callers included.
    pub roles: Option<Vec<String>>,
}

impl AccessRule {
    /// A route open to everyone, allowing everything.
    pub fn open() -> Self {
        Self::default()
    }
}

/// A static credential for a toolkit (`options.credentials` of an `mcp client`):
/// the gateway's own key, read from a file (a mounted Secret) and re-read when
/// the file changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticCredentialsPlan {
    /// The file holding the credential; surrounding whitespace is ignored.
    pub file: String,
    /// The header it is sent in, lower case (default `authorization`).
    pub header: String,
    /// How the header value is written (default `Bearer {credentials}`).
    pub format: CredentialFormat,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_format_round_trips_and_extracts() {
        let bearer = CredentialFormat::parse("Bearer {credentials}").expect("valid");
        assert_eq!(bearer, CredentialFormat::bearer());
        assert_eq!(bearer.template(), "Bearer {credentials}");
        assert_eq!(bearer.format("abc"), "Bearer abc");
        assert_eq!(bearer.extract("Bearer abc"), Some("abc"));
        assert_eq!(bearer.extract("bearer abc"), Some("abc"));
        assert_eq!(bearer.extract("Bearer "), None);
        assert_eq!(bearer.extract("Basic abc"), None);
        assert_eq!(bearer.extract("Bé"), None);
        let odd = CredentialFormat::parse("Token {credentials};v=1").expect("valid");
        assert_eq!(odd.extract("Token x;v=1"), Some("x"));
        assert_eq!(odd.extract("Token x"), None);
        assert_eq!(CredentialFormat::parse("Bearer"), None);
        assert_eq!(CredentialFormat::parse("{credentials}{credentials}"), None);
    }
}
