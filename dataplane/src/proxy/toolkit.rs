//! One toolkit as the proxy sees it: its client, the routes that say who may
//! use what of it, and the plan it was built from.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tokio_util::sync::CancellationToken;

use mcpgw_config::{AccessRule, EgressPlan, ToolkitPlan};

use super::ProxyError;
use crate::cache::ListingScope;
use crate::metrics::Metrics;
use crate::south::{HttpClient, ToolkitClient, UpstreamCredentials, UpstreamEra, UpstreamPool};

/// One toolkit of a proxy.
#[derive(Debug)]
pub struct Toolkit {
    pub name: Arc<str>,
    pub client: ToolkitClient,
    /// Its routes: what of the toolkit each allows, and to whom.
    pub(super) access: Vec<AccessRule>,
    /// Where a caller lacking credentials for the toolkit is sent (URL elicitation).
    pub(super) authorization_url: Option<url::Url>,
    /// What the config said, to tell whether a reload changed the toolkit.
    pub(super) plan: ToolkitPlan,
    /// Its identity in the listing cache (a fresh one per plan).
    pub(super) listing: ListingScope,
    /// Upstream sessions kept for clients without a session (2026-07-28).
    pub stateless: UpstreamPool,
    /// Whether the gateway listens to this (2026-07-28) toolkit's list
    /// changes for its listing cache (see `Proxy::watch_lists`).
    pub(super) watching: AtomicBool,
    /// Cancelled when the toolkit goes (a reload replaced it): its watch ends.
    pub(super) gone: CancellationToken,
}

impl Drop for Toolkit {
    fn drop(&mut self) {
        self.gone.cancel();
    }
}

impl Toolkit {
    pub(super) fn new(
        plan: &ToolkitPlan,
        http: &HttpClient,
        metrics: &Metrics,
    ) -> Result<Self, ProxyError> {
        let uri = plan
            .server
            .as_str()
            .parse()
            .map_err(|e| ProxyError::Uri(plan.name.clone(), e))?;
        let credentials =
            UpstreamCredentials::new(plan.forward.as_ref(), plan.credentials.as_ref())
                .map_err(|_| ProxyError::Header(plan.name.clone()))?;
        // NB: toolkits with the default egress share the gateway's client (and
        // its pool); a chain of its own gets a client of its own.
        let http = if plan.egress == EgressPlan::for_server(&plan.server) {
            http.clone()
        } else {
            HttpClient::for_egress(&plan.egress, &plan.name)
        };
        let name: Arc<str> = plan.name.as_str().into();
        let client = ToolkitClient::new(uri, plan.timeout, http, credentials)
            .with_limits(
                &plan.name,
                plan.max_concurrent_requests,
                plan.rate_limit,
                plan.circuit_breaker,
            )
            .with_retries(plan.retries)
            .observed_as(name.clone(), metrics.upstream_round_trips(&name))
            .reporting_era(metrics.toolkit_eras(&name));
        Ok(Self {
            name,
            client,
            access: plan.access.clone(),
            authorization_url: plan.authorization_url.clone(),
            plan: plan.clone(),
            listing: ListingScope::default(),
            stateless: UpstreamPool::default(),
            watching: AtomicBool::new(false),
            gone: CancellationToken::new(),
        })
    }

    /// The protocol eras the toolkit's upstream was found to speak, as
    /// `/readyz` shows them: `{"2025": true, "2026-07-28": false}` (an era not
    /// tried yet is left out).
    pub fn eras(&self) -> serde_json::Value {
        let mut found = serde_json::Map::new();
        for era in UpstreamEra::ALL {
            if let Some(speaks) = self.client.speaks(era) {
                found.insert(era.label().into(), speaks.into());
            }
        }
        serde_json::Value::Object(found)
    }

    /// A toolkit at an unreachable address with these routes, for unit tests.
    #[cfg(test)]
    pub(crate) fn for_tests(name: &str, access: Vec<AccessRule>) -> Self {
        let plan = ToolkitPlan {
            name: name.to_owned(),
            client_binding: format!("client_{name}"),
            server: url::Url::parse("http://127.0.0.1:9/mcp").expect("valid URL"),
            egress: mcpgw_config::EgressPlan::for_server(
                &url::Url::parse("http://127.0.0.1:9/mcp").expect("valid URL"),
            ),
            timeout: std::time::Duration::from_secs(1),
            access,
            forward: None,
            credentials: None,
            authorization_url: None,
            max_concurrent_requests: None,
            rate_limit: None,
            circuit_breaker: None,
            retries: None,
        };
        Self::new(&plan, &HttpClient::new(), &Metrics::default()).expect("valid plan")
    }
}
