//! The MCP proxy: routes each client message to the toolkit that owns it,
//! names things per toolkit, and merges what several toolkits answer.

mod changes;
mod handshake;
mod list;
mod naming;
mod relay;

use std::sync::Arc;

use bytes::Bytes;
use mcpgw_config::{Allow, PrefixMode, ProxyPlan, ToolkitPlan};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

pub use changes::ToolkitChanges;
pub use naming::Naming;
pub use relay::client_bound_id;

use crate::jsonrpc::{ErrorObject, Message, Notification, Request, RequestId, Response, code};
use crate::metrics::Metrics;
use crate::north::Session;
use crate::south::{HttpClient, ToolkitClient};

/// One toolkit as the proxy sees it.
#[derive(Debug)]
pub struct Toolkit {
    pub name: Arc<str>,
    pub client: ToolkitClient,
    /// What of the toolkit clients may see and use.
    pub allow: Allow,
    /// What the config said, to tell whether a reload changed the toolkit.
    plan: ToolkitPlan,
}

/// How the proxy answers a client request.
#[derive(Debug)]
pub enum Reply {
    /// One message (the response).
    Message(Message),
    /// SSE frames: notifications and requests related to the request, then
    /// its response; the channel closes when the exchange is over.
    Stream(mpsc::Receiver<Bytes>),
}

impl Reply {
    fn result(id: RequestId, result: Value) -> Self {
        Self::Message(Message::Response(Response::ok(id, result)))
    }

    fn error(id: RequestId, error: ErrorObject) -> Self {
        Self::Message(Message::Response(Response::error(Some(id), error)))
    }
}

/// The proxy of one endpoint.
#[derive(Debug)]
pub struct Proxy {
    naming: Naming,
    toolkits: Vec<Arc<Toolkit>>,
    /// The config name, shown as the gateway's `serverInfo.title`.
    title: String,
    metrics: Arc<Metrics>,
}

impl Proxy {
    pub fn new(
        title: &str,
        plan: &ProxyPlan,
        http: &HttpClient,
        metrics: Arc<Metrics>,
    ) -> Result<Self, http::uri::InvalidUri> {
        let toolkits = plan
            .toolkits
            .iter()
            .map(|t| {
                Ok(Arc::new(Toolkit {
                    name: t.name.as_str().into(),
                    client: ToolkitClient::new(t.server.as_str().parse()?, t.timeout, http.clone()),
                    allow: t
                        .access
                        .first()
                        .map(|r| r.allow.clone())
                        .unwrap_or_default(),
                    plan: t.clone(),
                }))
            })
            .collect::<Result<Vec<_>, http::uri::InvalidUri>>()?;
        let naming = match (plan.prefix, toolkits.as_slice()) {
            (PrefixMode::Never, [only]) => Naming::Unchanged {
                toolkit: only.name.clone(),
            },
            _ => Naming::Prefixed,
        };
        Ok(Self {
            naming,
            toolkits,
            title: title.to_owned(),
            metrics,
        })
    }

    fn toolkit(&self, name: &str) -> Option<&Arc<Toolkit>> {
        self.toolkits.iter().find(|t| &*t.name == name)
    }

    /// Answer a client request (anything but `initialize`, which the server handles
    /// through [`Proxy::initialize`]).
    pub async fn request(&self, session: &Arc<Session>, mut request: Request) -> Reply {
        let method = request.method.clone();
        if let Some(params) = request.params.as_mut() {
            self.naming.hide_meta(params);
        }
        if let Naming::Unchanged { toolkit } = &self.naming
            && method != "ping"
            && method != "initialize"
            && let Some(only) = self.toolkit(toolkit).cloned()
            && only.allow.is_unrestricted()
        {
            // One unfiltered toolkit, names unchanged: a transparent relay,
            // lists and cursors included, in the framing the upstream chooses.
            return self.forward(session, only, request).await;
        }
        match method.as_str() {
            "ping" => Reply::result(request.id, crate::jsonrpc::empty_result()),
            "initialize" => Reply::error(
                request.id,
                ErrorObject::new(code::INVALID_REQUEST, "the session is already initialized"),
            ),
            "tools/list" => self.list(session, request, &list::TOOLS).await,
            "prompts/list" => self.list(session, request, &list::PROMPTS).await,
            "resources/list" => self.list(session, request, &list::RESOURCES).await,
            "resources/templates/list" => self.list(session, request, &list::TEMPLATES).await,
            "tasks/list" => self.list(session, request, &list::TASKS).await,
            "logging/setLevel" => self.set_level(session, request).await,
            "tools/call" => self.route_by(session, request, "name", Target::Tool).await,
            "prompts/get" => {
                self.route_by(session, request, "name", Target::Prompt)
                    .await
            }
            "resources/read" | "resources/subscribe" | "resources/unsubscribe" => {
                self.route_by(session, request, "uri", Target::Resource)
                    .await
            }
            "tasks/get" | "tasks/result" | "tasks/cancel" => {
                self.route_by(session, request, "taskId", Target::Task)
                    .await
            }
            "completion/complete" => self.complete(session, request).await,
            _ => match self.toolkits.as_slice() {
                // A single toolkit gets whatever the gateway does not know.
                [only] => self.forward(session, only.clone(), request).await,
                _ => Reply::error(
                    request.id,
                    ErrorObject::new(
                        code::METHOD_NOT_FOUND,
                        format!("Method not found: {method}"),
                    ),
                ),
            },
        }
    }

    /// Route by a name or URI param that carries the toolkit.
    async fn route_by(
        &self,
        session: &Arc<Session>,
        mut request: Request,
        key: &str,
        target: Target,
    ) -> Reply {
        let params = request.params.as_mut().and_then(Value::as_object_mut);
        match self.claim(params, key, target) {
            Ok(toolkit) => self.forward(session, toolkit, request).await,
            Err(exposed) => Reply::error(request.id, unknown(target.noun(), &exposed)),
        }
    }

    /// `completion/complete` names its prompt or resource in `params.ref`.
    async fn complete(&self, session: &Arc<Session>, mut request: Request) -> Reply {
        let reference = request
            .params
            .as_mut()
            .and_then(|p| p.get_mut("ref"))
            .and_then(Value::as_object_mut);
        let Some(reference) = reference else {
            return Reply::error(
                request.id,
                ErrorObject::new(code::INVALID_PARAMS, "completion/complete needs params.ref"),
            );
        };
        let (key, target) = match reference.get("type").and_then(Value::as_str) {
            Some("ref/prompt") => ("name", Target::Prompt),
            _ => ("uri", Target::Resource),
        };
        match self.claim(Some(reference), key, target) {
            Ok(toolkit) => self.forward(session, toolkit, request).await,
            Err(exposed) => Reply::error(request.id, unknown("reference", &exposed)),
        }
    }

    /// The toolkit an exposed name in `object[key]` belongs to, with the name
    /// replaced by the toolkit's own; the exposed name when no toolkit owns it
    /// or the toolkit's allow-list hides it (a hidden name does not exist).
    fn claim(
        &self,
        object: Option<&mut Map<String, Value>>,
        key: &str,
        target: Target,
    ) -> Result<Arc<Toolkit>, String> {
        let Some(object) = object else {
            return Err(String::new());
        };
        let exposed = object.get(key).and_then(Value::as_str).unwrap_or_default();
        let split = match target {
            Target::Tool | Target::Prompt => self.naming.split_name(exposed),
            Target::Resource | Target::Task => self.naming.split_uri(exposed),
        };
        let Some((toolkit, inner)) = split
            .and_then(|(t, inner)| Some((self.toolkit(t)?.clone(), inner.to_owned())))
            .filter(|(toolkit, inner)| target.allowed(&toolkit.allow, inner))
        else {
            return Err(exposed.to_owned());
        };
        object.insert(key.to_owned(), Value::String(inner));
        Ok(toolkit)
    }

    /// `logging/setLevel` goes to every toolkit that logs.
    async fn set_level(&self, session: &Arc<Session>, request: Request) -> Reply {
        let _guard = session.begin(request.id.clone(), None);
        let sends = self.toolkits.iter().map(|toolkit| {
            let request = request.clone();
            async move {
                let slot = session.upstream(&toolkit.name);
                let upstream = slot.get(&toolkit.client, &session.hello).await.ok()?;
                upstream.capabilities().get("logging")?;
                relay::exchange(&toolkit.client, &slot, &session.hello, request)
                    .await
                    .ok()
            }
        });
        futures_util::future::join_all(sends).await;
        Reply::result(request.id, crate::jsonrpc::empty_result())
    }

    /// A client notification: cancellations go where the request went, the
    /// rest to every toolkit the session has open.
    pub async fn notification(&self, session: &Arc<Session>, mut notification: Notification) {
        match notification.method.as_str() {
            // The gateway already sent its own `initialized` to each upstream.
            "notifications/initialized" => {}
            "notifications/cancelled" => self.cancel(session, notification).await,
            _ => {
                if let Some(params) = notification.params.as_mut() {
                    self.naming.hide_meta(params);
                }
                let message = Message::Notification(notification);
                let sends = self.toolkits.iter().filter_map(|toolkit| {
                    let upstream = session.open_upstream(&toolkit.name)?;
                    let message = &message;
                    Some(async move { toolkit.client.post(upstream.headers(), message).await })
                });
                futures_util::future::join_all(sends).await;
            }
        }
    }

    async fn cancel(&self, session: &Arc<Session>, notification: Notification) {
        let id = notification
            .params
            .as_ref()
            .and_then(|p| p.get("requestId"))
            .and_then(RequestId::from_value);
        let Some(id) = id else {
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
            if let Some(upstream) = session.upstream(&toolkit.name).current() {
                let _ = toolkit.client.post(upstream.headers(), &message).await;
            }
        }
        inflight.cancel.cancel();
    }
}

/// What a routed name refers to.
#[derive(Clone, Copy)]
enum Target {
    Tool,
    Prompt,
    Resource,
    Task,
}

impl Target {
    fn noun(self) -> &'static str {
        match self {
            Self::Tool => "tool",
            Self::Prompt => "prompt",
            Self::Resource => "resource",
            Self::Task => "task",
        }
    }

    fn allowed(self, allow: &Allow, name: &str) -> bool {
        match self {
            Self::Tool => allow.tool(name),
            Self::Prompt => allow.prompt(name),
            Self::Resource => allow.resource(name),
            Self::Task => true,
        }
    }
}

/// Unknown tools, prompts and resources are protocol errors (-32602), the way the spec's examples answer them.
fn unknown(what: &str, name: &str) -> ErrorObject {
    ErrorObject::new(code::INVALID_PARAMS, format!("Unknown {what}: {name}"))
}

impl Proxy {
    /// End a session's upstream sessions (DELETE), in the background.
    pub fn close(&self, session: &Session) {
        for (name, upstream) in session.take_upstreams() {
            if let Some(toolkit) = self.toolkit(&name) {
                end_upstream(toolkit.clone(), upstream);
            }
        }
    }
}

/// DELETE an upstream session in the background (best effort).
pub(super) fn end_upstream(toolkit: Arc<Toolkit>, upstream: Arc<crate::south::UpstreamSession>) {
    tokio::spawn(async move {
        if let Err(e) = toolkit.client.delete(upstream.headers()).await {
            tracing::debug!(toolkit = %toolkit.name, error = %e, "upstream DELETE failed");
        }
    });
}
