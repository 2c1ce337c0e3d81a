//! List methods fan out to every toolkit in parallel and merge in route order.
//! The gateway's cursor is opaque to clients: base64url of a JSON map from
//! toolkit to that toolkit's own cursor, so each page asks only the toolkits
//! that have more to give.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::relay::{upstream_challenge, upstream_error};
use super::{Challenge, Proxy, Reply, Toolkit};
use crate::cache::ListingKey;
use crate::call::Call;
use crate::jsonrpc::{ErrorObject, Request, code};
use crate::mcp::Method;
use crate::mcp::method::ListKind;
use crate::metrics::Operation;
use crate::principal::Principal;
use crate::south::ClientError;

/// Per-toolkit cursors, keyed by toolkit name.
type Cursors = BTreeMap<String, String>;

fn encode_cursor(cursors: &Cursors) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursors).unwrap_or_default())
}

fn decode_cursor(cursor: &str) -> Option<Cursors> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// What one toolkit gave to a list.
#[derive(Clone)]
enum Answer {
    /// Not asked: no cursor of its own on a later page, or it does not
    /// declare the list's capability.
    NotAsked,
    /// Its page, filtered for the caller and renamed.
    Page(Value),
    /// It answered the list with a JSON-RPC error of its own.
    Error(ErrorObject),
    /// It could not be asked.
    Failed(Arc<ClientError>),
}
impl Proxy {
    /// A page of `kind`'s list: one page from each toolkit the caller sees
    /// that has more to give, merged in route order.
    pub(super) async fn list(
        &self,
        call: &Call,
        method: &'static Method,
        kind: &ListKind,
        request: Request,
    ) -> Reply {
        let _guard = call.begin(request.id.clone(), None);
        let visible = self.visible(&call.principal);
        let cursors = match request.param_str("cursor").map(decode_cursor) {
            None => None,
            Some(Some(c)) if c.keys().all(|k| visible.iter().any(|t| *t.name == **k)) => Some(c),
            Some(_) => {
                let invalid = ErrorObject::new(code::INVALID_PARAMS, "Invalid cursor");
                return Reply::error(request.id, invalid);
            }
        };
        let request = &request;
        let asks = visible.iter().map(|toolkit| {
            let cursor = match &cursors {
                None => Some(None),
                // A page after the first asks only toolkits that have more.
                Some(c) => c.get(&*toolkit.name).map(|c| Some(c.clone())),
            };
            // NB: boxed: one ask (session, exchange, cache) is a large future,
            // and a fan-out holds one per toolkit.
            Box::pin(async move {
                let answer = match cursor {
                    Some(cursor) => self.ask(call, method, kind, toolkit, request, cursor).await,
                    None => Answer::NotAsked,
                };
                (toolkit, answer)
            })
        });
        let answers = futures_util::future::join_all(asks).await;
        self.merge(kind, request, answers)
    }

    /// One toolkit's page for the caller: the upstream's answer (from the
    /// listing cache when the proxy has one), then filtered and renamed.
    async fn ask(
        &self,
        call: &Call,
        method: &'static Method,
        kind: &ListKind,
        toolkit: &Arc<Toolkit>,
        request: &Request,
        cursor: Option<String>,
    ) -> Answer {
        let raw = match &self.cache {
            Some(cache) if kind.cacheable => {
                let key = ListingKey {
                    toolkit: toolkit.name.clone(),
                    toolkit_id: toolkit.listing.id,
                    epoch: toolkit.listing.epoch(),
                    list: method.name,
                    cursor: cursor.clone(),
                    version: call.version,
                    capabilities: call.capabilities_digest,
                    // NB: a toolkit that gets the caller's token may answer each
                    // caller differently; others answer everyone alike.
                    identity: toolkit
                        .client
                        .forwards_caller_token()
                        .then(|| call.principal.identity().map(Arc::from))
                        .flatten(),
                };
                let load = Box::pin(self.fetch(call, kind, toolkit, request, cursor));
                match cache.page(key, load).await {
                    Ok(page) => Ok(Value::clone(&page)),
                    Err(failure) => Err(Answer::clone(&failure)),
                }
            }
            _ => self.fetch(call, kind, toolkit, request, cursor).await,
        };
        match raw {
            Ok(mut page) => {
                retain_allowed(kind, toolkit, &call.principal, &mut page);
                self.naming.expose_result(&toolkit.name, method, &mut page);
                Answer::Page(page)
            }
            Err(answer) => answer,
        }
    }

    /// The toolkit's own page, bounded by its timeout (opening its session
    /// included); anything but a page is the `Err`.
    async fn fetch(
        &self,
        call: &Call,
        kind: &ListKind,
        toolkit: &Arc<Toolkit>,
        request: &Request,
        cursor: Option<String>,
    ) -> Result<Value, Answer> {
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
        // NB: one bound for the whole ask, opening the session included.
        let ask = async {
            let slot = call.upstream(&toolkit.name);
            let upstream = slot
                .get(&toolkit.client, &call.hello, call.caller())
                .await?;
            let declared = kind
                .capability
                .iter()
                .try_fold(upstream.capabilities(), |v, k| v.get(k))
                .is_some();
            if !declared {
                return Ok(Err(Answer::NotAsked));
            }
            let exchanged = slot
                .exchange(
                    &toolkit.client,
                    &call.hello,
                    call.caller(),
                    upstream_request,
                )
                .await?;
            Ok(exchanged.map_err(Answer::Error))
        };
        match toolkit.client.policy().bound(ask).await {
            Ok(outcome) => outcome,
            Err(e) => Err(Answer::Failed(Arc::new(e))),
        }
    }

    /// The merged page. A failed toolkit is left out (logged, counted); only
    /// when no toolkit answered does the client get the first failure, or a
    /// toolkit's challenge, which tells the client how to get more.
    fn merge(
        &self,
        kind: &ListKind,
        request: &Request,
        answers: Vec<(&Arc<Toolkit>, Answer)>,
    ) -> Reply {
        let mut items = Vec::new();
        let mut next = Cursors::new();
        let mut first_error = None;
        let mut first_challenge: Option<Challenge> = None;
        let mut answered = 0usize;
        for (toolkit, answer) in answers {
            let error = match answer {
                Answer::NotAsked => continue,
                Answer::Error(error) => error,
                Answer::Failed(e) => {
                    if first_challenge.is_none() && !toolkit.elicits_authorization(&e) {
                        first_challenge = upstream_challenge(&toolkit.name, &e);
                    }
                    upstream_error(&toolkit.name, &e)
                }
                Answer::Page(mut page) => {
                    answered += 1;
                    if let Some(Value::Array(page)) = page.get_mut(kind.items) {
                        items.append(page);
                    }
                    if let Some(Value::String(c)) = page.get("nextCursor") {
                        next.insert(toolkit.name.to_string(), c.clone());
                    }
                    continue;
                }
            };
            tracing::warn!(toolkit = %toolkit.name, method = %request.method, error = %error.message,
                "toolkit left out of the list");
            self.metrics.toolkit_failed(&toolkit.name, Operation::List);
            first_error.get_or_insert(error);
        }
        if answered == 0 {
            if let Some(challenge) = first_challenge {
                return Reply::Challenge(challenge);
            }
            if let Some(e) = first_error {
                return Reply::error(request.id.clone(), e);
            }
        }
        let mut result = Map::new();
        result.insert(kind.items.into(), Value::Array(items));
        if !next.is_empty() {
            result.insert("nextCursor".into(), Value::String(encode_cursor(&next)));
        }
        Reply::result(request.id.clone(), Value::Object(result))
    }
}

/// Drop the items `principal` may not see: only what a route admitting them
/// allows is listed.
fn retain_allowed(kind: &ListKind, toolkit: &Toolkit, principal: &Principal, page: &mut Value) {
    let Some((key, target)) = kind.filter else {
        return;
    };
    if toolkit.unrestricted_for(principal) {
        return;
    }
    if let Some(Value::Array(items)) = page.get_mut(kind.items) {
        items.retain(|item| {
            item.get(key)
                .and_then(Value::as_str)
                .is_some_and(|name| toolkit.lists(principal, target, name))
        });
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
