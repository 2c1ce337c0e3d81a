//! The 2026-07-28 protocol era ("modern": no session, `server/discover`,
//! per-request metadata) as far as both sides of the gateway share it: the
//! reserved `_meta` keys, the request metadata headers and their value
//! encoding, the error codes, and what a result must carry ([`stamp`]).
//!
//! The 2025 revisions ("legacy") live where they always did ([`crate::mcp`]);
//! [`crate::mcp::Era`] tells the two apart.

pub mod params;
pub mod stamp;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderName;
use serde_json::{Map, Value};

/// Modern protocol versions the gateway serves, newest first.
pub const MODERN_VERSIONS: &[&str] = &["2026-07-28"];
/// The modern version the gateway speaks.
pub const MODERN_VERSION: &str = MODERN_VERSIONS[0];

/// Every version the gateway serves (either era), newest first.
pub fn versions() -> impl Iterator<Item = &'static str> {
    MODERN_VERSIONS
        .iter()
        .chain(crate::mcp::SUPPORTED_VERSIONS)
        .copied()
}

/// [`versions`], as `server/discover` and an `UnsupportedProtocolVersion` error list them.
pub fn all_versions() -> Vec<&'static str> {
    versions().collect()
}

/// Whether `version` is one the gateway serves in the modern era.
pub fn is_modern(version: &str) -> bool {
    MODERN_VERSIONS.contains(&version)
}

/// `_meta` keys reserved by the modern era.
pub mod meta {
    pub const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
    pub const CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
    pub const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
    pub const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
    pub const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
    /// The `subscriptions/listen` request a notification (or its end) belongs to.
    pub const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

    /// The per-request envelope: what says who the client is, not what it asks.
    pub const ENVELOPE: [&str; 4] = [
        PROTOCOL_VERSION,
        CLIENT_INFO,
        CLIENT_CAPABILITIES,
        LOG_LEVEL,
    ];
}

/// Error codes the modern era defines (`-32020..-32099` is the spec's).
pub mod code {
    pub const HEADER_MISMATCH: i64 = -32020;
    pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i64 = -32021;
    pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
}

/// `Mcp-Method`: the JSON-RPC method, on every modern POST.
pub const HEADER_METHOD: HeaderName = HeaderName::from_static("mcp-method");
/// `Mcp-Name`: `params.name` or `params.uri` of the methods that name something.
pub const HEADER_NAME: HeaderName = HeaderName::from_static("mcp-name");
/// The prefix of the headers that mirror tool arguments (`x-mcp-header`).
pub const PARAM_HEADER_PREFIX: &str = "mcp-param-";

/// The param whose value `Mcp-Name` mirrors, for the methods that have one.
pub fn named_param(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        _ => None,
    }
}

/// A header value as the modern era writes it: as it is when it is plain
/// visible ASCII without edge whitespace, else `=?base64?…?=` of its UTF-8.
pub fn encode_header_value(value: &str) -> String {
    let plain = value.bytes().all(|b| (0x20..=0x7e).contains(&b))
        && value.trim() == value
        && !is_sentinel(value);
    if plain {
        value.to_owned()
    } else {
        format!("=?base64?{}?=", STANDARD.encode(value))
    }
}

/// The value a header carries: decoded when in the base64 sentinel form;
/// `None` when that form is malformed (so it never matches a body value).
pub fn decode_header_value(value: &str) -> Option<String> {
    if !is_sentinel(value) {
        return Some(value.to_owned());
    }
    let payload = &value["=?base64?".len()..value.len() - "?=".len()];
    let bytes = STANDARD.decode(payload).ok()?;
    String::from_utf8(bytes).ok()
}

fn is_sentinel(value: &str) -> bool {
    value.len() >= "=?base64??=".len() && value.starts_with("=?base64?") && value.ends_with("?=")
}

/// What a modern request's `_meta` says of its client.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    pub protocol_version: String,
    pub client_capabilities: Value,
    pub client_info: Option<Value>,
    pub log_level: Option<String>,
}

/// Why a request's `_meta` is not a modern envelope.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error(
        "params._meta must be an object carrying `{}` and `{}`",
        meta::PROTOCOL_VERSION,
        meta::CLIENT_CAPABILITIES
    )]
    NoMeta,
    #[error("params._meta is missing `{0}`")]
    Missing(&'static str),
    #[error("`{0}` in params._meta has the wrong type")]
    WrongType(&'static str),
}

impl Envelope {
    /// Take the envelope out of a request's `params._meta` (a toolkit of the
    /// 2025 era does not know those keys; `_meta` goes when nothing else is
    /// left in it). The values are moved out, not copied.
    pub fn take(params: Option<&mut Value>) -> Result<Self, EnvelopeError> {
        let params = params
            .and_then(Value::as_object_mut)
            .ok_or(EnvelopeError::NoMeta)?;
        let meta = params
            .get_mut("_meta")
            .and_then(Value::as_object_mut)
            .ok_or(EnvelopeError::NoMeta)?;
        let protocol_version = match meta.remove(meta::PROTOCOL_VERSION) {
            None => return Err(EnvelopeError::Missing(meta::PROTOCOL_VERSION)),
            Some(Value::String(v)) => v,
            Some(_) => return Err(EnvelopeError::WrongType(meta::PROTOCOL_VERSION)),
        };
        let client_capabilities = match meta.remove(meta::CLIENT_CAPABILITIES) {
            None => return Err(EnvelopeError::Missing(meta::CLIENT_CAPABILITIES)),
            Some(v @ Value::Object(_)) => v,
            Some(_) => return Err(EnvelopeError::WrongType(meta::CLIENT_CAPABILITIES)),
        };
        let client_info = meta.remove(meta::CLIENT_INFO);
        let log_level = match meta.remove(meta::LOG_LEVEL) {
            Some(Value::String(level)) => Some(level),
            _ => None,
        };
        if meta.is_empty() {
            params.remove("_meta");
        }
        Ok(Self {
            protocol_version,
            client_capabilities,
            client_info,
            log_level,
        })
    }
}

/// The severity rank of a log level (RFC 5424 order, `debug` lowest).
pub fn log_rank(level: &str) -> Option<u8> {
    const LEVELS: [&str; 8] = [
        "debug",
        "info",
        "notice",
        "warning",
        "error",
        "critical",
        "alert",
        "emergency",
    ];
    LEVELS.iter().position(|l| *l == level).map(|i| i as u8)
}

/// The `UnsupportedProtocolVersion` error data: what the gateway serves and what was asked.
pub fn unsupported_version_data(requested: &str) -> Value {
    let mut data = Map::new();
    data.insert("supported".into(), Value::from(all_versions()));
    data.insert("requested".into(), Value::from(requested));
    Value::Object(data)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn header_values_round_trip_and_unsafe_ones_are_base64() {
        assert_eq!(encode_header_value("get_weather"), "get_weather");
        assert_eq!(
            encode_header_value("Hello, 世界"),
            "=?base64?SGVsbG8sIOS4lueVjA==?="
        );
        assert_eq!(encode_header_value(" padded "), "=?base64?IHBhZGRlZCA=?=");
        assert_eq!(
            encode_header_value("=?base64?literal?="),
            "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="
        );
        for v in [
            "plain",
            "Hello, 世界",
            " padded ",
            "line1\nline2",
            "=?base64?x?=",
        ] {
            assert_eq!(
                decode_header_value(&encode_header_value(v)).as_deref(),
                Some(v)
            );
        }
        assert_eq!(decode_header_value("=?base64?not base64!?="), None);
    }

    #[test]
    fn an_envelope_needs_a_version_and_capabilities() {
        let mut ok = json!({"_meta": {
            meta::PROTOCOL_VERSION: "2026-07-28",
            meta::CLIENT_CAPABILITIES: {},
            meta::CLIENT_INFO: {"name": "c", "version": "1"},
        }});
        let envelope = Envelope::take(Some(&mut ok)).expect("an envelope");
        assert_eq!(envelope.protocol_version, "2026-07-28");
        assert_eq!(
            envelope.client_info,
            Some(json!({"name": "c", "version": "1"}))
        );
        assert_eq!(Envelope::take(None), Err(EnvelopeError::NoMeta));
        let mut no_caps = json!({"_meta": {meta::PROTOCOL_VERSION: "2026-07-28"}});
        assert_eq!(
            Envelope::take(Some(&mut no_caps)),
            Err(EnvelopeError::Missing(meta::CLIENT_CAPABILITIES))
        );
    }

    #[test]
    fn taking_the_envelope_keeps_the_rest_of_meta() {
        let mut params = json!({"name": "t", "_meta": {
            meta::PROTOCOL_VERSION: "2026-07-28",
            meta::CLIENT_CAPABILITIES: {},
            meta::LOG_LEVEL: "info",
            "progressToken": 7,
        }});
        let envelope = Envelope::take(Some(&mut params)).expect("an envelope");
        assert_eq!(envelope.log_level.as_deref(), Some("info"));
        assert_eq!(params, json!({"name": "t", "_meta": {"progressToken": 7}}));
        let mut bare = json!({"_meta": {
            meta::PROTOCOL_VERSION: "2026-07-28",
            meta::CLIENT_CAPABILITIES: {},
        }});
        Envelope::take(Some(&mut bare)).expect("an envelope");
        assert_eq!(bare, json!({}));
    }

    #[test]
    fn the_versions_served_are_both_eras() {
        let all = all_versions();
        assert_eq!(all[0], "2026-07-28");
        assert!(all.contains(&"2025-11-25") && all.contains(&"2025-03-26"));
        assert_eq!(
            crate::mcp::Era::of(MODERN_VERSION),
            crate::mcp::Era::Stateless
        );
    }
}
