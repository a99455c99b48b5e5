//! The plugin's schema on an existing database, and under a deployment's own names.

use serde_json::json;

use super::*;
use crate::helpers::{Db, PASSWORD, TestApp};
use crate::on_both_databases;

on_both_databases! {
    async fn turning_the_plugin_on_adds_its_schema_and_keeps_the_data(db: Db) {
        let before = TestApp::spawn(db).await;
        let mut c = before.client();
        c.sign_up("old@example.com").await;
        assert_eq!(before.count("user").await, 1);
        let after = TestApp::spawn_on_store(&before, |c| c.two_factor.enabled = true).await;
        assert_eq!(after.count("user").await, 1);
        assert_eq!(after.count("twoFactor").await, 0);
        // The existing session and user are served, now with twoFactorEnabled = false.
        let mut c2 = after.client();
        c2.cookies = c.cookies.clone();
        let s = c2.get("/get-session").await;
        assert_eq!(s.json["user"]["email"], "old@example.com", "{}", s.text);
        assert_eq!(s.json["user"]["twoFactorEnabled"], false, "{}", s.text);
        let r = c2.post("/two-factor/enable", json!({ "password": PASSWORD })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        // Clients cannot set the field themselves.
        let r = c2.post("/update-user", json!({ "twoFactorEnabled": true })).await;
        assert_eq!(r.status, 400, "{}", r.text);
        after.stop().await;
        before.stop().await;
    }

    async fn custom_table_and_column_names_are_honoured(db: Db) {
        let app = TestApp::spawn_with(db, |c| {
            c.two_factor.enabled = true;
            c.two_factor.model_name = Some("two_factors".into());
            c.two_factor.fields.insert("userId".into(), "user_id".into());
            c.two_factor.fields.insert("backupCodes".into(), "backup_codes".into());
            c.user.fields.insert("twoFactorEnabled".into(), "two_factor_enabled".into());
        })
        .await;
        let (key, _, _) = enrolled(&app, "pat@example.com").await;
        assert_eq!(app.count("two_factors").await, 1);
        assert_eq!(app.count_where("user", "email", "pat@example.com").await, 1);
        let (mut c, _) = challenged(&app, "pat@example.com").await;
        let r = c.post("/two-factor/verify-totp", json!({ "code": totp(&key) })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["user"]["twoFactorEnabled"], true, "{}", r.text);
        app.stop().await;
    }

    async fn a_declared_two_factor_enabled_field_cannot_be_set_by_clients(db: Db) {
        // A deployment that mirrored better-auth's column as an ordinary (client-settable)
        // additional field: with the plugin on, the plugin's definition wins.
        let app = TestApp::spawn_with(db, |c| {
            c.two_factor.enabled = true;
            c.user.additional_fields.insert(
                "twoFactorEnabled".into(),
                authkeep::config::AdditionalFieldConfig {
                    ty: authkeep::model::FieldType::Boolean,
                    required: false,
                    default_value: Some(json!(false)),
                    input: true,
                    returned: true,
                    field_name: None,
                },
            );
        })
        .await;
        let (_, _, mut c) = enrolled(&app, "sly@example.com").await;
        let r = c.post("/update-user", json!({ "twoFactorEnabled": false })).await;
        assert_eq!(r.status, 400, "{}", r.text);
        let s = c.get("/get-session").await;
        assert_eq!(s.json["user"]["twoFactorEnabled"], true, "{}", s.text);
        let (_, held) = challenged(&app, "sly@example.com").await;
        assert_eq!(held["twoFactorRedirect"], true);
        app.stop().await;
    }
}
