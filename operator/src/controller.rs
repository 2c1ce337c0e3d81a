//! The reconcilers (the controller-rs shape): one for McpGateway, which
//! observes, renders, applies and reports, and one for McpToolkit, which only reports
//! what the gateway reconcile cannot: a gateway that does not exist.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::Recorder;
use kube::{Api, Client, Resource, ResourceExt};
use mcpgw_crds::{McpGateway, McpToolkit, reason};
use serde_json::Value;

use crate::admin::{AdminState, Outcome};
use crate::backoff::{Failures, key};
use crate::references::{KeysByName, References, referenced_keys, referenced_objects};
use crate::render::{self, Inputs, Rendered, Verdict};
use crate::resources::{self, FIELD_MANAGER};
use crate::served::ConfigProbe;
use crate::status;

/// Everything a reconcile needs.
pub struct Context {
    pub client: Client,
    /// Data-plane image for gateways that do not name one.
    pub dataplane_image: String,
    pub probe: Arc<dyn ConfigProbe>,
    pub recorder: Recorder,
    pub admin: Arc<AdminState>,
    /// Consecutive failures per object, for the retry backoff.
    pub failures: Failures,
    /// The Secrets and ConfigMaps each gateway references: a change to one of them
    /// re-reconciles the gateways that name it.
    pub references: References,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("dataplane_image", &self.dataplane_image)
            .finish_non_exhaustive()
    }
}

/// Why a reconcile failed (it is retried).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("the object has no namespace")]
    NoNamespace,
}

impl Error {
    /// What went wrong, as a short fixed label (`reason` of
    /// `mcpgw_operator_reconcile_errors_total`): never the message, so that the
    /// labels stay few.
    pub fn reason(&self) -> &'static str {
        use kube::Error as Kube;
        match self {
            Self::Kube(Kube::Api(status)) => api_reason(status.code),
            Self::Kube(Kube::HyperError(_) | Kube::Service(_) | Kube::ReadEvents(_)) => "transport",
            Self::Kube(Kube::SerdeError(_) | Kube::FromUtf8(_)) => "decode",
            Self::Kube(_) => "client",
            Self::NoNamespace => "no-namespace",
        }
    }
}

/// An API server's refusal by its HTTP code. NB: by the code, not with
/// `Status::is_conflict` and the like: those go by the `reason` alone, which an
/// answer made by a proxy lacks (kube keeps the code of such an answer).
fn api_reason(code: u16) -> &'static str {
    match code {
        403 => "forbidden",
        404 => "not-found",
        409 => "conflict",
        422 => "invalid",
        400..=499 => "api-4xx",
        500..=599 => "api-5xx",
        _ => "api",
    }
}

/// How soon to look again while the data plane has not caught up.
const PENDING_RECHECK: Duration = Duration::from_secs(5);
/// How soon to look again when all is well (catches Services that appear, etc.).
const STEADY_RECHECK: Duration = Duration::from_secs(120);

/// Observe what the gateway depends on, render it, apply what is rendered and
/// report how it went (status and Events).
pub async fn reconcile_gateway(
    gateway: Arc<McpGateway>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let _timer = ctx.admin.time_reconcile(McpGateway::kind(&()));
    let ns = gateway.namespace().ok_or(Error::NoNamespace)?;
    let observed = observe(&ctx, &gateway, &ns).await?;
    let rendered = render::render(&observed.inputs(&gateway));
    apply_rendered(&ctx, &gateway, &ns, &rendered).await?;
    let (ready, serving) = readiness(&gateway, &rendered, &ctx).await?;
    report_status(
        &ctx.client,
        &gateway,
        &ns,
        &observed.toolkits,
        &rendered,
        &ready,
        serving,
    )
    .await?;
    publish_events(&ctx, &gateway, &rendered).await;
    succeeded(&ctx, &*gateway);
    Ok(Action::requeue(if ready.status {
        STEADY_RECHECK
    } else {
        PENDING_RECHECK
    }))
}

/// What the cluster holds that a gateway's rendering depends on.
struct Observed {
    /// Every McpToolkit in the gateway's namespace.
    toolkits: Vec<McpToolkit>,
    /// Service name → its ports.
    services: BTreeMap<String, BTreeSet<i32>>,
    /// The referenced Secrets and ConfigMaps that exist: name → their keys.
    secrets: KeysByName,
    config_maps: KeysByName,
}

impl Observed {
    fn inputs<'a>(&'a self, gateway: &'a McpGateway) -> Inputs<'a> {
        Inputs {
            gateway,
            toolkits: &self.toolkits,
            services: &self.services,
            secrets: &self.secrets,
            config_maps: &self.config_maps,
        }
    }
}

/// List the toolkits and Services of the gateway's namespace and read the keys
/// of what it references, recording those references for the watches.
async fn observe(ctx: &Context, gateway: &McpGateway, ns: &str) -> Result<Observed, Error> {
    let client = &ctx.client;
    let toolkits = Api::<McpToolkit>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await?
        .items;
    let services = Api::<Service>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .map(|s| {
            let ports = s
                .spec
                .iter()
                .flat_map(|spec| spec.ports.iter().flatten())
                .map(|p| p.port)
                .collect();
            (s.name_any(), ports)
        })
        .collect();
    let referenced = referenced_objects(gateway, &toolkits);
    ctx.references
        .record(ns, &gateway.name_any(), referenced.clone());
    let (secrets, config_maps) = referenced_keys(client, ns, &referenced).await?;
    Ok(Observed {
        toolkits,
        services,
        secrets,
        config_maps,
    })
}

/// Apply the gateway's objects, when there is a config to serve (without one,
/// what was applied before stays as it is).
async fn apply_rendered(
    ctx: &Context,
    gateway: &McpGateway,
    ns: &str,
    rendered: &Rendered,
) -> Result<(), Error> {
    let Some(config) = &rendered.config else {
        return Ok(());
    };
    let client = &ctx.client;
    apply(client, ns, &resources::config_map(gateway, &config.yaml)).await?;
    apply(client, ns, &resources::service_account(gateway)).await?;
    apply(client, ns, &resources::service(gateway)).await?;
    let deployment = resources::deployment(gateway, &ctx.dataplane_image, &rendered.mounts);
    apply(client, ns, &deployment).await
}

/// Write the gateway's status, then that of each toolkit the rendering judged.
async fn report_status(
    client: &Client,
    gateway: &McpGateway,
    ns: &str,
    toolkits: &[McpToolkit],
    rendered: &Rendered,
    ready: &Verdict,
    serving: i32,
) -> Result<(), Error> {
    let report = status::gateway(gateway, rendered, ready, serving);
    patch_status::<McpGateway>(client, ns, &gateway.name_any(), &report).await?;
    for toolkit in toolkits {
        if let Some(verdict) = rendered.toolkits.get(&toolkit.name_any()) {
            let report = status::toolkit(toolkit, &verdict.accepted, Some(&verdict.resolved_refs));
            toolkit_status(client, toolkit, report).await?;
        }
    }
    Ok(())
}

/// An Event when what is programmed changed since the last reconcile.
async fn publish_events(ctx: &Context, gateway: &McpGateway, rendered: &Rendered) {
    let Some(event) = status::programmed_event(gateway, &rendered.programmed) else {
        return;
    };
    if let Err(e) = ctx.recorder.publish(&event, &gateway.object_ref(&())).await {
        tracing::debug!(error = %e, "event not published");
    }
}

/// A toolkit whose gateway does not exist gets told so; everything else
/// about it is the gateway reconcile's to say.
pub async fn reconcile_toolkit(
    toolkit: Arc<McpToolkit>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let _timer = ctx.admin.time_reconcile(McpToolkit::kind(&()));
    let ns = toolkit.namespace().ok_or(Error::NoNamespace)?;
    let gateways = Api::<McpGateway>::namespaced(ctx.client.clone(), &ns);
    if gateways.get_opt(&toolkit.spec.gateway).await?.is_none() {
        let verdict = Verdict {
            status: false,
            reason: reason::GATEWAY_NOT_FOUND,
            message: format!(
                "no McpGateway {:?} in namespace {ns:?}",
                toolkit.spec.gateway
            ),
        };
        let report = status::toolkit(&toolkit, &verdict, None);
        toolkit_status(&ctx.client, &toolkit, report).await?;
    }
    succeeded(&ctx, &*toolkit);
    Ok(Action::await_change())
}

/// Count a successful reconcile, and forget the object's failures: its next
/// failure is retried after the first, shortest wait again.
fn succeeded<K: Resource<DynamicType = ()>>(ctx: &Context, object: &K) {
    ctx.admin.reconciled(K::kind(&()), Outcome::Ok);
    ctx.failures.succeeded(&key(object));
}

/// Count the failure by kind and reason, and retry the object after a wait
/// that doubles with each failure in a row (5 s up to 5 min).
pub fn error_policy<K: Resource<DynamicType = ()>>(
    object: Arc<K>,
    error: &Error,
    ctx: Arc<Context>,
) -> Action {
    let key = key(&*object);
    let retry = ctx.failures.failed(key.clone());
    tracing::warn!(%error, object = %key, ?retry, "reconcile failed; retrying");
    ctx.admin
        .reconciled(K::kind(&()), Outcome::Error(error.reason()));
    Action::requeue(retry)
}

/// Server-side apply under the operator's field manager.
async fn apply<K>(client: &Client, ns: &str, object: &K) -> Result<(), Error>
where
    K: Namespaced + serde::Serialize,
{
    let name = object.meta().name.clone().unwrap_or_default();
    Api::<K>::namespaced(client.clone(), ns)
        .patch(&name, &server_side_apply(), &Patch::Apply(object))
        .await?;
    Ok(())
}

/// Server-side apply of the status subresource of `name`.
async fn patch_status<K: Namespaced>(
    client: &Client,
    ns: &str,
    name: &str,
    status: &Value,
) -> Result<(), Error> {
    Api::<K>::namespaced(client.clone(), ns)
        .patch_status(name, &server_side_apply(), &Patch::Apply(status))
        .await?;
    Ok(())
}

/// What [`apply`] and [`patch_status`] can write.
trait Namespaced:
    Resource<Scope = NamespaceResourceScope, DynamicType = ()>
    + Clone
    + serde::de::DeserializeOwned
    + std::fmt::Debug
{
}

impl<K> Namespaced for K where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
{
}

/// The one way the operator writes: forced, under its own field manager, so
/// that what it applies wins over hand edits of the same fields.
fn server_side_apply() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}

/// Write a toolkit's status (in its own namespace).
async fn toolkit_status(client: &Client, toolkit: &McpToolkit, report: Value) -> Result<(), Error> {
    let ns = toolkit.namespace().ok_or(Error::NoNamespace)?;
    patch_status::<McpToolkit>(client, &ns, &toolkit.name_any(), &report).await
}

/// `Ready`: every desired replica is ready and reports serving the rendered config.
async fn readiness(
    gateway: &McpGateway,
    rendered: &Rendered,
    ctx: &Context,
) -> Result<(Verdict, i32), Error> {
    let desired = gateway.spec.replicas;
    let pending = |message: String| Verdict {
        status: false,
        reason: reason::PENDING,
        message,
    };
    let Some(config) = &rendered.config else {
        return Ok((pending("nothing is rendered to serve yet".into()), 0));
    };
    if desired == 0 {
        let message = "spec.replicas is 0: nothing serves the endpoint".to_owned();
        return Ok((
            Verdict {
                status: false,
                reason: reason::SCALED_TO_ZERO,
                message,
            },
            0,
        ));
    }
    let ready_ips = ready_pod_ips(gateway, ctx).await?;
    let port = gateway.spec.listener.port;
    let answers =
        futures_util::future::join_all(ready_ips.iter().map(|ip| ctx.probe.served(ip, port))).await;
    let serving = answers
        .iter()
        .filter(|a| a.as_deref() == Some(config.sha256.as_str()))
        .count();
    let serving = i32::try_from(serving).unwrap_or(i32::MAX);
    let short = &config.sha256[..config.sha256.len().min(12)];
    // Every desired replica serves it, and no ready pod serves anything else
    // (during a rollout an old pod may still be ready).
    if serving >= desired && serving == i32::try_from(ready_ips.len()).unwrap_or(0) {
        let message = format!("{serving} of {desired} replicas serve config {short}");
        return Ok((
            Verdict {
                status: true,
                reason: reason::READY,
                message,
            },
            serving,
        ));
    }
    Ok((
        pending(format!(
            "{serving} of {desired} replicas serve config {short} ({} ready)",
            ready_ips.len()
        )),
        serving,
    ))
}

/// The IPs of the gateway's data-plane pods that are ready and not going away.
async fn ready_pod_ips(gateway: &McpGateway, ctx: &Context) -> Result<Vec<String>, Error> {
    let ns = gateway.namespace().unwrap_or_default();
    let pods = Api::<Pod>::namespaced(ctx.client.clone(), &ns)
        .list(&ListParams::default().labels(&resources::pod_selector(gateway)))
        .await?
        .items;
    let ready_ips = pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| {
            p.status
                .iter()
                .flat_map(|s| s.conditions.iter().flatten())
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
        .filter_map(|p| p.status.as_ref()?.pod_ip.clone())
        .collect();
    Ok(ready_ips)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_counted_by_what_failed_not_by_their_message() {
        let api = |code| {
            let status = kube::core::Status::failure("some message", "SomeReason").with_code(code);
            Error::Kube(kube::Error::Api(status.boxed())).reason()
        };
        let reasons = [403, 404, 409, 422, 400, 500, 503, 0].map(api);
        assert_eq!(
            reasons,
            [
                "forbidden",
                "not-found",
                "conflict",
                "invalid",
                "api-4xx",
                "api-5xx",
                "api-5xx",
                "api"
            ]
        );
        let refused = kube::Error::Service("connection refused".into());
        assert_eq!(Error::Kube(refused).reason(), "transport");
        let garbled = serde_json::from_str::<u8>("<html>").expect_err("not JSON");
        assert_eq!(
            Error::Kube(kube::Error::SerdeError(garbled)).reason(),
            "decode"
        );
        assert_eq!(Error::NoNamespace.reason(), "no-namespace");
    }
}
