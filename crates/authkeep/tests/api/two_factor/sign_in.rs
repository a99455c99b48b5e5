//! The sign-in challenge: held sign-ins, TOTP at sign-in (wrong, expired, reused, raced),
//! attempt limits, account lockout, trusted devices.

use serde_json::json;

use super::*;
use crate::helpers::{Db, PASSWORD, TestApp};
use crate::on_both_databases;

on_both_databases! {
    async fn a_password_sign_in_is_held_until_the_code(db: Db) {
        let app = spawn(db).await;
        let (key, _, _) = enrolled(&app, "ann@example.com").await;
        let sessions = app.count("session").await;
        let mut c = app.client();
        let r = c.sign_in("ann@example.com", PASSWORD).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.json,
            json!({ "twoFactorRedirect": true, "twoFactorMethods": ["totp"] })
        );
        assert_eq!(app.count("session").await, sessions, "no session is left behind");
        assert!(r.cookie("better-auth.session_token").unwrap().contains("Max-Age=0"));
        let cookie = r.cookie("better-auth.two_factor").expect("two_factor cookie");
        assert!(cookie.contains("Max-Age=600"), "{cookie}");
        assert!(!c.cookies.contains_key("better-auth.session_token"));
        let s = c.get("/get-session").await;
        assert_eq!(s.json, serde_json::Value::Null, "{}", s.text);
        // The challenge rows, as better-auth writes them.
        let signed = two_factor_cookie(&c).unwrap().clone();
        let decoded = percent_encoding::percent_decode_str(&signed).decode_utf8().unwrap();
        let id = decoded.rsplit_once('.').unwrap().0.to_owned();
        assert!(id.starts_with("2fa-") && id.len() == 24, "{id}");
        assert!(app.verification_value(&id).await.is_some());
        assert_eq!(
            app.verification_value(&format!("2fa-attempts-{id}")).await.as_deref(),
            Some("0")
        );

        let r = c.post("/two-factor/verify-totp", json!({ "code": totp(&key) })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.json["token"].is_string());
        assert_eq!(r.json["user"]["email"], "ann@example.com");
        assert!(r.cookie("better-auth.two_factor").unwrap().contains("Max-Age=0"));
        let s = c.get("/get-session").await;
        assert_eq!(s.json["user"]["email"], "ann@example.com", "{}", s.text);
        assert!(app.verification_value(&id).await.is_none(), "the challenge is used up");
        app.stop().await;
    }

    async fn wrong_expired_and_reused_codes_are_refused(db: Db) {
        let app = spawn(db).await;
        let (key, _, _) = enrolled(&app, "bea@example.com").await;
        let (mut c, _) = challenged(&app, "bea@example.com").await;
        let now = now_ms();
        for stale in [now - 90_000, now + 90_000] {
            let r = c
                .post("/two-factor/verify-totp", json!({ "code": totp_at(&key, stale) }))
                .await;
            assert_eq!((r.status, r.code()), (401, "INVALID_CODE"), "{}", r.text);
        }
        let code = totp(&key);
        let r = c.post("/two-factor/verify-totp", json!({ "code": code })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        // The same code again, on a new sign-in, within its 90 seconds: refused.
        let (mut d, _) = challenged(&app, "bea@example.com").await;
        let r = d.post("/two-factor/verify-totp", json!({ "code": code })).await;
        assert_eq!((r.status, r.code()), (401, "INVALID_CODE"), "{}", r.text);
        app.stop().await;
    }

    async fn five_attempts_per_challenge(db: Db) {
        let app = TestApp::spawn_with(db, |c| {
            c.two_factor.enabled = true;
            c.two_factor.lockout_max_failed_attempts = 100;
        })
        .await;
        let (key, _, _) = enrolled(&app, "cal@example.com").await;
        let (mut c, _) = challenged(&app, "cal@example.com").await;
        for _ in 0..5 {
            let r = c.post("/two-factor/verify-totp", json!({ "code": "000000" })).await;
            assert_eq!((r.status, r.code()), (401, "INVALID_CODE"), "{}", r.text);
        }
        let r = c.post("/two-factor/verify-totp", json!({ "code": totp(&key) })).await;
        assert_eq!(
            (r.status, r.code()),
            (400, "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE"),
            "{}",
            r.text
        );
        assert!(two_factor_cookie(&c).is_none(), "the challenge's cookie is expired");
        // A new sign-in starts a new challenge.
        let (mut d, _) = challenged(&app, "cal@example.com").await;
        let r = d.post("/two-factor/verify-totp", json!({ "code": totp(&key) })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        app.stop().await;
    }

    async fn raced_guesses_are_counted_one_at_a_time(db: Db) {
        let app = TestApp::spawn_with(db, |c| {
            c.two_factor.enabled = true;
            c.two_factor.lockout_max_failed_attempts = 100;
        })
        .await;
        let (key, _, _) = enrolled(&app, "dan@example.com").await;
        let (c, _) = challenged(&app, "dan@example.com").await;
        let cookie = c.cookie_header();
        let wrong = if totp(&key) == "000000" { "111111" } else { "000000" };
        let mut tasks = Vec::new();
        for _ in 0..12 {
            let (http, url, cookie, origin) = (
                c.http.clone(),
                format!("{}/two-factor/verify-totp", c.api),
                cookie.clone(),
                app.origin.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let r = http
                    .post(url)
                    .header("cookie", cookie)
                    .header("origin", origin)
                    .json(&json!({ "code": wrong }))
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let body: serde_json::Value = r.json().await.unwrap();
                (status, body["code"].as_str().unwrap_or("").to_owned())
            }));
        }
        let mut judged = 0;
        for t in tasks {
            let (status, code) = t.await.unwrap();
            match code.as_str() {
                "INVALID_CODE" => judged += 1,
                "INVALID_TWO_FACTOR_COOKIE" | "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE" => {}
                other => panic!("{status} {other}"),
            }
        }
        assert!((1..=5).contains(&judged), "{judged} guesses judged");
        assert_eq!(failed_count(&app).await, judged, "each judged guess counted once");
        app.stop().await;
    }

    async fn a_right_code_raced_on_two_sign_ins_works_once(db: Db) {
        let app = spawn(db).await;
        let (key, _, _) = enrolled(&app, "eve@example.com").await;
        let (a, _) = challenged(&app, "eve@example.com").await;
        let (b, _) = challenged(&app, "eve@example.com").await;
        let code = totp(&key);
        let send = |c: &crate::helpers::Client| {
            let (http, url, cookie, origin) = (
                c.http.clone(),
                format!("{}/two-factor/verify-totp", c.api),
                c.cookie_header(),
                app.origin.clone(),
            );
            let code = code.clone();
            tokio::spawn(async move {
                http.post(url)
                    .header("cookie", cookie)
                    .header("origin", origin)
                    .json(&json!({ "code": code }))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        };
        let (ra, rb) = (send(&a), send(&b));
        let mut statuses = vec![ra.await.unwrap(), rb.await.unwrap()];
        statuses.sort();
        assert_eq!(statuses, vec![200, 401]);
        app.stop().await;
    }

    async fn failures_lock_the_account_until_the_lock_runs_out(db: Db) {
        let app = TestApp::spawn_with(db, |c| {
            c.two_factor.enabled = true;
            c.two_factor.lockout_max_failed_attempts = 3;
        })
        .await;
        let (key, _, _) = enrolled(&app, "fay@example.com").await;
        // Failures count across challenges.
        for _ in 0..3 {
            let (mut c, _) = challenged(&app, "fay@example.com").await;
            let r = c.post("/two-factor/verify-totp", json!({ "code": "000000" })).await;
            assert_eq!(r.code(), "INVALID_CODE", "{}", r.text);
        }
        let (mut c, _) = challenged(&app, "fay@example.com").await;
        let r = c.post("/two-factor/verify-totp", json!({ "code": totp(&key) })).await;
        assert_eq!(
            (r.status, r.code()),
            (429, "ACCOUNT_TEMPORARILY_LOCKED"),
            "{}",
            r.text
        );
        let r = c
            .post("/two-factor/verify-backup-code", json!({ "code": "aaaaa-bbbbb" }))
            .await;
        assert_eq!(r.code(), "ACCOUNT_TEMPORARILY_LOCKED", "{}", r.text);
        // The lock runs out.
        app.sql(
            r#"update "twoFactor" set "lockedUntil" = '2000-01-01T00:00:00.000Z'"#,
            r#"update "twoFactor" set "lockedUntil" = '2000-01-01T00:00:00Z'"#,
        )
        .await;
        let r = c.post("/two-factor/verify-totp", json!({ "code": totp(&key) })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(failed_count(&app).await, 0, "a success clears the count");
        app.stop().await;
    }

    async fn a_trusted_device_skips_the_code_and_rotates_its_trust(db: Db) {
        let app = spawn(db).await;
        let (key, _, _) = enrolled(&app, "gus@example.com").await;
        let (mut c, _) = challenged(&app, "gus@example.com").await;
        let r = c
            .post("/two-factor/verify-totp", json!({ "code": totp(&key), "trustDevice": true }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let trust = r.cookie("better-auth.trust_device").expect("trust cookie");
        assert!(trust.contains("Max-Age=2592000"), "{trust}");
        let first = c.cookies["better-auth.trust_device"].clone();
        let r = c.post("/sign-out", json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text);

        let r = c.sign_in("gus@example.com", PASSWORD).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.json["token"].is_string(), "no second factor: {}", r.text);
        let second = c.cookies["better-auth.trust_device"].clone();
        assert_ne!(first, second, "the trust is rotated");
        // The old trust no longer works.
        let mut thief = app.client();
        thief.cookies.insert("better-auth.trust_device".into(), first);
        let r = thief.sign_in("gus@example.com", PASSWORD).await;
        assert_eq!(r.json["twoFactorRedirect"], true, "{}", r.text);
        assert!(r.cookie("better-auth.trust_device").unwrap().contains("Max-Age=0"));
        app.stop().await;
    }

    async fn a_dont_remember_sign_in_stays_a_browser_session(db: Db) {
        let app = spawn(db).await;
        let (key, _, _) = enrolled(&app, "hum@example.com").await;
        let mut c = app.client();
        let r = c
            .post(
                "/sign-in/email",
                json!({ "email": "hum@example.com", "password": PASSWORD, "rememberMe": false }),
            )
            .await;
        assert_eq!(r.json["twoFactorRedirect"], true, "{}", r.text);
        assert!(c.cookies.contains_key("better-auth.dont_remember"), "{:?}", r.set_cookies);
        let r = c.post("/two-factor/verify-totp", json!({ "code": totp(&key) })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let cookie = r.cookie("better-auth.session_token").unwrap();
        assert!(!cookie.contains("Max-Age"), "a browser-session cookie: {cookie}");
        app.stop().await;
    }

    async fn disable_revokes_this_devices_trust(db: Db) {
        let app = spawn(db).await;
        let (key, _, _) = enrolled(&app, "ida@example.com").await;
        let (mut c, _) = challenged(&app, "ida@example.com").await;
        let r = c
            .post("/two-factor/verify-totp", json!({ "code": totp(&key), "trustDevice": true }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let trust = c.cookies["better-auth.trust_device"].clone();
        let r = c.post("/two-factor/disable", json!({ "password": PASSWORD })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.cookie("better-auth.trust_device").unwrap().contains("Max-Age=0"));
        let decoded = percent_encoding::percent_decode_str(&trust).decode_utf8().unwrap().into_owned();
        let identifier = decoded.split('!').nth(1).unwrap().rsplit_once('.').unwrap().0.to_owned();
        assert!(identifier.starts_with("trust-device-"), "{identifier}");
        assert!(app.verification_value(&identifier).await.is_none(), "the trust row is gone");
        app.stop().await;
    }
}
