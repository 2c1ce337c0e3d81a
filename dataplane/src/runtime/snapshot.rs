//! One applied plan as requests see it: the routing tables of every
//! listener, and which config they came from. Built whole beside the old one
//! and published in one swap, so what `/readyz` reports is always what is
//! served.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use mcpgw_config::Plan;
use serde_json::{Value, json};

use crate::metrics::Metrics;
use crate::north::{Authenticator, Endpoint};
use crate::proxy::Proxy;
use crate::reload::ReloadError;
use crate::south::HttpClient;

/// The routing tables of one applied plan: per listener, its paths.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) plan: Plan,
    /// Which config this is, for `/readyz`.
    pub(crate) applied: Applied,
    listeners: Vec<Vec<(String, Arc<Endpoint>)>>,
}

/// The config a snapshot serves.
#[derive(Debug, Clone)]
pub(crate) struct Applied {
    name: String,
    /// SHA-256 of the applied file's bytes: what the operator compares with
    /// the ConfigMap it rendered to know the pod serves it. `None` for a plan
    /// given in code rather than read from a file.
    pub(crate) sha256: Option<String>,
    applied_at: u64,
}

impl Applied {
    pub(crate) fn to_json(&self) -> Value {
        json!({"name": self.name, "sha256": self.sha256, "appliedAt": self.applied_at})
    }
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Snapshot {
    /// The routing tables of `plan`; endpoints at a path that existed in
    /// `previous` keep its sessions and session key.
    pub(crate) fn build(
        plan: &Plan,
        sha256: Option<String>,
        previous: Option<&Snapshot>,
        http: &HttpClient,
        metrics: &Arc<Metrics>,
    ) -> Result<Self, ReloadError> {
        let mut listeners = Vec::new();
        for (index, listener) in plan.listeners.iter().enumerate() {
            let mut routes = Vec::new();
            for route in &listener.routes {
                let before = previous.and_then(|p| p.find(index, &route.path));
                let proxy = Proxy::new(
                    &plan.name,
                    &route.endpoint.proxy,
                    http,
                    metrics.clone(),
                    before.map(|e| e.proxy()),
                )?;
                let endpoint = Endpoint::new(
                    proxy,
                    &route.endpoint,
                    &route.path,
                    before.map(|e| &**e),
                    http,
                )?;
                routes.push((route.path.clone(), Arc::new(endpoint)));
            }
            listeners.push(routes);
        }
        Ok(Self {
            plan: plan.clone(),
            applied: Applied {
                name: plan.name.clone(),
                sha256,
                applied_at: unix_now(),
            },
            listeners,
        })
    }

    /// Every endpoint of every listener.
    pub(crate) fn endpoints(&self) -> impl Iterator<Item = &Arc<Endpoint>> {
        self.listeners.iter().flatten().map(|(_, e)| e)
    }

    /// Per listener, its endpoints with their paths.
    pub(crate) fn listeners(&self) -> impl Iterator<Item = &[(String, Arc<Endpoint>)]> {
        self.listeners.iter().map(Vec::as_slice)
    }

    /// The endpoints of one listener with their paths.
    pub(crate) fn routes(&self, listener: usize) -> &[(String, Arc<Endpoint>)] {
        self.listeners.get(listener).map_or(&[], Vec::as_slice)
    }

    /// The guard whose protected-resource metadata is served at
    /// `/.well-known/oauth-protected-resource<suffix>`: the endpoint at
    /// `suffix`, or for the bare path the listener's first guarded endpoint.
    pub(crate) fn metadata_of(&self, listener: usize, suffix: &str) -> Option<&Authenticator> {
        if suffix.is_empty() {
            return self
                .routes(listener)
                .iter()
                .find_map(|(_, e)| e.authenticator());
        }
        self.find(listener, suffix)?.authenticator()
    }

    pub(crate) fn find(&self, listener: usize, path: &str) -> Option<&Arc<Endpoint>> {
        self.routes(listener)
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, e)| e)
    }

    /// Sessions held now, over every endpoint.
    pub(crate) fn sessions(&self) -> usize {
        self.endpoints().map(|e| e.sessions().len()).sum()
    }

    /// Reloads serve the same sockets: the set of listeners cannot change.
    pub(crate) fn same_listeners(&self, plan: &Plan) -> bool {
        let (a, b) = (&self.plan.listeners, &plan.listeners);
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(a, b)| (&a.binding, &a.host, a.port) == (&b.binding, &b.host, b.port))
    }
}
