//! The challenge, attempts and trusted devices with verification values in Redis
//! (better-auth's secondary storage), as a better-auth with Redis keeps them.

use serde_json::json;

use super::*;
use crate::helpers::Db;
use crate::on_both_databases;
use crate::secondary_storage::{Keys, skip_redis};

on_both_databases! {
    async fn the_sign_in_challenge_lives_in_redis(db: Db) {
        if skip_redis() {
            return;
        }
        let keys = Keys::new();
        let app = TestApp::spawn_with(db, |c| {
            c.two_factor.enabled = true;
            keys.configure(c);
        })
        .await;
        let (key, codes, _) = enrolled(&app, "red@example.com").await;
        let (mut c, _) = challenged(&app, "red@example.com").await;
        let stored = keys.dump();
        assert!(
            stored.keys().any(|k| k.contains("2fa-attempts-2fa-")),
            "{:?}",
            stored.keys()
        );
        assert_eq!(app.count("verification").await, 1, "only the TOTP step record is in the database");
        let r = c.post("/two-factor/verify-totp", json!({ "code": "000000" })).await;
        assert_eq!(r.code(), "INVALID_CODE", "{}", r.text);
        let r = c
            .post("/two-factor/verify-totp", json!({ "code": totp(&key), "trustDevice": true }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        c.post("/sign-out", json!({})).await;
        let r = c.sign_in("red@example.com", crate::helpers::PASSWORD).await;
        assert!(r.json["token"].is_string(), "trusted: {}", r.text);
        let (mut d, _) = challenged(&app, "red@example.com").await;
        let r = d.post("/two-factor/verify-backup-code", json!({ "code": codes[0] })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        app.stop().await;
    }
}
