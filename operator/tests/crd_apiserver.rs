//! The CRDs and the operator against a real Kubernetes API server for custom
//! resources (`tests/apiserver/`: the upstream apiextensions-apiserver
//! library over etcd). It proves the generated CRDs install and are
//! enforced — schemas and CEL rules with our messages — and that the
//! operator's watches and status writes work. Core and apps objects are not
//! served there: the operator's client sends those to the mock API server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Api, Client, ResourceExt};
use mcpgw_crds::{HttpVersion, McpGateway, McpToolkit};
use mcpgw_operator::controller::{reconcile_gateway, reconcile_toolkit};
use mcpgw_operator::watches;
use serde_json::{Value, json};
use support::{FakeApi, FakeProbe};
use tokio_util::sync::CancellationToken;

/// `tests/apiserver/run.sh`, stopped (its whole process group) on drop.
struct CrdApiServer {
    child: Child,
    kubeconfig: String,
}

impl CrdApiServer {
    fn start() -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/apiserver/run.sh");
        let mut child = Command::new("bash")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .expect("run.sh starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("MCPGW_APISERVER_READY")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(line);
                }
            }
        });
        // The line comes once /readyz answers; the bound guards against a hang.
        let line = rx.recv_timeout(Duration::from_secs(180)).unwrap_or_else(|_| {
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
            panic!("the CRD API server was not ready within 180 s (tests/apiserver/build.sh builds it)")
        });
        let kubeconfig = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("kubeconfig="))
            .expect("kubeconfig=")
            .to_owned();
        Self { child, kubeconfig }
    }

    async fn client(&self) -> Client {
        let kubeconfig = Kubeconfig::read_from(&self.kubeconfig).expect("kubeconfig");
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .expect("config");
        Client::try_from(config).expect("client")
    }
}

impl Drop for CrdApiServer {
    fn drop(&mut self) {
        // SIGTERM lets run.sh stop etcd and remove its temp dir.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

async fn install_crds(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in mcpgw_crds::crds() {
        crds.patch(
            &crd.name_any(),
            &PatchParams::apply("mcpgw-tests").force(),
            &Patch::Apply(&crd),
        )
        .await
        .expect("CRD applied");
        tokio::time::timeout(
            Duration::from_secs(30),
            await_condition(
                crds.clone(),
                &crd.name_any(),
                conditions::is_crd_established(),
            ),
        )
        .await
        .expect("Established within 30 s")
        .expect("watch");
    }
}

/// The objects of `examples/k8s/demo.yaml`.
fn demo_objects() -> Vec<Value> {
    let text = include_str!("../../examples/k8s/demo.yaml");
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|doc| serde::Deserialize::deserialize(doc).expect("YAML"))
        .filter(|v: &Value| !v.is_null())
        .collect()
}

/// Create the objects of the example as written: each must be accepted.
async fn create_demo(gateways: &Api<McpGateway>, toolkits: &Api<McpToolkit>) {
    let pp = PostParams::default();
    for object in demo_objects() {
        let name = object["metadata"]["name"].as_str().unwrap().to_owned();
        match object["kind"].as_str() {
            Some("McpGateway") => drop(
                gateways
                    .create(&pp, &serde_json::from_value(object).unwrap())
                    .await
                    .expect("gateway accepted"),
            ),
            Some("McpToolkit") => drop(
                toolkits
                    .create(&pp, &serde_json::from_value(object).unwrap())
                    .await
                    .expect("toolkit accepted"),
            ),
            other => panic!("unexpected {other:?} {name}"),
        }
    }
}

fn toolkit(name: &str, spec: Value) -> McpToolkit {
    serde_json::from_value(
        json!({"apiVersion": "mcpgw.dev/v1alpha1", "kind": "McpToolkit",
        "metadata": {"name": name, "namespace": "shop"}, "spec": spec}),
    )
    .expect("toolkit")
}

/// The error message the API server gives when it refuses `create`.
async fn refused<K>(api: &Api<K>, object: &K) -> String
where
    K: kube::Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.create(&PostParams::default(), object).await {
        Ok(_) => panic!("{} was accepted", object.name_any()),
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422, "{status:?}");
            status.message
        }
        Err(e) => panic!("{e}"),
    }
}

/// A client whose `mcpgw.dev` requests go to the real server and the rest to the mock.
fn routed_client(real: Client, mock: &FakeApi) -> Client {
    let mock = mock.client();
    let service = tower::service_fn(move |request: http::Request<kube::client::Body>| {
        let target = if request.uri().path().starts_with("/apis/mcpgw.dev/") {
            real.clone()
        } else {
            mock.clone()
        };
        async move { target.send(request).await }
    });
    Client::new(service, "shop")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_crds_install_and_enforce_their_rules_on_a_real_api_server() {
    let server = CrdApiServer::start();
    let client = server.client().await;
    install_crds(&client).await;

    // The example is accepted as written.
    let gateways: Api<McpGateway> = Api::namespaced(client.clone(), "shop");
    let toolkits: Api<McpToolkit> = Api::namespaced(client.clone(), "shop");
    create_demo(&gateways, &toolkits).await;
    let demo = gateways.get("demo").await.unwrap();
    assert_eq!(
        demo.spec.listener.port, 7114,
        "defaults applied by the API server"
    );

    // Invalid toolkit names, missing upstreams, and renames are refused with our messages.
    let bad_name = refused(&toolkits, &toolkit("bad", json!({"gateway": "demo", "toolkit": "Not_A_Label", "upstream": {"url": "http://x:1/mcp"}}))).await;
    assert!(bad_name.contains("spec.toolkit"), "{bad_name}");
    let no_upstream = refused(
        &toolkits,
        &toolkit(
            "empty",
            json!({"gateway": "demo", "toolkit": "empty", "upstream": {}}),
        ),
    )
    .await;
    assert!(
        no_upstream.contains("set exactly one of upstream.url and upstream.service"),
        "{no_upstream}"
    );
    let both = refused(
        &toolkits,
        &toolkit(
            "both",
            json!({"gateway": "demo", "toolkit": "both",
        "upstream": {"url": "http://x:1/mcp", "service": {"name": "x", "port": 1}}}),
        ),
    )
    .await;
    assert!(
        both.contains("set exactly one of upstream.url and upstream.service"),
        "{both}"
    );
    let rename = toolkits
        .patch("time", &PatchParams::apply("mcpgw-tests").force(), &Patch::Apply(json!({
            "apiVersion": "mcpgw.dev/v1alpha1", "kind": "McpToolkit", "metadata": {"name": "time"},
            "spec": {"gateway": "demo", "toolkit": "clock", "upstream": {"service": {"name": "time", "port": 3002}}}})))
        .await;
    match rename {
        Err(kube::Error::Api(status)) => assert!(
            status.message.contains("toolkit name is immutable"),
            "{status:?}"
        ),
        other => panic!("a rename went through: {other:?}"),
    }
    println!("refusals:\n  {bad_name}\n  {no_upstream}\n  {both}");

    // The authentication rules, with our messages.
    let forward_conflict =
        "forwardCallerToken sends the caller's token in the Authorization header";
    for (name, header) in [
        ("fwd-default", None),
        ("fwd-explicit", Some("Authorization")),
    ] {
        let mut reference = json!({"name": "gh", "key": "token"});
        if let Some(header) = header {
            reference["header"] = json!(header);
        }
        let message = refused(
            &toolkits,
            &toolkit(
                name,
                json!({"gateway": "demo", "toolkit": name,
            "upstream": {"url": "http://x:1/mcp"}, "forwardCallerToken": true,
            "credentialSecretRef": reference}),
            ),
        )
        .await;
        assert!(message.contains(forward_conflict), "{message}");
        println!("  {message}");
    }
    let forwarding = toolkits
        .create(
            &PostParams::default(),
            &toolkit(
                "forwarding",
                json!({
        "gateway": "demo", "toolkit": "forwarding", "upstream": {"url": "http://x:1/mcp"},
        "forwardCallerToken": true, "requiredRoles": ["repo"],
        "credentialSecretRef": {"name": "gh", "key": "token", "header": "x-api-key"},
        "authorizationUrl": "https://github.com/login/oauth/authorize"}),
            ),
        )
        .await
        .expect("accepted");
    assert_eq!(
        forwarding.spec.required_roles,
        Some(vec!["repo".to_owned()])
    );
    let defaulted = toolkits.get("time").await.unwrap();
    assert!(
        !defaulted.spec.forward_caller_token,
        "forwardCallerToken defaults to false"
    );

    let gateway = |name: &str, jwt: Value| -> McpGateway {
        serde_json::from_value(
            json!({"apiVersion": "mcpgw.dev/v1alpha1", "kind": "McpGateway",
            "metadata": {"name": name, "namespace": "shop"}, "spec": {"auth": {"jwt": jwt}}}),
        )
        .expect("gateway")
    };
    let jwt = |extra: Value| {
        let mut jwt = json!({"issuer": "https://auth.example.com", "audiences": ["https://mcp.example.com/mcp"]});
        jwt.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        jwt
    };
    let url = json!("https://auth.example.com/jwks.json");
    let reference = json!({"name": "jwks", "key": "jwks.json"});
    for (name, extra, expected) in [
        (
            "no-keys",
            json!({}),
            "set exactly one of jwt.jwksUrl and jwt.keysFrom",
        ),
        (
            "two-keys",
            json!({"jwksUrl": url, "keysFrom": {"configMapKeyRef": reference}}),
            "set exactly one of jwt.jwksUrl and jwt.keysFrom",
        ),
        (
            "two-refs",
            json!({"keysFrom": {"configMapKeyRef": reference, "secretKeyRef": reference}}),
            "spec.auth.jwt.keysFrom: Invalid value: set exactly one of secretKeyRef and configMapKeyRef",
        ),
        (
            "no-refs",
            json!({"keysFrom": {}}),
            "spec.auth.jwt.keysFrom: Invalid value: set exactly one of secretKeyRef and configMapKeyRef",
        ),
        (
            "bad-leeway",
            json!({"jwksUrl": url, "leeway": "30s"}),
            "must be an ISO-8601 duration, such as PT30S or PT1M",
        ),
    ] {
        let message = refused(&gateways, &gateway(name, jwt(extra))).await;
        assert!(message.contains(expected), "{name}: {message}");
        println!("  {message}");
    }
    let secured = gateways
        .create(
            &PostParams::default(),
            &gateway(
                "secured",
                jwt(json!({"keysFrom": {"secretKeyRef": reference}})),
            ),
        )
        .await
        .expect("a gateway with keys from a Secret is accepted");
    let jwt = secured.spec.auth.expect("auth").jwt;
    assert_eq!(
        (jwt.roles_claim.as_str(), jwt.identity_claim.as_str()),
        ("scope", "sub"),
        "claims defaulted by the API server"
    );

    tls_rules(&toolkits).await;
}

/// The rules of `spec.tls`, with our messages; the HTTP versions are a set, and ALPN keeps
/// its order of preference.
async fn tls_rules(toolkits: &Api<McpToolkit>) {
    let with_tls = |name: &str, upstream: &Value, tls: Value| {
        toolkit(
            name,
            json!({"gateway": "demo", "toolkit": name, "upstream": upstream, "tls": tls}),
        )
    };
    let https = json!({"url": "https://mcp.internal:8443/mcp"});
    let ca = json!({"secretKeyRef": {"name": "internal-ca", "key": "ca.crt"}});
    for (name, upstream, tls, expected) in [
        (
            "tls-http",
            json!({"url": "http://x:1/mcp"}),
            json!({}),
            "tls applies to an https upstream only",
        ),
        (
            "tls-service",
            json!({"service": {"name": "x", "port": 1}}),
            json!({}),
            "tls applies to an https upstream only",
        ),
        (
            "tls-skip",
            https.clone(),
            json!({"insecureSkipVerify": true, "caBundle": ca}),
            "insecureSkipVerify turns certificate verification off",
        ),
        (
            "tls-nothing",
            https.clone(),
            json!({"trustSystemRoots": false}),
            "trustSystemRoots: false with no caBundle trusts no certificate",
        ),
        (
            "tls-alpn",
            https.clone(),
            json!({"alpn": ["h2"], "httpVersions": ["http/1.1"]}),
            "every alpn protocol must be one of httpVersions",
        ),
        (
            "tls-alpn-twice",
            https.clone(),
            json!({"alpn": ["h2", "h2"]}),
            "each protocol once",
        ),
        (
            "tls-versions-twice",
            https.clone(),
            json!({"httpVersions": ["h2", "h2"]}),
            "Duplicate value",
        ),
    ] {
        let message = refused(toolkits, &with_tls(name, &upstream, tls)).await;
        assert!(message.contains(expected), "{name}: {message}");
        println!("  {message}");
    }
    let service = json!({"service": {"name": "internal", "port": 8443, "scheme": "https"}});
    let tls = json!({"caBundle": ca, "clientCertificateSecretRef": {"name": "internal-client"},
        "serverName": "mcp.internal", "alpn": ["http/1.1", "h2"]});
    let internal = toolkits
        .create(&PostParams::default(), &with_tls("internal", &service, tls))
        .await
        .expect("an https Service with a CA bundle and a client certificate is accepted");
    let tls = internal.spec.tls.expect("tls");
    assert_eq!(
        tls.alpn,
        Some(vec![HttpVersion::Http11, HttpVersion::H2]),
        "order kept"
    );
    assert!(!tls.insecure_skip_verify, "defaulted to false");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operator_watches_and_writes_status_through_a_real_api_server() {
    let server = CrdApiServer::start();
    let real = server.client().await;
    install_crds(&real).await;
    let gateways: Api<McpGateway> = Api::namespaced(real.clone(), "shop");
    let toolkits: Api<McpToolkit> = Api::namespaced(real.clone(), "shop");
    create_demo(&gateways, &toolkits).await;
    toolkits.create(&PostParams::default(), &toolkit("orphan", json!({"gateway": "nope", "toolkit": "orphan", "upstream": {"url": "http://x:1/mcp"}}))).await.unwrap();

    // Services and the data-plane objects live in the mock.
    let mock = FakeApi::default();
    for (name, port) in [("everything", 3001), ("time", 3002)] {
        mock.put(
            &format!("/api/v1/namespaces/shop/services/{name}"),
            json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "shop"}, "spec": {"ports": [{"port": port}]}}),
        );
    }
    let ctx = support::context_with(
        routed_client(real.clone(), &mock),
        Arc::new(FakeProbe::default()),
    );

    // One reconcile each, by hand: the status lands on the real server.
    let demo = gateways.get("demo").await.unwrap();
    reconcile_gateway(Arc::new(demo.clone()), ctx.clone())
        .await
        .expect("reconcile");
    let demo = gateways.get_status("demo").await.unwrap();
    let status = demo.status.expect("status written");
    assert_eq!(status.observed_generation, demo.metadata.generation);
    let accepted = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Accepted")
        .expect("Accepted");
    assert_eq!(
        (accepted.status.as_str(), accepted.observed_generation),
        ("True", demo.metadata.generation)
    );
    assert!(
        status
            .conditions
            .iter()
            .any(|c| c.type_ == "Programmed" && c.status == "True")
    );
    assert_eq!(status.toolkits, ["everything", "time"]);
    let time = toolkits.get_status("time").await.unwrap();
    assert!(
        time.status
            .unwrap()
            .conditions
            .iter()
            .any(|c| c.type_ == "ResolvedRefs" && c.status == "True")
    );
    let orphan = toolkits.get("orphan").await.unwrap();
    reconcile_toolkit(Arc::new(orphan), ctx.clone())
        .await
        .unwrap();
    let orphan = toolkits.get_status("orphan").await.unwrap().status.unwrap();
    assert_eq!(orphan.conditions[0].reason, "GatewayNotFound");

    let _ = tracing_subscriber::fmt()
        .with_env_filter("kube=debug,mcpgw_operator=debug")
        .with_test_writer()
        .try_init();
    // The controllers themselves: a new gateway is noticed by the watch and reconciled.
    let stop = CancellationToken::new();
    let running = tokio::spawn(watches::run(ctx, Some("shop".into()), stop.clone()));
    let second: McpGateway = serde_json::from_value(
        json!({"apiVersion": "mcpgw.dev/v1alpha1", "kind": "McpGateway",
        "metadata": {"name": "second", "namespace": "shop"}, "spec": {}}),
    )
    .unwrap();
    gateways
        .create(&PostParams::default(), &second)
        .await
        .unwrap();
    let programmed = |g: Option<&McpGateway>| {
        g.and_then(|g| g.status.as_ref())
            .is_some_and(|s| s.conditions.iter().any(|c| c.type_ == "Programmed"))
    };
    tokio::time::timeout(
        Duration::from_secs(30),
        await_condition(gateways.clone(), "second", programmed),
    )
    .await
    .expect("the watch-driven reconcile wrote status within 30 s")
    .expect("watch");
    let second = gateways.get_status("second").await.unwrap().status.unwrap();
    let programmed = second
        .conditions
        .iter()
        .find(|c| c.type_ == "Programmed")
        .unwrap();
    assert_eq!(
        (programmed.status.as_str(), programmed.reason.as_str()),
        ("False", "NoToolkits"),
        "no toolkit names `second`"
    );
    stop.cancel();
    // Graceful shutdown waits for the reconciles under way, for a bounded time.
    tokio::time::timeout(watches::SHUTDOWN_GRACE + Duration::from_secs(5), running)
        .await
        .expect("the controllers stop within their shutdown grace")
        .unwrap();
}
