//! Per-caller bounds of one endpoint: how many sessions and standalone SSE
//! streams one caller may hold at once.
//!
//! A caller is who the guard says it is; an anonymous caller is its client
//! address (the TCP peer's IP: behind a proxy that hides client addresses,
//! every anonymous caller shares one bucket). Only sessions this replica
//! issued are counted (one opened here from a sealed id issued elsewhere
//! counts where it was issued). The counts live beside the
//! sessions, so a reload that keeps the endpoint keeps them, and the bounds
//! come from the plan at each check, so a reload that changes them applies at
//! once (to new sessions and streams; nothing open is closed).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::StatusCode;

use super::rejection::Rejection;
use crate::jsonrpc::{ErrorObject, code};
use crate::principal::Principal;

/// The TCP peer of a request's connection, put in the request's extensions
/// by the listener.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub SocketAddr);

/// Who a bound counts: an authenticated identity, or an anonymous client address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CallerKey {
    Identity(Arc<str>),
    /// Anonymous, by IP address (`None`: the address is unknown).
    Anonymous(Option<IpAddr>),
}

impl CallerKey {
    pub fn of(principal: &Principal, client: Option<ClientAddr>) -> Self {
        match principal.identity() {
            Some(identity) => Self::Identity(Arc::from(identity)),
            None => Self::Anonymous(client.map(|c| c.0.ip())),
        }
    }
}

/// What is counted.
#[derive(Clone, Copy, Debug)]
pub enum Bounded {
    Sessions,
    Streams,
}

impl Bounded {
    fn what(self) -> &'static str {
        match self {
            Self::Sessions => "sessions",
            Self::Streams => "standalone SSE streams",
        }
    }

    /// When to try again: sessions end when deleted or idle, streams when closed.
    fn retry_after(self) -> Duration {
        match self {
            Self::Sessions => Duration::from_secs(60),
            Self::Streams => Duration::from_secs(5),
        }
    }
}

/// Open items per caller, of one kind.
#[derive(Debug, Default)]
pub struct Quota {
    // NB: a std mutex held only to change a count.
    held: Mutex<HashMap<CallerKey, u32>>,
}

/// One counted item; the count drops when it does.
#[derive(Debug)]
pub struct Permit {
    quota: Arc<Quota>,
    caller: CallerKey,
}

impl Quota {
    /// Count one more item for `caller`, unless it holds `max` already: then
    /// the refusal (429 with `Retry-After`).
    pub fn acquire(
        self: &Arc<Self>,
        caller: &CallerKey,
        max: u32,
        kind: Bounded,
    ) -> Result<Permit, Rejection> {
        {
            let mut held = self.lock();
            let count = held.entry(caller.clone()).or_default();
            if *count >= max {
                tracing::debug!(?caller, max, what = kind.what(), "caller over its bound");
                let message = format!(
                    "Too Many Requests: this caller holds {max} {} already, the most allowed",
                    kind.what()
                );
                return Err(Rejection::Limited {
                    status: StatusCode::TOO_MANY_REQUESTS,
                    retry_after: kind.retry_after(),
                    id: None,
                    error: ErrorObject::new(code::BAD_REQUEST, message),
                });
            }
            *count += 1;
        }
        Ok(self.permit(caller))
    }

    /// Items `caller` holds now.
    #[cfg(test)]
    fn held_by(&self, caller: &CallerKey) -> u32 {
        self.lock().get(caller).copied().unwrap_or(0)
    }

    fn permit(self: &Arc<Self>, caller: &CallerKey) -> Permit {
        Permit {
            quota: self.clone(),
            caller: caller.clone(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CallerKey, u32>> {
        // NB: nothing panics while holding it; recover rather than propagate.
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut held = self.quota.lock();
        if let Some(count) = held.get_mut(&self.caller) {
            *count -= 1;
            if *count == 0 {
                // Callers come and go: keep no entry for one that holds nothing.
                held.remove(&self.caller);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_over_its_bound_is_refused_while_another_is_not() {
        let quota = Arc::new(Quota::default());
        let alice = CallerKey::Identity(Arc::from("alice"));
        let bob = CallerKey::Anonymous(Some(IpAddr::from([10, 0, 0, 1])));
        let first = quota.acquire(&alice, 2, Bounded::Sessions).unwrap();
        let _second = quota.acquire(&alice, 2, Bounded::Sessions).unwrap();
        let refused = quota.acquire(&alice, 2, Bounded::Sessions).unwrap_err();
        let resp = refused.into_response();
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers()[http::header::RETRY_AFTER], "60");
        assert!(quota.acquire(&bob, 2, Bounded::Sessions).is_ok());
        drop(first);
        assert_eq!(quota.held_by(&alice), 1);
        assert!(quota.acquire(&alice, 2, Bounded::Sessions).is_ok());
    }

    #[test]
    fn callers_holding_nothing_are_forgotten() {
        let quota = Arc::new(Quota::default());
        let alice = CallerKey::Identity(Arc::from("alice"));
        let a = quota.acquire(&alice, 2, Bounded::Streams).unwrap();
        let b = quota.acquire(&alice, 2, Bounded::Streams).unwrap();
        assert!(quota.acquire(&alice, 2, Bounded::Streams).is_err());
        drop((a, b));
        assert!(quota.lock().is_empty());
    }
}
