//! Redis as better-auth's `secondaryStorage`, laid out as `@better-auth/redis-storage` lays it
//! out: every key under one prefix, values as JSON text, a TTL in whole seconds. `sessions.rs`
//! and `verifications.rs` hold what better-auth keeps there; this file holds the client and the
//! five operations of better-auth's `SecondaryStorage` interface.
//!
//! Keys embed session tokens and one-time secrets: they are never logged, and errors carry
//! only the driver's message (which names no key).

pub(super) mod sessions;
pub(super) mod verifications;

use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{StoreError, StoreResult};

/// How a deployment uses its secondary storage.
#[derive(Clone)]
pub struct SecondarySettings {
    /// `redis://` or `rediss://`, possibly with a password: never printed.
    pub url: String,
    pub key_prefix: String,
    /// Connect and answer deadline: a dead Redis fails a request in this time, never hangs it.
    pub timeout: Duration,
    /// better-auth's `session.storeSessionInDatabase`.
    pub sessions_in_database: bool,
    /// better-auth's `verification.storeInDatabase`.
    pub verifications_in_database: bool,
    /// How long `revoked-sessions-before-<userId>` is kept: better-auth's
    /// max(session lifetime, one day).
    pub revoked_marker_ttl: u64,
}

impl std::fmt::Debug for SecondarySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecondarySettings")
            .field("key_prefix", &self.key_prefix)
            .field("timeout", &self.timeout)
            .field("sessions_in_database", &self.sessions_in_database)
            .field("verifications_in_database", &self.verifications_in_database)
            .finish_non_exhaustive()
    }
}

/// A connection to Redis (multiplexed, reconnecting by itself) and the deployment's choices.
/// Cheap to clone.
#[derive(Clone)]
pub struct SecondaryStorage {
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
    pub(super) sessions_in_database: bool,
    pub(super) verifications_in_database: bool,
    pub(super) revoked_marker_ttl: u64,
}

impl std::fmt::Debug for SecondaryStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecondaryStorage")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Seconds from `now` until `at`, rounded down as better-auth's `getTTLSeconds` does; 0 when
/// past.
pub(super) fn ttl_until(at: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    u64::try_from((at - now).num_milliseconds() / 1000).unwrap_or(0)
}

/// Compare-and-set of a JSON value's `value` field, atomically in Redis: a verification code's
/// attempt counter must count concurrent guesses as sequential ones would. KEYS[1]: the key;
/// ARGV[1]: the `value` expected; ARGV[2]: the new JSON (empty: delete the key). The TTL is kept.
const SWAP_VALUE: &str = r"
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, obj = pcall(cjson.decode, cur)
if not ok or type(obj) ~= 'table' or obj.value ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
end
return 1
";

/// better-auth's `increment`: INCR, and the TTL only on the first count, so a window never
/// slides. Atomic, as `@better-auth/redis-storage` does it.
const INCREMENT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
";

/// Stores a value and keeps, in an index (a JSON array of keys, a plain string like every
/// other value, so better-auth's tools can read it), only the newest `ARGV[3]` live values of
/// one owner; older ones are deleted. Atomic. KEYS[1]: the value's key; KEYS[2]: the index;
/// ARGV[1]: the JSON; ARGV[2]: the TTL in seconds.
const PUT_BOUNDED: &str = r"
local listed = {}
local cur = redis.call('GET', KEYS[2])
if cur then
  local ok, v = pcall(cjson.decode, cur)
  if ok and type(v) == 'table' then listed = v end
end
local kept = {}
for _, k in ipairs(listed) do
  if k ~= KEYS[1] and redis.call('EXISTS', k) == 1 then table.insert(kept, k) end
end
table.insert(kept, KEYS[1])
while #kept > tonumber(ARGV[3]) do redis.call('DEL', table.remove(kept, 1)) end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
local ttl = math.max(redis.call('TTL', KEYS[2]), tonumber(ARGV[2]))
redis.call('SET', KEYS[2], cjson.encode(kept), 'EX', ttl)
return 1
";

impl SecondaryStorage {
    /// A client for `settings.url`. Connects lazily: the server starts (and reports not ready)
    /// while Redis is down, and every request reconnects if the connection was lost.
    pub fn connect(settings: &SecondarySettings) -> StoreResult<SecondaryStorage> {
        let client =
            redis::Client::open(settings.url.as_str()).map_err(StoreError::SecondaryUrl)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.timeout))
            .set_response_timeout(Some(settings.timeout))
            // Reconnection is retried on the next request; a request never waits for more
            // than one attempt.
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(StoreError::from_redis)?;
        Ok(SecondaryStorage {
            conn,
            prefix: settings.key_prefix.clone(),
            timeout: settings.timeout,
            sessions_in_database: settings.sessions_in_database,
            verifications_in_database: settings.verifications_in_database,
            revoked_marker_ttl: settings.revoked_marker_ttl,
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// One command, bounded by the timeout even while the manager is reconnecting.
    async fn run<T>(
        &self,
        f: impl AsyncFnOnce(&mut ConnectionManager) -> redis::RedisResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.conn.clone();
        match tokio::time::timeout(self.timeout * 2, f(&mut conn)).await {
            Ok(r) => r.map_err(StoreError::from_redis),
            Err(_) => Err(StoreError::SecondaryUnavailable(
                (redis::ErrorKind::Io, "no answer from Redis in time").into(),
            )),
        }
    }

    pub async fn ping(&self) -> StoreResult<()> {
        self.run(async |c| redis::cmd("PING").query_async::<String>(c).await)
            .await
            .map(drop)
    }

    pub async fn get(&self, key: &str) -> StoreResult<Option<String>> {
        let key = self.key(key);
        self.run(async |c| c.get(key).await).await
    }

    /// SETEX when `ttl > 0`, else a SET without expiry (as `@better-auth/redis-storage`).
    pub async fn set(&self, key: &str, value: &str, ttl: u64) -> StoreResult<()> {
        let key = self.key(key);
        self.run(async |c| {
            if ttl > 0 {
                c.set_ex(key, value, ttl).await
            } else {
                c.set(key, value).await
            }
        })
        .await
    }

    pub async fn delete(&self, key: &str) -> StoreResult<()> {
        let key = self.key(key);
        self.run(async |c| c.del(key).await).await
    }

    pub async fn get_and_delete(&self, key: &str) -> StoreResult<Option<String>> {
        let key = self.key(key);
        self.run(async |c| c.get_del(key).await).await
    }

    /// Counts one more hit on `key`; the first hit starts a window of `ttl` seconds that later
    /// hits do not extend (better-auth's rate limiter on secondary storage).
    pub async fn increment(&self, key: &str, ttl: u64) -> StoreResult<u64> {
        let key = self.key(key);
        self.run(async |c| {
            redis::Script::new(INCREMENT)
                .key(key)
                .arg(ttl.max(1))
                .invoke_async(c)
                .await
        })
        .await
    }

    /// Replaces the JSON at `key` by `new` (or deletes it when `new` is `None`) only while its
    /// `value` field is still `expected`; false when someone else changed or used it first.
    pub(super) async fn swap_value(
        &self,
        key: &str,
        expected: &str,
        new: Option<&str>,
    ) -> StoreResult<bool> {
        let key = self.key(key);
        let n: i64 = self
            .run(async |c| {
                redis::Script::new(SWAP_VALUE)
                    .key(key)
                    .arg(expected)
                    .arg(new.unwrap_or(""))
                    .invoke_async(c)
                    .await
            })
            .await?;
        Ok(n == 1)
    }

    /// Sets `key` for `ttl` seconds and keeps only the newest `keep` keys listed in `index`.
    pub(super) async fn put_bounded(
        &self,
        key: &str,
        value: &str,
        ttl: u64,
        index: &str,
        keep: usize,
    ) -> StoreResult<()> {
        let (key, index) = (self.key(key), self.key(index));
        let _: i64 = self
            .run(async |c| {
                redis::Script::new(PUT_BOUNDED)
                    .key(key)
                    .key(index)
                    .arg(value)
                    .arg(ttl.max(1))
                    .arg(keep.max(1))
                    .invoke_async(c)
                    .await
            })
            .await?;
        Ok(())
    }
}
