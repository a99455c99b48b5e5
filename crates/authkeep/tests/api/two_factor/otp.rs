//! Codes by email (`send-otp`, `verify-otp`) through the mailer.

use serde_json::json;

use super::*;
use crate::helpers::{Db, PASSWORD, TestApp};
use crate::on_both_databases;
use authkeep::email::Kind;

async fn spawn_otp(db: Db) -> TestApp {
    TestApp::spawn_with(db, |c| {
        c.two_factor.enabled = true;
        c.two_factor.otp_by_email = true;
        c.two_factor.otp_allowed_attempts = 2;
    })
    .await
}

/// The code in the newest code mail to `to`.
async fn mailed_code(app: &TestApp, to: &str) -> String {
    let mail = app.mail_to(to, Kind::Otp).await;
    mail.subject.rsplit(' ').next().unwrap().to_owned()
}

on_both_databases! {
    async fn an_emailed_code_finishes_a_sign_in(db: Db) {
        let app = spawn_otp(db).await;
        enrolled(&app, "kim@example.com").await;
        let (mut c, held) = challenged(&app, "kim@example.com").await;
        assert_eq!(held["twoFactorMethods"], json!(["totp", "otp"]));
        let r = c.post("/two-factor/send-otp", json!({})).await;
        assert_eq!((r.status, r.json.clone()), (200, json!({ "status": true })), "{}", r.text);
        let code = mailed_code(&app, "kim@example.com").await;
        assert_eq!(code.len(), 6, "{code}");
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let r = c.post("/two-factor/verify-otp", json!({ "code": wrong })).await;
        assert_eq!((r.status, r.code()), (401, "INVALID_CODE"), "{}", r.text);
        let r = c.post("/two-factor/verify-otp", json!({ "code": code })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.json["token"].is_string());
        // Used up.
        let r = c.post("/two-factor/verify-otp", json!({ "code": code })).await;
        assert_eq!((r.status, r.code()), (400, "OTP_HAS_EXPIRED"), "{}", r.text);
        app.stop().await;
    }

    async fn emailed_codes_burn_after_their_attempts_and_expire(db: Db) {
        let app = spawn_otp(db).await;
        enrolled(&app, "lou@example.com").await;
        let (mut c, _) = challenged(&app, "lou@example.com").await;
        c.post("/two-factor/send-otp", json!({})).await;
        let code = mailed_code(&app, "lou@example.com").await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..2 {
            let r = c.post("/two-factor/verify-otp", json!({ "code": wrong })).await;
            assert_eq!(r.code(), "INVALID_CODE", "{}", r.text);
        }
        let r = c.post("/two-factor/verify-otp", json!({ "code": code })).await;
        assert_eq!(
            (r.status, r.code()),
            (400, "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE"),
            "{}",
            r.text
        );
        let r = c.post("/two-factor/verify-otp", json!({ "code": code })).await;
        assert_eq!((r.status, r.code()), (400, "OTP_HAS_EXPIRED"), "{}", r.text);
        // A new code, expired by the clock.
        c.post("/two-factor/send-otp", json!({})).await;
        while app.mails_to("lou@example.com") < 2 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let fresh = mailed_code(&app, "lou@example.com").await;
        app.sql(
            r#"update "verification" set "expiresAt" = '2000-01-01T00:00:00.000Z' where "identifier" like '2fa-otp-%'"#,
            r#"update "verification" set "expiresAt" = '2000-01-01T00:00:00Z' where "identifier" like '2fa-otp-%'"#,
        )
        .await;
        let r = c.post("/two-factor/verify-otp", json!({ "code": fresh })).await;
        assert_eq!((r.status, r.code()), (400, "OTP_HAS_EXPIRED"), "{}", r.text);
        app.stop().await;
    }

    async fn otp_as_the_only_method(db: Db) {
        let app = spawn_otp(db).await;
        let mut c = app.client();
        c.sign_up("max@example.com").await;
        let r = c
            .post("/two-factor/enable", json!({ "password": PASSWORD, "method": "otp" }))
            .await;
        assert_eq!((r.status, r.json.clone()), (200, json!({ "method": "otp" })), "{}", r.text);
        let s = c.get("/get-session").await;
        assert_eq!(s.json["user"]["twoFactorEnabled"], true, "{}", s.text);
        let (_, held) = challenged(&app, "max@example.com").await;
        assert_eq!(held["twoFactorMethods"], json!(["otp"]));
        app.stop().await;
    }

    async fn send_otp_needs_the_option(db: Db) {
        let app = spawn(db).await;
        enrolled(&app, "ned@example.com").await;
        let (mut c, held) = challenged(&app, "ned@example.com").await;
        assert_eq!(held["twoFactorMethods"], json!(["totp"]));
        let r = c.post("/two-factor/send-otp", json!({})).await;
        assert_eq!((r.status, r.code()), (400, "OTP_NOT_CONFIGURED"), "{}", r.text);
        assert_eq!(app.mails_to("ned@example.com"), 0);
        app.stop().await;
    }
}
