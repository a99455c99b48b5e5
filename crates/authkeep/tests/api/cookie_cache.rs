//! The session cookie cache (`[session.cookie_cache]`): `session_data` is set with the session
//! cookie, `get-session` answers from it without the database while it is valid, and anything
//! doubtful (bypass, tampering, another session, sign-out) goes back to the database.

use authkeep::config::CookieCacheStrategy;
use serde_json::json;

use crate::helpers::{Db, TestApp};
use crate::on_both_databases;

const DATA: &str = "better-auth.session_data";

fn cached(strategy: CookieCacheStrategy) -> impl FnOnce(&mut authkeep::config::Config) {
    move |c| {
        c.session.cookie_cache.enabled = true;
        c.session.cookie_cache.strategy = strategy;
    }
}

on_both_databases! {
    async fn get_session_is_served_from_the_cookie_while_it_is_valid(db: Db) {
        for strategy in [CookieCacheStrategy::Compact, CookieCacheStrategy::Jwt, CookieCacheStrategy::Jwe] {
            let app = TestApp::spawn_with(db, cached(strategy)).await;
            let mut c = app.client();
            let r = c.sign_up("cache@example.com").await;
            let data = r.cookie(DATA).unwrap_or_else(|| panic!("{strategy:?}: {:?}", r.set_cookies));
            assert!(data.ends_with("; Max-Age=300; Path=/; HttpOnly; SameSite=Lax"), "{data}");
            let from_db = c.get("/get-session?disableCookieCache=true").await;
            assert_eq!(from_db.json["user"]["email"], "cache@example.com");

            // The row goes away behind the cache's back: the cookie still answers, as
            // better-auth's does (that is the revocation lag the cache trades for speed)...
            app.sql(r#"DELETE FROM "session""#, r#"DELETE FROM "session""#).await;
            let r = c.get("/get-session").await;
            assert_eq!(r.json, from_db.json, "{strategy:?}");
            assert!(r.set_cookies.is_empty(), "{:?}", r.set_cookies);
            // ...unless the caller asks for the database.
            let r = c.get("/get-session?disableCookieCache=true").await;
            assert_eq!(r.text, "null");
            app.stop().await;
        }
    }

    async fn a_tampered_or_foreign_cache_falls_back_to_the_database(db: Db) {
        let app = TestApp::spawn_with(db, cached(CookieCacheStrategy::Compact)).await;
        let mut a = app.client();
        a.sign_up("first@example.com").await;
        let mut b = app.client();
        b.sign_up("second@example.com").await;

        // Another user's valid entry under my session cookie: ignored, expired, database used.
        let mut mixed = a.cookies.clone();
        mixed.insert(DATA.into(), b.cookies[DATA].clone());
        a.cookies = mixed;
        let r = a.get("/get-session").await;
        assert_eq!(r.json["user"]["email"], "first@example.com");
        assert!(
            r.set_cookies.iter().any(|c| c.starts_with(&format!("{DATA}=; Max-Age=0"))),
            "{:?}",
            r.set_cookies
        );

        // A forged entry (right shape, wrong signature) is never believed.
        let forged = a.cookies[DATA].replace('A', "B");
        a.cookies.insert(DATA.into(), forged);
        app.sql(r#"UPDATE "user" SET "name" = 'Renamed'"#, r#"UPDATE "user" SET "name" = 'Renamed'"#).await;
        let r = a.get("/get-session").await;
        assert_eq!(r.json["user"]["name"], "Renamed");
        // The database answer re-issues a good entry (after expiring the bad one, as
        // better-auth does), which is used next.
        let fresh = r
            .set_cookies
            .iter()
            .rfind(|c| c.starts_with(&format!("{DATA}=")))
            .expect("a new entry");
        assert!(fresh.contains("Max-Age=300"));
        app.sql(r#"UPDATE "user" SET "name" = 'Again'"#, r#"UPDATE "user" SET "name" = 'Again'"#).await;
        assert_eq!(a.get("/get-session").await.json["user"]["name"], "Renamed");
        app.stop().await;
    }

    async fn sign_out_and_revocation_clear_the_cache(db: Db) {
        let app = TestApp::spawn_with(db, cached(CookieCacheStrategy::Jwe)).await;
        let mut c = app.client();
        c.sign_up("leave@example.com").await;
        let r = c.post("/sign-out", json!({})).await;
        assert!(r.set_cookies.iter().any(|s| s.starts_with(&format!("{DATA}=; Max-Age=0"))), "{:?}", r.set_cookies);
        assert!(!c.cookies.contains_key(DATA));
        assert_eq!(c.get("/get-session").await.text, "null");

        c.sign_in("leave@example.com", crate::helpers::PASSWORD).await;
        let token = c.get("/get-session").await.json["session"]["token"].as_str().unwrap().to_owned();
        let r = c.post("/revoke-session", json!({ "token": token })).await;
        assert_eq!(r.json, json!({"status": true}));
        assert!(!c.cookies.contains_key(DATA), "revoking the own session clears its cookies");

        c.sign_in("leave@example.com", crate::helpers::PASSWORD).await;
        c.post("/revoke-sessions", json!({})).await;
        assert!(!c.cookies.contains_key(DATA));
        app.stop().await;
    }

    async fn update_user_refreshes_the_cached_user(db: Db) {
        let app = TestApp::spawn_with(db, cached(CookieCacheStrategy::Jwt)).await;
        let mut c = app.client();
        c.sign_up("edit@example.com").await;
        let r = c.post("/update-user", json!({ "name": "New Name" })).await;
        assert_eq!(r.json, json!({"status": true}));
        assert!(r.cookie(DATA).is_some());
        app.sql(r#"DELETE FROM "session""#, r#"DELETE FROM "session""#).await;
        assert_eq!(c.get("/get-session").await.json["user"]["name"], "New Name");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_dont_remember_session_gets_a_browser_session_entry() {
    let app = TestApp::spawn_with(Db::Sqlite, cached(CookieCacheStrategy::Compact)).await;
    let mut c = app.client();
    c.sign_up("brief@example.com").await;
    c.post("/sign-out", json!({})).await;
    let r = c
        .post(
            "/sign-in/email",
            json!({ "email": "brief@example.com", "password": crate::helpers::PASSWORD, "rememberMe": false }),
        )
        .await;
    let data = r.cookie(DATA).expect("entry");
    assert!(!data.contains("Max-Age"), "{data}");
    app.stop().await;
}

#[tokio::test]
async fn without_the_cache_a_stale_entry_is_expired_and_ignored() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let mut c = app.client();
    let r = c.sign_up("plain@example.com").await;
    assert!(r.cookie(DATA).is_none());
    c.cookies.insert(DATA.into(), "whatever".into());
    let r = c.get("/get-session").await;
    assert_eq!(r.json["user"]["email"], "plain@example.com");
    assert!(
        r.set_cookies
            .iter()
            .any(|s| s.starts_with(&format!("{DATA}=; Max-Age=0")))
    );
    app.stop().await;
}

#[tokio::test]
async fn a_large_session_is_split_into_chunks_and_read_back() {
    let app = TestApp::spawn_with(Db::Sqlite, cached(CookieCacheStrategy::Compact)).await;
    let mut c = app.client();
    // 2000 characters (the limit is 2048) of three bytes each: about 6 KB of JSON.
    let image = format!("https://img.example.com/{}", "€".repeat(2000));
    let r = c
        .post(
            "/sign-up/email",
            json!({ "name": "Big", "email": "big@example.com", "password": crate::helpers::PASSWORD, "image": image }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.cookie(DATA).is_none());
    assert!(r.cookie(&format!("{DATA}.0")).is_some() && r.cookie(&format!("{DATA}.1")).is_some());
    for s in &r.set_cookies {
        assert!(s.len() <= 4050, "{}", s.len());
    }
    app.sql(r#"DELETE FROM "session""#, r#"DELETE FROM "session""#)
        .await;
    assert_eq!(
        c.get("/get-session").await.json["user"]["image"],
        image.as_str()
    );
    let r = c.post("/sign-out", json!({})).await;
    assert!(
        r.set_cookies
            .iter()
            .any(|s| s.starts_with(&format!("{DATA}.1=; Max-Age=0")))
    );
    app.stop().await;
}

#[tokio::test]
async fn a_jwt_minted_from_a_cached_entry_expires_with_it() {
    let app = TestApp::spawn_with(Db::Sqlite, cached(CookieCacheStrategy::Compact)).await;
    let mut c = app.client();
    c.sign_up("minted@example.com").await;
    let exp = |r: &crate::helpers::Resp| -> i64 {
        let jwt = r.header("set-auth-jwt").expect("set-auth-jwt");
        let claims = jwt.split('.').nth(1).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, claims)
                .unwrap(),
        )
        .unwrap();
        claims["exp"].as_i64().unwrap()
    };
    let now = chrono::Utc::now().timestamp();
    // From the database: the jwt plugin's 15 minutes.
    let r = c.get("/get-session?disableCookieCache=true").await;
    assert!(exp(&r) >= now + 890, "{}", exp(&r) - now);
    // From the cookie: no longer than the entry (5 minutes), which is all it vouches for.
    let r = c.get("/get-session").await;
    assert!(r.set_cookies.is_empty(), "served from the cache");
    assert!(exp(&r) <= now + 301, "{}", exp(&r) - now);
    app.stop().await;
}
