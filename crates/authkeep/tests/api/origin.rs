use serde_json::json;

use crate::helpers::{Db, PASSWORD, TestApp};
use crate::on_both_databases;

on_both_databases! {
    async fn cookie_carrying_posts_need_a_trusted_origin(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        c.sign_up("vic@example.com").await;
        c.origin = Some("http://evil.example".into());
        let r = c.post("/sign-out", json!({})).await;
        assert_eq!((r.status, r.json.clone()), (403, json!({"message": "Invalid origin", "code": "INVALID_ORIGIN"})));
        c.origin = None;
        let r = c.post("/sign-out", json!({})).await;
        assert_eq!((r.status, r.code()), (403, "MISSING_OR_NULL_ORIGIN"));
        let r = c.send("POST", "/sign-out", Some(&json!({})), &[("origin", "null")]).await;
        assert_eq!(r.code(), "MISSING_OR_NULL_ORIGIN");
        // A Referer from the trusted origin is accepted in place of Origin.
        let referer = format!("{}/account/settings", app.origin);
        let r = c.send("POST", "/sign-out", Some(&json!({})), &[("referer", referer.as_str())]).await;
        assert_eq!(r.status, 200);
        app.stop().await;
    }

    async fn disabling_the_csrf_check_keeps_the_callback_checks(db: Db) {
        let app = TestApp::spawn_with(db, |c| c.advanced.disable_csrf_check = true).await;
        let mut c = app.client();
        c.sign_up("csrf-off@example.com").await;
        c.origin = Some("http://evil.example".into());
        // The Origin check is off, as configured...
        assert_eq!(c.post("/sign-out", json!({})).await.status, 200);
        // ...but an untrusted redirect target is still refused: that check stops open redirects.
        let r = c
            .post("/sign-in/email", json!({"email": "csrf-off@example.com", "password": PASSWORD, "callbackURL": "https://evil.example/x"}))
            .await;
        assert_eq!((r.status, r.code()), (403, "INVALID_CALLBACK_URL"));
        app.stop().await;
    }

    async fn sign_in_blocks_cross_site_form_posts(db: Db) {
        let app = TestApp::spawn(db).await;
        app.client().sign_up("wes@example.com").await;
        let mut c = app.client();
        c.origin = None;
        let body = json!({"email": "wes@example.com", "password": PASSWORD});
        let r = c.send("POST", "/sign-in/email", Some(&body), &[("sec-fetch-site", "cross-site"), ("sec-fetch-mode", "navigate")]).await;
        assert_eq!((r.status, r.code()), (403, "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED"));
        let r = c.send("POST", "/sign-in/email", Some(&body), &[("sec-fetch-site", "cross-site"), ("sec-fetch-mode", "cors")]).await;
        assert_eq!(r.code(), "MISSING_OR_NULL_ORIGIN");
        let r = c.send("POST", "/sign-in/email", Some(&body), &[("origin", "http://evil.example")]).await;
        assert_eq!(r.code(), "INVALID_ORIGIN");
        // Server-to-server (no Origin, no Sec-Fetch, no cookie) is allowed.
        assert_eq!(c.send("POST", "/sign-in/email", Some(&body), &[]).await.status, 200);
        app.stop().await;
    }

    async fn cors_is_answered_for_trusted_origins_only(db: Db) {
        let app = TestApp::spawn_with(db, |c| c.trusted_origins = vec!["http://localhost:5173".into(), "https://*.app.example".into()]).await;
        let mut c = app.client();
        c.origin = None;
        for origin in ["http://localhost:5173", "https://web.app.example"] {
            let r = c.send("OPTIONS", "/sign-in/email", None, &[
                ("origin", origin), ("access-control-request-method", "POST"), ("access-control-request-headers", "content-type"),
            ]).await;
            assert_eq!(r.status, 204, "{origin}");
            assert_eq!(r.header("access-control-allow-origin"), Some(origin));
            assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
            assert_eq!(r.header("access-control-allow-headers"), Some("content-type"));
            assert!(r.header("access-control-allow-methods").unwrap().contains("POST"));
        }
        let r = c.send("OPTIONS", "/sign-in/email", None, &[("origin", "https://evil.example"), ("access-control-request-method", "POST")]).await;
        assert_eq!((r.status, r.code()), (403, "INVALID_ORIGIN"));
        assert!(r.header("access-control-allow-origin").is_none());

        // A cross-origin SPA signs up and reads its session with credentials.
        c.origin = Some("http://localhost:5173".into());
        let r = c.sign_up("xia@example.com").await;
        assert_eq!(r.header("access-control-allow-origin"), Some("http://localhost:5173"));
        assert!(r.header("access-control-expose-headers").unwrap().contains("set-auth-token"));
        assert_eq!(c.post("/sign-out", json!({})).await.status, 200, "a trusted cross-origin state change works");
        let mut evil = app.client();
        evil.origin = Some("https://evil.example".into());
        assert!(evil.get("/ok").await.header("access-control-allow-origin").is_none());
        app.stop().await;
    }
}
