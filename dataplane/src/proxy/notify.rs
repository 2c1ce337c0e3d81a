//! What a client sends that is not a request for an answer from one toolkit:
//! notifications (cancellations go where the request went, the rest to every
//! toolkit the session has open) and `logging/setLevel`, which every toolkit
//! that logs hears (one of the 2026-07-28 era in each request's `_meta`).

use super::{Proxy, Reply};
use crate::call::Call;
use crate::jsonrpc::{Message, Notification, Request, RequestId};
use crate::mcp::Method;
use crate::mcp::method::Handling;

impl Proxy {
    /// `logging/setLevel` goes to every toolkit the caller sees that logs.
    /// A toolkit of the 2026-07-28 era has no such method: the session
    /// remembers the level, and the session's next requests carry it in
    /// their `_meta` to such toolkits.
    pub(super) async fn set_level(&self, call: &Call, request: Request) -> Reply {
        let _guard = call.begin(request.id.clone(), None);
        let level = request
            .param_str("level")
            .filter(|l| crate::era::log_rank(l).is_some());
        if let (Some(session), Some(level)) = (&call.session, level) {
            session.set_log_level(level);
        }
        let sends = self.visible(&call.principal).into_iter().map(|toolkit| {
            let request = request.clone();
            async move {
                let slot = call.upstream(&toolkit);
                let upstream = slot
                    .get(&toolkit.client, &call.hello, call.caller())
                    .await
                    .ok()?;
                if upstream.is_modern() {
                    return None;
                }
                upstream.capabilities().get("logging")?;
                slot.exchange(&toolkit.client, &call.hello, call.caller(), request)
                    .await
                    .ok()
            }
        });
        futures_util::future::join_all(sends).await;
        Reply::result(request.id, crate::jsonrpc::empty_result())
    }

    /// A client notification: cancellations go where the request went, the
    /// rest to every toolkit the session has open that the caller sees.
    pub async fn notification(&self, call: &Call, mut notification: Notification) {
        let handling = Method::find(&notification.method).map(|m| &m.handling);
        match handling {
            // The gateway already sent its own `initialized` to each upstream.
            Some(Handling::Initialized) => {}
            Some(Handling::Cancelled) => self.cancel(call, notification).await,
            _ => {
                if let Some(params) = notification.params.as_mut() {
                    self.naming.hide_params_meta(params);
                }
                let message = Message::Notification(notification);
                let visible = self.visible(&call.principal);
                let sends = visible.iter().filter_map(|toolkit| {
                    let upstream = call.open_upstream(&toolkit.name)?;
                    let message = &message;
                    Some(async move {
                        toolkit
                            .client
                            .post(upstream.headers(call.caller()), message)
                            .await
                    })
                });
                futures_util::future::join_all(sends).await;
            }
        }
    }

    async fn cancel(&self, call: &Call, notification: Notification) {
        let id = notification
            .params
            .as_ref()
            .and_then(|p| p.get("requestId"))
            .and_then(RequestId::from_value);
        let (Some(id), Some(session)) = (id, &call.session) else {
            return;
        };
        let Some(inflight) = session.in_flight(&id) else {
            return; // finished, or never seen: nothing to cancel
        };
        let message = Message::Notification(notification);
        for toolkit in &self.toolkits {
            if inflight
                .toolkit
                .as_ref()
                .is_some_and(|t| *t != toolkit.name)
            {
                continue;
            }
            if let Some(upstream) = call.open_upstream(&toolkit.name) {
                let headers = upstream.headers(call.caller());
                let _ = toolkit.client.post(headers, &message).await;
            }
        }
        inflight.cancel.cancel();
    }
}
