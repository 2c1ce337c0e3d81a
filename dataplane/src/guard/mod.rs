//! The JWT guard of an endpoint: checks a caller's bearer token against the
//! guard's issuer, audiences, algorithms and keys, and names the caller and
//! their roles.
//!
//! # Use
//!
//! ```ignore
//! // One fetcher per gateway (cheap to clone; its TLS client is built on first use).
//! let fetcher = KeyFetcher::new();
//! // Inline keys are parsed here: a bad key is a `GuardError` (prefix it with
//! // the guard's path, e.g. `guards.authn_jwt.options.`).
//! let guard = JwtGuard::new(&plan.jwt, fetcher.clone())?;
//! // Per request, with the token taken out of the header by the plan's
//! // `CredentialFormat::extract`:
//! match guard.verify(token).await {
//!     Ok(caller) => { /* caller.identity, caller.roles, caller.token.expose() */ }
//!     // 401, `WWW-Authenticate: Bearer error="invalid_token",
//!     // error_description="{denied}", resource_metadata="…"`.
//!     Err(denied) => {}
//! }
//! ```
//!
//! # Rules
//!
//! - The header's `alg` must be in the plan's allow-list, which can only hold
//!   asymmetric algorithms: `none` and `HS*` are refused before any key is
//!   looked at or fetched ([`Denied::AlgorithmNotAllowed`]). A header with
//!   `crit` is refused: this guard understands no JWS extension.
//! - The key: the one(s) named by the token's `kid`; without a `kid`, the first
//!   [`MAX_KEYS_TRIED`] keys that fit the algorithm. A key fits when its family
//!   fits the algorithm (RSA for `RS*`/`PS*`, EC P-256 for `ES256`, P-384 for
//!   `ES384`, OKP Ed25519 for `EdDSA`) and its own `alg`, when present, is the
//!   token's; a named key that does not fit is [`Denied::KeyMismatch`]. Keys whose
//!   `use` is not `sig` are ignored.
//! - Claims: `iss` a string equal to the issuer; `aud` a string or an array, any
//!   element one of the audiences; `exp` required; `nbf` checked when present;
//!   both with the plan's leeway.
//! - The caller: identity from the identity claim (a string, or a number written
//!   out), required; roles from the roles claim, a space-separated string or an
//!   array of strings (any other shape: no roles). A claim name is looked up as
//!   is first; a dotted name that is not a top-level claim walks nested objects
//!   (`realm_access.roles`).
//!
//! # Keys
//!
//! Inline keys are compiled in [`JwtGuard::new`], strictly (every key must be a
//! usable public signature key). Keys from a file or URL are loaded lazily: the
//! first verify triggers the load and waits for it, and they are refreshed on
//! the schedule written at the top of `cache.rs` (single flight, stale on
//! error, stale keys refreshed by the next verify, an unknown `kid` refreshes
//! at most once per `refresh_interval`, never a fetch per request).
//! [`JwtGuard::warm`] starts that first load early. Fetched sets are read
//! leniently (unusable keys are skipped), bounded to 1 MiB and 100 keys, and a
//! fetch to 10 s.
//!
//! Every [`Denied`] is the client's fault except [`Denied::KeysUnavailable`]
//! (the issuer's keys could not be loaded); all are answered 401 `invalid_token`.

mod cache;
mod fetch;
mod keys;
mod verified;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Validation, decode};
use mcpgw_config::{JwtAlgorithm, JwtGuardPlan, KeySource};
use serde_json::{Map, Value};

use cache::{KeyCache, Source};
pub use fetch::{FetchError, KeyFetcher};
use keys::{KeySet, Strictness, VerifyKey, to_jsonwebtoken};
pub use keys::{KeysError, MAX_JWKS_BYTES, MAX_KEYS};

/// The longest token accepted; longer ones are refused unread.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// How many keys a token without a `kid` is tried against.
pub const MAX_KEYS_TRIED: usize = 4;

/// The most leeway applied, whatever the plan says (the config allows 5 minutes);
/// it keeps the time arithmetic of the JWT library far from its limits.
const MAX_LEEWAY_SECS: u64 = 24 * 3600;

/// A `type: jwt` guard, ready to verify tokens.
pub struct JwtGuard {
    issuer: String,
    audiences: Vec<String>,
    /// One validation per allowed algorithm, built once.
    validations: Vec<(JwtAlgorithm, Validation)>,
    roles_claim: String,
    identity_claim: String,
    keys: Keys,
    /// Tokens accepted already.
    verified: verified::Verified,
}

enum Keys {
    Inline(Arc<KeySet>),
    Cached(Arc<KeyCache>),
}

impl std::fmt::Debug for JwtGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = match &self.keys {
            Keys::Inline(set) => format!("{} inline", set.len()),
            Keys::Cached(cache) => cache.source().to_string(),
        };
        f.debug_struct("JwtGuard")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field(
                "algorithms",
                &self
                    .validations
                    .iter()
                    .map(|(alg, _)| alg.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("keys", &keys)
            .finish_non_exhaustive()
    }
}

/// Why a guard could not be built from its plan. The path is relative to the
/// guard's `options`.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("keys: {0}")]
    Keys(#[from] KeysError),
    #[error("keys: not a usable URL")]
    Url,
    #[error("algorithms: at least one is required")]
    NoAlgorithms,
    #[error("audience: at least one is required")]
    NoAudience,
}

/// Why a token was refused. `Display` is a short reason that is safe to send
/// to the client as `error_description`: it never holds the token or a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("malformed token")]
    Malformed,
    #[error("invalid token signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("token has no expiry")]
    MissingExpiry,
    #[error("token issuer not accepted")]
    WrongIssuer,
    #[error("token audience not accepted")]
    WrongAudience,
    #[error("token signing key not known")]
    UnknownKey,
    #[error("token algorithm not allowed")]
    AlgorithmNotAllowed,
    #[error("token algorithm does not fit its key")]
    KeyMismatch,
    #[error("token does not name the caller")]
    MissingIdentity,
    #[error("verification keys unavailable")]
    KeysUnavailable,
}

/// A caller whose token the guard accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The identity claim (default `sub`).
    pub identity: String,
    /// The roles claim (default `scope`).
    pub roles: BTreeSet<String>,
    /// The bearer token itself, for toolkits the caller's token is forwarded to.
    pub token: Token,
}

impl Caller {
    /// Whether the caller holds every one of `roles` (an empty list: yes).
    pub fn has_roles(&self, roles: &[String]) -> bool {
        roles.iter().all(|role| self.roles.contains(role))
    }
}

/// A raw bearer token. `Debug` does not print it; [`Token::expose`] does, for
/// the one place that forwards it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Arc<str>);

impl Token {
    pub fn new(token: &str) -> Self {
        Self(token.into())
    }

    /// The token text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl JwtGuard {
    /// Compiles a guard. Inline keys are parsed now (a bad key is an error);
    /// file and URL keys are loaded by the first [`verify`](Self::verify) or
    /// [`warm`](Self::warm).
    pub fn new(plan: &JwtGuardPlan, fetcher: KeyFetcher) -> Result<Self, GuardError> {
        if plan.algorithms.is_empty() {
            return Err(GuardError::NoAlgorithms);
        }
        if plan.audiences.is_empty() {
            return Err(GuardError::NoAudience);
        }
        let keys = match &plan.keys {
            KeySource::Inline(text) => Keys::Inline(Arc::new(KeySet::parse(
                text.as_bytes(),
                Strictness::Strict,
            )?)),
            KeySource::File(path) => Keys::Cached(KeyCache::new(
                Source::File(PathBuf::from(path)),
                fetcher,
                plan.refresh_interval,
            )),
            KeySource::Url(url) => Keys::Cached(KeyCache::new(
                Source::Url(url.as_str().parse().map_err(|_| GuardError::Url)?),
                fetcher,
                plan.refresh_interval,
            )),
        };
        let leeway = plan.leeway.as_secs().min(MAX_LEEWAY_SECS);
        let mut validations: Vec<(JwtAlgorithm, Validation)> = Vec::new();
        for &alg in &plan.algorithms {
            if validations.iter().any(|(seen, _)| *seen == alg) {
                continue;
            }
            let mut validation = Validation::new(to_jsonwebtoken(alg));
            validation.leeway = leeway;
            validation.validate_exp = true;
            validation.validate_nbf = true;
            validation.set_required_spec_claims(&["exp", "iss", "aud"]);
            validation.set_issuer(&[&plan.issuer]);
            validation.set_audience(&plan.audiences);
            validations.push((alg, validation));
        }
        Ok(Self {
            issuer: plan.issuer.clone(),
            audiences: plan.audiences.clone(),
            validations,
            roles_claim: plan.roles_claim.clone(),
            identity_claim: plan.identity_claim.clone(),
            keys,
            verified: verified::Verified::new(
                plan.refresh_interval,
                std::time::Duration::from_secs(leeway),
            ),
        })
    }

    /// Starts loading file or URL keys now, in the background, so that the first
    /// caller does not wait for them. Needs a Tokio runtime; a no-op for inline keys.
    pub fn warm(&self) {
        if let Keys::Cached(cache) = &self.keys {
            let cache = Arc::clone(cache);
            tokio::spawn(async move { cache.current().await });
        }
    }

    /// Verifies a bearer token (without its `Bearer ` prefix). A token accepted
    /// before is answered from memory until it expires (see `verified.rs`).
    pub async fn verify(&self, token: &str) -> Result<Caller, Denied> {
        let now = std::time::SystemTime::now();
        if let Some(caller) = self.verified.get(token, now) {
            return Ok(caller);
        }
        let (caller, exp) = self.check_token(token).await?;
        self.verified.insert(token, &caller, exp, now);
        Ok(caller)
    }

    /// The full check: signature, claims, caller; and the token's `exp`.
    async fn check_token(&self, token: &str) -> Result<(Caller, u64), Denied> {
        let header = TokenHeader::parse(token)?;
        let (alg, validation) = self
            .validations
            .iter()
            .find(|(alg, _)| alg.as_str() == header.alg)
            .ok_or(Denied::AlgorithmNotAllowed)?;
        let claims = match &self.keys {
            Keys::Inline(keys) => check(token, &header, *alg, validation, keys)?,
            Keys::Cached(cache) => {
                let keys = cache.current().await.ok_or(Denied::KeysUnavailable)?;
                match check(token, &header, *alg, validation, &keys) {
                    Err(Denied::UnknownKey) => match cache.refresh_for_unknown_kid().await {
                        Some(fresh) => check(token, &header, *alg, validation, &fresh)?,
                        None => return Err(Denied::UnknownKey),
                    },
                    checked => checked?,
                }
            }
        };
        // The library accepts an `iss` array holding the issuer; the guard wants it exact.
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(Denied::WrongIssuer);
        }
        let identity = match claim(&claims, &self.identity_claim) {
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            Some(Value::Number(id)) => id.to_string(),
            _ => return Err(Denied::MissingIdentity),
        };
        // NB: `exp` is required, so validation saw a number; a float is cut down.
        let exp = claims
            .get("exp")
            .and_then(|e| e.as_u64().or_else(|| e.as_f64().map(|f| f as u64)))
            .ok_or(Denied::MissingExpiry)?;
        let caller = Caller {
            identity,
            roles: roles(claim(&claims, &self.roles_claim)),
            token: Token::new(token),
        };
        Ok((caller, exp))
    }

    /// Let every interval pass at once: keys are due, remembered tokens forgotten.
    #[cfg(test)]
    fn expire_all(&self) {
        self.cache().expire();
        self.verified.clear();
    }

    /// The key cache, for tests of the refresh schedule.
    #[cfg(test)]
    fn cache(&self) -> &Arc<KeyCache> {
        match &self.keys {
            Keys::Cached(cache) => cache,
            Keys::Inline(_) => panic!("a guard with inline keys has no cache"),
        }
    }
}

/// What the guard reads of a JWS header before choosing a key.
#[derive(serde::Deserialize)]
struct TokenHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
}

impl TokenHeader {
    fn parse(token: &str) -> Result<Self, Denied> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Denied::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(_), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Denied::Malformed);
        };
        let json = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| Denied::Malformed)?;
        let header: Self = serde_json::from_slice(&json).map_err(|_| Denied::Malformed)?;
        if header.crit.is_some() {
            return Err(Denied::Malformed);
        }
        Ok(header)
    }
}

/// Verifies the signature with the token's key and validates the claims.
fn check(
    token: &str,
    header: &TokenHeader,
    alg: JwtAlgorithm,
    validation: &Validation,
    keys: &KeySet,
) -> Result<Map<String, Value>, Denied> {
    let candidates: Vec<&VerifyKey> = match &header.kid {
        Some(kid) => {
            let named: Vec<&VerifyKey> = keys.named(kid).collect();
            if named.is_empty() {
                return Err(Denied::UnknownKey);
            }
            let fitting: Vec<&VerifyKey> = named.into_iter().filter(|k| k.fits(alg)).collect();
            if fitting.is_empty() {
                return Err(Denied::KeyMismatch);
            }
            fitting
        }
        None => keys.fitting(alg).take(MAX_KEYS_TRIED).collect(),
    };
    if candidates.is_empty() {
        return Err(Denied::UnknownKey);
    }
    for key in candidates {
        match decode::<Map<String, Value>>(token, &key.key, validation) {
            Ok(data) => return Ok(data.claims),
            // Another candidate may hold the right key.
            Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => {}
            Err(e) => return Err(denied(e.kind())),
        }
    }
    Err(Denied::BadSignature)
}

/// The reason for a `jsonwebtoken` error.
fn denied(kind: &ErrorKind) -> Denied {
    match kind {
        ErrorKind::InvalidSignature
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => Denied::BadSignature,
        ErrorKind::ExpiredSignature => Denied::Expired,
        ErrorKind::ImmatureSignature => Denied::NotYetValid,
        ErrorKind::InvalidIssuer => Denied::WrongIssuer,
        ErrorKind::InvalidAudience => Denied::WrongAudience,
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => Denied::AlgorithmNotAllowed,
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "exp" => Denied::MissingExpiry,
            "iss" => Denied::WrongIssuer,
            "aud" => Denied::WrongAudience,
            _ => Denied::Malformed,
        },
        _ => Denied::Malformed,
    }
}

/// The roles in a roles claim: a space-separated string or an array of strings.
/// The claim `name`: a top-level claim of that name (Auth0-style names such as
/// `https://example.com/roles` contain dots), or else, for a dotted name, the
/// nested member it walks to (Keycloak's `realm_access.roles`).
fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(name) {
        return Some(value);
    }
    let mut parts = name.split('.');
    let first = claims.get(parts.next()?)?;
    parts.try_fold(first, |value, part| value.as_object()?.get(part))
}

fn roles(claim: Option<&Value>) -> BTreeSet<String> {
    match claim {
        Some(Value::String(roles)) => roles.split_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<BTreeSet<String>>>()
            .unwrap_or_default(),
        _ => BTreeSet::new(),
    }
}

#[cfg(test)]
mod claim_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn claims_are_found_by_name_then_by_dotted_path() {
        let claims = json!({
            "realm_access": {"roles": ["admin", "user"]},
            "https://example.com/roles": "a b",
            "scope": "x",
        });
        let claims = claims.as_object().expect("an object");
        let found = |name: &str| roles(claim(claims, name));
        assert_eq!(found("scope"), BTreeSet::from(["x".to_owned()]));
        assert_eq!(
            found("realm_access.roles"),
            BTreeSet::from(["admin".to_owned(), "user".to_owned()])
        );
        assert_eq!(
            found("https://example.com/roles"),
            BTreeSet::from(["a".to_owned(), "b".to_owned()])
        );
        assert!(found("realm_access.missing").is_empty());
        assert!(found("scope.deeper").is_empty());
        assert!(found("").is_empty());
    }
}
