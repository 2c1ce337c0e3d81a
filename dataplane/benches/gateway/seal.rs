//! Session sealing: `Sealer::seal` and `Sealer::open` on a realistic state.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use anyhow::ensure;
use mcpgw_dataplane::session::{SealedState, SealedUpstream, Sealer};
use serde_json::json;

/// Nanoseconds per operation.
#[derive(Debug)]
pub struct SealReport {
    pub iterations: usize,
    pub token_len: usize,
    pub seal_ns: f64,
    pub open_ns: f64,
}

/// A session of a typical client with two toolkits open.
fn state() -> SealedState {
    SealedState {
        protocol_version: "2025-11-25".into(),
        capabilities: json!({
            "elicitation": {"form": {}, "url": {}},
            "sampling": {},
            "roots": {"listChanged": true},
        }),
        client_info: json!({"name": "claude-code", "title": "Claude Code", "version": "2.0.14"}),
        upstreams: BTreeMap::from([
            (
                "everything".to_owned(),
                SealedUpstream {
                    session_id: Some("4a0f3e2c-7b1d-4c55-9f0e-1f2a3b4c5d6e".into()),
                    protocol_version: "2025-11-25".into(),
                    capabilities: json!({
                        "tools": {"listChanged": true},
                        "prompts": {"listChanged": true},
                        "resources": {"subscribe": true, "listChanged": true},
                        "logging": {},
                        "completions": {},
                    }),
                },
            ),
            (
                "time".to_owned(),
                SealedUpstream {
                    session_id: Some("9c3d1f0a8b7e46d2a5c4e3f2d1b0a998".into()),
                    protocol_version: "2025-06-18".into(),
                    capabilities: json!({"tools": {"listChanged": false}}),
                },
            ),
        ]),
        owner: Some("user-8c1f0a".into()),
        nonce: 0x5eed_1234_abcd_9876,
    }
}

/// Time `iterations` seals, then `iterations` opens of the tokens produced.
pub fn measure(iterations: usize) -> anyhow::Result<SealReport> {
    let sealer = Sealer::new(&[0x42; 32]);
    let state = state();
    let token = sealer.seal(&state);
    ensure!(
        sealer.open(&token).as_ref() == Some(&state),
        "a sealed state does not open to itself"
    );
    // Warm-up.
    for _ in 0..iterations / 10 {
        black_box(sealer.open(&sealer.seal(black_box(&state))));
    }
    let mut tokens = Vec::with_capacity(iterations);
    let start = Instant::now();
    for _ in 0..iterations {
        tokens.push(sealer.seal(black_box(&state)));
    }
    let seal = start.elapsed();
    let start = Instant::now();
    for token in &tokens {
        black_box(sealer.open(black_box(token)));
    }
    let open = start.elapsed();
    let per_op = |d: std::time::Duration| d.as_secs_f64() * 1e9 / iterations as f64;
    Ok(SealReport {
        iterations,
        token_len: token.len(),
        seal_ns: per_op(seal),
        open_ns: per_op(open),
    })
}
