//! Redis as better-auth's secondary storage: the keys, values and TTLs authkeep writes (as
//! better-auth 1.7.25 with `@better-auth/redis-storage` writes them), sessions and verification
//! values kept there on both databases, `store_session_in_database` and
//! `verification.store_in_database` both ways, and Redis going down (503 with Retry-After,
//! `/ready`, recovery by itself).
//!
//! Each test uses the machine's Redis under a random key prefix and deletes only its own keys;
//! the "Redis down" tests run a private `redis-server` on a free port. Without Redis the tests
//! are skipped with a message, unless `AUTHKEEP_TEST_REQUIRE_SERVICES` is set (CI): then they fail.

use std::collections::BTreeMap;
use std::time::Duration;

use authkeep::config::{Config, Secret};
use authkeep::email::SentMail;
use redis::Commands;
use serde_json::Value;

use crate::helpers::{Db, TestApp};

mod admin;
mod outage;
mod rate_limit;
mod sessions;
mod verifications;

pub(crate) fn redis_url() -> String {
    std::env::var("AUTHKEEP_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Whether to skip: only when Redis does not answer and nobody requires it.
pub(crate) fn skip_redis() -> bool {
    let up = redis::Client::open(redis_url())
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
        .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
        .is_ok();
    if up {
        return false;
    }
    assert!(
        std::env::var_os("AUTHKEEP_TEST_REQUIRE_SERVICES").is_none(),
        "Redis does not answer at {} and AUTHKEEP_TEST_REQUIRE_SERVICES is set",
        redis_url()
    );
    eprintln!(
        "SKIPPED: Redis does not answer at {} (set AUTHKEEP_TEST_REQUIRE_SERVICES to make this a failure)",
        redis_url()
    );
    true
}

/// The keys of one test: a random prefix on a Redis, deleted when dropped.
pub(crate) struct Keys {
    pub(crate) url: String,
    pub(crate) prefix: String,
}

impl Keys {
    pub(crate) fn new() -> Keys {
        Keys::on(&redis_url())
    }

    pub(super) fn on(url: &str) -> Keys {
        Keys {
            url: url.to_owned(),
            prefix: format!("authkeep-test-{}:", authkeep::crypto::random_hex(4)),
        }
    }

    fn conn(&self) -> redis::Connection {
        redis::Client::open(self.url.as_str())
            .unwrap()
            .get_connection_with_timeout(Duration::from_secs(2))
            .expect("redis")
    }

    fn names(&self, c: &mut redis::Connection) -> Vec<String> {
        let pattern = format!("{}*", self.prefix);
        let keys: Vec<String> = c
            .scan_match(pattern)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        keys
    }

    /// Every key under the prefix (prefix stripped) → (value, TTL in seconds; -1: none).
    pub(super) fn dump(&self) -> BTreeMap<String, (String, i64)> {
        let mut c = self.conn();
        let mut out = BTreeMap::new();
        for k in self.names(&mut c) {
            let v: Option<String> = c.get(&k).unwrap();
            let ttl: i64 = c.ttl(&k).unwrap();
            if let Some(v) = v {
                out.insert(k[self.prefix.len()..].to_owned(), (v, ttl));
            }
        }
        out
    }

    pub(super) fn get(&self, key: &str) -> Option<(String, i64)> {
        self.dump().remove(key)
    }

    pub(super) fn json(&self, key: &str) -> Value {
        let (v, _) = self.get(key).unwrap_or_else(|| panic!("no key {key}"));
        serde_json::from_str(&v).unwrap()
    }

    pub(super) fn delete(&self, key: &str) {
        let _: () = self.conn().del(format!("{}{key}", self.prefix)).unwrap();
    }

    pub(super) fn configure(&self, c: &mut Config) {
        c.secondary_storage.url = Some(Secret::new(self.url.clone()));
        c.secondary_storage.key_prefix = self.prefix.clone();
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        if let Ok(mut c) = redis::Client::open(self.url.as_str())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(1)))
        {
            for k in self.names(&mut c) {
                let _: Result<(), _> = c.del(k);
            }
        }
    }
}

pub(super) async fn spawn(db: Db, keys: &Keys, tweak: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::spawn_with(db, |c| {
        keys.configure(c);
        tweak(c);
    })
    .await
}

pub(super) fn ms(iso: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(iso.as_str().unwrap())
        .unwrap()
        .timestamp_millis()
}

pub(super) fn code(mail: &SentMail) -> String {
    mail.subject.rsplit(' ').next().unwrap().to_owned()
}

pub(super) fn link(mail: &SentMail) -> String {
    mail.text
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_owned()
}
