//! The MCP proxy: routes each client message to the toolkit that owns it,
//! names things per toolkit, and merges what several toolkits answer.

mod access;
mod changes;
mod elicit;
mod handshake;
mod list;
mod naming;
mod relay;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use mcpgw_config::{AccessRule, Allow, PrefixMode, ProxyPlan, ToolkitPlan};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

pub use access::View;
pub use changes::ToolkitChanges;
pub use handshake::InitializeFailure;
pub use naming::Naming;

use crate::jsonrpc::{ErrorObject, Message, Notification, Request, RequestId, Response, code};
use crate::metrics::Metrics;
use crate::principal::Principal;
use crate::session::Session;
use crate::south::{HttpClient, ToolkitClient, UpstreamCredentials};
use access::Decision;

/// One toolkit as the proxy sees it.
#[derive(Debug)]
pub struct Toolkit {
    pub name: Arc<str>,
    pub client: ToolkitClient,
    /// Its routes: what of the toolkit each allows, and to whom.
    access: Vec<AccessRule>,
    /// Where a caller lacking credentials for the toolkit is sent (URL elicitation).
    authorization_url: Option<url::Url>,
    /// What the config said, to tell whether a reload changed the toolkit.
    plan: ToolkitPlan,
}

/// A toolkit the proxy cannot build from its plan.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("toolkit `{0}`: invalid upstream URL: {1}")]
    Uri(String, http::uri::InvalidUri),
    #[error("toolkit `{0}`: invalid credential header name")]
    Header(String),
}

impl Toolkit {
    fn new(plan: &ToolkitPlan, http: &HttpClient) -> Result<Self, ProxyError> {
        let uri = plan
            .server
            .as_str()
            .parse()
            .map_err(|e| ProxyError::Uri(plan.name.clone(), e))?;
        let credentials =
            UpstreamCredentials::new(plan.forward.as_ref(), plan.credentials.as_ref())
                .map_err(|_| ProxyError::Header(plan.name.clone()))?;
        Ok(Self {
            name: plan.name.as_str().into(),
            client: ToolkitClient::new(uri, plan.timeout, http.clone(), credentials),
            access: plan.access.clone(),
            authorization_url: plan.authorization_url.clone(),
            plan: plan.clone(),
        })
    }

    /// A toolkit at an unreachable address with these routes, for unit tests.
    #[cfg(test)]
    pub(crate) fn for_tests(name: &str, access: Vec<AccessRule>) -> Self {
        let plan = ToolkitPlan {
            name: name.to_owned(),
            client_binding: format!("client_{name}"),
            server: url::Url::parse("http://127.0.0.1:9/mcp").expect("valid URL"),
            timeout: std::time::Duration::from_secs(1),
            access,
            forward: None,
            credentials: None,
            authorization_url: None,
        };
        Self::new(&plan, &crate::south::http_client()).expect("valid plan")
    }
}

/// How the proxy answers a client request.
#[derive(Debug)]
pub enum Reply {
    /// One message (the response).
    Message(Message),
    /// SSE frames: notifications and requests related to the request, then
    /// its response; the channel closes when the exchange is over.
    Stream(mpsc::Receiver<Bytes>),
    /// An HTTP-level refusal with a `WWW-Authenticate` challenge.
    Challenge(Challenge),
}

/// Why a request is refused with a challenge rather than answered.
#[derive(Debug)]
pub enum Challenge {
    /// The caller sees the toolkit but needs these roles for the item: 403
    /// `insufficient_scope` (401 when the caller is anonymous).
    NeedsRoles(Vec<String>),
    /// A toolkit refused the credentials it was given; its status and challenge
    /// reach the client as they were sent.
    Upstream {
        status: StatusCode,
        www_authenticate: HeaderValue,
        error: ErrorObject,
    },
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
    pub(super) toolkits: Vec<Arc<Toolkit>>,
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
    ) -> Result<Self, ProxyError> {
        let toolkits = plan
            .toolkits
            .iter()
            .map(|t| Toolkit::new(t, http).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
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

    /// The gateway's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    fn toolkit(&self, name: &str) -> Option<&Arc<Toolkit>> {
        self.toolkits.iter().find(|t| &*t.name == name)
    }

    /// Answer a client request (anything but `initialize`, which the server handles
    /// through [`Proxy::initialize`]) made by `principal`.
    pub async fn request(
        &self,
        session: &Arc<Session>,
        principal: &Principal,
        mut request: Request,
    ) -> Reply {
        let method = request.method.clone();
        if let Some(params) = request.params.as_mut() {
            self.naming.hide_meta(params);
        }
        if let Naming::Unchanged { toolkit } = &self.naming
            && method != "ping"
            && method != "initialize"
            && let Some(only) = self.toolkit(toolkit).cloned()
            && only.unrestricted_for(principal)
        {
            // One toolkit the caller may use whole, names unchanged: a transparent
            // relay, lists and cursors included, in the framing the upstream chooses.
            return self.forward(session, principal, only, request).await;
        }
        match method.as_str() {
            "ping" => Reply::result(request.id, crate::jsonrpc::empty_result()),
            "initialize" => Reply::error(
                request.id,
                ErrorObject::new(code::INVALID_REQUEST, "the session is already initialized"),
            ),
            "tools/list" => self.list(session, principal, request, &list::TOOLS).await,
            "prompts/list" => self.list(session, principal, request, &list::PROMPTS).await,
            "resources/list" => {
                self.list(session, principal, request, &list::RESOURCES)
                    .await
            }
            "resources/templates/list" => {
                self.list(session, principal, request, &list::TEMPLATES)
                    .await
            }
            "tasks/list" => self.list(session, principal, request, &list::TASKS).await,
            "logging/setLevel" => self.set_level(session, principal, request).await,
            "tools/call" => {
                self.route_by(session, principal, request, "name", Target::Tool)
                    .await
            }
            "prompts/get" => {
                self.route_by(session, principal, request, "name", Target::Prompt)
                    .await
            }
            "resources/read" | "resources/subscribe" | "resources/unsubscribe" => {
                self.route_by(session, principal, request, "uri", Target::Resource)
                    .await
            }
            "tasks/get" | "tasks/result" | "tasks/cancel" => {
                self.route_by(session, principal, request, "taskId", Target::Task)
                    .await
            }
            "completion/complete" => self.complete(session, principal, request).await,
            _ => match self.visible(principal).as_slice() {
                // A single toolkit gets whatever the gateway does not know.
                [only] if self.toolkits.len() == 1 => {
                    self.forward(session, principal, only.clone(), request)
                        .await
                }
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

    /// The toolkits `principal` may see, in route order.
    fn visible(&self, principal: &Principal) -> Vec<Arc<Toolkit>> {
        self.toolkits
            .iter()
            .filter(|t| t.visible_to(principal))
            .cloned()
            .collect()
    }

    /// Route by a name or URI param that carries the toolkit.
    async fn route_by(
        &self,
        session: &Arc<Session>,
        principal: &Principal,
        mut request: Request,
        key: &str,
        target: Target,
    ) -> Reply {
        let params = request.params.as_mut().and_then(Value::as_object_mut);
        match self.claim(principal, params, key, target) {
            Ok(toolkit) => self.forward(session, principal, toolkit, request).await,
            Err(Refusal::Unknown(exposed)) => {
                Reply::error(request.id, unknown(target.noun(), &exposed))
            }
            Err(Refusal::NeedsRoles(roles)) => Reply::Challenge(Challenge::NeedsRoles(roles)),
        }
    }

    /// `completion/complete` names its prompt or resource in `params.ref`.
    async fn complete(
        &self,
        session: &Arc<Session>,
        principal: &Principal,
        mut request: Request,
    ) -> Reply {
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
        match self.claim(principal, Some(reference), key, target) {
            Ok(toolkit) => self.forward(session, principal, toolkit, request).await,
            Err(Refusal::Unknown(exposed)) => {
                Reply::error(request.id, unknown("reference", &exposed))
            }
            Err(Refusal::NeedsRoles(roles)) => Reply::Challenge(Challenge::NeedsRoles(roles)),
        }
    }

    /// The toolkit an exposed name in `object[key]` belongs to, with the name
    /// replaced by the toolkit's own. Refused as unknown when no toolkit owns
    /// it or the caller may not see it (a hidden name does not exist), or with
    /// the roles needed when the caller sees the toolkit but not this item.
    fn claim(
        &self,
        principal: &Principal,
        object: Option<&mut Map<String, Value>>,
        key: &str,
        target: Target,
    ) -> Result<Arc<Toolkit>, Refusal> {
        let Some(object) = object else {
            return Err(Refusal::Unknown(String::new()));
        };
        let exposed = object.get(key).and_then(Value::as_str).unwrap_or_default();
        let split = match target {
            Target::Tool | Target::Prompt => self.naming.split_name(exposed),
            Target::Resource | Target::Task => self.naming.split_uri(exposed),
        };
        let Some((toolkit, inner)) =
            split.and_then(|(t, inner)| Some((self.toolkit(t)?.clone(), inner.to_owned())))
        else {
            return Err(Refusal::Unknown(exposed.to_owned()));
        };
        match toolkit.decide(principal, target, &inner) {
            Decision::Allowed => {
                object.insert(key.to_owned(), Value::String(inner));
                Ok(toolkit)
            }
            Decision::Hidden => Err(Refusal::Unknown(exposed.to_owned())),
            Decision::NeedsRoles(roles) => Err(Refusal::NeedsRoles(roles)),
        }
    }

    /// `logging/setLevel` goes to every toolkit the caller sees that logs.
    async fn set_level(
        &self,
        session: &Arc<Session>,
        principal: &Principal,
        request: Request,
    ) -> Reply {
        let _guard = session.begin(request.id.clone(), None);
        let caller = principal.token();
        let sends = self.visible(principal).into_iter().map(|toolkit| {
            let request = request.clone();
            async move {
                let slot = session.upstream(&toolkit.name);
                let upstream = slot
                    .get(&toolkit.client, &session.hello, caller)
                    .await
                    .ok()?;
                upstream.capabilities().get("logging")?;
                relay::exchange(&toolkit.client, &slot, &session.hello, caller, request)
                    .await
                    .ok()
            }
        });
        futures_util::future::join_all(sends).await;
        Reply::result(request.id, crate::jsonrpc::empty_result())
    }

    /// A client notification: cancellations go where the request went, the
    /// rest to every toolkit the session has open that the caller sees.
    pub async fn notification(
        &self,
        session: &Arc<Session>,
        principal: &Principal,
        mut notification: Notification,
    ) {
        match notification.method.as_str() {
            // The gateway already sent its own `initialized` to each upstream.
            "notifications/initialized" => {}
            "notifications/cancelled" => self.cancel(session, principal, notification).await,
            _ => {
                if let Some(params) = notification.params.as_mut() {
                    self.naming.hide_meta(params);
                }
                let message = Message::Notification(notification);
                let caller = principal.token();
                let visible = self.visible(principal);
                let sends = visible.iter().filter_map(|toolkit| {
                    let upstream = session.open_upstream(&toolkit.name)?;
                    let message = &message;
                    Some(
                        async move { toolkit.client.post(upstream.headers(caller), message).await },
                    )
                });
                futures_util::future::join_all(sends).await;
            }
        }
    }

    async fn cancel(
        &self,
        session: &Arc<Session>,
        principal: &Principal,
        notification: Notification,
    ) {
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
                let headers = upstream.headers(principal.token());
                let _ = toolkit.client.post(headers, &message).await;
            }
        }
        inflight.cancel.cancel();
    }
}

/// Why [`Proxy::claim`] refused a name.
enum Refusal {
    /// The exposed name, which names nothing this caller may see.
    Unknown(String),
    /// The roles the caller lacks for an item of a toolkit they see.
    NeedsRoles(Vec<String>),
}

/// What a routed name refers to.
#[derive(Clone, Copy, Debug)]
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
    pub fn close(&self, session: &Session, principal: &Principal) {
        for (name, upstream) in session.take_upstreams() {
            if let Some(toolkit) = self.toolkit(&name) {
                end_upstream(toolkit.clone(), upstream, principal.token().cloned());
            }
        }
    }
}

/// DELETE an upstream session in the background (best effort).
pub(super) fn end_upstream(
    toolkit: Arc<Toolkit>,
    upstream: Arc<crate::south::UpstreamSession>,
    caller: Option<crate::guard::Token>,
) {
    tokio::spawn(async move {
        if let Err(e) = toolkit
            .client
            .delete(upstream.headers(caller.as_ref()))
            .await
        {
            tracing::debug!(toolkit = %toolkit.name, error = %e, "upstream DELETE failed");
        }
    });
}
