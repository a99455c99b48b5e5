//! Sessions in Redis: keys, values and TTLs through every session operation.

use std::time::{Duration, Instant};

use authkeep::email::Kind;
use serde_json::{Value, json};

use super::{Keys, link, ms, skip_redis, spawn};
use crate::helpers::{Db, PASSWORD};
use crate::on_both_databases;

on_both_databases! {
    async fn sessions_live_in_redis_under_better_auths_keys(db: Db) {
        if skip_redis() { return; }
        let keys = Keys::new();
        let app = spawn(db, &keys, |c| c.user.delete_user = true).await;
        let mut c = app.client();
        let up = c.sign_up("ss-ann@example.com").await.json;
        let token = up["token"].as_str().unwrap().to_owned();
        let uid = up["user"]["id"].as_str().unwrap().to_owned();
        let list_key = format!("active-sessions-{uid}");
        let all = keys.dump();
        assert_eq!(all.keys().cloned().collect::<Vec<_>>(), {
            let mut k = vec![token.clone(), list_key.clone()];
            k.sort();
            k
        });
        assert_eq!(app.count("session").await, 0, "sessions are only in Redis");

        // The entry: better-auth's field order, dates as ISO strings, TTL until expiry.
        let (raw, ttl) = all[&token].clone();
        assert!((604_790..=604_800).contains(&ttl), "{ttl}");
        let entry: Value = serde_json::from_str(&raw).unwrap();
        let session_keys: Vec<&str> = entry["session"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(session_keys, ["id", "ipAddress", "userAgent", "expiresAt", "userId", "token", "createdAt", "updatedAt"]);
        let user_keys: Vec<&str> = entry["user"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(user_keys, ["name", "email", "emailVerified", "image", "createdAt", "updatedAt", "id"]);
        assert_eq!(entry["session"]["token"], token.as_str());
        assert_eq!(entry["user"]["email"], "ss-ann@example.com");
        let (list, list_ttl) = all[&list_key].clone();
        assert_eq!(
            serde_json::from_str::<Value>(&list).unwrap(),
            json!([{ "token": token, "expiresAt": ms(&entry["session"]["expiresAt"]) }])
        );
        assert!((604_790..=604_800).contains(&list_ttl));
        assert_eq!(c.get("/get-session").await.json["session"]["token"], token.as_str());

        // update-user rewrites the user embedded in every session.
        let mut c2 = app.client();
        let second = c2.sign_in("ss-ann@example.com", PASSWORD).await.json["token"].as_str().unwrap().to_owned();
        assert_eq!(c.post("/update-user", json!({"name": "Renamed"})).await.status, 200);
        assert_eq!(keys.json(&token)["user"]["name"], "Renamed");
        assert_eq!(keys.json(&second)["user"]["name"], "Renamed");
        assert_eq!(c2.get("/get-session").await.json["user"]["name"], "Renamed");

        // The list is sorted by expiry and list-sessions reads it.
        let list = keys.json(&list_key);
        assert_eq!(list.as_array().unwrap().len(), 2);
        assert!(list[0]["expiresAt"].as_i64() <= list[1]["expiresAt"].as_i64());
        assert_eq!(c.get("/list-sessions").await.json.as_array().unwrap().len(), 2);

        // revoke-session: the entry goes, and off the list.
        let r = c.post("/revoke-session", json!({"token": second})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(keys.get(&second).is_none());
        assert_eq!(keys.json(&list_key).as_array().unwrap().len(), 1);
        assert_eq!(c2.get("/get-session").await.text, "null");

        // revoke-sessions: better-auth's marker, the entries and the list go.
        let mut c3 = app.client();
        c3.sign_in("ss-ann@example.com", PASSWORD).await;
        let t0 = chrono::Utc::now().timestamp_millis();
        assert_eq!(c.post("/revoke-sessions", json!({})).await.status, 200);
        let all = keys.dump();
        let (before, before_ttl) = all[&format!("revoked-sessions-before-{uid}")].clone();
        let before: i64 = before.parse().unwrap();
        assert!(before >= t0 - 5 && before <= chrono::Utc::now().timestamp_millis(), "{before}");
        assert!(before_ttl > 604_790, "{before_ttl}");
        assert!(!all.contains_key(&token) && !all.contains_key(&list_key), "{all:?}");
        assert_eq!(c3.get("/get-session").await.text, "null");

        // sign-out: the entry and the (now empty) list go.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let mut c4 = app.client();
        let t4 = c4.sign_in("ss-ann@example.com", PASSWORD).await.json["token"].as_str().unwrap().to_owned();
        assert!(keys.get(&t4).is_some());
        assert_eq!(c4.get("/get-session").await.json["session"]["token"], t4.as_str(), "a session after the marker lives");
        assert_eq!(c4.post("/sign-out", json!({})).await.status, 200);
        let all = keys.dump();
        assert!(!all.contains_key(&t4) && !all.contains_key(&list_key), "{all:?}");

        // delete-user: the marker is renewed and the user's sessions end.
        let mut c5 = app.client();
        c5.sign_in("ss-ann@example.com", PASSWORD).await;
        let r = c5.post("/delete-user", json!({"password": PASSWORD})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let after: i64 = keys.get(&format!("revoked-sessions-before-{uid}")).unwrap().0.parse().unwrap();
        assert!(after > before);
        assert_eq!(c5.get("/get-session").await.text, "null");
        assert!(!keys.dump().contains_key(&list_key));
        app.stop().await;
    }

    async fn get_session_refresh_rewrites_the_entry_and_the_list(db: Db) {
        if skip_redis() { return; }
        let keys = Keys::new();
        let app = spawn(db, &keys, |c| c.session.update_age = 0).await;
        let mut c = app.client();
        let up = c.sign_up("ss-ref@example.com").await.json;
        let token = up["token"].as_str().unwrap().to_owned();
        let uid = up["user"]["id"].as_str().unwrap();
        let before = keys.json(&token);
        tokio::time::sleep(Duration::from_millis(20)).await;
        let r = c.get("/get-session").await;
        assert_eq!(r.json["session"]["token"], token.as_str());
        let after = keys.json(&token);
        assert!(ms(&after["session"]["expiresAt"]) > ms(&before["session"]["expiresAt"]));
        assert!(ms(&after["session"]["updatedAt"]) > ms(&before["session"]["updatedAt"]));
        assert_eq!(after["session"]["createdAt"], before["session"]["createdAt"]);
        let keys_order: Vec<&str> = after["session"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys_order[0], "id", "the field order is kept");
        assert_eq!(
            keys.json(&format!("active-sessions-{uid}")),
            json!([{ "token": token, "expiresAt": ms(&after["session"]["expiresAt"]) }])
        );
        app.stop().await;
    }

    async fn store_session_in_database_mirrors_and_falls_back(db: Db) {
        if skip_redis() { return; }
        let keys = Keys::new();
        let app = spawn(db, &keys, |c| c.session.store_session_in_database = true).await;
        let mut c = app.client();
        let token = c.sign_up("ss-db@example.com").await.json["token"].as_str().unwrap().to_owned();
        assert_eq!(app.count("session").await, 1, "mirrored to the database");
        let entry = keys.json(&token);
        let order: Vec<&str> = entry["session"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(order, ["expiresAt", "token", "createdAt", "updatedAt", "ipAddress", "userAgent", "userId", "id"], "the row's order, as better-auth writes it");
        // Without the Redis entry the database answers.
        keys.delete(&token);
        assert_eq!(c.get("/get-session").await.json["session"]["token"], token.as_str());
        // list-sessions reads the database, as better-auth does with the fallback on.
        assert_eq!(c.get("/list-sessions").await.json.as_array().unwrap().len(), 1);
        let mut c2 = app.client();
        c2.sign_in("ss-db@example.com", PASSWORD).await;
        assert_eq!(app.count("session").await, 2);
        assert_eq!(c.post("/revoke-other-sessions", json!({})).await.status, 200);
        assert_eq!(app.count("session").await, 1);
        assert_eq!(c2.get("/get-session").await.text, "null");
        assert_eq!(c.post("/sign-out", json!({})).await.status, 200);
        assert_eq!(app.count("session").await, 0);
        assert!(keys.get(&token).is_none());
        assert_eq!(c.get("/get-session").await.text, "null");
        app.stop().await;
    }

    async fn revoke_other_sessions_keeps_the_current_one(db: Db) {
        if skip_redis() { return; }
        let keys = Keys::new();
        let app = spawn(db, &keys, |_| {}).await;
        let mut c = app.client();
        let up = c.sign_up("ss-other@example.com").await.json;
        let token = up["token"].as_str().unwrap().to_owned();
        let uid = up["user"]["id"].as_str().unwrap();
        let mut c2 = app.client();
        let other = c2.sign_in("ss-other@example.com", PASSWORD).await.json["token"].as_str().unwrap().to_owned();
        assert_eq!(c.post("/revoke-other-sessions", json!({})).await.status, 200);
        assert!(keys.get(&other).is_none());
        assert_eq!(keys.json(&format!("active-sessions-{uid}")).as_array().unwrap().len(), 1);
        assert_eq!(c.get("/get-session").await.json["session"]["token"], token.as_str());
        assert_eq!(c2.get("/get-session").await.text, "null");
        app.stop().await;
    }

    async fn password_changes_and_resets_revoke_through_redis(db: Db) {
        if skip_redis() { return; }
        let keys = Keys::new();
        let app = spawn(db, &keys, |c| c.password_reset.revoke_sessions_on_reset = true).await;
        let mut a = app.client();
        let uid = a.sign_up("ss-pw@example.com").await.json["user"]["id"].as_str().unwrap().to_owned();
        let mut b = app.client();
        b.sign_in("ss-pw@example.com", PASSWORD).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        let r = a.post("/change-password", json!({"currentPassword": PASSWORD, "newPassword": "new-password-2", "revokeOtherSessions": true})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let new_token = r.json["token"].as_str().unwrap().to_owned();
        assert_eq!(b.get("/get-session").await.text, "null", "the other session ended");
        assert_eq!(a.get("/get-session").await.json["session"]["token"], new_token.as_str(), "the new session lives");
        assert!(keys.get(&format!("revoked-sessions-before-{uid}")).is_some());
        assert_eq!(keys.json(&format!("active-sessions-{uid}")).as_array().unwrap().len(), 1);

        // A reset with revoke_sessions_on_reset ends every session; only the newest five links
        // of one address stay valid (authkeep's bound, kept in Redis too).
        tokio::time::sleep(Duration::from_millis(5)).await;
        for _ in 0..6 {
            let r = a.post("/request-password-reset", json!({"email": "ss-pw@example.com", "redirectTo": "/r"})).await;
            assert_eq!(r.status, 200);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while app.mails_to("ss-pw@example.com") < 6 {
            assert!(Instant::now() < deadline, "six reset mails");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let links = keys.dump().into_keys().filter(|k| k.starts_with("verification:reset-password:")).count();
        assert_eq!(links, 5, "{:?}", keys.dump().keys().collect::<Vec<_>>());
        let url = link(&app.mail_to("ss-pw@example.com", Kind::ResetPassword).await);
        let token = url.split("/reset-password/").nth(1).unwrap().split('?').next().unwrap().to_owned();
        let r = app.client().post("/reset-password", json!({"token": token, "newPassword": "reset-password-3"})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(a.get("/get-session").await.text, "null", "the reset ended every session");
        assert_eq!(app.client().sign_in("ss-pw@example.com", "reset-password-3").await.status, 200);
        app.stop().await;
    }

}
