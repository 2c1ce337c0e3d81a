//! Field rules of a guard (`guards.NAME`): a `jwt` guard's issuer, audience,
//! keys, algorithms and durations.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

use super::{clean, file_path, net};
use crate::error::{FieldError, Invalid};
use crate::model::{Audience, Guard, GuardType, Jwk, JwtAlgorithm, JwtKeys};
use crate::plan::{JwtGuardPlan, KeySource};

/// Default of `leeway`: 30 seconds.
pub(crate) const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// Upper bound of `leeway`: five minutes (`PT5M`); more would keep expired tokens alive.
const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// Default of `refresh_interval`: five minutes.
pub(crate) const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(300);
/// Bounds of `refresh_interval`: from one second (so an unknown `kid` cannot make
/// the gateway hammer the key server) to one day (so rotated keys are picked up).
const REFRESH_INTERVAL: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(86_400);
/// Default of `roles`: the OAuth `scope` claim.
pub(crate) const DEFAULT_ROLES_CLAIM: &str = "scope";
/// Default of `identity`: the `sub` claim.
pub(crate) const DEFAULT_IDENTITY_CLAIM: &str = "sub";

/// A guard's name: the same characters as a binding's, so that paths stay readable.
pub(crate) fn guard_name(name: &str, path: &str, errors: &mut Vec<FieldError>) {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid {
        errors.push(FieldError::new(path, Invalid::GuardName));
    }
}

/// A guard at `path` (`guards.NAME`): returns its settings with defaults applied.
pub(crate) fn guard(
    path: &str,
    guard: &Guard,
    errors: &mut Vec<FieldError>,
) -> Option<JwtGuardPlan> {
    // NB: `jwt` is the only kind; another kind would make this pattern refutable.
    let GuardType::Jwt = guard.guard_type;
    let options = &guard.options;
    let path = format!("{path}.options");
    let field = |name: &str| format!("{path}.{name}");
    clean(errors, |errors| {
        if options.issuer.trim().is_empty() {
            errors.push(FieldError::new(field("issuer"), Invalid::Empty));
        }
        let audiences = options.audience.to_vec();
        match &options.audience {
            Audience::One(one) if one.trim().is_empty() => {
                errors.push(FieldError::new(field("audience"), Invalid::Empty));
            }
            Audience::Many(many) if many.is_empty() => {
                errors.push(FieldError::new(field("audience"), Invalid::NoAudience));
            }
            Audience::Many(many) => {
                for (index, audience) in many.iter().enumerate() {
                    if audience.trim().is_empty() {
                        let at = format!("{path}.audience[{index}]");
                        errors.push(FieldError::new(at, Invalid::Empty));
                    }
                }
            }
            Audience::One(_) => {}
        }
        let keys = keys(
            &path,
            options.keys.as_ref(),
            options.keys_file.as_deref(),
            errors,
        );
        let algorithms = algorithms(&field("algorithms"), options.algorithms.as_deref(), errors);
        let leeway = options.leeway.map_or(DEFAULT_LEEWAY, |d| d.as_duration());
        if leeway > MAX_LEEWAY {
            errors.push(FieldError::new(field("leeway"), Invalid::TooLong("PT5M")));
        }
        let refresh_interval = options
            .refresh_interval
            .map_or(DEFAULT_REFRESH_INTERVAL, |d| d.as_duration());
        if !REFRESH_INTERVAL.contains(&refresh_interval) {
            let error = Invalid::OutOfRange {
                min: "PT1S",
                max: "P1D",
            };
            errors.push(FieldError::new(field("refresh_interval"), error));
        }
        let claim = |name: &str, value: Option<&String>, default: &str, errors: &mut Vec<_>| {
            let value = value.map_or(default, String::as_str);
            if value.trim().is_empty() {
                errors.push(FieldError::new(field(name), Invalid::Empty));
            }
            value.to_owned()
        };
        let roles_claim = claim("roles", options.roles.as_ref(), DEFAULT_ROLES_CLAIM, errors);
        let identity = options.identity.as_ref();
        let identity_claim = claim("identity", identity, DEFAULT_IDENTITY_CLAIM, errors);
        for (index, file) in options.trust.iter().enumerate() {
            file_path(format!("{path}.trust[{index}]"), file, errors);
        }
        let https_url = matches!(&keys, Some(KeySource::Url(url)) if url.scheme() == "https");
        if !options.trust.is_empty() && keys.is_some() && !https_url {
            errors.push(FieldError::new(field("trust"), Invalid::TrustWithoutHttps));
        }
        Some(JwtGuardPlan {
            issuer: options.issuer.clone(),
            audiences,
            keys: keys?,
            algorithms,
            leeway,
            roles_claim,
            identity_claim,
            refresh_interval,
            trust_files: options.trust.clone(),
        })
    })
    .flatten()
}

/// Exactly one of `keys` and `keys_file`.
fn keys(
    path: &str,
    keys: Option<&JwtKeys>,
    file: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> Option<KeySource> {
    let keys_path = format!("{path}.keys");
    match (keys, file) {
        (Some(_), Some(_)) => {
            errors.push(FieldError::new(keys_path, Invalid::KeysExclusive));
            None
        }
        (None, None) => {
            errors.push(FieldError::new(keys_path, Invalid::KeysRequired));
            None
        }
        (None, Some(file)) => {
            super::file_path(format!("{path}.keys_file"), file, errors);
            Some(KeySource::File(file.to_owned()))
        }
        (Some(JwtKeys::Url(url)), None) => net::web_url_without_fragment(url)
            .map(KeySource::Url)
            .map_err(|error| errors.push(FieldError::new(keys_path, error)))
            .ok(),
        (Some(JwtKeys::Inline(jwks)), None) => inline_keys(&keys_path, jwks, errors),
    }
}

/// The JWK set as JSON text, the way a JWKS endpoint or file would hold it.
#[derive(Serialize)]
struct JwkSet<'a> {
    keys: &'a [Jwk],
}

fn inline_keys(path: &str, keys: &[Jwk], errors: &mut Vec<FieldError>) -> Option<KeySource> {
    if keys.is_empty() {
        errors.push(FieldError::new(path, Invalid::NoKeys));
        return None;
    }
    let mut first_with_kid: HashMap<&str, String> = HashMap::new();
    for (index, key) in keys.iter().enumerate() {
        let key_path = format!("{path}[{index}]");
        jwk(&key_path, key, errors);
        if let Some(kid) = &key.kid {
            if let Some(first) = first_with_kid.get(kid.as_str()) {
                let error = Invalid::DuplicateKid {
                    kid: kid.clone(),
                    first: first.clone(),
                };
                errors.push(FieldError::new(format!("{key_path}.kid"), error));
            } else {
                first_with_kid.insert(kid, format!("keys[{index}]"));
            }
        }
    }
    match serde_json::to_string(&JwkSet { keys }) {
        Ok(json) => Some(KeySource::Inline(json)),
        // NB: cannot happen (string keys, string values); reported rather than panicking.
        Err(error) => {
            errors.push(FieldError::new(path, format!("internal error: {error}")));
            None
        }
    }
}

/// The members a key type requires, and the curves it may be on.
struct KeyType {
    name: &'static str,
    /// `(curve, coordinate length in bytes, its one algorithm)`.
    curves: &'static [(&'static str, usize, JwtAlgorithm)],
    expected_curves: &'static str,
}

const RSA: KeyType = KeyType {
    name: "RSA",
    curves: &[],
    expected_curves: "",
};
const EC: KeyType = KeyType {
    name: "EC",
    curves: &[
        ("P-256", 32, JwtAlgorithm::ES256),
        ("P-384", 48, JwtAlgorithm::ES384),
    ],
    expected_curves: "`P-256` or `P-384`",
};
const OKP: KeyType = KeyType {
    name: "OKP",
    curves: &[("Ed25519", 32, JwtAlgorithm::EdDSA)],
    expected_curves: "`Ed25519`",
};

/// One inline JWK: a public signature key of a supported type, complete.
fn jwk(path: &str, key: &Jwk, errors: &mut Vec<FieldError>) {
    let field = |name: &str| format!("{path}.{name}");
    let kty = match key.kty.as_str() {
        "RSA" => RSA,
        "EC" => EC,
        "OKP" => OKP,
        other => {
            let error = Invalid::UnknownKeyType(other.to_owned());
            errors.push(FieldError::new(field("kty"), error));
            return;
        }
    };
    let members: [(&'static str, Option<&String>); 5] = [
        ("n", key.n.as_ref()),
        ("e", key.e.as_ref()),
        ("crv", key.crv.as_ref()),
        ("x", key.x.as_ref()),
        ("y", key.y.as_ref()),
    ];
    let needed: &[&str] = match kty.name {
        "RSA" => &["n", "e"],
        "EC" => &["crv", "x", "y"],
        _ => &["crv", "x"],
    };
    for (member, value) in members {
        match (needed.contains(&member), value) {
            (true, None) => errors.push(FieldError::new(field(member), Invalid::Required)),
            (false, Some(_)) => {
                let error = Invalid::ForeignKeyMember {
                    member,
                    kty: kty.name,
                };
                errors.push(FieldError::new(field(member), error));
            }
            (true, Some(value)) if member != "crv" && !is_base64url(value) => {
                errors.push(FieldError::new(field(member), Invalid::NotBase64Url));
            }
            _ => {}
        }
    }
    // The curve, when the key type has curves: its coordinates' length and algorithm.
    let curve = key.crv.as_deref().filter(|_| !kty.curves.is_empty());
    let curve = curve.and_then(|crv| {
        let found = kty.curves.iter().find(|(name, ..)| *name == crv);
        if found.is_none() {
            let error = Invalid::UnknownCurve {
                found: crv.to_owned(),
                kty: kty.name,
                expected: kty.expected_curves,
            };
            errors.push(FieldError::new(field("crv"), error));
        }
        found
    });
    if let Some((name, bytes, _)) = curve {
        for (member, value) in [("x", &key.x), ("y", &key.y)] {
            let Some(value) = value.as_deref().filter(|value| is_base64url(value)) else {
                continue;
            };
            if value.len() != base64url_length(*bytes) {
                let error = Invalid::CoordinateLength {
                    bytes: *bytes,
                    curve: name,
                };
                errors.push(FieldError::new(field(member), error));
            }
        }
    }
    if let Some(alg) = &key.alg {
        match JwtAlgorithm::ALL.into_iter().find(|a| a.as_str() == alg) {
            None => {
                let error = Invalid::UnknownAlgorithm(alg.clone());
                errors.push(FieldError::new(field("alg"), error));
            }
            Some(algorithm) => {
                let fits = match (kty.name, curve) {
                    ("RSA", _) => algorithm.as_str().starts_with(['R', 'P']),
                    (_, Some((_, _, only))) => algorithm == *only,
                    // The curve is missing or unknown: already reported.
                    (_, None) => true,
                };
                if !fits {
                    let key = match curve {
                        Some((curve, ..)) => format!("an `{}` key on `{curve}`", kty.name),
                        None => format!("an `{}` key", kty.name),
                    };
                    let error = Invalid::AlgorithmMismatch {
                        alg: alg.clone(),
                        key,
                    };
                    errors.push(FieldError::new(field("alg"), error));
                }
            }
        }
    }
    if let Some(key_use) = key.key_use.as_deref().filter(|u| *u != "sig") {
        let error = Invalid::KeyUse(key_use.to_owned());
        errors.push(FieldError::new(field("use"), error));
    }
}

/// Non-empty, and only the base64url alphabet (no padding).
fn is_base64url(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Characters of the unpadded base64url of `bytes` bytes.
fn base64url_length(bytes: usize) -> usize {
    (bytes * 8).div_ceil(6)
}

/// The allow-list: at least one, no repeats; every algorithm when left out.
fn algorithms(
    path: &str,
    names: Option<&[JwtAlgorithm]>,
    errors: &mut Vec<FieldError>,
) -> Vec<JwtAlgorithm> {
    let Some(names) = names else {
        return JwtAlgorithm::ALL.to_vec();
    };
    if names.is_empty() {
        errors.push(FieldError::new(path, Invalid::NoAlgorithms));
    }
    super::distinct(path, names, JwtAlgorithm::as_str, errors)
}

#[cfg(test)]
mod tests;
