//! What a guard with inline keys accepts and refuses, and why.

use std::collections::BTreeSet;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use mcpgw_config::{JwtAlgorithm, KeySource};
use serde_json::{Value, json};

use super::tokens::{self, ISSUER, RSA_PUBLIC_PEM, SigningKey, TestIssuer, TestKey, jwk_set, now};
use super::{AUDIENCE, inline_guard, plan};
use crate::guard::{Caller, Denied, JwtGuard, KeyFetcher, MAX_TOKEN_BYTES, Token};

fn roles(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|r| r.to_string()).collect()
}

#[tokio::test]
async fn a_valid_token_names_the_caller_and_their_roles() {
    let issuer = TestIssuer::new(AUDIENCE);
    let guard = inline_guard(&issuer.jwks());
    let token = issuer.token("alice", "github:tools  tools:read");
    let caller = guard.verify(&token).await.expect("accepted");
    assert_eq!(caller.identity, "alice");
    assert_eq!(caller.roles, roles(&["github:tools", "tools:read"]));
    assert_eq!(caller.token.expose(), token);
    assert!(caller.has_roles(&["tools:read".into()]));
    assert!(!caller.has_roles(&["tools:read".into(), "admin".into()]));
    let printed = format!("{caller:?}");
    assert!(!printed.contains(&token), "{printed}");
    assert!(printed.contains("Token(<redacted>)"), "{printed}");

    let ec = issuer.mint(&issuer.claims("bob", "a"), TestKey::Ec);
    assert_eq!(guard.verify(&ec).await.expect("accepted").identity, "bob");
}

#[tokio::test]
async fn roles_are_a_string_or_an_array_of_strings_and_nothing_else() {
    let issuer = TestIssuer::new(AUDIENCE);
    let guard = inline_guard(&issuer.jwks());
    let cases = [
        (json!(["a", "b c"]), roles(&["a", "b c"])),
        (json!("a b"), roles(&["a", "b"])),
        (json!(""), roles(&[])),
        (json!(42), roles(&[])),
        (json!({"a": true}), roles(&[])),
        (json!(["a", 1]), roles(&[])),
        (Value::Null, roles(&[])),
    ];
    for (claim, expected) in cases {
        let token = issuer.mint_with("alice", |c| c["scope"] = claim.clone());
        let caller = guard.verify(&token).await.expect("accepted");
        assert_eq!(caller.roles, expected, "scope {claim}");
    }
}

#[tokio::test]
async fn the_roles_and_identity_claims_come_from_the_plan() {
    let issuer = TestIssuer::new(AUDIENCE);
    let mut plan = plan(KeySource::Inline(issuer.jwks()));
    plan.roles_claim = "roles".into();
    plan.identity_claim = "uid".into();
    let guard = JwtGuard::new(&plan, KeyFetcher::new()).expect("guard");
    let token = issuer.mint_with("alice", |c| {
        c["uid"] = json!(1234);
        c["roles"] = json!(["admin"]);
    });
    let caller = guard.verify(&token).await.expect("accepted");
    assert_eq!(caller.identity, "1234");
    assert_eq!(caller.roles, roles(&["admin"]));

    for identity in [json!(""), json!(null), json!(["x"]), json!({"x": 1})] {
        let token = issuer.mint_with("alice", |c| c["uid"] = identity.clone());
        assert_eq!(guard.verify(&token).await, Err(Denied::MissingIdentity));
    }
    let token = issuer.token("alice", "");
    assert_eq!(guard.verify(&token).await, Err(Denied::MissingIdentity));
}

#[tokio::test]
async fn every_allowed_algorithm_verifies_with_a_key_of_its_family() {
    let rsa = SigningKey::rsa("rsa");
    let p256 = SigningKey::p256("p256");
    let p384 = SigningKey::p384("p384");
    let ed = SigningKey::ed25519("ed");
    let guard = inline_guard(&jwk_set(&[&rsa.jwk, &p256.jwk, &p384.jwk, &ed.jwk]));
    let issuer = TestIssuer::new(AUDIENCE);
    let claims = issuer.claims("alice", "x");
    let cases = [
        (&rsa, Algorithm::RS256),
        (&rsa, Algorithm::RS384),
        (&rsa, Algorithm::RS512),
        (&rsa, Algorithm::PS256),
        (&rsa, Algorithm::PS384),
        (&rsa, Algorithm::PS512),
        (&p256, Algorithm::ES256),
        (&p384, Algorithm::ES384),
        (&ed, Algorithm::EdDSA),
    ];
    for (key, alg) in cases {
        let caller = guard.verify(&key.sign(alg, &claims)).await;
        assert_eq!(caller.map(|c| c.identity), Ok("alice".into()), "{alg:?}");
    }
}

#[tokio::test]
async fn each_bad_token_is_denied_for_its_reason() {
    let issuer = TestIssuer::new(AUDIENCE);
    let guard = inline_guard(&issuer.jwks());
    let expected = [
        ("expired", Denied::Expired),
        ("not yet valid", Denied::NotYetValid),
        ("wrong issuer", Denied::WrongIssuer),
        ("wrong audience", Denied::WrongAudience),
        ("bad signature", Denied::BadSignature),
        ("unknown kid", Denied::UnknownKey),
        ("alg none", Denied::AlgorithmNotAllowed),
        ("HS256 with the public key", Denied::AlgorithmNotAllowed),
        ("garbage", Denied::Malformed),
    ];
    let bad = issuer.bad_tokens("alice");
    assert_eq!(bad.len(), expected.len());
    for ((name, token), (expected_name, denied)) in bad.iter().zip(expected) {
        assert_eq!(*name, expected_name);
        assert_eq!(guard.verify(token).await, Err(denied), "{name}");
    }
}

#[tokio::test]
async fn the_hs256_confusion_token_is_refused_though_it_verifies_as_hmac() {
    let issuer = TestIssuer::new(AUDIENCE);
    let token = issuer.hs256_with_public_key("alice");
    // The attack is real: with the public PEM as an HMAC secret the token verifies.
    let mut hmac = Validation::new(Algorithm::HS256);
    hmac.set_audience(&[AUDIENCE]);
    jsonwebtoken::decode::<Value>(
        &token,
        &DecodingKey::from_secret(RSA_PUBLIC_PEM.as_bytes()),
        &hmac,
    )
    .expect("the confusion token is a valid HS256 token");
    let guard = inline_guard(&issuer.jwks());
    assert_eq!(guard.verify(&token).await, Err(Denied::AlgorithmNotAllowed));
}

#[tokio::test]
async fn audiences_match_as_a_string_or_any_array_element() {
    let issuer = TestIssuer::new(AUDIENCE);
    let mut plan = plan(KeySource::Inline(issuer.jwks()));
    plan.audiences = vec!["https://first.example.test".into(), AUDIENCE.into()];
    let guard = JwtGuard::new(&plan, KeyFetcher::new()).expect("guard");
    let cases = [
        (json!(AUDIENCE), Ok(())),
        (json!("https://first.example.test"), Ok(())),
        (json!(["https://other.example.test", AUDIENCE]), Ok(())),
        (
            json!(["https://other.example.test"]),
            Err(Denied::WrongAudience),
        ),
        (json!([]), Err(Denied::WrongAudience)),
        (
            json!("https://mcp.example.test"),
            Err(Denied::WrongAudience),
        ),
        (json!(7), Err(Denied::WrongAudience)),
        (Value::Null, Err(Denied::WrongAudience)),
    ];
    for (aud, expected) in cases {
        let token = issuer.mint_with("alice", |c| c["aud"] = aud.clone());
        assert_eq!(
            guard.verify(&token).await.map(|_| ()),
            expected,
            "aud {aud}"
        );
    }
    let token = issuer.mint_with("alice", |c| {
        c.as_object_mut().expect("object").remove("aud");
    });
    assert_eq!(guard.verify(&token).await, Err(Denied::WrongAudience));
}

#[tokio::test]
async fn the_issuer_must_be_exactly_the_configured_string() {
    let issuer = TestIssuer::new(AUDIENCE);
    let guard = inline_guard(&issuer.jwks());
    for iss in [
        json!([ISSUER]),
        json!(format!("{ISSUER}/")),
        json!(ISSUER.to_uppercase()),
        Value::Null,
    ] {
        let token = issuer.mint_with("alice", |c| c["iss"] = iss.clone());
        assert_eq!(
            guard.verify(&token).await,
            Err(Denied::WrongIssuer),
            "iss {iss}"
        );
    }
    let token = issuer.mint_with("alice", |c| {
        c.as_object_mut().expect("object").remove("iss");
    });
    assert_eq!(guard.verify(&token).await, Err(Denied::WrongIssuer));
}

#[tokio::test]
async fn exp_is_required_and_must_be_a_number() {
    let issuer = TestIssuer::new(AUDIENCE);
    let guard = inline_guard(&issuer.jwks());
    let token = issuer.mint_with("alice", |c| {
        c.as_object_mut().expect("object").remove("exp");
    });
    assert_eq!(guard.verify(&token).await, Err(Denied::MissingExpiry));
    let token = issuer.mint_with("alice", |c| c["exp"] = json!("tomorrow"));
    assert!(guard.verify(&token).await.is_err());
}

#[tokio::test]
async fn leeway_is_honoured_on_exp_and_nbf() {
    let issuer = TestIssuer::new(AUDIENCE);
    let lenient = inline_guard(&issuer.jwks());
    let mut strict = plan(KeySource::Inline(issuer.jwks()));
    strict.leeway = Duration::ZERO;
    let strict = JwtGuard::new(&strict, KeyFetcher::new()).expect("guard");

    let just_expired = issuer.mint_with("alice", |c| c["exp"] = json!(now() - 10));
    assert!(lenient.verify(&just_expired).await.is_ok());
    assert_eq!(strict.verify(&just_expired).await, Err(Denied::Expired));

    let nearly_valid = issuer.mint_with("alice", |c| c["nbf"] = json!(now() + 10));
    assert!(lenient.verify(&nearly_valid).await.is_ok());
    assert_eq!(strict.verify(&nearly_valid).await, Err(Denied::NotYetValid));

    let long_expired = issuer.mint_with("alice", |c| c["exp"] = json!(now() - 60));
    assert_eq!(lenient.verify(&long_expired).await, Err(Denied::Expired));
}

#[tokio::test]
async fn malformed_tokens_are_malformed() {
    let issuer = TestIssuer::new(AUDIENCE);
    let guard = inline_guard(&issuer.jwks());
    let valid = issuer.token("alice", "");
    let segments: Vec<&str> = valid.split('.').collect();
    let header = json!({"alg": "RS256", "kid": tokens::RSA_KID});
    let mut cases = vec![
        String::new(),
        ".".into(),
        "..".into(),
        format!("{}.{}", segments[0], segments[1]),
        format!("{valid}.{}", segments[2]),
        format!("!!!.{}.{}", segments[1], segments[2]),
        tokens::hand_built(&json!("RS256"), &json!({}), b"x"),
        tokens::hand_built(&json!({"kid": "x"}), &json!({}), b"x"),
        tokens::hand_built(&json!({"alg": 256}), &json!({}), b"x"),
        tokens::hand_built(&json!({"alg": "RS256", "kid": 1}), &json!({}), b"x"),
        // A header with `crit` names extensions the guard does not understand.
        tokens::hand_built(
            &json!({"alg": "RS256", "kid": tokens::RSA_KID, "crit": ["exp"], "exp": 1}),
            &issuer.claims("alice", ""),
            b"x",
        ),
        format!("{}.{}.{}!", segments[0], segments[1], segments[2]),
        "a".repeat(MAX_TOKEN_BYTES + 1),
    ];
    // Correctly signed, but the payload is not a JSON object.
    for payload in ["not json", "[1,2]", "\"claims\""] {
        let message = format!("{}.{}", b64(&header.to_string()), b64(payload));
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &issuer.rsa.key, Algorithm::RS256)
                .expect("signs");
        cases.push(format!("{message}.{signature}"));
    }
    for token in cases {
        let shown: String = token.chars().take(80).collect();
        assert_eq!(
            guard.verify(&token).await,
            Err(Denied::Malformed),
            "{shown}"
        );
    }
}

fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn an_algorithm_outside_the_allow_list_is_refused() {
    let issuer = TestIssuer::new(AUDIENCE);
    let mut plan = plan(KeySource::Inline(issuer.jwks()));
    plan.algorithms = vec![JwtAlgorithm::ES256];
    let guard = JwtGuard::new(&plan, KeyFetcher::new()).expect("guard");
    assert_eq!(
        guard.verify(&issuer.token("alice", "")).await,
        Err(Denied::AlgorithmNotAllowed)
    );
    let ec = issuer.mint(&issuer.claims("alice", ""), TestKey::Ec);
    assert!(guard.verify(&ec).await.is_ok());
    for alg in ["none", "None", "HS256", "HS512", "ES512", "RSA-OAEP", ""] {
        let token = tokens::hand_built(
            &json!({"alg": alg, "kid": tokens::EC_KID}),
            &issuer.claims("alice", ""),
            b"sig",
        );
        assert_eq!(
            guard.verify(&token).await,
            Err(Denied::AlgorithmNotAllowed),
            "{alg}"
        );
    }
}

#[tokio::test]
async fn a_key_of_another_family_or_curve_does_not_verify() {
    let issuer = TestIssuer::new(AUDIENCE);
    let p384 = SigningKey::p384("p384");
    let guard = inline_guard(&jwk_set(&[&issuer.rsa.jwk, &issuer.ec.jwk, &p384.jwk]));
    let claims = issuer.claims("alice", "");
    let signed_as = |alg: Algorithm, kid: &str, key: &EncodingKey| {
        let mut header = Header::new(alg);
        header.kid = Some(kid.into());
        tokens::sign(&header, &claims, key)
    };
    let cases = [
        // An EC signature presented under the RSA key's kid, and the reverse.
        signed_as(Algorithm::ES256, tokens::RSA_KID, &issuer.ec.key),
        signed_as(Algorithm::RS256, tokens::EC_KID, &issuer.rsa.key),
        // ES384 needs P-384; ES256 needs P-256.
        signed_as(Algorithm::ES384, tokens::EC_KID, &p384.key),
        signed_as(Algorithm::ES256, "p384", &issuer.ec.key),
        signed_as(
            Algorithm::EdDSA,
            tokens::RSA_KID,
            &SigningKey::ed25519("x").key,
        ),
    ];
    for token in cases {
        assert_eq!(guard.verify(&token).await, Err(Denied::KeyMismatch));
    }
}

#[tokio::test]
async fn a_jwk_with_its_own_alg_verifies_that_alg_only() {
    let issuer = TestIssuer::new(AUDIENCE);
    let mut jwk = issuer.rsa.jwk.clone();
    jwk["alg"] = json!("RS384");
    let guard = inline_guard(&jwk_set(&[&jwk]));
    let claims = issuer.claims("alice", "");
    assert_eq!(
        guard
            .verify(&issuer.rsa.sign(Algorithm::RS256, &claims))
            .await,
        Err(Denied::KeyMismatch)
    );
    assert!(
        guard
            .verify(&issuer.rsa.sign(Algorithm::RS384, &claims))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn keys_not_for_signatures_are_ignored() {
    let issuer = TestIssuer::new(AUDIENCE);
    let mut enc = issuer.rsa.jwk.clone();
    enc["use"] = json!("enc");
    let mut wrap = issuer.rsa.jwk.clone();
    wrap["key_ops"] = json!(["wrapKey"]);
    for ignored in [enc, wrap] {
        let guard = inline_guard(&jwk_set(&[&ignored, &issuer.ec.jwk]));
        assert_eq!(
            guard.verify(&issuer.token("alice", "")).await,
            Err(Denied::UnknownKey),
            "{ignored}"
        );
    }
}

#[tokio::test]
async fn a_token_without_kid_is_tried_against_the_keys_of_its_family() {
    let issuer = TestIssuer::new(AUDIENCE);
    let other = SigningKey::p256("other");
    let guard = inline_guard(&jwk_set(&[&other.jwk, &issuer.rsa.jwk, &issuer.ec.jwk]));
    let claims = issuer.claims("alice", "");
    let header = Header::new(Algorithm::ES256);
    let token = tokens::sign(&header, &claims, &issuer.ec.key);
    assert_eq!(
        guard.verify(&token).await.map(|c| c.identity),
        Ok("alice".into())
    );
    let stranger = tokens::sign(&header, &claims, &SigningKey::p256("x").key);
    assert_eq!(guard.verify(&stranger).await, Err(Denied::BadSignature));
    let no_ed_key = tokens::sign(
        &Header::new(Algorithm::EdDSA),
        &claims,
        &SigningKey::ed25519("x").key,
    );
    assert_eq!(guard.verify(&no_ed_key).await, Err(Denied::UnknownKey));
}

#[tokio::test]
async fn a_tampered_payload_breaks_the_signature() {
    let issuer = TestIssuer::new(AUDIENCE);
    let guard = inline_guard(&issuer.jwks());
    let token = issuer.token("alice", "user");
    let segments: Vec<&str> = token.split('.').collect();
    let forged = b64(&issuer.claims("alice", "admin").to_string());
    let tampered = format!("{}.{forged}.{}", segments[0], segments[2]);
    assert_eq!(guard.verify(&tampered).await, Err(Denied::BadSignature));
}

#[test]
fn nothing_secret_is_printed() {
    let issuer = TestIssuer::new(AUDIENCE);
    let guard = inline_guard(&issuer.jwks());
    let printed = format!("{guard:?}");
    let modulus = issuer.rsa.jwk["n"].as_str().expect("n");
    assert!(!printed.contains(&modulus[..16]), "{printed}");
    assert!(printed.contains(ISSUER), "{printed}");
    assert_eq!(format!("{:?}", Token::new("secret")), "Token(<redacted>)");
    let caller = Caller {
        identity: "alice".into(),
        roles: BTreeSet::new(),
        token: Token::new("secret-token"),
    };
    assert!(!format!("{caller:?}").contains("secret-token"));
    // Each reason fits in a quoted-string of `WWW-Authenticate` as it is.
    let all = [
        Denied::Malformed,
        Denied::BadSignature,
        Denied::Expired,
        Denied::NotYetValid,
        Denied::MissingExpiry,
        Denied::WrongIssuer,
        Denied::WrongAudience,
        Denied::UnknownKey,
        Denied::AlgorithmNotAllowed,
        Denied::KeyMismatch,
        Denied::MissingIdentity,
        Denied::KeysUnavailable,
    ];
    for denied in all {
        let reason = denied.to_string();
        assert!(reason.len() < 60, "{reason}");
        let quotable = |c: char| c == ' ' || (c.is_ascii_graphic() && c != '"' && c != '\\');
        assert!(reason.chars().all(quotable), "{reason}");
    }
}
