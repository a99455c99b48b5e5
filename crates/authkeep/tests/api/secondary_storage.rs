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
use std::time::{Duration, Instant};

use authkeep::config::{Config, Secret};
use authkeep::email::{Kind, SentMail};
use redis::Commands;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::helpers::{Db, PASSWORD, TestApp, http};
use crate::on_both_databases;

fn redis_url() -> String {
    std::env::var("AUTHKEEP_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Whether to skip: only when Redis does not answer and nobody requires it.
fn skip_redis() -> bool {
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
struct Keys {
    url: String,
    prefix: String,
}

impl Keys {
    fn new() -> Keys {
        Keys::on(&redis_url())
    }

    fn on(url: &str) -> Keys {
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
    fn dump(&self) -> BTreeMap<String, (String, i64)> {
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

    fn get(&self, key: &str) -> Option<(String, i64)> {
        self.dump().remove(key)
    }

    fn json(&self, key: &str) -> Value {
        let (v, _) = self.get(key).unwrap_or_else(|| panic!("no key {key}"));
        serde_json::from_str(&v).unwrap()
    }

    fn delete(&self, key: &str) {
        let _: () = self.conn().del(format!("{}{key}", self.prefix)).unwrap();
    }

    fn configure(&self, c: &mut Config) {
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

async fn spawn(db: Db, keys: &Keys, tweak: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::spawn_with(db, |c| {
        keys.configure(c);
        tweak(c);
    })
    .await
}

fn ms(iso: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(iso.as_str().unwrap())
        .unwrap()
        .timestamp_millis()
}

fn code(mail: &SentMail) -> String {
    mail.subject.rsplit(' ').next().unwrap().to_owned()
}

fn link(mail: &SentMail) -> String {
    mail.text
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_owned()
}

on_both_databases! {
    async fn sessions_live_in_redis_under_better_auths_keys(db: Db) {
        if skip_redis() { return; }
        let keys = Keys::new();
        let app = spawn(db, &keys, |c| c.user.delete_user = true).await;
        let mut c = app.client();
        let up = c.sign_up("ss-ann@example.com").await.json;
        let token = up["token"].as_str().unwrap().to_owned();
        let uid = up["user"]["id"].as_str().unwrap().to_owned();
        let list_key = format!("active-sessions-{uid}");
        let all = keys.dump();
        assert_eq!(all.keys().cloned().collect::<Vec<_>>(), {
            let mut k = vec![token.clone(), list_key.clone()];
            k.sort();
            k
        });
        assert_eq!(app.count("session").await, 0, "sessions are only in Redis");

        // The entry: better-auth's field order, dates as ISO strings, TTL until expiry.
        let (raw, ttl) = all[&token].clone();
        assert!((604_790..=604_800).contains(&ttl), "{ttl}");
        let entry: Value = serde_json::from_str(&raw).unwrap();
        let session_keys: Vec<&str> = entry["session"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(session_keys, ["id", "ipAddress", "userAgent", "expiresAt", "userId", "token", "createdAt", "updatedAt"]);
        let user_keys: Vec<&str> = entry["user"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(user_keys, ["name", "email", "emailVerified", "image", "createdAt", "updatedAt", "id"]);
        assert_eq!(entry["session"]["token"], token.as_str());
        assert_eq!(entry["user"]["email"], "ss-ann@example.com");
        let (list, list_ttl) = all[&list_key].clone();
        assert_eq!(
            serde_json::from_str::<Value>(&list).unwrap(),
            json!([{ "token": token, "expiresAt": ms(&entry["session"]["expiresAt"]) }])
        );
        assert!((604_790..=604_800).contains(&list_ttl));
        assert_eq!(c.get("/get-session").await.json["session"]["token"], token.as_str());

        // update-user rewrites the user embedded in every session.
        let mut c2 = app.client();
        let second = c2.sign_in("ss-ann@example.com", PASSWORD).await.json["token"].as_str().unwrap().to_owned();
        assert_eq!(c.post("/update-user", json!({"name": "Renamed"})).await.status, 200);
        assert_eq!(keys.json(&token)["user"]["name"], "Renamed");
        assert_eq!(keys.json(&second)["user"]["name"], "Renamed");
        assert_eq!(c2.get("/get-session").await.json["user"]["name"], "Renamed");

        // The list is sorted by expiry and list-sessions reads it.
        let list = keys.json(&list_key);
        assert_eq!(list.as_array().unwrap().len(), 2);
        assert!(list[0]["expiresAt"].as_i64() <= list[1]["expiresAt"].as_i64());
        assert_eq!(c.get("/list-sessions").await.json.as_array().unwrap().len(), 2);

        // revoke-session: the entry goes, and off the list.
        let r = c.post("/revoke-session", json!({"token": second})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(keys.get(&second).is_none());
        assert_eq!(keys.json(&list_key).as_array().unwrap().len(), 1);
        assert_eq!(c2.get("/get-session").await.text, "null");

        // revoke-sessions: better-auth's marker, the entries and the list go.
        let mut c3 = app.client();
        c3.sign_in("ss-ann@example.com", PASSWORD).await;
        let t0 = chrono::Utc::now().timestamp_millis();
        assert_eq!(c.post("/revoke-sessions", json!({})).await.status, 200);
        let all = keys.dump();
        let (before, before_ttl) = all[&format!("revoked-sessions-before-{uid}")].clone();
        let before: i64 = before.parse().unwrap();
        assert!(before >= t0 - 5 && before <= chrono::Utc::now().timestamp_millis(), "{before}");
        assert!(before_ttl > 604_790, "{before_ttl}");
        assert!(!all.contains_key(&token) && !all.contains_key(&list_key), "{all:?}");
        assert_eq!(c3.get("/get-session").await.text, "null");

        // sign-out: the entry and the (now empty) list go.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let mut c4 = app.client();
        let t4 = c4.sign_in("ss-ann@example.com", PASSWORD).await.json["token"].as_str().unwrap().to_owned();
        assert!(keys.get(&t4).is_some());
        assert_eq!(c4.get("/get-session").await.json["session"]["token"], t4.as_str(), "a session after the marker lives");
        assert_eq!(c4.post("/sign-out", json!({})).await.status, 200);
        let all = keys.dump();
        assert!(!all.contains_key(&t4) && !all.contains_key(&list_key), "{all:?}");

        // delete-user: the marker is renewed and the user's sessions end.
        let mut c5 = app.client();
        c5.sign_in("ss-ann@example.com", PASSWORD).await;
        let r = c5.post("/delete-user", json!({"password": PASSWORD})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let after: i64 = keys.get(&format!("revoked-sessions-before-{uid}")).unwrap().0.parse().unwrap();
        assert!(after > before);
        assert_eq!(c5.get("/get-session").await.text, "null");
        assert!(!keys.dump().contains_key(&list_key));
        app.stop().await;
    }

    async fn get_session_refresh_rewrites_the_entry_and_the_list(db: Db) {
        if skip_redis() { return; }
        let keys = Keys::new();
        let app = spawn(db, &keys, |c| c.session.update_age = 0).await;
        let mut c = app.client();
        let up = c.sign_up("ss-ref@example.com").await.json;
        let token = up["token"].as_str().unwrap().to_owned();
        let uid = up["user"]["id"].as_str().unwrap();
        let before = keys.json(&token);
        tokio::time::sleep(Duration::from_millis(20)).await;
        let r = c.get("/get-session").await;
        assert_eq!(r.json["session"]["token"], token.as_str());
        let after = keys.json(&token);
        assert!(ms(&after["session"]["expiresAt"]) > ms(&before["session"]["expiresAt"]));
        assert!(ms(&after["session"]["updatedAt"]) > ms(&before["session"]["updatedAt"]));
        assert_eq!(after["session"]["createdAt"], before["session"]["createdAt"]);
        let keys_order: Vec<&str> = after["session"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys_order[0], "id", "the field order is kept");
        assert_eq!(
            keys.json(&format!("active-sessions-{uid}")),
            json!([{ "token": token, "expiresAt": ms(&after["session"]["expiresAt"]) }])
        );
        app.stop().await;
    }

    async fn store_session_in_database_mirrors_and_falls_back(db: Db) {
        if skip_redis() { return; }
        let keys = Keys::new();
        let app = spawn(db, &keys, |c| c.session.store_session_in_database = true).await;
        let mut c = app.client();
        let token = c.sign_up("ss-db@example.com").await.json["token"].as_str().unwrap().to_owned();
        assert_eq!(app.count("session").await, 1, "mirrored to the database");
        let entry = keys.json(&token);
        let order: Vec<&str> = entry["session"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(order, ["expiresAt", "token", "createdAt", "updatedAt", "ipAddress", "userAgent", "userId", "id"], "the row's order, as better-auth writes it");
        // Without the Redis entry the database answers.
        keys.delete(&token);
        assert_eq!(c.get("/get-session").await.json["session"]["token"], token.as_str());
        // list-sessions reads the database, as better-auth does with the fallback on.
        assert_eq!(c.get("/list-sessions").await.json.as_array().unwrap().len(), 1);
        let mut c2 = app.client();
        c2.sign_in("ss-db@example.com", PASSWORD).await;
        assert_eq!(app.count("session").await, 2);
        assert_eq!(c.post("/revoke-other-sessions", json!({})).await.status, 200);
        assert_eq!(app.count("session").await, 1);
        assert_eq!(c2.get("/get-session").await.text, "null");
        assert_eq!(c.post("/sign-out", json!({})).await.status, 200);
        assert_eq!(app.count("session").await, 0);
        assert!(keys.get(&token).is_none());
        assert_eq!(c.get("/get-session").await.text, "null");
        app.stop().await;
    }

    async fn revoke_other_sessions_keeps_the_current_one(db: Db) {
        if skip_redis() { return; }
        let keys = Keys::new();
        let app = spawn(db, &keys, |_| {}).await;
        let mut c = app.client();
        let up = c.sign_up("ss-other@example.com").await.json;
        let token = up["token"].as_str().unwrap().to_owned();
        let uid = up["user"]["id"].as_str().unwrap();
        let mut c2 = app.client();
        let other = c2.sign_in("ss-other@example.com", PASSWORD).await.json["token"].as_str().unwrap().to_owned();
        assert_eq!(c.post("/revoke-other-sessions", json!({})).await.status, 200);
        assert!(keys.get(&other).is_none());
        assert_eq!(keys.json(&format!("active-sessions-{uid}")).as_array().unwrap().len(), 1);
        assert_eq!(c.get("/get-session").await.json["session"]["token"], token.as_str());
        assert_eq!(c2.get("/get-session").await.text, "null");
        app.stop().await;
    }

    async fn password_changes_and_resets_revoke_through_redis(db: Db) {
        if skip_redis() { return; }
        let keys = Keys::new();
        let app = spawn(db, &keys, |c| c.password_reset.revoke_sessions_on_reset = true).await;
        let mut a = app.client();
        let uid = a.sign_up("ss-pw@example.com").await.json["user"]["id"].as_str().unwrap().to_owned();
        let mut b = app.client();
        b.sign_in("ss-pw@example.com", PASSWORD).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        let r = a.post("/change-password", json!({"currentPassword": PASSWORD, "newPassword": "new-password-2", "revokeOtherSessions": true})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let new_token = r.json["token"].as_str().unwrap().to_owned();
        assert_eq!(b.get("/get-session").await.text, "null", "the other session ended");
        assert_eq!(a.get("/get-session").await.json["session"]["token"], new_token.as_str(), "the new session lives");
        assert!(keys.get(&format!("revoked-sessions-before-{uid}")).is_some());
        assert_eq!(keys.json(&format!("active-sessions-{uid}")).as_array().unwrap().len(), 1);

        // A reset with revoke_sessions_on_reset ends every session; only the newest five links
        // of one address stay valid (authkeep's bound, kept in Redis too).
        tokio::time::sleep(Duration::from_millis(5)).await;
        for _ in 0..6 {
            let r = a.post("/request-password-reset", json!({"email": "ss-pw@example.com", "redirectTo": "/r"})).await;
            assert_eq!(r.status, 200);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while app.mails_to("ss-pw@example.com") < 6 {
            assert!(Instant::now() < deadline, "six reset mails");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let links = keys.dump().into_keys().filter(|k| k.starts_with("verification:reset-password:")).count();
        assert_eq!(links, 5, "{:?}", keys.dump().keys().collect::<Vec<_>>());
        let url = link(&app.mail_to("ss-pw@example.com", Kind::ResetPassword).await);
        let token = url.split("/reset-password/").nth(1).unwrap().split('?').next().unwrap().to_owned();
        let r = app.client().post("/reset-password", json!({"token": token, "newPassword": "reset-password-3"})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(a.get("/get-session").await.text, "null", "the reset ended every session");
        assert_eq!(app.client().sign_in("ss-pw@example.com", "reset-password-3").await.status, 200);
        app.stop().await;
    }

    async fn verification_values_live_in_redis(db: Db) {
        if skip_redis() { return; }
        let keys = Keys::new();
        let app = spawn(db, &keys, |c| {
            c.email_otp.enabled = true;
            c.magic_link.enabled = true;
        })
        .await;
        let mut c = app.client();
        c.sign_up("ss-otp@example.com").await;
        let send = json!({"email": "ss-otp@example.com", "type": "sign-in"});
        assert_eq!(c.post("/email-otp/send-verification-otp", send.clone()).await.status, 200);
        let key = "verification:sign-in-otp-ss-otp@example.com";
        let (raw, ttl) = keys.get(key).expect("the code is in Redis");
        assert!((290..=300).contains(&ttl), "{ttl}");
        let v: Value = serde_json::from_str(&raw).unwrap();
        let order: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(order, ["createdAt", "updatedAt", "value", "identifier", "expiresAt"]);
        assert_eq!(app.count("verification").await, 0, "nothing in the database");
        let otp = code(&app.mail_to("ss-otp@example.com", Kind::Otp).await);
        assert!(v["value"].as_str().unwrap().ends_with(":0"));
        // A wrong guess is counted in place; the TTL stays.
        let wrong = format!("{:06}", (otp.parse::<u32>().unwrap() + 1) % 1_000_000);
        let r = c.post("/sign-in/email-otp", json!({"email": "ss-otp@example.com", "otp": wrong})).await;
        assert_eq!(r.code(), "INVALID_OTP");
        assert!(keys.json(key)["value"].as_str().unwrap().ends_with(":1"));
        assert!(keys.get(key).unwrap().1 > 280);
        let mut d = app.client();
        let r = d.post("/sign-in/email-otp", json!({"email": "ss-otp@example.com", "otp": otp})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(keys.get(key).is_none(), "a used code is gone");

        // Magic link: verification:magic-link:<token>, used once.
        assert_eq!(c.post("/sign-in/magic-link", json!({"email": "ss-otp@example.com"})).await.status, 200);
        let url = link(&app.mail_to("ss-otp@example.com", Kind::MagicLink).await);
        let token = url.split("token=").nth(1).unwrap().split('&').next().unwrap();
        assert!(keys.get(&format!("verification:magic-link:{token}")).is_some());
        let r = app.client().open(&url).await;
        assert_eq!(r.status, 302);
        assert!(r.cookie("better-auth.session_token").is_some());
        assert!(keys.get(&format!("verification:magic-link:{token}")).is_none());
        assert!(app.client().open(&url).await.cookie("better-auth.session_token").is_none(), "single use");

        // Password reset: verification:reset-password:<token>, used once, ends every session.
        assert_eq!(c.post("/request-password-reset", json!({"email": "ss-otp@example.com", "redirectTo": "/r"})).await.status, 200);
        let url = link(&app.mail_to("ss-otp@example.com", Kind::ResetPassword).await);
        let token = url.split("/reset-password/").nth(1).unwrap().split('?').next().unwrap().to_owned();
        assert!(keys.get(&format!("verification:reset-password:{token}")).is_some());
        let r = c.post("/reset-password", json!({"token": token, "newPassword": "brand-new-password"})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = c.post("/reset-password", json!({"token": token, "newPassword": "another-password"})).await;
        assert_eq!(r.code(), "INVALID_TOKEN");
        assert_eq!(app.client().sign_in("ss-otp@example.com", "brand-new-password").await.status, 200);
        assert_eq!(app.count("verification").await, 0);
        app.stop().await;
    }

    async fn verification_store_in_database_keeps_rows_and_a_copy(db: Db) {
        if skip_redis() { return; }
        let keys = Keys::new();
        let app = spawn(db, &keys, |c| {
            c.email_otp.enabled = true;
            c.verification.store_in_database = true;
        })
        .await;
        let mut c = app.client();
        c.sign_up("ss-vdb@example.com").await;
        let send = json!({"email": "ss-vdb@example.com", "type": "sign-in"});
        assert_eq!(c.post("/email-otp/send-verification-otp", send).await.status, 200);
        let key = "verification:sign-in-otp-ss-vdb@example.com";
        assert_eq!(app.count("verification").await, 1);
        assert!(keys.get(key).is_some(), "a copy in Redis, as better-auth keeps one");
        let otp = code(&app.mail_to("ss-vdb@example.com", Kind::Otp).await);
        let wrong = format!("{:06}", (otp.parse::<u32>().unwrap() + 1) % 1_000_000);
        let r = c.post("/sign-in/email-otp", json!({"email": "ss-vdb@example.com", "otp": wrong})).await;
        assert_eq!(r.code(), "INVALID_OTP");
        assert!(keys.json(key)["value"].as_str().unwrap().ends_with(":1"), "the copy follows the row");
        let r = app.client().post("/sign-in/email-otp", json!({"email": "ss-vdb@example.com", "otp": otp})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(app.count("verification").await, 0);
        assert!(keys.get(key).is_none());
        app.stop().await;
    }

    async fn otp_attempt_limit_holds_under_concurrent_guesses_in_redis(db: Db) {
        if skip_redis() { return; }
        let keys = Keys::new();
        let app = spawn(db, &keys, |c| c.email_otp.enabled = true).await;
        app.client().sign_up("ss-race@example.com").await;
        let send = json!({"email": "ss-race@example.com", "type": "sign-in"});
        let key = "verification:sign-in-otp-ss-race@example.com";
        for round in 0..3 {
            assert_eq!(app.client().post("/email-otp/send-verification-otp", send.clone()).await.status, 200);
            let right = keys.json(key)["value"].as_str().unwrap().split(':').next().unwrap().to_owned();
            let n: u32 = right.parse().unwrap();
            let mut tasks = JoinSet::new();
            for i in 0..20 {
                let mut c = app.client();
                let otp = format!("{:06}", (n + 1 + i) % 1_000_000);
                tasks.spawn(async move {
                    c.post("/sign-in/email-otp", json!({"email": "ss-race@example.com", "otp": otp})).await.code().to_owned()
                });
            }
            while let Some(r) = tasks.join_next().await {
                let code = r.unwrap();
                assert!(code == "INVALID_OTP" || code == "TOO_MANY_ATTEMPTS", "{code}");
            }
            let r = app.client().post("/sign-in/email-otp", json!({"email": "ss-race@example.com", "otp": right})).await;
            assert_ne!(r.status, 200, "round {round}: the right code after 20 wrong guesses was accepted");
        }
        // Wrong guesses and the right one at once: at most one wins, never after the limit.
        assert_eq!(app.client().post("/email-otp/send-verification-otp", send).await.status, 200);
        let right = keys.json(key)["value"].as_str().unwrap().split(':').next().unwrap().to_owned();
        let n: u32 = right.parse().unwrap();
        let mut tasks = JoinSet::new();
        for i in 0..20u32 {
            let mut c = app.client();
            let otp = if i == 10 { right.clone() } else { format!("{:06}", (n + 1 + i) % 1_000_000) };
            tasks.spawn(async move {
                let r = c.post("/sign-in/email-otp", json!({"email": "ss-race@example.com", "otp": otp})).await;
                (r.status, r.code().to_owned())
            });
        }
        let mut answers = Vec::new();
        while let Some(r) = tasks.join_next().await {
            answers.push(r.unwrap());
        }
        let wins = answers.iter().filter(|(s, _)| *s == 200).count();
        assert!(wins <= 1, "{answers:?}");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn increment_counts_in_a_fixed_window() {
    if skip_redis() {
        return;
    }
    let keys = Keys::new();
    let app = spawn(Db::Sqlite, &keys, |_| {}).await;
    let ss = app.store.secondary().expect("secondary storage").clone();
    let mut tasks = JoinSet::new();
    for _ in 0..10 {
        let ss = ss.clone();
        tasks.spawn(async move { ss.increment("1.2.3.4|/sign-in/email", 60).await.unwrap() });
    }
    let mut counts = Vec::new();
    while let Some(n) = tasks.join_next().await {
        counts.push(n.unwrap());
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=10).collect::<Vec<u64>>(), "atomic");
    let (value, ttl) = keys.get("1.2.3.4|/sign-in/email").unwrap();
    assert_eq!(value, "10");
    assert!((59..=60).contains(&ttl));
    app.stop().await;
}

/// A throw-away `redis-server` on a free loopback port, killed on drop.
struct PrivateRedis {
    port: u16,
    child: std::process::Child,
}

impl PrivateRedis {
    fn start_on(port: u16) -> PrivateRedis {
        PrivateRedis::start_with(port, &[])
    }

    fn start_with(port: u16, extra: &[&str]) -> PrivateRedis {
        let bin =
            std::env::var("AUTHKEEP_TEST_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let child = std::process::Command::new(bin)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (apt-get install redis-server)");
        let url = match extra {
            ["--requirepass", password] => format!("redis://:{password}@127.0.0.1:{port}"),
            _ => format!("redis://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while redis::Client::open(url.as_str())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        PrivateRedis { port, child }
    }

    fn start() -> PrivateRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        PrivateRedis::start_on(port)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn signal(&self, sig: &str) {
        let ok = std::process::Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn ready(app: &TestApp) -> (u16, Value) {
    let r = http()
        .get(format!("{}/ready", app.origin))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_answers_503_with_retry_after_and_recovers() {
    let redis = PrivateRedis::start();
    let keys = Keys::on(&redis.url());
    let app = spawn(Db::Sqlite, &keys, |_| {}).await;
    let mut c = app.client();
    c.sign_up("ss-down@example.com").await;
    assert_eq!(c.get("/get-session").await.status, 200);

    // A Redis that hangs: requests fail fast, never hang.
    redis.signal("-STOP");
    let started = Instant::now();
    let r = c.get("/get-session").await;
    assert_eq!(
        (r.status, r.code()),
        (503, "SERVICE_UNAVAILABLE"),
        "{}",
        r.text
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    redis.signal("-CONT");

    // A Redis that is gone.
    let port = redis.port;
    drop(redis);
    let r = c.get("/get-session").await;
    assert_eq!(
        (r.status, r.code()),
        (503, "SERVICE_UNAVAILABLE"),
        "{}",
        r.text
    );
    assert_eq!(r.header("retry-after"), Some("2"));
    assert!(r.json["message"].is_string());
    let r = c.sign_in("ss-down@example.com", PASSWORD).await;
    assert_eq!(
        r.status, 503,
        "no session is made that Redis does not know: {}",
        r.text
    );
    let (status, body) = ready(&app).await;
    assert_eq!(
        (status, body["secondary_storage"].clone()),
        (503, json!("unreachable")),
        "{body}"
    );
    assert!(body.get("database").is_none(), "{body}");

    // Redis is back (empty: it kept nothing): the server recovers by itself.
    let _redis = PrivateRedis::start_on(port);
    let deadline = Instant::now() + Duration::from_secs(10);
    while ready(&app).await.0 != 200 {
        assert!(Instant::now() < deadline, "did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        c.get("/get-session").await.text,
        "null",
        "the session was in the lost Redis"
    );
    let r = c.sign_in("ss-down@example.com", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        c.get("/get-session").await.json["user"]["email"],
        "ss-down@example.com"
    );
    app.stop().await;
}

/// Redis unreachable at start-up does not stop the server: it starts and reports not ready
/// (as with a database that is down), and becomes ready once Redis answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_with_redis_down_starts_not_ready() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = crate::helpers::test_config(&format!(
        "sqlite://{}",
        dir.path().join("a.sqlite").display()
    ));
    cfg.secondary_storage.url = Some(Secret::new(format!("redis://:hunter2@127.0.0.1:{port}")));
    let prepared = authkeep::serve::prepare(&cfg)
        .await
        .expect("starts without Redis");
    let store = prepared.app.auth.store.clone();
    let e = store.ping_secondary().await.unwrap_err();
    assert!(e.is_unavailable(), "{e}");
    assert!(
        !format!("{e:?} {cfg:?}").contains("hunter2"),
        "the password never prints"
    );
    let _redis = PrivateRedis::start_with(port, &["--requirepass", "hunter2"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.ping_secondary().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "did not connect once Redis was up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
