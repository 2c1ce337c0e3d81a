//! What reconciles what: the two controllers, their watches (the gateway's
//! toolkits, the objects it owns, the Secrets and ConfigMaps it references),
//! run until shutdown.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use mcpgw_crds::{McpGateway, McpToolkit};
use tokio_util::sync::CancellationToken;

use crate::controller::{Context, error_policy, reconcile_gateway, reconcile_toolkit};
use crate::references::Kind;

/// Maps a changed Secret or ConfigMap to the gateways that reference it.
fn gateways_naming<K>(
    ctx: Arc<Context>,
    kind: Kind,
) -> impl Fn(PartialObjectMeta<K>) -> Vec<ObjectRef<McpGateway>> + Send + Sync + 'static {
    move |object| {
        let ns = object.metadata.namespace.unwrap_or_default();
        let name = object.metadata.name.unwrap_or_default();
        ctx.references.gateways(kind, &ns, &name)
    }
}

/// An API over `namespace`, or over all namespaces.
fn scoped<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// How long reconciles under way at shutdown may take to finish. NB: bounded
/// because a reconcile stuck on an unanswering API server would otherwise hold
/// the pod until the kubelet kills it, and the leader lease would stay taken
/// until it expires instead of being released at once.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Run both controllers until `shutdown`, over `namespace` (or all namespaces);
/// then let the reconciles under way finish, for at most [`SHUTDOWN_GRACE`].
pub async fn run(ctx: Arc<Context>, namespace: Option<String>, shutdown: CancellationToken) {
    let (client, ns) = (&ctx.client, namespace.as_deref());
    let gateways: Api<McpGateway> = scoped(client, ns);
    let toolkits: Api<McpToolkit> = scoped(client, ns);
    let config_maps: Api<ConfigMap> = scoped(client, ns);
    let deployments: Api<Deployment> = scoped(client, ns);
    let services: Api<Service> = scoped(client, ns);
    let accounts: Api<ServiceAccount> = scoped(client, ns);
    // Referenced Secrets and ConfigMaps, watched by metadata only (an
    // `Api<PartialObjectMeta<_>>` asks for nothing else): the operator never holds their
    // values, and reads a referenced one (for its keys) only in a reconcile.
    let secrets: Api<PartialObjectMeta<Secret>> = scoped(client, ns);
    let referenced_maps: Api<PartialObjectMeta<ConfigMap>> = scoped(client, ns);
    let stop = shutdown.clone();
    let gateway_controller = Controller::new(gateways, watcher::Config::default())
        .owns(config_maps, watcher::Config::default())
        .owns(deployments, watcher::Config::default())
        .owns(services, watcher::Config::default())
        .owns(accounts, watcher::Config::default())
        .watches(
            secrets,
            watcher::Config::default(),
            gateways_naming(ctx.clone(), Kind::Secret),
        )
        .watches(
            referenced_maps,
            watcher::Config::default(),
            gateways_naming(ctx.clone(), Kind::ConfigMap),
        )
        .watches(
            toolkits.clone(),
            watcher::Config::default(),
            |toolkit: McpToolkit| {
                let ns = toolkit.namespace();
                ns.map(|ns| ObjectRef::<McpGateway>::new(&toolkit.spec.gateway).within(&ns))
            },
        )
        .graceful_shutdown_on(async move { stop.cancelled().await })
        .run(reconcile_gateway, error_policy, ctx.clone())
        .for_each(|_| async {});
    let stop = shutdown.clone();
    let toolkit_controller = Controller::new(toolkits, watcher::Config::default())
        .graceful_shutdown_on(async move { stop.cancelled().await })
        .run(reconcile_toolkit, error_policy, ctx)
        .for_each(|_| async {});
    let grace = async {
        shutdown.cancelled().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        _ = futures_util::future::join(gateway_controller, toolkit_controller) => {}
        () = grace => tracing::warn!(
            grace = ?SHUTDOWN_GRACE,
            "reconciles still under way after the shutdown grace; stopping without them"
        ),
    }
}
