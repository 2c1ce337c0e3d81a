//! The retry backoff: how long a failing object waits before its next
//! reconcile, from the failures in a row of that object alone.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use kube::{Resource, ResourceExt};

/// How soon to retry after a first error; it doubles with each further one.
const ERROR_RETRY: Duration = Duration::from_secs(5);
/// The longest wait between retries.
const MAX_RETRY: Duration = Duration::from_secs(300);

/// Consecutive reconcile failures per object (by [`key`]).
#[derive(Debug, Default)]
pub struct Failures(Mutex<HashMap<String, u32>>);

impl Failures {
    /// One more failure of `key`: how long to wait before the next try
    /// (5 s, doubling, at most 5 min).
    pub fn failed(&self, key: String) -> Duration {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(key).or_default();
        *n = n.saturating_add(1);
        ERROR_RETRY
            .saturating_mul(1 << (*n - 1).min(6))
            .min(MAX_RETRY)
    }

    /// `key` reconciled: its next failure waits the shortest time again.
    pub fn succeeded(&self, key: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

/// An object's key in [`Failures`]: `kind/namespace/name`, so that objects of
/// different kinds with one name count apart.
pub fn key<K: Resource<DynamicType = ()>>(object: &K) -> String {
    format!(
        "{}/{}/{}",
        K::kind(&()),
        object.namespace().unwrap_or_default(),
        object.name_any()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_per_object_and_reset_on_success() {
        let failures = Failures::default();
        let waits: Vec<u64> = (0..9)
            .map(|_| failures.failed("McpGateway/shop/demo".into()).as_secs())
            .collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(
            failures.failed("McpGateway/shop/other".into()).as_secs(),
            5,
            "per object"
        );
        failures.succeeded("McpGateway/shop/demo");
        assert_eq!(failures.failed("McpGateway/shop/demo".into()).as_secs(), 5);
    }
}
