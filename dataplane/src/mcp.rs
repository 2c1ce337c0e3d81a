//! MCP protocol constants shared by both sides of the gateway.

/// Protocol versions the gateway negotiates, newest first.
pub const SUPPORTED_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26"];
/// What the gateway answers when the client asks for a version it does not support.
pub const LATEST_VERSION: &str = SUPPORTED_VERSIONS[0];

pub const HEADER_SESSION_ID: &str = "mcp-session-id";
pub const HEADER_PROTOCOL_VERSION: &str = "mcp-protocol-version";
pub const HEADER_LAST_EVENT_ID: &str = "last-event-id";

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
