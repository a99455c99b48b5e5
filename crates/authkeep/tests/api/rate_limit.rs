//! The rate limiter (better-auth's rules, answers and client-IP resolution, in memory and in
//! the database) and authkeep's per-account limit on failed sign-ins.

use std::time::Duration;

use authkeep::config::{Config, CustomRuleConfig, RateLimitStorage};
use serde_json::json;

use crate::helpers::{Client, Db, PASSWORD, Resp, TestApp};
use crate::on_both_databases;

const TOO_MANY: &str = "Too many requests. Please try again later.";

fn on(c: &mut Config) {
    c.rate_limit.enabled = Some(true);
}

async fn wrong_sign_in(c: &mut Client, email: &str, ip: &str) -> Resp {
    let body = json!({ "email": email, "password": "wrong-password" });
    c.send(
        "POST",
        "/sign-in/email",
        Some(&body),
        &[("x-forwarded-for", ip)],
    )
    .await
}

async fn get_session(c: &mut Client, ip: &str) -> Resp {
    c.send("GET", "/get-session", None, &[("x-forwarded-for", ip)])
        .await
}

fn assert_limited(r: &Resp, retry_after: &str) {
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.json, json!({ "message": TOO_MANY }));
    assert_eq!(r.header("x-retry-after"), Some(retry_after));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("retry-after"), None);
}

fn rule(window: u64, max: u64) -> CustomRuleConfig {
    CustomRuleConfig {
        window: Some(window),
        max: Some(max),
        disabled: false,
    }
}

on_both_databases! {
    async fn sign_in_rule_and_the_429_answer(db: Db) {
        let app = TestApp::spawn_with(db, on).await;
        let mut c = app.client();
        for _ in 0..3 {
            assert_eq!(wrong_sign_in(&mut c, "a@example.com", "203.0.113.7").await.status, 401);
        }
        assert_limited(&wrong_sign_in(&mut c, "a@example.com", "203.0.113.7").await, "10");
        // Another address has its own bucket; sign-up has its own rule and bucket.
        assert_eq!(wrong_sign_in(&mut c, "a@example.com", "203.0.113.8").await.status, 401);
        for i in 0..3 {
            let body = json!({ "name": "N", "email": format!("n{i}@example.com"), "password": PASSWORD });
            let r = c.send("POST", "/sign-up/email", Some(&body), &[("x-forwarded-for", "203.0.113.7")]).await;
            assert_eq!(r.status, 200, "{}", r.text);
        }
        let body = json!({ "name": "N", "email": "n9@example.com", "password": PASSWORD });
        let r = c.send("POST", "/sign-up/email", Some(&body), &[("x-forwarded-for", "203.0.113.7")]).await;
        assert_limited(&r, "10");
        // Mail-sending paths: 3 per 60 s; unknown paths count too, per path.
        for _ in 0..3 {
            let r = c.send("POST", "/request-password-reset", Some(&json!({"email": "x@example.com"})), &[("x-forwarded-for", "198.51.100.1")]).await;
            assert_ne!(r.status, 429);
        }
        let r = c.send("POST", "/request-password-reset", Some(&json!({"email": "x@example.com"})), &[("x-forwarded-for", "198.51.100.1")]).await;
        assert_limited(&r, "60");
        app.stop().await;
    }

    async fn plugin_rules_and_the_other_special_rules(db: Db) {
        let app = TestApp::spawn_with(db, |c| {
            on(c);
            c.magic_link.enabled = true;
            c.email_otp.enabled = true;
        }).await;
        let mut c = app.client();
        let ip = &[("x-forwarded-for", "192.0.2.40")];
        let link = json!({ "email": "m@example.com" });
        for _ in 0..5 {
            let r = c.send("POST", "/sign-in/magic-link", Some(&link), ip).await;
            assert_eq!(r.status, 200, "{}", r.text);
        }
        assert_limited(&c.send("POST", "/sign-in/magic-link", Some(&link), ip).await, "60");
        let otp = json!({ "email": "m@example.com", "otp": "000000" });
        for _ in 0..3 {
            assert_ne!(c.send("POST", "/email-otp/verify-email", Some(&otp), ip).await.status, 429);
        }
        assert_limited(&c.send("POST", "/email-otp/verify-email", Some(&otp), ip).await, "60");
        let change = json!({ "currentPassword": "x", "newPassword": "y" });
        for _ in 0..3 {
            assert_eq!(c.send("POST", "/change-password", Some(&change), ip).await.status, 401);
        }
        assert_limited(&c.send("POST", "/change-password", Some(&change), ip).await, "10");
        app.stop().await;
    }

    async fn the_global_rule_and_its_window(db: Db) {
        let app = TestApp::spawn_with(db, |c| {
            on(c);
            c.rate_limit.window = 2;
            c.rate_limit.max = 2;
        }).await;
        let mut c = app.client();
        assert_eq!(get_session(&mut c, "192.0.2.1").await.status, 200);
        assert_eq!(get_session(&mut c, "192.0.2.1").await.status, 200);
        assert_limited(&get_session(&mut c, "192.0.2.1").await, "2");
        // The path without its trailing slash is the same bucket; a 404 path has its own.
        let r = c.send("GET", "/get-session/", None, &[("x-forwarded-for", "192.0.2.1")]).await;
        assert_eq!(r.status, 429);
        let r = c.send("GET", "/no-such-path", None, &[("x-forwarded-for", "192.0.2.1")]).await;
        assert_eq!(r.status, 404);
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert_eq!(get_session(&mut c, "192.0.2.1").await.status, 200);
        app.stop().await;
    }

    async fn custom_rules_set_and_disable_limits(db: Db) {
        let app = TestApp::spawn_with(db, |c| {
            on(c);
            c.rate_limit.custom_rules.insert("/get-session".into(), rule(60, 1));
            c.rate_limit.custom_rules.insert(
                "/sign-in/*".into(),
                CustomRuleConfig { disabled: true, ..Default::default() },
            );
            c.rate_limit.custom_rules.insert("/list-*".into(), rule(30, 2));
        }).await;
        let mut c = app.client();
        assert_eq!(get_session(&mut c, "192.0.2.9").await.status, 200);
        assert_limited(&get_session(&mut c, "192.0.2.9").await, "60");
        for _ in 0..6 {
            assert_eq!(wrong_sign_in(&mut c, "b@example.com", "192.0.2.9").await.status, 401);
        }
        for _ in 0..2 {
            let r = c.send("GET", "/list-sessions", None, &[("x-forwarded-for", "192.0.2.9")]).await;
            assert_eq!(r.status, 401);
        }
        let r = c.send("GET", "/list-sessions", None, &[("x-forwarded-for", "192.0.2.9")]).await;
        assert_limited(&r, "30");
        app.stop().await;
    }

    async fn a_spoofed_forwarded_for_never_picks_the_bucket(db: Db) {
        // Our proxies are 10/8; the test client (127.0.0.1) is not one of them.
        let app = TestApp::spawn_with(db, |c| {
            on(c);
            c.advanced.ip_address.trusted_proxies = vec!["10.0.0.0/8".into()];
        }).await;
        let mut c = app.client();
        for i in 0..3 {
            let r = wrong_sign_in(&mut c, "c@example.com", &format!("198.51.100.{i}")).await;
            assert_eq!(r.status, 401);
        }
        assert_limited(&wrong_sign_in(&mut c, "c@example.com", "198.51.100.99").await, "10");
        // The session records no address it cannot trust.
        let app2 = TestApp::spawn_with(db, |c| {
            c.advanced.ip_address.trusted_proxies = vec!["10.0.0.0/8".into()];
        }).await;
        let mut c2 = app2.client();
        c2.sign_up("spoof@example.com").await;
        let r = c2.send("POST", "/sign-in/email", Some(&json!({"email": "spoof@example.com", "password": PASSWORD})), &[("x-forwarded-for", "6.6.6.6")]).await;
        assert_eq!(r.status, 200);
        let s = c2.get("/get-session").await;
        assert_ne!(s.json["session"]["ipAddress"], "6.6.6.6");
        app2.stop().await;
        // Without trusted proxies, a chain of two is no address (better-auth): the peer's bucket.
        let app3 = TestApp::spawn_with(db, on).await;
        let mut c3 = app3.client();
        for i in 0..3 {
            let r = wrong_sign_in(&mut c3, "c@example.com", &format!("198.51.100.{i}, 10.0.0.1")).await;
            assert_eq!(r.status, 401);
        }
        assert_limited(&wrong_sign_in(&mut c3, "c@example.com", "6.6.6.6, 7.7.7.7").await, "10");
        app3.stop().await;
        app.stop().await;
    }

    async fn trusted_proxies_are_walked_from_the_right(db: Db) {
        let app = TestApp::spawn_with(db, |c| {
            on(c);
            c.advanced.ip_address.trusted_proxies = vec!["127.0.0.1".into(), "10.0.0.0/8".into()];
        }).await;
        let mut c = app.client();
        // The client forges the left part; our proxies appended the real hop.
        for forged in ["1.1.1.1", "2.2.2.2", "3.3.3.3"] {
            let r = wrong_sign_in(&mut c, "d@example.com", &format!("{forged}, 198.51.100.4, 10.0.0.7")).await;
            assert_eq!(r.status, 401);
        }
        assert_limited(&wrong_sign_in(&mut c, "d@example.com", "4.4.4.4, 198.51.100.4, 10.0.0.7").await, "10");
        assert_eq!(wrong_sign_in(&mut c, "d@example.com", "198.51.100.5, 10.0.0.7").await.status, 401);
        // Sessions record the walked address.
        let mut u = app.client();
        u.sign_up("walk@example.com").await;
        let r = u.send("POST", "/sign-in/email", Some(&json!({"email": "walk@example.com", "password": PASSWORD})), &[("x-forwarded-for", "6.6.6.6, 198.51.100.77, 10.0.0.7")]).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(u.get("/get-session").await.json["session"]["ipAddress"], "198.51.100.77");
        app.stop().await;
    }

    async fn ipv6_clients_share_a_bucket_per_64(db: Db) {
        let app = TestApp::spawn_with(db, on).await;
        let mut c = app.client();
        for ip in ["2001:db8:1:2::1", "2001:DB8:1:2::2", "2001:db8:1:2:ffff::3"] {
            assert_eq!(wrong_sign_in(&mut c, "e@example.com", ip).await.status, 401);
        }
        assert_limited(&wrong_sign_in(&mut c, "e@example.com", "2001:db8:1:2:abcd::9").await, "10");
        assert_eq!(wrong_sign_in(&mut c, "e@example.com", "2001:db8:1:3::1").await.status, 401);
        // IPv4-mapped IPv6 is the IPv4 address.
        for _ in 0..3 {
            assert_eq!(wrong_sign_in(&mut c, "e@example.com", "192.0.2.77").await.status, 401);
        }
        assert_limited(&wrong_sign_in(&mut c, "e@example.com", "::ffff:192.0.2.77").await, "10");
        app.stop().await;
    }

    async fn database_storage_counts_exactly_under_concurrency(db: Db) {
        let app = TestApp::spawn_with(db, |c| {
            on(c);
            c.rate_limit.storage = Some(RateLimitStorage::Database);
            c.rate_limit.model_name = Some("rate_limits".into());
            c.rate_limit.fields.insert("lastRequest".into(), "last_request".into());
            c.rate_limit.custom_rules.insert("/get-session".into(), rule(60, 7));
        }).await;
        let tasks: Vec<_> = (0..30)
            .map(|_| {
                let mut c = app.client();
                tokio::spawn(async move { get_session(&mut c, "203.0.113.50").await.status })
            })
            .collect();
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.unwrap());
        }
        let ok = statuses.iter().filter(|s| **s == 200).count();
        let limited = statuses.iter().filter(|s| **s == 429).count();
        assert_eq!((ok, limited), (7, 23), "{statuses:?}");
        assert_eq!(app.count_where("rate_limits", "key", "203.0.113.50|/get-session").await, 1);
        // A second replica on the same database shares the counters.
        let other = TestApp::spawn_on_store(&app, |c| {
            on(c);
            c.rate_limit.storage = Some(RateLimitStorage::Database);
            c.rate_limit.model_name = Some("rate_limits".into());
            c.rate_limit.fields.insert("lastRequest".into(), "last_request".into());
            c.rate_limit.custom_rules.insert("/get-session".into(), rule(60, 7));
        }).await;
        let r = get_session(&mut other.client(), "203.0.113.50").await;
        assert_eq!(r.status, 429);
        let retry: u64 = r.header("x-retry-after").unwrap().parse().unwrap();
        assert!((59..=60).contains(&retry), "{retry}");
        other.stop().await;
        app.stop().await;
    }

    async fn database_storage_follows_better_auths_rule(db: Db) {
        let app = TestApp::spawn_with(db, |c| {
            on(c);
            c.rate_limit.storage = Some(RateLimitStorage::Database);
            c.rate_limit.window = 2;
            c.rate_limit.max = 2;
        }).await;
        let mut c = app.client();
        assert_eq!(get_session(&mut c, "192.0.2.1").await.status, 200);
        assert_eq!(get_session(&mut c, "192.0.2.1").await.status, 200);
        assert_limited(&get_session(&mut c, "192.0.2.1").await, "2");
        assert_eq!(get_session(&mut c, "192.0.2.2").await.status, 200);
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert_eq!(get_session(&mut c, "192.0.2.1").await.status, 200);
        assert_eq!(app.count("rateLimit").await, 2);
        // Rows older than the longest window are deleted (each process sweeps at its first
        // request, then about once a minute).
        app.sql(
            r#"insert into "rateLimit" ("id", "key", "count", "lastRequest") values ('old', 'old|/x', 1, 0)"#,
            r#"insert into "rateLimit" ("id", "key", "count", "lastRequest") values ('old', 'old|/x', 1, 0)"#,
        ).await;
        let other = TestApp::spawn_on_store(&app, |c| {
            on(c);
            c.rate_limit.storage = Some(RateLimitStorage::Database);
        }).await;
        get_session(&mut other.client(), "192.0.2.3").await;
        let mut gone = false;
        for _ in 0..50 {
            if app.count_where("rateLimit", "key", "old|/x").await == 0 {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(gone, "old row pruned");
        assert_eq!(app.count_where("rateLimit", "key", "192.0.2.1|/get-session").await, 1);
        other.stop().await;
        app.stop().await;
    }

    async fn failed_sign_ins_per_account_across_rotating_ips(db: Db) {
        for storage in [RateLimitStorage::Memory, RateLimitStorage::Database] {
            let app = TestApp::spawn_with(db, |c| {
                on(c);
                c.rate_limit.storage = Some(storage);
                c.rate_limit.account.max_failures = 3;
                c.rate_limit.account.window = 60;
                c.rate_limit.account.lockout = 1;
                c.rate_limit.account.max_lockout = 2;
            }).await;
            app.client().sign_up("victim@example.com").await;
            let mut c = app.client();
            for (i, email) in ["victim@example.com", "nobody@example.com"].into_iter().enumerate() {
                for n in 0..3 {
                    let r = wrong_sign_in(&mut c, email, &format!("198.51.{i}.{n}")).await;
                    assert_eq!(r.status, 401, "{storage:?} {email} {n}: {}", r.text);
                }
                // A new address each time, and still refused: unknown addresses alike.
                let r = wrong_sign_in(&mut c, &email.to_uppercase(), &format!("198.51.{i}.200")).await;
                assert_limited(&r, "1");
            }
            // Even the right password waits out the cool-down...
            let body = json!({ "email": "victim@example.com", "password": PASSWORD });
            let r = c.send("POST", "/sign-in/email", Some(&body), &[("x-forwarded-for", "192.0.2.200")]).await;
            assert_eq!(r.status, 429);
            // ...which is short, and then the owner signs in.
            tokio::time::sleep(Duration::from_millis(1100)).await;
            let r = c.send("POST", "/sign-in/email", Some(&body), &[("x-forwarded-for", "192.0.2.201")]).await;
            assert_eq!(r.status, 200, "{storage:?}: {}", r.text);
            app.stop().await;
        }
    }

    async fn off_by_default_outside_production(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        for _ in 0..12 {
            assert_eq!(wrong_sign_in(&mut c, "f@example.com", "203.0.113.7").await.status, 401);
        }
        app.stop().await;
        let prod = TestApp::spawn_with(db, |c| c.env = "production".into()).await;
        let mut c = prod.client();
        for _ in 0..3 {
            assert_eq!(wrong_sign_in(&mut c, "f@example.com", "203.0.113.7").await.status, 401);
        }
        assert_limited(&wrong_sign_in(&mut c, "f@example.com", "203.0.113.7").await, "10");
        // No header at all: the connection's own address is the bucket.
        let mut bare = prod.client();
        for _ in 0..3 {
            let r = bare.post("/sign-in/email", json!({"email": "g@example.com", "password": "x"})).await;
            assert_eq!(r.status, 401);
        }
        let r = bare.post("/sign-in/email", json!({"email": "g@example.com", "password": "x"})).await;
        assert_eq!(r.status, 429);
        prod.stop().await;
    }
}

#[tokio::test]
async fn the_environment_variable_turns_it_on() {
    use crate::cli::{authkeep, sigterm, start, wait_exit};
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = authkeep(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", "sqlite::memory:")
        .env("AUTHKEEP_RATE_LIMIT__ENABLED", "true")
        .env("AUTHKEEP_RATE_LIMIT__MAX", "2");
    let (mut child, addr, _, _) = start(cmd);
    let http = crate::helpers::http();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = http
            .get(format!("http://{addr}/api/auth/ok"))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);
    sigterm(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(10)).success());
}

#[test]
fn secondary_storage_without_a_redis_is_a_clear_start_up_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::cli::authkeep(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", "sqlite::memory:")
        .env("AUTHKEEP_RATE_LIMIT__STORAGE", "secondary-storage")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs [secondary_storage]"), "{err}");
}
