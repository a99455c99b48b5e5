//! Where authkeep checks more than better-auth does in social sign-in (found by a security
//! review): bounded state data, refresh tokens that are not the account's, reserved provider
//! ids, discovered endpoints, RFC 9207's promised `iss`, normalised redirects, and concurrent
//! unlinks.

use serde_json::json;

use super::*;
use crate::idp::{Endpoint, Fault, GoogleUser, IssParam, Provider};
use crate::on_both_databases;

on_both_databases! {
    async fn state_data_is_bounded(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        let before = app.count("verification").await;
        let big = "A".repeat(5000);
        let r = app.client().post("/sign-in/social", json!({"provider": "google", "additionalData": {"x": big}})).await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(
            r.json["message"],
            "[body.additionalData] Too big: expected the serialized record to have <=4096 characters"
        );
        assert_eq!(app.count("verification").await, before, "nothing stored");
        let r = app.client().post("/sign-in/social", json!({"provider": "google", "additionalData": {"plan": "pro"}})).await;
        assert_eq!(r.status, 200);
    }

    async fn a_refresh_that_answers_for_someone_else_is_refused(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |cfg| {
            if let Some(g) = cfg.social_providers.google.as_mut() {
                g.access_type = Some("offline".into());
            }
        })
        .await;
        // One second: inside the five-second margin, so the next call refreshes.
        idp.expires_in(Provider::Google, 1);
        let mut browser = app.client();
        sign_in(&mut browser, &idp, "google", json!({})).await;
        let (_, accounts) = user_and_accounts(&app, &GoogleUser::sample().email).await;
        let google = account(&accounts, "google").clone();
        assert!(google.refresh_token.is_some());
        // The stored refresh token now answers for a subject that is not this account's (as a
        // refresh token someone slipped in for another person would).
        app.sql(
            &format!("update account set \"accountId\" = 'someone-else' where id = '{}'", google.id),
            &format!("update account set \"accountId\" = 'someone-else' where id = '{}'", google.id),
        )
        .await;
        let r = browser.post("/get-access-token", json!({"accountId": google.id})).await;
        assert_eq!((r.status, r.code()), (400, "FAILED_TO_GET_ACCESS_TOKEN"), "{}", r.text);
        let (_, accounts) = user_and_accounts(&app, &GoogleUser::sample().email).await;
        assert_eq!(account(&accounts, "google").access_token, google.access_token, "nothing stored");
    }

    async fn an_id_token_link_does_not_keep_the_clients_refresh_token(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        let user = GoogleUser::sample();
        let mut browser = app.client();
        browser.sign_up(&user.email).await;
        let token = idp.google_id_token(&user, idp::GOOGLE_CLIENT_ID, |_| {});
        let r = browser
            .post("/link-social", json!({"provider": "google", "idToken": {"token": token, "accessToken": "ya29.client", "refreshToken": "1//stolen"}}))
            .await;
        assert_eq!(r.json, json!({"url": "", "status": true, "redirect": false}), "{}", r.text);
        let (_, accounts) = user_and_accounts(&app, &user.email).await;
        let google = account(&accounts, "google");
        assert_eq!(google.access_token.as_deref(), Some("ya29.client"));
        assert_eq!(google.refresh_token, None);
    }

    async fn discovered_endpoints_must_be_web_urls(db: Db) {
        let idp = Idp::start().await;
        let issuer = idp.oidc_issuer();
        let doc = json!({
            "issuer": issuer,
            "authorization_endpoint": "javascript:alert(document.domain)//",
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
            "id_token_signing_alg_values_supported": ["RS256"],
        });
        idp.fault(Endpoint::OidcDiscovery, Fault::Status(200, doc.to_string()));
        let app = spawn(db, &idp, |_| {}).await;
        let r = app.client().post("/sign-in/social", json!({"provider": ACME})).await;
        assert_eq!((r.status, r.code()), (404, "PROVIDER_NOT_FOUND"));
        assert!(r.header("location").is_none());
    }

    async fn a_promised_iss_must_come(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        // The stand-in's discovery says authorization_response_iss_parameter_supported.
        idp.oidc_config(|c| c.iss_param = IssParam::Omit);
        let mut browser = app.client();
        let r = sign_in(&mut browser, &idp, ACME, json!({"errorCallbackURL": "/err"})).await;
        assert_eq!(r.header("location"), Some("/err?error=issuer_missing"));
        assert_eq!(app.count("user").await, 0);
    }

    async fn redirect_targets_are_sent_back_normalised(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        let mut browser = app.client();
        // Trusted as the app's own origin; other URL parsers would read `evil.test` as the host.
        let tricky = format!("{}\\@evil.test/", app.origin);
        let r = sign_in(&mut browser, &idp, "google", json!({"callbackURL": tricky})).await;
        assert_eq!(r.status, 302, "{}", r.text);
        assert_eq!(r.header("location"), Some(format!("{}/@evil.test/", app.origin).as_str()));
    }

    async fn concurrent_unlinks_keep_the_last_account(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        let user = GoogleUser::sample();
        let mut browser = app.client();
        browser.sign_up(&user.email).await;
        let token = idp.google_id_token(&user, idp::GOOGLE_CLIENT_ID, |_| {});
        browser.post("/link-social", json!({"provider": "google", "idToken": {"token": token}})).await;
        let (_, accounts) = user_and_accounts(&app, &user.email).await;
        assert_eq!(accounts.len(), 2);
        let mut tasks = Vec::new();
        for a in &accounts {
            let mut c = app.client();
            c.cookies = browser.cookies.clone();
            let id = a.id.clone();
            tasks.push(tokio::spawn(async move { c.post("/unlink-account", json!({"accountId": id})).await }));
        }
        let mut statuses = Vec::new();
        for t in tasks {
            let r = t.await.unwrap();
            statuses.push((r.status, r.code().to_owned()));
        }
        statuses.sort();
        assert_eq!(statuses, [(200, String::new()), (400, "FAILED_TO_UNLINK_LAST_ACCOUNT".into())]);
        let (_, accounts) = user_and_accounts(&app, &user.email).await;
        assert_eq!(accounts.len(), 1);
    }
}

#[tokio::test]
async fn a_generic_provider_cannot_be_called_credential() {
    let idp = Idp::start().await;
    let mut cfg = crate::helpers::test_config("sqlite::memory:");
    configure(&mut cfg, &idp);
    cfg.generic_oauth[0].provider_id = "credential".into();
    let err = authkeep::serve::prepare(&cfg)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("reserved"), "{err}");
}
