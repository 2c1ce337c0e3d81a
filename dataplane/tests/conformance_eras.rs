//! The conformance differential in both protocol eras: the official suite
//! `@modelcontextprotocol/conformance@0.2.0-alpha.12` with `--requirements
//! 2026-07-28` and `--requirements 2025-11-25`, run against the dual-era
//! mcp-server-time 2026.10.19 directly and through the gateway (one
//! toolkit, names unchanged): no check that passes directly may fail
//! through the gateway.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use support::{Peer, TestGateway, config, run, workspace};

/// `PASS` and `FAIL` checks (`scenario/check`) of one run of the 0.2 suite.
async fn conformance(
    url: &str,
    name: &str,
    requirements: &str,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let out = std::env::temp_dir().join(format!(
        "mcpgw-conformance-next-{name}-{requirements}-{}.txt",
        std::process::id()
    ));
    let mut cmd = tokio::process::Command::new("bash");
    cmd.arg(workspace().join("tests/peers/conformance.sh"))
        .arg(url)
        .arg(&out)
        .args(["--requirements", requirements])
        .env("MCPGW_CONFORMANCE_SUITE", "next");
    run(cmd, Duration::from_secs(600)).await;
    let text = std::fs::read_to_string(&out).expect("summary written");
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_dir_all(out.with_extension("txt.raw"));
    let pick = |status: &str| {
        text.lines()
            .filter_map(|l| l.strip_prefix(status))
            .map(|c| c.trim().to_owned())
            .collect::<BTreeSet<_>>()
    };
    (pick("PASS "), pick("FAIL "))
}

async fn differential(requirements: &str) {
    let time = Peer::start("time-modern");
    let gw = TestGateway::start(&config(&[("time", &time.url())], true, "")).await;
    let (direct, _) = conformance(&time.url(), "direct", requirements).await;
    let (via, via_failed) = conformance(&gw.url(), "gateway", requirements).await;
    assert!(!direct.is_empty(), "the suite ran");
    let lost: Vec<_> = direct.difference(&via).collect();
    println!(
        "--requirements {requirements}: direct {} passed; through the gateway {} passed, {} failed; gained: {:?}; lost: {lost:?}",
        direct.len(),
        via.len(),
        via_failed.len(),
        via.difference(&direct).collect::<Vec<_>>()
    );
    assert!(
        lost.is_empty(),
        "checks that pass directly but fail through the gateway: {lost:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn conformance_2026_07_28_checks_that_pass_directly_pass_through_the_gateway() {
    differential("2026-07-28").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn conformance_2025_11_25_checks_that_pass_directly_pass_through_the_gateway() {
    differential("2025-11-25").await;
}
