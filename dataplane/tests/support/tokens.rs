//! Test JWTs: a [`TestIssuer`] with an RSA key (the committed test key in
//! `tests/fixtures/jwt/`) and an EC P-256 key generated now, that mints good
//! tokens and each kind of bad one; and the building blocks (keys of every
//! family, signing, hand-built tokens) for tests that need other shapes.
//!
//! Shared by the integration tests (`mod support`) and the guard's unit tests
//! (included by path), so it depends on external crates only.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{self as ring_sig, KeyPair};
use serde_json::{Value, json};
use std::path::PathBuf;

/// The issuer a [`TestIssuer`] writes in `iss` unless told otherwise.
pub const ISSUER: &str = "https://auth.example.test";
/// The `kid` of the RSA key.
pub const RSA_KID: &str = "test-rsa";
/// The `kid` of the EC P-256 key.
pub const EC_KID: &str = "test-ec";

/// The RSA test key (PKCS#1 PEM), and its public half (SPKI PEM).
pub const RSA_PRIVATE_PEM: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/jwt/rsa-test-key.pem"
));
pub const RSA_PUBLIC_PEM: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/jwt/rsa-test-key.pub.pem"
));

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// A signing key and its public JWK (with `kid`, `use: sig`, no `alg`).
pub struct SigningKey {
    pub kid: String,
    pub key: EncodingKey,
    pub jwk: Value,
}

impl SigningKey {
    /// The RSA test key.
    pub fn rsa(kid: &str) -> Self {
        let key = EncodingKey::from_rsa_pem(RSA_PRIVATE_PEM.as_bytes()).expect("RSA test key");
        let public = Jwk::from_encoding_key(&key, Algorithm::RS256).expect("RSA public half");
        let mut jwk = serde_json::to_value(public).expect("JWK to JSON");
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        jwk.as_object_mut().expect("object").remove("alg");
        Self {
            kid: kid.into(),
            key,
            jwk,
        }
    }

    /// A new EC P-256 key.
    pub fn p256(kid: &str) -> Self {
        Self::ec(kid, &ring_sig::ECDSA_P256_SHA256_FIXED_SIGNING, "P-256", 32)
    }

    /// A new EC P-384 key.
    pub fn p384(kid: &str) -> Self {
        Self::ec(kid, &ring_sig::ECDSA_P384_SHA384_FIXED_SIGNING, "P-384", 48)
    }

    fn ec(
        kid: &str,
        alg: &'static ring_sig::EcdsaSigningAlgorithm,
        crv: &str,
        size: usize,
    ) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = ring_sig::EcdsaKeyPair::generate_pkcs8(alg, &rng).expect("EC key");
        let pair = ring_sig::EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).expect("EC key");
        // Uncompressed point: 0x04 || x || y.
        let point = pair.public_key().as_ref();
        let jwk = json!({
            "kty": "EC", "crv": crv, "kid": kid, "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(&point[1..1 + size]),
            "y": URL_SAFE_NO_PAD.encode(&point[1 + size..]),
        });
        Self {
            kid: kid.into(),
            key: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk,
        }
    }

    /// A new Ed25519 key.
    pub fn ed25519(kid: &str) -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = ring_sig::Ed25519KeyPair::generate_pkcs8(&rng).expect("Ed25519 key");
        let pair = ring_sig::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("Ed25519 key");
        let jwk = json!({
            "kty": "OKP", "crv": "Ed25519", "kid": kid, "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
        });
        Self {
            kid: kid.into(),
            key: EncodingKey::from_ed_der(pkcs8.as_ref()),
            jwk,
        }
    }

    /// A token of `claims` signed with `alg`, its header naming this key's kid.
    pub fn sign(&self, alg: Algorithm, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = Some(self.kid.clone());
        sign(&header, claims, &self.key)
    }
}

/// A token of `claims` under `header`, signed with `key`.
pub fn sign(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, claims, key).expect("test token signs")
}

/// A token built by hand: any header JSON, any claims, any signature bytes.
pub fn hand_built(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// A JWK set (`{"keys": [...]}`) as JSON text.
pub fn jwk_set(keys: &[&Value]) -> String {
    json!({ "keys": keys }).to_string()
}

/// An issuer with two keys: RSA (kid [`RSA_KID`], tokens RS256 by default) and
/// EC P-256 (kid [`EC_KID`], ES256).
pub struct TestIssuer {
    pub issuer: String,
    pub audience: String,
    pub rsa: SigningKey,
    pub ec: SigningKey,
}

/// Which of the issuer's keys signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestKey {
    Rsa,
    Ec,
}

impl TestIssuer {
    /// An issuer at [`ISSUER`] minting tokens for `audience`.
    pub fn new(audience: &str) -> Self {
        Self {
            issuer: ISSUER.into(),
            audience: audience.into(),
            rsa: SigningKey::rsa(RSA_KID),
            ec: SigningKey::p256(EC_KID),
        }
    }

    /// The public JWK set, as JSON text (for inline keys, a keys file or a JWKS server).
    pub fn jwks(&self) -> String {
        jwk_set(&[&self.rsa.jwk, &self.ec.jwk])
    }

    /// The public keys as a JSON array, for `keys:` written in a YAML config
    /// (JSON is YAML flow syntax).
    pub fn jwks_array(&self) -> String {
        json!([self.rsa.jwk, self.ec.jwk]).to_string()
    }

    /// Claims for `sub` with `scope`, this issuer and audience, valid for an hour.
    pub fn claims(&self, sub: &str, scope: &str) -> Value {
        let now = now();
        json!({
            "iss": self.issuer, "aud": self.audience, "sub": sub, "scope": scope,
            "iat": now, "exp": now + 3600,
        })
    }

    /// A valid RS256 token for `sub` holding the space-separated roles `scope`.
    pub fn token(&self, sub: &str, scope: &str) -> String {
        self.mint(&self.claims(sub, scope), TestKey::Rsa)
    }

    /// A token of `claims`, signed with `key` (RS256 or ES256).
    pub fn mint(&self, claims: &Value, key: TestKey) -> String {
        match key {
            TestKey::Rsa => self.rsa.sign(Algorithm::RS256, claims),
            TestKey::Ec => self.ec.sign(Algorithm::ES256, claims),
        }
    }

    /// A token of the default claims changed by `edit`.
    pub fn mint_with(&self, sub: &str, edit: impl FnOnce(&mut Value)) -> String {
        let mut claims = self.claims(sub, "");
        edit(&mut claims);
        self.mint(&claims, TestKey::Rsa)
    }

    /// Expired an hour ago (beyond any leeway).
    pub fn expired(&self, sub: &str) -> String {
        self.mint_with(sub, |c| c["exp"] = json!(now() - 3600))
    }

    /// Valid from an hour from now.
    pub fn not_yet_valid(&self, sub: &str) -> String {
        self.mint_with(sub, |c| c["nbf"] = json!(now() + 3600))
    }

    pub fn wrong_issuer(&self, sub: &str) -> String {
        self.mint_with(sub, |c| c["iss"] = json!("https://evil.example.test"))
    }

    /// Minted for another service.
    pub fn wrong_audience(&self, sub: &str) -> String {
        self.mint_with(sub, |c| c["aud"] = json!("https://other.example.test/mcp"))
    }

    /// Names the EC key but is signed by another EC key.
    pub fn bad_signature(&self, sub: &str) -> String {
        SigningKey::p256(EC_KID).sign(Algorithm::ES256, &self.claims(sub, ""))
    }

    /// Signed by a key the issuer never published, under a kid it does not use.
    pub fn unknown_kid(&self, sub: &str) -> String {
        SigningKey::p256("unknown-kid").sign(Algorithm::ES256, &self.claims(sub, ""))
    }

    /// `alg: none`, no signature.
    pub fn alg_none(&self, sub: &str) -> String {
        let header = json!({ "alg": "none", "typ": "JWT" });
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(self.claims(sub, "").to_string())
        )
    }

    /// HS256 with the RSA public key's PEM as the HMAC secret (the key-confusion attack).
    pub fn hs256_with_public_key(&self, sub: &str) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(RSA_KID.into());
        sign(
            &header,
            &self.claims(sub, ""),
            &EncodingKey::from_secret(RSA_PUBLIC_PEM.as_bytes()),
        )
    }

    /// Not a JWT at all.
    pub fn garbage() -> String {
        "not-a-jwt".into()
    }

    /// Every bad token, named, for table-driven tests.
    pub fn bad_tokens(&self, sub: &str) -> Vec<(&'static str, String)> {
        vec![
            ("expired", self.expired(sub)),
            ("not yet valid", self.not_yet_valid(sub)),
            ("wrong issuer", self.wrong_issuer(sub)),
            ("wrong audience", self.wrong_audience(sub)),
            ("bad signature", self.bad_signature(sub)),
            ("unknown kid", self.unknown_kid(sub)),
            ("alg none", self.alg_none(sub)),
            ("HS256 with the public key", self.hs256_with_public_key(sub)),
            ("garbage", Self::garbage()),
        ]
    }
}

/// The audience of the tests' guarded gateways.
pub const AUDIENCE: &str = "https://mcp.example.test/mcp";

/// A directory for one test's files (the JWK set, credential files), removed on drop.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("mcpgw-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        Self(dir)
    }

    pub fn write(&self, file: &str, contents: &str) -> String {
        let path = self.0.join(file);
        std::fs::write(&path, contents).expect("scratch file");
        path.display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A test issuer and its public JWK set, written to a file of a fresh scratch
/// directory (kept for the test's life) for the guard's `keys_file`.
pub struct Keys {
    pub issuer: TestIssuer,
    pub jwks: String,
    pub scratch: Scratch,
}

impl Keys {
    pub fn new(name: &str) -> Self {
        Self::for_audience(name, AUDIENCE)
    }

    pub fn for_audience(name: &str, audience: &str) -> Self {
        let issuer = TestIssuer::new(audience);
        let scratch = Scratch::new(name);
        let jwks = scratch.write("jwks.json", &issuer.jwks());
        Self {
            issuer,
            jwks,
            scratch,
        }
    }
}
