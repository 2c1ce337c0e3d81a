//! OpenTelemetry traces end to end: the gateway exports to an OTLP/HTTP
//! collector of the test's own (a small receiver on a loopback port, decoding
//! the protobuf bodies), and a mock upstream records the `traceparent` it was
//! sent. One test per binary: the tracing subscriber is global to the process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use mcpgw_dataplane::telemetry::{self, Destination};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message as _;
use serde_json::json;
use support::http::{Mcp, send};
use support::mock::{self, Answer, Mock};
use support::{TestGateway, config};
use tokio::net::TcpListener;
use tracing_subscriber::prelude::*;

/// An OTLP/HTTP trace receiver: every span of every export it was sent.
struct Collector {
    url: String,
    spans: Arc<Mutex<Vec<Span>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Collector {
    async fn start() -> Self {
        let socket = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/traces", socket.local_addr().unwrap());
        let spans = Arc::new(Mutex::new(Vec::new()));
        let task = {
            let spans = spans.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = socket.accept().await {
                    let spans = spans.clone();
                    let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let spans = spans.clone();
                        async move {
                            assert_eq!(req.uri().path(), "/v1/traces");
                            assert_eq!(req.headers()["content-type"], "application/x-protobuf");
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let export = ExportTraceServiceRequest::decode(body).unwrap();
                            let mut spans = spans.lock().unwrap();
                            for resource in export.resource_spans {
                                for scope in resource.scope_spans {
                                    spans.extend(scope.spans);
                                }
                            }
                            let mut resp = http::Response::new(Full::new(Bytes::new()));
                            resp.headers_mut()
                                .insert("content-type", "application/x-protobuf".parse().unwrap());
                            Ok::<_, Infallible>(resp)
                        }
                    });
                    tokio::spawn(async move {
                        let _ = auto::Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            })
        };
        Self { url, spans, task }
    }

    fn spans(&self) -> Vec<Span> {
        self.spans.lock().unwrap().clone()
    }
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

#[tokio::test(flavor = "multi_thread")]
async fn a_call_is_a_server_span_under_the_callers_trace_with_a_child_per_upstream_message() {
    let collector = Collector::start().await;
    let destination = Destination::Config(url::Url::parse(&collector.url).unwrap());
    let provider = telemetry::tracer_provider(&destination).unwrap();
    tracing_subscriber::registry()
        .with(telemetry::layer(&provider))
        .init();
    assert!(telemetry::enabled());

    let upstream = Mock::start(mock::server(|seen| {
        Answer::Json(
            mock::result(seen, json!({"content": [{"type": "text", "text": "hi"}]})),
            None,
        )
    }))
    .await;
    let gw = TestGateway::start(&config(&[("kit", &upstream.url)], false, "")).await;
    let mcp = Mcp::connect(&gw.url(), json!({})).await;
    let traceparent = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    let mut headers = mcp.headers();
    headers.push(("traceparent", &traceparent));
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "kit__hello", "arguments": {}}});
    let resp = send(Method::POST, &gw.url(), &headers, call.to_string()).await;
    assert_eq!(resp.status, StatusCode::OK, "{resp:?}");
    assert!(resp.response().get("result").is_some(), "{resp:?}");

    let flushed = tokio::task::spawn_blocking(move || provider.force_flush()).await;
    flushed.unwrap().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let spans = loop {
        let spans = collector.spans();
        if spans.iter().any(|s| s.name == "tools/call hello") {
            break spans;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no span for the call among {:?}",
            spans
                .iter()
                .map(|s| (
                    &s.name,
                    hex(&s.span_id),
                    hex(&s.parent_span_id),
                    &s.attributes
                ))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    // The request's span: a server span, child of the caller's.
    let server = spans.iter().find(|s| s.name == "tools/call hello").unwrap();
    assert_eq!(server.kind, SpanKind::Server as i32);
    assert_eq!(hex(&server.trace_id), CALLER_TRACE);
    assert_eq!(hex(&server.parent_span_id), CALLER_SPAN);
    assert_eq!(attribute(server, "mcp.method.name"), Some("tools/call"));
    assert_eq!(attribute(server, "mcpgw.toolkit"), Some("kit"));
    assert_eq!(attribute(server, "gen_ai.tool.name"), Some("hello"));

    // Its child: the message sent to the toolkit.
    let children: Vec<&Span> = spans
        .iter()
        .filter(|s| s.parent_span_id == server.span_id)
        .collect();
    assert_eq!(children.len(), 1, "{children:?}");
    let upstream_span = children[0];
    assert_eq!(upstream_span.kind, SpanKind::Client as i32);
    assert_eq!(upstream_span.name, "tools/call kit");
    assert_eq!(upstream_span.trace_id, server.trace_id);
    assert_eq!(attribute(upstream_span, "mcpgw.toolkit"), Some("kit"));
    assert_eq!(
        attribute(upstream_span, "mcp.method.name"),
        Some("tools/call")
    );

    // The upstream was told it is that child.
    let seen = upstream
        .seen()
        .into_iter()
        .find(|s| s.rpc_method() == Some("tools/call"))
        .unwrap();
    assert_eq!(
        seen.header("traceparent"),
        Some(format!("00-{CALLER_TRACE}-{}-01", hex(&upstream_span.span_id)).as_str())
    );

    // The session's handshake, sent without a traceparent, is a trace of its own.
    let initialize = spans.iter().find(|s| s.name == "initialize").unwrap();
    assert_eq!(initialize.kind, SpanKind::Server as i32);
    assert_ne!(hex(&initialize.trace_id), CALLER_TRACE);
    assert!(initialize.parent_span_id.is_empty());
}
