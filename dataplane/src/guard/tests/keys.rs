//! Which JWK sets a guard takes, and which keys in them it uses.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mcpgw_config::KeySource;
use serde_json::{Value, json};

use super::tokens::{SigningKey, TestIssuer, jwk_set};
use super::{AUDIENCE, plan};
use crate::guard::keys::{KeySet, Strictness};
use crate::guard::{Denied, GuardError, JwtGuard, KeyFetcher, MAX_KEYS};

fn strict(keys: &[&Value]) -> Result<KeySet, String> {
    KeySet::parse(jwk_set(keys).as_bytes(), Strictness::Strict).map_err(|e| e.to_string())
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn unusable_inline_keys_are_errors_that_name_the_key() {
    let rsa = SigningKey::rsa("rsa").jwk;
    let ec = SigningKey::p256("ec").jwk;
    let ed = SigningKey::ed25519("ed").jwk;
    let with = |base: &Value, edit: &dyn Fn(&mut Value)| {
        let mut key = base.clone();
        edit(&mut key);
        key
    };
    let mut small_modulus = vec![0xffu8; 128];
    small_modulus[127] |= 1;
    let cases = [
        (json!({"kty": "oct", "k": b64(b"secret")}), "symmetric"),
        (with(&ec, &|k| k["crv"] = json!("P-521")), "P-256 or P-384"),
        (
            with(&rsa, &|k| k["n"] = json!(b64(&small_modulus))),
            "2048 to 4096",
        ),
        (with(&rsa, &|k| k["e"] = json!(b64(&[2]))), "exponent"),
        (with(&rsa, &|k| k["n"] = json!("***")), "base64url"),
        (with(&ec, &|k| k["x"] = json!(b64(&[7; 32]))), "valid point"),
        (with(&ec, &|k| k["crv"] = json!("P-384")), "valid point"),
        (with(&ed, &|k| k["x"] = json!(b64(&[1; 31]))), "32 bytes"),
        (with(&ed, &|k| k["x"] = json!(b64(&[1; 33]))), "32 bytes"),
        (with(&rsa, &|k| k["alg"] = json!("ES256")), "does not fit"),
        (with(&ec, &|k| k["alg"] = json!("ES384")), "does not fit"),
        (
            with(&rsa, &|k| k["alg"] = json!("HS256")),
            "not an asymmetric",
        ),
        (
            with(&rsa, &|k| k["alg"] = json!("RSA-OAEP")),
            "not an asymmetric",
        ),
        (json!({"kty": "RSA", "e": "AQAB"}), "not an RSA, EC or OKP"),
        (
            json!({"kty": "OKP", "crv": "X25519", "x": b64(&[1; 32])}),
            "not an RSA, EC or OKP",
        ),
    ];
    for (bad, reason) in cases {
        let error = strict(&[&rsa, &bad]).expect_err("refused");
        assert!(error.starts_with("keys[1]: "), "{error}");
        assert!(error.contains(reason), "{bad}: {error}");
    }
}

#[test]
fn a_set_must_be_a_keys_array_of_at_most_the_maximum() {
    for text in ["", "[]", "{}", "{\"keys\": 5}", "{\"keys\": [], "] {
        let error = KeySet::parse(text.as_bytes(), Strictness::Strict).expect_err("refused");
        assert!(
            error.to_string().starts_with("not a JWK set"),
            "{text}: {error}"
        );
    }
    let key = SigningKey::p256("ec").jwk;
    let many: Vec<&Value> = std::iter::repeat_n(&key, MAX_KEYS + 1).collect();
    assert_eq!(strict(&many).expect_err("refused"), "more than 100 keys");
    let most: Vec<&Value> = std::iter::repeat_n(&key, MAX_KEYS).collect();
    assert_eq!(strict(&most).expect("accepted").len(), MAX_KEYS);
    assert_eq!(strict(&[]).expect_err("refused"), "no usable signature key");
    let mut enc = key.clone();
    enc["use"] = json!("enc");
    assert_eq!(
        strict(&[&enc]).expect_err("refused"),
        "no usable signature key"
    );
}

#[test]
fn a_fetched_set_skips_the_keys_it_cannot_use() {
    let good = SigningKey::p256("good").jwk;
    let oct = json!({"kty": "oct", "k": b64(b"secret"), "kid": "oct"});
    let mut short_ed = SigningKey::ed25519("ed").jwk;
    short_ed["x"] = json!(b64(&[1; 16]));
    let text = jwk_set(&[&oct, &short_ed, &good]);
    let set = KeySet::parse(text.as_bytes(), Strictness::Lenient).expect("lenient");
    assert_eq!(set.len(), 1);
    assert_eq!(set.named("good").count(), 1);
    let none = jwk_set(&[&oct, &short_ed]);
    assert!(KeySet::parse(none.as_bytes(), Strictness::Lenient).is_err());
}

#[tokio::test]
async fn a_short_ed25519_key_never_reaches_verification() {
    // jsonwebtoken would panic slicing a key shorter than 32 bytes.
    let ed = SigningKey::ed25519("ed");
    let mut short = ed.jwk.clone();
    short["x"] = json!(b64(&[1; 16]));
    let guard = JwtGuard::new(
        &plan(KeySource::Inline(jwk_set(&[&short]))),
        KeyFetcher::new(),
    );
    assert!(matches!(guard, Err(GuardError::Keys(_))));
    let rsa = SigningKey::rsa("rsa");
    let lenient = KeySet::parse(jwk_set(&[&short, &rsa.jwk]).as_bytes(), Strictness::Lenient);
    assert_eq!(lenient.expect("rsa key kept").len(), 1);
    let issuer = TestIssuer::new(AUDIENCE);
    let guard = super::inline_guard(&jwk_set(&[&rsa.jwk]));
    let token = ed.sign(jsonwebtoken::Algorithm::EdDSA, &issuer.claims("alice", ""));
    assert_eq!(guard.verify(&token).await, Err(Denied::UnknownKey));
}

#[test]
fn a_plan_needs_algorithms_audiences_and_a_url() {
    let issuer = TestIssuer::new(AUDIENCE);
    let mut no_algorithms = plan(KeySource::Inline(issuer.jwks()));
    no_algorithms.algorithms.clear();
    assert_eq!(
        JwtGuard::new(&no_algorithms, KeyFetcher::new())
            .expect_err("refused")
            .to_string(),
        "algorithms: at least one is required"
    );
    let mut no_audience = plan(KeySource::Inline(issuer.jwks()));
    no_audience.audiences.clear();
    assert!(matches!(
        JwtGuard::new(&no_audience, KeyFetcher::new()),
        Err(GuardError::NoAudience)
    ));
    let bad_inline = plan(KeySource::Inline(
        "{\"keys\": [{\"kty\": \"oct\", \"k\": \"c2VjcmV0\"}]}".into(),
    ));
    let error = JwtGuard::new(&bad_inline, KeyFetcher::new()).expect_err("refused");
    assert!(
        error.to_string().starts_with("keys: keys[0]: symmetric"),
        "{error}"
    );
    assert!(!error.to_string().contains("c2VjcmV0"));
}
