//! Bridging a 2026-07-28 toolkit's `input_required` results to a 2025
//! client (in a session): each input request goes to the client as a
//! server→client request on the request's stream (the gateway's own id, so
//! the answer comes back to it), and the answers go to the toolkit as
//! `inputResponses` on a retry of the request, with its `requestState`
//! echoed, until the toolkit answers with a complete result.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use super::relay::{error_response, upstream_error};
use super::{Naming, Proxy, Reply, Toolkit};
use crate::call::Call;
use crate::ids;
use crate::jsonrpc::{ErrorObject, Message, Request, RequestId, Response, code};
use crate::mcp::Method;
use crate::mcp::method::{Form, Handling, PROMPTS_GET, RESOURCES_READ, TOOLS_CALL};
use crate::session::Session;
use crate::south::UpstreamEra;
use crate::sse;

/// How long the client has to answer one input request.
const ANSWER_WAIT: Duration = Duration::from_secs(600);
/// Most rounds of one request before the gateway gives up on it.
const MAX_ROUNDS: usize = 8;

/// What continuing a request through `input_required` rounds needs.
pub(super) struct Rounds {
    session: Arc<Session>,
    call: Call,
    method: &'static Method,
    toolkit: Arc<Toolkit>,
    /// The request as the toolkit got it (its name unprefixed).
    request: Request,
    naming: Naming,
}

impl Proxy {
    /// The rounds a session's request may need: only for the requests that
    /// can be answered with `input_required`, sent to a toolkit found to speak
    /// 2026-07-28 (a 2025 toolkit asks the client itself, on the stream).
    pub(super) fn input_rounds(
        &self,
        call: &Call,
        method: Option<&'static Method>,
        request: &Request,
    ) -> Option<Rounds> {
        let session = call.session.as_ref()?;
        let method = method.filter(|m| {
            [&TOOLS_CALL, &PROMPTS_GET, &RESOURCES_READ]
                .iter()
                .any(|b| b.is(m.name))
        })?;
        let Handling::Routed { key, target } = &method.handling else {
            return None;
        };
        let exposed = request.param_str(key)?;
        let (toolkit, inner) = match target.form() {
            Form::Name => self.naming.split_name(exposed)?,
            Form::Uri => self.naming.split_uri(exposed)?,
        };
        let toolkit = self.toolkit(toolkit)?;
        if toolkit.client.speaks(UpstreamEra::Modern) != Some(true) {
            return None;
        }
        let mut request = request.clone();
        if let Some(params) = request.params.as_deref_mut().and_then(Value::as_object_mut) {
            params.insert((*key).into(), Value::from(inner));
        }
        Some(Rounds {
            session: session.clone(),
            call: call.clone(),
            method,
            toolkit: toolkit.clone(),
            request,
            naming: self.naming.clone(),
        })
    }
}

/// The `input_required` result in `message`, if it is one.
fn input_required(message: &Message) -> Option<&Value> {
    let Message::Response(Response {
        outcome: Ok(result),
        ..
    }) = message
    else {
        return None;
    };
    (result.get("resultType").and_then(Value::as_str) == Some("input_required")).then_some(result)
}

impl Rounds {
    /// `reply`, carried through the rounds when it asks for input.
    pub(super) fn over(self, reply: Reply) -> Reply {
        match reply {
            Reply::Json(bytes, result)
                if memchr::memmem::find(&bytes, b"input_required").is_some() =>
            {
                match Message::decode(&bytes) {
                    Ok(message) if input_required(&message).is_some() => self.spawn(message),
                    _ => Reply::Json(bytes, result),
                }
            }
            Reply::Message(message) if input_required(&message).is_some() => self.spawn(message),
            Reply::Stream(frames) => {
                let (tx, rx) = mpsc::channel(32);
                tokio::spawn(async move {
                    let mut frames = frames;
                    while let Some(frame) = frames.recv().await {
                        let asked = sse::message_data(&frame)
                            .and_then(|data| Message::decode(data).ok())
                            .filter(|m| input_required(m).is_some());
                        if let Some(message) = asked {
                            self.run(message, &tx).await;
                            return;
                        }
                        if tx.send(frame).await.is_err() {
                            return;
                        }
                    }
                });
                Reply::Stream(rx)
            }
            other => other,
        }
    }

    /// Run the rounds of `message` on a stream of their own.
    fn spawn(self, message: Message) -> Reply {
        let (tx, rx) = mpsc::channel(8);
        tokio::spawn(async move { self.run(message, &tx).await });
        Reply::Stream(rx)
    }

    /// Ask the client, retry with its answers, until a complete result (or an
    /// error) answers the client's request.
    async fn run(self, first: Message, tx: &mpsc::Sender<Bytes>) {
        let id = self.request.id.clone();
        let mut asked = first;
        for round in 0..MAX_ROUNDS {
            let Some(result) = input_required(&asked) else {
                break;
            };
            let last = match self.ask_client(result, tx).await {
                Err(error) => Some(error_response(id.clone(), error)),
                Ok(None) => return, // the client went away
                Ok(Some(responses)) => {
                    let mut retry = self.request.clone();
                    retry.id =
                        RequestId::String(format!("mcpgw-input-{round}-{}", ids::random_hex(6)));
                    if let Some(params) = retry
                        .params
                        .get_or_insert_with(|| Value::Object(Map::new()).into())
                        .as_object_mut()
                    {
                        params.insert("inputResponses".into(), Value::Object(responses));
                        match result.get("requestState") {
                            Some(state) => params.insert("requestState".into(), state.clone()),
                            None => params.remove("requestState"),
                        };
                    }
                    let slot = self.call.upstream(&self.toolkit);
                    let outcome = slot
                        .exchange(
                            &self.toolkit.client,
                            &self.call.hello,
                            self.call.caller(),
                            retry,
                        )
                        .await;
                    match outcome {
                        Ok(Ok(result)) => {
                            asked = Message::Response(Response::ok(id.clone(), result));
                            None
                        }
                        Ok(Err(error)) => Some(error_response(id.clone(), error)),
                        Err(e) => Some(error_response(
                            id.clone(),
                            upstream_error(&self.toolkit.name, &e),
                        )),
                    }
                }
            };
            if let Some(last) = last {
                let _ = tx.send(sse::message_event(&last.encode())).await;
                return;
            }
        }
        let last = match asked {
            Message::Response(Response {
                outcome: Ok(mut result),
                ..
            }) if input_required_value(&result).is_none() => {
                self.naming
                    .expose_result(&self.toolkit.name, self.method, &mut result);
                Message::Response(Response::ok(id, result))
            }
            _ => error_response(
                id,
                ErrorObject::new(
                    code::INTERNAL_ERROR,
                    format!(
                        "toolkit `{}` asked for input more than {MAX_ROUNDS} times",
                        self.toolkit.name
                    ),
                ),
            ),
        };
        let _ = tx.send(sse::message_event(&last.encode())).await;
    }

    /// Each input request of `result` to the client as a request of the
    /// gateway's own; the answers by key. `Ok(None)` when the client went away.
    async fn ask_client(
        &self,
        result: &Value,
        tx: &mpsc::Sender<Bytes>,
    ) -> Result<Option<Map<String, Value>>, ErrorObject> {
        let mut responses = Map::new();
        let requests = result
            .get("inputRequests")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for (key, request) in requests {
            let Some(method) = request.get("method").and_then(Value::as_str) else {
                return Err(ErrorObject::new(
                    code::INTERNAL_ERROR,
                    format!(
                        "toolkit `{}` asked for input without a method",
                        self.toolkit.name
                    ),
                ));
            };
            let (ask_id, answer) = self.session.gateway_request();
            let ask = Request::new(ask_id.clone(), method, request.get("params").cloned());
            if tx
                .send(sse::message_event(&Message::Request(ask).encode()))
                .await
                .is_err()
            {
                self.session.forget_gateway_request(&ask_id);
                return Ok(None);
            }
            let answer = tokio::select! {
                a = tokio::time::timeout(ANSWER_WAIT, answer) => a.ok().and_then(Result::ok),
                () = self.session.closed.cancelled() => None,
                () = tx.closed() => None,
            };
            let Some(answer) = answer else {
                self.session.forget_gateway_request(&ask_id);
                return Ok(None);
            };
            match answer.outcome {
                Ok(value) => {
                    responses.insert(key, value);
                }
                Err(error) => return Err(error),
            }
        }
        Ok(Some(responses))
    }
}

fn input_required_value(result: &Value) -> Option<&Value> {
    (result.get("resultType").and_then(Value::as_str) == Some("input_required")).then_some(result)
}
