//! `subscriptions/listen` (2026-07-28): one long-lived stream of the change
//! notifications a client opts in to (list changes, updates of named
//! resources), gathered from every toolkit the caller sees, whatever its era:
//! a 2026-07-28 toolkit is asked by its own `subscriptions/listen`, a 2025
//! one through its upstream session's `GET` stream (and `resources/subscribe`
//! for the resources named). What arrives is renamed, stamped with the
//! subscription's id, and heard by the listing cache on the way.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::relay::keep_alive;
use super::subscribe::listen_upstream;
use super::{Proxy, Toolkit};
use crate::call::Call;
use crate::jsonrpc::{ErrorObject, Message, Notification, Request, RequestId, Response, code};
use crate::mcp::method::{
    PROMPTS_LIST_CHANGED, RESOURCES_LIST_CHANGED, RESOURCES_SUBSCRIBE, RESOURCES_UNSUBSCRIBE,
    RESOURCES_UPDATED, TOOLS_LIST_CHANGED, Target,
};
use crate::south::MessageStream;
use crate::{era, ids, sse};

pub use crate::mcp::method::LISTEN;
/// The notification that opens every subscription stream.
pub(super) const ACKNOWLEDGED: &str = "notifications/subscriptions/acknowledged";

/// What a subscription asks for (a `SubscriptionFilter`), with resource URIs
/// as the toolkit knows them.
#[derive(Clone, Debug, Default, PartialEq)]
struct Filter {
    tools: bool,
    prompts: bool,
    resources: bool,
    uris: Vec<String>,
}

impl Filter {
    fn read(notifications: &Value) -> Self {
        let flag = |key: &str| notifications.get(key).and_then(Value::as_bool) == Some(true);
        let uris = notifications
            .get("resourceSubscriptions")
            .and_then(Value::as_array)
            .map(|uris| {
                uris.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Self {
            tools: flag("toolsListChanged"),
            prompts: flag("promptsListChanged"),
            resources: flag("resourcesListChanged"),
            uris,
        }
    }

    /// The filter as the wire writes it (flags that are off left out).
    fn to_value(&self, uris: &[String]) -> Value {
        let mut out = Map::new();
        for (on, key) in [
            (self.tools, "toolsListChanged"),
            (self.prompts, "promptsListChanged"),
            (self.resources, "resourcesListChanged"),
        ] {
            if on {
                out.insert(key.into(), Value::Bool(true));
            }
        }
        if !uris.is_empty() {
            out.insert("resourceSubscriptions".into(), Value::from(uris));
        }
        Value::Object(out)
    }

    /// Whether a toolkit's notification is one this subscription asked for.
    fn wants(&self, notification: &Notification) -> bool {
        let method = notification.method.as_str();
        if TOOLS_LIST_CHANGED.is(method) {
            self.tools
        } else if PROMPTS_LIST_CHANGED.is(method) {
            self.prompts
        } else if RESOURCES_LIST_CHANGED.is(method) {
            self.resources
        } else if RESOURCES_UPDATED.is(method) {
            let uri = notification.params.as_ref().and_then(|p| p.get("uri"));
            uri.and_then(Value::as_str)
                .is_some_and(|uri| self.uris.iter().any(|u| u == uri))
        } else {
            false
        }
    }
}

/// `params._meta` naming the subscription a message belongs to.
fn stamp(params: &mut Value, id: &RequestId) {
    if !params.is_object() {
        *params = json!({});
    }
    if let Some(obj) = params.as_object_mut() {
        let meta = obj.entry("_meta").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert(era::meta::SUBSCRIPTION_ID.into(), id.to_value());
        }
    }
}

impl Proxy {
    /// Serve a client's `subscriptions/listen`: the stream of its frames,
    /// opening with the acknowledgment of what the gateway honours (every
    /// list change asked for; the resources asked for that name an item the
    /// caller may read), then the toolkits' matching notifications until the
    /// client closes it. When a reload changes what can be listed
    /// (`reloaded`), the lists asked for are said to have changed and the
    /// subscription ends gracefully: the client listens again, to the
    /// toolkits as now configured. Refused when the request has no filter.
    pub async fn listen(
        &self,
        call: &Call,
        request: &Request,
        mut reloaded: watch::Receiver<u64>,
    ) -> Result<mpsc::Receiver<Bytes>, ErrorObject> {
        let Some(notifications) = request.params.as_ref().and_then(|p| p.get("notifications"))
        else {
            return Err(ErrorObject::new(
                code::INVALID_PARAMS,
                "subscriptions/listen needs params.notifications",
            ));
        };
        let asked = Filter::read(notifications);
        // Each resource goes to the toolkit it names, as that toolkit knows it.
        let mut by_toolkit: HashMap<Arc<str>, Vec<String>> = HashMap::new();
        let mut honoured = Vec::new();
        for exposed in &asked.uris {
            let Some((toolkit, uri)) = self
                .naming
                .split_uri(exposed)
                .and_then(|(t, uri)| Some((self.toolkit(t)?, uri)))
            else {
                continue;
            };
            if matches!(
                toolkit.decide(&call.principal, Target::Resource, uri),
                super::access::Decision::Allowed
            ) {
                by_toolkit
                    .entry(toolkit.name.clone())
                    .or_default()
                    .push(uri.to_owned());
                honoured.push(exposed.clone());
            }
        }
        let id = request.id.clone();
        let (tx, rx) = mpsc::channel(super::relay::STREAM_BUFFER);
        let stop = CancellationToken::new();
        reloaded.mark_unchanged();
        let sources = self.visible(&call.principal).into_iter().map(|toolkit| {
            let filter = Filter {
                uris: by_toolkit.remove(&toolkit.name).unwrap_or_default(),
                ..asked.clone()
            };
            let source = Source {
                toolkit,
                call: call.clone(),
                filter,
                id: id.clone(),
                naming: self.naming.clone(),
                tx: tx.clone(),
                stop: stop.clone(),
            };
            async move {
                let opened = source.open().await;
                (source, opened)
            }
        });
        // Every toolkit's side is open before the acknowledgment, so that
        // nothing it sends after that falls in a gap.
        let opened = futures_util::future::join_all(sources).await;
        let mut ack = json!({ "notifications": asked.to_value(&honoured) });
        stamp(&mut ack, &id);
        let ack = Message::Notification(Notification::new(ACKNOWLEDGED, Some(ack)));
        // NB: nothing was sent yet, so the fresh channel has room: the
        // acknowledgment is the first frame.
        let _ = tx.try_send(sse::message_event(&ack.encode()));
        for (source, opened) in opened {
            if let Some(stream) = opened {
                // Ends when the client closes the stream (or the toolkit does).
                tokio::spawn(source.relay(stream));
            }
        }
        tokio::spawn(end_on_reload(reloaded, asked, id, tx.clone(), stop.clone()));
        keep_alive(tx, stop);
        Ok(rx)
    }
}

/// After a reload that changed what can be listed: the list changes asked
/// for, then the subscription's graceful end (its response), and every feed
/// of the stream stops.
async fn end_on_reload(
    mut reloaded: watch::Receiver<u64>,
    asked: Filter,
    id: RequestId,
    tx: mpsc::Sender<Bytes>,
    stop: CancellationToken,
) {
    tokio::select! {
        changed = reloaded.changed() => if changed.is_err() { return },
        () = tx.closed() => return,
        () = stop.cancelled() => return,
    }
    stop.cancel();
    for (on, method) in [
        (asked.tools, &TOOLS_LIST_CHANGED),
        (asked.prompts, &PROMPTS_LIST_CHANGED),
        (asked.resources, &RESOURCES_LIST_CHANGED),
    ] {
        if on {
            let mut params = json!({});
            stamp(&mut params, &id);
            let note = Message::Notification(Notification::new(method.name, Some(params)));
            if tx.send(sse::message_event(&note.encode())).await.is_err() {
                return;
            }
        }
    }
    let mut result = json!({"resultType": "complete"});
    stamp(&mut result, &id);
    let end = Message::Response(Response::ok(id, result));
    let _ = tx.send(sse::message_event(&end.encode())).await;
}

/// One toolkit's share of a subscription.
struct Source {
    toolkit: Arc<Toolkit>,
    call: Call,
    /// What the subscription asks of this toolkit (its own URIs).
    filter: Filter,
    /// The client's `subscriptions/listen` id.
    id: RequestId,
    naming: super::Naming,
    tx: mpsc::Sender<Bytes>,
    /// Cancelled when the subscription ends on the gateway's side.
    stop: CancellationToken,
}

impl Source {
    /// Open the toolkit's side of the subscription: its own
    /// `subscriptions/listen` (2026-07-28), or its upstream session's `GET`
    /// stream and a `resources/subscribe` per resource asked of it (2025).
    /// `None` when nothing is asked of it or it has nothing to give.
    async fn open(&self) -> Option<MessageStream> {
        let filter = &self.filter;
        if !(filter.tools || filter.prompts || filter.resources || !filter.uris.is_empty()) {
            return None;
        }
        let toolkit = &self.toolkit;
        let slot = self.call.upstream(toolkit);
        let (hello, caller) = (&self.call.hello, self.call.caller());
        let upstream = match slot.get(&toolkit.client, hello, caller).await {
            Ok(upstream) => upstream,
            Err(e) => {
                tracing::debug!(toolkit = %toolkit.name, error = %e, "no upstream for subscriptions/listen");
                return None;
            }
        };
        if upstream.is_modern() {
            let asked = filter.to_value(&filter.uris);
            return listen_upstream(toolkit, &slot, hello, caller, asked).await;
        }
        match toolkit.client.get_stream(upstream.headers(caller)).await {
            Ok(Some(stream)) => {
                self.subscribe(RESOURCES_SUBSCRIBE.name).await;
                Some(stream)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::debug!(toolkit = %toolkit.name, error = %e, "no upstream GET stream");
                None
            }
        }
    }

    /// Pass on what the client asked for until the client or the toolkit
    /// ends the stream.
    async fn relay(self, mut stream: MessageStream) {
        self.pass_on(&mut stream).await;
        if !self.filter.uris.is_empty()
            && let Some(upstream) = self.call.upstream(&self.toolkit).current()
            && !upstream.is_modern()
        {
            self.subscribe(RESOURCES_UNSUBSCRIBE.name).await;
        }
    }

    async fn pass_on(&self, stream: &mut MessageStream) {
        loop {
            let next = tokio::select! {
                next = self.toolkit.client.next(stream) => next,
                () = self.tx.closed() => return,
                () = self.stop.cancelled() => return,
            };
            let Some(Ok(message)) = next else {
                return;
            };
            // The listing cache hears list changes whoever asked for them.
            self.toolkit.heard(&message);
            let Message::Notification(mut notification) = message else {
                continue;
            };
            if !self.filter.wants(&notification) {
                continue;
            }
            let params = notification.params.get_or_insert_with(|| json!({}).into());
            self.naming
                .expose_params(&self.toolkit.name, &notification.method, params);
            stamp(params, &self.id);
            let frame = sse::message_event(&Message::Notification(notification).encode());
            if self.tx.send(frame).await.is_err() {
                return;
            }
        }
    }

    /// `resources/subscribe` (or `…/unsubscribe`) each resource asked of a
    /// 2025 toolkit that offers subscriptions, best effort.
    async fn subscribe(&self, method: &str) {
        let toolkit = &self.toolkit;
        for uri in &self.filter.uris {
            let request = Request::new(
                ids::gateway_to_upstream("subscribe"),
                method,
                Some(json!({ "uri": uri })),
            );
            let asked = self
                .call
                .upstream(toolkit)
                .ask(
                    &toolkit.client,
                    &self.call.hello,
                    self.call.caller(),
                    &["resources", "subscribe"],
                    request,
                )
                .await;
            if let Err(e) = asked {
                tracing::debug!(toolkit = %toolkit.name, method, error = %e, "resource subscription failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscription_passes_on_only_what_it_asked_for() {
        let filter = Filter::read(&json!({
            "toolsListChanged": true,
            "promptsListChanged": false,
            "resourceSubscriptions": ["file:///a", 7],
        }));
        assert_eq!(filter.uris, ["file:///a"]);
        let note = |method: &str, params: Option<Value>| Notification::new(method, params);
        assert!(filter.wants(&note(TOOLS_LIST_CHANGED.name, None)));
        assert!(!filter.wants(&note(PROMPTS_LIST_CHANGED.name, None)));
        assert!(!filter.wants(&note(RESOURCES_LIST_CHANGED.name, None)));
        assert!(filter.wants(&note(
            RESOURCES_UPDATED.name,
            Some(json!({"uri": "file:///a"}))
        )));
        assert!(!filter.wants(&note(
            RESOURCES_UPDATED.name,
            Some(json!({"uri": "file:///b"}))
        )));
        assert!(!filter.wants(&note("notifications/message", None)));
        assert_eq!(
            filter.to_value(&filter.uris),
            json!({"toolsListChanged": true, "resourceSubscriptions": ["file:///a"]})
        );
    }

    #[test]
    fn every_frame_names_its_subscription() {
        let mut params = json!({"uri": "x", "_meta": {"k": 1}});
        stamp(&mut params, &RequestId::Number(4));
        assert_eq!(
            params,
            json!({"uri": "x", "_meta": {"k": 1, era::meta::SUBSCRIPTION_ID: 4}})
        );
    }
}
