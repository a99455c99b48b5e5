//! The in-process counter store: shards of small maps behind their own locks, so requests on
//! different keys rarely wait for each other, and a bound on the keys kept (better-auth's
//! 100 000), so a flood of new addresses cannot grow memory without limit.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

/// Keys kept at most, over all shards.
pub const MAX_KEYS: usize = 100_000;
const SHARDS: usize = 32;

#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    pub count: i64,
    pub last: i64,
    /// When the entry means nothing any more (epoch ms).
    pub expires: i64,
}

#[derive(Debug)]
pub struct MemoryStore {
    shards: Box<[Mutex<HashMap<String, Entry>>]>,
    hasher: RandomState,
    per_shard: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_capacity(MAX_KEYS)
    }
}

impl MemoryStore {
    pub fn with_capacity(keys: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            per_shard: keys.div_ceil(SHARDS).max(1),
        }
    }

    /// Runs `f` on the live entry of `key` (expired entries are gone) and stores what it
    /// returns (`None` removes the key).
    pub(super) fn update<T>(
        &self,
        key: &str,
        now: i64,
        f: impl FnOnce(Option<Entry>) -> (Option<Entry>, T),
    ) -> T {
        let shard = &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS];
        // A panic while holding the lock cannot leave a counter half-written: take it anyway.
        let mut map = shard.lock().unwrap_or_else(|e| e.into_inner());
        let current = map.get(key).copied().filter(|e| now < e.expires);
        let (next, out) = f(current);
        match next {
            Some(e) => {
                if let Some(slot) = map.get_mut(key) {
                    *slot = e;
                } else {
                    if map.len() >= self.per_shard {
                        make_room(&mut map, now, self.per_shard);
                    }
                    map.insert(key.to_owned(), e);
                }
            }
            None => {
                map.remove(key);
            }
        }
        out
    }

    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Drops expired entries; if that is not enough, the least recently used eighth, so a full
/// shard is cleaned once per many inserts rather than scanned on every one.
fn make_room(map: &mut HashMap<String, Entry>, now: i64, cap: usize) {
    map.retain(|_, e| now < e.expires);
    if map.len() < cap {
        return;
    }
    // The entries closest to expiring go first: a long cool-down outlives a flood of
    // short-lived buckets.
    let mut expiries: Vec<i64> = map.values().map(|e| e.expires).collect();
    let cut = (cap / 8).max(1).min(expiries.len() - 1);
    let (_, threshold, _) = expiries.select_nth_unstable(cut);
    let threshold = *threshold;
    map.retain(|_, e| e.expires > threshold);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_expiring() {
        let s = MemoryStore::with_capacity(SHARDS * 16);
        for i in 0..10_000i64 {
            s.update(&format!("k{i}"), i, |_| {
                (
                    Some(Entry {
                        count: 1,
                        last: i,
                        expires: i + 1_000_000,
                    }),
                    (),
                )
            });
        }
        assert!(s.len() <= SHARDS * 16, "{}", s.len());
        // The newest keys survive eviction.
        let kept = s.update("k9999", 10_000, |e| (e, e.is_some()));
        assert!(kept);
        let gone = s.update("k0", 10_000, |e| (e, e.is_some()));
        assert!(!gone);
        // An expired entry reads as absent.
        s.update("x", 0, |_| {
            (
                Some(Entry {
                    count: 5,
                    last: 0,
                    expires: 10,
                }),
                (),
            )
        });
        assert!(s.update("x", 10, |e| (e, e.is_none())));
    }

    #[test]
    fn a_long_cool_down_outlives_a_flood_of_short_buckets() {
        let s = MemoryStore::with_capacity(SHARDS * 16);
        let entry = |last, expires| Entry {
            count: 1,
            last,
            expires,
        };
        s.update("lock", 0, |_| (Some(entry(0, 900_000)), ()));
        for i in 0..10_000i64 {
            s.update(&format!("ip{i}|/x{i}"), i, |_| {
                (Some(entry(i, i + 10_000)), ())
            });
        }
        assert!(s.update("lock", 10_000, |e| (e, e.is_some())));
    }
}
