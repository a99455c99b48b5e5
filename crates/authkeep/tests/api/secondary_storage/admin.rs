//! The admin plugin with sessions in Redis: bans end them there, impersonation sessions carry
//! their marker there.

use serde_json::json;

use super::{Keys, skip_redis, spawn};
use crate::helpers::{Db, PASSWORD};
use crate::on_both_databases;

on_both_databases! {
    async fn bans_and_impersonation_with_sessions_in_redis(db: Db) {
        if skip_redis() { return; }
        let keys = Keys::new();
        let app = spawn(db, &keys, |c| c.admin.enabled = true).await;
        let mut admin = app.client();
        let admin_id = admin.sign_up("ss-admin@example.com").await.json["user"]["id"].as_str().unwrap().to_owned();
        app.sql(
            r#"update "user" set "role" = 'admin' where "email" = 'ss-admin@example.com'"#,
            r#"update "user" set "role" = 'admin' where "email" = 'ss-admin@example.com'"#,
        )
        .await;
        // Entries embed the user as it was when they were written (as better-auth's do): a
        // role set behind the server's back counts from the next sign-in.
        assert_eq!(admin.get("/admin/list-users").await.status, 403);
        let mut admin = app.client();
        assert_eq!(admin.sign_in("ss-admin@example.com", PASSWORD).await.status, 200);
        let mut user = app.client();
        let up = user.sign_up("ss-user@example.com").await.json;
        let uid = up["user"]["id"].as_str().unwrap().to_owned();
        let token = up["token"].as_str().unwrap().to_owned();
        assert_eq!(keys.json(&token)["session"]["impersonatedBy"], json!(null), "the plugin's field in the entry");

        let r = admin.post("/admin/impersonate-user", json!({"userId": uid})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let imp = r.json["session"]["token"].as_str().unwrap().to_owned();
        assert_eq!(keys.json(&imp)["session"]["impersonatedBy"], admin_id.as_str());
        assert_eq!(admin.get("/get-session").await.json["session"]["impersonatedBy"], admin_id.as_str());
        let listed = user.get("/list-sessions").await.json;
        assert_eq!(listed.as_array().unwrap().len(), 1, "the impersonation session is hidden: {listed}");
        let r = admin.post("/admin/list-user-sessions", json!({"userId": uid})).await;
        assert_eq!((r.status, r.code()), (403, "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS"), "while impersonating, the admin is the user");
        let r = admin.post("/admin/stop-impersonating", json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(keys.get(&imp).is_none(), "the impersonation session is gone from Redis");
        let r = admin.post("/admin/list-user-sessions", json!({"userId": uid})).await;
        assert_eq!(r.json["sessions"].as_array().unwrap().len(), 1, "{}", r.text);

        let r = admin.post("/admin/ban-user", json!({"userId": uid})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(user.get("/get-session").await.json, json!(null), "revoked in Redis");
        assert_eq!(user.sign_in("ss-user@example.com", PASSWORD).await.code(), "BANNED_USER");
        assert_eq!(app.count("session").await, 0, "sessions stayed in Redis only");
    }
}
