//! MCP protocol facts shared by both sides of the gateway: versions and the
//! era each belongs to, transport header names, and the table of methods
//! ([`method`]).

pub mod method;

pub use method::Method;

/// Protocol versions the gateway negotiates, newest first.
pub const SUPPORTED_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26"];
/// What the gateway answers when the client asks for a version it does not support.
pub const LATEST_VERSION: &str = SUPPORTED_VERSIONS[0];

use http::{HeaderMap, HeaderName, HeaderValue, header};

// NB: header names, not strings: a `&str` name is parsed and checked on every lookup.
pub const HEADER_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
pub const HEADER_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
pub const HEADER_LAST_EVENT_ID: &str = "last-event-id";

/// The two shapes of the protocol: the 2025 revisions, with an `initialize`
/// handshake and a protocol session, and 2026-07-28, stateless (`server/discover`,
/// per-request metadata, multi-round-trip requests).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Era {
    /// 2025-03-26, 2025-06-18, 2025-11-25.
    Sessions,
    /// 2026-07-28.
    Stateless,
}

impl Era {
    /// The era of a protocol version (any version before 2026-07-28 has sessions).
    pub fn of(version: &str) -> Self {
        // NB: versions are ISO dates, so they order as strings.
        if version >= "2026-07-28" {
            Self::Stateless
        } else {
            Self::Sessions
        }
    }
}

/// The version to run a session at: the client's if supported, else the latest.
pub fn negotiate(requested: Option<&str>) -> &'static str {
    requested
        .and_then(|r| SUPPORTED_VERSIONS.iter().find(|v| **v == r))
        .copied()
        .unwrap_or(LATEST_VERSION)
}

pub fn is_supported(version: &str) -> bool {
    SUPPORTED_VERSIONS.contains(&version)
}

/// The content headers of a Streamable HTTP POST: a JSON body, and a reply
/// accepted as JSON or as an SSE stream.
pub fn set_post_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
}
