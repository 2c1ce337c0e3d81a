//! Deterministic pseudo-random tokens and `Authorization` headers: whatever
//! arrives, the guard denies it, never panics, and never lets it through.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use mcpgw_config::CredentialFormat;
use serde_json::json;

use super::tokens::{SigningKey, TestIssuer, jwk_set};
use super::{AUDIENCE, inline_guard};
use crate::guard::{Denied, JwtGuard};

/// A small xorshift generator: reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Text biased towards what tokens are made of.
    fn text(&mut self, max: usize) -> String {
        const ALPHABET: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ eyJ";
        let len = self.below(max);
        (0..len)
            .map(|_| match self.next() % 8 {
                0 => char::from_u32(self.next() as u32 % 0x800).unwrap_or('?'),
                _ => *self.pick(ALPHABET) as char,
            })
            .collect()
    }

    /// A JWS-shaped token: a JSON header of varied shape, a payload, a signature.
    fn jws(&mut self, kids: &[&str]) -> String {
        let algs = [
            "RS256", "PS512", "ES256", "ES384", "EdDSA", "none", "HS256", "", "ES512",
        ];
        let mut header = json!({ "alg": self.pick(&algs) });
        match self.next() % 4 {
            0 => header["kid"] = json!(self.pick(kids)),
            1 => header["kid"] = json!(self.text(12)),
            2 => header["crit"] = json!(["b64"]),
            _ => {}
        }
        let payload = match self.next() % 3 {
            0 => {
                json!({"iss": super::tokens::ISSUER, "aud": AUDIENCE, "sub": "x", "exp": u64::MAX})
            }
            1 => json!(self.text(40)),
            _ => json!([self.next(), -1, null]),
        };
        let signature: Vec<u8> = (0..self.below(300)).map(|_| self.next() as u8).collect();
        super::tokens::hand_built(&header, &payload, &signature)
    }
}

/// Runs one input through the guard: it must be denied.
async fn denied(guard: &JwtGuard, token: &str) -> Denied {
    match guard.verify(token).await {
        Ok(caller) => panic!("accepted a forged token for {}", caller.identity),
        Err(denied) => denied,
    }
}

#[tokio::test]
async fn random_tokens_are_always_denied() {
    let issuer = TestIssuer::new(AUDIENCE);
    let guard = inline_guard(&issuer.jwks());
    let kids = [super::tokens::RSA_KID, super::tokens::EC_KID];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut reasons = std::collections::BTreeSet::new();
    for _ in 0..3_000 {
        let token = rng.text(300);
        denied(&guard, &token).await;
    }
    for _ in 0..3_000 {
        let token = rng.jws(&kids);
        reasons.insert(format!("{:?}", denied(&guard, &token).await));
    }
    // The inputs get past the first checks, as far as the signature.
    for reason in [
        "Malformed",
        "AlgorithmNotAllowed",
        "UnknownKey",
        "BadSignature",
    ] {
        assert!(reasons.contains(reason), "{reasons:?}");
    }
}

#[tokio::test]
async fn mutated_valid_tokens_are_always_denied() {
    let issuer = TestIssuer::new(AUDIENCE);
    let ed = SigningKey::ed25519("ed");
    let guard = inline_guard(&jwk_set(&[&issuer.rsa.jwk, &issuer.ec.jwk, &ed.jwk]));
    let claims = issuer.claims("alice", "tools");
    let valid = [
        issuer.rsa.sign(Algorithm::RS256, &claims),
        issuer.rsa.sign(Algorithm::PS256, &claims),
        issuer.ec.sign(Algorithm::ES256, &claims),
        ed.sign(Algorithm::EdDSA, &claims),
    ];
    for token in &valid {
        assert!(guard.verify(token).await.is_ok(), "the originals verify");
    }
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..1_500 {
        let original = rng.pick(&valid).clone();
        let mut bytes = original.clone().into_bytes();
        match rng.next() % 5 {
            // Change one character to another base64url character (or a dot).
            0 | 1 => {
                let at = rng.below(bytes.len());
                let mut to = *rng.pick(B64);
                if rng.next().is_multiple_of(20) {
                    to = b'.';
                }
                if to == bytes[at] {
                    continue;
                }
                bytes[at] = to;
            }
            // Drop a tail.
            2 => bytes.truncate(rng.below(bytes.len())),
            // Insert a character.
            3 => bytes.insert(rng.below(bytes.len()), *rng.pick(B64)),
            // Swap the signature of another token in.
            _ => {
                let other = rng.pick(&valid);
                let (head, _) = original.rsplit_once('.').expect("three segments");
                let (_, signature) = other.rsplit_once('.').expect("three segments");
                if other == &original {
                    continue;
                }
                bytes = format!("{head}.{signature}").into_bytes();
            }
        }
        let token = String::from_utf8(bytes).expect("ASCII");
        denied(&guard, &token).await;
    }
}

#[tokio::test]
async fn random_authorization_headers_are_never_accepted() {
    let issuer = TestIssuer::new(AUDIENCE);
    let guard = inline_guard(&issuer.jwks());
    let bearer = CredentialFormat::bearer();
    let valid = issuer.token("alice", "");
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    let prefixes = [
        "Bearer ", "bearer ", "BEARER  ", "Bearer", "Basic ", "", " Bearer ",
    ];
    let mut extracted = 0;
    for _ in 0..3_000 {
        let credentials = match rng.next() % 4 {
            0 => rng.text(200),
            1 => format!("{valid}{}", rng.text(4)),
            2 => URL_SAFE_NO_PAD.encode(rng.text(60)),
            _ => valid.replace('.', &rng.text(2)),
        };
        let header = format!("{}{credentials}", rng.pick(&prefixes));
        if let Some(token) = bearer.extract(&header) {
            extracted += 1;
            if token == valid {
                continue;
            }
            denied(&guard, token).await;
        }
    }
    assert!(
        extracted > 1_000,
        "most headers reach the guard: {extracted}"
    );
}
