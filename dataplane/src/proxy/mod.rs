//! The MCP proxy: routes each client message to the toolkit that owns it,
//! names things per toolkit, and merges what several toolkits answer.
//!
//! What the proxy does with a message comes from the method's descriptor
//! ([`crate::mcp::method`]); who sends it and in which session from the
//! [`Call`] the edge built.

mod access;
mod bridge;
mod changes;
mod discover;
mod elicit;
mod handshake;
mod list;
mod listen;
mod naming;
mod notify;
mod relay;
mod rounds;
mod route;
mod subscribe;
mod toolkit;

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use mcpgw_config::{PrefixMode, ProxyPlan};
use serde_json::Value;
use tokio::sync::mpsc;

pub use access::View;
pub use bridge::{BridgeUpstreams, BridgedUpstream};
pub use changes::ToolkitChanges;
pub use handshake::InitializeFailure;
pub use listen::LISTEN;
pub use naming::Naming;
pub use toolkit::Toolkit;

use crate::cache::ListingCache;
use crate::call::Call;
use crate::era::stamp::Stamps;
use crate::guard::Token;
use crate::jsonrpc::{ErrorObject, Message, Request, RequestId, Response, code};
use crate::mcp::Method;
use crate::mcp::method::{Form, Handling, Target};
use crate::metrics::{Metrics, Observed, Outcome};
use crate::principal::Principal;
use crate::session::Session;
use crate::south::{HttpClient, UpstreamSession};

/// A toolkit the proxy cannot build from its plan.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("toolkit `{0}`: invalid upstream URL: {1}")]
    Uri(String, http::uri::InvalidUri),
    #[error("toolkit `{0}`: invalid credential header name")]
    Header(String),
}

/// How the proxy answers a client request.
#[derive(Debug)]
pub enum Reply {
    /// One message (the response).
    Message(Message),
    /// One response, already encoded (e.g. a merged list written without
    /// copies, or a toolkit's reply relayed as it came), and where its result's
    /// text lies when it is known to be a success response (so that stamping it
    /// for a client of the 2026-07-28 era does not read it again).
    Json(Bytes, Option<Range<usize>>),
    /// SSE frames: notifications and requests related to the request, then
    /// its response; the channel closes when the exchange is over.
    Stream(mpsc::Receiver<Bytes>),
    /// An HTTP-level refusal with a `WWW-Authenticate` challenge.
    Challenge(Challenge),
}

/// Why a request is refused at the HTTP level rather than answered.
#[derive(Debug)]
pub enum Challenge {
    /// The toolkit's limits refused the request without sending it: 429 over
    /// its rate, 503 with too many in flight or its circuit breaker open; with
    /// `Retry-After`.
    Limited {
        status: StatusCode,
        retry_after: std::time::Duration,
        /// The refused request's, for the error response.
        id: RequestId,
        error: ErrorObject,
    },
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

    /// How the request this reply answers ended, as far as the reply tells
    /// (a stream's outcome is known when it ends: see [`Observed::defer`]).
    fn outcome(&self) -> Outcome {
        match self {
            Self::Message(m) => Outcome::of_message(m),
            Self::Json(..) | Self::Stream(_) => Outcome::Ok,
            Self::Challenge(Challenge::NeedsRoles(_)) => Outcome::Refused,
            Self::Challenge(Challenge::Upstream { .. }) => Outcome::UpstreamError,
            Self::Challenge(Challenge::Limited { .. }) => Outcome::Limited,
        }
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
    /// The listing cache (`options.cache`).
    cache: Option<Arc<ListingCache>>,
    /// What results to clients of the 2026-07-28 era are stamped with.
    stamps: Arc<Stamps>,
}

impl Proxy {
    /// The proxy of `plan`. Toolkits that `previous` (the proxy this one
    /// replaces on reload) has with the same plan are kept as they are, with
    /// their clients and connections.
    pub fn new(
        title: &str,
        plan: &ProxyPlan,
        http: &HttpClient,
        metrics: Arc<Metrics>,
        previous: Option<&Proxy>,
    ) -> Result<Self, ProxyError> {
        let toolkits = plan
            .toolkits
            .iter()
            .map(|t| {
                let same = previous
                    .and_then(|p| p.toolkit(&t.name))
                    .filter(|before| before.plan == *t);
                match same {
                    Some(before) => Ok(before.clone()),
                    None => Toolkit::new(t, http, &metrics).map(Arc::new),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        // The cache outlives reloads that keep its settings; pages of changed
        // toolkits are unreachable anyway (a new plan is a new toolkit id).
        let cache = plan.cache.as_ref().map(|wanted| {
            previous
                .and_then(|p| p.cache.clone())
                .filter(|c| c.is_for(wanted))
                .unwrap_or_else(|| Arc::new(ListingCache::new(wanted, metrics.clone())))
        });
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
            cache,
            stamps: Stamps::new(discover::server_info(title)),
        })
    }

    /// What results to clients of the 2026-07-28 era are stamped with.
    pub fn stamps(&self) -> &Arc<Stamps> {
        &self.stamps
    }

    /// The gateway's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    fn toolkit(&self, name: &str) -> Option<&Arc<Toolkit>> {
        self.toolkits.iter().find(|t| &*t.name == name)
    }

    /// The toolkits `principal` may see, in route order.
    fn visible(&self, principal: &Principal) -> Vec<Arc<Toolkit>> {
        self.toolkits
            .iter()
            .filter(|t| t.visible_to(principal))
            .cloned()
            .collect()
    }

    /// Answer a client request (anything but the handshake, which the edge
    /// handles through [`Proxy::initialize`]).
    pub async fn request(&self, call: &Call, mut request: Request) -> Reply {
        if let Some(params) = request.params.as_mut() {
            self.naming.hide_params_meta(params);
        }
        let method = Method::find(&request.method).filter(|m| m.eras.has(call.era));
        let mut observed = self.observe(method, &request);
        // NB: a 2026-07-28 toolkit may answer a session's request with
        // `input_required`, which a 2025 client cannot take as it is.
        let rounds = self.input_rounds(call, method, &request);
        let reply = self.dispatch(call, method, request, &mut observed).await;
        let reply = match rounds {
            Some(rounds) => rounds.over(reply),
            None => reply,
        };
        observed.finish(reply.outcome());
        reply
    }

    /// Start observing `request` with its labels: the method, and for
    /// requests that name a tool, prompt or resource, the toolkit (and the
    /// tool or prompt name) it goes to.
    fn observe(&self, method: Option<&'static Method>, request: &Request) -> Observed {
        let Some(method) = method else {
            return self.metrics.observe("unknown", None, "");
        };
        let named = match &method.handling {
            Handling::Routed { key, target } => {
                let exposed = request.param_str(key).unwrap_or_default();
                let split = match target.form() {
                    Form::Name => self.naming.split_name(exposed),
                    Form::Uri => self.naming.split_uri(exposed),
                };
                // NB: resource URIs are unbounded (templates): only tools and
                // prompts are labelled by name.
                let labelled = matches!(target, Target::Tool | Target::Prompt);
                split.map(|(toolkit, name)| (toolkit, if labelled { name } else { "" }))
            }
            _ => match &self.naming {
                Naming::Unchanged { toolkit } => Some((&**toolkit, "")),
                Naming::Prefixed => None,
            },
        };
        let toolkit = named.and_then(|(t, name)| Some((&self.toolkit(t)?.name, name)));
        if crate::telemetry::enabled() {
            let (kit, name) = toolkit.map_or((None, ""), |(t, n)| (Some(&**t), n));
            crate::telemetry::record_request(method.name, kit, name);
        }
        match toolkit {
            Some((toolkit, name)) => self.metrics.observe(method.name, Some(toolkit), name),
            None => self.metrics.observe(method.name, None, ""),
        }
    }

    async fn dispatch(
        &self,
        call: &Call,
        method: Option<&'static Method>,
        request: Request,
        observed: &mut Observed,
    ) -> Reply {
        if let Naming::Unchanged { toolkit } = &self.naming
            && !method.is_some_and(|m| self.handles_itself(m))
            && let Some(only) = self.toolkit(toolkit).cloned()
            && only.unrestricted_for(&call.principal)
        {
            // One toolkit the caller may use whole, names unchanged: a transparent
            // relay, lists and cursors included, in the framing the upstream chooses.
            return self
                .forward(call, method_or_unknown(method), only, request, observed)
                .await;
        }
        let Some(method) = method else {
            return self.unknown_method(call, request, observed).await;
        };
        match &method.handling {
            Handling::Ping => Reply::result(request.id, crate::jsonrpc::empty_result()),
            Handling::Initialize => Reply::error(
                request.id,
                ErrorObject::new(code::INVALID_REQUEST, "the session is already initialized"),
            ),
            Handling::List(kind) => self.list(call, method, kind, request).await,
            Handling::SetLevel => self.set_level(call, request).await,
            Handling::Routed { key, target } => {
                self.route_by(call, method, request, key, *target, observed)
                    .await
            }
            Handling::Completion => self.complete(call, method, request, observed).await,
            Handling::Discover
            | Handling::Initialized
            | Handling::Cancelled
            | Handling::Broadcast
            | Handling::FromServer => self.unknown_method(call, request, observed).await,
        }
    }

    /// Whether the gateway handles `method` itself even for a single toolkit
    /// named unchanged: the handshake, `ping`, and lists it caches.
    fn handles_itself(&self, method: &Method) -> bool {
        match &method.handling {
            Handling::Ping | Handling::Initialize => true,
            Handling::List(kind) => kind.cacheable && self.cache.is_some(),
            _ => false,
        }
    }

    /// A method the gateway does not know (or not as a client request of this
    /// era): a single toolkit gets it as it is; otherwise it is not found.
    async fn unknown_method(
        &self,
        call: &Call,
        request: Request,
        observed: &mut Observed,
    ) -> Reply {
        match self.visible(&call.principal).as_slice() {
            [only] if self.toolkits.len() == 1 => {
                let method = method_or_unknown(Method::find(&request.method));
                self.forward(call, method, only.clone(), request, observed)
                    .await
            }
            _ => {
                let message = format!("Method not found: {}", request.method);
                Reply::error(
                    request.id,
                    ErrorObject::new(code::METHOD_NOT_FOUND, message),
                )
            }
        }
    }

    /// End a session's upstream sessions (DELETE), in the background.
    pub fn close(&self, session: &Session, principal: &Principal) {
        for (name, upstream) in session.take_upstreams() {
            if let Some(toolkit) = self.toolkit(&name) {
                end_upstream(toolkit.clone(), upstream, principal.token().cloned());
            }
        }
    }
}

/// The descriptor to relay a request of a method by: its own, or for a
/// method the gateway does not know one that renames nothing.
fn method_or_unknown(method: Option<&'static Method>) -> &'static Method {
    static UNKNOWN: Method = Method {
        name: "",
        handling: Handling::Broadcast,
        rename: crate::mcp::method::Rename::Nothing,
        eras: crate::mcp::method::Eras {
            sessions: true,
            stateless: true,
        },
    };
    method.unwrap_or(&UNKNOWN)
}

/// DELETE an upstream session in the background (best effort).
pub(super) fn end_upstream(
    toolkit: Arc<Toolkit>,
    upstream: Arc<UpstreamSession>,
    caller: Option<Token>,
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
