//! What every result a modern client receives must carry: `resultType`,
//! the server's identity in `_meta`, and for the cacheable results the
//! caching hints (`ttlMs`, `cacheScope`). Results of 2025-era toolkits have
//! none of them; the gateway adds what is missing and leaves the rest.

use std::ops::Range;
use std::sync::{Arc, LazyLock};

use bytes::{BufMut, Bytes, BytesMut};
use memchr::memmem;
use serde_json::{Map, Value};

use super::meta;
use crate::jsonrpc::{Message, RawSuccess, Response};

/// Methods whose complete results carry caching hints.
pub fn is_cacheable(method: &str) -> bool {
    matches!(
        method,
        "server/discover"
            | "tools/list"
            | "prompts/list"
            | "resources/list"
            | "resources/templates/list"
            | "resources/read"
    )
}

/// The hints the gateway gives: stale at once, and never shared between
/// callers (what a toolkit lists depends on the caller's capabilities and
/// roles, so a listing is never the same for everyone).
const TTL_MS: u64 = 0;
const CACHE_SCOPE: &str = "private";

/// How the results of one proxy's requests are stamped: the gateway's
/// identity, and the fields written in front of a result that has none of
/// them, encoded once (not per call) for either kind of method.
#[derive(Debug)]
pub struct Stamps {
    server_info: Value,
    /// The members a bare result gets (no braces), without and with caching hints.
    plain: Vec<u8>,
    hinted: Vec<u8>,
}

impl Stamps {
    pub fn new(server_info: Value) -> Arc<Self> {
        let members = |cacheable| {
            let mut fields = Value::Object(Map::new());
            stamp(&server_info, cacheable, &mut fields);
            let mut text = serde_json::to_vec(&fields).unwrap_or_default();
            // `{…}` → `…`
            text.pop();
            text.remove(0);
            text
        };
        Arc::new(Self {
            plain: members(false),
            hinted: members(true),
            server_info,
        })
    }
}

/// How to stamp the results of one request.
#[derive(Clone, Debug)]
pub struct Stamp {
    stamps: Arc<Stamps>,
    /// Whether the method's results carry caching hints.
    cacheable: bool,
}

/// Add what `result` lacks (see [`Stamp::result`]).
fn stamp(server_info: &Value, cacheable: bool, result: &mut Value) {
    let Some(obj) = result.as_object_mut() else {
        return;
    };
    let complete = match obj.get("resultType") {
        None => {
            obj.insert("resultType".into(), Value::from("complete"));
            true
        }
        Some(kind) => kind == "complete",
    };
    let meta = obj
        .entry("_meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(meta) = meta.as_object_mut() {
        meta.entry(meta::SERVER_INFO)
            .or_insert_with(|| server_info.clone());
    }
    if complete && cacheable {
        obj.entry("ttlMs").or_insert_with(|| Value::from(TTL_MS));
        obj.entry("cacheScope")
            .or_insert_with(|| Value::from(CACHE_SCOPE));
    }
}

/// The members a stamped result may already have, each searched for with a
/// searcher built once (building one per search cost more than the search).
static STAMPED_KEYS: LazyLock<[memmem::Finder<'static>; 4]> = LazyLock::new(|| {
    [
        r#""resultType""#,
        r#""_meta""#,
        r#""ttlMs""#,
        r#""cacheScope""#,
    ]
    .map(memmem::Finder::new)
});

impl Stamp {
    /// How to stamp the results of `method`.
    pub fn new(stamps: &Arc<Stamps>, method: &str) -> Self {
        Self {
            stamps: stamps.clone(),
            cacheable: is_cacheable(method),
        }
    }

    /// Add what `result` lacks: `resultType` (`complete` when absent), the
    /// server's identity, and the caching hints of a complete cacheable result.
    pub fn result(&self, result: &mut Value) {
        stamp(&self.stamps.server_info, self.cacheable, result);
    }

    /// Stamp an encoded success response, whose result lies at `result` when
    /// that is known (else the bytes are read for it). A result that has none
    /// of the fields gets them written in front of its own, without being
    /// decoded; anything else is decoded and stamped. `None` when `bytes` is
    /// not a success response.
    pub fn encoded(&self, bytes: &[u8], result: Option<Range<usize>>) -> Option<Bytes> {
        let result = match result {
            Some(known) => known,
            None => RawSuccess::peek(bytes)?.result,
        };
        let text = bytes.get(result.clone())?;
        let untouched =
            text.first() == Some(&b'{') && STAMPED_KEYS.iter().all(|key| key.find(text).is_none());
        if !untouched {
            let mut message = Message::decode(bytes).ok()?;
            let Message::Response(Response {
                outcome: Ok(result),
                ..
            }) = &mut message
            else {
                return None;
            };
            self.result(result);
            return Some(message.encode());
        }
        // `{…}` becomes `{` + the stamped members + `,` + the result's own members + `}`.
        let inner: &[u8] = if self.cacheable {
            &self.stamps.hinted
        } else {
            &self.stamps.plain
        };
        let start = result.start;
        let rest = &text[1..];
        let empty = rest.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'}');
        let mut out = BytesMut::with_capacity(bytes.len() + inner.len() + 2);
        out.put_slice(&bytes[..=start]);
        out.put_slice(inner);
        if !empty {
            out.put_u8(b',');
        }
        out.put_slice(&bytes[start + 1..]);
        Some(out.freeze())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stamp(cacheable: bool) -> Stamp {
        let stamps = Stamps::new(json!({"name": "mcpgw", "version": "1"}));
        let method = if cacheable {
            "tools/list"
        } else {
            "tools/call"
        };
        Stamp::new(&stamps, method)
    }

    fn decoded(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).expect("JSON")
    }

    #[test]
    fn a_legacy_list_result_gets_every_field() {
        let body = br#"{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}"#;
        let out = decoded(&stamp(true).encoded(body, None).expect("stamped"));
        assert_eq!(
            out["result"],
            json!({
                "tools": [],
                "resultType": "complete",
                "ttlMs": 0,
                "cacheScope": "private",
                "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "mcpgw", "version": "1"}},
            })
        );
        assert_eq!(out["id"], 1);
    }

    #[test]
    fn an_empty_result_and_one_with_meta_are_stamped_too() {
        let empty = br#"{"jsonrpc":"2.0","id":"a","result":{ }}"#;
        let out = decoded(&stamp(false).encoded(empty, None).expect("stamped"));
        assert_eq!(out["result"]["resultType"], "complete");
        assert!(out["result"].get("ttlMs").is_none());

        let with_meta = br#"{"jsonrpc":"2.0","id":2,"result":{"content":[],"_meta":{"k":1}}}"#;
        let out = decoded(&stamp(false).encoded(with_meta, None).expect("stamped"));
        assert_eq!(out["result"]["_meta"]["k"], 1);
        assert_eq!(
            out["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
            "mcpgw"
        );
    }

    #[test]
    fn what_a_modern_result_already_says_is_kept() {
        let mut result = json!({"resultType": "input_required", "inputRequests": {}});
        stamp(true).result(&mut result);
        assert_eq!(result["resultType"], "input_required");
        assert!(
            result.get("ttlMs").is_none(),
            "interim results carry no hints"
        );
        let mut listed = json!({"resultType": "complete", "ttlMs": 5000, "cacheScope": "public"});
        stamp(true).result(&mut listed);
        assert_eq!(listed["ttlMs"], 5000);
        assert_eq!(listed["cacheScope"], "public");
    }
}
