//! A team's own table and column names (better-auth's `modelName`, `fields`,
//! `additionalFields`): the seed's schema, served end to end on both databases.

use std::collections::BTreeMap;

use serde_json::json;

use authkeep::config::{AdditionalFieldConfig, Casing, Config};
use authkeep::model::FieldType;

use crate::helpers::{Db, PASSWORD, TestApp, TestDb};
use crate::on_both_databases;

fn names(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// The seed's names: plural tables, snake_case columns, `password_hash`, a `status` column.
pub fn seed(c: &mut Config) {
    c.database.casing = Casing::SnakeCase;
    c.user.model_name = Some("users".into());
    c.session.model_name = Some("user_sessions".into());
    c.account.model_name = Some("accounts".into());
    c.account.fields = names(&[("password", "password_hash")]);
    c.verification.model_name = Some("verifications".into());
    c.user.additional_fields.insert(
        "status".into(),
        AdditionalFieldConfig {
            ty: FieldType::String,
            required: false,
            default_value: Some(json!("active")),
            input: false,
            returned: true,
            field_name: None,
        },
    );
    c.user.additional_fields.insert(
        "nickname".into(),
        AdditionalFieldConfig {
            ty: FieldType::String,
            required: false,
            default_value: None,
            input: true,
            returned: true,
            field_name: Some("nick".into()),
        },
    );
    c.user.additional_fields.insert(
        "tags".into(),
        AdditionalFieldConfig {
            ty: FieldType::StringArray,
            required: false,
            default_value: None,
            input: true,
            returned: true,
            field_name: None,
        },
    );
}

on_both_databases! {
    async fn the_seeds_names_are_served_end_to_end(db: Db) {
        let app = TestApp::spawn_with(db, seed).await;
        let mut c = app.client();
        let r = c.post("/sign-up/email", json!({
            "name": "Seed", "email": "seed@example.com", "password": PASSWORD,
            "nickname": "sid", "tags": ["a", "b"], "status": "admin",
        })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["user"]["status"], "active", "input = false: the default, not the client's value");
        assert_eq!((r.json["user"]["nickname"].clone(), r.json["user"]["tags"].clone()), (json!("sid"), json!(["a", "b"])));
        let me = c.get("/get-session").await.json;
        assert_eq!(me["user"]["status"], "active");
        assert_eq!(me["user"]["tags"], json!(["a", "b"]));
        let claims = {
            let token = c.get("/token").await.json["token"].as_str().unwrap().to_owned();
            let payload = token.split('.').nth(1).unwrap().to_owned();
            use base64::Engine;
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap();
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
        };
        assert_eq!((claims["status"].clone(), claims["nickname"].clone()), (json!("active"), json!("sid")), "additional fields are JWT claims");
        // The rows are where the seed's own code looks for them.
        app.sql(
            r#"select u."status", s."user_id" from "user_sessions" s join "users" u on u."id" = s."user_id" where u."email_verified" = 0"#,
            r#"select u."status", s."user_id" from "user_sessions" s join "users" u on u."id" = s."user_id" where u."email_verified" = false and s."expires_at" > now()"#,
        ).await;
        assert_eq!(app.count("users").await, 1);
        assert_eq!(app.count("accounts").await, 1);
        assert_eq!(app.count_where("accounts", "provider_id", "credential").await, 1);
        // update-user takes input fields, refuses the others, checks types.
        let r = c.post("/update-user", json!({"nickname": "Sid", "tags": ["c"]})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(c.get("/get-session").await.json["user"]["nickname"], "Sid");
        let r = c.post("/update-user", json!({"status": "banned"})).await;
        assert_eq!((r.status, r.json.clone()), (400, json!({"message": "status is not allowed to be set", "code": "FIELD_NOT_ALLOWED"})));
        let r = c.post("/update-user", json!({"nickname": 5})).await;
        assert_eq!((r.status, r.json["message"].clone()), (400, json!("[body.nickname] Invalid input: expected string, received number")));
        let r = c.post("/update-user", json!({"tags": "notarray"})).await;
        assert_eq!(r.json["message"], "[body.tags] Invalid input: expected array, received string");
        // Sign-out, sign-in, password change through the mapped tables.
        assert_eq!(c.post("/sign-out", json!({})).await.status, 200);
        assert_eq!(app.count("user_sessions").await, 0);
        let r = c.sign_in("seed@example.com", PASSWORD).await;
        assert_eq!((r.status, r.json["user"]["status"].clone()), (200, json!("active")));
        let r = c.post("/change-password", json!({"currentPassword": PASSWORD, "newPassword": "new-password-9"})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(app.client().sign_in("seed@example.com", "new-password-9").await.status, 200);
        // The schema is complete: nothing left to migrate.
        let plan = app.store.plan_migration().await.unwrap();
        assert!(plan.is_empty(), "{plan:?}");
        app.stop().await;
    }

    async fn required_fields_and_defaults_follow_better_auth(db: Db) {
        let app = TestApp::spawn_with(db, |c| {
            c.user.additional_fields.insert(
                "plan".into(),
                AdditionalFieldConfig { ty: FieldType::String, required: true, default_value: None, input: true, returned: true, field_name: None },
            );
            c.user.additional_fields.insert(
                "secret_note".into(),
                AdditionalFieldConfig { ty: FieldType::String, required: false, default_value: None, input: true, returned: false, field_name: None },
            );
        })
        .await;
        let mut c = app.client();
        let r = c.post("/sign-up/email", json!({"name": "R", "email": "req@example.com", "password": PASSWORD})).await;
        assert_eq!((r.status, r.json.clone()), (400, json!({"message": "plan is required", "code": "MISSING_FIELD"})));
        assert_eq!(app.count("user").await, 0);
        let r = c.post("/sign-up/email", json!({"name": "R", "email": "req@example.com", "password": PASSWORD, "plan": "pro", "secret_note": "x"})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["user"]["plan"], "pro");
        assert!(r.json["user"].get("secret_note").is_none(), "returned = false stays out of answers");
        assert!(c.get("/get-session").await.json["user"].get("secret_note").is_none());
        assert_eq!(app.count_where("user", "secret_note", "x").await, 1, "but it is stored");
        app.stop().await;
    }

    async fn an_existing_mapped_database_is_adopted_untouched(db: Db) {
        // The seed's tables as its own migrations made them: extra columns, other types.
        let test_db = TestDb::new(db).await;
        let ddl = match db {
            Db::Sqlite => r#"
                create table "users" ("id" text primary key, "name" text not null, "email" text not null unique, "email_verified" integer not null default 0, "image" text, "created_at" text not null, "updated_at" text not null, "status" text default 'active', "legacy_flag" integer);
                create table "user_sessions" ("id" text primary key, "expires_at" text not null, "token" text not null unique, "created_at" text not null, "updated_at" text not null, "ip_address" text, "user_agent" text, "user_id" text not null references "users" ("id") on delete cascade);"#,
            Db::Postgres => r#"
                create table "users" ("id" varchar(64) primary key, "name" text not null, "email" varchar(255) not null unique, "email_verified" boolean not null default false, "image" text, "created_at" timestamp not null, "updated_at" timestamp not null, "status" text default 'active', "legacy_flag" integer);
                create table "user_sessions" ("id" text primary key, "expires_at" timestamp not null, "token" text not null unique, "created_at" timestamp not null, "updated_at" timestamp not null, "ip_address" text, "user_agent" text, "user_id" varchar(64) not null references "users" ("id") on delete cascade);"#,
        };
        let setup = authkeep::store::Store::connect(&test_db.url, &authkeep::store::PoolSettings::with_max(1), authkeep::store::schema::Schema::default_names()).unwrap();
        match setup.pool() {
            authkeep::store::Pool::Sqlite(p) => { sqlx::raw_sql(sqlx::AssertSqlSafe(ddl.to_owned())).execute(p).await.unwrap(); }
            authkeep::store::Pool::Postgres(p) => { sqlx::raw_sql(sqlx::AssertSqlSafe(ddl.to_owned())).execute(p).await.unwrap(); }
        }
        setup.close().await;
        let app = TestApp::spawn_on(test_db, |c| {
            seed(c);
            c.user.additional_fields.remove("nickname");
            c.user.additional_fields.remove("tags");
        })
        .await;
        // Existing tables keep their shape; only the missing ones were created.
        assert_eq!(app.count("accounts").await, 0);
        assert_eq!(app.count("verifications").await, 0);
        let mut c = app.client();
        let r = c.sign_up("adopt@example.com").await;
        assert_eq!(r.json["user"]["status"], "active");
        let me = c.get("/get-session").await.json;
        assert_eq!(me["user"]["email"], "adopt@example.com", "timestamp columns without a time zone are read too");
        let plan = app.store.plan_migration().await.unwrap();
        assert!(plan.changes.is_empty(), "{plan:?}");
        assert!(plan.warnings.is_empty(), "varchar and timestamp columns fit: {:?}", plan.warnings);
        app.stop().await;
    }
}

#[tokio::test]
async fn unsafe_names_stop_the_server_at_start_up() {
    let db = TestDb::new(Db::Sqlite).await;
    let mut cfg = crate::helpers::test_config(&db.url);
    cfg.user.model_name = Some(r#"users"; drop table x; --"#.into());
    let e = authkeep::serve::prepare(&cfg).await.unwrap_err();
    let shown = format!("{e:#}");
    assert!(
        shown.contains("user.model_name") && shown.contains("not a plain SQL identifier"),
        "{shown}"
    );
    let mut cfg = crate::helpers::test_config(&db.url);
    cfg.session.fields = names(&[("userID", "user_id")]);
    let shown = format!("{:#}", authkeep::serve::prepare(&cfg).await.unwrap_err());
    assert!(
        shown.contains("userID") && shown.contains("userId"),
        "a misspelt field is named with the real ones: {shown}"
    );
}
