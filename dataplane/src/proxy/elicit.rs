//! A toolkit refused a request: relay its challenge, or, when the toolkit
//! has an authorization URL, send the caller there by URL-mode elicitation.
//!
//! With a client that declared `elicitation.url`, the call's reply becomes an
//! SSE stream carrying the gateway's own `elicitation/create` (mode `url`); on
//! `accept` the request is tried once more (the user may have finished), and
//! if it is still refused the answer is -32042 with the same elicitation, so
//! the client can retry once the out-of-band step is done. Other clients get
//! -32042 (URLElicitationRequiredError) at once.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::relay::{error_response, upstream_challenge, upstream_error};
use super::{Challenge, Naming, Proxy, Reply, Toolkit};
use crate::call::Call;
use crate::ids::random_hex;
use crate::jsonrpc::{ErrorObject, Message, Request, Response, code};
use crate::mcp::Method;
use crate::mcp::method::ELICIT;
use crate::session::{InFlightGuard, Session};
use crate::south::ClientError;
use crate::sse;

/// `URLElicitationRequiredError`.
pub const URL_ELICITATION_REQUIRED: i64 = -32042;
/// How long the gateway waits for the client's answer to its elicitation.
const ANSWER_WAIT: Duration = Duration::from_secs(600);

impl Proxy {
    /// Answer the request in `message` (the one `guard` tracks), which
    /// `toolkit` failed with `error`.
    pub(super) async fn refused(
        &self,
        call: &Call,
        method: &'static Method,
        toolkit: Arc<Toolkit>,
        message: Message,
        guard: InFlightGuard,
        error: &ClientError,
    ) -> Reply {
        let id = guard.id().clone();
        if let Message::Request(request) = message
            && toolkit.elicits_authorization(error)
            && let Some(url) = &toolkit.authorization_url
        {
            let elicitation = elicitation(&toolkit.name, url.as_str());
            // NB: the answer to the gateway's own request arrives in the session;
            // without one (or a client that cannot take it) the error says where to go.
            let session = call
                .session
                .clone()
                .filter(|_| accepts_url_elicitation(&call.hello.capabilities));
            let Some(session) = session else {
                return Reply::error(id, elicitation_required(&toolkit.name, elicitation));
            };
            let retry = Retry {
                session,
                call: call.clone(),
                method,
                toolkit,
                request,
                naming: self.naming.clone(),
            };
            let (tx, rx) = mpsc::channel(4);
            tokio::spawn(async move {
                let _guard = guard;
                let last = retry.elicit(elicitation, &tx).await;
                let _ = tx.send(sse::message_event(&last.encode())).await;
            });
            return Reply::Stream(rx);
        }
        if let Some(challenge) = upstream_challenge(&toolkit.name, error) {
            return Reply::Challenge(challenge);
        }
        if let Some((status, retry_after)) = error.refusal() {
            let error = upstream_error(&toolkit.name, error);
            return Reply::Challenge(Challenge::Limited {
                status,
                retry_after,
                id,
                error,
            });
        }
        Reply::Message(error_response(id, upstream_error(&toolkit.name, error)))
    }
}

impl Toolkit {
    /// Whether `error` is a refusal of the caller's credentials that this
    /// toolkit answers by sending the caller to its authorization URL.
    pub(super) fn elicits_authorization(&self, error: &ClientError) -> bool {
        self.authorization_url.is_some() && error.refused_credentials()
    }
}

/// A request waiting on the caller's authorization.
struct Retry {
    session: Arc<Session>,
    call: Call,
    method: &'static Method,
    toolkit: Arc<Toolkit>,
    request: Request,
    naming: Naming,
}

impl Retry {
    /// Send the elicitation, wait for the answer, retry on `accept`: the
    /// request's final response.
    async fn elicit(&self, elicitation: Value, tx: &mpsc::Sender<bytes::Bytes>) -> Message {
        let id = self.request.id.clone();
        let (ask_id, answer) = self.session.gateway_request();
        let ask = Request::new(ask_id.clone(), ELICIT.name, Some(elicitation.clone()));
        let ask = Message::Request(ask).encode();
        if tx.send(sse::message_event(&ask)).await.is_err() {
            return error_response(id, declined(&self.toolkit.name));
        }
        // NB: stop waiting when the session ends or the client leaves the stream.
        let answer = tokio::select! {
            a = tokio::time::timeout(ANSWER_WAIT, answer) => a.ok().and_then(Result::ok),
            () = self.session.closed.cancelled() => None,
            () = tx.closed() => None,
        };
        if answer.is_none() {
            self.session.forget_gateway_request(&ask_id);
        }
        let accepted = answer
            .as_ref()
            .and_then(|r| r.outcome.as_ref().ok())
            .and_then(|result| result.get("action"))
            .and_then(Value::as_str)
            == Some("accept");
        if !accepted {
            return error_response(id, declined(&self.toolkit.name));
        }
        let slot = self.call.upstream(&self.toolkit);
        let retried = slot
            .exchange(
                &self.toolkit.client,
                &self.call.hello,
                self.call.caller(),
                self.request.clone(),
            )
            .await;
        match retried {
            Ok(Ok(mut result)) => {
                self.naming
                    .expose_result(&self.toolkit.name, self.method, &mut result);
                Message::Response(Response::ok(id, result))
            }
            Ok(Err(error)) => error_response(id, error),
            Err(e) if e.refused_credentials() => {
                error_response(id, elicitation_required(&self.toolkit.name, elicitation))
            }
            Err(e) => error_response(id, upstream_error(&self.toolkit.name, &e)),
        }
    }
}

/// The URL-mode elicitation sending the caller to `url`. The URL is the
/// configured one, unchanged: the page it names identifies the user itself.
fn elicitation(toolkit: &str, url: &str) -> Value {
    json!({
        "mode": "url",
        "elicitationId": random_hex(16),
        "url": url,
        "message": format!("Toolkit `{toolkit}` needs your authorization. Open the link to grant it, then try again."),
    })
}

fn elicitation_required(toolkit: &str, elicitation: Value) -> ErrorObject {
    let mut error = ErrorObject::new(
        URL_ELICITATION_REQUIRED,
        format!("Toolkit `{toolkit}` needs your authorization first"),
    );
    error.data = Some(json!({ "elicitations": [elicitation] }));
    error
}

fn declined(toolkit: &str) -> ErrorObject {
    ErrorObject::new(
        code::BAD_REQUEST,
        format!("Authorization for toolkit `{toolkit}` was not granted"),
    )
}

/// Whether the client declared URL-mode elicitation (`elicitation.url`).
fn accepts_url_elicitation(capabilities: &Value) -> bool {
    capabilities
        .get("elicitation")
        .and_then(|e| e.get("url"))
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_declared_url_capability_gets_an_elicitation() {
        assert!(accepts_url_elicitation(
            &json!({"elicitation": {"url": {}, "form": {}}})
        ));
        assert!(!accepts_url_elicitation(&json!({"elicitation": {}})));
        assert!(!accepts_url_elicitation(&json!({})));
    }

    #[test]
    fn the_required_error_carries_the_configured_url() {
        let error = elicitation_required("github", elicitation("github", "https://x.test/c"));
        assert_eq!(error.code, -32042);
        let data = error.data.expect("data");
        assert_eq!(data["elicitations"][0]["mode"], "url");
        assert_eq!(data["elicitations"][0]["url"], "https://x.test/c");
        assert_eq!(
            data["elicitations"][0]["elicitationId"]
                .as_str()
                .map(str::len),
            Some(32)
        );
    }
}
