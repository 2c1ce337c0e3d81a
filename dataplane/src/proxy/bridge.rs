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
use crate::jsonrpc::{ErrorObject, Message, RequestId, Response, code};
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
