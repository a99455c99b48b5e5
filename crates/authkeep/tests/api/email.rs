//! The email flows end to end on both databases: the server mails into an in-memory outbox,
//! and each test reads the message a user would get and follows its link or types its code.

use serde_json::json;

use authkeep::email::{Kind, SentMail};

use crate::helpers::{Db, PASSWORD, TestApp};
use crate::on_both_databases;

/// The link in a message's text body.
fn link(mail: &SentMail) -> String {
    mail.text
        .split_whitespace()
        .find(|w| w.starts_with("http://") || w.starts_with("https://"))
        .unwrap_or_else(|| panic!("no link in {:?}", mail.text))
        .to_owned()
}

/// The one-time code in a message's subject (`Your authkeep code: 123456`).
fn code(mail: &SentMail) -> String {
    mail.subject.rsplit(' ').next().unwrap().to_owned()
}

on_both_databases! {
    async fn email_verification_by_link(db: Db) {
        let app = TestApp::spawn_with(db, |c| {
            c.email_verification.required = true;
            c.email_verification.auto_sign_in_after_verification = true;
        })
        .await;
        let mut c = app.client();
        let r = c.post("/sign-up/email", json!({"name": "Val", "email": "val@example.com", "password": PASSWORD, "callbackURL": "/welcome"})).await;
        assert_eq!(r.status, 200);
        assert!(r.json["token"].is_null(), "no session before the address is proven");
        assert_eq!(c.sign_in("val@example.com", PASSWORD).await.code(), "EMAIL_NOT_VERIFIED");
        let mail = app.mail_to("val@example.com", Kind::VerifyEmail).await;
        assert!(!mail.text.contains("Val"), "security mail does not quote the name");
        let url = link(&mail);
        assert!(url.starts_with(&format!("{}/verify-email?token=", app.api)), "{url}");
        let r = c.open(&url).await;
        assert_eq!((r.status, r.header("location")), (302, Some("/welcome")));
        assert!(r.cookie("better-auth.session_token").is_some(), "auto sign-in after verification");
        assert_eq!(c.get("/get-session").await.json["user"]["emailVerified"], true);
        // Following the link again signs nobody in.
        let mut other = app.client();
        let r = other.open(&url).await;
        assert_eq!(r.status, 302);
        assert!(r.cookie("better-auth.session_token").is_none());
        assert_eq!(app.client().sign_in("val@example.com", PASSWORD).await.status, 200);
        app.stop().await;
    }

    async fn password_reset_by_link(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        c.sign_up("rita@example.com").await;
        let r = c.post("/request-password-reset", json!({"email": "rita@example.com", "redirectTo": "/new-password"})).await;
        assert_eq!(r.status, 200);
        let r = c.post("/request-password-reset", json!({"email": "nobody@example.com"})).await;
        assert_eq!(r.status, 200, "the same answer for an unknown address");
        let url = link(&app.mail_to("rita@example.com", Kind::ResetPassword).await);
        let r = c.open(&url).await;
        assert_eq!(r.status, 302);
        let location = r.header("location").unwrap().to_owned();
        let token = location.split("token=").nth(1).unwrap().to_owned();
        assert!(location.starts_with(&format!("{}/new-password?token=", app.origin)), "{location}");
        let r = c.post("/reset-password", json!({"token": token, "newPassword": "brand-new-password"})).await;
        assert_eq!((r.status, r.json.clone()), (200, json!({"status": true})));
        assert_eq!(app.client().sign_in("rita@example.com", "brand-new-password").await.status, 200);
        assert_eq!(app.client().sign_in("rita@example.com", PASSWORD).await.status, 401);
        let r = c.post("/reset-password", json!({"token": token, "newPassword": "another-password"})).await;
        assert_eq!((r.status, r.code()), (400, "INVALID_TOKEN"), "a reset link works once");
        assert_eq!(app.mails_to("nobody@example.com"), 0);
        app.stop().await;
    }

    async fn magic_link_signs_in_and_signs_up(db: Db) {
        let app = TestApp::spawn_with(db, |c| c.magic_link.enabled = true).await;
        let mut c = app.client();
        let r = c.post("/sign-in/magic-link", json!({"email": "Mia@Example.com", "name": "Mia", "callbackURL": "/home", "newUserCallbackURL": "/welcome"})).await;
        assert_eq!((r.status, r.json.clone()), (200, json!({"status": true})));
        let url = link(&app.mail_to("mia@example.com", Kind::MagicLink).await);
        let r = c.open(&url).await;
        assert_eq!((r.status, r.header("location")), (302, Some(format!("{}/welcome", app.origin).as_str())));
        let me = c.get("/get-session").await.json;
        assert_eq!((me["user"]["email"].clone(), me["user"]["name"].clone(), me["user"]["emailVerified"].clone()), (json!("mia@example.com"), json!("Mia"), json!(true)));
        let r = app.client().open(&url).await;
        assert_eq!(r.header("location"), Some(format!("{}/home?error=INVALID_TOKEN", app.origin).as_str()), "single use");
        app.stop().await;
    }

    async fn email_otp_for_sign_in_verification_and_reset(db: Db) {
        let app = TestApp::spawn_with(db, |c| c.email_otp.enabled = true).await;
        let mut c = app.client();
        c.sign_up("otto@example.com").await;
        let send = |kind: &str| json!({"email": "otto@example.com", "type": kind});

        assert_eq!(c.post("/email-otp/send-verification-otp", send("email-verification")).await.status, 200);
        let otp = code(&app.mail_to("otto@example.com", Kind::Otp).await);
        let r = c.post("/email-otp/verify-email", json!({"email": "otto@example.com", "otp": otp})).await;
        assert_eq!((r.status, r.json["user"]["emailVerified"].clone()), (200, json!(true)));

        let mut d = app.client();
        assert_eq!(d.post("/email-otp/send-verification-otp", send("sign-in")).await.status, 200);
        let otp = code(&app.mail_to("otto@example.com", Kind::Otp).await);
        let r = d.post("/sign-in/email-otp", json!({"email": "otto@example.com", "otp": otp})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(d.get("/get-session").await.json["user"]["email"], "otto@example.com");

        assert_eq!(d.post("/email-otp/request-password-reset", json!({"email": "otto@example.com"})).await.status, 200);
        let otp = code(&app.mail_to("otto@example.com", Kind::Otp).await);
        let r = d.post("/email-otp/reset-password", json!({"email": "otto@example.com", "otp": otp, "password": "otp-new-password"})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(app.client().sign_in("otto@example.com", "otp-new-password").await.status, 200);
        let r = d.post("/email-otp/reset-password", json!({"email": "otto@example.com", "otp": otp, "password": "third-password"})).await;
        assert_eq!(r.code(), "INVALID_OTP", "a code works once");
        app.stop().await;
    }

    async fn change_of_email_confirmed_by_the_new_address(db: Db) {
        let app = TestApp::spawn_with(db, |c| c.user.change_email = true).await;
        let mut c = app.client();
        c.sign_up("old@example.com").await;
        let r = c.post("/change-email", json!({"newEmail": "New@Example.com", "callbackURL": "/settings"})).await;
        assert_eq!((r.status, r.json.clone()), (200, json!({"status": true})));
        assert_eq!(c.get("/get-session").await.json["user"]["email"], "old@example.com", "nothing changes before the link");
        let url = link(&app.mail_to("new@example.com", Kind::ChangeEmail).await);
        let r = c.open(&url).await;
        assert_eq!((r.status, r.header("location")), (302, Some("/settings")));
        let user = c.get("/get-session").await.json["user"].clone();
        // The account keeps its verified state through the change, as in better-auth 1.7.25.
        assert_eq!((user["email"].clone(), user["emailVerified"].clone()), (json!("new@example.com"), json!(false)));
        let r = app.client().open(&url).await;
        assert_eq!((r.status, r.header("location")), (302, Some("/settings?error=INVALID_TOKEN")), "the link is bound to the old address");
        assert_eq!(app.client().sign_in("new@example.com", PASSWORD).await.status, 200);
        app.stop().await;
    }

    async fn deletion_confirmed_by_email(db: Db) {
        let app = TestApp::spawn_with(db, |c| {
            c.user.delete_user = true;
            c.user.delete_user_verification = true;
        })
        .await;
        let mut c = app.client();
        c.sign_up("dee@example.com").await;
        let r = c.post("/delete-user", json!({"callbackURL": "/goodbye"})).await;
        assert_eq!((r.status, r.json.clone()), (200, json!({"success": true, "message": "Verification email sent"})));
        assert_eq!(app.count("user").await, 1, "nothing is deleted before the link");
        let url = link(&app.mail_to("dee@example.com", Kind::DeleteAccount).await);
        let r = app.client().open(&url).await;
        assert_eq!((r.status, r.code()), (404, "FAILED_TO_GET_USER_INFO"), "the link needs the user's own session");
        let r = c.open(&url).await;
        assert_eq!((r.status, r.header("location")), (302, Some("/goodbye")));
        assert_eq!((app.count("user").await, app.count("session").await, app.count("account").await), (0, 0, 0));
        app.stop().await;
    }
}
