//! `link-social`: a signed-in user adds a provider account, by better-auth's rules (the
//! provider must vouch for the email or be trusted, the emails must match, the account must be
//! nobody else's, and the session that asked must still be live).

use serde_json::json;

use super::*;
use crate::idp::GithubUser;
use crate::on_both_databases;

/// Starts `link-social` for the signed-in `browser` and completes it at the provider.
async fn link(browser: &mut Client, idp: &Idp, provider: &str, body: Value) -> Resp {
    let mut b = json!({ "provider": provider, "callbackURL": "/settings", "errorCallbackURL": "/link-error" });
    if let (Some(target), Value::Object(extra)) = (b.as_object_mut(), body) {
        target.extend(extra);
    }
    let r = browser.post("/link-social", b).await;
    assert_eq!(r.status, 200, "link-social: {}", r.text);
    let url = r.json["url"].as_str().expect("url").to_owned();
    let callback = idp.follow_authorize(&url).await;
    browser.open(&callback).await
}

on_both_databases! {
    async fn a_signed_in_user_links_github_and_scopes_merge(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        idp.github_user(GithubUser::sample());
        let mut browser = app.client();
        browser.sign_up("o@x.com").await;
        let session_before = browser.cookies.get("better-auth.session_token").cloned();

        let r = browser
            .post("/link-social", json!({"provider": "github", "callbackURL": "/settings", "scopes": ["repo"], "disableRedirect": true}))
            .await;
        assert_eq!(r.json["redirect"], false);
        assert!(r.header("location").is_none());
        let url = r.json["url"].as_str().unwrap().to_owned();
        let state = idp::query_of(&url)["state"].clone();
        assert_eq!(idp::query_of(&url)["scope"], "read:user user:email repo");
        let stored: Value = serde_json::from_str(
            &app.verification_value(&format!("auth-state:{state}")).await.expect("state row"),
        )
        .unwrap();
        let (user, _) = user_and_accounts(&app, "o@x.com").await;
        assert_eq!(stored["link"]["userId"], user.id);
        assert_eq!(stored["link"]["email"], "o@x.com");
        assert!(stored["link"]["encryptedSessionToken"].as_str().is_some_and(|t| t.len() > 40));

        let r = browser.open(&idp.follow_authorize(&url).await).await;
        assert_eq!(r.header("location"), Some("/settings"), "{}", r.text);
        assert!(r.cookie("better-auth.session_token").is_none(), "linking keeps the session");
        assert_eq!(browser.cookies.get("better-auth.session_token").cloned(), session_before);
        let listed = browser.get("/list-accounts").await;
        let providers: Vec<&str> = listed.json.as_array().unwrap().iter().map(|a| a["providerId"].as_str().unwrap()).collect();
        assert_eq!(providers, ["credential", "github"]);
        let (user, accounts) = user_and_accounts(&app, "o@x.com").await;
        assert!(!user.email_verified, "linking neither needs nor sets a verified email");
        let first_scope = account(&accounts, "github").scope.clone().unwrap();

        // Linking the same account again merges the scopes (better-auth's mergeScopes).
        let r = link(&mut browser, &idp, "github", json!({"scopes": ["gist"]})).await;
        assert_eq!(r.header("location"), Some("/settings"));
        let (_, accounts) = user_and_accounts(&app, "o@x.com").await;
        assert_eq!(accounts.len(), 2);
        let merged = account(&accounts, "github").scope.clone().unwrap();
        assert!(merged.starts_with(&first_scope) && merged.ends_with(",gist"), "{merged}");
    }

    async fn link_rules_refuse_with_better_auths_errors(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        let mut browser = app.client();
        browser.sign_up("me@x.com").await;
        // Another address at the provider.
        idp.github_user(GithubUser::sample());
        let r = link(&mut browser, &idp, "github", json!({})).await;
        assert_eq!(r.header("location"), Some("/link-error?error=email_does_not_match"));
        // The right address, but the provider does not vouch for it.
        idp.github_user(GithubUser { emails: vec![("me@x.com".into(), true, false)], ..GithubUser::sample() });
        let r = link(&mut browser, &idp, "github", json!({})).await;
        assert_eq!(r.header("location"), Some("/link-error?error=unable_to_link_account"));
        let (_, accounts) = user_and_accounts(&app, "me@x.com").await;
        assert_eq!(accounts.len(), 1, "nothing linked");
        // No session: 401.
        let r = app.client().post("/link-social", json!({"provider": "github"})).await;
        assert_eq!((r.status, r.code()), (401, "UNAUTHORIZED"));
        let r = browser.post("/link-social", json!({"provider": "nope"})).await;
        assert_eq!((r.status, r.code()), (404, "PROVIDER_NOT_FOUND"));
    }

    async fn trusted_providers_link_unverified_emails(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |cfg| cfg.account_linking.trusted_providers = vec!["github".into()]).await;
        let mut browser = app.client();
        browser.sign_up("me@x.com").await;
        idp.github_user(GithubUser { emails: vec![("me@x.com".into(), true, false)], ..GithubUser::sample() });
        let r = link(&mut browser, &idp, "github", json!({})).await;
        assert_eq!(r.header("location"), Some("/settings"));
        let (_, accounts) = user_and_accounts(&app, "me@x.com").await;
        assert_eq!(accounts.len(), 2);
    }

    async fn an_account_linked_to_someone_else_stays_theirs(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |cfg| cfg.account_linking.allow_different_emails = true).await;
        idp.github_user(GithubUser::sample());
        let mut first = app.client();
        first.sign_up("first@x.com").await;
        assert_eq!(link(&mut first, &idp, "github", json!({})).await.header("location"), Some("/settings"));
        let mut second = app.client();
        second.sign_up("second@x.com").await;
        let r = link(&mut second, &idp, "github", json!({})).await;
        assert_eq!(r.header("location"), Some("/link-error?error=account_already_linked_to_different_user"));
        let (first_user, _) = user_and_accounts(&app, "first@x.com").await;
        let owner = app.store.find_account_by_provider("github", "42").await.unwrap().unwrap();
        assert_eq!(owner.user_id, first_user.id);
    }

    async fn a_link_started_before_sign_out_does_not_complete(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        idp.github_user(GithubUser::sample());
        let mut browser = app.client();
        browser.sign_up("o@x.com").await;
        let r = browser.post("/link-social", json!({"provider": "github", "errorCallbackURL": "/link-error"})).await;
        let url = r.json["url"].as_str().unwrap().to_owned();
        let callback = idp.follow_authorize(&url).await;
        // The state cookie survives sign-out (it is not a session cookie); the session does not.
        let state_cookie = browser.cookies.get("better-auth.state").cloned().unwrap();
        browser.post("/sign-out", json!({})).await;
        browser.cookies.insert("better-auth.state".into(), state_cookie);
        let r = browser.open(&callback).await;
        assert_eq!(r.header("location"), Some("/link-error?error=unable_to_link_account"));
        let (_, accounts) = user_and_accounts(&app, "o@x.com").await;
        assert_eq!(accounts.len(), 1);
    }
}
