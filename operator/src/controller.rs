//! The reconcilers (the controller-rs shape): one for McpGateway, which
//! renders, applies and reports, and one for McpToolkit, which only reports
//! what the gateway reconcile cannot: a gateway that does not exist.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Api, Client, Resource, ResourceExt};
use mcpgw_crds::{McpGateway, McpToolkit, condition_type, reason};
use serde_json::json;

use crate::admin::{AdminState, Outcome};
use crate::backoff::{Failures, key};
use crate::references::{References, referenced_keys, referenced_objects};
use crate::render::{self, Inputs, Rendered, Verdict};
use crate::resources::{self, FIELD_MANAGER};
use crate::served::ConfigProbe;

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

pub async fn reconcile_gateway(
    gateway: Arc<McpGateway>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let ns = gateway.namespace().ok_or(Error::NoNamespace)?;
    let name = gateway.name_any();
    let client = &ctx.client;
    let toolkits = Api::<McpToolkit>::namespaced(client.clone(), &ns)
        .list(&ListParams::default())
        .await?
        .items;
    let services: BTreeMap<String, BTreeSet<i32>> = Api::<Service>::namespaced(client.clone(), &ns)
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
    let referenced = referenced_objects(&gateway, &toolkits);
    ctx.references.record(&ns, &name, referenced.clone());
    let (secrets, config_maps) = referenced_keys(client, &ns, &referenced).await?;
    let rendered = render::render(&Inputs {
        gateway: &gateway,
        toolkits: &toolkits,
        services: &services,
        secrets: &secrets,
        config_maps: &config_maps,
    });

    if let Some(config) = &rendered.config {
        apply(client, &ns, &resources::config_map(&gateway, &config.yaml)).await?;
        apply(client, &ns, &resources::service_account(&gateway)).await?;
        apply(client, &ns, &resources::service(&gateway)).await?;
        apply(
            client,
            &ns,
            &resources::deployment(&gateway, &ctx.dataplane_image, &rendered.mounts),
        )
        .await?;
    }
    let (ready, serving) = readiness(&gateway, &rendered, &ctx).await?;

    let generation = gateway.metadata.generation;
    let existing = gateway
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    let conditions = vec![
        condition(
            existing,
            condition_type::ACCEPTED,
            &rendered.accepted,
            generation,
        ),
        condition(
            existing,
            condition_type::PROGRAMMED,
            &rendered.programmed,
            generation,
        ),
        condition(existing, condition_type::READY, &ready, generation),
        condition(
            existing,
            condition_type::RESOLVED_REFS,
            &rendered.resolved_refs,
            generation,
        ),
    ];
    let changed_program = existing
        .iter()
        .find(|c| c.type_ == condition_type::PROGRAMMED)
        .is_none_or(|c| {
            c.message != rendered.programmed.message
                || c.status != status_word(rendered.programmed.status)
        });
    let status = json!({
        "apiVersion": "mcpgw.dev/v1alpha1",
        "kind": "McpGateway",
        "status": {
            "observedGeneration": generation,
            "conditions": conditions,
            "toolkits": rendered.served,
            "endpoint": resources::endpoint(&gateway),
            "readyReplicas": serving,
        }
    });
    Api::<McpGateway>::namespaced(client.clone(), &ns)
        .patch_status(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&status),
        )
        .await?;

    for toolkit in toolkits
        .iter()
        .filter(|t| rendered.toolkits.contains_key(&t.name_any()))
    {
        let verdict = &rendered.toolkits[&toolkit.name_any()];
        toolkit_status(
            client,
            toolkit,
            &verdict.accepted,
            Some(&verdict.resolved_refs),
        )
        .await?;
    }

    if changed_program {
        let (type_, reason_) = if rendered.programmed.status {
            (EventType::Normal, "Programmed")
        } else {
            (EventType::Warning, rendered.programmed.reason)
        };
        publish(&ctx, &gateway, type_, reason_, &rendered.programmed.message).await;
    }
    succeeded(&ctx, &*gateway);
    Ok(Action::requeue(if ready.status {
        STEADY_RECHECK
    } else {
        PENDING_RECHECK
    }))
}

/// A toolkit whose gateway does not exist gets told so; everything else
/// about it is the gateway reconcile's to say.
pub async fn reconcile_toolkit(
    toolkit: Arc<McpToolkit>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
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
        toolkit_status(&ctx.client, &toolkit, &verdict, None).await?;
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
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let name = object.meta().name.clone().unwrap_or_default();
    Api::<K>::namespaced(client.clone(), ns)
        .patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(object),
        )
        .await?;
    Ok(())
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
    let ns = gateway.namespace().unwrap_or_default();
    let pods = Api::<Pod>::namespaced(ctx.client.clone(), &ns)
        .list(&ListParams::default().labels(&resources::pod_selector(gateway)))
        .await?
        .items;
    let ready_ips: Vec<String> = pods
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

/// The status of one McpToolkit, server-side applied.
async fn toolkit_status(
    client: &Client,
    toolkit: &McpToolkit,
    accepted: &Verdict,
    refs: Option<&Verdict>,
) -> Result<(), Error> {
    let ns = toolkit.namespace().ok_or(Error::NoNamespace)?;
    let generation = toolkit.metadata.generation;
    let existing = toolkit
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    let mut conditions = vec![condition(
        existing,
        condition_type::ACCEPTED,
        accepted,
        generation,
    )];
    if let Some(refs) = refs {
        conditions.push(condition(
            existing,
            condition_type::RESOLVED_REFS,
            refs,
            generation,
        ));
    }
    let status = json!({
        "apiVersion": "mcpgw.dev/v1alpha1",
        "kind": "McpToolkit",
        "status": {"observedGeneration": generation, "conditions": conditions},
    });
    Api::<McpToolkit>::namespaced(client.clone(), &ns)
        .patch_status(
            &toolkit.name_any(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&status),
        )
        .await?;
    Ok(())
}

fn status_word(status: bool) -> String {
    if status { "True" } else { "False" }.to_owned()
}

/// A condition, keeping `lastTransitionTime` when the status did not change.
fn condition(
    existing: &[Condition],
    type_: &str,
    verdict: &Verdict,
    generation: Option<i64>,
) -> Condition {
    let status = status_word(verdict.status);
    let since = existing
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| Time(k8s_openapi::jiff::Timestamp::now()));
    Condition {
        type_: type_.to_owned(),
        status,
        reason: verdict.reason.to_owned(),
        message: verdict.message.clone(),
        last_transition_time: since,
        observed_generation: generation,
    }
}

async fn publish(ctx: &Context, gateway: &McpGateway, type_: EventType, reason: &str, note: &str) {
    let event = Event {
        type_,
        reason: reason.to_owned(),
        note: Some(note.chars().take(1000).collect()),
        action: "Reconcile".to_owned(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &gateway.object_ref(&())).await {
        tracing::debug!(error = %e, "event not published");
    }
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
