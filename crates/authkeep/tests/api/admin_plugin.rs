//! better-auth's admin plugin over HTTP: the guard, roles, bans, user management, the
//! access-control check, and the schema it adds to an existing database.
use serde_json::json;

use crate::helpers::*;
use crate::on_both_databases;

const BANNED: &str = "You have been banned from this application. Please contact support if you believe this is an error.";

async fn admin_app(db: Db) -> TestApp {
    TestApp::spawn_with(db, |c| c.admin.enabled = true).await
}

/// Signs `email` up and makes them an admin (role `admin`, as an operator would set it).
async fn admin_client(app: &TestApp, email: &str) -> Client {
    let mut c = app.client();
    c.sign_up(email).await;
    app.sql(
        &format!(r#"update "user" set "role" = 'admin' where "email" = '{email}'"#),
        &format!(r#"update "user" set "role" = 'admin' where "email" = '{email}'"#),
    )
    .await;
    c
}

async fn user_id(c: &mut Client) -> String {
    c.get("/get-session").await.json["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

on_both_databases! {
    async fn routes_exist_only_with_the_plugin(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        c.sign_up("off@example.com").await;
        let r = c.get("/admin/list-users").await;
        assert_eq!((r.status, r.text.as_str()), (404, ""));
        let user = c.get("/get-session").await.json["user"].clone();
        assert!(user.get("role").is_none(), "no admin fields without the plugin: {user}");
    }

    async fn only_admins_reach_the_admin_routes(db: Db) {
        let app = admin_app(db).await;
        let mut anon = app.client();
        let r = anon.get("/admin/list-users").await;
        assert_eq!((r.status, r.text.as_str()), (401, ""), "no session");
        let r = anon.post("/admin/ban-user", json!({"userId": "x"})).await;
        assert_eq!(r.status, 401);

        let mut user = app.client();
        let signed = user.sign_up("mallory@example.com").await;
        let me = &signed.json["user"];
        assert_eq!((me["role"].clone(), me["banned"].clone()), (json!("user"), json!(false)), "sign-up sets the default role");
        let id = me["id"].as_str().unwrap().to_owned();
        for (method, path, body, code) in [
            ("GET", "/admin/list-users", None, "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS"),
            ("POST", "/admin/set-role", Some(json!({"userId": id, "role": "admin"})), "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE"),
            ("POST", "/admin/ban-user", Some(json!({"userId": id})), "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS"),
            ("POST", "/admin/remove-user", Some(json!({"userId": id})), "YOU_ARE_NOT_ALLOWED_TO_DELETE_USERS"),
            ("POST", "/admin/create-user", Some(json!({"email": "x@example.com", "name": "X", "password": PASSWORD})), "YOU_ARE_NOT_ALLOWED_TO_CREATE_USERS"),
            ("POST", "/admin/set-user-password", Some(json!({"userId": id, "newPassword": "another-password"})), "YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PASSWORD"),
            ("POST", "/admin/list-user-sessions", Some(json!({"userId": id})), "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS"),
            ("POST", "/admin/revoke-user-sessions", Some(json!({"userId": id})), "YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS"),
        ] {
            let r = user.send(method, path, body.as_ref(), &[]).await;
            assert_eq!((r.status, r.code()), (403, code), "{path}: {}", r.text);
        }
        // Setting one's own role through the core routes: `role` is input: false.
        let r = user.post("/update-user", json!({"role": "admin"})).await;
        assert_eq!((r.status, r.code()), (400, "FIELD_NOT_ALLOWED"), "{}", r.text);
        assert_eq!(r.json["message"], "role is not allowed to be set");
        let r = app.client().post("/sign-up/email", json!({"name": "E", "email": "eve@example.com", "password": PASSWORD, "role": "admin"})).await;
        assert_eq!((r.status, r.code()), (400, "FIELD_NOT_ALLOWED"), "{}", r.text);
        let r = user.post("/update-user", json!({"banned": false, "name": "M"})).await;
        assert_eq!(r.status, 200, "banned has a default: better-auth ignores it");
        assert_eq!(user.get("/get-session").await.json["user"]["role"], "user");
        let r = user.post("/admin/has-permission", json!({"permissions": {"user": ["ban"]}})).await;
        assert_eq!(r.json, json!({"error": null, "success": false}));
    }

    async fn admin_user_ids_are_admins_whatever_their_role(db: Db) {
        let probe = TestApp::spawn_with(db, |c| c.admin.enabled = true).await;
        let mut c = probe.client();
        let id = c.sign_up("root@example.com").await.json["user"]["id"].as_str().unwrap().to_owned();
        let app = TestApp::spawn_on_store(&probe, |c| {
            c.admin.enabled = true;
            c.admin.admin_user_ids = vec![id.clone()];
        })
        .await;
        let mut c2 = app.client();
        c2.cookies = c.cookies.clone();
        let r = c2.get("/admin/list-users").await;
        assert_eq!((r.status, r.json["total"].clone()), (200, json!(1)), "{}", r.text);
        let r = c2.post("/admin/has-permission", json!({"permissions": {"user": ["impersonate-admins"]}})).await;
        assert_eq!(r.json["success"], true);
    }

    async fn bans_end_sessions_and_refuse_sign_in_until_lifted(db: Db) {
        let app = admin_app(db).await;
        let mut admin = admin_client(&app, "admin@example.com").await;
        let admin_id = user_id(&mut admin).await;
        let mut user = app.client();
        let id = user.sign_up("bob@example.com").await.json["user"]["id"].as_str().unwrap().to_owned();

        let r = admin.post("/admin/ban-user", json!({"userId": admin_id})).await;
        assert_eq!((r.status, r.code()), (400, "YOU_CANNOT_BAN_YOURSELF"));
        let r = admin.post("/admin/ban-user", json!({"userId": "nobody"})).await;
        assert_eq!((r.status, r.code()), (404, "USER_NOT_FOUND"));

        let r = admin.post("/admin/ban-user", json!({"userId": id, "banReason": "spam"})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let u = &r.json["user"];
        assert_eq!((u["banned"].clone(), u["banReason"].clone(), u["banExpires"].clone()), (json!(true), json!("spam"), json!(null)));
        assert_eq!(user.get("/get-session").await.json, json!(null), "the existing session is revoked");
        let r = user.sign_in("bob@example.com", PASSWORD).await;
        assert_eq!((r.status, r.code(), r.json["message"].as_str().unwrap()), (403, "BANNED_USER", BANNED));
        assert!(r.cookie("better-auth.session_token").is_none());
        assert_eq!(app.count_where("session", "userId", &id).await, 0);

        let r = admin.post("/admin/unban-user", json!({"userId": id})).await;
        assert_eq!((r.json["user"]["banned"].clone(), r.json["user"]["banReason"].clone()), (json!(false), json!(null)));
        assert_eq!(user.sign_in("bob@example.com", PASSWORD).await.status, 200);

        // A ban that has run out lifts itself at the next sign-in.
        let r = admin.post("/admin/ban-user", json!({"userId": id, "banExpiresIn": 1})).await;
        assert!(r.json["user"]["banExpires"].is_string(), "{}", r.text);
        assert_eq!(r.json["user"]["banReason"], "No reason");
        assert_eq!(user.sign_in("bob@example.com", PASSWORD).await.status, 403);
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let r = user.sign_in("bob@example.com", PASSWORD).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = admin.get(&format!("/admin/get-user?id={id}")).await;
        assert_eq!((r.json["banned"].clone(), r.json["banExpires"].clone()), (json!(false), json!(null)));
    }

    async fn admins_manage_users(db: Db) {
        let app = admin_app(db).await;
        let mut admin = admin_client(&app, "admin@example.com").await;
        let r = admin.post("/admin/create-user", json!({"email": "Carol@Example.com", "name": "Carol", "password": PASSWORD, "role": ["user", "admin"]})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let carol = r.json["user"].clone();
        assert_eq!((carol["email"].clone(), carol["role"].clone()), (json!("carol@example.com"), json!("user,admin")));
        let carol_id = carol["id"].as_str().unwrap().to_owned();
        let r = admin.post("/admin/create-user", json!({"email": "carol@example.com", "name": "C"})).await;
        assert_eq!((r.status, r.code()), (400, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"));
        let r = admin.post("/admin/create-user", json!({"email": "dave@example.com", "name": "Dave"})).await;
        assert_eq!(r.json["user"]["role"], "user", "no role: the default role");
        let dave_id = r.json["user"]["id"].as_str().unwrap().to_owned();
        assert_eq!(app.count_where("account", "userId", &dave_id).await, 0, "no password: no credential account");

        let mut carol_c = app.client();
        assert_eq!(carol_c.sign_in("carol@example.com", PASSWORD).await.status, 200);

        // Listing: search, sort, page.
        let r = admin.get("/admin/list-users").await;
        assert_eq!(r.json["total"], 3);
        assert!(r.json.get("limit").is_none(), "{}", r.json);
        let r = admin.get("/admin/list-users?searchValue=car&searchField=email").await;
        assert_eq!((r.json["total"].clone(), r.json["users"][0]["id"].clone()), (json!(1), json!(carol_id)));
        let r = admin.get("/admin/list-users?searchValue=Da&searchField=name&searchOperator=starts_with").await;
        assert_eq!(r.json["total"], 1);
        let r = admin.get("/admin/list-users?sortBy=email&sortDirection=desc&limit=2&offset=1").await;
        let emails: Vec<_> = r.json["users"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap().to_owned()).collect();
        assert_eq!(emails, ["carol@example.com", "admin@example.com"]);
        assert_eq!((r.json["total"].clone(), r.json["limit"].clone(), r.json["offset"].clone()), (json!(3), json!(2), json!(1)));
        let r = admin.get("/admin/list-users?filterField=role&filterValue=admin").await;
        assert_eq!(r.json["total"], 1, "{}", r.json);
        let r = admin.get("/admin/list-users?sortBy=nope").await;
        assert_eq!(r.json, json!({"users": [], "total": 0}), "an unknown field: better-auth's empty answer");
        let r = admin.get("/admin/list-users?searchField=phone&searchValue=x").await;
        assert_eq!((r.status, r.code()), (400, "VALIDATION_ERROR"));

        let r = admin.post("/admin/set-role", json!({"userId": dave_id, "role": "admin"})).await;
        assert_eq!(r.json["user"]["role"], "admin");
        let r = admin.post("/admin/set-role", json!({"userId": "nobody", "role": "admin"})).await;
        assert_eq!((r.status, r.code()), (404, "USER_NOT_FOUND"));

        let r = admin.post("/admin/list-user-sessions", json!({"userId": carol_id})).await;
        let sessions = r.json["sessions"].as_array().unwrap().clone();
        assert_eq!(sessions.len(), 1);
        let token = sessions[0]["token"].as_str().unwrap().to_owned();
        let r = admin.post("/admin/revoke-user-session", json!({"sessionToken": token})).await;
        assert_eq!(r.json, json!({"success": true}));
        assert_eq!(carol_c.get("/get-session").await.json, json!(null));

        let r = admin.post("/admin/set-user-password", json!({"userId": dave_id, "newPassword": "short"})).await;
        assert_eq!((r.status, r.code()), (400, "PASSWORD_TOO_SHORT"));
        let r = admin.post("/admin/set-user-password", json!({"userId": dave_id, "newPassword": "dave-new-password"})).await;
        assert_eq!(r.json, json!({"status": true}));
        let mut dave = app.client();
        assert_eq!(dave.sign_in("dave@example.com", "dave-new-password").await.status, 200);
        let r = admin.post("/admin/revoke-user-sessions", json!({"userId": dave_id})).await;
        assert_eq!(r.json, json!({"success": true}));
        assert_eq!(dave.get("/get-session").await.json, json!(null));

        let me = user_id(&mut admin).await;
        let r = admin.post("/admin/remove-user", json!({"userId": me})).await;
        assert_eq!((r.status, r.code()), (400, "YOU_CANNOT_REMOVE_YOURSELF"));
        let r = admin.post("/admin/remove-user", json!({"userId": dave_id})).await;
        assert_eq!(r.json, json!({"success": true}));
        assert_eq!(admin.get(&format!("/admin/get-user?id={dave_id}")).await.status, 404);

        let r = admin.post("/admin/has-permission", json!({"permissions": {"user": ["ban", "list"], "session": ["revoke"]}})).await;
        assert_eq!(r.json, json!({"error": null, "success": true}));
        let r = admin.post("/admin/has-permission", json!({"permissions": {"user": ["impersonate-admins"]}})).await;
        assert_eq!(r.json["success"], false, "the admin role may not impersonate admins");
        let r = admin.post("/admin/has-permission", json!({"permission": {"user": ["ban"]}})).await;
        assert_eq!((r.status, r.json["message"].clone()), (400, json!("invalid permission check. no permission(s) were passed.")));
    }

    async fn the_plugin_adds_its_columns_to_an_existing_database(db: Db) {
        let before = TestApp::spawn(db).await;
        let mut c = before.client();
        c.sign_up("old@example.com").await;
        let app = TestApp::spawn_on_store(&before, |c| c.admin.enabled = true).await;
        let mut c2 = app.client();
        c2.cookies = c.cookies.clone();
        let user = c2.get("/get-session").await.json["user"].clone();
        assert_eq!(user["email"], "old@example.com", "data kept, session still valid");
        assert_eq!((user["role"].clone(), user["banned"].clone()), (json!(null), json!(false)));
        assert_eq!(app.count_where("session", "impersonatedBy", "x").await, 0, "session.impersonatedBy exists");
    }
}

on_both_databases! {
    async fn a_banned_user_is_refused_at_the_social_callback(db: Db) {
        let idp = crate::idp::Idp::start().await;
        let app = crate::social::spawn(db, &idp, |c| c.admin.enabled = true).await;
        let mut browser = app.client();
        let body = json!({"callbackURL": "/dashboard", "errorCallbackURL": "/err"});
        let r = crate::social::sign_in(&mut browser, &idp, "google", body.clone()).await;
        assert_eq!(r.status, 302, "{}", r.text);
        let email = browser.get("/get-session").await.json["user"]["email"].as_str().unwrap().to_owned();
        app.sql(
            &format!(r#"update "user" set "banned" = 1 where "email" = '{email}'"#),
            &format!(r#"update "user" set "banned" = true where "email" = '{email}'"#),
        )
        .await;
        let mut again = app.client();
        let r = crate::social::sign_in(&mut again, &idp, "google", body).await;
        assert_eq!(r.status, 302, "{}", r.text);
        let location = r.header("location").unwrap();
        assert!(location.starts_with("/err?error=BANNED_USER&error_description=You+have+been+banned"), "{location}");
        assert!(!again.cookies.contains_key("better-auth.session_token"));
    }
}
