//! The gateway's own subscriptions to toolkits of the 2026-07-28 era, which
//! have no `GET` stream and no `resources/subscribe`: opening one
//! ([`listen_upstream`]), what a 2025 session gets of them (list changes on
//! its `GET` stream, the resources it subscribed to), and the listing cache's
//! watch of a toolkit's list changes.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use super::listen::{ACKNOWLEDGED, LISTEN};
use super::{Proxy, Reply, Toolkit};
use crate::call::Call;
use crate::guard::Token;
use crate::jsonrpc::{ErrorObject, Message, Request, Response, code};
use crate::mcp::Method;
use crate::mcp::method::RESOURCES_SUBSCRIBE;
use crate::south::{Hello, MessageStream, PostReply, UpstreamSlot};
use crate::{era, ids, sse};

impl Proxy {
    /// Keep the listing cache's pages of a 2026-07-28 toolkit from outliving
    /// a change while no client listens: once a page of it is loaded, the
    /// gateway listens to its list changes itself (one subscription per
    /// toolkit, opened with the loading call's upstream, until the toolkit
    /// ends it or a reload replaces the toolkit; the next load opens it
    /// again). Not for a toolkit that gets the caller's token, which the
    /// subscription would outlive.
    pub(super) fn watch_lists(&self, call: &Call, toolkit: &Arc<Toolkit>) {
        if toolkit.client.forwards_caller_token() {
            return;
        }
        let slot = call.upstream(toolkit);
        if !slot.current().is_some_and(|u| u.is_modern())
            || toolkit.watching.swap(true, Ordering::AcqRel)
        {
            return;
        }
        // NB: weak, so that a toolkit a reload dropped is not kept alive.
        let weak = Arc::downgrade(toolkit);
        let (client, hello, gone) = (
            toolkit.client.clone(),
            call.hello.clone(),
            toolkit.gone.clone(),
        );
        tokio::spawn(async move {
            let opened = match weak.upgrade() {
                Some(toolkit) => {
                    listen_upstream(&toolkit, &slot, &hello, None, every_list_change()).await
                }
                None => return,
            };
            if let Some(mut stream) = opened {
                loop {
                    let next = tokio::select! {
                        next = client.next(&mut stream) => next,
                        () = gone.cancelled() => return,
                    };
                    let (Some(Ok(message)), Some(toolkit)) = (next, weak.upgrade()) else {
                        break;
                    };
                    toolkit.heard(&message);
                }
            }
            if let Some(toolkit) = weak.upgrade() {
                toolkit.watching.store(false, Ordering::Release);
            }
        });
    }
}

impl Proxy {
    /// A 2025 client's `resources/subscribe` (or `…/unsubscribe`) of a
    /// resource of a toolkit of the 2026-07-28 era, which has neither
    /// method: the gateway subscribes to the resource itself (the toolkit's
    /// own `subscriptions/listen` for it) and sends its updates on the
    /// session's `GET` stream, until the client unsubscribes or the session
    /// ends. `None` outside a session or for a toolkit of the 2025 era (it
    /// gets the request as it is).
    pub(super) async fn resource_subscription(
        &self,
        call: &Call,
        method: &Method,
        toolkit: &Arc<Toolkit>,
        request: &Request,
    ) -> Option<Reply> {
        let subscribe = RESOURCES_SUBSCRIBE.is(method.name);
        let session = call.session.as_ref()?;
        let slot = call.upstream(toolkit);
        let upstream = slot
            .get(&toolkit.client, &call.hello, call.caller())
            .await
            .ok()?;
        if !upstream.is_modern() {
            return None;
        }
        let uri = request.param_str("uri")?;
        let key = format!("{}\u{0}{uri}", toolkit.name);
        let done = Reply::Message(Message::Response(Response::ok(
            request.id.clone(),
            crate::jsonrpc::empty_result(),
        )));
        if !subscribe {
            session.unwatch_resource(&key);
            return Some(done);
        }
        let asked = json!({ "resourceSubscriptions": [uri] });
        let Some(mut stream) =
            listen_upstream(toolkit, &slot, &call.hello, call.caller(), asked).await
        else {
            let error = ErrorObject::new(
                code::METHOD_NOT_FOUND,
                format!(
                    "toolkit `{}` offers no resource subscriptions",
                    toolkit.name
                ),
            );
            return Some(Reply::Message(Message::Response(Response::error(
                Some(request.id.clone()),
                error,
            ))));
        };
        let stop = session.watch_resource(key);
        let (session, toolkit, naming) = (session.clone(), toolkit.clone(), self.naming.clone());
        tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    next = toolkit.client.next(&mut stream) => next,
                    () = stop.cancelled() => return,
                };
                let Some(Ok(mut message)) = next else {
                    return;
                };
                if !for_a_session(&mut message) {
                    continue;
                }
                if let Message::Notification(n) = &mut message
                    && let Some(params) = n.params.as_mut()
                {
                    naming.expose_params(&toolkit.name, &n.method, params);
                }
                session.notify(sse::message_event(&message.encode()));
            }
        });
        Some(done)
    }
}

/// `toolkit`'s own `subscriptions/listen` (a 2026-07-28 toolkit's upstream
/// in `slot`) for the notifications `asked` (a `SubscriptionFilter`): its
/// stream, or `None` when it offers none.
pub(super) async fn listen_upstream(
    toolkit: &Toolkit,
    slot: &UpstreamSlot,
    hello: &Hello,
    caller: Option<&Token>,
    asked: Value,
) -> Option<MessageStream> {
    let params = json!({ "notifications": asked });
    let listen = Request::new(ids::gateway_to_upstream("listen"), LISTEN, Some(params));
    match slot
        .post(&toolkit.client, hello, caller, &Message::Request(listen))
        .await
    {
        Ok((_, PostReply::Stream { stream, .. })) => Some(*stream),
        Ok(_) => {
            tracing::debug!(toolkit = %toolkit.name, "subscriptions/listen answered without a stream");
            None
        }
        Err(e) => {
            tracing::debug!(toolkit = %toolkit.name, error = %e, "subscriptions/listen refused");
            None
        }
    }
}

/// Every list change: what a 2025 session's `GET` stream carries.
pub(super) fn every_list_change() -> Value {
    json!({"toolsListChanged": true, "promptsListChanged": true, "resourcesListChanged": true})
}

/// A message of a toolkit's own subscription as a 2025 session's `GET`
/// stream carries it: without the subscription id; `false` for the
/// acknowledgment, which that era has not.
pub(super) fn for_a_session(message: &mut Message) -> bool {
    let Message::Notification(notification) = message else {
        return true;
    };
    if notification.method == ACKNOWLEDGED {
        return false;
    }
    if let Some(meta) = notification
        .params
        .as_mut()
        .and_then(|p| p.get_mut("_meta"))
        .and_then(Value::as_object_mut)
    {
        meta.remove(era::meta::SUBSCRIPTION_ID);
    }
    true
}
