//! The official Rust SDK's client (rmcp 3.11, a second real client beside the
//! Python SDK) through one gateway in front of a 2025-era toolkit (the
//! everything server) and a dual-era one (the 2026.10.19 time server): in
//! `discover` and `auto` mode it speaks 2026-07-28 to the gateway without a
//! session; in `initialize` mode, the 2025 handshake. Every mode lists both
//! toolkits' tools and calls one of each.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::Value;
use support::modern::two_eras;
use support::{rmcp_probe, run};

/// The probe's output lines, by step.
fn steps(out: &str) -> Vec<Value> {
    out.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}\n{out}")))
        .collect()
}

#[tokio::test]
async fn rmcp_lists_and_calls_both_eras_toolkits_in_each_of_its_modes() {
    let eras = two_eras().await;
    for (mode, version) in [
        ("discover", "2026-07-28"),
        ("auto", "2026-07-28"),
        ("initialize", "2025-11-25"),
    ] {
        for (tool, arguments, expect) in [
            (
                "everything__echo",
                r#"{"message":"from rmcp"}"#,
                "Echo: from rmcp",
            ),
            (
                "time__get_current_time",
                r#"{"timezone":"Asia/Tokyo"}"#,
                "Asia/Tokyo",
            ),
        ] {
            let mut cmd = rmcp_probe(&eras.gw.url(), mode);
            cmd.args([tool, arguments]);
            let out = run(cmd, Duration::from_secs(60)).await;
            let steps = steps(&out);
            assert_eq!(steps.len(), 3, "{mode}: {out}");
            assert_eq!(
                steps[0]["peer"]["protocolVersion"], version,
                "{mode}: {out}"
            );
            let names = steps[1]["names"].to_string();
            assert!(
                names.contains("everything__echo") && names.contains("time__get_current_time"),
                "{mode}: {names}"
            );
            let result = &steps[2]["result"];
            assert_ne!(result["isError"], true, "{mode} {tool}: {result}");
            assert!(
                result["content"].to_string().contains(expect),
                "{mode} {tool}: {result}"
            );
        }
    }
}
