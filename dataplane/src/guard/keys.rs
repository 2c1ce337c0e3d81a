//! A JWK set compiled into verification keys: public signature keys of the
//! families the guard supports, each checked once when it is loaded so that a
//! verification never meets a key it cannot use.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};
use mcpgw_config::JwtAlgorithm;
use serde_json::Value;

/// The most keys a JWK set may hold: a real issuer publishes a handful, and the
/// set is walked on every token without a `kid`.
pub const MAX_KEYS: usize = 100;

/// The largest JWK set read from a file or URL.
pub const MAX_JWKS_BYTES: usize = 1 << 20;

/// RSA moduli outside this range are refused: smaller ones are weak, larger ones
/// are beyond what the RSA implementation verifies.
const RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=4096;

/// How a key set is read: keys written in the config must all be usable (a
/// typo is an error at load); a set fetched from an issuer may carry keys for
/// other purposes, which are skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strictness {
    Strict,
    Lenient,
}

/// Why a JWK set was refused. Names the key by its index; never prints key material.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("not a JWK set ({{\"keys\": [...]}}): {0}")]
    NotASet(String),
    #[error("more than {MAX_KEYS} keys")]
    TooMany,
    #[error("keys[{index}]: {reason}")]
    Key { index: usize, reason: &'static str },
    #[error("no usable signature key")]
    Empty,
}

/// The key families a token's algorithm may be verified with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

impl KeyKind {
    /// Whether a token signed with `alg` may be verified with a key of this kind.
    pub fn fits(self, alg: JwtAlgorithm) -> bool {
        use JwtAlgorithm::*;
        match self {
            Self::Rsa => matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
            Self::P256 => alg == ES256,
            Self::P384 => alg == ES384,
            Self::Ed25519 => alg == EdDSA,
        }
    }
}

/// One verification key.
pub struct VerifyKey {
    pub kid: Option<String>,
    pub kind: KeyKind,
    /// The JWK's own `alg`, when it names one: the key verifies nothing else.
    pub alg: Option<JwtAlgorithm>,
    pub key: DecodingKey,
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field("kind", &self.kind)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl VerifyKey {
    /// Whether a token signed with `alg` may be verified with this key.
    pub fn fits(&self, alg: JwtAlgorithm) -> bool {
        self.kind.fits(alg) && self.alg.is_none_or(|own| own == alg)
    }
}

/// The verification keys of a guard, in the order the set listed them.
#[derive(Default)]
pub struct KeySet {
    keys: Vec<VerifyKey>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Kids and kinds only: the key material stays out of logs.
        f.debug_list()
            .entries(self.keys.iter().map(|k| (k.kid.as_deref(), k.kind)))
            .finish()
    }
}

impl KeySet {
    /// Reads a JWK set (`{"keys": [...]}`). Keys whose `use` is not `sig`, or whose
    /// `key_ops` leave out `verify`, are ignored in both modes.
    pub fn parse(text: &[u8], strictness: Strictness) -> Result<Self, KeysError> {
        let set: Value =
            serde_json::from_slice(text).map_err(|e| KeysError::NotASet(e.to_string()))?;
        let Some(Value::Array(entries)) = set.get("keys") else {
            return Err(KeysError::NotASet("no \"keys\" array".into()));
        };
        if entries.len() > MAX_KEYS {
            return Err(KeysError::TooMany);
        }
        let mut keys = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate() {
            match compile(entry) {
                Ok(Some(key)) => keys.push(key),
                Ok(None) => {}
                Err(reason) if strictness == Strictness::Strict => {
                    return Err(KeysError::Key { index, reason });
                }
                Err(reason) => tracing::debug!(index, reason, "JWK skipped"),
            }
        }
        if keys.is_empty() {
            return Err(KeysError::Empty);
        }
        Ok(Self { keys })
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// The keys named `kid` (several keys may share one, e.g. across families).
    pub fn named<'a>(&'a self, kid: &'a str) -> impl Iterator<Item = &'a VerifyKey> + 'a {
        self.keys
            .iter()
            .filter(move |k| k.kid.as_deref() == Some(kid))
    }

    /// The keys that may verify a token signed with `alg`.
    pub fn fitting(&self, alg: JwtAlgorithm) -> impl Iterator<Item = &VerifyKey> + '_ {
        self.keys.iter().filter(move |k| k.fits(alg))
    }
}

/// One JWK: `Ok(None)` when it is not a signature key, `Err` when it is not usable.
fn compile(entry: &Value) -> Result<Option<VerifyKey>, &'static str> {
    // Look at `use` and `key_ops` before the typed parse: an encryption key may
    // be of a type this guard has no use for, and is no error.
    if entry.get("use").is_some_and(|u| u != "sig") {
        return Ok(None);
    }
    if let Some(ops) = entry.get("key_ops")
        && !ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op == "verify"))
    {
        return Ok(None);
    }
    let jwk: Jwk = serde_json::from_value(entry.clone())
        .map_err(|_| "not an RSA, EC or OKP public key with its members")?;
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return Ok(None);
    }
    let kind = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => KeyKind::Rsa,
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => KeyKind::P256,
            EllipticCurve::P384 => KeyKind::P384,
            _ => return Err("EC keys must be on curve P-256 or P-384"),
        },
        AlgorithmParameters::OctetKeyPair(okp) => match okp.curve {
            EllipticCurve::Ed25519 => KeyKind::Ed25519,
            _ => return Err("OKP keys must be on curve Ed25519"),
        },
        AlgorithmParameters::OctetKey(_) => {
            return Err("symmetric (oct) keys are refused: only public keys verify tokens");
        }
    };
    let alg = match jwk.common.key_algorithm {
        None => None,
        Some(alg) => {
            let alg = signature_algorithm(alg).ok_or("alg is not an asymmetric JWS algorithm")?;
            if !kind.fits(alg) {
                return Err("alg does not fit the key's type or curve");
            }
            Some(alg)
        }
    };
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| "key members are not base64url")?;
    check(kind, &key)?;
    Ok(Some(VerifyKey {
        kid: jwk.common.key_id,
        kind,
        alg,
        key,
    }))
}

/// Checks now what a verification would otherwise find out later, or not at all.
fn check(kind: KeyKind, key: &DecodingKey) -> Result<(), &'static str> {
    match (kind, key.kind()) {
        (KeyKind::Rsa, DecodingKeyKind::RsaModulusExponent { n, e }) => {
            let bits = significant_bits(n);
            if !RSA_BITS.contains(&bits) {
                return Err("RSA modulus must have 2048 to 4096 bits");
            }
            let e_bits = significant_bits(e);
            if !(2..=33).contains(&e_bits) || e.last().is_none_or(|b| b & 1 == 0) {
                return Err("RSA exponent is not a usable public exponent");
            }
            Ok(())
        }
        (KeyKind::Ed25519, DecodingKeyKind::SecretOrDer(x)) if x.len() != 32 => {
            // NB: jsonwebtoken slices the first 32 bytes of an Ed25519 key
            // unchecked; a shorter one would panic at verification.
            Err("Ed25519 public key must be 32 bytes")
        }
        (KeyKind::P256 | KeyKind::P384 | KeyKind::Ed25519, DecodingKeyKind::SecretOrDer(_)) => {
            let probe = match kind {
                KeyKind::P256 => Algorithm::ES256,
                KeyKind::P384 => Algorithm::ES384,
                _ => Algorithm::EdDSA,
            };
            // Building a verifier decodes the point: an off-curve or wrongly
            // sized key fails here. The signature is irrelevant.
            jsonwebtoken::crypto::verify("", b"", key, probe)
                .map(|_| ())
                .map_err(|_| "public key is not a valid point of its curve")
        }
        _ => Err("key members do not match its type"),
    }
}

/// The bit length of a big-endian unsigned integer.
fn significant_bits(be: &[u8]) -> usize {
    let mut bytes = be.iter().skip_while(|b| **b == 0);
    match bytes.next() {
        None => 0,
        Some(first) => (8 - first.leading_zeros() as usize) + 8 * bytes.count(),
    }
}

/// The guard's name for a JWK `alg`, when it is one a guard may accept.
fn signature_algorithm(alg: KeyAlgorithm) -> Option<JwtAlgorithm> {
    Some(match alg {
        KeyAlgorithm::RS256 => JwtAlgorithm::RS256,
        KeyAlgorithm::RS384 => JwtAlgorithm::RS384,
        KeyAlgorithm::RS512 => JwtAlgorithm::RS512,
        KeyAlgorithm::PS256 => JwtAlgorithm::PS256,
        KeyAlgorithm::PS384 => JwtAlgorithm::PS384,
        KeyAlgorithm::PS512 => JwtAlgorithm::PS512,
        KeyAlgorithm::ES256 => JwtAlgorithm::ES256,
        KeyAlgorithm::ES384 => JwtAlgorithm::ES384,
        KeyAlgorithm::EdDSA => JwtAlgorithm::EdDSA,
        _ => return None,
    })
}

/// The `jsonwebtoken` name of an algorithm.
pub fn to_jsonwebtoken(alg: JwtAlgorithm) -> Algorithm {
    match alg {
        JwtAlgorithm::RS256 => Algorithm::RS256,
        JwtAlgorithm::RS384 => Algorithm::RS384,
        JwtAlgorithm::RS512 => Algorithm::RS512,
        JwtAlgorithm::PS256 => Algorithm::PS256,
        JwtAlgorithm::PS384 => Algorithm::PS384,
        JwtAlgorithm::PS512 => Algorithm::PS512,
        JwtAlgorithm::ES256 => Algorithm::ES256,
        JwtAlgorithm::ES384 => Algorithm::ES384,
        JwtAlgorithm::EdDSA => Algorithm::EdDSA,
    }
}
