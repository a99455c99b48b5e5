//! Rate-limit counters and better-auth's rule on them: one record `{count, lastRequest}` per
//! key; reset when the window has passed since the last allowed request, refused while
//! `count >= max`, else counted. The same counters carry the per-account sign-in limit
//! (`account.rs`). Where they live is one enum: this process, better-auth's `rateLimit` table,
//! or Redis (better-auth's secondary storage), where better-auth counts in fixed windows from
//! `increment(key, ttl)`: allowed while the count is at most `max`, refused with the whole
//! window as the wait; `hit`/`get`/`put`/`delete` are INCR/GET/SET/DEL there.

pub mod account;
pub mod memory;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use memory::{Entry, MemoryStore};

use crate::store::{SecondaryStorage, Store, StoreError};

/// A rule: at most `max` requests per `window` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub window: u64,
    pub max: u64,
}

impl Rule {
    fn window_ms(self) -> i64 {
        i64::try_from(self.window.saturating_mul(1000)).unwrap_or(i64::MAX)
    }
}

/// The outcome of one request against its rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Refused; try again after this many seconds.
    Refused {
        retry_after: u64,
    },
}

/// Seconds until `until` (epoch ms), rounded up as better-auth rounds them.
pub fn seconds_until(until: i64, now: i64) -> u64 {
    u64::try_from((until - now).max(0))
        .unwrap_or(0)
        .div_ceil(1000)
}

/// Where the counters live.
#[derive(Debug, Clone)]
pub enum Counters {
    Memory(Arc<MemoryStore>),
    /// better-auth's `rateLimit` table; `pruned` is when old rows were last deleted.
    Database {
        store: Store,
        longest_window_ms: i64,
        pruned: Arc<AtomicI64>,
    },
    /// Redis under the secondary storage's key prefix, shared by every replica (and by a
    /// better-auth using the same Redis and prefix: the keys are its `<ip>|<path>`).
    Secondary(SecondaryStorage),
}

/// Whole seconds covering `ms` (Redis TTLs are in seconds), at least one.
fn ttl_seconds(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0).div_ceil(1000).max(1)
}

/// How often the table is swept of rows older than the longest window.
const PRUNE_EVERY_MS: i64 = 60_000;

impl Counters {
    pub fn memory() -> Counters {
        Counters::Memory(Arc::new(MemoryStore::default()))
    }

    pub fn database(store: Store, longest_window: u64) -> Counters {
        Counters::Database {
            store,
            longest_window_ms: Rule {
                window: longest_window,
                max: 0,
            }
            .window_ms(),
            pruned: Arc::new(AtomicI64::new(0)),
        }
    }

    /// better-auth's step for one request on `key` at `now` (epoch ms), atomic per key.
    pub async fn consume(&self, key: &str, rule: Rule, now: i64) -> Result<Decision, StoreError> {
        let window = rule.window_ms();
        let max = i64::try_from(rule.max).unwrap_or(i64::MAX);
        match self {
            Counters::Memory(m) => Ok(m.update(key, now, |e| match e {
                Some(e) if e.count >= max => (
                    Some(e),
                    Decision::Refused {
                        retry_after: seconds_until(e.last + window, now),
                    },
                ),
                e => {
                    let count = e.map_or(1, |e| e.count + 1);
                    let next = Entry {
                        count,
                        last: now,
                        expires: now.saturating_add(window),
                    };
                    (Some(next), Decision::Allowed)
                }
            })),
            Counters::Database { store, .. } => {
                self.prune(now).await;
                // The statement refuses only inside the window; a refused row's wait is read
                // after it. Should the window end in between, the step is simply tried again.
                for _ in 0..3 {
                    if store.rate_limit_consume(key, now, window, max).await? {
                        return Ok(Decision::Allowed);
                    }
                    match store.rate_limit_get(key).await? {
                        Some((_, last)) if now - last < window => {
                            return Ok(Decision::Refused {
                                retry_after: seconds_until(last + window, now),
                            });
                        }
                        _ => continue,
                    }
                }
                Ok(Decision::Refused {
                    retry_after: rule.window,
                })
            }
            Counters::Secondary(redis) => {
                let count = redis.increment(key, rule.window).await?;
                Ok(if count <= rule.max {
                    Decision::Allowed
                } else {
                    Decision::Refused {
                        retry_after: rule.window,
                    }
                })
            }
        }
    }

    /// Counts a hit on `key` in a fixed window of `window_ms` that starts at its first hit;
    /// the count including this one.
    pub async fn hit(&self, key: &str, window_ms: i64, now: i64) -> Result<i64, StoreError> {
        match self {
            Counters::Memory(m) => Ok(m.update(key, now, |e| {
                let next = match e {
                    Some(e) => Entry {
                        count: e.count + 1,
                        ..e
                    },
                    None => Entry {
                        count: 1,
                        last: now,
                        expires: now.saturating_add(window_ms),
                    },
                };
                (Some(next), next.count)
            })),
            Counters::Database { store, .. } => store.rate_limit_hit(key, now, window_ms).await,
            Counters::Secondary(redis) => {
                let count = redis.increment(key, ttl_seconds(window_ms)).await?;
                Ok(i64::try_from(count).unwrap_or(i64::MAX))
            }
        }
    }

    /// `(count, last)` of a live key.
    pub async fn get(&self, key: &str, now: i64) -> Result<Option<(i64, i64)>, StoreError> {
        match self {
            Counters::Memory(m) => Ok(m.update(key, now, |e| (e, e.map(|e| (e.count, e.last))))),
            Counters::Database { store, .. } => store.rate_limit_get(key).await,
            // Only `put` writes these keys, as "count:last".
            Counters::Secondary(redis) => Ok(redis.get(key).await?.and_then(|v| {
                let (count, last) = v.split_once(':')?;
                Some((count.parse().ok()?, last.parse().ok()?))
            })),
        }
    }

    /// Sets a key, to be forgotten after `keep_ms` (memory; the table is pruned by age).
    pub async fn put(
        &self,
        key: &str,
        count: i64,
        last: i64,
        keep_ms: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        match self {
            Counters::Memory(m) => {
                let e = Entry {
                    count,
                    last,
                    expires: now.saturating_add(keep_ms),
                };
                m.update(key, now, |_| (Some(e), ()));
                Ok(())
            }
            Counters::Database { store, .. } => store.rate_limit_put(key, count, last).await,
            Counters::Secondary(redis) => {
                redis
                    .set(key, &format!("{count}:{last}"), ttl_seconds(keep_ms))
                    .await
            }
        }
    }

    pub async fn delete(&self, key: &str, now: i64) -> Result<(), StoreError> {
        match self {
            Counters::Memory(m) => {
                m.update(key, now, |_| (None, ()));
                Ok(())
            }
            Counters::Database { store, .. } => store.rate_limit_delete(key).await,
            Counters::Secondary(redis) => redis.delete(key).await,
        }
    }

    /// Deletes rows older than the longest window, at most once a minute per process; a
    /// failure is logged and costs nothing but disk.
    async fn prune(&self, now: i64) {
        let Counters::Database {
            store,
            longest_window_ms,
            pruned,
        } = self
        else {
            return;
        };
        let last = pruned.load(Ordering::Relaxed);
        if now - last < PRUNE_EVERY_MS
            || pruned
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let store = store.clone();
        let cutoff = now - longest_window_ms;
        tokio::spawn(async move {
            if let Err(e) = store.rate_limit_prune(cutoff).await {
                tracing::warn!(error = %crate::report::Report(&e), "could not prune rate-limit rows");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn better_auths_rule_in_memory() {
        let c = Counters::memory();
        let rule = Rule { window: 10, max: 3 };
        for t in [0, 1000, 2000] {
            assert_eq!(c.consume("k", rule, t).await.unwrap(), Decision::Allowed);
        }
        // The window slides from the last allowed request (2 s): 10 s after it.
        assert_eq!(
            c.consume("k", rule, 2500).await.unwrap(),
            Decision::Refused { retry_after: 10 }
        );
        assert_eq!(
            c.consume("k", rule, 11_001).await.unwrap(),
            Decision::Refused { retry_after: 1 }
        );
        assert_eq!(
            c.consume("k", rule, 12_000).await.unwrap(),
            Decision::Allowed
        );
        assert_eq!(
            c.consume("other", rule, 2500).await.unwrap(),
            Decision::Allowed
        );
    }
}
