use serde_json::json;

use crate::helpers::{Db, PASSWORD, TestApp};
use crate::on_both_databases;

on_both_databases! {
    async fn sign_up_creates_user_account_and_session(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        let r = c.post("/sign-up/email", json!({"name": "Alice", "email": "Alice@Example.com", "password": PASSWORD})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.header("content-type"), Some("application/json"));
        let user = &r.json["user"];
        assert_eq!(user["email"], "alice@example.com", "emails are stored lower-cased");
        assert_eq!(user["name"], "Alice");
        assert_eq!(user["emailVerified"], false);
        assert!(user["image"].is_null());
        assert_eq!(user["id"].as_str().unwrap().len(), 32);
        let created = user["createdAt"].as_str().unwrap();
        assert_eq!(created.len(), 24, "JS toISOString format: {created}");
        assert!(created.ends_with('Z'));
        let token = r.json["token"].as_str().unwrap();
        assert_eq!(token.len(), 32);
        let cookie = r.cookie("better-auth.session_token").expect("session cookie");
        assert!(cookie.starts_with(&format!("better-auth.session_token={token}.")));
        assert!(cookie.ends_with("; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax"), "{cookie}");
        let hash = app.password_hash("alice@example.com").await;
        let (salt, key) = hash.split_once(':').unwrap();
        assert_eq!((salt.len(), key.len()), (32, 128));
        assert_eq!((app.count("user").await, app.count("account").await, app.count("session").await), (1, 1, 1));
        let s = c.get("/get-session").await;
        assert_eq!(s.json["user"]["email"], "alice@example.com");
        assert_eq!(s.json["session"]["token"], token);
        app.stop().await;
    }

    async fn duplicate_email_is_422_whatever_the_case(db: Db) {
        let app = TestApp::spawn(db).await;
        app.client().sign_up("bob@example.com").await;
        let r = app.client().post("/sign-up/email", json!({"name": "B", "email": "BOB@example.com", "password": PASSWORD})).await;
        assert_eq!(r.status, 422);
        assert_eq!(r.json, json!({"message": "User already exists. Use another email.", "code": "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"}));
        assert_eq!(app.count("user").await, 1);
        app.stop().await;
    }

    async fn sign_up_validation_matches_better_auth(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        let r = c.post("/sign-up/email", json!({})).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json["code"], "VALIDATION_ERROR");
        assert_eq!(r.json["message"], "[body.name] Invalid input: expected string, received undefined; [body.email] Invalid input: expected string, received undefined; [body.password] Invalid input: expected string, received undefined");
        let r = c.post("/sign-up/email", json!({"name": "A", "email": "not-an-email", "password": PASSWORD})).await;
        assert_eq!(r.json, json!({"message": "[body.email] Invalid email address", "code": "VALIDATION_ERROR"}));
        let r = c.post("/sign-up/email", json!({"name": "A", "email": "a@example.com", "password": "short"})).await;
        assert_eq!((r.status, r.code()), (400, "PASSWORD_TOO_SHORT"));
        assert_eq!(r.json["message"], "Password too short");
        let r = c.post("/sign-up/email", json!({"name": "A", "email": "a@example.com", "password": "x".repeat(129)})).await;
        assert_eq!((r.status, r.code()), (400, "PASSWORD_TOO_LONG"));
        let r = c.post("/sign-up/email", json!({"name": "A", "email": "a@example.com", "password": "x".repeat(128)})).await;
        assert_eq!(r.status, 200, "128 characters is the maximum, inclusive: {}", r.text);
        let r = c.post("/sign-up/email", json!(["x"])).await;
        assert_eq!(r.json["message"], "[body] Invalid input: expected object, received array; [body] Invalid input: expected record, received array");
        let r = c.post("/sign-up/email", json!({"name": "x".repeat(300), "email": "b@example.com", "password": PASSWORD})).await;
        assert_eq!(r.json, json!({"message": "[body.name] Too big: expected string to have <=256 characters", "code": "VALIDATION_ERROR"}));
        let r = c.post("/sign-up/email", json!({"name": "A", "email": "c@example.com", "password": PASSWORD, "rememberMe": "yes"})).await;
        assert_eq!(r.json["message"], "[body.rememberMe] Invalid input: expected boolean, received string");
        assert_eq!(app.count("user").await, 1, "only the valid sign-up wrote anything");
        app.stop().await;
    }

    async fn sign_up_accepts_form_posts_and_remember_me_false(db: Db) {
        let app = TestApp::spawn(db).await;
        let c = app.client();
        let r = c.http.post(format!("{}/sign-up/email", app.api))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("name=Form+User&email=form%40example.com&password=password1234")
            .send().await.unwrap();
        assert_eq!(r.status(), 200);
        let mut c = app.client();
        let r = c.post("/sign-up/email", json!({"name": "N", "email": "n@example.com", "password": PASSWORD, "rememberMe": false})).await;
        assert_eq!(r.status, 200);
        let session = r.cookie("better-auth.session_token").unwrap();
        assert!(!session.contains("Max-Age"), "browser-session cookie: {session}");
        assert!(r.cookie("better-auth.dont_remember").unwrap().starts_with("better-auth.dont_remember=true."));
        app.stop().await;
    }

    async fn sqlite_dates_are_written_as_better_auth_writes_them(db: Db) {
        if db == Db::Postgres {
            return; // native timestamptz there
        }
        let app = TestApp::spawn(db).await;
        app.client().sign_up("dates@example.com").await;
        let authkeep::store::Pool::Sqlite(pool) = app.store.pool() else { unreachable!() };
        let (created, verified): (String, i64) =
            sqlx::query_as(r#"select "createdAt", "emailVerified" from "user""#).fetch_one(pool).await.unwrap();
        assert_eq!(created.len(), 24);
        assert!(created.ends_with('Z') && created.as_bytes()[19] == b'.', "{created}");
        assert_eq!(verified, 0);
        app.stop().await;
    }
}
