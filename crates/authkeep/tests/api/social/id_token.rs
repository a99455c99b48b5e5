//! ID-token sign-in (`POST /sign-in/social` with `idToken`, as Google One Tap and native apps
//! use it) and ID-token linking (`POST /link-social` with `idToken`): which tokens are taken,
//! which are refused with which error, and what is stored, as better-auth 1.7.25 does it.

use serde_json::{Map, json};
use sha2::{Digest, Sha256};

use super::*;
use crate::idp::{GoogleUser, IdTokenTamper, OidcUser, Provider};
use crate::on_both_databases;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A Google user other than the sample, by sub and email.
fn google_user(sub: &str, email: &str) -> GoogleUser {
    GoogleUser {
        sub: sub.into(),
        email: email.into(),
        ..GoogleUser::sample()
    }
}

/// A valid Google ID token for `user`, with `tweak` applied to its claims.
fn google_token(
    idp: &Idp,
    user: &GoogleUser,
    tweak: impl FnOnce(&mut Map<String, Value>),
) -> String {
    idp.google_id_token(user, idp::GOOGLE_CLIENT_ID, tweak)
}

/// `POST <path>` with `{provider, idToken}`.
async fn with_id_token(client: &mut Client, path: &str, provider: &str, id_token: Value) -> Resp {
    client
        .post(path, json!({ "provider": provider, "idToken": id_token }))
        .await
}

fn invalid_token() -> Value {
    json!({"message": "Invalid token", "code": "INVALID_TOKEN"})
}

on_both_databases! {
    async fn a_valid_google_id_token_signs_in_at_once(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        let user = GoogleUser::sample();
        let token = google_token(&idp, &user, |_| {});
        let mut browser = app.client();
        let body = json!({"token": token, "accessToken": "ya29.from-client", "refreshToken": "1//from-client", "expiresAt": 1_900_000_000_000_i64});
        let r = with_id_token(&mut browser, "/sign-in/social", "google", body).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let keys: Vec<&str> = r.json.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["redirect", "token", "user"]);
        assert_eq!(r.json["redirect"], false);
        let session_token = r.json["token"].as_str().unwrap();
        let cookie = r.cookie("better-auth.session_token").expect("a session cookie");
        assert!(cookie.starts_with(&format!("better-auth.session_token={session_token}.")), "{cookie}");
        let u = &r.json["user"];
        let user_keys: Vec<&str> = u.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(user_keys, ["name", "email", "emailVerified", "image", "createdAt", "updatedAt", "id"]);
        assert_eq!((&u["name"], &u["email"], &u["image"], &u["emailVerified"]), (&json!(user.name), &json!(user.email), &json!(user.picture), &json!(true)));
        assert_eq!(browser.get("/get-session").await.json["user"]["id"], u["id"]);

        // The client's access token and the ID token are kept; its refresh token and expiry
        // are not (better-auth's sign-in.mjs writes only those two).
        let (stored, accounts) = user_and_accounts(&app, &user.email).await;
        assert_eq!(accounts.len(), 1);
        let google = account(&accounts, "google");
        assert_eq!(google.account_id, user.sub);
        assert_eq!(google.access_token.as_deref(), Some("ya29.from-client"));
        assert_eq!(google.id_token.as_deref(), Some(token.as_str()));
        assert_eq!((google.refresh_token.as_deref(), google.access_token_expires_at, google.scope.as_deref()), (None, None, None));

        // Returning, from another device; this token carries a nonce and the body names it.
        let again = google_token(&idp, &user, |c| { c.insert("nonce".into(), "n-123".into()); });
        let mut phone = app.client();
        let r = with_id_token(&mut phone, "/sign-in/social", "google", json!({"token": again, "nonce": "n-123", "accessToken": "ya29.second"})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["user"]["id"], stored.id, "the same user");
        assert_ne!(r.json["token"], session_token, "a new session");
        let (_, accounts) = user_and_accounts(&app, &user.email).await;
        assert_eq!(accounts.len(), 1);
        assert_eq!(accounts[0].id_token.as_deref(), Some(again.as_str()));
        assert_eq!(accounts[0].access_token.as_deref(), Some("ya29.second"));
        assert_eq!(app.count("session").await, 2);
    }

    async fn tokens_google_would_refuse_are_refused(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        let user = GoogleUser::sample();
        let claims = || idp.google_claims(&user, idp::GOOGLE_CLIENT_ID);
        let nonce_of = |body_nonce: &str| hex::encode(Sha256::digest(body_nonce.as_bytes()));
        let cases: Vec<(&str, String, Option<&str>)> = vec![
            ("wrong aud", idp.google_id_token(&user, "someone-else.apps.googleusercontent.com", |_| {}), None),
            ("wrong iss", google_token(&idp, &user, |c| { c.insert("iss".into(), "https://evil.test".into()); }), None),
            ("expired", google_token(&idp, &user, |c| {
                c.insert("iat".into(), (now() - 600).into());
                c.insert("exp".into(), (now() - 300).into());
            }), None),
            // Valid until later, but issued more than an hour ago (better-auth's maxTokenAge).
            ("iat older than 1 h", google_token(&idp, &user, |c| { c.insert("iat".into(), (now() - 3700).into()); }), None),
            ("alg none", idp.mint(Provider::Google, claims(), Some(IdTokenTamper::AlgNone)), None),
            ("bad signature", idp.mint(Provider::Google, claims(), Some(IdTokenTamper::BadSignature)), None),
            ("unknown kid", idp.mint(Provider::Google, claims(), Some(IdTokenTamper::UnknownKid)), None),
            ("not a JWT", "not-a-jwt".into(), None),
            ("nonces differ", google_token(&idp, &user, |c| { c.insert("nonce".into(), "n-123".into()); }), Some("n-456")),
            ("body nonce, none in the token", google_token(&idp, &user, |_| {}), Some("n-123")),
            // Google compares nonces exactly: a hashed nonce is another nonce.
            ("hashed nonce", google_token(&idp, &user, |c| { c.insert("nonce".into(), nonce_of("n-123").into()); }), Some("n-123")),
        ];
        // Every case is tried and the wrong answers reported together.
        let mut wrong = Vec::new();
        for (case, token, nonce) in cases {
            let mut body = json!({ "token": token });
            if let Some(n) = nonce {
                body["nonce"] = n.into();
            }
            let r = with_id_token(&mut app.client(), "/sign-in/social", "google", body).await;
            if (r.status, &r.json) != (401, &invalid_token()) || r.cookie("better-auth.session_token").is_some() {
                wrong.push(format!("{case}: {} {}", r.status, r.text));
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
        assert_eq!((app.count("user").await, app.count("session").await), (0, 0));
    }

    async fn tokens_google_accepts_are_accepted(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        let user = GoogleUser::sample();
        // Google's documents allow both issuer spellings.
        let bare_iss = google_token(&idp, &user, |c| { c.insert("iss".into(), "accounts.google.com".into()); });
        // The nonce is checked only when the body sends one.
        let unasked_nonce = google_token(&idp, &user, |c| { c.insert("nonce".into(), "n-123".into()); });
        for (case, token) in [("iss without scheme", bare_iss), ("nonce, none in the body", unasked_nonce)] {
            let r = with_id_token(&mut app.client(), "/sign-in/social", "google", json!({ "token": token })).await;
            assert_eq!(r.status, 200, "{case}: {}", r.text);
            assert_eq!(r.json["user"]["email"], user.email, "{case}");
        }
        // A new user whose address Google does not vouch for is created unverified.
        let unverified = GoogleUser { email_verified: false, ..google_user("3", "una@example.com") };
        let token = google_token(&idp, &unverified, |_| {});
        let r = with_id_token(&mut app.client(), "/sign-in/social", "google", json!({ "token": token })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["user"]["emailVerified"], false);
        assert_eq!(app.count("user").await, 2);
    }

    async fn the_user_the_token_names_decides(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        let user = GoogleUser::sample();
        let no_email = google_token(&idp, &user, |c| { c.remove("email"); c.remove("email_verified"); });
        let r = with_id_token(&mut app.client(), "/sign-in/social", "google", json!({ "token": no_email })).await;
        assert_eq!((r.status, r.json.clone()), (401, json!({"message": "User email not found", "code": "USER_EMAIL_NOT_FOUND"})));
        assert_eq!(app.count("user").await, 0);

        // Whoever signed up with the address never proved they own it: no implicit link.
        app.client().sign_up(&user.email).await;
        let token = google_token(&idp, &user, |_| {});
        let mut browser = app.client();
        let r = with_id_token(&mut browser, "/sign-in/social", "google", json!({ "token": token })).await;
        assert_eq!((r.status, r.json.clone()), (401, json!({"message": "account not linked", "code": "OAUTH_LINK_ERROR"})));
        assert!(r.cookie("better-auth.session_token").is_none());
        let (_, accounts) = user_and_accounts(&app, &user.email).await;
        assert_eq!(accounts.iter().map(|a| a.provider_id.as_str()).collect::<Vec<_>>(), ["credential"]);
        assert_eq!(app.count("session").await, 1, "only the sign-up's");
    }

    async fn which_providers_take_id_tokens(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        let token = google_token(&idp, &GoogleUser::sample(), |_| {});
        let r = with_id_token(&mut app.client(), "/sign-in/social", "github", json!({ "token": token })).await;
        assert_eq!((r.status, r.json.clone()), (404, json!({"message": "id_token not supported", "code": "ID_TOKEN_NOT_SUPPORTED"})));
        let r = with_id_token(&mut app.client(), "/sign-in/social", "nope", json!({ "token": token })).await;
        assert_eq!((r.status, r.json.clone()), (404, json!({"message": "Provider not found", "code": "PROVIDER_NOT_FOUND"})));

        // The generic OIDC provider checks tokens with its discovered keys; the audience is
        // its own client id, so a token for another client is refused.
        let user = OidcUser::sample();
        let wrong_aud = idp.oidc_id_token(&user, idp::GOOGLE_CLIENT_ID, |_| {});
        let r = with_id_token(&mut app.client(), "/sign-in/social", ACME, json!({ "token": wrong_aud })).await;
        assert_eq!((r.status, r.json.clone()), (401, invalid_token()));
        let oidc = idp.oidc_id_token(&user, idp::OIDC_CLIENT_ID, |_| {});
        let r = with_id_token(&mut app.client(), "/sign-in/social", ACME, json!({ "token": oidc })).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let (_, accounts) = user_and_accounts(&app, user.email.as_deref().unwrap()).await;
        assert_eq!(account(&accounts, ACME).account_id, user.sub);
        assert_eq!(app.count("user").await, 1);

        // Switched off for Google: as if Google could not verify tokens.
        let closed = spawn(db, &idp, |cfg| cfg.social_providers.google.as_mut().unwrap().disable_id_token_sign_in = true).await;
        let r = with_id_token(&mut closed.client(), "/sign-in/social", "google", json!({ "token": token })).await;
        assert_eq!((r.status, r.json.clone()), (404, json!({"message": "id_token not supported", "code": "ID_TOKEN_NOT_SUPPORTED"})));
        assert_eq!(closed.count("user").await, 0);
    }

    async fn link_social_with_an_id_token(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        let ada = GoogleUser::sample();
        let token = google_token(&idp, &ada, |_| {});
        let link = json!({"token": token, "accessToken": "ya29.link", "refreshToken": "1//link"});
        let r = with_id_token(&mut app.client(), "/link-social", "google", link.clone()).await;
        assert_eq!((r.status, r.json.clone()), (401, json!({"message": "Unauthorized", "code": "UNAUTHORIZED"})));

        // An email/password user (unverified: linking does not require it) links Google.
        let mut browser = app.client();
        browser.sign_up(&ada.email).await;
        let done = json!({"url": "", "status": true, "redirect": false});
        let r = with_id_token(&mut browser, "/link-social", "google", link.clone()).await;
        assert_eq!((r.status, r.json.clone()), (200, done.clone()), "{}", r.text);
        let (user, accounts) = user_and_accounts(&app, &ada.email).await;
        let google = account(&accounts, "google");
        assert_eq!((google.user_id.as_str(), google.account_id.as_str()), (user.id.as_str(), ada.sub.as_str()));
        // better-auth keeps the client's refresh token on a link; authkeep does not (nothing ties
        // it to the ID token: social/hardening.rs).
        assert_eq!(google.access_token.as_deref(), Some("ya29.link"));
        assert_eq!(google.refresh_token, None);
        assert_eq!(google.id_token.as_deref(), Some(token.as_str()));
        assert_eq!(google.scope, None);
        assert!(!user.email_verified, "linking does not verify the local address");
        let r = with_id_token(&mut browser, "/link-social", "google", link.clone()).await;
        assert_eq!((r.status, r.json.clone()), (200, done), "the same link again");

        let other_email = google_token(&idp, &google_user("2", "bob@example.com"), |_| {});
        let r = with_id_token(&mut browser, "/link-social", "google", json!({ "token": other_email })).await;
        assert_eq!((r.status, r.json.clone()), (401, json!({"message": "Account not linked - different emails not allowed", "code": "LINKING_DIFFERENT_EMAILS_NOT_ALLOWED"})));
        let unverified = google_token(&idp, &GoogleUser { email_verified: false, ..google_user("3", &ada.email) }, |_| {});
        let r = with_id_token(&mut browser, "/link-social", "google", json!({ "token": unverified })).await;
        assert_eq!((r.status, r.json.clone()), (401, json!({"message": "Account not linked - linking not allowed", "code": "LINKING_NOT_ALLOWED"})));
        let r = with_id_token(&mut browser, "/link-social", "github", json!({ "token": token })).await;
        assert_eq!((r.status, r.code()), (404, "ID_TOKEN_NOT_SUPPORTED"));

        // Ada's Google account is hers: another user cannot take it over.
        let mut carol = app.client();
        carol.sign_up("carol@example.com").await;
        let r = with_id_token(&mut carol, "/link-social", "google", link).await;
        assert_eq!((r.status, r.json.clone()), (409, json!({"message": "Social account already linked", "code": "SOCIAL_ACCOUNT_ALREADY_LINKED"})));
        assert_eq!(app.count_where("account", "providerId", "google").await, 1);
    }
}
