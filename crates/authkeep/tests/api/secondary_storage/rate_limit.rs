//! Rate limiting on Redis (better-auth's default storage once there is secondary storage):
//! fixed windows under better-auth's keys (`<ip>|<path>`), shared by replicas, and the
//! per-account sign-in limit kept there too.

use std::time::Duration;

use serde_json::json;

use super::{Keys, skip_redis, spawn};
use crate::helpers::{Db, PASSWORD, TestApp};

async fn sign_in(app: &TestApp, email: &str, password: &str, ip: &str) -> (u16, Option<String>) {
    let body = json!({ "email": email, "password": password });
    let r = app
        .client()
        .send(
            "POST",
            "/sign-in/email",
            Some(&body),
            &[("x-forwarded-for", ip)],
        )
        .await;
    (r.status, r.header("x-retry-after").map(str::to_owned))
}

#[tokio::test]
async fn counters_live_in_redis_and_replicas_share_them() {
    if skip_redis() {
        return;
    }
    let keys = Keys::new();
    let on = |c: &mut authkeep::config::Config| c.rate_limit.enabled = Some(true);
    let a = spawn(Db::Postgres, &keys, on).await;
    let b = TestApp::spawn_on_store(&a, |c| {
        keys.configure(c);
        c.rate_limit.enabled = Some(true);
    })
    .await;
    a.client().sign_up("shared@example.com").await;

    let ip = "203.0.113.77";
    let mut seen = Vec::new();
    for app in [&a, &b, &a, &b] {
        seen.push(sign_in(app, "shared@example.com", "wrong-password", ip).await);
    }
    // better-auth's fixed window on secondary storage: the wait is the whole window.
    assert_eq!(
        seen,
        [
            (401, None),
            (401, None),
            (401, None),
            (429, Some("10".to_owned()))
        ]
    );
    let (count, ttl) = keys
        .get(&format!("{ip}|/sign-in/email"))
        .expect("the counter");
    assert_eq!(count, "4");
    assert!((1..=10).contains(&ttl), "ttl {ttl}");
    // Another client has its own bucket.
    assert_eq!(
        sign_in(&b, "shared@example.com", PASSWORD, "203.0.113.78")
            .await
            .0,
        200
    );
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn the_per_account_limit_is_kept_in_redis() {
    if skip_redis() {
        return;
    }
    let keys = Keys::new();
    let app = spawn(Db::Sqlite, &keys, |c| {
        c.rate_limit.enabled = Some(true);
        c.rate_limit.account.max_failures = 3;
        c.rate_limit.account.lockout = 1;
        c.rate_limit.account.max_lockout = 2;
    })
    .await;
    app.client().sign_up("target@example.com").await;
    for n in 0..3 {
        let ip = format!("198.51.100.{n}");
        assert_eq!(
            sign_in(&app, "target@example.com", "wrong", &ip).await.0,
            401
        );
    }
    let (status, wait) = sign_in(&app, "target@example.com", "wrong", "198.51.100.9").await;
    assert_eq!((status, wait.as_deref()), (429, Some("1")));
    assert!(
        keys.dump().keys().any(|k| !k.contains('|')),
        "the account's counters are in Redis: {:?}",
        keys.dump().keys().collect::<Vec<_>>()
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        sign_in(&app, "target@example.com", PASSWORD, "198.51.100.10")
            .await
            .0,
        200
    );
    app.stop().await;
}
