//! Tokens the guard has already verified, so that a caller does not pay a
//! signature check on every request: on the reference machine RS256 costs
//! about 120 µs and ES256 about 190 µs (the benchmark's "JWT verification"),
//! more than all the rest of the gateway's work on a call.
//!
//! Entries are keyed by the SHA-256 of the token and live until the token
//! expires (plus leeway, as a full check would allow) or one refresh interval
//! after they were verified, whichever is first: a key withdrawn from the
//! JWKS stops being honoured within one interval, as with fetched keys. Only
//! accepted tokens are kept. When the map is full, expired entries go, and if
//! it is still full everything goes: a flood of distinct tokens costs only
//! re-verification, never memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::Caller;

/// Most tokens kept.
pub const CAPACITY: usize = 10_000;

/// Accepted tokens and their callers.
#[derive(Debug)]
pub(super) struct Verified {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
    /// How long an entry is trusted at most.
    max_age: Duration,
    leeway: Duration,
    capacity: usize,
}

#[derive(Debug)]
struct Entry {
    caller: Caller,
    until: SystemTime,
}

impl Verified {
    pub(super) fn new(max_age: Duration, leeway: Duration) -> Self {
        Self::with_capacity(max_age, leeway, CAPACITY)
    }

    fn with_capacity(max_age: Duration, leeway: Duration, capacity: usize) -> Self {
        Self {
            entries: Mutex::default(),
            max_age,
            leeway,
            capacity,
        }
    }

    /// The caller of `token` if it was verified and is still good at `now`.
    pub(super) fn get(&self, token: &str, now: SystemTime) -> Option<Caller> {
        let key = digest(token);
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(&key)?;
        if now < entry.until {
            return Some(entry.caller.clone());
        }
        entries.remove(&key);
        None
    }

    /// Remember an accepted token that expires at `exp` (seconds since the epoch).
    pub(super) fn insert(&self, token: &str, caller: &Caller, exp: u64, now: SystemTime) {
        let expires = SystemTime::UNIX_EPOCH + Duration::from_secs(exp) + self.leeway;
        let until = expires.min(now + self.max_age);
        if until <= now {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.capacity {
            entries.retain(|_, e| now < e.until);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        let caller = caller.clone();
        entries.insert(digest(token), Entry { caller, until });
    }
}

#[cfg(test)]
impl Verified {
    pub(super) fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

fn digest(token: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    key.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref());
    key
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::guard::Token;

    fn caller(token: &str) -> Caller {
        Caller {
            identity: "alice".into(),
            roles: BTreeSet::from(["a".to_owned()]),
            token: Token::new(token),
        }
    }

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn an_entry_lives_until_expiry_or_max_age_whichever_is_first() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let verified = Verified::new(5 * MINUTE, Duration::from_secs(30));
        let exp = 1_000_000 + 60;
        verified.insert("t", &caller("t"), exp, now);
        assert_eq!(verified.get("t", now), Some(caller("t")));
        assert_eq!(verified.get("other", now), None);
        // Past exp but within leeway: still what a full check would accept.
        assert!(verified.get("t", now + Duration::from_secs(80)).is_some());
        assert_eq!(verified.get("t", now + Duration::from_secs(91)), None);
        assert_eq!(verified.get("t", now), None, "an expired entry is dropped");

        let long = 1_000_000 + 3600;
        verified.insert("u", &caller("u"), long, now);
        assert!(verified.get("u", now + 4 * MINUTE).is_some());
        assert_eq!(verified.get("u", now + 5 * MINUTE), None, "max age");
    }

    #[test]
    fn a_full_map_never_grows() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let verified = Verified::with_capacity(MINUTE, Duration::ZERO, 3);
        for n in 0..10 {
            let token = format!("t{n}");
            verified.insert(&token, &caller(&token), 1_000_000 + 3600, now);
            let len = verified.entries.lock().map(|e| e.len()).unwrap_or(0);
            assert!(len <= 3, "{len}");
        }
        assert!(verified.get("t9", now).is_some());
        verified.insert("old", &caller("old"), 999_000, now);
        assert_eq!(
            verified.get("old", now),
            None,
            "an expired token is not kept"
        );
    }
}
