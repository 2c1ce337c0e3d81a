//! Client requests: `mcpgw_requests_total{method,toolkit,name,outcome}` and
//! `mcpgw_request_duration_seconds{method,toolkit,name}`.
//!
//! Label values are shared strings: the method's `&'static str`, the
//! toolkit's own `Arc<str>`, and a tool or prompt name interned once per
//! toolkit. Names come from clients, so they are bounded: past
//! [`MAX_NAMES_PER_TOOLKIT`] distinct names per toolkit, or for a name longer
//! than [`MAX_NAME_LEN`], the name label is `other`.

use std::sync::{Arc, LazyLock, Mutex, OnceLock, RwLock};
use std::time::Instant;

use hashbrown::{Equivalent, HashMap, HashSet};
use memchr::memmem::Finder;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;

use super::Metrics;
use crate::jsonrpc::{ErrorObject, Message, code};
use crate::south::ClientError;

/// Distinct tool and prompt names kept as labels per toolkit; later names
/// count under `other`.
pub const MAX_NAMES_PER_TOOLKIT: usize = 1000;
/// Longer names count under `other`.
pub const MAX_NAME_LEN: usize = 128;
/// The name label of names past the cap.
const OTHER: &str = "other";

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
    /// How many outcomes there are (see [`Self::index`]).
    const COUNT: usize = 14;

    /// A dense index, for per-outcome arrays.
    fn index(self) -> usize {
        match self {
            Self::Ok => 0,
            Self::ToolError => 1,
            Self::Error(ErrorClass::ParseError) => 2,
            Self::Error(ErrorClass::InvalidRequest) => 3,
            Self::Error(ErrorClass::MethodNotFound) => 4,
            Self::Error(ErrorClass::InvalidParams) => 5,
            Self::Error(ErrorClass::Internal) => 6,
            Self::Error(ErrorClass::ServerError) => 7,
            Self::Error(ErrorClass::Application) => 8,
            Self::UpstreamError => 9,
            Self::Timeout => 10,
            Self::Refused => 11,
            Self::Limited => 12,
            Self::Cancelled => 13,
        }
    }

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
        // NB: the searcher is built once; `find_iter` builds one per call.
        static KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\"isError\""));
        let mut from = 0;
        while let Some(found) = KEY.find(&bytes[from..]) {
            from += found + KEY.needle().len();
            let rest = bytes[from..].trim_ascii_start();
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

/// The series of one (method, toolkit, name): its latency histogram and its
/// counters by outcome, resolved from the families once, so that observing
/// a request hashes one key instead of three label sets.
#[derive(Debug)]
pub(super) struct Series {
    labels: DurationLabels,
    duration: Histogram,
    /// Indexed by [`Outcome::index`]; a counter is created on first use so
    /// that the exposition holds only outcomes that happened.
    counts: [OnceLock<Counter>; Outcome::COUNT],
}

#[derive(Debug, Hash, PartialEq, Eq)]
struct SeriesKey {
    method: &'static str,
    toolkit: Arc<str>,
    name: Arc<str>,
}

/// A [`SeriesKey`] borrowed from a request, to look one up without allocating.
// NB: hashes exactly like `SeriesKey` (`Arc<str>` hashes as its `str`).
#[derive(Hash)]
struct SeriesRef<'a> {
    method: &'static str,
    toolkit: &'a str,
    name: &'a str,
}

impl Equivalent<SeriesKey> for SeriesRef<'_> {
    fn equivalent(&self, key: &SeriesKey) -> bool {
        self.method == key.method && self.toolkit == &*key.toolkit && self.name == &*key.name
    }
}

/// The series resolved so far, and the tool and prompt names counted per
/// toolkit for the cap.
#[derive(Debug, Default)]
pub(super) struct SeriesCache {
    // NB: std locks held only to look up or insert an entry. The map's
    // hasher is hashbrown's (foldhash, randomly seeded): names come from
    // clients, and the cap bounds what they can insert.
    series: RwLock<HashMap<SeriesKey, Arc<Series>>>,
    names: Mutex<HashMap<Arc<str>, HashSet<Arc<str>>>>,
}

impl SeriesCache {
    /// The series of `method` on `toolkit` naming `name` (all empty for a
    /// request that goes to no single toolkit).
    fn get(
        &self,
        families: &Metrics,
        method: &'static str,
        toolkit: &Arc<str>,
        name: &str,
    ) -> Arc<Series> {
        let key = SeriesRef {
            method,
            toolkit,
            name,
        };
        let known = self.series.read().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = known.get(&key) {
            return found.clone();
        }
        drop(known);
        let name = self.label(toolkit, name);
        let key = SeriesKey {
            method,
            toolkit: toolkit.clone(),
            name,
        };
        let mut known = self.series.write().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = known.get(&key) {
            return found.clone();
        }
        let labels = DurationLabels {
            method,
            toolkit: key.toolkit.clone(),
            name: key.name.clone(),
        };
        let series = Arc::new(Series {
            duration: families.request_duration.get_or_create(&labels).clone(),
            labels,
            counts: Default::default(),
        });
        known.insert(key, series.clone());
        series
    }

    /// The label value for `name` of `toolkit`: the name, or `other` past
    /// the cap. Only names under the cap become keys of `series`, so hostile
    /// names cost a look-up each but no memory.
    fn label(&self, toolkit: &Arc<str>, name: &str) -> Arc<str> {
        if name.is_empty() {
            return Arc::from("");
        }
        if name.len() > MAX_NAME_LEN {
            return Arc::from(OTHER);
        }
        let mut known = self.names.lock().unwrap_or_else(|p| p.into_inner());
        let names = known.entry(toolkit.clone()).or_default();
        if let Some(found) = names.get(name) {
            return found.clone();
        }
        if names.len() >= MAX_NAMES_PER_TOOLKIT {
            return Arc::from(OTHER);
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
        let series = match toolkit {
            Some(toolkit) => self.series.get(self, method, toolkit, name),
            None => self.series.get(self, method, &self.no_toolkit, ""),
        };
        Observed {
            pending: Some(Pending {
                metrics: self.clone(),
                series,
                started: Instant::now(),
                outcome: None,
            }),
        }
    }

    /// The count of requests with exactly these labels.
    pub fn requests_count(&self, labels: &RequestLabels) -> u64 {
        self.requests.get(labels).map_or(0, |c| c.get())
    }

    fn record(&self, series: &Series, elapsed: f64, outcome: Outcome) {
        series.duration.observe(elapsed);
        series.counts[outcome.index()]
            .get_or_init(|| {
                let labels = RequestLabels {
                    method: series.labels.method,
                    toolkit: series.labels.toolkit.clone(),
                    name: series.labels.name.clone(),
                    outcome: outcome.label(),
                };
                self.requests.get_or_create(&labels).clone()
            })
            .inc();
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
    series: Arc<Series>,
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
            p.metrics.record(&p.series, elapsed, outcome);
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
