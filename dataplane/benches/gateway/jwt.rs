//! JWT verification: what a guarded endpoint spends per request on the
//! caller's token, `JwtGuard::verify` with inline keys, RS256 and ES256.

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use mcpgw_config::{JwtAlgorithm, JwtGuardPlan, KeySource};
use mcpgw_dataplane::guard::{JwtGuard, KeyFetcher};
use tokio::runtime::Runtime;

#[path = "../../tests/support/tokens.rs"]
#[allow(dead_code, clippy::unwrap_used, clippy::expect_used)]
mod tokens;

use tokens::{TestIssuer, TestKey};

/// Nanoseconds per verification.
#[derive(Debug)]
pub struct JwtReport {
    /// Distinct tokens checked in full, per algorithm.
    pub full_iterations: usize,
    pub rs256_ns: f64,
    pub es256_ns: f64,
    /// Verifications of a token accepted before (answered from memory).
    pub repeat_iterations: usize,
    pub repeat_ns: f64,
}

pub fn measure(rt: &Runtime, iterations: usize) -> anyhow::Result<JwtReport> {
    let issuer = TestIssuer::new("https://mcp.example.test/mcp");
    let plan = JwtGuardPlan {
        issuer: issuer.issuer.clone(),
        audiences: vec![issuer.audience.clone()],
        keys: KeySource::Inline(issuer.jwks()),
        algorithms: JwtAlgorithm::ALL.to_vec(),
        leeway: Duration::from_secs(30),
        roles_claim: "scope".into(),
        identity_claim: "sub".into(),
        refresh_interval: Duration::from_secs(300),
        trust_files: Vec::new(),
    };
    let guard = JwtGuard::new(&plan, KeyFetcher::default()).context("the guard builds")?;
    // Distinct tokens (a `jti` each), so every verification is a full check.
    let tokens = |key: TestKey, n: usize| -> Vec<String> {
        (0..n)
            .map(|i| {
                let mut claims = issuer.claims("alice", "github:tools time:read");
                claims["jti"] = serde_json::json!(format!("{key:?}-{i}"));
                issuer.mint(&claims, key)
            })
            .collect()
    };
    let full = iterations / 10;
    let per_op = |d: Duration, n: usize| d.as_secs_f64() * 1e9 / n as f64;
    rt.block_on(async {
        let mut full_ns = Vec::new();
        for key in [TestKey::Rsa, TestKey::Ec] {
            let tokens = tokens(key, full);
            let start = Instant::now();
            for token in &tokens {
                ensure!(
                    guard.verify(black_box(token)).await.is_ok(),
                    "{key:?} token refused"
                );
            }
            full_ns.push(per_op(start.elapsed(), full));
        }
        let token = issuer.token("alice", "github:tools");
        ensure!(guard.verify(&token).await.is_ok(), "token refused");
        let start = Instant::now();
        for _ in 0..iterations {
            black_box(guard.verify(black_box(&token)).await.is_ok());
        }
        Ok(JwtReport {
            full_iterations: full,
            rs256_ns: full_ns[0],
            es256_ns: full_ns[1],
            repeat_iterations: iterations,
            repeat_ns: per_op(start.elapsed(), iterations),
        })
    })
}
