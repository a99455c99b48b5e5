//! Verification values in Redis: codes, links, the attempt limit under concurrency, and the
//! rate limiter's atomic counter.

use authkeep::email::Kind;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use super::{Keys, code, link, skip_redis, spawn};
use crate::helpers::Db;
use crate::on_both_databases;

on_both_databases! {
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
