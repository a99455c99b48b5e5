use serde_json::json;

use crate::helpers::{Db, PASSWORD, TestApp};
use crate::on_both_databases;

on_both_databases! {
    async fn update_user_changes_name_and_image(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        c.sign_up("pat@example.com").await;
        let r = c.post("/update-user", json!({"name": "Pat", "image": "https://img.example/p.png", "emailVerified": true})).await;
        assert_eq!((r.status, r.json.clone()), (200, json!({"status": true})));
        assert!(r.cookie("better-auth.session_token").is_some(), "better-auth re-sets the session cookie");
        let user = c.get("/get-session").await.json["user"].clone();
        assert_eq!((user["name"].clone(), user["image"].clone()), (json!("Pat"), json!("https://img.example/p.png")));
        assert_eq!(user["emailVerified"], false, "emailVerified is not user-settable");
        assert!(user["updatedAt"] != user["createdAt"] || user["updatedAt"].is_string());
        c.post("/update-user", json!({"image": null})).await;
        assert!(c.get("/get-session").await.json["user"]["image"].is_null());

        let r = c.post("/update-user", json!({})).await;
        assert_eq!((r.status, r.json.clone()), (400, json!({"message": "No fields to update"})));
        let r = c.post("/update-user", json!({"email": "new@example.com"})).await;
        assert_eq!((r.status, r.code()), (400, "EMAIL_CAN_NOT_BE_UPDATED"));
        let r = c.post("/update-user", json!([1])).await;
        assert_eq!(r.json["message"], "[body] Invalid input: expected record, received array");
        let r = c.post("/update-user", json!({"name": 5})).await;
        assert_eq!(r.json["message"], "[body.name] Invalid input: expected string, received number");
        let r = app.client().post("/update-user", json!({"name": "x"})).await;
        assert_eq!((r.status, r.json.clone()), (401, json!({"message": "Unauthorized", "code": "UNAUTHORIZED"})));
        app.stop().await;
    }

    async fn change_password_checks_the_current_one(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        c.sign_up("quin@example.com").await;
        let r = c.post("/change-password", json!({"currentPassword": "wrong-password", "newPassword": "new-password-1"})).await;
        assert_eq!((r.status, r.code()), (400, "INVALID_PASSWORD"));
        let r = c.post("/change-password", json!({"currentPassword": PASSWORD, "newPassword": "short"})).await;
        assert_eq!((r.status, r.code()), (400, "PASSWORD_TOO_SHORT"));
        let r = c.post("/change-password", json!({})).await;
        assert_eq!(r.json["message"], "[body.newPassword] Invalid input: expected string, received undefined; [body.currentPassword] Invalid input: expected string, received undefined");
        let r = c.post("/change-password", json!({"currentPassword": PASSWORD, "newPassword": "new-password-1"})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.json["token"].is_null());
        assert_eq!(r.json["user"]["email"], "quin@example.com");
        assert_eq!(app.client().sign_in("quin@example.com", PASSWORD).await.status, 401);
        assert_eq!(app.client().sign_in("quin@example.com", "new-password-1").await.status, 200);
        app.stop().await;
    }

    async fn change_password_can_revoke_other_sessions(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut a = app.client();
        a.sign_up("rae@example.com").await;
        let mut b = app.client();
        b.sign_in("rae@example.com", PASSWORD).await;
        let r = a.post("/change-password", json!({"currentPassword": PASSWORD, "newPassword": "new-password-2", "revokeOtherSessions": true})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let token = r.json["token"].as_str().expect("a new session token").to_owned();
        assert!(r.cookie("better-auth.session_token").unwrap().contains(&token));
        assert_eq!(a.get("/get-session").await.json["session"]["token"], token.as_str());
        assert_eq!(b.get("/get-session").await.text, "null");
        assert_eq!(app.count("session").await, 1);
        app.stop().await;
    }

    async fn delete_user_is_off_unless_enabled(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        c.sign_up("sam@example.com").await;
        let r = c.post("/delete-user", json!({"password": PASSWORD})).await;
        assert_eq!((r.status, r.text.as_str()), (404, ""));
        assert_eq!(app.count("user").await, 1);
        app.stop().await;
    }

    async fn delete_user_with_password_or_fresh_session(db: Db) {
        let app = TestApp::spawn_with(db, |c| c.user.delete_user = true).await;
        let mut c = app.client();
        c.sign_up("tia@example.com").await;
        let r = c.post("/delete-user", json!({"password": "wrong-password"})).await;
        assert_eq!((r.status, r.code()), (400, "INVALID_PASSWORD"));
        let r = c.post("/delete-user", json!({"password": PASSWORD})).await;
        assert_eq!((r.status, r.json.clone()), (200, json!({"success": true, "message": "User deleted"})));
        assert_eq!(r.set_cookies.len(), 3);
        assert_eq!((app.count("user").await, app.count("account").await, app.count("session").await), (0, 0, 0));

        // Without a password, only a fresh session may delete.
        let mut d = app.client();
        d.sign_up("uma@example.com").await;
        app.age_sessions("uma@example.com", "createdAt", 25).await;
        let r = d.post("/delete-user", json!({})).await;
        assert_eq!((r.status, r.code()), (400, "SESSION_EXPIRED"));
        let mut e = app.client();
        e.sign_in("uma@example.com", PASSWORD).await;
        let r = e.post("/delete-user", json!({})).await;
        assert_eq!(r.status, 200);
        assert_eq!(app.count("user").await, 0);
        app.stop().await;
    }
}

on_both_databases! {
    async fn accounts_password_check_and_session_update(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        let user_id = c.sign_up("val@example.com").await.json["user"]["id"].as_str().unwrap().to_owned();
        let r = c.get("/list-accounts").await;
        assert_eq!(r.status, 200);
        let accounts = r.json.as_array().unwrap();
        assert_eq!(accounts.len(), 1);
        assert_eq!(accounts[0]["providerId"], "credential");
        assert_eq!(accounts[0]["accountId"], user_id.as_str());
        assert_eq!(accounts[0]["scopes"], json!([]));
        assert!(accounts[0].get("password").is_none(), "never exposes the hash");

        assert_eq!(c.post("/verify-password", json!({"password": PASSWORD})).await.json, json!({"status": true}));
        let r = c.post("/verify-password", json!({"password": "wrong-password"})).await;
        assert_eq!((r.status, r.code()), (400, "INVALID_PASSWORD"));
        let r = c.post("/update-session", json!({"foo": 1})).await;
        assert_eq!((r.status, r.json.clone()), (400, json!({"message": "No fields to update"})));
        let r = app.client().get("/list-accounts").await;
        assert_eq!(r.status, 401);
        app.stop().await;
    }
}
