//! Counters an operator scrapes at `GET /metrics` (Prometheus text format).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

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

/// The gateway's metrics, shared by every endpoint.
#[derive(Debug, Default)]
pub struct Metrics {
    // NB: a std mutex held only to bump or copy a map entry.
    toolkit_failures: Mutex<BTreeMap<(String, Operation), u64>>,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
    /// Indexed like [`Refusal::ALL`].
    refusals: [AtomicU64; 3],
    listing_cache: RwLock<BTreeMap<Arc<str>, ListingCounts>>,
}

/// One toolkit's listing cache counters: per list, indexed like [`CacheEvent::ALL`].
type ListingCounts = BTreeMap<&'static str, [AtomicU64; 4]>;

impl Metrics {
    pub fn toolkit_failed(&self, toolkit: &str, operation: Operation) {
        let mut failures = self
            .toolkit_failures
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *failures.entry((toolkit.to_owned(), operation)).or_default() += 1;
    }

    /// A lookup of the listing cache for `toolkit`'s `list`.
    pub fn listing_cache(&self, toolkit: &str, list: &'static str, event: CacheEvent) {
        // NB: the hot path (a hit) takes a shared read lock and allocates
        // nothing; only a toolkit's first event of a list takes the write lock.
        let counts = self.listing_cache.read().unwrap_or_else(|p| p.into_inner());
        if let Some(counters) = counts.get(toolkit).and_then(|lists| lists.get(list)) {
            counters[event as usize].fetch_add(1, Ordering::Relaxed);
            return;
        }
        drop(counts);
        let mut counts = self
            .listing_cache
            .write()
            .unwrap_or_else(|p| p.into_inner());
        let counters = counts
            .entry(Arc::from(toolkit))
            .or_default()
            .entry(list)
            .or_default();
        counters[event as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// How often `event` happened for `toolkit`'s `list`.
    pub fn listing_cache_count(&self, toolkit: &str, list: &'static str, event: CacheEvent) -> u64 {
        let counts = self.listing_cache.read().unwrap_or_else(|p| p.into_inner());
        counts
            .get(toolkit)
            .and_then(|lists| lists.get(list))
            .map_or(0, |counters| {
                counters[event as usize].load(Ordering::Relaxed)
            })
    }

    /// A guard refused a request.
    pub fn refused(&self, why: Refusal) {
        self.refusals[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// A changed config file was applied (`true`) or rejected.
    pub fn config_reloaded(&self, applied: bool) {
        let counter = if applied {
            &self.reloads_ok
        } else {
            &self.reloads_failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn toolkit_failures(&self, toolkit: &str, operation: Operation) -> u64 {
        let failures = self
            .toolkit_failures
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        failures
            .get(&(toolkit.to_owned(), operation))
            .copied()
            .unwrap_or_default()
    }

    /// The exposition text; `sessions` is the number of sessions held now.
    pub fn render(&self, sessions: usize) -> String {
        let mut out = String::new();
        family(
            &mut out,
            "mcpgw_toolkit_failures_total",
            "counter",
            "Exchanges with a toolkit that failed, by operation.",
        );
        for ((toolkit, operation), count) in counts(&self.toolkit_failures) {
            let _ = writeln!(
                out,
                "mcpgw_toolkit_failures_total{{toolkit=\"{}\",operation=\"{}\"}} {count}",
                escaped(&toolkit),
                operation.label()
            );
        }
        family(
            &mut out,
            "mcpgw_config_reloads_total",
            "counter",
            "Changed config files applied or rejected.",
        );
        let _ = writeln!(
            out,
            "mcpgw_config_reloads_total{{result=\"applied\"}} {}",
            self.reloads_ok.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "mcpgw_config_reloads_total{{result=\"rejected\"}} {}",
            self.reloads_failed.load(Ordering::Relaxed)
        );
        family(
            &mut out,
            "mcpgw_auth_refusals_total",
            "counter",
            "Requests a guard refused, by reason.",
        );
        for why in Refusal::ALL {
            let _ = writeln!(
                out,
                "mcpgw_auth_refusals_total{{reason=\"{}\"}} {}",
                why.label(),
                self.refusals[why as usize].load(Ordering::Relaxed)
            );
        }
        family(
            &mut out,
            "mcpgw_listing_cache_total",
            "counter",
            "Listing cache lookups and evictions, by toolkit, list and event (hit, miss, load, eviction).",
        );
        let cache = self.listing_cache.read().unwrap_or_else(|p| p.into_inner());
        for (toolkit, lists) in cache.iter() {
            let toolkit = escaped(toolkit);
            for (list, counters) in lists {
                for event in CacheEvent::ALL {
                    let count = counters[event as usize].load(Ordering::Relaxed);
                    if count == 0 {
                        continue;
                    }
                    let _ = writeln!(
                        out,
                        "mcpgw_listing_cache_total{{toolkit=\"{toolkit}\",list=\"{list}\",event=\"{}\"}} {count}",
                        event.label()
                    );
                }
            }
        }
        drop(cache);
        family(
            &mut out,
            "mcpgw_sessions",
            "gauge",
            "Sessions this process holds in memory.",
        );
        let _ = writeln!(out, "mcpgw_sessions {sessions}");
        out
    }
}

/// The `# HELP` and `# TYPE` lines of a metric family.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A copy of a map of counts, so that writing them out holds no lock.
fn counts<K: Clone>(map: &Mutex<BTreeMap<K, u64>>) -> BTreeMap<K, u64> {
    map.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// A label value as the exposition format quotes it.
fn escaped(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_counted_per_toolkit_and_operation() {
        let metrics = Metrics::default();
        metrics.toolkit_failed("time", Operation::List);
        metrics.toolkit_failed("time", Operation::List);
        metrics.toolkit_failed("everything", Operation::Request);
        metrics.refused(Refusal::InvalidToken);
        let text = metrics.render(3);
        assert!(text.contains("mcpgw_auth_refusals_total{reason=\"invalid_token\"} 1\n"));
        assert!(text.contains("mcpgw_auth_refusals_total{reason=\"no_token\"} 0\n"));
        assert!(
            text.contains("mcpgw_toolkit_failures_total{toolkit=\"time\",operation=\"list\"} 2\n"),
            "{text}"
        );
        assert!(text.contains(
            "mcpgw_toolkit_failures_total{toolkit=\"everything\",operation=\"request\"} 1\n"
        ));
        assert!(text.contains("mcpgw_sessions 3\n"));
        assert_eq!(metrics.toolkit_failures("time", Operation::List), 2);
    }
}
