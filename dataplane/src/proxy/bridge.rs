//! What bridging a 2026-07-28 client to a 2025 toolkit needs of the proxy:
//! the toolkit a relayed server→client request came from with the upstream
//! session its exchange runs in, and sending the client's answer (which
//! arrives as `inputResponses` on the client's retry) back to it under the
//! toolkit's own id. The exchange itself is held at the edge (see
//! `north::endpoint::bridge`).

use std::sync::Arc;

use serde_json::Value;

use super::relay::upstream_error;
use super::{Proxy, Toolkit};
use crate::call::Call;
use crate::jsonrpc::{ErrorObject, Message, Notification, RequestId, Response, code};
use crate::mcp::method::{CANCELLED, Form, Handling};
use crate::south::UpstreamSlot;

/// The toolkits a stateless call may reach, with the call: enough to find,
/// later and elsewhere, the upstream session a relayed request came from.
#[derive(Clone, Debug)]
pub struct BridgeUpstreams {
    toolkits: Vec<Arc<Toolkit>>,
    call: Call,
}

/// One toolkit's upstream session, as a bridged exchange runs in it.
#[derive(Clone, Debug)]
pub struct BridgedUpstream {
    pub toolkit: Arc<Toolkit>,
    pub slot: Arc<UpstreamSlot>,
    call: Call,
}

impl Proxy {
    /// The toolkit that `exposed` (the name or URI of a `method` request) routes to.
    pub fn toolkit_named(&self, method: &str, exposed: &str) -> Option<Arc<str>> {
        let split = match crate::mcp::Method::find(method).map(|m| &m.handling) {
            Some(Handling::Routed { target, .. }) if target.form() == Form::Uri => {
                self.naming.split_uri(exposed)
            }
            Some(Handling::Routed { .. }) => self.naming.split_name(exposed),
            _ => None,
        };
        Some(self.toolkit(split?.0)?.name.clone())
    }

    /// What [`BridgeUpstreams::get`] needs for `call`'s relayed requests.
    pub fn bridge_upstreams(&self, call: &Call) -> BridgeUpstreams {
        BridgeUpstreams {
            toolkits: self.toolkits.clone(),
            call: call.clone(),
        }
    }
}

impl BridgeUpstreams {
    /// The upstream session of `toolkit` for this call.
    pub fn get(&self, toolkit: &str) -> Option<BridgedUpstream> {
        let toolkit = self.toolkits.iter().find(|t| &*t.name == toolkit)?.clone();
        let slot = self.call.upstream(&toolkit);
        Some(BridgedUpstream {
            toolkit,
            slot,
            call: self.call.clone(),
        })
    }
}

impl BridgedUpstream {
    /// Tell the toolkit its request `id` is cancelled: the client of the
    /// 2026-07-28 era closed the response stream, which is that era's
    /// cancellation; a 2025 toolkit needs `notifications/cancelled`.
    pub async fn cancel(&self, id: &RequestId) {
        let Some(upstream) = self.slot.current().filter(|u| !u.is_modern()) else {
            return;
        };
        let cancelled = Message::Notification(Notification::new(
            CANCELLED.name,
            Some(serde_json::json!({
                "requestId": id.to_value(),
                "reason": "the client closed the response stream",
            })),
        ));
        let headers = upstream.headers(self.call.caller());
        if let Err(e) = self.toolkit.client.post(headers, &cancelled).await {
            tracing::debug!(toolkit = %self.toolkit.name, error = %e, "upstream cancellation failed");
        }
    }

    /// Answer the toolkit's request `id` with `result` (the client's input response).
    pub async fn answer(&self, id: RequestId, result: Value) -> Result<(), ErrorObject> {
        let upstream = self.slot.current().ok_or_else(|| {
            ErrorObject::new(
                code::INVALID_REQUEST,
                format!(
                    "toolkit `{}`: the upstream session of this exchange is gone",
                    self.toolkit.name
                ),
            )
        })?;
        let mut result = result;
        if let Some(obj) = result.as_object_mut() {
            // The 2026-07-28 result fields a 2025 server does not know.
            obj.remove("resultType");
        }
        let response = Message::Response(Response::ok(id, result));
        let headers = upstream.headers(self.call.caller());
        match self.toolkit.client.post(headers, &response).await {
            Ok(_) => Ok(()),
            Err(e) => Err(upstream_error(&self.toolkit.name, &e)),
        }
    }
}
