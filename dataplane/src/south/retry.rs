//! Retries (`options.retries`) of the requests that are safe to repeat: sent
//! again when the toolkit could not take them (unreachable, the connection
//! closed or reset, 502/503/504), after a wait that doubles from `backoff`
//! with full jitter. Never a timeout (its budget is spent), never a request
//! that may act (`tools/call` and the like): a retried request must be one the
//! toolkit may see twice.

use std::time::Duration;

use mcpgw_config::RetryPlan;
use rand::Rng;

use super::error::{ClientError, TransportError};
use crate::jsonrpc::Message;
use crate::mcp::method::{
    COMPLETE, INITIALIZE, PING, PROMPTS_GET, PROMPTS_LIST, RESOURCES_LIST, RESOURCES_READ,
    TEMPLATES_LIST, TOOLS_LIST,
};

/// The methods that only read: repeating one changes nothing.
fn safe_to_repeat(method: &str) -> bool {
    [
        &INITIALIZE,
        &PING,
        &TOOLS_LIST,
        &PROMPTS_LIST,
        &RESOURCES_LIST,
        &TEMPLATES_LIST,
        &RESOURCES_READ,
        &PROMPTS_GET,
        &COMPLETE,
    ]
    .iter()
    .any(|m| m.name == method)
}

/// How many times `message` may be sent again under `plan` (0: only once).
pub(super) fn attempts(plan: Option<RetryPlan>, message: &Message) -> u32 {
    match (plan, message) {
        (Some(plan), Message::Request(r)) if safe_to_repeat(&r.method) => plan.attempts,
        _ => 0,
    }
}

/// Whether the toolkit did not take the request, so that trying again may help.
pub(super) fn retryable(error: &ClientError) -> bool {
    match error {
        ClientError::Transport(t) => matches!(
            t,
            TransportError::Refused
                | TransportError::ConnectTimeout
                | TransportError::Closed
                | TransportError::GoAway
                | TransportError::Reset
        ),
        ClientError::Status { status, .. } => matches!(status.as_u16(), 502..=504),
        _ => false,
    }
}

/// The wait before retry number `retry` (from 0): a random part of `backoff`
/// doubled `retry` times (full jitter, so that callers who failed together
/// do not come back together).
pub(super) fn wait(plan: RetryPlan, retry: u32) -> Duration {
    let ceiling = plan.backoff.saturating_mul(1 << retry.min(16));
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rand::rng().random_range(0..=nanos))
}

#[cfg(test)]
mod tests {
    use http::StatusCode;
    use serde_json::json;

    use super::*;
    use crate::jsonrpc::{Notification, Request, RequestId};

    const PLAN: RetryPlan = RetryPlan {
        attempts: 2,
        backoff: Duration::from_millis(100),
    };

    fn request(method: &str) -> Message {
        Message::Request(Request::new(RequestId::Number(1), method, Some(json!({}))))
    }

    #[test]
    fn only_requests_that_read_are_repeated() {
        for method in ["tools/list", "resources/read", "initialize", "prompts/get"] {
            assert_eq!(attempts(Some(PLAN), &request(method)), 2, "{method}");
        }
        for method in [
            "tools/call",
            "resources/subscribe",
            "tasks/cancel",
            "x/unknown",
        ] {
            assert_eq!(attempts(Some(PLAN), &request(method)), 0, "{method}");
        }
        let note = Message::Notification(Notification::new("notifications/initialized", None));
        assert_eq!(attempts(Some(PLAN), &note), 0);
        assert_eq!(attempts(None, &request("tools/list")), 0);
    }

    #[test]
    fn only_a_request_the_toolkit_did_not_take_is_retried() {
        assert!(retryable(&ClientError::Transport(TransportError::Refused)));
        let status = |status| ClientError::Status {
            status,
            www_authenticate: None,
        };
        assert!(retryable(&status(StatusCode::SERVICE_UNAVAILABLE)));
        assert!(!retryable(&status(StatusCode::INTERNAL_SERVER_ERROR)));
        assert!(!retryable(&status(StatusCode::UNAUTHORIZED)));
        assert!(!retryable(&ClientError::Timeout(Duration::from_secs(1))));
        assert!(!retryable(&ClientError::SessionExpired));
    }

    #[test]
    fn waits_are_jittered_below_a_doubling_ceiling() {
        for retry in 0..4 {
            let ceiling = PLAN.backoff * (1 << retry);
            for _ in 0..100 {
                assert!(wait(PLAN, retry) <= ceiling);
            }
        }
        let spread: std::collections::BTreeSet<Duration> = (0..20).map(|_| wait(PLAN, 3)).collect();
        assert!(spread.len() > 1, "the waits are random");
    }
}
