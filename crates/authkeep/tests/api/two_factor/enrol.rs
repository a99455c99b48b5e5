//! `enable`, `verify-totp` inside a session, `get-totp-uri`, `disable`.

use serde_json::json;

use super::*;
use crate::helpers::{Db, PASSWORD, TestApp};
use crate::on_both_databases;

on_both_databases! {
    async fn enable_then_the_first_code_turns_it_on(db: Db) {
        let app = spawn(db).await;
        let mut c = app.client();
        c.sign_up("ada@example.com").await;
        let r = c.post("/two-factor/enable", json!({ "password": PASSWORD })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["method"], "totp");
        let uri = r.json["totpURI"].as_str().unwrap();
        assert!(
            uri.starts_with("otpauth://totp/authkeep:ada%40example.com?secret="),
            "{uri}"
        );
        assert!(uri.ends_with("&issuer=authkeep&digits=6&period=30"), "{uri}");
        let key = key_of(uri);
        assert_eq!(key.len(), 32, "better-auth's secret: 32 characters used as bytes");
        assert!(key.iter().all(u8::is_ascii_alphanumeric));
        let codes = r.json["backupCodes"].as_array().unwrap();
        assert_eq!(codes.len(), 10);
        for code in codes {
            let code = code.as_str().unwrap();
            assert_eq!(code.len(), 11, "{code}");
            assert_eq!(&code[5..6], "-", "{code}");
        }
        // Stored encrypted, and not yet active.
        let secret_plain = String::from_utf8(key.clone()).unwrap();
        assert_eq!(app.count_where("twoFactor", "secret", &secret_plain).await, 0);
        assert_eq!(app.count("twoFactor").await, 1);
        let s = c.get("/get-session").await;
        assert_eq!(s.json["user"]["twoFactorEnabled"], false, "{}", s.text);
        // A second sign-in is not held while the factor is unverified.
        let mut other = app.client();
        let r = other.sign_in("ada@example.com", PASSWORD).await;
        assert!(r.json["token"].is_string(), "{}", r.text);

        let wrong = if totp(&key) == "000000" { "111111" } else { "000000" };
        let r = c.post("/two-factor/verify-totp", json!({ "code": wrong })).await;
        assert_eq!((r.status, r.code()), (401, "INVALID_CODE"), "{}", r.text);
        let old = c.cookies.get("better-auth.session_token").cloned();
        let r = c.post("/two-factor/verify-totp", json!({ "code": totp(&key) })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["user"]["twoFactorEnabled"], true, "{}", r.text);
        assert_ne!(
            c.cookies.get("better-auth.session_token"),
            old.as_ref(),
            "the session is re-issued with the new user"
        );
        let s = c.get("/get-session").await;
        assert_eq!(s.json["user"]["twoFactorEnabled"], true, "{}", s.text);

        // Enabling again is refused; the URI is shown again with the password.
        let r = c.post("/two-factor/enable", json!({ "password": PASSWORD })).await;
        assert_eq!((r.status, r.code()), (400, "TOTP_ALREADY_ENABLED"), "{}", r.text);
        let r = c.post("/two-factor/get-totp-uri", json!({ "password": "wrong-password" })).await;
        assert_eq!((r.status, r.code()), (400, "INVALID_PASSWORD"), "{}", r.text);
        let r = c.post("/two-factor/get-totp-uri", json!({ "password": PASSWORD })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(key_of(r.json["totpURI"].as_str().unwrap()), key);
        app.stop().await;
    }

    async fn enable_checks_password_session_and_body(db: Db) {
        let app = spawn(db).await;
        let mut c = app.client();
        c.sign_up("bo@example.com").await;
        let r = c.post("/two-factor/enable", json!({ "password": "nope-nope-nope" })).await;
        assert_eq!((r.status, r.code()), (400, "INVALID_PASSWORD"), "{}", r.text);
        let r = c.post("/two-factor/enable", json!({})).await;
        assert_eq!((r.status, r.code()), (400, "VALIDATION_ERROR"), "{}", r.text);
        let r = c
            .post("/two-factor/enable", json!({ "password": PASSWORD, "method": "sms" }))
            .await;
        assert_eq!((r.status, r.code()), (400, "VALIDATION_ERROR"), "{}", r.text);
        let r = c
            .post("/two-factor/enable", json!({ "password": PASSWORD, "method": "otp" }))
            .await;
        assert_eq!((r.status, r.code()), (400, "OTP_NOT_CONFIGURED"), "{}", r.text);
        assert_eq!(app.count("twoFactor").await, 0);
        let mut anonymous = app.client();
        let r = anonymous.post("/two-factor/enable", json!({ "password": PASSWORD })).await;
        assert_eq!((r.status, r.code()), (401, "UNAUTHORIZED"), "{}", r.text);
        let r = anonymous.post("/two-factor/verify-totp", json!({ "code": "123456" })).await;
        assert_eq!(
            (r.status, r.code()),
            (401, "INVALID_TWO_FACTOR_COOKIE"),
            "{}",
            r.text
        );
        let r = c.post("/two-factor/verify-totp", json!({ "code": "123456" })).await;
        assert_eq!((r.status, r.code()), (400, "TOTP_NOT_ENABLED"), "{}", r.text);
        let r = c.post("/two-factor/generate-backup-codes", json!({ "password": PASSWORD })).await;
        assert_eq!((r.status, r.code()), (400, "TWO_FACTOR_NOT_ENABLED"), "{}", r.text);
        app.stop().await;
    }

    async fn the_routes_do_not_exist_while_the_plugin_is_off(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        c.sign_up("cy@example.com").await;
        let r = c.post("/two-factor/enable", json!({ "password": PASSWORD })).await;
        assert_eq!((r.status, r.text.as_str()), (404, ""));
        let s = c.get("/get-session").await;
        assert!(s.json["user"].get("twoFactorEnabled").is_none(), "{}", s.text);
        app.stop().await;
    }

    async fn disable_turns_it_off_and_forgets_the_secret(db: Db) {
        let app = spawn(db).await;
        let (key, _, mut c) = enrolled(&app, "di@example.com").await;
        let r = c.post("/two-factor/disable", json!({ "password": "wrong-wrong" })).await;
        assert_eq!((r.status, r.code()), (400, "INVALID_PASSWORD"), "{}", r.text);
        let r = c.post("/two-factor/disable", json!({ "password": PASSWORD })).await;
        assert_eq!((r.status, r.json.clone()), (200, json!({ "status": true })), "{}", r.text);
        assert_eq!(app.count("twoFactor").await, 0);
        let s = c.get("/get-session").await;
        assert_eq!(s.json["user"]["twoFactorEnabled"], false, "{}", s.text);
        // Signing in needs the password only again.
        let mut again = app.client();
        let r = again.sign_in("di@example.com", PASSWORD).await;
        assert!(r.json["token"].is_string(), "{}", r.text);
        let r = c.post("/two-factor/verify-totp", json!({ "code": totp(&key) })).await;
        assert_eq!((r.status, r.code()), (400, "TOTP_NOT_ENABLED"), "{}", r.text);
        app.stop().await;
    }

    async fn deleting_the_user_deletes_the_factor(db: Db) {
        let app = TestApp::spawn_with(db, |c| {
            c.two_factor.enabled = true;
            c.user.delete_user = true;
        })
        .await;
        let (_, _, mut c) = enrolled(&app, "del@example.com").await;
        assert_eq!(app.count("twoFactor").await, 1);
        let r = c.post("/delete-user", json!({ "password": PASSWORD })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(app.count("user").await, 0);
        assert_eq!(app.count("twoFactor").await, 0, "the row goes with its user");
        app.stop().await;
    }
}
