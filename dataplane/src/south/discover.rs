//! Which protocol era a toolkit's upstream speaks, found out once per toolkit
//! the way a dual-era client does it: a `server/discover` in the 2026-07-28
//! era; a `DiscoverResult` offering that version, or a modern error naming
//! it, means the upstream is modern; anything else (a 4xx without a modern
//! error, a 2025 server's "not initialized") means the 2025 handshake. A
//! failure to reach the upstream at all decides nothing (asked again next time).
//!
//! A modern upstream has no session: its "upstream session" is what
//! `server/discover` said, and every request carries the client's
//! capabilities in `_meta` ([`envelope`]).

use std::sync::atomic::{AtomicU8, Ordering};

use prometheus_client::metrics::gauge::Gauge;
use serde_json::{Map, Value, json};

use super::client::ToolkitClient;
use super::error::{ClientError, ProtocolError};
use super::session::{Hello, UpstreamSession};
use super::upstream::{PostReply, SessionHeaders};
use crate::era::{self, meta};
use crate::guard::Token;
use crate::ids;
use crate::jsonrpc::{ErrorObject, Message, Request};
use crate::mcp::method::DISCOVER;

/// A protocol era an upstream may speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpstreamEra {
    /// The 2025 revisions: `initialize`, sessions.
    Legacy,
    /// 2026-07-28: `server/discover`, stateless.
    Modern,
}

impl UpstreamEra {
    pub const ALL: [Self; 2] = [Self::Legacy, Self::Modern];

    /// How it is named in logs, metrics and `/readyz`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Legacy => "2025",
            Self::Modern => "2026-07-28",
        }
    }
}

/// What a toolkit's upstream was found to speak, era by era, shared by the
/// clones of its client: a handshake that worked shows the 2025 era, a
/// discovery that worked (or failed as a 2025 server fails) tells of 2026-07-28.
#[derive(Debug, Default)]
pub struct EraMemory {
    /// Per era (indexed like [`UpstreamEra::ALL`]): 0 unknown, 1 no, 2 yes.
    found: [AtomicU8; 2],
    /// One gauge per era (`mcpgw_toolkit_era`), 1 once the era is seen working.
    gauges: Option<[Gauge; 2]>,
}

impl EraMemory {
    /// A memory that reports what it finds on `gauges` (legacy, modern).
    pub fn reporting(gauges: [Gauge; 2]) -> Self {
        Self {
            found: Default::default(),
            gauges: Some(gauges),
        }
    }

    /// Whether the upstream speaks `era`; `None` until it was tried.
    pub fn speaks(&self, era: UpstreamEra) -> Option<bool> {
        match self.found[era as usize].load(Ordering::Relaxed) {
            1 => Some(false),
            2 => Some(true),
            _ => None,
        }
    }

    /// Remember whether the upstream speaks `era`; logged when it is news.
    pub(super) fn remember(&self, era: UpstreamEra, speaks: bool, toolkit: &str) {
        let value = if speaks { 2 } else { 1 };
        if self.found[era as usize].swap(value, Ordering::Relaxed) != value {
            tracing::info!(
                toolkit,
                era = era.label(),
                speaks,
                "upstream protocol era detected"
            );
        }
        if let Some(gauges) = &self.gauges {
            gauges[era as usize].set(i64::from(speaks));
        }
    }
}

/// The client capabilities an upstream is told of: the client's own, less
/// what does not cross between the two eras (tasks, extensions).
/// Elicitation, sampling and roots cross both ways: a 2025 toolkit's
/// requests become `input_required` results for a 2026-07-28 client, and a
/// 2026-07-28 toolkit's `input_required` results become requests on a 2025
/// client's stream.
pub fn declared_capabilities(hello: &Hello, upstream: UpstreamEra) -> Value {
    let client_modern = era::is_modern(&hello.protocol_version);
    let upstream_modern = upstream == UpstreamEra::Modern;
    let mut capabilities = hello.capabilities.clone();
    if client_modern != upstream_modern
        && let Some(caps) = capabilities.as_object_mut()
    {
        caps.remove("tasks");
        caps.remove("extensions");
    }
    capabilities
}

/// The `_meta` envelope of a request to a modern upstream for `hello`'s client.
pub fn envelope(hello: &Hello) -> Map<String, Value> {
    let mut meta = Map::new();
    meta.insert(
        meta::PROTOCOL_VERSION.into(),
        Value::from(era::MODERN_VERSION),
    );
    meta.insert(
        meta::CLIENT_CAPABILITIES.into(),
        declared_capabilities(hello, UpstreamEra::Modern),
    );
    meta.insert(meta::CLIENT_INFO.into(), hello.client_info.clone());
    if let Some(level) = &hello.log_level {
        meta.insert(meta::LOG_LEVEL.into(), Value::from(level.as_str()));
    }
    meta
}

/// `message` as a modern upstream takes it: a request with the envelope in
/// its `_meta` (the client's own `_meta` keys kept). `None` for what the
/// era has no use for over HTTP: notifications (closing a stream is the
/// cancellation) and responses (a modern server sends no requests).
pub fn for_modern(message: &Message, hello: &Hello) -> Option<Message> {
    let Message::Request(request) = message else {
        return None;
    };
    let mut request = request.clone();
    let params = request
        .params
        .get_or_insert_with(|| Value::Object(Map::new()).into());
    if let Some(params) = params.as_object_mut() {
        let meta = params
            .entry("_meta")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(meta) = meta.as_object_mut() {
            meta.extend(envelope(hello));
        }
    }
    Some(Message::Request(request))
}

/// Open the toolkit's upstream "session" for `hello`'s client by
/// `server/discover`, when the upstream is (or may be) modern; `Ok(None)`
/// when it is not (a 2025 server).
pub async fn open_modern(
    client: &ToolkitClient,
    hello: &Hello,
    caller: Option<&Token>,
) -> Result<Option<UpstreamSession>, ClientError> {
    if client.speaks(UpstreamEra::Modern) == Some(false) {
        return Ok(None);
    }
    let request = Request::new(
        ids::gateway_to_upstream(DISCOVER.name),
        DISCOVER.name,
        Some(json!({ "_meta": envelope(hello) })),
    );
    let headers = SessionHeaders {
        session_id: None,
        session_header: None,
        protocol_version: Some(era::MODERN_VERSION),
        caller,
    };
    let outcome = match client.post(headers, &Message::Request(request)).await {
        Ok(PostReply::Json { reply, .. }) => Some(reply.into_message()?),
        Ok(PostReply::Stream { mut stream, .. }) => loop {
            match client.next(&mut stream).await {
                Some(Ok(m @ Message::Response(_))) => break Some(m),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e),
                None => return Err(ProtocolError::NoResponse.into()),
            }
        },
        Ok(PostReply::Accepted) => None,
        // A refusal of the caller's credentials is the caller's business, not an era.
        Err(e) if e.challenge().is_some() => return Err(e),
        Err(ClientError::Status { .. } | ClientError::Protocol(_)) => None,
        Err(e) => return Err(e),
    };
    let found = match outcome {
        Some(Message::Response(r)) => match r.outcome {
            Ok(result) => discovered(result),
            Err(error) => {
                if names_modern(&error) {
                    // A modern server that will not serve 2026-07-28: nothing to talk in.
                    return Err(ClientError::Initialize(error));
                }
                None
            }
        },
        _ => None,
    };
    client.remember_era(UpstreamEra::Modern, found.is_some());
    Ok(found)
}

/// The upstream session a `DiscoverResult` stands for, when it offers the
/// modern version (a result offering only 2025 versions is a 2025 server).
fn discovered(result: Value) -> Option<UpstreamSession> {
    let offers_modern = result
        .get("supportedVersions")
        .and_then(Value::as_array)
        .is_some_and(|v| v.iter().any(|v| v.as_str().is_some_and(era::is_modern)));
    if !offers_modern {
        return None;
    }
    // NB: shaped like an `InitializeResult`, which is what the proxy merges.
    let server_info = result
        .pointer(&format!("/_meta/{}", meta::SERVER_INFO.replace('/', "~1")))
        .cloned()
        .unwrap_or_else(|| json!({"name": "unknown", "version": "0"}));
    let mut init = json!({
        "protocolVersion": era::MODERN_VERSION,
        "capabilities": result.get("capabilities").cloned().unwrap_or(json!({})),
        "serverInfo": server_info,
    });
    if let Some(instructions) = result.get("instructions") {
        init["instructions"] = instructions.clone();
    }
    Some(UpstreamSession::new(
        None,
        era::MODERN_VERSION.to_owned(),
        init,
    ))
}

/// Whether an error to a modern request is one only a modern server sends
/// (an unsupported version naming what it supports).
fn names_modern(error: &ErrorObject) -> bool {
    error.code == era::code::UNSUPPORTED_PROTOCOL_VERSION
        && error
            .data
            .as_ref()
            .and_then(|d| d.get("supported"))
            .is_some_and(Value::is_array)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(version: &str) -> Hello {
        Hello {
            protocol_version: version.to_owned(),
            capabilities: json!({"elicitation": {}, "sampling": {}, "experimental": {}}),
            client_info: json!({"name": "c", "version": "1"}),
            log_level: None,
        }
    }

    #[test]
    fn capabilities_cross_whole_except_tasks_and_extensions_across_eras() {
        let legacy = hello("2025-11-25");
        let modern = hello("2026-07-28");
        assert_eq!(
            declared_capabilities(&legacy, UpstreamEra::Legacy),
            legacy.capabilities
        );
        assert_eq!(
            declared_capabilities(&modern, UpstreamEra::Modern),
            modern.capabilities
        );
        assert_eq!(
            declared_capabilities(&legacy, UpstreamEra::Modern),
            legacy.capabilities,
            "a 2026-07-28 toolkit's input requests are bridged to a 2025 client"
        );
        let with_tasks = Hello {
            capabilities: json!({"tasks": {}, "sampling": {}}),
            ..legacy.clone()
        };
        assert_eq!(
            declared_capabilities(&with_tasks, UpstreamEra::Modern),
            json!({"sampling": {}})
        );
        assert_eq!(
            declared_capabilities(&modern, UpstreamEra::Legacy),
            modern.capabilities,
            "a 2025 toolkit's requests are bridged to a 2026-07-28 client"
        );
    }

    #[test]
    fn a_request_to_a_modern_upstream_carries_the_envelope_and_keeps_its_meta() {
        let request = Message::Request(Request::new(
            crate::jsonrpc::RequestId::Number(1),
            "tools/call",
            Some(json!({"name": "t", "_meta": {"progressToken": 3}})),
        ));
        let Some(Message::Request(sent)) = for_modern(&request, &hello("2026-07-28")) else {
            panic!("a request");
        };
        let meta = &sent.params.expect("params")["_meta"];
        assert_eq!(meta["progressToken"], 3);
        assert_eq!(meta[meta::PROTOCOL_VERSION], "2026-07-28");
        assert!(meta[meta::CLIENT_CAPABILITIES]["elicitation"].is_object());
        let note = Message::Notification(crate::jsonrpc::Notification::new(
            "notifications/cancelled",
            None,
        ));
        assert!(for_modern(&note, &hello("2026-07-28")).is_none());
    }

    #[test]
    fn only_a_discover_result_offering_the_modern_version_is_modern() {
        let modern = json!({
            "supportedVersions": ["2026-07-28"],
            "capabilities": {"tools": {}},
            "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "time", "version": "1"}},
        });
        let session = discovered(modern).expect("modern");
        assert_eq!(session.init["serverInfo"]["name"], "time");
        assert_eq!(session.capabilities(), &json!({"tools": {}}));
        assert!(discovered(json!({"supportedVersions": ["2025-11-25"]})).is_none());
    }
}
