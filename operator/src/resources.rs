//! The objects the operator applies for one McpGateway: ConfigMap
//! `<gateway>-config`, ServiceAccount, Service and Deployment `<gateway>`.
//! All owned by the gateway (garbage-collected with it) and applied with
//! server-side apply under one field manager.
//!
//! NB: the pod template carries no checksum of the config: a config change
//! must reach the pods through the mounted ConfigMap and hot reload, never
//! through a rollout.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapProjection, ConfigMapVolumeSource, Container, ContainerPort,
    HTTPGetAction, KeyToPath, PodSecurityContext, PodSpec, PodTemplateSpec, Probe,
    ProjectedVolumeSource, SeccompProfile, SecretProjection, SecretVolumeSource, SecurityContext,
    Service, ServiceAccount, ServicePort, ServiceSpec, Volume, VolumeMount, VolumeProjection,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::{Resource, ResourceExt};
use mcpgw_crds::{McpGateway, TLS_SECRET_CERTIFICATE, TLS_SECRET_PRIVATE_KEY};

use crate::render::{
    CA_BUNDLE_FILE, CLIENT_CERTIFICATE_FILE, CLIENT_KEY_FILE, CONFIG_DIR, CONFIG_KEY,
    CREDENTIAL_FILE, CREDENTIALS_DIR, JWKS_DIR, JWKS_FILE, KeySource, Mounts, SESSION_DIR, TLS_DIR,
};

/// The one field manager of everything the operator applies.
pub const FIELD_MANAGER: &str = "mcpgw-operator";
/// The label that ties data-plane objects to their gateway.
pub const GATEWAY_LABEL: &str = "mcpgw.dev/gateway";
const CONTAINER_PORT_NAME: &str = "mcp";

/// Name of the gateway's ConfigMap.
pub fn config_map_name(gateway: &McpGateway) -> String {
    format!("{}-config", gateway.name_any())
}

/// Labels of every object of the gateway; the first two select its pods.
pub fn labels(gateway: &McpGateway) -> BTreeMap<String, String> {
    BTreeMap::from([
        (GATEWAY_LABEL.to_owned(), gateway.name_any()),
        (
            "app.kubernetes.io/name".to_owned(),
            "mcpgw-dataplane".to_owned(),
        ),
        ("app.kubernetes.io/instance".to_owned(), gateway.name_any()),
        (
            "app.kubernetes.io/managed-by".to_owned(),
            FIELD_MANAGER.to_owned(),
        ),
    ])
}

/// The label selector of the gateway's pods, as a query string value.
pub fn pod_selector(gateway: &McpGateway) -> String {
    format!(
        "{GATEWAY_LABEL}={},app.kubernetes.io/name=mcpgw-dataplane",
        gateway.name_any()
    )
}

fn selector_labels(gateway: &McpGateway) -> BTreeMap<String, String> {
    BTreeMap::from([
        (GATEWAY_LABEL.to_owned(), gateway.name_any()),
        (
            "app.kubernetes.io/name".to_owned(),
            "mcpgw-dataplane".to_owned(),
        ),
    ])
}

fn metadata(gateway: &McpGateway, name: String) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: gateway.namespace(),
        labels: Some(labels(gateway)),
        owner_references: gateway.controller_owner_ref(&()).map(|r| vec![r]),
        ..ObjectMeta::default()
    }
}

pub fn config_map(gateway: &McpGateway, yaml: &str) -> ConfigMap {
    ConfigMap {
        metadata: metadata(gateway, config_map_name(gateway)),
        data: Some(BTreeMap::from([(CONFIG_KEY.to_owned(), yaml.to_owned())])),
        ..ConfigMap::default()
    }
}

pub fn service_account(gateway: &McpGateway) -> ServiceAccount {
    ServiceAccount {
        metadata: metadata(gateway, gateway.name_any()),
        // The data plane never talks to the API server.
        automount_service_account_token: Some(false),
        ..ServiceAccount::default()
    }
}

pub fn service(gateway: &McpGateway) -> Service {
    Service {
        metadata: metadata(gateway, gateway.name_any()),
        spec: Some(ServiceSpec {
            // NB: the enum serialises to the API's own spelling (`ClusterIP`, …).
            type_: serde_json::to_value(gateway.spec.service_type)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned)),
            selector: Some(selector_labels(gateway)),
            ports: Some(vec![ServicePort {
                name: Some(CONTAINER_PORT_NAME.to_owned()),
                port: gateway.spec.listener.port,
                target_port: Some(IntOrString::String(CONTAINER_PORT_NAME.to_owned())),
                protocol: Some("TCP".to_owned()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// The data-plane Deployment; `mounts` are the files the rendered config names besides
/// its own (JWT keys, toolkits' credentials and TLS files).
pub fn deployment(gateway: &McpGateway, default_image: &str, mounts: &Mounts) -> Deployment {
    Deployment {
        metadata: metadata(gateway, gateway.name_any()),
        spec: Some(DeploymentSpec {
            replicas: Some(gateway.spec.replicas),
            selector: LabelSelector {
                match_labels: Some(selector_labels(gateway)),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(gateway)),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod_spec(gateway, default_image, mounts)),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

/// The data-plane pod: its one container, its volumes (each mounted read-only),
/// no API token, not root.
fn pod_spec(gateway: &McpGateway, default_image: &str, files: &Mounts) -> PodSpec {
    let volumes = volumes(gateway, files);
    let mounts = volumes
        .iter()
        .map(|(volume, dir)| VolumeMount {
            name: volume.name.clone(),
            mount_path: (*dir).to_owned(),
            read_only: Some(true),
            ..VolumeMount::default()
        })
        .collect();
    PodSpec {
        service_account_name: Some(gateway.name_any()),
        automount_service_account_token: Some(false),
        containers: vec![container(gateway, default_image, mounts)],
        volumes: Some(volumes.into_iter().map(|(volume, _)| volume).collect()),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".to_owned(),
                ..SeccompProfile::default()
            }),
            ..PodSecurityContext::default()
        }),
        ..PodSpec::default()
    }
}

/// The data-plane container: the config file to serve, the listener port, the
/// admin probes, and nothing it may write or escalate.
fn container(gateway: &McpGateway, default_image: &str, mounts: Vec<VolumeMount>) -> Container {
    let spec = &gateway.spec;
    let probe = |path: &str, period: i32| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::String(CONTAINER_PORT_NAME.to_owned()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        ..Probe::default()
    };
    Container {
        name: "dataplane".to_owned(),
        image: Some(
            spec.image
                .clone()
                .unwrap_or_else(|| default_image.to_owned()),
        ),
        args: Some(dataplane_args(spec.worker_threads)),
        ports: Some(vec![ContainerPort {
            name: Some(CONTAINER_PORT_NAME.to_owned()),
            container_port: spec.listener.port,
            protocol: Some("TCP".to_owned()),
            ..ContainerPort::default()
        }]),
        readiness_probe: Some(probe("/readyz", 5)),
        liveness_probe: Some(probe("/healthz", 10)),
        resources: spec.resources.clone(),
        volume_mounts: Some(mounts),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".to_owned()]),
                ..Capabilities::default()
            }),
            ..SecurityContext::default()
        }),
        ..Container::default()
    }
}

/// The data plane's command line: its config, JSON logs, and its threads when set.
fn dataplane_args(worker_threads: Option<u16>) -> Vec<String> {
    let mut args = vec![
        "--config".to_owned(),
        format!("{CONFIG_DIR}/{CONFIG_KEY}"),
        "--log-json".to_owned(),
    ];
    if let Some(threads) = worker_threads {
        args.extend(["--worker-threads".to_owned(), threads.to_string()]);
    }
    args
}

/// The pod's volumes, each with the directory the container mounts it at: the
/// config, the session key (when there is one), and the files the config names.
fn volumes(gateway: &McpGateway, files: &Mounts) -> Vec<(Volume, &'static str)> {
    let config = Volume {
        name: "config".to_owned(),
        config_map: Some(ConfigMapVolumeSource {
            name: config_map_name(gateway),
            ..ConfigMapVolumeSource::default()
        }),
        ..Volume::default()
    };
    let mut volumes = vec![(config, CONFIG_DIR)];
    if let Some(secret) = &gateway.spec.session_key_secret_ref {
        let session_key = Volume {
            name: "session-key".to_owned(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(secret.name.clone()),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        };
        volumes.push((session_key, SESSION_DIR));
    }
    for (name, dir, sources) in projected_volumes(files) {
        let projected = Volume {
            name: name.to_owned(),
            projected: Some(ProjectedVolumeSource {
                sources: Some(sources),
                ..ProjectedVolumeSource::default()
            }),
            ..Volume::default()
        };
        volumes.push((projected, dir));
    }
    volumes
}

/// The projected volumes (name, mount directory, sources) of the JWT keys, the
/// toolkits' credentials and their TLS files: only the named keys, each as a file at the
/// path the config names. NB: projected Secrets and ConfigMaps are updated in place by
/// the kubelet (they are not mounted with `subPath`), so a rotated credential or renewed
/// certificate reaches the running pods, which re-read the file; `optional` keeps a
/// Secret deleted after rendering from blocking the pods' start (the next reconcile drops
/// what named it).
fn projected_volumes(mounts: &Mounts) -> Vec<(&'static str, &'static str, Vec<VolumeProjection>)> {
    let mut volumes = Vec::new();
    if let Some(jwks) = &mounts.jwks {
        volumes.push((
            "jwks",
            JWKS_DIR,
            vec![projection(jwks, JWKS_FILE.to_owned())],
        ));
    }
    if !mounts.credentials.is_empty() {
        let sources = mounts
            .credentials
            .iter()
            .map(|(toolkit, (name, key))| {
                let items = [(key.as_str(), format!("{toolkit}/{CREDENTIAL_FILE}"))];
                secret_projection(name, items)
            })
            .collect();
        volumes.push(("credentials", CREDENTIALS_DIR, sources));
    }
    if !mounts.tls.is_empty() {
        let sources = mounts.tls.iter().flat_map(|(toolkit, files)| {
            let ca = files
                .ca_bundle
                .as_ref()
                .map(|source| projection(source, format!("{toolkit}/{CA_BUNDLE_FILE}")));
            let client = files.client_certificate.as_ref().map(|name| {
                let items = [
                    (
                        TLS_SECRET_CERTIFICATE,
                        format!("{toolkit}/{CLIENT_CERTIFICATE_FILE}"),
                    ),
                    (
                        TLS_SECRET_PRIVATE_KEY,
                        format!("{toolkit}/{CLIENT_KEY_FILE}"),
                    ),
                ];
                secret_projection(name, items)
            });
            ca.into_iter().chain(client)
        });
        volumes.push(("tls", TLS_DIR, sources.collect()));
    }
    volumes
}

/// One key of a Secret or ConfigMap as the file `path` of a projected volume.
fn projection(source: &KeySource, path: String) -> VolumeProjection {
    match source {
        KeySource::Secret { name, key } => secret_projection(name, [(key.as_str(), path)]),
        KeySource::ConfigMap { name, key } => VolumeProjection {
            config_map: Some(ConfigMapProjection {
                name: name.clone(),
                items: Some(items([(key.as_str(), path)])),
                optional: Some(true),
            }),
            ..VolumeProjection::default()
        },
    }
}

/// Keys of the Secret `name`, each as a file (key, path) of a projected volume.
fn secret_projection<const N: usize>(name: &str, keys: [(&str, String); N]) -> VolumeProjection {
    VolumeProjection {
        secret: Some(SecretProjection {
            name: name.to_owned(),
            items: Some(items(keys)),
            optional: Some(true),
        }),
        ..VolumeProjection::default()
    }
}

fn items<const N: usize>(keys: [(&str, String); N]) -> Vec<KeyToPath> {
    keys.into_iter()
        .map(|(key, path)| KeyToPath {
            key: key.to_owned(),
            path,
            mode: None,
        })
        .collect()
}

/// Where clients inside the cluster reach the gateway.
pub fn endpoint(gateway: &McpGateway) -> String {
    format!(
        "http://{}.{}.svc:{}{}",
        gateway.name_any(),
        gateway.namespace().unwrap_or_default(),
        gateway.spec.listener.port,
        gateway.spec.listener.path
    )
}

#[cfg(test)]
mod tests;
