#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{AdminState, Outcome, serve};

/// A running admin server on a loopback port chosen by the OS.
struct Admin {
    addr: SocketAddr,
    state: Arc<AdminState>,
    shutdown: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
    client: Client<HttpConnector, Empty<Bytes>>,
}

impl Admin {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(AdminState::default());
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(serve(listener, state.clone(), shutdown.clone()));
        let client = Client::builder(TokioExecutor::new()).build_http();
        Self {
            addr,
            state,
            shutdown,
            server,
            client,
        }
    }

    /// `method path` → (status, content type, body).
    async fn call(&self, method: Method, path: &str) -> (StatusCode, String, String) {
        let req = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr))
            .body(Empty::new())
            .unwrap();
        let resp = self.client.request(req).await.unwrap();
        let status = resp.status();
        let content_type = resp.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            content_type,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let (status, _, body) = self.call(Method::GET, path).await;
        (status, body)
    }
}

#[tokio::test]
async fn healthz_says_ok() {
    let admin = Admin::start().await;
    assert_eq!(
        admin.get("/healthz").await,
        (StatusCode::OK, "ok".to_owned())
    );
}

#[tokio::test]
async fn readyz_is_503_until_ready() {
    let admin = Admin::start().await;
    assert_eq!(
        admin.get("/readyz").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    admin.state.set_ready(true);
    assert_eq!(admin.get("/readyz").await.0, StatusCode::OK);
    admin.state.set_ready(false);
    assert_eq!(
        admin.get("/readyz").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn metrics_count_reconciles_errors_and_leadership() {
    let admin = Admin::start().await;
    admin.state.set_ready(true);
    admin.state.reconciled("McpGateway", Outcome::Ok);
    admin.state.reconciled("McpGateway", Outcome::Ok);
    admin
        .state
        .reconciled("McpGateway", Outcome::Error("apply"));
    admin
        .state
        .reconciled("McpToolkit", Outcome::Error("render"));
    let (status, content_type, body) = admin.call(Method::GET, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let mut samples: Vec<&str> = body.lines().filter(|l| !l.starts_with('#')).collect();
    samples.sort_unstable();
    assert_eq!(
        samples,
        [
            r#"mcpgw_operator_leader 1"#,
            r#"mcpgw_operator_reconcile_errors_total{kind="McpGateway",reason="apply"} 1"#,
            r#"mcpgw_operator_reconcile_errors_total{kind="McpToolkit",reason="render"} 1"#,
            r#"mcpgw_operator_reconciles_total{kind="McpGateway",result="error"} 1"#,
            r#"mcpgw_operator_reconciles_total{kind="McpGateway",result="ok"} 2"#,
            r#"mcpgw_operator_reconciles_total{kind="McpToolkit",result="error"} 1"#,
        ]
    );
    assert!(body.contains("# TYPE mcpgw_operator_reconciles counter\n"));
    assert!(body.contains("# TYPE mcpgw_operator_leader gauge\n"));
    assert!(body.ends_with("# EOF\n"));
}

#[tokio::test(start_paused = true)]
async fn reconcile_durations_are_observed_per_kind_however_the_reconcile_ends() {
    let state = AdminState::default();
    {
        let _timer = state.time_reconcile("McpGateway");
    }
    let failed = async {
        let _timer = state.time_reconcile("McpGateway");
        Err::<(), ()>(())
    };
    assert!(failed.await.is_err());
    let body = state.render_metrics();
    let line = |prefix: &str| {
        body.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("{prefix} missing from\n{body}"))
            .to_owned()
    };
    assert_eq!(
        line(r#"mcpgw_operator_reconcile_duration_seconds_count{kind="McpGateway"}"#),
        r#"mcpgw_operator_reconcile_duration_seconds_count{kind="McpGateway"} 2"#
    );
    assert_eq!(
        line(r#"mcpgw_operator_reconcile_duration_seconds_bucket{le="0.01",kind="McpGateway"}"#),
        r#"mcpgw_operator_reconcile_duration_seconds_bucket{le="0.01",kind="McpGateway"} 2"#
    );
    assert!(body.contains("# TYPE mcpgw_operator_reconcile_duration_seconds histogram\n"));
}

#[test]
fn metrics_before_any_reconcile_show_a_follower() {
    let state = AdminState::default();
    let samples: Vec<String> = state
        .render_metrics()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    assert_eq!(samples, ["mcpgw_operator_leader 0"]);
}

#[tokio::test]
async fn unknown_route_or_method_gets_404() {
    let admin = Admin::start().await;
    assert_eq!(admin.get("/nope").await.0, StatusCode::NOT_FOUND);
    let (status, _, _) = admin.call(Method::POST, "/healthz").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn shutdown_ends_the_server() {
    let admin = Admin::start().await;
    // Leaves an idle keep-alive connection in the client's pool.
    admin.get("/healthz").await;
    admin.shutdown.cancel();
    let ended = tokio::time::timeout(Duration::from_secs(2), admin.server).await;
    ended.unwrap().unwrap().unwrap();
    assert!(tokio::net::TcpStream::connect(admin.addr).await.is_err());
}
