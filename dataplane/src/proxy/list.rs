//! List methods fan out to every toolkit in parallel and merge in route order.
//! The gateway's cursor is opaque to clients: base64url of a JSON map from
//! toolkit to that toolkit's own cursor, so each page asks only the toolkits
//! that have more to give.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::relay::{upstream_challenge, upstream_error};
use super::{Challenge, Naming, Proxy, Reply, Toolkit};
use crate::cache::{CachedPage, ListingKey};
use crate::call::Call;
use crate::ids;
use crate::jsonrpc::encode_result;
use crate::jsonrpc::{ErrorObject, Request, code};
use crate::mcp::Method;
use crate::mcp::method::{Handling, ListKind, TOOLS_LIST};
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

/// A toolkit's page as a caller gets it: the cached one itself (the caller may
/// see all of it), or a copy filtered for the caller.
#[derive(Clone)]
enum Listed {
    Shared(Arc<CachedPage>),
    Owned(Value),
}

impl Listed {
    fn page(&self) -> &Value {
        match self {
            Self::Shared(page) => &page.exposed,
            Self::Owned(page) => page,
        }
    }
}

/// What one toolkit gave to a list.
#[derive(Clone)]
enum Answer {
    /// Not asked: no cursor of its own on a later page, or it does not
    /// declare the list's capability.
    NotAsked,
    /// Its page, filtered for the caller and renamed.
    Page(Listed),
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
        let Some(cache) = self.cache.as_ref().filter(|_| kind.cacheable) else {
            return match self.fetch(call, kind, toolkit, request, cursor).await {
                Ok(mut page) => {
                    retain_allowed(kind, toolkit, &call.principal, &mut page);
                    self.naming.expose_result(&toolkit.name, method, &mut page);
                    Answer::Page(Listed::Owned(page))
                }
                Err(answer) => answer,
            };
        };
        let key = ListingKey {
            toolkit: toolkit.name.clone(),
            toolkit_id: toolkit.listing.id,
            epoch: toolkit.listing.epoch(),
            list: method.name,
            cursor: cursor.clone(),
            version: call.version,
            capabilities: call.capabilities_digest,
            // NB: a toolkit that gets the caller's token may answer each caller
            // differently; others answer everyone alike.
            identity: toolkit
                .client
                .forwards_caller_token()
                .then(|| call.principal.identity().map(Arc::from))
                .flatten(),
            prefixed: matches!(self.naming, Naming::Prefixed),
        };
        let load = Box::pin(async {
            let raw = self.fetch(call, kind, toolkit, request, cursor).await?;
            // NB: on a load only, not on every hit.
            self.watch_lists(call, toolkit);
            let mut exposed = raw.clone();
            self.naming
                .expose_result(&toolkit.name, method, &mut exposed);
            Ok(CachedPage { raw, exposed })
        });
        let page = match cache.page(key, call.principal.identity(), load).await {
            Ok(page) => page,
            Err(failure) => return failure,
        };
        // NB: what a caller may see is filtered after the cache, on a copy.
        if kind.filter.is_none() || toolkit.unrestricted_for(&call.principal) {
            return Answer::Page(Listed::Shared(page));
        }
        let mut filtered = page.raw.clone();
        retain_allowed(kind, toolkit, &call.principal, &mut filtered);
        self.naming
            .expose_result(&toolkit.name, method, &mut filtered);
        Answer::Page(Listed::Owned(filtered))
    }

    /// The toolkit's own page, bounded by its policy (opening its session
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
            .get_or_insert_with(|| Value::Object(Map::new()).into());
        if let Some(params) = params.as_object_mut() {
            match cursor {
                Some(c) => params.insert("cursor".into(), Value::String(c)),
                None => params.remove("cursor"),
            };
        }
        let asked = call
            .upstream(toolkit)
            .ask(
                &toolkit.client,
                &call.hello,
                call.caller(),
                kind.capability,
                upstream_request,
            )
            .await;
        match asked {
            Ok(Some(outcome)) => {
                let mut page = outcome.map_err(Answer::Error)?;
                // NB: learnt where the page comes from the toolkit (before any
                // cache), so that calls carry the headers its tools ask for.
                if request.method == "tools/list" {
                    toolkit.client.param_headers().learn(&mut page);
                }
                Ok(page)
            }
            Ok(None) => Err(Answer::NotAsked),
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
        let mut pages = Vec::new();
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
                Answer::Page(listed) => {
                    answered += 1;
                    if let Some(Value::String(c)) = listed.page().get("nextCursor") {
                        next.insert(toolkit.name.to_string(), c.clone());
                    }
                    pages.push(listed);
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
        let merged = Merged {
            items: kind.items,
            pages: &pages,
            next_cursor: (!next.is_empty()).then(|| encode_cursor(&next)),
        };
        Reply::Json(encode_result(&request.id, &merged), None)
    }
}

impl Proxy {
    /// List `toolkit`'s tools again (every page, at most 100) so that the
    /// gateway learns their `x-mcp-header` annotations, after the toolkit
    /// refused `request` (a `tools/call`) for its `Mcp-Param-*` headers: a
    /// replica that never listed the tool sent none. Whether what is known of
    /// the called tool changed, so that sending the call again may succeed.
    pub(super) async fn relearn_tools(
        &self,
        call: &Call,
        toolkit: &Arc<Toolkit>,
        request: &Request,
    ) -> bool {
        let (Some(tool), Handling::List(kind)) = (request.param_str("name"), &TOOLS_LIST.handling)
        else {
            return false;
        };
        let params = toolkit.client.param_headers();
        let before = params.of(tool);
        let list = Request::new(ids::gateway_to_upstream("relearn"), TOOLS_LIST.name, None);
        let mut cursor = None;
        for _ in 0..100 {
            let Ok(page) = self.fetch(call, kind, toolkit, &list, cursor).await else {
                return false;
            };
            cursor = page
                .get("nextCursor")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
        let after = params.of(tool);
        tracing::info!(toolkit = %toolkit.name, tool, learnt = after.is_some(), "tools listed again after a header mismatch");
        after.is_some() && after != before
    }
}

/// The merged list result, written from the pages as they are (a shared cached
/// page is not copied): `{"<items>": [...], "nextCursor": ...}`.
struct Merged<'a> {
    items: &'static str,
    pages: &'a [Listed],
    next_cursor: Option<String>,
}

impl Serialize for Merged<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Items<'a>(&'a [Listed], &'static str);
        impl Serialize for Items<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let items = self
                    .0
                    .iter()
                    .filter_map(|listed| listed.page().get(self.1)?.as_array())
                    .flatten();
                serializer.collect_seq(items)
            }
        }
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry(self.items, &Items(self.pages, self.items))?;
        if let Some(cursor) = &self.next_cursor {
            map.serialize_entry("nextCursor", cursor)?;
        }
        map.end()
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
