//! Requests for the client's input across the eras, against the project's
//! own MRTR peer (`tests/peers/mrtr_server.py`, mcp 2.3.0: tool `greet` asks
//! the client's name) and the real Python SDK client: a 2026-07-28 client
//! and a 2026-07-28 toolkit exchange `input_required` through the gateway
//! unchanged; a 2025 client reaches the toolkit's multi round-trip request as
//! an ordinary `elicitation/create`, whether the toolkit is dual-era (it asks
//! that client in the 2025 era itself) or speaks only 2026-07-28 (the
//! gateway bridges).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::modern::{py_call, two_eras};
use support::{Peer, TestGateway, config, py_client, run};

/// The Python SDK client in `mode` calls `mrtr__greet` through a gateway in
/// front of the MRTR peer (`modern_only`: it refuses all but 2026-07-28).
async fn greet_through_the_gateway(mode: &str, modern_only: bool) -> Value {
    let env: &[(&str, &str)] = if modern_only {
        &[("MRTR_MODERN_ONLY", "1")]
    } else {
        &[]
    };
    let peer = Peer::start_with("mrtr", 0, env);
    let gw = TestGateway::start(&config(&[("mrtr", &peer.url())], false, "")).await;
    let got = py_call(&gw.url(), "mrtr__", mode, "greet", None).await;
    assert_eq!(
        got["error"],
        Value::Null,
        "modern only: {modern_only}: {got}"
    );
    assert_eq!(
        got["elicitations"][0]["message"], "What is your name?",
        "{got}"
    );
    assert_eq!(got["result"]["content"][0]["text"], "Hello, Ada!", "{got}");
    got
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2026_client_answers_a_2026_toolkits_input_request_through_the_gateway() {
    let got = greet_through_the_gateway("2026-07-28", false).await;
    assert_eq!(got["result"]["resultType"], "complete", "{got}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2026_client_answers_a_2026_only_toolkit_through_the_gateway() {
    greet_through_the_gateway("2026-07-28", true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2025_client_answers_a_dual_era_toolkit_in_its_own_era() {
    greet_through_the_gateway("legacy", false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2025_client_answers_a_2026_only_toolkits_multi_round_trip_as_elicitation() {
    greet_through_the_gateway("legacy", true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_client_in_2026_mode_runs_the_everything_scenario_beside_a_2026_toolkit() {
    let eras = two_eras().await;
    let gw = &eras.gw;
    let mut cmd = py_client(&gw.url(), "everything__");
    cmd.args(["--mode", "2026-07-28"]);
    let out = run(cmd, Duration::from_secs(150)).await;
    let got: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    println!("{}", serde_json::to_string_pretty(&got).unwrap());
    assert_eq!(got["negotiated_version"], "2026-07-28", "{got}");
    let tools = got["tools"].as_array().expect("tools listed");
    for expected in [
        "everything__echo",
        "everything__trigger-elicitation-request",
        "time__get_current_time",
    ] {
        assert!(tools.contains(&json!(expected)), "{expected} in {tools:?}");
    }
    let steps: Vec<f64> = got["progress"]["notifications"]
        .as_array()
        .map(|p| p.iter().filter_map(|n| n["progress"].as_f64()).collect())
        .unwrap_or_default();
    assert_eq!(
        steps,
        vec![1.0, 2.0, 3.0],
        "progress on the request's stream: {got}"
    );
    let form = &got["elicitation_form"];
    assert!(
        form["result_text"]
            .as_str()
            .unwrap_or_default()
            .contains("Name: Ada"),
        "form elicitation answered through MRTR: {form}"
    );
    let url = &got["elicitation_url"];
    assert_eq!(url["params"]["mode"], "url", "{url}");
    assert!(
        url["result_text"]
            .as_str()
            .unwrap_or_default()
            .contains("completed the URL elicitation"),
        "{url}"
    );
    let sampling = &got["sampling"];
    assert!(
        sampling["result_text"]
            .as_str()
            .unwrap_or_default()
            .contains("hello from py_client"),
        "sampling answered through MRTR: {sampling}"
    );
    // NB: -32042 (URL elicitation required) was retired in 2026-07-28; a 2025
    // toolkit's -32042 reaches the client as the error it is.
    assert_eq!(got["elicitation_url_error"]["code"], -32042, "{got}");
}
