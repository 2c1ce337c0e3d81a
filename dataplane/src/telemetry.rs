//! OpenTelemetry traces: a span per client request, a child span per message
//! sent upstream, and W3C `traceparent` taken from callers and sent to
//! upstreams. The `tracing` crate's spans become OTel spans through
//! `tracing-opentelemetry`, exported over OTLP/HTTP (protobuf).
//!
//! Off by default. It is on when the config's `telemetry` names an exporter
//! or the standard `OTEL_EXPORTER_OTLP_ENDPOINT` /
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` variables are set (and neither
//! `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none` says otherwise).
//! While off, the request path reads one atomic flag: no span is made, and a
//! caller's `traceparent` is neither read nor passed on (a gateway that does
//! not trace does not take part in traces).

use std::sync::atomic::{AtomicBool, Ordering};

use http::HeaderMap;
use mcpgw_config::TelemetryPlan;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use tracing::Span;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Whether spans are exported (set once, when the exporter is installed).
static ENABLED: AtomicBool = AtomicBool::new(false);

/// The service name when `OTEL_SERVICE_NAME` does not give one.
const SERVICE_NAME: &str = "mcpgw-dataplane";

/// Why traces cannot be exported as configured.
#[derive(Debug, thiserror::Error)]
#[error("cannot export traces: {0}")]
pub struct TelemetryError(#[from] opentelemetry_otlp::ExporterBuildError);

/// Where spans go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// The config's exporter: this full URL.
    Config(url::Url),
    /// The standard `OTEL_EXPORTER_OTLP_*` variables (read by the exporter).
    Environment,
}

/// Where spans go for this config and environment; `None`: tracing is off.
pub fn destination(
    plan: Option<&TelemetryPlan>,
    env: impl Fn(&str) -> Option<String>,
) -> Option<Destination> {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if set("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        || set("OTEL_TRACES_EXPORTER").is_some_and(|v| v.trim().eq_ignore_ascii_case("none"))
    {
        return None;
    }
    if let Some(plan) = plan {
        return Some(Destination::Config(plan.traces_endpoint.clone()));
    }
    let from_env = [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ]
    .iter()
    .any(|name| set(name).is_some());
    from_env.then_some(Destination::Environment)
}

/// A tracer provider exporting to `destination` in batches, on the current
/// tokio runtime.
pub fn tracer_provider(destination: &Destination) -> Result<SdkTracerProvider, TelemetryError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary);
    let exporter = match destination {
        Destination::Config(url) => exporter.with_endpoint(url.as_str()),
        Destination::Environment => exporter,
    };
    let exporter = exporter.build()?;
    let processor =
        BatchSpanProcessor::builder(exporter, opentelemetry_sdk::runtime::Tokio).build();
    let resource = if std::env::var_os("OTEL_SERVICE_NAME").is_some() {
        Resource::builder().build()
    } else {
        Resource::builder().with_service_name(SERVICE_NAME).build()
    };
    Ok(SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(resource)
        .build())
}

/// The `tracing` layer that turns spans into OTel spans of `provider`; from
/// now on, requests make spans.
pub fn layer<S>(
    provider: &SdkTracerProvider,
) -> tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::SdkTracer>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    ENABLED.store(true, Ordering::Relaxed);
    tracing_opentelemetry::layer().with_tracer(provider.tracer("mcpgw"))
}

/// Whether requests make spans.
#[inline]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The span of one client HTTP request, child of the caller's `traceparent`
/// when it sent one. Its MCP fields are filled in by [`record_request`].
pub fn server_span(headers: &HeaderMap) -> Span {
    let span = tracing::info_span!(
        "mcp.request",
        otel.name = "mcp.request",
        otel.kind = "server",
        mcp.method.name = Empty,
        mcpgw.toolkit = Empty,
        gen_ai.tool.name = Empty,
    );
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    if parent.span().span_context().is_valid() {
        // NB: fails only when the span is disabled (filtered out): then there is nothing to link.
        let _ = span.set_parent(parent);
    }
    span
}

/// Name the current request span after the MCP request it carries.
pub fn record_request(method: &str, toolkit: Option<&str>, name: &str) {
    let span = Span::current();
    let target = match (toolkit, name) {
        (_, name) if !name.is_empty() => format!("{method} {name}"),
        (Some(toolkit), _) => format!("{method} {toolkit}"),
        (None, _) => method.to_owned(),
    };
    // NB: `otel.name` recorded late renames only a span not yet started; a
    // span with a caller's parent has started, so rename it through OTel.
    span.context().span().update_name(target);
    span.record("mcp.method.name", method);
    if let Some(toolkit) = toolkit {
        span.record("mcpgw.toolkit", toolkit);
    }
    if !name.is_empty() {
        span.record("gen_ai.tool.name", name);
    }
}

/// The span of one message sent to `toolkit`.
pub fn upstream_span(toolkit: &str, method: Option<&str>) -> Span {
    tracing::info_span!(
        "mcp.upstream",
        otel.name = format!("{} {toolkit}", method.unwrap_or("message")),
        otel.kind = "client",
        mcpgw.toolkit = toolkit,
        mcp.method.name = method.unwrap_or_default(),
    )
}

/// Add the current span's `traceparent` (and `tracestate`) to an upstream
/// request's headers; nothing while tracing is off.
pub fn inject(headers: &mut HeaderMap) {
    if !enabled() {
        return;
    }
    let context = Span::current().context();
    if context.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn plan() -> TelemetryPlan {
        TelemetryPlan {
            exporter: "otlp".into(),
            traces_endpoint: url::Url::parse("http://c:4318/v1/traces").expect("valid"),
        }
    }

    #[test]
    fn tracing_is_off_without_an_exporter_or_an_endpoint_variable() {
        assert_eq!(destination(None, env(&[])), None);
        assert_eq!(
            destination(None, env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")])),
            None
        );
    }

    #[test]
    fn the_config_wins_over_the_environment() {
        let vars = [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318")];
        assert_eq!(
            destination(Some(&plan()), env(&vars)),
            Some(Destination::Config(plan().traces_endpoint))
        );
        assert_eq!(
            destination(None, env(&vars)),
            Some(Destination::Environment)
        );
        let traces = [("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://env:4318/t")];
        assert_eq!(
            destination(None, env(&traces)),
            Some(Destination::Environment)
        );
    }

    #[test]
    fn the_standard_switches_turn_tracing_off() {
        for off in [
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_TRACES_EXPORTER", "none"),
        ] {
            assert_eq!(destination(Some(&plan()), env(&[off])), None);
        }
    }
}
