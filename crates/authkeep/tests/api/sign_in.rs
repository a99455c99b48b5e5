use serde_json::json;

use crate::helpers::{Db, PASSWORD, TestApp};
use crate::on_both_databases;

on_both_databases! {
    async fn sign_in_returns_session_and_cookie(db: Db) {
        let app = TestApp::spawn(db).await;
        app.client().sign_up("carol@example.com").await;
        let mut c = app.client();
        let r = c.sign_in("Carol@Example.com", PASSWORD).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["redirect"], false);
        assert!(r.json.get("url").is_none());
        assert_eq!(r.json["user"]["email"], "carol@example.com");
        let token = r.json["token"].as_str().unwrap();
        assert!(r.cookie("better-auth.session_token").unwrap().contains(token));
        assert_eq!(c.get("/get-session").await.json["session"]["token"], token);
        app.stop().await;
    }

    async fn wrong_password_and_unknown_email_look_the_same(db: Db) {
        let app = TestApp::spawn(db).await;
        app.client().sign_up("dave@example.com").await;
        let wrong = app.client().sign_in("dave@example.com", "not-the-password").await;
        let unknown = app.client().sign_in("nobody@example.com", PASSWORD).await;
        for r in [&wrong, &unknown] {
            assert_eq!(r.status, 401);
            assert_eq!(r.json, json!({"message": "Invalid email or password", "code": "INVALID_EMAIL_OR_PASSWORD"}));
            assert!(r.set_cookies.is_empty());
        }
        let bad = app.client().sign_in("not-an-email", PASSWORD).await;
        assert_eq!((bad.status, bad.code()), (400, "INVALID_EMAIL"));
        app.stop().await;
    }

    async fn remember_me_false_makes_a_browser_session(db: Db) {
        let app = TestApp::spawn(db).await;
        app.client().sign_up("erin@example.com").await;
        let mut c = app.client();
        let r = c.post("/sign-in/email", json!({"email": "erin@example.com", "password": PASSWORD, "rememberMe": false})).await;
        assert_eq!(r.status, 200);
        assert!(!r.cookie("better-auth.session_token").unwrap().contains("Max-Age"));
        assert!(r.cookie("better-auth.dont_remember").is_some());
        let s = c.get("/get-session").await;
        let expires = chrono::DateTime::parse_from_rfc3339(s.json["session"]["expiresAt"].as_str().unwrap()).unwrap();
        let hours = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours();
        assert!((23..=24).contains(&hours), "a don't-remember session lives one day, got {hours}h");
        app.stop().await;
    }

    async fn callback_url_is_returned_and_validated(db: Db) {
        let app = TestApp::spawn(db).await;
        app.client().sign_up("fay@example.com").await;
        let r = app.client().post("/sign-in/email", json!({"email": "fay@example.com", "password": PASSWORD, "callbackURL": "/dashboard"})).await;
        assert_eq!(r.status, 200);
        assert_eq!((r.json["redirect"].clone(), r.json["url"].clone()), (json!(true), json!("/dashboard")));
        assert_eq!(r.header("location"), Some("/dashboard"));
        let r = app.client().post("/sign-in/email", json!({"email": "fay@example.com", "password": PASSWORD, "callbackURL": "https://evil.example/x"})).await;
        assert_eq!(r.status, 403);
        assert_eq!(r.json, json!({"message": "Invalid callbackURL", "code": "INVALID_CALLBACK_URL"}));
        let r = app.client().post("/sign-in/email", json!({"email": "fay@example.com", "password": PASSWORD, "callbackURL": "//evil.example"})).await;
        assert_eq!(r.status, 403);
        let r = app.client().post("/sign-in/email", json!({"email": "fay@example.com", "password": PASSWORD, "callbackURL": 5})).await;
        assert_eq!((r.status, r.json.clone()), (400, json!({"message": "Invalid callbackURL: expected a string"})));
        app.stop().await;
    }

    async fn sign_in_is_off_when_email_password_is_disabled(db: Db) {
        let app = TestApp::spawn_with(db, |c| c.email_and_password.enabled = false).await;
        let r = app.client().sign_in("x@example.com", PASSWORD).await;
        assert_eq!((r.status, r.code()), (400, "EMAIL_PASSWORD_DISABLED"));
        let r = app.client().post("/sign-up/email", json!({"name": "x", "email": "x@example.com", "password": PASSWORD})).await;
        assert_eq!((r.status, r.code()), (400, "EMAIL_PASSWORD_SIGN_UP_DISABLED"));
        app.stop().await;
    }
}
