//! The conformance differential in both protocol eras: the official suite
//! `@modelcontextprotocol/conformance@0.2.0-alpha.12` with `--requirements
//! 2026-07-28` and `--requirements 2025-11-25`, run against the dual-era
//! mcp-server-time 2026.10.19 directly and through the gateway (one
//! toolkit, names unchanged): no check that passes directly may fail
//! through the gateway.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::conformance::{Suite, differential};
use support::{Peer, TestGateway, config};

/// The dual-era time server directly and through a gateway, under `requirements`.
async fn both_ways(requirements: &str) {
    let time = Peer::start("time-modern");
    let gw = TestGateway::start(&config(&[("time", &time.url())], true, "")).await;
    differential(&time.url(), &gw.url(), Suite::Next { requirements }).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn conformance_2026_07_28_checks_that_pass_directly_pass_through_the_gateway() {
    both_ways("2026-07-28").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn conformance_2025_11_25_checks_that_pass_directly_pass_through_the_gateway() {
    both_ways("2025-11-25").await;
}
