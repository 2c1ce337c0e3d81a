//! The keys of a guard whose JWK set lives in a file or at a URL: fetched on
//! first use, refreshed on a schedule and when a token names an unknown `kid`,
//! one fetch at a time, never per request.
//!
//! Schedule (`interval` is the plan's `refresh_interval`):
//! - no keys yet: the verify waits for the fetch (every concurrent verify waits
//!   for the same one); after a failure, the next verify retries no sooner than
//!   `min(interval, 30 s)` later, answering "keys unavailable" meanwhile.
//! - keys older than `interval`: the next verify starts a refresh and waits up to
//!   [`STALE_WAIT`] for it, then goes on with whatever keys are there (the fresh
//!   ones, or the stale ones if the issuer is slow or down). A failed refresh
//!   keeps the stale keys until the next interval, and is logged at warn.
//! - a token naming a `kid` the set lacks: one refresh, waited for, at most once
//!   per `interval`; further unknown kids within the interval are answered at
//!   once, so a flood of random kids cannot become a flood of fetches.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::Shared;
use http::Uri;
use tokio::time::Instant;

use super::fetch::{self, FetchError, KeyFetcher};
use super::keys::{KeySet, KeysError, Strictness};

/// How long a verify waits for the refresh of stale keys before using them.
pub const STALE_WAIT: Duration = Duration::from_secs(1);

/// The least time between two attempts to load a set that never loaded.
const RETRY_WITHOUT_KEYS: Duration = Duration::from_secs(30);

/// Where a guard's JWK set is read from.
#[derive(Debug)]
pub enum Source {
    File(PathBuf),
    Url(Uri),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(path) => write!(f, "file {}", path.display()),
            // Scheme, host and path only: a query could carry something private.
            Self::Url(uri) => write!(
                f,
                "{}://{}{}",
                uri.scheme_str().unwrap_or("http"),
                uri.authority().map(|a| a.as_str()).unwrap_or(""),
                uri.path()
            ),
        }
    }
}

/// One load in flight, awaited by every verify that needs it.
type Refresh = Shared<Pin<Box<dyn Future<Output = ()> + Send>>>;

/// Why a load failed.
#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Keys(#[from] KeysError),
    #[error("the key set could not be parsed")]
    Panicked,
}

/// The cached keys of one guard.
pub struct KeyCache {
    source: Source,
    fetcher: KeyFetcher,
    interval: Duration,
    state: Mutex<State>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("source", &self.source.to_string())
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    keys: Option<Arc<KeySet>>,
    /// When the keys are next due for a refresh; `None`: now.
    next_refresh: Option<Instant>,
    /// When a token with an unknown `kid` last caused a refresh.
    last_unknown_kid: Option<Instant>,
    inflight: Option<Refresh>,
    /// Loads attempted (tests count them).
    attempts: u64,
}

impl KeyCache {
    pub fn new(source: Source, fetcher: KeyFetcher, interval: Duration) -> Arc<Self> {
        Arc::new(Self {
            source,
            fetcher,
            interval,
            state: Mutex::new(State::default()),
        })
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The keys to verify with, refreshed first when due; `None` when no load
    /// has succeeded yet.
    pub async fn current(self: &Arc<Self>) -> Option<Arc<KeySet>> {
        let (refresh, have_keys) = {
            let mut state = self.lock();
            let due = state.next_refresh.is_none_or(|at| Instant::now() >= at);
            let have_keys = state.keys.is_some();
            (due.then(|| self.start(&mut state)), have_keys)
        };
        if let Some(refresh) = refresh {
            if have_keys {
                // Slow issuer: go on with the stale keys; the refresh carries on.
                let _ = tokio::time::timeout(STALE_WAIT, refresh).await;
            } else {
                refresh.await;
            }
        }
        self.lock().keys.clone()
    }

    /// After a token named a `kid` the keys lack: refreshes them unless a refresh
    /// for that reason happened within the interval. `None`: not refreshed (the
    /// kid stays unknown).
    pub async fn refresh_for_unknown_kid(self: &Arc<Self>) -> Option<Arc<KeySet>> {
        let refresh = {
            let mut state = self.lock();
            let now = Instant::now();
            if state
                .last_unknown_kid
                .is_some_and(|at| now < at + self.interval)
            {
                return None;
            }
            state.last_unknown_kid = Some(now);
            self.start(&mut state)
        };
        refresh.await;
        self.lock().keys.clone()
    }

    /// The refresh in flight, or a new one.
    fn start(self: &Arc<Self>, state: &mut State) -> Refresh {
        if let Some(refresh) = &state.inflight {
            return refresh.clone();
        }
        state.attempts += 1;
        let cache = Arc::clone(self);
        // A task of its own: the load completes (and updates the cache) even if
        // the verify that started it is dropped.
        let task = tokio::spawn(async move { cache.refresh().await });
        let refresh: Refresh = async move {
            let _ = task.await;
        }
        .boxed()
        .shared();
        state.inflight = Some(refresh.clone());
        refresh
    }

    async fn refresh(&self) {
        // A panic in a key parser must not leave `inflight` set for good: it is
        // a failed load like any other.
        let loaded = AssertUnwindSafe(self.load())
            .catch_unwind()
            .await
            .unwrap_or(Err(LoadError::Panicked));
        let mut state = self.lock();
        state.inflight = None;
        let now = Instant::now();
        let wait = match loaded {
            Ok(keys) => {
                tracing::debug!(source = %self.source, keys = keys.len(), "JWT keys loaded");
                state.keys = Some(Arc::new(keys));
                self.interval
            }
            Err(error) => {
                let keeping = state.keys.is_some();
                tracing::warn!(
                    source = %self.source, %error, keeping_previous_keys = keeping,
                    "could not load the JWT guard's keys"
                );
                if keeping {
                    self.interval
                } else {
                    self.interval.min(RETRY_WITHOUT_KEYS)
                }
            }
        };
        state.next_refresh = Some(now + wait);
    }

    async fn load(&self) -> Result<KeySet, LoadError> {
        let text = match &self.source {
            Source::File(path) => fetch::read_file(path).await?,
            Source::Url(uri) => self.fetcher.fetch(uri).await?,
        };
        Ok(KeySet::parse(&text, Strictness::Lenient)?)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is consistent between statements: a panic elsewhere while
        // holding the lock leaves nothing half-written.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Loads attempted so far.
    #[cfg(test)]
    pub fn attempts(&self) -> u64 {
        self.lock().attempts
    }

    /// Makes the keys due for a refresh now, and forgets the last refresh for an
    /// unknown kid, as if the interval had passed.
    #[cfg(test)]
    pub fn expire(&self) {
        let mut state = self.lock();
        state.next_refresh = None;
        state.last_unknown_kid = None;
    }

    /// Waits for the refresh in flight, if any.
    #[cfg(test)]
    pub async fn settle(&self) {
        let inflight = self.lock().inflight.clone();
        if let Some(refresh) = inflight {
            refresh.await;
        }
    }
}
