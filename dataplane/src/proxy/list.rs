//! List methods fan out to every toolkit in parallel and merge in route order.
//! The gateway's cursor is opaque to clients: base64url of a JSON map from
//! toolkit to that toolkit's own cursor, so each page asks only the toolkits
//! that have more to give.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mcpgw_config::Allow;
use serde_json::{Map, Value};

use super::relay::{exchange, upstream_challenge, upstream_error};
use super::{Proxy, Reply, Toolkit};
use crate::jsonrpc::{ErrorObject, Request, code};
use crate::metrics::Operation;
use crate::principal::Principal;
use crate::session::Session;
use crate::south::ClientError;

/// A paginated list method.
#[derive(Debug)]
pub(super) struct ListKind {
    /// The key of the items in the result.
    items: &'static str,
    /// The capability path a toolkit must declare to be asked.
    capability: &'static [&'static str],
    /// The item field allow-lists apply to, and how.
    filter: Option<(&'static str, AllowCheck)>,
}

/// One of [`Allow::tool`], [`Allow::prompt`], [`Allow::resource`].
type AllowCheck = fn(&Allow, &str) -> bool;

pub(super) const TOOLS: ListKind = ListKind {
    items: "tools",
    capability: &["tools"],
    filter: Some(("name", Allow::tool)),
};
pub(super) const PROMPTS: ListKind = ListKind {
    items: "prompts",
    capability: &["prompts"],
    filter: Some(("name", Allow::prompt)),
};
pub(super) const RESOURCES: ListKind = ListKind {
    items: "resources",
    capability: &["resources"],
    filter: Some(("uri", Allow::resource)),
};
pub(super) const TEMPLATES: ListKind = ListKind {
    items: "resourceTemplates",
    capability: &["resources"],
    filter: Some(("uriTemplate", Allow::resource)),
};
pub(super) const TASKS: ListKind = ListKind {
    items: "tasks",
    capability: &["tasks", "list"],
    filter: None,
};

impl ListKind {
    /// Drop the items `principal` may not see: only what a route admitting
    /// them allows is listed.
    fn retain_allowed(&self, toolkit: &Toolkit, principal: &Principal, result: &mut Value) {
        let Some((key, allowed)) = self.filter else {
            return;
        };
        if toolkit.unrestricted_for(principal) {
            return;
        }
        if let Some(Value::Array(items)) = result.get_mut(self.items) {
            items.retain(|item| {
                item.get(key)
                    .and_then(Value::as_str)
                    .is_some_and(|name| toolkit.lists(principal, allowed, name))
            });
        }
    }
}

/// Per-toolkit cursors, keyed by toolkit name.
type Cursors = BTreeMap<String, String>;

fn encode_cursor(cursors: &Cursors) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursors).unwrap_or_default())
}

fn decode_cursor(cursor: &str) -> Option<Cursors> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    serde_json::from_slice(&bytes).ok()
}

impl Proxy {
    pub(super) async fn list(
        &self,
        session: &Arc<Session>,
        principal: &Principal,
        request: Request,
        kind: &ListKind,
    ) -> Reply {
        let _guard = session.begin(request.id.clone(), None);
        let visible = self.visible(principal);
        let cursors = match request.param_str("cursor") {
            None => None,
            Some(c) => match decode_cursor(c) {
                Some(c) if c.keys().all(|k| visible.iter().any(|t| *t.name == **k)) => Some(c),
                _ => {
                    return Reply::error(
                        request.id,
                        ErrorObject::new(code::INVALID_PARAMS, "Invalid cursor"),
                    );
                }
            },
        };
        let caller = principal.token();
        let asks = visible.iter().filter_map(|toolkit| {
            let cursor = match &cursors {
                None => None,
                Some(c) => Some(c.get(&*toolkit.name)?.clone()),
            };
            let mut upstream_request = request.clone();
            let params = upstream_request
                .params
                .get_or_insert_with(|| Value::Object(Map::new()));
            if let Some(params) = params.as_object_mut() {
                match cursor {
                    Some(c) => params.insert("cursor".into(), Value::String(c)),
                    None => params.remove("cursor"),
                };
            }
            let method = request.method.as_str();
            Some(async move {
                // NB: one bound for the whole ask, opening the session included.
                let limit = toolkit.client.timeout();
                let ask = async {
                    let slot = session.upstream(&toolkit.name);
                    let upstream = match slot.get(&toolkit.client, &session.hello, caller).await {
                        Ok(u) => u,
                        Err(e) => return Some(Err(e)),
                    };
                    let declared = kind
                        .capability
                        .iter()
                        .try_fold(upstream.capabilities(), |v, k| v.get(k))
                        .is_some();
                    if !declared {
                        return None;
                    }
                    let exchanged = exchange(
                        &toolkit.client,
                        &slot,
                        &session.hello,
                        caller,
                        upstream_request,
                    )
                    .await;
                    Some(exchanged.map(|outcome| {
                        outcome.map(|mut result| {
                            kind.retain_allowed(toolkit, principal, &mut result);
                            self.naming
                                .expose_result(&toolkit.name, method, &mut result);
                            result
                        })
                    }))
                };
                let outcome = tokio::time::timeout(limit, ask)
                    .await
                    .unwrap_or_else(|_| Some(Err(ClientError::Timeout(limit))));
                (toolkit, outcome)
            })
        });
        let answers = futures_util::future::join_all(asks).await;

        let mut items = Vec::new();
        let mut next = Cursors::new();
        let mut first_error = None;
        let mut first_challenge = None;
        let mut answered = 0usize;
        for (toolkit, outcome) in answers {
            let outcome = match outcome {
                None => None,
                Some(Ok(outcome)) => Some(outcome),
                Some(Err(e)) => {
                    if first_challenge.is_none() && !toolkit.elicits_authorization(&e) {
                        first_challenge = upstream_challenge(&toolkit.name, &e);
                    }
                    Some(Err(upstream_error(&toolkit.name, &e)))
                }
            };
            match outcome {
                None => {}
                Some(Err(e)) => {
                    tracing::warn!(toolkit = %toolkit.name, method = %request.method, error = %e.message,
                        "toolkit left out of the list");
                    self.metrics.toolkit_failed(&toolkit.name, Operation::List);
                    first_error.get_or_insert(e);
                }
                Some(Ok(mut result)) => {
                    answered += 1;
                    if let Some(Value::Array(page)) = result.get_mut(kind.items) {
                        items.append(page);
                    }
                    if let Some(Value::String(c)) = result.get("nextCursor") {
                        next.insert(toolkit.name.to_string(), c.clone());
                    }
                }
            }
        }
        if answered == 0 {
            // Nothing to list: a toolkit's challenge tells the client how to get
            // more; otherwise the first failure says why.
            if let Some(challenge) = first_challenge {
                return Reply::Challenge(challenge);
            }
            if let Some(e) = first_error {
                return Reply::error(request.id, e);
            }
        }
        let mut result = Map::new();
        result.insert(kind.items.into(), Value::Array(items));
        if !next.is_empty() {
            result.insert("nextCursor".into(), Value::String(encode_cursor(&next)));
        }
        Reply::result(request.id, Value::Object(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_garbage_is_rejected() {
        let cursors = Cursors::from([("a".into(), "x=1".into()), ("b".into(), "".into())]);
        assert_eq!(decode_cursor(&encode_cursor(&cursors)), Some(cursors));
        assert_eq!(decode_cursor("not base64!"), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode(b"[1]")), None);
    }
}
