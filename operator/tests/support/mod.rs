//! A mock Kubernetes API server for reconcile tests (tower-test, as in
//! controller-rs): an in-memory store of objects by URL path that answers
//! GET (item or list), server-side-apply PATCH (objects and /status) and
//! POST (events), and records every request for the test to assert on. It
//! can be told to fail requests, to drive a reconcile into its error path.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use kube::client::Body;
use mcpgw_operator::admin::AdminState;
use mcpgw_operator::controller::Context;
use mcpgw_operator::served::ConfigProbe;
use serde_json::{Value, json};

/// One request the mock API server received.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub body: Value,
}

#[derive(Clone, Default)]
pub struct FakeApi {
    objects: Arc<Mutex<BTreeMap<String, Value>>>,
    calls: Arc<Mutex<Vec<Call>>>,
    /// While set: requests whose path starts with the prefix get this status.
    failing: Arc<Mutex<Option<(String, StatusCode)>>>,
}

/// How long the store holds a watch open before ending it with no events.
const WATCH_HELD: std::time::Duration = std::time::Duration::from_secs(1);

/// Plural resource names the store answers lists for.
const COLLECTIONS: &[&str] = &[
    "mcptoolkits",
    "mcpgateways",
    "services",
    "pods",
    "secrets",
    "configmaps",
    "deployments",
    "serviceaccounts",
];

impl FakeApi {
    /// Put an object at its API path (e.g. `/api/v1/namespaces/shop/services/time`).
    pub fn put(&self, path: &str, object: Value) {
        self.objects.lock().unwrap().insert(path.to_owned(), object);
    }

    pub fn get(&self, path: &str) -> Option<Value> {
        self.objects.lock().unwrap().get(path).cloned()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// The bodies of the PATCHes to `path`, in order.
    pub fn patches(&self, path: &str) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == Method::PATCH && c.path == path)
            .map(|c| c.body)
            .collect()
    }

    pub fn forget_calls(&self) {
        self.calls.lock().unwrap().clear();
    }

    /// Answer each request whose path starts with `prefix` (`""`: every request)
    /// with `status` and a `Status` body, until [`FakeApi::recover`].
    pub fn fail(&self, prefix: &str, status: StatusCode) {
        *self.failing.lock().unwrap() = Some((prefix.to_owned(), status));
    }

    /// Answer every request normally again.
    pub fn recover(&self) {
        *self.failing.lock().unwrap() = None;
    }

    /// A kube client talking to this store.
    pub fn client(&self) -> kube::Client {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let api = self.clone();
        tokio::spawn(async move {
            while let Some((request, respond)) = handle.next_request().await {
                let api = api.clone();
                // One task per request, so that a watch held open (below) does not
                // stall the requests behind it.
                tokio::spawn(async move { respond.send_response(api.answer(request).await) });
            }
        });
        kube::Client::new(service, "default")
    }

    async fn answer(&self, request: Request<Body>) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let bytes = body
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let path = parts.uri.path().to_owned();
        let query = parts.uri.query().unwrap_or_default().to_owned();
        self.calls.lock().unwrap().push(Call {
            method: parts.method.clone(),
            path: path.clone(),
            query: query.clone(),
            body: body.clone(),
        });
        let failing = self.failing.lock().unwrap().clone();
        if let Some((prefix, status)) = failing
            && path.starts_with(&prefix)
        {
            return failure(status, format!("{path}: failing on purpose"));
        }
        match parts.method {
            // A watch: no events (the store does not change behind the test's back).
            // NB: held open a while as a real server holds it, not answered at once: a
            // watch that ends at once is started again at once, and the six watches of
            // a running controller then spun through hundreds of requests a second.
            Method::GET if query.contains("watch=true") => {
                tokio::time::sleep(WATCH_HELD).await;
                Response::builder()
                    .status(StatusCode::OK)
                    .header("content-type", "application/json")
                    .body(Body::from(Vec::new()))
                    .unwrap()
            }
            Method::GET => match self.get(&path) {
                Some(object) => reply(StatusCode::OK, &object),
                None if COLLECTIONS.contains(&path.rsplit('/').next().unwrap_or_default()) => {
                    reply(StatusCode::OK, &self.list(&path, &query))
                }
                None => not_found(&path),
            },
            Method::PATCH => {
                let (target, subresource) = match path.strip_suffix("/status") {
                    Some(object) => (object.to_owned(), true),
                    None => (path.clone(), false),
                };
                let mut objects = self.objects.lock().unwrap();
                let stored = if subresource {
                    let Some(existing) = objects.get_mut(&target) else {
                        return not_found(&target);
                    };
                    existing["status"] = body["status"].clone();
                    existing.clone()
                } else {
                    objects.insert(target, body.clone());
                    body
                };
                reply(StatusCode::OK, &stored)
            }
            Method::POST => reply(StatusCode::CREATED, &body),
            _ => reply(StatusCode::METHOD_NOT_ALLOWED, &json!({})),
        }
    }

    fn list(&self, path: &str, query: &str) -> Value {
        let wanted: Vec<(String, String)> = query
            .split('&')
            .filter_map(|kv| kv.strip_prefix("labelSelector="))
            .flat_map(|s| {
                percent_decode(s)
                    .split(',')
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .filter_map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
            })
            .collect();
        let prefix = format!("{path}/");
        let items: Vec<Value> = self
            .objects
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix) && !k[prefix.len()..].contains('/'))
            .map(|(_, v)| v.clone())
            .filter(|v| {
                wanted
                    .iter()
                    .all(|(k, want)| v["metadata"]["labels"][k] == json!(want))
            })
            .collect();
        json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "1"}, "items": items})
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn reply(status: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

fn not_found(path: &str) -> Response<Body> {
    failure(StatusCode::NOT_FOUND, format!("{path} not found"))
}

/// An error as the API server words it: a `Status` object, with the reason it
/// gives for that code (clients go by the reason before the code).
fn failure(status: StatusCode, message: String) -> Response<Body> {
    let reason = match status {
        StatusCode::FORBIDDEN => "Forbidden",
        StatusCode::NOT_FOUND => "NotFound",
        StatusCode::CONFLICT => "Conflict",
        StatusCode::UNPROCESSABLE_ENTITY => "Invalid",
        StatusCode::INTERNAL_SERVER_ERROR => "InternalError",
        _ => "",
    };
    reply(
        status,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
                "code": status.as_u16(), "message": message}),
    )
}

/// A probe that answers from a table of pod IP → served SHA-256.
#[derive(Default)]
pub struct FakeProbe(pub Mutex<BTreeMap<String, String>>);

impl ConfigProbe for FakeProbe {
    fn served<'a>(&'a self, ip: &'a str, _port: i32) -> BoxFuture<'a, Option<String>> {
        let answer = self.0.lock().unwrap().get(ip).cloned();
        Box::pin(async move { answer })
    }
}

pub fn context(api: &FakeApi, probe: Arc<FakeProbe>) -> Arc<Context> {
    context_with(api.client(), probe)
}

/// A context over any client (e.g. one that routes some requests elsewhere).
pub fn context_with(client: kube::Client, probe: Arc<FakeProbe>) -> Arc<Context> {
    Arc::new(Context {
        client: client.clone(),
        dataplane_image: "ghcr.io/mcpgw/mcpgw-dataplane:test".into(),
        probe,
        recorder: kube::runtime::events::Recorder::new(
            client,
            kube::runtime::events::Reporter {
                controller: "mcpgw-operator".into(),
                instance: Some("test".into()),
            },
        ),
        admin: Arc::new(AdminState::default()),
        failures: Default::default(),
        references: Default::default(),
    })
}

/// API paths of the namespace `shop`, where the reconcile tests' objects live.
pub const NS: &str = "/api/v1/namespaces/shop";
pub const APPS: &str = "/apis/apps/v1/namespaces/shop";
pub const MCPGW: &str = "/apis/mcpgw.dev/v1alpha1/namespaces/shop";

/// The McpGateway `demo` in `shop` (generation 1) with `spec`.
pub fn demo_gateway(spec: Value) -> mcpgw_crds::McpGateway {
    serde_json::from_value(json!({
        "apiVersion": "mcpgw.dev/v1alpha1", "kind": "McpGateway",
        "metadata": {"name": "demo", "namespace": "shop", "uid": "uid-demo", "generation": 1},
        "spec": spec,
    }))
    .unwrap()
}

/// A store holding `gateway` (as `demo`), the McpToolkit `first` (created first, its
/// `spec` given) and the open McpToolkit `time`.
pub fn demo_cluster_with(gateway: &mcpgw_crds::McpGateway, first: &str, spec: Value) -> FakeApi {
    let api = FakeApi::default();
    api.put(
        &format!("{MCPGW}/mcpgateways/demo"),
        serde_json::to_value(gateway).unwrap(),
    );
    let toolkit = |name: &str, created: &str, spec: Value| {
        json!({"apiVersion": "mcpgw.dev/v1alpha1", "kind": "McpToolkit",
            "metadata": {"name": name, "namespace": "shop", "generation": 1,
                         "creationTimestamp": created},
            "spec": spec})
    };
    api.put(
        &format!("{MCPGW}/mcptoolkits/{first}"),
        toolkit(first, "2026-01-01T00:00:00Z", spec),
    );
    let time =
        json!({"gateway": "demo", "toolkit": "time", "upstream": {"url": "http://time:3002/mcp"}});
    api.put(
        &format!("{MCPGW}/mcptoolkits/time"),
        toolkit("time", "2026-01-01T00:00:01Z", time),
    );
    api
}

/// A Secret `name` in `shop` with `data` (base64 values).
pub fn secret(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": "shop"}, "data": data})
}

/// The condition `type_` of a status.
pub fn condition(status: &Value, type_: &str) -> Value {
    let conditions = status["conditions"].as_array().unwrap();
    let found = conditions.iter().find(|c| c["type"] == type_).cloned();
    found.unwrap_or_else(|| panic!("no {type_} in {status}"))
}

/// The status last written to the object at `path`.
pub fn last_status(api: &FakeApi, path: &str) -> Value {
    api.patches(&format!("{path}/status")).pop().unwrap()["status"].clone()
}

/// The binding config in gateway `demo`'s ConfigMap.
pub fn demo_config(api: &FakeApi) -> String {
    let cm = api.get(&format!("{NS}/configmaps/demo-config")).unwrap();
    cm["data"]["config.yaml"].as_str().unwrap().to_owned()
}

/// Nothing the operator sent (applies, statuses, events) holds any of `values`.
pub fn assert_none_sent(api: &FakeApi, values: &[&str]) {
    for call in api.calls() {
        let body = call.body.to_string();
        for value in values {
            assert!(
                !body.contains(value),
                "{} {}: {body}",
                call.method,
                call.path
            );
        }
    }
}
