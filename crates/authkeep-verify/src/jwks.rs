//! The JWKS cache: which requests may fetch the key set, and when.
//!
//! - The cached keys sit behind a short-lived `std` lock that is never held across an `await`,
//!   so readers never wait for the network.
//! - At most one fetch runs at a time (single flight). Requests that need the key set while a
//!   fetch is under way wait for that fetch's outcome instead of starting their own; a request
//!   that still has a (stale) cached key for its `kid` does not wait at all.
//! - After a failed fetch nothing is fetched again until a backoff interval (growing with each
//!   consecutive failure) has passed; meanwhile requests are served from the cache or fail at
//!   once with [`VerifyError::Unavailable`], instead of each waiting out a timeout.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use crate::VerifyError;
use crate::jws::PublicKey;

/// When to refetch the key set.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    /// Cached keys older than this are refreshed before use.
    pub(crate) ttl: Duration,
    /// An unknown `kid` triggers a fetch at most this often (tokens naming made-up kids must not
    /// turn into a stream of requests to the auth server).
    pub(crate) min_refetch: Duration,
    /// Pause after the first failed fetch; doubled for each further consecutive failure.
    pub(crate) backoff_initial: Duration,
    /// The longest pause after failed fetches.
    pub(crate) backoff_max: Duration,
}

impl Policy {
    fn backoff(&self, consecutive_failures: u32) -> Duration {
        let doublings = consecutive_failures.saturating_sub(1).min(16);
        self.backoff_initial
            .saturating_mul(1 << doublings)
            .min(self.backoff_max)
    }
}

#[derive(Debug, Default)]
struct State {
    keys: HashMap<String, PublicKey>,
    /// When the key set was last fetched successfully.
    fetched: Option<Instant>,
    /// Consecutive failed fetches (0 after a success).
    failures: u32,
    /// After a failure: when it happened and how long to wait before the next fetch (kept as a
    /// pair, as `Instant + Duration` could overflow for a huge configured backoff).
    backing_off: Option<(Instant, Duration)>,
    /// Why the last fetch failed, for the `Unavailable` errors answered during the backoff.
    last_error: Option<String>,
    /// Counts completed fetches, so a request that waited for the fetch gate can tell that
    /// another request fetched in the meantime.
    generation: u64,
}

enum Plan {
    Answer(Result<Option<PublicKey>, VerifyError>),
    Fetch {
        stale: Option<PublicKey>,
        generation: u64,
    },
}

#[derive(Debug, Default)]
pub(crate) struct Cache {
    state: RwLock<State>,
    /// Held by the one request that is fetching; never held by readers of `state`.
    fetch_gate: tokio::sync::Mutex<()>,
}

impl Cache {
    // Nothing panics while the lock is held (plain assignments), so a poisoned lock still guards
    // consistent data.
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The key named `kid`: `Ok(None)` when the (current) key set has no such key,
    /// `Err(Unavailable)` when the key set cannot be had.
    ///
    /// `fetch` is called only by the request that performs the fetch; its error (the cause with
    /// its source chain) goes to the log and into the `Unavailable` answers until the next fetch.
    pub(crate) async fn key<F, Fut>(
        &self,
        kid: &str,
        policy: &Policy,
        fetch: F,
    ) -> Result<Option<PublicKey>, VerifyError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<HashMap<String, PublicKey>, String>>,
    {
        let (stale, seen) = match self.plan(kid, policy, Instant::now()) {
            Plan::Answer(answer) => return answer,
            Plan::Fetch { stale, generation } => (stale, generation),
        };
        let _gate = match stale {
            // A refresh is already under way: the stale key serves meanwhile, as it would if
            // that refresh failed.
            Some(key) => match self.fetch_gate.try_lock() {
                Ok(gate) => gate,
                Err(_) => return Ok(Some(key)),
            },
            None => self.fetch_gate.lock().await,
        };
        if self.read().generation != seen {
            // Another request fetched while this one waited for the gate: use its outcome.
            return self.outcome(kid);
        }
        let result = fetch().await;
        let mut s = self.write();
        s.generation += 1;
        match result {
            Ok(keys) => {
                s.keys = keys;
                s.fetched = Some(Instant::now());
                s.failures = 0;
                s.backing_off = None;
                s.last_error = None;
                Ok(s.keys.get(kid).cloned())
            }
            Err(cause) => {
                s.failures = s.failures.saturating_add(1);
                let pause = policy.backoff(s.failures);
                s.backing_off = Some((Instant::now(), pause));
                s.last_error = Some(cause.clone());
                let answer = match s.keys.get(kid) {
                    Some(key) => Ok(Some(key.clone())), // keep verifying with the keys we have
                    None => Err(unavailable(&s)),
                };
                let (failures, cached_keys) = (s.failures, s.keys.len());
                drop(s);
                tracing::warn!(
                    error = %cause,
                    consecutive_failures = failures,
                    retry_in = ?pause,
                    cached_keys,
                    "JWKS fetch failed"
                );
                answer
            }
        }
    }

    fn plan(&self, kid: &str, policy: &Policy, now: Instant) -> Plan {
        let s = self.read();
        let cached = s.keys.get(kid).cloned();
        let fresh = s
            .fetched
            .is_some_and(|t| now.saturating_duration_since(t) < policy.ttl);
        if fresh && cached.is_some() {
            return Plan::Answer(Ok(cached));
        }
        if s.backing_off
            .is_some_and(|(failed, pause)| now.saturating_duration_since(failed) < pause)
        {
            // Backing off after a failed fetch: answer from the cache or fail fast.
            return Plan::Answer(match cached {
                Some(key) => Ok(Some(key)),
                None => Err(unavailable(&s)),
            });
        }
        // Stale or never fetched: fetch. Fresh but the kid is unknown: fetch at most every
        // `min_refetch` (counted from the last successful fetch; failures have the backoff).
        let due = !fresh
            || s.fetched
                .is_none_or(|t| now.saturating_duration_since(t) >= policy.min_refetch);
        if !due {
            return Plan::Answer(Ok(None));
        }
        Plan::Fetch {
            stale: cached,
            generation: s.generation,
        }
    }

    /// The answer for `kid` after another request's fetch.
    fn outcome(&self, kid: &str) -> Result<Option<PublicKey>, VerifyError> {
        let s = self.read();
        match s.keys.get(kid) {
            Some(key) => Ok(Some(key.clone())),
            None if s.failures > 0 => Err(unavailable(&s)),
            None => Ok(None),
        }
    }
}

fn unavailable(s: &State) -> VerifyError {
    VerifyError::Unavailable(match &s.last_error {
        Some(e) => format!("JWKS: {e}"),
        None => "JWKS unavailable".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let p = Policy {
            ttl: Duration::from_secs(300),
            min_refetch: Duration::from_secs(10),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(15),
        };
        let waits: Vec<u64> = (1..=6).map(|n| p.backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 15, 15]);
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(15));
    }
}
