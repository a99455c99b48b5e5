//! Whole sign-ins with each provider: new user, returning user, cancel, state abuse, and the
//! find/create/link rules of better-auth's `handleOAuthUserInfo`.

use serde_json::json;

use super::*;
use crate::helpers::PASSWORD;
use crate::idp::{Endpoint, GithubUser, GoogleUser, IssParam, OidcUser, Outcome, Provider};
use crate::on_both_databases;

on_both_databases! {
    async fn google_new_user_then_the_same_user_again(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        let mut browser = app.client();
        let body = json!({"callbackURL": "/dashboard", "newUserCallbackURL": "/welcome", "errorCallbackURL": "/err"});
        let url = start(&mut browser, "google", body.clone()).await;
        let q = idp::query_of(&url);
        assert!(url.starts_with(&idp.google_authorize_url()), "{url}");
        assert_eq!(q["client_id"], idp::GOOGLE_CLIENT_ID);
        assert_eq!(q["scope"], "email profile openid");
        assert_eq!(q["redirect_uri"], format!("{}/callback/google", app.api));
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["include_granted_scopes"], "true");
        assert!(!q.contains_key("nonce"), "better-auth sends Google no nonce");
        assert_eq!(q["state"].len(), 32);
        let state_cookie = browser.cookies.get("better-auth.state").cloned().expect("state cookie");
        assert!(state_cookie.starts_with(&q["state"]), "the cookie holds the signed state");

        let r = client_callback(&mut browser, &idp, &url).await;
        assert_eq!(r.status, 302, "{}", r.text);
        assert_eq!(r.header("location"), Some("/welcome"));
        assert!(r.cookie("better-auth.state").is_some_and(|c| c.contains("Max-Age=0")));
        assert!(r.cookie("better-auth.session_token").is_some());
        let me = browser.get("/get-session").await;
        let user = GoogleUser::sample();
        assert_eq!(me.json["user"]["email"], user.email);
        assert_eq!(me.json["user"]["name"], user.name);
        assert_eq!(me.json["user"]["image"], user.picture);
        assert_eq!(me.json["user"]["emailVerified"], true);

        let (stored, accounts) = user_and_accounts(&app, &user.email).await;
        assert_eq!(accounts.len(), 1);
        let google = account(&accounts, "google");
        assert_eq!(google.account_id, user.sub);
        let scopes: Vec<&str> = google.scope.as_deref().unwrap().split(',').collect();
        assert!(scopes.contains(&"openid") && scopes.contains(&idp::GOOGLE_EMAIL_SCOPE), "{scopes:?}");
        let first_token = google.access_token.clone().expect("access token stored");
        assert!(idp.token_is_live(&first_token));
        assert!(google.id_token.is_some() && google.password.is_none());
        assert!(google.access_token_expires_at.is_some());
        // The token request carried the PKCE verifier and the client secret in the form.
        let token_req = idp.requests_to(Endpoint::GoogleToken).pop().unwrap();
        assert!(token_req.form.contains_key("code_verifier"));
        assert_eq!(token_req.client_auth(), Some(idp::ClientAuth::Post));

        // The same Google account again, from a fresh browser: the same user, fresh tokens.
        let mut other = app.client();
        let r = sign_in(&mut other, &idp, "google", body).await;
        assert_eq!(r.header("location"), Some("/dashboard"), "{}", r.text);
        let (again, accounts) = user_and_accounts(&app, &user.email).await;
        assert_eq!(again.id, stored.id);
        assert_eq!(accounts.len(), 1);
        assert_ne!(account(&accounts, "google").access_token.as_deref(), Some(first_token.as_str()));
        assert_eq!(account(&accounts, "google").scope, google.scope, "scope is not updated at sign-in");
    }

    async fn github_private_email_comes_from_user_emails(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        idp.github_user(GithubUser::sample());
        let mut browser = app.client();
        let r = sign_in(&mut browser, &idp, "github", json!({"callbackURL": "/"})).await;
        assert_eq!(r.status, 302, "{}", r.text);
        let (user, accounts) = user_and_accounts(&app, "o@x.com").await;
        assert_eq!(user.name, "octo", "no name: the login");
        assert!(user.email_verified, "the primary email is verified");
        let gh = account(&accounts, "github");
        assert_eq!(gh.account_id, "42");
        assert_eq!(gh.scope.as_deref(), Some("read:user,user:email"));
        let user_req = idp.requests_to(Endpoint::GithubUser).pop().unwrap();
        assert!(matches!(user_req.authorization, idp::Authorization::Bearer(_)));
        assert!(user_req.user_agent.is_some());
    }

    async fn github_without_any_email_is_refused(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        idp.github_user(GithubUser { emails: vec![], ..GithubUser::sample() });
        let mut browser = app.client();
        let r = sign_in(&mut browser, &idp, "github", json!({"errorCallbackURL": "/err"})).await;
        assert_eq!(r.header("location"), Some("/err?error=email_not_found"));
        assert_eq!(app.count("user").await, 0);
    }

    async fn openid_connect_provider_with_nonce_iss_and_logout(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |cfg| {
            cfg.generic_oauth[0].authentication = "basic".into();
        })
        .await;
        let mut browser = app.client();
        let url = start(&mut browser, ACME, json!({"callbackURL": "/home", "scopes": ["extra"]})).await;
        let q = idp::query_of(&url);
        assert_eq!(q["scope"], "extra openid email profile", "request scopes first, as better-auth");
        assert_eq!(q["nonce"].len(), 32);
        let callback = idp.follow_authorize(&url).await;
        assert!(idp::query_of(&callback).contains_key("iss"));
        let r = browser.open(&callback).await;
        assert_eq!(r.header("location"), Some("/home"), "{}", r.text);
        let token_req = idp.requests_to(Endpoint::OidcToken).pop().unwrap();
        assert_eq!(token_req.client_auth(), Some(idp::ClientAuth::Basic));
        let user = OidcUser::sample();
        let (_, accounts) = user_and_accounts(&app, user.email.as_deref().unwrap()).await;
        let acme = account(&accounts, ACME);
        assert_eq!(acme.account_id, user.sub);
        let id_token = acme.id_token.clone().unwrap();

        // RP-initiated logout: the provider's end-session URL with the ID token as hint.
        let out = browser.post("/sign-out", json!({"callbackURL": "/bye", "state": "s-1"})).await;
        assert_eq!(out.json["success"], true);
        assert_eq!(out.json["redirect"], true);
        let end = out.json["url"].as_str().unwrap();
        assert_eq!(out.header("location"), Some(end));
        let eq = idp::query_of(end);
        assert!(end.starts_with(&idp.oidc_end_session_url()), "{end}");
        assert_eq!(eq["id_token_hint"], id_token);
        assert_eq!(eq["post_logout_redirect_uri"], format!("{}/bye", app.origin));
        assert_eq!(eq["client_id"], idp::OIDC_CLIENT_ID);
        assert_eq!(eq["state"], "s-1");
        assert_eq!(browser.get("/get-session").await.json, serde_json::Value::Null);
    }

    async fn cancel_at_the_provider_and_error_values(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        idp.outcome(Provider::Google, Outcome::Deny);
        let mut browser = app.client();
        let r = sign_in(&mut browser, &idp, "google", json!({"errorCallbackURL": "/err"})).await;
        let q = location_query(&r);
        assert!(r.header("location").unwrap().starts_with("/err?error=access_denied"), "{:?}", r.header("location"));
        assert_eq!(q["error"], "access_denied");
        // Without an error URL: better-auth's error page.
        let r = sign_in(&mut browser, &idp, "google", json!({})).await;
        assert!(r.header("location").unwrap().starts_with(&format!("{}/error?error=access_denied", app.api)));
        assert_eq!(app.count("user").await, 0);
        // The issuer in the callback must be the provider's (RFC 9207).
        idp.oidc_config(|c| c.iss_param = IssParam::Value("https://evil.example".into()));
        let r = sign_in(&mut browser, &idp, ACME, json!({"errorCallbackURL": "/err"})).await;
        assert_eq!(r.header("location"), Some("/err?error=issuer_mismatch"));
    }

    async fn forged_replayed_and_cookieless_states_are_refused(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        let mut browser = app.client();
        let default_error = format!("{}/error", app.api);
        let r = browser.open(&format!("{}/callback/google?code=abc", app.api)).await;
        assert_eq!(r.header("location"), Some(format!("{default_error}?error=state_not_found").as_str()));
        let r = browser.open(&format!("{}/callback/google?code=abc&state=forged", app.api)).await;
        assert_eq!(r.header("location"), Some(format!("{default_error}?error=state_mismatch").as_str()));

        let url = start(&mut browser, "google", json!({"errorCallbackURL": "/err", "callbackURL": "/ok"})).await;
        let callback = idp.follow_authorize(&url).await;
        // Another browser (no state cookie) cannot finish this flow, and does not spoil it.
        let mut attacker = app.client();
        let r = attacker.open(&callback).await;
        assert_eq!(r.header("location"), Some("/err?error=state_mismatch"));
        assert!(r.cookie("better-auth.session_token").is_none());
        let r = browser.open(&callback).await;
        assert_eq!(r.header("location"), Some("/ok"), "the right browser still finishes");
        // A replay of the completed callback finds no state.
        let r = browser.open(&callback).await;
        assert_eq!(r.header("location"), Some(format!("{default_error}?error=state_mismatch").as_str()));
    }

    async fn implicit_linking_follows_better_auths_rules(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        let user = GoogleUser::sample();
        let mut local = app.client();
        local.sign_up(&user.email).await;
        // The local address was never verified: whoever signed up may not own it.
        let mut browser = app.client();
        let r = sign_in(&mut browser, &idp, "google", json!({"errorCallbackURL": "/err"})).await;
        assert_eq!(r.header("location"), Some("/err?error=account_not_linked"));
        let (_, accounts) = user_and_accounts(&app, &user.email).await;
        assert_eq!(accounts.len(), 1);

        app.sql(
            &format!("update \"user\" set \"emailVerified\" = 1 where email = '{}'", user.email),
            &format!("update \"user\" set \"emailVerified\" = true where email = '{}'", user.email),
        )
        .await;
        let r = sign_in(&mut browser, &idp, "google", json!({"callbackURL": "/in", "newUserCallbackURL": "/new"})).await;
        assert_eq!(r.header("location"), Some("/in"), "linked, not new");
        let (_, accounts) = user_and_accounts(&app, &user.email).await;
        let mut providers: Vec<&str> = accounts.iter().map(|a| a.provider_id.as_str()).collect();
        providers.sort_unstable();
        assert_eq!(providers, ["credential", "google"]);
        // The password still works beside Google.
        assert_eq!(app.client().sign_in(&user.email, PASSWORD).await.status, 200);

        // A provider that does not vouch for the email links to no one.
        idp.github_user(GithubUser {
            emails: vec![(user.email.clone(), true, false)],
            ..GithubUser::sample()
        });
        let r = sign_in(&mut browser, &idp, "github", json!({"errorCallbackURL": "/err"})).await;
        assert_eq!(r.header("location"), Some("/err?error=account_not_linked"));
    }

    async fn the_address_owner_recovering_the_account_shuts_out_an_unproven_provider(db: Db) {
        // A provider that lets its users claim any address without verifying it.
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        let victim = "victim@example.org";
        idp.oidc_user(OidcUser { email: Some(victim.into()), email_verified: false, ..OidcUser::sample() });
        let mut attacker = app.client();
        let r = sign_in(&mut attacker, &idp, ACME, json!({"callbackURL": "/in"})).await;
        assert_eq!(r.header("location"), Some("/in"), "better-auth signs such a user up too");
        // The owner of the address recovers it by mail.
        let mut owner = app.client();
        owner.post("/request-password-reset", json!({"email": victim, "redirectTo": "/new-password"})).await;
        let mail = app.mail_to(victim, authkeep::email::Kind::ResetPassword).await;
        let url = mail.text.split_whitespace().find(|w| w.starts_with("http")).unwrap().to_owned();
        let location = owner.open(&url).await.header("location").unwrap().to_owned();
        let token = location.split("token=").nth(1).unwrap().to_owned();
        let r = owner.post("/reset-password", json!({"token": token, "newPassword": "owner-password-1"})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        // The provider link and its sessions are gone; the address is now proven.
        let (user, accounts) = user_and_accounts(&app, victim).await;
        assert!(user.email_verified);
        assert_eq!(accounts.iter().map(|a| a.provider_id.as_str()).collect::<Vec<_>>(), ["credential"]);
        assert_eq!(attacker.get("/get-session").await.json, serde_json::Value::Null);
        // Signing in with the provider again no longer reaches the account.
        let r = sign_in(&mut attacker, &idp, ACME, json!({"errorCallbackURL": "/err"})).await;
        assert_eq!(r.header("location"), Some("/err?error=account_not_linked"));
        assert_eq!(app.client().sign_in(victim, "owner-password-1").await.status, 200);
    }

    async fn the_seeds_own_table_and_column_names_carry_provider_accounts(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, crate::schema::seed).await;
        let mut browser = app.client();
        let r = sign_in(&mut browser, &idp, "google", json!({"callbackURL": "/in"})).await;
        assert_eq!(r.header("location"), Some("/in"), "{}", r.text);
        let me = browser.get("/get-session").await;
        assert_eq!(me.json["user"]["status"], "active", "additional fields get their defaults");
        assert_eq!(app.count_where("accounts", "provider_id", "google").await, 1);
        idp.github_user(GithubUser { emails: vec![(GoogleUser::sample().email, true, true)], ..GithubUser::sample() });
        let r = browser.post("/link-social", json!({"provider": "github", "callbackURL": "/linked"})).await;
        let callback = idp.follow_authorize(r.json["url"].as_str().unwrap()).await;
        assert_eq!(browser.open(&callback).await.header("location"), Some("/linked"));
        assert_eq!(app.count_where("accounts", "provider_id", "github").await, 1);
        assert_eq!(app.count("verifications").await, 0, "state rows used up");
    }

    async fn sign_up_can_be_closed_per_provider(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |cfg| {
            if let Some(g) = cfg.social_providers.github.as_mut() {
                g.disable_implicit_sign_up = true;
            }
        })
        .await;
        idp.github_user(GithubUser::sample());
        let mut browser = app.client();
        let r = sign_in(&mut browser, &idp, "github", json!({"errorCallbackURL": "/err"})).await;
        assert_eq!(r.header("location"), Some("/err?error=signup_disabled"));
        let r = sign_in(&mut browser, &idp, "github", json!({"callbackURL": "/in", "requestSignUp": true})).await;
        assert_eq!(r.header("location"), Some("/in"));
    }
}

/// The provider's decision and the callback, for a flow already started in `browser`.
async fn client_callback(browser: &mut Client, idp: &Idp, url: &str) -> Resp {
    let callback = idp.follow_authorize(url).await;
    browser.open(&callback).await
}
