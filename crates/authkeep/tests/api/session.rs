use serde_json::json;

use crate::helpers::{Db, TestApp};
use crate::on_both_databases;

on_both_databases! {
    async fn get_session_is_null_and_uncached_when_signed_out(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        let r = c.get("/get-session").await;
        assert_eq!((r.status, r.text.as_str()), (200, "null"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(r.header("pragma"), Some("no-cache"));
        c.cookies.insert("better-auth.session_token".into(), "abc.def".into());
        let r = c.get("/get-session").await;
        assert_eq!(r.text, "null");
        assert!(r.set_cookies.is_empty(), "a badly signed cookie is ignored, not cleared");
        let r = c.send("POST", "/get-session", None, &[]).await;
        assert_eq!((r.status, r.code()), (405, "METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED"));
        app.stop().await;
    }

    async fn a_cookie_signed_with_another_secret_is_rejected(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        let token = c.sign_up("gus@example.com").await.json["token"].as_str().unwrap().to_owned();
        let other = authkeep::crypto::Secret::new("some-other-secret-of-enough-length-000");
        let forged = authkeep::crypto::HmacKey::new(&other).signed(&token);
        c.cookies.insert("better-auth.session_token".into(), forged);
        assert_eq!(c.get("/get-session").await.text, "null");
        app.stop().await;
    }

    async fn sign_out_deletes_the_session_and_clears_cookies(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        c.sign_up("hal@example.com").await;
        let stolen = c.cookies.clone();
        let r = c.post("/sign-out", json!({})).await;
        assert_eq!(r.json, json!({"success": true}));
        assert_eq!(r.set_cookies, vec![
            "better-auth.session_token=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
            "better-auth.session_data=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
            "better-auth.dont_remember=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
        ]);
        assert_eq!(app.count("session").await, 0);
        // The old cookie no longer works, and the server tells the browser to drop it.
        c.cookies = stolen;
        let r = c.get("/get-session").await;
        assert_eq!(r.text, "null");
        assert_eq!(r.set_cookies.len(), 3);
        // Signing out with no session (and no body) still succeeds.
        let mut anon = app.client();
        anon.origin = None;
        assert_eq!(anon.send("POST", "/sign-out", None, &[]).await.json, json!({"success": true}));
        app.stop().await;
    }

    async fn get_session_extends_a_session_after_update_age(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        c.sign_up("ida@example.com").await;
        let fresh = c.get("/get-session").await;
        assert!(fresh.set_cookies.is_empty(), "no refresh before updateAge");
        // Pretend the session was last extended two days ago.
        app.age_sessions("ida@example.com", "expiresAt", 48).await;
        let r = c.get("/get-session").await;
        let cookie = r.cookie("better-auth.session_token").expect("refreshed cookie");
        assert!(cookie.contains("Max-Age=604800"));
        let before = chrono::DateTime::parse_from_rfc3339(fresh.json["session"]["expiresAt"].as_str().unwrap()).unwrap();
        let after = chrono::DateTime::parse_from_rfc3339(r.json["session"]["expiresAt"].as_str().unwrap()).unwrap();
        assert!(after >= before, "extended to a full lifetime again");
        // disableRefresh (any non-empty value) skips it.
        app.age_sessions("ida@example.com", "expiresAt", 48).await;
        let r = c.get("/get-session?disableRefresh=false").await;
        assert!(r.set_cookies.is_empty());
        app.stop().await;
    }

    async fn dont_remember_sessions_are_never_extended(db: Db) {
        let app = TestApp::spawn(db).await;
        app.client().sign_up("jan@example.com").await;
        let mut c = app.client();
        c.post("/sign-in/email", json!({"email": "jan@example.com", "password": crate::helpers::PASSWORD, "rememberMe": false})).await;
        let r = c.get("/get-session").await;
        assert!(r.json["session"].is_object());
        assert!(r.set_cookies.is_empty());
        app.stop().await;
    }

    async fn expired_sessions_are_gone(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        c.sign_up("kim@example.com").await;
        app.age_sessions("kim@example.com", "expiresAt", 24 * 8).await;
        let r = c.get("/get-session").await;
        assert_eq!(r.text, "null");
        assert_eq!(r.set_cookies.len(), 3, "cookies cleared");
        assert_eq!(app.count("session").await, 0, "expired row deleted");
        let r = c.get("/list-sessions").await;
        assert_eq!((r.status, r.code()), (401, "UNAUTHORIZED"));
        app.stop().await;
    }

    async fn list_and_revoke_sessions(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut a = app.client();
        a.sign_up("lee@example.com").await;
        let mut b = app.client();
        let b_token = b.sign_in("lee@example.com", crate::helpers::PASSWORD).await.json["token"].as_str().unwrap().to_owned();
        let mut other = app.client();
        let other_token = other.sign_up("mo@example.com").await.json["token"].as_str().unwrap().to_owned();

        let list = a.get("/list-sessions").await;
        assert_eq!(list.status, 200);
        assert_eq!(list.json.as_array().unwrap().len(), 2);
        assert!(list.json[0]["token"].is_string());

        // Someone else's token is ignored, silently.
        assert_eq!(a.post("/revoke-session", json!({"token": other_token})).await.json, json!({"status": true}));
        assert!(other.get("/get-session").await.json.is_object());
        // One's own other session is revoked.
        assert_eq!(a.post("/revoke-session", json!({"token": b_token})).await.json, json!({"status": true}));
        assert_eq!(b.get("/get-session").await.text, "null");
        let r = a.post("/revoke-session", json!({})).await;
        assert_eq!(r.json["message"], "[body.token] Invalid input: expected string, received undefined");

        b.sign_in("lee@example.com", crate::helpers::PASSWORD).await;
        assert_eq!(a.post("/revoke-other-sessions", json!({})).await.json, json!({"status": true}));
        assert_eq!(b.get("/get-session").await.text, "null");
        assert!(a.get("/get-session").await.json.is_object(), "the current session survives");

        b.sign_in("lee@example.com", crate::helpers::PASSWORD).await;
        let r = a.post("/revoke-sessions", json!({})).await;
        assert_eq!(r.json, json!({"status": true}));
        assert_eq!(a.get("/get-session").await.text, "null");
        assert_eq!(b.get("/get-session").await.text, "null");
        assert!(other.get("/get-session").await.json.is_object());
        app.stop().await;
    }

    async fn list_sessions_needs_a_fresh_session(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        c.sign_up("ned@example.com").await;
        app.age_sessions("ned@example.com", "createdAt", 25).await;
        let r = c.get("/list-sessions").await;
        assert_eq!((r.status, r.json.clone()), (403, json!({"message": "Session is not fresh", "code": "SESSION_NOT_FRESH"})));
        app.stop().await;
    }

    async fn session_lifetimes_are_configurable(db: Db) {
        let app = TestApp::spawn_with(db, |c| c.session.expires_in = 3600).await;
        let mut c = app.client();
        let r = c.sign_up("ola@example.com").await;
        assert!(r.cookie("better-auth.session_token").unwrap().contains("Max-Age=3600"));
        app.stop().await;
    }
}

on_both_databases! {
    async fn bearer_tokens_work_wherever_the_cookie_does(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        let r = c.sign_up("bea@example.com").await;
        let raw = r.json["token"].as_str().unwrap().to_owned();
        let signed = r.header("set-auth-token").expect("set-auth-token on sign-up").to_owned();
        assert!(signed.starts_with(&format!("{raw}.")) && signed.ends_with('='), "{signed}");
        assert!(r.header("access-control-expose-headers").unwrap().contains("set-auth-token"));

        let mut api = app.client();
        api.origin = None;
        for credential in [signed.as_str(), raw.as_str()] {
            let auth = format!("Bearer {credential}");
            let s = api.send("GET", "/get-session", None, &[("authorization", auth.as_str())]).await;
            assert_eq!(s.json["user"]["email"], "bea@example.com", "{credential}");
        }
        let encoded = signed.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
        let s = api.send("GET", "/get-session", None, &[("authorization", &format!("bearer {encoded}"))]).await;
        assert_eq!(s.json["user"]["email"], "bea@example.com", "percent-encoded and lower-case scheme");
        let tampered = format!("Bearer {raw}.{}", "A".repeat(43) + "=");
        assert_eq!(api.send("GET", "/get-session", None, &[("authorization", tampered.as_str())]).await.text, "null");
        let auth = format!("Bearer {signed}");
        let r = api.send("POST", "/update-user", Some(&json!({"name": "Bearer"})), &[("authorization", auth.as_str())]).await;
        assert_eq!(r.status, 200, "no cookie, so no origin check: {}", r.text);
        assert!(r.header("set-auth-token").is_some(), "re-set session comes with the bearer header too");
        api.cookies.clear(); // update-user re-set the cookie; stay a cookie-less API client
        let r = api.send("POST", "/sign-out", None, &[("authorization", auth.as_str())]).await;
        assert_eq!(r.status, 200);
        assert_eq!(api.send("GET", "/get-session", None, &[("authorization", auth.as_str())]).await.text, "null");
        app.stop().await;
    }

    async fn bearer_can_require_the_signed_form_or_be_off(db: Db) {
        let app = TestApp::spawn_with(db, |c| c.bearer.require_signature = true).await;
        let r = app.client().sign_up("sig@example.com").await;
        let (raw, signed) = (r.json["token"].as_str().unwrap().to_owned(), r.header("set-auth-token").unwrap().to_owned());
        let mut api = app.client();
        let s = api.send("GET", "/get-session", None, &[("authorization", &format!("Bearer {raw}"))]).await;
        assert_eq!(s.text, "null", "a bare token is refused");
        let s = api.send("GET", "/get-session", None, &[("authorization", &format!("Bearer {signed}"))]).await;
        assert!(s.json["user"].is_object());
        app.stop().await;

        let app = TestApp::spawn_with(db, |c| c.bearer.enabled = false).await;
        let r = app.client().sign_up("off@example.com").await;
        assert!(r.header("set-auth-token").is_none());
        let s = app.client().send("GET", "/get-session", None, &[("authorization", &format!("Bearer {}", r.json["token"].as_str().unwrap()))]).await;
        assert_eq!(s.text, "null");
        app.stop().await;
    }
}
