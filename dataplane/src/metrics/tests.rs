use super::*;
use crate::jsonrpc::{ErrorObject, Message, RequestId, Response};

#[test]
fn failures_are_counted_per_toolkit_and_operation() {
    let metrics = Metrics::default();
    metrics.toolkit_failed("time", Operation::List);
    metrics.toolkit_failed("time", Operation::List);
    metrics.toolkit_failed("everything", Operation::Request);
    metrics.refused(Refusal::InvalidToken);
    let text = metrics.render(3);
    assert!(text.contains("mcpgw_auth_refusals_total{reason=\"invalid_token\"} 1\n"));
    assert!(text.contains("mcpgw_auth_refusals_total{reason=\"no_token\"} 0\n"));
    assert!(
        text.contains("mcpgw_toolkit_failures_total{toolkit=\"time\",operation=\"list\"} 2\n"),
        "{text}"
    );
    assert!(text.contains(
        "mcpgw_toolkit_failures_total{toolkit=\"everything\",operation=\"request\"} 1\n"
    ));
    assert!(text.contains("mcpgw_sessions 3\n"));
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert_eq!(metrics.toolkit_failures("time", Operation::List), 2);
}

fn labels(method: &'static str, toolkit: &str, name: &str, outcome: Outcome) -> RequestLabels {
    RequestLabels {
        method,
        toolkit: Arc::from(toolkit),
        name: Arc::from(name),
        outcome: outcome.label(),
    }
}

#[test]
fn a_request_is_counted_once_with_the_outcome_decided_first() {
    let metrics = Arc::new(Metrics::default());
    let kit: Arc<str> = Arc::from("kit");
    let mut observed = metrics.observe("tools/call", Some(&kit), "echo");
    observed.set_outcome(Outcome::UpstreamError);
    let answer = Message::Response(Response::error(
        Some(RequestId::Number(1)),
        ErrorObject::new(crate::jsonrpc::code::INTERNAL_ERROR, "down"),
    ));
    observed.finish_with(&answer);
    drop(observed);
    let up = labels("tools/call", "kit", "echo", Outcome::UpstreamError);
    assert_eq!(metrics.requests_count(&up), 1);
    let cancelled = labels("tools/call", "kit", "echo", Outcome::Cancelled);
    assert_eq!(metrics.requests_count(&cancelled), 0);
}

#[test]
fn a_deferred_request_is_counted_by_whoever_finishes_it() {
    let metrics = Arc::new(Metrics::default());
    let kit: Arc<str> = Arc::from("kit");
    let mut observed = metrics.observe("tools/call", Some(&kit), "echo");
    let mut later = observed.defer();
    drop(observed);
    later.finish(Outcome::Ok);
    assert_eq!(
        metrics.requests_count(&labels("tools/call", "kit", "echo", Outcome::Ok)),
        1
    );
    assert_eq!(
        metrics.requests_count(&labels("tools/call", "kit", "echo", Outcome::Cancelled)),
        0
    );
}

#[test]
fn a_dropped_request_is_cancelled() {
    let metrics = Arc::new(Metrics::default());
    drop(metrics.observe("tools/list", None, ""));
    assert_eq!(
        metrics.requests_count(&labels("tools/list", "", "", Outcome::Cancelled)),
        1
    );
}

#[test]
fn names_past_the_cap_fold_into_other() {
    let metrics = Arc::new(Metrics::default());
    let kit: Arc<str> = Arc::from("kit");
    for n in 0..MAX_NAMES_PER_TOOLKIT + 5 {
        metrics
            .observe("tools/call", Some(&kit), &format!("tool{n}"))
            .finish(Outcome::Ok);
    }
    metrics
        .observe("tools/call", Some(&kit), &"x".repeat(MAX_NAME_LEN + 1))
        .finish(Outcome::Ok);
    // A name seen before the cap keeps its label.
    metrics
        .observe("tools/call", Some(&kit), "tool0")
        .finish(Outcome::Ok);
    assert_eq!(
        metrics.requests_count(&labels("tools/call", "kit", "other", Outcome::Ok)),
        6
    );
    assert_eq!(
        metrics.requests_count(&labels("tools/call", "kit", "tool0", Outcome::Ok)),
        2
    );
}

#[test]
fn error_codes_are_classed() {
    let of = |code| Outcome::of_error(&ErrorObject::new(code, "")).label();
    assert_eq!(of(-32602), "invalid_params");
    assert_eq!(of(-32601), "method_not_found");
    assert_eq!(of(-32603), "internal");
    assert_eq!(of(-32001), "timeout");
    assert_eq!(of(-32050), "server_error");
    assert_eq!(of(-32042), "server_error");
    assert_eq!(of(7), "application_error");
}

#[test]
fn a_relayed_tool_result_with_is_error_true_is_a_tool_error() {
    let of = |text: &str| Outcome::of_tool_result(text.as_bytes()).label();
    assert_eq!(
        of(r#"{"jsonrpc":"2.0","id":1,"result":{"content":[],"isError":true}}"#),
        "tool_error"
    );
    assert_eq!(of(r#"{"result":{"isError" :  true}}"#), "tool_error");
    assert_eq!(of(r#"{"result":{"isError":false}}"#), "ok");
    assert_eq!(
        of(r#"{"result":{"content":[{"text":"\"isError\":true"}]}}"#),
        "ok"
    );
    assert_eq!(of(r#"{"result":{"content":[]}}"#), "ok");
}
