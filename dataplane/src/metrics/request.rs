//! Client requests: `mcpgw_requests_total{method,toolkit,name,outcome}` and
//! `mcpgw_request_duration_seconds{method,toolkit,name}`.
//!
//! Label values are shared strings: the method's `&'static str`, the
//! toolkit's own `Arc<str>`, and a tool or prompt name interned once per
//! toolkit. Names come from clients, so they are bounded: past
//! [`MAX_NAMES_PER_TOOLKIT`] distinct names per toolkit, or for a name longer
//! than [`MAX_NAME_LEN`], the name label is `other`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;

use super::Metrics;
use crate::jsonrpc::{ErrorObject, Message, code};
use crate::south::ClientError;

/// Distinct tool and prompt names kept as labels per toolkit; later names
/// count under `other`.
pub const MAX_NAMES_PER_TOOLKIT: usize = 1000;
/// Longer names count under `other`.
pub const MAX_NAME_LEN: usize = 128;

/// How a client request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A result (for `tools/call`, one without `isError`).
    Ok,
    /// A `tools/call` result with `isError: true`: the tool ran and failed.
    ToolError,
    /// A JSON-RPC error, by class of its code (from the gateway or the upstream).
    Error(ErrorClass),
    /// The toolkit could not be reached or broke the protocol.
    UpstreamError,
    /// The toolkit did not answer within its timeout.
    Timeout,
    /// A guard refused the caller (roles the item needs).
    Refused,
    /// The toolkit's limits refused the request (concurrency bound, rate
    /// limit or open circuit breaker), before it was sent.
    Limited,
    /// The client went away (or cancelled) before the answer.
    Cancelled,
}

/// JSON-RPC error codes, by class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    ParseError,
    InvalidRequest,
    MethodNotFound,
    InvalidParams,
    Internal,
    /// -32000 to -32099, the implementation-defined server errors.
    ServerError,
    /// Any other code (an application's own).
    Application,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::ToolError => "tool_error",
            Self::Error(ErrorClass::ParseError) => "parse_error",
            Self::Error(ErrorClass::InvalidRequest) => "invalid_request",
            Self::Error(ErrorClass::MethodNotFound) => "method_not_found",
            Self::Error(ErrorClass::InvalidParams) => "invalid_params",
            Self::Error(ErrorClass::Internal) => "internal",
            Self::Error(ErrorClass::ServerError) => "server_error",
            Self::Error(ErrorClass::Application) => "application_error",
            Self::UpstreamError => "upstream_error",
            Self::Timeout => "timeout",
            Self::Refused => "refused",
            Self::Limited => "limited",
            Self::Cancelled => "cancelled",
        }
    }

    /// The outcome of a request answered with `error`.
    pub fn of_error(error: &ErrorObject) -> Self {
        match error.code {
            code::REQUEST_TIMEOUT => Self::Timeout,
            code::PARSE_ERROR => Self::Error(ErrorClass::ParseError),
            code::INVALID_REQUEST => Self::Error(ErrorClass::InvalidRequest),
            code::METHOD_NOT_FOUND => Self::Error(ErrorClass::MethodNotFound),
            code::INVALID_PARAMS => Self::Error(ErrorClass::InvalidParams),
            code::INTERNAL_ERROR => Self::Error(ErrorClass::Internal),
            -32099..=-32000 => Self::Error(ErrorClass::ServerError),
            _ => Self::Error(ErrorClass::Application),
        }
    }

    /// The outcome of a request whose exchange with the toolkit failed.
    pub fn of_client_error(error: &ClientError) -> Self {
        match error {
            ClientError::Timeout(_) => Self::Timeout,
            _ => Self::UpstreamError,
        }
    }

    /// The outcome of a `tools/call` answered with these bytes of a success
    /// response, relayed unread: [`Self::ToolError`] when they hold the key
    /// `isError` with the value `true`.
    // NB: in JSON text an unescaped `"isError"` followed by `:` is a key (quotes
    // inside strings are escaped), so this finds no false key; it may find one
    // nested in `structuredContent`, which is rare enough to accept for a
    // search that costs little next to relaying the bytes.
    pub fn of_tool_result(bytes: &[u8]) -> Self {
        const KEY: &[u8] = b"\"isError\"";
        for at in memchr::memmem::find_iter(bytes, KEY) {
            let rest = bytes[at + KEY.len()..].trim_ascii_start();
            if let Some(value) = rest.strip_prefix(b":")
                && value.trim_ascii_start().starts_with(b"true")
            {
                return Self::ToolError;
            }
        }
        Self::Ok
    }

    /// The outcome of a request answered with `message`.
    pub fn of_message(message: &Message) -> Self {
        match message {
            Message::Response(r) => match &r.outcome {
                Ok(result) if result.get("isError").and_then(|v| v.as_bool()) == Some(true) => {
                    Self::ToolError
                }
                Ok(_) => Self::Ok,
                Err(e) => Self::of_error(e),
            },
            _ => Self::Ok,
        }
    }
}

/// The labels of one series of `mcpgw_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The MCP method; `unknown` for a method the gateway does not know.
    pub method: &'static str,
    /// The toolkit the request went to; empty for requests the gateway
    /// answers itself or fans out to every toolkit.
    pub toolkit: Arc<str>,
    /// The tool or prompt name (the toolkit's own); empty for other methods.
    pub name: Arc<str>,
    pub outcome: &'static str,
}

/// The labels of one series of `mcpgw_request_duration_seconds`: the request's
/// without its outcome, so that the histogram's series stay few.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct DurationLabels {
    method: &'static str,
    toolkit: Arc<str>,
    name: Arc<str>,
}

/// Tool and prompt names interned per toolkit, up to the cap.
#[derive(Debug)]
pub(super) struct Names {
    // NB: a std lock held only to look up or insert a name.
    by_toolkit: RwLock<HashMap<Arc<str>, HashSet<Arc<str>>>>,
    empty: Arc<str>,
    other: Arc<str>,
}

impl Default for Names {
    fn default() -> Self {
        Self {
            by_toolkit: RwLock::default(),
            empty: Arc::from(""),
            other: Arc::from("other"),
        }
    }
}

impl Names {
    /// The label value for `name` of `toolkit`: the interned name, or `other`.
    fn intern(&self, toolkit: &Arc<str>, name: &str) -> Arc<str> {
        if name.is_empty() {
            return self.empty.clone();
        }
        if name.len() > MAX_NAME_LEN {
            return self.other.clone();
        }
        let known = self.by_toolkit.read().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = known.get(&**toolkit).and_then(|names| names.get(name)) {
            return found.clone();
        }
        drop(known);
        let mut known = self.by_toolkit.write().unwrap_or_else(|p| p.into_inner());
        let names = known.entry(toolkit.clone()).or_default();
        if let Some(found) = names.get(name) {
            return found.clone();
        }
        if names.len() >= MAX_NAMES_PER_TOOLKIT {
            return self.other.clone();
        }
        let interned: Arc<str> = Arc::from(name);
        names.insert(interned.clone());
        interned
    }
}

impl Metrics {
    /// Start observing a client request of `method` (to `toolkit`, naming
    /// `name`, when it names one).
    pub fn observe(
        self: &Arc<Self>,
        method: &'static str,
        toolkit: Option<&Arc<str>>,
        name: &str,
    ) -> Observed {
        let (toolkit, name) = match toolkit {
            Some(toolkit) => (toolkit.clone(), self.names.intern(toolkit, name)),
            None => (self.names.empty.clone(), self.names.empty.clone()),
        };
        Observed {
            pending: Some(Pending {
                metrics: self.clone(),
                labels: DurationLabels {
                    method,
                    toolkit,
                    name,
                },
                started: Instant::now(),
                outcome: None,
            }),
        }
    }

    /// The count of requests with exactly these labels.
    pub fn requests_count(&self, labels: &RequestLabels) -> u64 {
        self.requests.get(labels).map_or(0, |c| c.get())
    }

    fn record(&self, labels: DurationLabels, elapsed: f64, outcome: Outcome) {
        self.request_duration
            .get_or_create(&labels)
            .observe(elapsed);
        let labels = RequestLabels {
            method: labels.method,
            toolkit: labels.toolkit,
            name: labels.name,
            outcome: outcome.label(),
        };
        self.requests.get_or_create(&labels).inc();
    }
}

/// A client request being observed: counted once, when it is finished, or
/// as `cancelled` when it is dropped unfinished.
#[derive(Debug)]
pub struct Observed {
    /// `None` once recorded or handed on with [`Self::defer`].
    pending: Option<Pending>,
}

#[derive(Debug)]
struct Pending {
    metrics: Arc<Metrics>,
    labels: DurationLabels,
    started: Instant,
    /// What the request ended with, when something decided it before the
    /// answer was written (a failed exchange is answered with an error whose
    /// code alone would not tell an upstream failure from an internal error).
    outcome: Option<Outcome>,
}

impl Observed {
    /// Decide the outcome now; the answer still finishes the observation.
    pub fn set_outcome(&mut self, outcome: Outcome) {
        if let Some(p) = self.pending.as_mut() {
            p.outcome = Some(outcome);
        }
    }

    /// Hand the observation on to whoever writes the answer later (a relayed
    /// stream); this one is then finished.
    pub fn defer(&mut self) -> Self {
        Self {
            pending: self.pending.take(),
        }
    }

    /// The request is answered with `outcome` (unless one was set before).
    pub fn finish(&mut self, outcome: Outcome) {
        if let Some(p) = self.pending.take() {
            let outcome = p.outcome.unwrap_or(outcome);
            let elapsed = p.started.elapsed().as_secs_f64();
            p.metrics.record(p.labels, elapsed, outcome);
        }
    }

    /// The request is answered with `message`.
    pub fn finish_with(&mut self, message: &Message) {
        if self.pending.is_some() {
            self.finish(Outcome::of_message(message));
        }
    }
}

impl Drop for Observed {
    fn drop(&mut self) {
        self.finish(Outcome::Cancelled);
    }
}
