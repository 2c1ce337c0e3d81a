//! One client message as the proxy handles it: who sends it, in which
//! protocol era and version, with which client capabilities, and in which
//! session when the era has sessions. The edge (north) builds it once per
//! request; the proxy never looks at HTTP or at how the era was decided.

use std::sync::Arc;

use crate::guard::Token;
use crate::jsonrpc::RequestId;
use crate::mcp::Era;
use crate::principal::Principal;
use crate::proxy::Toolkit;
use crate::session::{InFlightGuard, Session};
use crate::south::{Hello, UpstreamSession, UpstreamSlot};

/// One client message's context.
#[derive(Clone, Debug)]
pub struct Call {
    /// Who sends it, as the endpoint's guard established.
    pub principal: Principal,
    /// The protocol era of the exchange.
    pub era: Era,
    /// The negotiated protocol version.
    pub version: &'static str,
    /// What the client said of itself (capabilities, info), replayed to upstreams.
    pub hello: Arc<Hello>,
    /// A digest of the client's capabilities (the listing cache keys by it).
    pub capabilities_digest: [u8; 16],
    /// The downstream session; `None` in the stateless era.
    pub session: Option<Arc<Session>>,
}

impl Call {
    /// A message in `session`, in the `era` the edge decided.
    pub fn in_session(session: &Arc<Session>, principal: &Principal, era: Era) -> Self {
        Self {
            principal: principal.clone(),
            era,
            version: session.protocol_version,
            hello: session.hello_now(),
            capabilities_digest: session.capabilities_digest,
            session: Some(session.clone()),
        }
    }

    /// A message outside any session (the 2026-07-28 era has none): the
    /// client says who it is and what it can do in the message itself, so the
    /// edge hands that over as `hello`. The upstream sessions such a message
    /// needs are the toolkits' own (see [`Self::upstream`]).
    pub fn sessionless(
        principal: &Principal,
        era: Era,
        version: &'static str,
        hello: Arc<Hello>,
    ) -> Self {
        Self {
            principal: principal.clone(),
            era,
            version,
            capabilities_digest: crate::cache::capabilities_digest(&hello.capabilities),
            hello,
            session: None,
        }
    }

    /// The caller's token, for toolkits that are configured to receive it.
    pub fn caller(&self) -> Option<&Token> {
        self.principal.token()
    }

    /// The slot of `toolkit`'s upstream session: the session's, or, without a
    /// session, the one the toolkit keeps for this caller and these client
    /// capabilities.
    pub fn upstream(&self, toolkit: &Toolkit) -> Arc<UpstreamSlot> {
        match &self.session {
            Some(session) => session.upstream(&toolkit.name),
            None => {
                let key = (
                    self.principal.identity().map(Arc::from),
                    self.capabilities_digest,
                );
                toolkit.stateless.slot(key, &toolkit.client)
            }
        }
    }

    /// The toolkit's upstream session if the session has one open (never opens one).
    pub fn open_upstream(&self, toolkit: &str) -> Option<Arc<UpstreamSession>> {
        self.session.as_ref()?.open_upstream(toolkit)
    }

    /// Track a client request until the returned guard drops (so that the
    /// client can cancel it); untracked without a session.
    pub fn begin(&self, id: RequestId, toolkit: Option<Arc<str>>) -> InFlightGuard {
        match &self.session {
            Some(session) => session.begin(id, toolkit),
            None => InFlightGuard::untracked(id),
        }
    }
}
