//! `telemetry`: where the gateway exports what it observes, in Zilla's
//! vocabulary (`exporters` of `type: otlp`, `options.endpoint` with
//! `protocol`, `location` and per-signal `overrides`).
//!
//! Zilla exports `metrics` and `logs`; mcpgw exports `traces` (its metrics are
//! scraped from `/metrics`), so `traces` is the one signal it takes.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the gateway exports and where.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Telemetry {
    /// Named exporters; at most one. Without one, traces are exported only when
    /// the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) environment variable is set.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub exporters: IndexMap<String, Exporter>,
}

/// One exporter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exporter {
    /// The kind of exporter; only `otlp` is known.
    #[serde(rename = "type")]
    pub exporter_type: ExporterType,
    /// The exporter's settings.
    pub options: OtlpOptions,
}

/// Kinds of exporter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExporterType {
    /// OpenTelemetry's protocol (OTLP), over HTTP with protobuf bodies.
    Otlp,
}

/// Options of an `otlp` exporter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OtlpOptions {
    /// The signals to export; default `[traces]`, the only one supported
    /// (`metrics` and `logs` are recognised and refused: metrics are scraped
    /// from `/metrics`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signals: Option<Vec<Signal>>,
    /// Where the collector listens.
    pub endpoint: OtlpEndpoint,
}

/// Signals an exporter may send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Signal {
    /// Spans: one per client request, a child per upstream exchange.
    Traces,
    /// Not supported: scrape `/metrics` instead.
    Metrics,
    /// Not supported: the gateway logs to standard error.
    Logs,
}

/// An OTLP collector's address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OtlpEndpoint {
    /// The transport; only `http` (OTLP/HTTP with protobuf bodies). Default `http`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<OtlpProtocol>,
    /// The collector's base URL, e.g. `http://otel-collector:4318`; traces go to
    /// `<location>/v1/traces` unless `overrides.traces` says otherwise.
    pub location: String,
    /// Paths per signal, replacing the default `/v1/<signal>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<OtlpOverrides>,
}

/// Transports of an OTLP exporter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OtlpProtocol {
    /// OTLP/HTTP with protobuf bodies.
    Http,
}

/// Paths per signal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OtlpOverrides {
    /// The path traces are posted to, e.g. `/v1/traces` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traces: Option<String>,
}
