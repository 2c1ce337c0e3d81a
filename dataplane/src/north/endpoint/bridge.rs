//! Exchanges of 2026-07-28 clients with 2025 toolkits that wait for the
//! client: the toolkit sent a server→client request (elicitation, sampling,
//! `roots/list`) mid-request, the client got it as an `input_required`
//! result, and the toolkit's exchange (its response stream, still open) is
//! held here until the client retries with `inputResponses` and the
//! `requestState` that names it.
//!
//! NB: the exchange is a live upstream stream on this replica: a retry must
//! reach the replica that holds it (one that does not answers with an error
//! saying so). The `requestState` is a random token bound to the caller, the
//! method and the name of the request; it expires with the exchange.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::jsonrpc::RequestId;
use crate::proxy::{BridgeUpstreams, BridgedUpstream};

/// How every `requestState` of the gateway's own starts (others belong to a
/// 2026-07-28 toolkit and pass through).
pub(super) const STATE_PREFIX: &str = "mcpgw-bridge.";
/// How long an exchange waits for the client's retry.
const WAIT: Duration = Duration::from_secs(600);
/// Most exchanges held at once per endpoint.
const CAPACITY: usize = 4096;

/// One exchange waiting for the client.
#[derive(Debug)]
pub(super) struct Waiting {
    /// The rest of the toolkit's exchange, as the relay sends it down.
    pub frames: mpsc::Receiver<Bytes>,
    /// Where the client's answer goes.
    pub upstream: BridgedUpstream,
    /// For later rounds of the same exchange.
    pub upstreams: BridgeUpstreams,
    /// The toolkit's own id of its request.
    pub upstream_id: RequestId,
    /// The key of the request in `inputRequests`, and the request itself.
    pub key: String,
    pub input_request: Value,
    /// Whose exchange it is, and what was asked (a retry must match).
    pub owner: Option<String>,
    pub method: String,
    pub name: Option<String>,
    pub deadline: Instant,
}

/// Why a retry does not continue an exchange.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(super) enum Unknown {
    #[error(
        "requestState names no exchange waiting on this gateway replica (it expired, was answered, or is held by another replica); send the request again without inputResponses and requestState"
    )]
    NotHere,
    #[error("requestState was issued for another request or caller")]
    Mismatch,
}

/// The exchanges of one endpoint waiting for their clients.
#[derive(Debug, Default)]
pub struct Bridges {
    // NB: a std lock, held for map operations only, never across an await.
    waiting: Mutex<HashMap<String, Waiting>>,
}

impl Bridges {
    /// Hold `waiting`; the `requestState` that names it.
    pub(super) fn hold(&self, waiting: Waiting) -> String {
        let token = format!("{STATE_PREFIX}{}", crate::ids::random_hex(16));
        let now = Instant::now();
        let mut map = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, w| w.deadline > now);
        if map.len() >= CAPACITY
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, w)| w.deadline)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(token.clone(), waiting);
        token
    }

    /// Take the exchange `token` names, for `owner`'s retry of `method` on `name`.
    pub(super) fn take(
        &self,
        token: &str,
        owner: Option<&str>,
        method: &str,
        name: Option<&str>,
    ) -> Result<Waiting, Unknown> {
        let mut map = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        let waiting = map.get(token).ok_or(Unknown::NotHere)?;
        if waiting.deadline <= Instant::now() {
            map.remove(token);
            return Err(Unknown::NotHere);
        }
        if waiting.owner.as_deref() != owner
            || waiting.method != method
            || waiting.name.as_deref() != name
        {
            return Err(Unknown::Mismatch);
        }
        map.remove(token).ok_or(Unknown::NotHere)
    }

    /// When a held exchange must be answered by.
    pub(super) fn deadline() -> Instant {
        Instant::now() + WAIT
    }
}
