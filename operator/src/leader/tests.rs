#![allow(clippy::unwrap_used)]

use std::time::Duration;

use http::{Method, Request, Response};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::client::Body;
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower_test::mock::{self, Handle, SendResponse};

use super::{Clock, LeaderElection, LeaderError, Leadership};

const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/default/leases";
const LEASE: &str = "/apis/coordination.k8s.io/v1/namespaces/default/leases/mcpgw-operator";

/// The test clock's wall time when a scenario starts.
fn t0() -> Timestamp {
    Timestamp::from_second(1_893_456_000).unwrap() // 2030-01-01T00:00:00Z
}

/// `t0` plus `secs`, as the API server would send it.
fn at(secs: i64) -> String {
    (t0() + SignedDuration::from_secs(secs)).to_string()
}

/// A scenario: our candidate "me" (15 s lease, 5 s renewals) on a clock that
/// moves with tokio's paused time, and the API server it talks to.
struct Scenario {
    election: LeaderElection,
    api: ApiServer,
    start: Instant,
}

impl Scenario {
    fn new() -> Self {
        let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
        let client = kube::Client::new(service, "default");
        let start = Instant::now();
        let mut election = LeaderElection::new(client, "default", "mcpgw-operator", "me");
        election.clock = Clock::Tokio { wall: t0(), start };
        Self {
            election,
            api: ApiServer(handle),
            start,
        }
    }

    /// Campaign in the background.
    fn acquire(&self) -> tokio::task::JoinHandle<Result<Leadership, LeaderError>> {
        let election = self.election.clone();
        tokio::spawn(async move { election.acquire(CancellationToken::new()).await })
    }

    /// Seconds since the scenario started.
    fn elapsed(&self) -> u64 {
        self.start.elapsed().as_secs()
    }

    /// Take the absent lease: GET (404) then POST.
    async fn create(&mut self) -> Leadership {
        let acquiring = self.acquire();
        self.api.expect(Method::GET, LEASE).await.not_found();
        let create = self.api.expect(Method::POST, LEASES).await;
        create.accept(201, "1");
        acquiring.await.unwrap().unwrap()
    }
}

struct ApiServer(Handle<Request<Body>, Response<Body>>);

/// One request the API server received, waiting for its response.
struct Call {
    body: Value,
    respond: SendResponse<Response<Body>>,
}

impl ApiServer {
    /// The next request, which must be `method path`.
    async fn expect(&mut self, method: Method, path: &str) -> Call {
        let (request, respond) = self.0.next_request().await.unwrap();
        assert_eq!((request.method(), request.uri().path()), (&method, path));
        let bytes = request.into_body().collect_bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        Call { body, respond }
    }

    /// The next request is a GET of the lease: answer it with `lease`.
    async fn lease_is(&mut self, lease: Value) {
        self.expect(Method::GET, LEASE).await.reply(200, lease);
    }

    /// Answer every further request with a 500.
    fn fail_everything(mut self) {
        tokio::spawn(async move {
            while let Some((_, respond)) = self.0.next_request().await {
                respond.send_response(response(500, status(500, "InternalError")));
            }
        });
    }
}

impl Call {
    fn reply(self, code: u16, body: Value) {
        self.respond.send_response(response(code, body));
    }

    /// Take the lease written as it is, at resource version `version`.
    fn accept(self, code: u16, version: &str) {
        let mut body = self.body.clone();
        body["metadata"]["resourceVersion"] = json!(version);
        self.reply(code, body);
    }

    fn not_found(self) {
        self.reply(404, status(404, "NotFound"));
    }

    fn spec(&self, field: &str) -> &Value {
        &self.body["spec"][field]
    }

    fn time(&self, field: &str) -> Timestamp {
        self.spec(field).as_str().unwrap().parse().unwrap()
    }
}

fn response(code: u16, body: Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap()
}

fn status(code: u16, reason: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "code": code})
}

/// A Lease as the API server returns it.
fn lease(holder: &str, acquired: i64, renewed: i64, transitions: i32, version: &str) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "mcpgw-operator", "namespace": "default", "resourceVersion": version},
        "spec": {
            "holderIdentity": holder,
            "acquireTime": at(acquired),
            "renewTime": at(renewed),
            "leaseDurationSeconds": 15,
            "leaseTransitions": transitions,
        },
    })
}

#[tokio::test(start_paused = true)]
async fn missing_lease_is_created_and_acquired() {
    let mut s = Scenario::new();
    let acquiring = s.acquire();
    s.api.expect(Method::GET, LEASE).await.not_found();
    let create = s.api.expect(Method::POST, LEASES).await;
    assert_eq!(create.body["metadata"]["name"], "mcpgw-operator");
    assert_eq!(create.spec("holderIdentity"), "me");
    assert_eq!(create.spec("leaseDurationSeconds"), 15);
    assert_eq!(create.spec("leaseTransitions"), 0);
    assert_eq!(create.time("acquireTime"), t0());
    assert_eq!(create.time("renewTime"), t0());
    create.accept(201, "1");
    let leadership = acquiring.await.unwrap().unwrap();
    assert!(!leadership.lost().is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn fresh_lease_of_another_is_taken_only_once_expired() {
    let mut s = Scenario::new();
    let acquiring = s.acquire();
    // Renewed by "other" at t0 for 15 s: we keep polling every 5 s.
    for second in [0, 5, 10] {
        let get = s.api.expect(Method::GET, LEASE).await;
        assert_eq!(s.elapsed(), second);
        get.reply(200, lease("other", -100, 0, 3, "7"));
    }
    assert!(!acquiring.is_finished());
    s.api.lease_is(lease("other", -100, 0, 3, "7")).await;
    let update = s.api.expect(Method::PUT, LEASE).await;
    assert_eq!(s.elapsed(), 15);
    assert_eq!(update.spec("holderIdentity"), "me");
    assert_eq!(update.spec("leaseTransitions"), 4);
    update.accept(200, "8");
    acquiring.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn expired_lease_is_taken_over_with_one_more_transition() {
    let mut s = Scenario::new();
    let acquiring = s.acquire();
    s.api.lease_is(lease("other", -100, -20, 3, "7")).await;
    let update = s.api.expect(Method::PUT, LEASE).await;
    assert_eq!(update.body["metadata"]["resourceVersion"], "7");
    assert_eq!(update.spec("holderIdentity"), "me");
    assert_eq!(update.spec("leaseTransitions"), 4);
    assert_eq!(update.time("acquireTime"), t0());
    assert_eq!(update.time("renewTime"), t0());
    update.accept(200, "8");
    acquiring.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn own_lease_is_renewed_every_renew_period() {
    let mut s = Scenario::new();
    let acquiring = s.acquire();
    // Ours from before a restart.
    s.api.lease_is(lease("me", -60, -3, 2, "7")).await;
    let update = s.api.expect(Method::PUT, LEASE).await;
    assert_eq!(update.spec("leaseTransitions"), 2);
    assert_eq!(update.time("acquireTime").to_string(), at(-60));
    assert_eq!(update.time("renewTime"), t0());
    update.reply(200, lease("me", -60, 0, 2, "8"));
    let _leadership = acquiring.await.unwrap().unwrap();

    s.api.lease_is(lease("me", -60, 0, 2, "8")).await;
    let renewal = s.api.expect(Method::PUT, LEASE).await;
    assert_eq!(s.elapsed(), 5);
    assert_eq!(renewal.body["metadata"]["resourceVersion"], "8");
    assert_eq!(renewal.spec("holderIdentity"), "me");
    assert_eq!(renewal.spec("leaseTransitions"), 2);
    assert_eq!(renewal.time("renewTime").to_string(), at(5));
}

#[tokio::test(start_paused = true)]
async fn conflict_on_update_is_retried_with_the_new_version() {
    let mut s = Scenario::new();
    let acquiring = s.acquire();
    s.api.lease_is(lease("other", -100, -20, 3, "7")).await;
    s.api
        .expect(Method::PUT, LEASE)
        .await
        .reply(409, status(409, "Conflict"));
    s.api.lease_is(lease("other", -100, -16, 3, "9")).await;
    let update = s.api.expect(Method::PUT, LEASE).await;
    assert_eq!(s.elapsed(), 5);
    assert_eq!(update.body["metadata"]["resourceVersion"], "9");
    assert_eq!(update.spec("holderIdentity"), "me");
    update.accept(200, "10");
    acquiring.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn renewals_failing_for_a_lease_duration_lose_the_lease() {
    let mut s = Scenario::new();
    let leadership = s.create().await;
    let lost = leadership.lost();
    let start = s.start;
    s.api.fail_everything();
    lost.cancelled().await;
    assert_eq!(start.elapsed(), Duration::from_secs(15));
}

#[tokio::test(start_paused = true)]
async fn renewal_finding_another_holder_loses_the_lease_at_once() {
    let mut s = Scenario::new();
    let leadership = s.create().await;
    s.api.lease_is(lease("other", 4, 4, 1, "2")).await;
    leadership.lost().cancelled().await;
    assert_eq!(s.elapsed(), 5);
}

#[tokio::test(start_paused = true)]
async fn release_clears_the_holder() {
    let mut s = Scenario::new();
    let leadership = s.create().await;
    let lost = leadership.lost();
    let releasing = tokio::spawn(leadership.release());
    s.api.lease_is(lease("me", 0, 0, 0, "1")).await;
    let update = s.api.expect(Method::PUT, LEASE).await;
    assert_eq!(update.body["metadata"]["resourceVersion"], "1");
    assert_eq!(update.spec("holderIdentity"), &Value::Null);
    assert_eq!(update.spec("leaseDurationSeconds"), 1);
    update.accept(200, "2");
    releasing.await.unwrap();
    assert!(lost.is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn shutdown_ends_the_wait_for_a_held_lease() {
    let mut s = Scenario::new();
    let shutdown = CancellationToken::new();
    let election = s.election.clone();
    let acquiring = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { election.acquire(shutdown).await }
    });
    s.api.lease_is(lease("other", 0, 0, 0, "1")).await;
    shutdown.cancel();
    let result = acquiring.await.unwrap();
    assert!(matches!(result, Err(LeaderError::Cancelled { .. })));
}

#[tokio::test]
async fn renew_period_must_be_shorter_than_the_lease() {
    let s = Scenario::new();
    let election = s
        .election
        .with_timing(Duration::from_secs(5), Duration::from_secs(5));
    let result = election.acquire(CancellationToken::new()).await;
    assert!(matches!(result, Err(LeaderError::InvalidTiming { .. })));
}
