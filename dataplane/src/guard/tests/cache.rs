//! Keys from a URL or a file: loaded once, refreshed on schedule, never per
//! request, kept when a refresh fails.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use jsonwebtoken::{Algorithm, Header};
use mcpgw_config::KeySource;

use super::tokens::{self, SigningKey, TestIssuer, jwk_set};
use super::{AUDIENCE, JwksServer, plan};
use crate::guard::{Denied, JwtGuard, KeyFetcher, MAX_JWKS_BYTES};

fn url_guard(server: &JwksServer) -> JwtGuard {
    JwtGuard::new(&plan(KeySource::Url(server.url())), KeyFetcher::new()).expect("guard")
}

#[tokio::test]
async fn url_keys_are_fetched_once_and_reused() {
    let issuer = TestIssuer::new(AUDIENCE);
    let server = JwksServer::start(&issuer.jwks());
    let guard = url_guard(&server);
    assert_eq!(server.hits(), 0, "keys load lazily");
    for _ in 0..5 {
        assert!(guard.verify(&issuer.token("alice", "")).await.is_ok());
    }
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn concurrent_first_verifies_wait_for_one_fetch() {
    let issuer = TestIssuer::new(AUDIENCE);
    let mut server = JwksServer::start(&issuer.jwks());
    server.hold(true);
    let guard = std::sync::Arc::new(url_guard(&server));
    let token = issuer.token("alice", "");
    let verifies: Vec<_> = (0..20)
        .map(|_| {
            let (guard, token) = (guard.clone(), token.clone());
            tokio::spawn(async move { guard.verify(&token).await })
        })
        .collect();
    // On this single-threaded runtime every verify has run up to its wait by
    // the time the fetch they share reaches the server.
    server.arrival().await;
    server.hold(false);
    for verify in verifies {
        assert!(verify.await.expect("joins").is_ok());
    }
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_refreshes_at_most_once_per_interval() {
    let issuer = TestIssuer::new(AUDIENCE);
    let server = JwksServer::start(&issuer.jwks());
    let guard = std::sync::Arc::new(url_guard(&server));
    assert!(guard.verify(&issuer.token("alice", "")).await.is_ok());
    assert_eq!(server.hits(), 1);
    let claims = issuer.claims("alice", "");
    let stranger = SigningKey::p256("stranger");
    let mut floods = Vec::new();
    for i in 0..50 {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(format!("random-{i}"));
        let token = tokens::sign(&header, &claims, &stranger.key);
        let guard = guard.clone();
        floods.push(tokio::spawn(async move { guard.verify(&token).await }));
    }
    for flood in floods {
        assert_eq!(flood.await.expect("joins"), Err(Denied::UnknownKey));
    }
    assert_eq!(server.hits(), 2, "one refresh for the whole flood");
    let token = stranger.sign(Algorithm::ES256, &claims);
    assert_eq!(guard.verify(&token).await, Err(Denied::UnknownKey));
    assert_eq!(server.hits(), 2);

    guard.expire_all();
    assert_eq!(guard.verify(&token).await, Err(Denied::UnknownKey));
    assert_eq!(
        server.hits(),
        4,
        "a new interval: the schedule, then the unknown kid"
    );
}

#[tokio::test]
async fn a_rotated_in_key_is_found_by_one_refresh() {
    let issuer = TestIssuer::new(AUDIENCE);
    let server = JwksServer::start(&issuer.jwks());
    let guard = url_guard(&server);
    assert!(guard.verify(&issuer.token("alice", "")).await.is_ok());
    let next = SigningKey::p256("next");
    server.reply(200, &jwk_set(&[&issuer.rsa.jwk, &next.jwk]));
    let token = next.sign(Algorithm::ES256, &issuer.claims("bob", ""));
    assert_eq!(
        guard.verify(&token).await.map(|c| c.identity),
        Ok("bob".into())
    );
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn stale_keys_are_refreshed_by_the_next_verify() {
    let issuer = TestIssuer::new(AUDIENCE);
    let server = JwksServer::start(&issuer.jwks());
    let guard = url_guard(&server);
    let token = issuer.token("alice", "");
    assert!(guard.verify(&token).await.is_ok());
    // The RSA key is withdrawn (revoked); once the keys are due, it stops verifying.
    server.reply(200, &jwk_set(&[&issuer.ec.jwk]));
    assert!(guard.verify(&token).await.is_ok(), "not due yet");
    guard.expire_all();
    assert_eq!(guard.verify(&token).await, Err(Denied::UnknownKey));
    assert_eq!(
        server.hits(),
        3,
        "the scheduled refresh, then one for the unknown kid"
    );
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_previous_keys_until_the_next_interval() {
    let issuer = TestIssuer::new(AUDIENCE);
    let server = JwksServer::start(&issuer.jwks());
    let guard = url_guard(&server);
    let token = issuer.token("alice", "");
    assert!(guard.verify(&token).await.is_ok());
    for (status, body) in [(500, "oops"), (200, "{\"keys\": \"garbage\"}")] {
        server.reply(status, body);
        let before = server.hits();
        guard.expire_all();
        assert!(
            guard.verify(&token).await.is_ok(),
            "stale keys after HTTP {status}"
        );
        guard.cache().settle().await;
        assert!(guard.verify(&token).await.is_ok());
        assert_eq!(
            server.hits(),
            before + 1,
            "no retry before the next interval"
        );
    }
}

#[tokio::test]
async fn keys_that_never_loaded_are_unavailable_and_not_fetched_per_request() {
    let issuer = TestIssuer::new(AUDIENCE);
    let server = JwksServer::start("");
    server.reply(503, "");
    let guard = url_guard(&server);
    for _ in 0..5 {
        assert_eq!(
            guard.verify(&issuer.token("alice", "")).await,
            Err(Denied::KeysUnavailable)
        );
    }
    assert_eq!(server.hits(), 1);
    // Bad tokens are refused before any key is needed.
    assert_eq!(
        guard.verify(&issuer.alg_none("alice")).await,
        Err(Denied::AlgorithmNotAllowed)
    );
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn an_oversized_key_set_is_refused() {
    let issuer = TestIssuer::new(AUDIENCE);
    let server = JwksServer::start(&" ".repeat(MAX_JWKS_BYTES + 1));
    let guard = url_guard(&server);
    assert_eq!(
        guard.verify(&issuer.token("alice", "")).await,
        Err(Denied::KeysUnavailable)
    );
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let issuer = TestIssuer::new(AUDIENCE);
    // Connections are queued by the kernel but never answered.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/jwks", listener.local_addr().expect("addr"));
    let fetcher = KeyFetcher::with_timeout(Duration::from_millis(200));
    let guard =
        JwtGuard::new(&plan(KeySource::Url(url.parse().expect("URL"))), fetcher).expect("guard");
    let token = issuer.token("alice", "");
    let verify = guard.verify(&token);
    let outcome = tokio::time::timeout(Duration::from_secs(5), verify)
        .await
        .expect("the fetch is bounded");
    assert_eq!(outcome, Err(Denied::KeysUnavailable));
}

#[tokio::test]
async fn an_https_url_that_does_not_speak_tls_fails_cleanly() {
    let issuer = TestIssuer::new(AUDIENCE);
    // A server that answers in plain HTTP at once, whatever it is sent.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let url = format!("https://{addr}/jwks.json");
    let plain = std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let guard = JwtGuard::new(
        &plan(KeySource::Url(url.parse().expect("URL"))),
        KeyFetcher::new(),
    )
    .expect("guard");
    assert_eq!(
        guard.verify(&issuer.token("alice", "")).await,
        Err(Denied::KeysUnavailable)
    );
    // Unblock the accept if the fetch never connected (no system roots), then reap.
    let _ = std::net::TcpStream::connect(addr);
    plain.join().expect("server thread");
}

/// A file under the system's temp dir, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> Self {
        let path = std::env::temp_dir().join(format!("mcpgw-guard-{}-{name}", std::process::id()));
        std::fs::write(&path, text).expect("write");
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test]
async fn a_keys_file_is_reread_when_due() {
    let issuer = TestIssuer::new(AUDIENCE);
    let file = TempFile::new("reread.json", &issuer.jwks());
    let keys = KeySource::File(file.0.to_string_lossy().into_owned());
    let guard = JwtGuard::new(&plan(keys), KeyFetcher::new()).expect("guard");
    let old = issuer.token("alice", "");
    assert!(guard.verify(&old).await.is_ok());
    let next = SigningKey::p256("next");
    std::fs::write(&file.0, jwk_set(&[&next.jwk])).expect("rewrite");
    assert!(guard.verify(&old).await.is_ok(), "not due yet");
    guard.expire_all();
    assert_eq!(guard.verify(&old).await, Err(Denied::UnknownKey));
    // The scheduled re-read, then one more for the kid it no longer holds.
    assert_eq!(guard.cache().attempts(), 3);
    let new = next.sign(Algorithm::ES256, &issuer.claims("bob", ""));
    assert!(guard.verify(&new).await.is_ok());
    assert_eq!(guard.cache().attempts(), 3);
}

#[tokio::test]
async fn a_missing_keys_file_leaves_the_keys_unavailable() {
    let issuer = TestIssuer::new(AUDIENCE);
    let keys = KeySource::File("/nonexistent/mcpgw/jwks.json".into());
    let guard = JwtGuard::new(&plan(keys), KeyFetcher::new()).expect("guard");
    assert_eq!(
        guard.verify(&issuer.token("alice", "")).await,
        Err(Denied::KeysUnavailable)
    );
}

#[tokio::test]
async fn warming_loads_the_keys_before_the_first_caller() {
    let issuer = TestIssuer::new(AUDIENCE);
    let server = JwksServer::start(&issuer.jwks());
    let guard = url_guard(&server);
    guard.warm();
    // Let the warming task start its fetch, then wait for that fetch.
    tokio::task::yield_now().await;
    guard.cache().settle().await;
    assert_eq!(server.hits(), 1);
    assert!(guard.verify(&issuer.token("alice", "")).await.is_ok());
    assert_eq!(server.hits(), 1);
}
