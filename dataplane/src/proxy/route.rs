//! Requests that name what they are about (`params.name`, `params.uri`,
//! `params.taskId`, completion's `params.ref`): find the toolkit the exposed
//! name belongs to, check the caller may use the item, and hand the request
//! on under the toolkit's own name.

use std::sync::Arc;

use http::HeaderMap;
use serde_json::Value;

use super::access::Decision;
use super::{Challenge, Proxy, Reply, Toolkit};
use crate::call::Call;
use crate::jsonrpc::{ErrorObject, Request, code};
use crate::mcp::Method;
use crate::mcp::method::{Form, RESOURCES_SUBSCRIBE, RESOURCES_UNSUBSCRIBE, Target};
use crate::metrics::Observed;
use crate::principal::Principal;

/// Why [`Proxy::claim`] refused a name.
enum Refusal {
    /// The exposed name, which names nothing this caller may see.
    Unknown(String),
    /// The roles the caller lacks for an item of a toolkit they see.
    NeedsRoles(Vec<String>),
}

impl Proxy {
    /// Route by the param `key`, which carries the toolkit.
    pub(super) async fn route_by(
        &self,
        call: &Call,
        method: &'static Method,
        mut request: Request,
        key: &str,
        target: Target,
        observed: &mut Observed,
    ) -> Reply {
        let exposed = request
            .params
            .as_ref()
            .map(|p| p.get_str(key).unwrap_or_default());
        match self.claim(&call.principal, exposed, target) {
            Ok((toolkit, inner)) => {
                // NB: set on the params as they came (their text, when it
                // is plain: see `Params`), not on a tree of values.
                if let Some(params) = request.params.as_mut() {
                    params.set_str(key, inner);
                }
                // NB: only these two methods pay for the check (boxed: its
                // future stays out of every routed request's).
                if (RESOURCES_SUBSCRIBE.is(method.name) || RESOURCES_UNSUBSCRIBE.is(method.name))
                    && let Some(reply) =
                        Box::pin(self.resource_subscription(call, method, &toolkit, &request)).await
                {
                    return reply;
                }
                self.forward(call, method, toolkit, request, observed).await
            }
            Err(refusal) => refusal.reply(request, target.noun()),
        }
    }

    /// `completion/complete` names its prompt or resource in `params.ref`.
    pub(super) async fn complete(
        &self,
        call: &Call,
        method: &'static Method,
        mut request: Request,
        observed: &mut Observed,
    ) -> Reply {
        let reference = request
            .params
            .as_deref_mut()
            .and_then(|p| p.get_mut("ref"))
            .and_then(Value::as_object_mut);
        let Some(reference) = reference else {
            let message = format!("{} needs params.ref", method.name);
            return Reply::error(request.id, ErrorObject::new(code::INVALID_PARAMS, message));
        };
        let (key, target) = match reference.get("type").and_then(Value::as_str) {
            Some("ref/prompt") => ("name", Target::Prompt),
            _ => ("uri", Target::Resource),
        };
        let exposed = reference
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default();
        match self.claim(&call.principal, Some(exposed), target) {
            Ok((toolkit, inner)) => {
                reference.insert(key.to_owned(), Value::String(inner));
                self.forward(call, method, toolkit, request, observed).await
            }
            Err(refusal) => refusal.reply(request, "reference"),
        }
    }

    /// The toolkit the exposed name `exposed` (`None`: the request has no
    /// params) belongs to, with the toolkit's own name for it. Refused as
    /// unknown when no toolkit owns it or the caller may not see it (a hidden
    /// name does not exist), or with the roles needed when the caller sees
    /// the toolkit but not this item.
    fn claim(
        &self,
        principal: &Principal,
        exposed: Option<&str>,
        target: Target,
    ) -> Result<(Arc<Toolkit>, String), Refusal> {
        let Some(exposed) = exposed else {
            return Err(Refusal::Unknown(String::new()));
        };
        let split = match target.form() {
            Form::Name => self.naming.split_name(exposed),
            Form::Uri => self.naming.split_uri(exposed),
        };
        let Some((toolkit, inner)) =
            split.and_then(|(t, inner)| Some((self.toolkit(t)?.clone(), inner.to_owned())))
        else {
            return Err(Refusal::Unknown(exposed.to_owned()));
        };
        match toolkit.decide(principal, target, &inner) {
            Decision::Allowed => Ok((toolkit, inner)),
            Decision::Hidden => Err(Refusal::Unknown(exposed.to_owned())),
            Decision::NeedsRoles(roles) => Err(Refusal::NeedsRoles(roles)),
        }
    }
}

impl Proxy {
    /// Check the `Mcp-Param-*` headers of a client's `tools/call` against its
    /// arguments, by the `x-mcp-header` annotations of the tool it names as
    /// its toolkit listed them (to this replica): the same annotations the
    /// gateway's own list carries. A tool without annotations, not listed
    /// yet, or not the caller's to see is not checked here (routing answers
    /// for it); `Err` says what does not match.
    pub fn verify_param_headers(
        &self,
        principal: &Principal,
        request: &Request,
        headers: &HeaderMap,
    ) -> Result<(), String> {
        let toolkit = request
            .param_str("name")
            .and_then(|exposed| self.naming.split_name(exposed))
            .and_then(|(toolkit, tool)| Some((self.toolkit(toolkit)?, tool)));
        let Some((toolkit, tool)) = toolkit.filter(|(t, _)| t.visible_to(principal)) else {
            return Ok(());
        };
        let arguments = request.params.as_ref().and_then(|p| p.get("arguments"));
        toolkit
            .client
            .param_headers()
            .verify(tool, arguments, headers)
    }
}

impl Refusal {
    /// Unknown tools, prompts and resources are protocol errors (-32602), the
    /// way the spec's examples answer them; a step-up is a challenge.
    fn reply(self, request: Request, noun: &str) -> Reply {
        match self {
            Self::Unknown(exposed) => Reply::error(
                request.id,
                ErrorObject::new(code::INVALID_PARAMS, format!("Unknown {noun}: {exposed}")),
            ),
            Self::NeedsRoles(roles) => Reply::Challenge(Challenge::NeedsRoles(roles)),
        }
    }
}
