//! better-auth's admin plugin: impersonation and the admin's `update-user`.
use serde_json::json;

use crate::helpers::*;
use crate::on_both_databases;

async fn admin_app(db: Db) -> TestApp {
    TestApp::spawn_with(db, |c| c.admin.enabled = true).await
}

async fn make_admin(app: &TestApp, email: &str) {
    app.sql(
        &format!(r#"update "user" set "role" = 'admin' where "email" = '{email}'"#),
        &format!(r#"update "user" set "role" = 'admin' where "email" = '{email}'"#),
    )
    .await;
}

async fn signed_up(app: &TestApp, email: &str) -> (Client, String) {
    let mut c = app.client();
    let id = c.sign_up(email).await.json["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (c, id)
}

on_both_databases! {
    async fn impersonation_is_marked_time_limited_and_reversible(db: Db) {
        let app = admin_app(db).await;
        let (mut admin, admin_id) = signed_up(&app, "admin@example.com").await;
        make_admin(&app, "admin@example.com").await;
        let (mut user, user_id) = signed_up(&app, "ursula@example.com").await;
        let admin_cookie = admin.cookies.get("better-auth.session_token").cloned().unwrap();

        let r = user.post("/admin/impersonate-user", json!({"userId": admin_id})).await;
        assert_eq!((r.status, r.code()), (403, "YOU_ARE_NOT_ALLOWED_TO_IMPERSONATE_USERS"));

        let r = admin.post("/admin/impersonate-user", json!({"userId": user_id})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!((r.json["user"]["id"].clone(), r.json["session"]["impersonatedBy"].clone()), (json!(user_id), json!(admin_id)));
        let expires = chrono::DateTime::parse_from_rfc3339(r.json["session"]["expiresAt"].as_str().unwrap()).unwrap();
        let left = expires.signed_duration_since(chrono::Utc::now()).num_seconds();
        assert!((3500..=3600).contains(&left), "one hour: {left}");
        // better-auth expires the old cookies first; the last Set-Cookie of a name wins.
        let last = |name: &str| r.set_cookies.iter().rev().find(|c| c.starts_with(&format!("{name}="))).cloned().unwrap();
        let token_cookie = last("better-auth.session_token");
        assert!(!token_cookie.contains("Max-Age"), "a browser-session cookie: {token_cookie}");
        assert!(!last("better-auth.dont_remember").contains("Max-Age=0"));
        let saved = r.cookie("better-auth.admin_session").unwrap();
        assert!(saved.contains("Max-Age="), "{saved}");
        assert_eq!(admin.get("/get-session").await.json["user"]["email"], "ursula@example.com");
        assert_eq!(app.count_where("session", "impersonatedBy", &admin_id).await, 1);
        // The user does not see the impersonation session in their own list.
        let listed = user.get("/list-sessions").await.json;
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");

        // A forged admin cookie is ignored.
        let mut forged = app.client();
        forged.cookies = admin.cookies.clone();
        forged.cookies.insert("better-auth.admin_session".into(), "someone-elses-token%3A.bad".into());
        let r = forged.post("/admin/stop-impersonating", json!({})).await;
        assert_eq!((r.status, r.json["message"].clone()), (500, json!("Failed to find admin session")));

        let r = admin.post("/admin/stop-impersonating", json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["user"]["id"], admin_id.as_str());
        assert!(r.cookie("better-auth.admin_session").unwrap().contains("Max-Age=0"));
        assert_eq!(admin.cookies.get("better-auth.session_token"), Some(&admin_cookie), "back on the admin's own session");
        assert!(!admin.cookies.contains_key("better-auth.dont_remember"));
        assert_eq!(admin.get("/get-session").await.json["user"]["email"], "admin@example.com");
        assert_eq!(app.count_where("session", "impersonatedBy", &admin_id).await, 0, "the impersonation session is gone");
        let r = admin.post("/admin/stop-impersonating", json!({})).await;
        assert_eq!((r.status, r.json.clone()), (400, json!({"message": "You are not impersonating anyone"})));
        let r = app.client().post("/admin/stop-impersonating", json!({})).await;
        assert_eq!(r.status, 401);
    }

    async fn an_admin_cannot_impersonate_another_admin(db: Db) {
        let app = admin_app(db).await;
        let (mut admin, _) = signed_up(&app, "admin@example.com").await;
        make_admin(&app, "admin@example.com").await;
        let (_, other) = signed_up(&app, "other-admin@example.com").await;
        make_admin(&app, "other-admin@example.com").await;
        let r = admin.post("/admin/impersonate-user", json!({"userId": other})).await;
        assert_eq!((r.status, r.code()), (403, "YOU_CANNOT_IMPERSONATE_ADMINS"));
        let r = admin.post("/admin/impersonate-user", json!({"userId": "nobody"})).await;
        assert_eq!((r.status, r.code()), (404, "USER_NOT_FOUND"));
        assert_eq!(app.count("session").await, 2, "no session was opened");
    }

    async fn admins_update_users_behind_each_permission(db: Db) {
        let app = admin_app(db).await;
        let (mut admin, admin_id) = signed_up(&app, "admin@example.com").await;
        make_admin(&app, "admin@example.com").await;
        let (mut user, user_id) = signed_up(&app, "una@example.com").await;

        let r = user.post("/admin/update-user", json!({"userId": user_id, "data": {"role": "admin"}})).await;
        assert_eq!((r.status, r.code()), (403, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS"), "a user cannot raise their own role");
        let r = admin.post("/admin/update-user", json!({"userId": user_id, "data": {}})).await;
        assert_eq!((r.status, r.code()), (400, "NO_DATA_TO_UPDATE"));
        let r = admin.post("/admin/update-user", json!({"userId": user_id, "data": {"password": "x"}})).await;
        assert_eq!((r.status, r.code()), (400, "PASSWORD_CANNOT_BE_UPDATED_VIA_UPDATE_USER"));
        let r = admin.post("/admin/update-user", json!({"userId": admin_id, "data": {"banned": true}})).await;
        assert_eq!((r.status, r.code()), (400, "YOU_CANNOT_BAN_YOURSELF"));
        let r = admin.post("/admin/update-user", json!({"userId": user_id, "data": {"email": "admin@example.com"}})).await;
        assert_eq!((r.status, r.code()), (400, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"));
        let r = admin.post("/admin/update-user", json!({"userId": user_id, "data": {"role": 5}})).await;
        assert_eq!((r.status, r.code()), (400, "INVALID_ROLE_TYPE"));
        let r = admin.post("/admin/update-user", json!({"userId": "nobody", "data": {"name": "N"}})).await;
        assert_eq!((r.status, r.code()), (404, "USER_NOT_FOUND"));

        let r = admin.post("/admin/update-user", json!({"userId": user_id, "data": {"name": "Una", "email": "Una2@Example.com", "emailVerified": true, "role": ["user", "admin"]}})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!((r.json["name"].clone(), r.json["email"].clone(), r.json["emailVerified"].clone(), r.json["role"].clone()), (json!("Una"), json!("una2@example.com"), json!(true), json!("user,admin")));
        let r = admin.post("/admin/update-user", json!({"userId": user_id, "data": {"banned": true, "banReason": "abuse"}})).await;
        assert_eq!((r.json["banned"].clone(), r.json["banReason"].clone()), (json!(true), json!("abuse")));
        assert_eq!(user.get("/get-session").await.json, json!(null), "banning through update-user ends the sessions");
        assert_eq!(user.sign_in("una2@example.com", PASSWORD).await.code(), "BANNED_USER");
    }
}
