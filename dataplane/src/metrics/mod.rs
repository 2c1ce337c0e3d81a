//! What an operator scrapes at `GET /metrics`: one `prometheus-client`
//! registry per gateway, written out as OpenMetrics text.
//!
//! Label sets on the request path are resolved once and kept (see
//! [`request`]), so that counting a request hashes a few shared strings and
//! allocates nothing. The metric names and what they mean are listed in
//! `docs/observability.md`.

mod request;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use request::{DurationLabels, SeriesCache};
pub use request::{MAX_NAME_LEN, MAX_NAMES_PER_TOOLKIT, Observed, Outcome, RequestLabels};

/// The media type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What failed towards a toolkit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    /// Opening the upstream session at the client's `initialize`.
    Initialize,
    /// A list fan-out left the toolkit out.
    List,
    /// A request routed to the toolkit failed.
    Request,
}

impl Operation {
    fn label(self) -> &'static str {
        match self {
            Self::Initialize => "initialize",
            Self::List => "list",
            Self::Request => "request",
        }
    }
}

/// Why a guard refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No token, and no route is open to anonymous callers (401).
    NoToken,
    /// A token that did not pass (401).
    InvalidToken,
    /// The caller lacks the roles an item needs (403, or 401 when anonymous).
    InsufficientScope,
}

impl Refusal {
    const ALL: [Self; 3] = [Self::NoToken, Self::InvalidToken, Self::InsufficientScope];

    fn label(self) -> &'static str {
        match self {
            Self::NoToken => "no_token",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
        }
    }
}

/// What happened to a lookup of the listing cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CacheEvent {
    /// Answered from the cache.
    Hit,
    /// Not in the cache (or stale): loaded, or waited for a load under way.
    Miss,
    /// An upstream call made to fill the cache (one per key, however many missed).
    Load,
    /// A page dropped for space or age.
    Eviction,
}

impl CacheEvent {
    const ALL: [Self; 4] = [Self::Hit, Self::Miss, Self::Load, Self::Eviction];

    fn label(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
            Self::Load => "load",
            Self::Eviction => "eviction",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    toolkit: Arc<str>,
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    toolkit: Arc<str>,
    list: &'static str,
    event: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ToolkitLabels {
    toolkit: Arc<str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EraLabels {
    toolkit: Arc<str>,
    era: &'static str,
}

/// One toolkit's listing cache counters: per list, indexed like [`CacheEvent::ALL`].
type ListingCounters = BTreeMap<&'static str, [Counter; 4]>;

/// Latency buckets in seconds: from a cached answer (sub-millisecond) to a
/// tool that runs for half a minute.
const LATENCY_BUCKETS: [f64; 16] = [
    0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    30.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The gateway's metrics, shared by every endpoint.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    toolkit_failures: Family<FailureLabels, Counter>,
    reloads_applied: Counter,
    reloads_rejected: Counter,
    /// Indexed like [`Refusal::ALL`].
    refusals: [Counter; 3],
    listing_cache: Family<CacheLabels, Counter>,
    /// The listing cache's counters resolved per toolkit and list, indexed
    /// like [`CacheEvent::ALL`], so that a hit neither hashes nor allocates.
    // NB: a std lock held only to look up or insert an entry.
    listing_handles: RwLock<BTreeMap<Arc<str>, ListingCounters>>,
    sessions: Gauge,
    sse_streams: Gauge,
    client_requests: Gauge,
    requests: Family<RequestLabels, Counter>,
    request_duration: Family<DurationLabels, Histogram, fn() -> Histogram>,
    upstream_duration: Family<ToolkitLabels, Histogram, fn() -> Histogram>,
    toolkit_eras: Family<EraLabels, Gauge>,
    series: SeriesCache,
    /// The toolkit label of requests that go to no single toolkit.
    no_toolkit: Arc<str>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let toolkit_failures = Family::<FailureLabels, Counter>::default();
        registry.register(
            "mcpgw_toolkit_failures",
            "Exchanges with a toolkit that failed, by operation",
            toolkit_failures.clone(),
        );
        let reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "mcpgw_config_reloads",
            "Changed config files applied or rejected",
            reloads.clone(),
        );
        let reloads_applied = reloads
            .get_or_create(&ResultLabels { result: "applied" })
            .clone();
        let reloads_rejected = reloads
            .get_or_create(&ResultLabels { result: "rejected" })
            .clone();
        let refusal_family = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "mcpgw_auth_refusals",
            "Requests a guard refused, by reason",
            refusal_family.clone(),
        );
        let refusals = Refusal::ALL.map(|why| {
            refusal_family
                .get_or_create(&ReasonLabels {
                    reason: why.label(),
                })
                .clone()
        });
        let listing_cache = Family::<CacheLabels, Counter>::default();
        registry.register(
            "mcpgw_listing_cache",
            "Listing cache lookups and evictions, by toolkit, list and event (hit, miss, load, eviction)",
            listing_cache.clone(),
        );
        let sessions = Gauge::default();
        registry.register(
            "mcpgw_sessions",
            "Sessions this process holds in memory",
            sessions.clone(),
        );
        let sse_streams = Gauge::default();
        registry.register(
            "mcpgw_sse_streams",
            "SSE response streams open towards clients (request streams and standalone GET streams)",
            sse_streams.clone(),
        );
        let client_requests = Gauge::default();
        registry.register(
            "mcpgw_client_requests_in_flight",
            "Server-to-client requests (elicitation, sampling, roots) relayed to a client and not yet answered",
            client_requests.clone(),
        );
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "mcpgw_requests",
            "Client requests answered, by MCP method, toolkit, tool or prompt name, and outcome",
            requests.clone(),
        );
        let request_duration: Family<DurationLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "mcpgw_request_duration",
            "Time from a client request to its response, by MCP method, toolkit and name",
            Unit::Seconds,
            request_duration.clone(),
        );
        let upstream_duration: Family<ToolkitLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "mcpgw_upstream_duration",
            "Time from sending a message to a toolkit until its reply starts, by toolkit",
            Unit::Seconds,
            upstream_duration.clone(),
        );
        let toolkit_eras = Family::<EraLabels, Gauge>::default();
        registry.register(
            "mcpgw_toolkit_era",
            "1 for each protocol era a toolkit's upstream was found to speak (2025, 2026-07-28), 0 for one it was found not to",
            toolkit_eras.clone(),
        );
        Self {
            registry,
            toolkit_failures,
            reloads_applied,
            reloads_rejected,
            refusals,
            listing_cache,
            listing_handles: RwLock::default(),
            sessions,
            sse_streams,
            client_requests,
            requests,
            request_duration,
            upstream_duration,
            toolkit_eras,
            series: SeriesCache::default(),
            no_toolkit: Arc::from(""),
        }
    }

    pub fn toolkit_failed(&self, toolkit: &str, operation: Operation) {
        // NB: failures are rare; the allocation of the label is no concern.
        self.toolkit_failures
            .get_or_create(&FailureLabels {
                toolkit: Arc::from(toolkit),
                operation: operation.label(),
            })
            .inc();
    }

    pub fn toolkit_failures(&self, toolkit: &str, operation: Operation) -> u64 {
        self.toolkit_failures
            .get(&FailureLabels {
                toolkit: Arc::from(toolkit),
                operation: operation.label(),
            })
            .map_or(0, |c| c.get())
    }

    /// A lookup of the listing cache for `toolkit`'s `list`.
    pub fn listing_cache(&self, toolkit: &str, list: &'static str, event: CacheEvent) {
        self.listing_counters(toolkit, list)[event as usize].inc();
    }

    /// The counters of `toolkit`'s `list`, resolved at their first use.
    fn listing_counters(&self, toolkit: &str, list: &'static str) -> [Counter; 4] {
        // NB: the hot path (a hit) takes a shared read lock and allocates
        // nothing; only a toolkit's first event of a list takes the write lock.
        let handles = self
            .listing_handles
            .read()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(counters) = handles.get(toolkit).and_then(|lists| lists.get(list)) {
            return counters.clone();
        }
        drop(handles);
        let toolkit: Arc<str> = Arc::from(toolkit);
        let counters = CacheEvent::ALL.map(|event| {
            self.listing_cache
                .get_or_create(&CacheLabels {
                    toolkit: toolkit.clone(),
                    list,
                    event: event.label(),
                })
                .clone()
        });
        let mut handles = self
            .listing_handles
            .write()
            .unwrap_or_else(|p| p.into_inner());
        handles
            .entry(toolkit)
            .or_default()
            .entry(list)
            .or_insert(counters)
            .clone()
    }

    /// How often `event` happened for `toolkit`'s `list`.
    pub fn listing_cache_count(&self, toolkit: &str, list: &'static str, event: CacheEvent) -> u64 {
        self.listing_counters(toolkit, list)[event as usize].get()
    }

    /// A guard refused a request.
    pub fn refused(&self, why: Refusal) {
        self.refusals[why as usize].inc();
    }

    /// A changed config file was applied (`true`) or rejected.
    pub fn config_reloaded(&self, applied: bool) {
        let counter = if applied {
            &self.reloads_applied
        } else {
            &self.reloads_rejected
        };
        counter.inc();
    }

    /// The histogram of `toolkit`'s round trips (from sending a message until
    /// its reply starts), resolved once per toolkit client.
    pub fn upstream_round_trips(&self, toolkit: &Arc<str>) -> Histogram {
        self.upstream_duration
            .get_or_create(&ToolkitLabels {
                toolkit: toolkit.clone(),
            })
            .clone()
    }

    /// The gauges of `toolkit`'s protocol eras (the 2025 revisions, 2026-07-28),
    /// resolved once per toolkit client and set when an era is found.
    pub fn toolkit_eras(&self, toolkit: &Arc<str>) -> [Gauge; 2] {
        ["2025", "2026-07-28"].map(|era| {
            self.toolkit_eras
                .get_or_create(&EraLabels {
                    toolkit: toolkit.clone(),
                    era,
                })
                .clone()
        })
    }

    /// An SSE stream opened towards a client; closed when the guard drops.
    pub fn sse_stream_opened(&self) -> GaugeGuard {
        GaugeGuard::up(&self.sse_streams)
    }

    /// A server-to-client request went to a client; answered (or given up)
    /// when the guard drops.
    pub fn client_request_relayed(&self) -> GaugeGuard {
        GaugeGuard::up(&self.client_requests)
    }

    /// The OpenMetrics text; `sessions` is the number of sessions held now.
    pub fn render(&self, sessions: usize) -> String {
        self.sessions
            .set(i64::try_from(sessions).unwrap_or(i64::MAX));
        let mut out = String::new();
        // NB: writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// A gauge raised while this guard lives.
#[derive(Debug)]
pub struct GaugeGuard(Gauge);

impl GaugeGuard {
    fn up(gauge: &Gauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests;
