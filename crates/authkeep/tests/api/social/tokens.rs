//! A signed-in user's provider tokens and accounts: `get-access-token` (with refresh when due),
//! `refresh-token`, `account-info`, `list-accounts`, `unlink-account`, and provider tokens
//! encrypted at rest (`encrypt_oauth_tokens`), as better-auth 1.7.25 answers them.

use authkeep::crypto::{SealingKey, Secret};
use authkeep::model::to_js_iso;
use authkeep::store::TokenUpdate;
use serde_json::json;

use super::*;
use crate::helpers::SECRET;
use crate::idp::{Endpoint, Fault, GoogleUser, OidcUser, Provider};
use crate::on_both_databases;

const GOOGLE: &str = "ada@example.com";
const GITHUB: &str = "o@x.com";
const OIDC: &str = "jane@example.org";

/// Signs `browser` in with `provider` and returns the stored account of `email`.
async fn signed_in(
    app: &TestApp,
    idp: &Idp,
    browser: &mut Client,
    provider: &str,
    email: &str,
) -> Account {
    let r = sign_in(browser, idp, provider, json!({"callbackURL": "/in"})).await;
    assert_eq!(r.header("location"), Some("/in"), "{}", r.text);
    stored(app, email, provider).await
}

async fn stored(app: &TestApp, email: &str, provider: &str) -> Account {
    let (_, accounts) = user_and_accounts(app, email).await;
    account(&accounts, provider).clone()
}

/// `POST <path> {accountId}` (the account row's id, as better-auth 1.7 selects accounts).
async fn for_account(browser: &mut Client, path: &str, id: &str) -> Resp {
    browser.post(path, json!({ "accountId": id })).await
}

/// better-auth's answer to a selector its schema refuses.
fn invalid(place: &str) -> Value {
    json!({"message": format!("[{place}] Invalid input"), "code": "VALIDATION_ERROR"})
}

/// `account-info`'s `data` for the OIDC account: better-auth's `{id, emailVerified, image:
/// claims.picture, ...claims}` from the stored ID token (an undefined `image` is left out).
fn oidc_data(acme: &Account, image: Option<&str>) -> Value {
    let mut data = json!({"id": OidcUser::sample().sub, "emailVerified": true});
    if let Some(image) = image {
        data["image"] = image.into();
    }
    let claims = crate::idp::jwt_part(acme.id_token.as_deref().unwrap(), 1);
    let claims = claims.as_object().unwrap().clone();
    data.as_object_mut().unwrap().extend(claims);
    data
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect()
}

fn offline_google(cfg: &mut Config) {
    cfg.social_providers.google.as_mut().unwrap().access_type = Some("offline".into());
}

on_both_databases! {
    async fn get_access_token_answers_the_stored_tokens(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        let mut browser = app.client();
        let google = signed_in(&app, &idp, &mut browser, "google", GOOGLE).await;
        let r = for_account(&mut browser, "/get-access-token", &google.id).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(keys(&r.json), ["accessToken", "accessTokenExpiresAt", "scopes", "idToken"]);
        assert_eq!(r.json["accessToken"], google.access_token.clone().unwrap());
        assert_eq!(r.json["accessTokenExpiresAt"], to_js_iso(&google.access_token_expires_at.unwrap()));
        assert_eq!(r.json["scopes"], json!(google.scope.as_deref().unwrap().split(',').collect::<Vec<_>>()));
        assert_eq!(r.json["idToken"], google.id_token.clone().unwrap());
        assert_eq!(idp.requests_to(Endpoint::GoogleToken).len(), 1, "a live token is not refreshed");

        // GitHub's tokens never expire and it issues no ID token: neither key appears.
        let mut other = app.client();
        let github = signed_in(&app, &idp, &mut other, "github", GITHUB).await;
        let r = for_account(&mut other, "/get-access-token", &github.id).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json, json!({"accessToken": github.access_token.unwrap(), "scopes": ["read:user", "user:email"]}));
    }

    async fn a_token_due_to_expire_is_refreshed_and_stored(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, offline_google).await;
        // expires_in 0 would store no expiry at all (better-auth reads `expires_in` as falsy),
        // so the token is issued for 1 s: inside better-auth's 5 s margin, due for refresh.
        idp.expires_in(Provider::Google, 1);
        idp.expires_in(Provider::Oidc, 1);
        let mut browser = app.client();
        let google = signed_in(&app, &idp, &mut browser, "google", GOOGLE).await;
        let mut other = app.client();
        let acme = signed_in(&app, &idp, &mut other, ACME, OIDC).await;
        idp.expires_in(Provider::Google, 3600);
        idp.expires_in(Provider::Oidc, 3600);
        for (client, before, endpoint, email) in [
            (&mut browser, &google, Endpoint::GoogleToken, GOOGLE),
            (&mut other, &acme, Endpoint::OidcToken, OIDC),
        ] {
            let refresh = before.refresh_token.clone().expect("a refresh token is stored");
            let r = for_account(client, "/get-access-token", &before.id).await;
            assert_eq!(r.status, 200, "{}", r.text);
            let fresh = r.json["accessToken"].as_str().unwrap();
            assert_ne!(Some(fresh), before.access_token.as_deref(), "{email}");
            assert!(idp.token_is_live(fresh), "{email}: the provider issued it");
            let grant = idp.requests_to(endpoint).pop().unwrap();
            assert_eq!(grant.form["grant_type"], "refresh_token");
            assert_eq!(grant.form["refresh_token"], refresh);
            let after = stored(&app, email, &before.provider_id).await;
            assert_eq!(after.access_token.as_deref(), Some(fresh), "{email}: the new token is stored");
            assert_eq!(after.refresh_token.as_deref(), Some(refresh.as_str()), "no rotation: kept");
            assert!(after.access_token_expires_at > before.access_token_expires_at);
            assert_eq!(r.json["accessTokenExpiresAt"], to_js_iso(&after.access_token_expires_at.unwrap()));
            assert_ne!(after.id_token, before.id_token, "{email}: the refreshed ID token is stored");
            assert_eq!(r.json["idToken"], after.id_token.unwrap());
            assert_eq!(after.scope, before.scope, "a refresh never changes the scope");
        }
    }

    async fn without_a_refresh_token_the_stale_token_is_returned(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        idp.expires_in(Provider::Google, 1);
        let mut browser = app.client();
        let google = signed_in(&app, &idp, &mut browser, "google", GOOGLE).await;
        assert!(google.refresh_token.is_none(), "Google sends none without access_type=offline");
        let r = for_account(&mut browser, "/get-access-token", &google.id).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["accessToken"], google.access_token.unwrap());
        assert_eq!(r.json["accessTokenExpiresAt"], to_js_iso(&google.access_token_expires_at.unwrap()));
        assert_eq!(idp.requests_to(Endpoint::GoogleToken).len(), 1, "no refresh attempted");
        // `expires_in: 0` is no expiry at all, in better-auth and here (a new account: at a
        // returning sign-in a missing expiry keeps the stored one, as better-auth keeps it).
        idp.expires_in(Provider::Google, 0);
        let bob = GoogleUser { sub: "2".into(), email: "bob@example.com".into(), ..GoogleUser::sample() };
        idp.google_user(bob);
        let mut other = app.client();
        let google = signed_in(&app, &idp, &mut other, "google", "bob@example.com").await;
        assert!(google.access_token_expires_at.is_none());
        let r = for_account(&mut other, "/get-access-token", &google.id).await;
        assert!(r.json.get("accessTokenExpiresAt").is_none(), "{}", r.text);
    }

    async fn a_refresh_the_provider_refuses_is_a_400(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, offline_google).await;
        idp.expires_in(Provider::Google, 1);
        let mut browser = app.client();
        let google = signed_in(&app, &idp, &mut browser, "google", GOOGLE).await;
        idp.fault(Endpoint::GoogleToken, Fault::Status(400, r#"{"error":"invalid_grant"}"#.into()));
        let r = for_account(&mut browser, "/get-access-token", &google.id).await;
        assert_eq!((r.status, r.json.clone()), (400, json!({"message": "Failed to get a valid access token", "code": "FAILED_TO_GET_ACCESS_TOKEN"})));
        let r = for_account(&mut browser, "/refresh-token", &google.id).await;
        assert_eq!((r.status, r.json.clone()), (400, json!({"message": "Failed to refresh access token", "code": "FAILED_TO_REFRESH_ACCESS_TOKEN"})));
        let after = stored(&app, GOOGLE, "google").await;
        assert_eq!(after.access_token, google.access_token, "nothing stored from a refused refresh");
        assert_eq!(after.refresh_token, google.refresh_token);
    }

    async fn refresh_token_answers_better_auths_shape(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        let mut browser = app.client();
        let acme = signed_in(&app, &idp, &mut browser, ACME, OIDC).await;
        let r = for_account(&mut browser, "/refresh-token", &acme.id).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(keys(&r.json), ["accessToken", "refreshToken", "accessTokenExpiresAt", "refreshTokenExpiresAt", "scope", "idToken", "providerId", "accountId"]);
        let after = stored(&app, OIDC, ACME).await;
        let fresh = r.json["accessToken"].as_str().unwrap();
        assert_ne!(Some(fresh), acme.access_token.as_deref(), "refreshed although not due");
        assert!(idp.token_is_live(fresh));
        assert_eq!(after.access_token.as_deref(), Some(fresh));
        assert_eq!(r.json["refreshToken"], acme.refresh_token.unwrap(), "the stored one, not rotated");
        assert_eq!(r.json["accessTokenExpiresAt"], to_js_iso(&after.access_token_expires_at.unwrap()));
        assert_eq!(r.json["refreshTokenExpiresAt"], Value::Null);
        assert_eq!(r.json["scope"], "openid,email,profile", "the stored comma string");
        assert_eq!(r.json["idToken"], after.id_token.unwrap());
        assert_eq!(r.json["providerId"], ACME);
        assert_eq!(r.json["accountId"], acme.id, "the row id, not the provider's subject");

        let mut other = app.client();
        let google = signed_in(&app, &idp, &mut other, "google", GOOGLE).await;
        let r = for_account(&mut other, "/refresh-token", &google.id).await;
        assert_eq!((r.status, r.json.clone()), (400, json!({"message": "Refresh token not found", "code": "REFRESH_TOKEN_NOT_FOUND"})));
    }

    async fn accounts_are_selected_by_row_id_and_owner(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        let mut browser = app.client();
        let google = signed_in(&app, &idp, &mut browser, "google", GOOGLE).await;
        let not_found = json!({"message": "Account not found", "code": "ACCOUNT_NOT_FOUND"});
        for path in ["/get-access-token", "/refresh-token"] {
            let r = browser.post(path, json!({"providerId": "google"})).await;
            assert_eq!((r.status, r.json.clone()), (400, invalid("body")), "{path}");
            let r = browser.post(path, json!({"accountId": google.id, "extra": 1})).await;
            assert_eq!((r.status, r.json.clone()), (400, json!({"message": "[body] Unrecognized key: \"extra\"", "code": "VALIDATION_ERROR"})), "{path}");
            // authkeep keeps no account cookie, so that selector names no account.
            let r = browser.post(path, json!({"useAccountCookie": true})).await;
            assert_eq!((r.status, r.json.clone()), (400, not_found.clone()), "{path}");
            let r = app.client().post(path, json!({"accountId": google.id})).await;
            assert_eq!((r.status, r.text.as_str()), (401, ""), "{path}: no session, empty body");
        }
        let r = browser.get("/account-info?providerId=google").await;
        assert_eq!((r.status, r.json.clone()), (400, invalid("query")));

        // Someone else's account, even naming its owner as `userId`: the session decides.
        let mut other = app.client();
        let github = signed_in(&app, &idp, &mut other, "github", GITHUB).await;
        let r = browser.post("/get-access-token", json!({"accountId": github.id, "userId": github.user_id})).await;
        assert_eq!((r.status, r.json.clone()), (400, not_found.clone()));
        let r = browser.get(&format!("/account-info?accountId={}", github.id)).await;
        assert_eq!((r.status, r.json.clone()), (400, not_found));

        // An email/password user's only account is the credential one.
        let mut local = app.client();
        local.sign_up("local@example.com").await;
        let (_, accounts) = user_and_accounts(&app, "local@example.com").await;
        let credential = account(&accounts, "credential");
        let r = for_account(&mut local, "/get-access-token", &credential.id).await;
        assert_eq!((r.status, r.json.clone()), (400, json!({"message": "Provider credential is not supported.", "code": "PROVIDER_NOT_SUPPORTED"})));
        let r = local.get(&format!("/account-info?accountId={}", credential.id)).await;
        assert_eq!((r.status, r.json.clone()), (400, json!({"message": "Account is not associated with a configured social provider.", "code": "PROVIDER_NOT_CONFIGURED"})));
    }

    async fn account_info_is_the_providers_view(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        let mut browser = app.client();
        let github = signed_in(&app, &idp, &mut browser, "github", GITHUB).await;
        let user_calls = idp.requests_to(Endpoint::GithubUser).len();
        let r = browser.get(&format!("/account-info?accountId={}", github.id)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(keys(&r.json), ["user", "data", "account"]);
        assert_eq!(r.json["user"], json!({"name": "octo", "email": GITHUB, "image": "https://avatars.githubusercontent.com/u/42?v=4", "emailVerified": true}));
        assert_eq!((&r.json["data"]["login"], &r.json["data"]["id"]), (&json!("octo"), &json!(42)));
        assert_eq!(r.json["data"]["email"], GITHUB, "the private email, from /user/emails");
        assert_eq!(r.json["account"], json!({"id": github.id, "providerId": "github", "accountId": "42"}));
        assert_eq!(idp.requests_to(Endpoint::GithubUser).len(), user_calls + 1, "GitHub is asked live");

        // Google: the stored ID token's claims, no call to Google.
        let mut other = app.client();
        let google = signed_in(&app, &idp, &mut other, "google", GOOGLE).await;
        let calls = idp.requests().len();
        let r = other.get(&format!("/account-info?accountId={}", google.id)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let user = GoogleUser::sample();
        assert_eq!(r.json["user"], json!({"name": user.name, "email": user.email, "image": user.picture, "emailVerified": true}));
        assert_eq!(r.json["data"], crate::idp::jwt_part(google.id_token.as_deref().unwrap(), 1));
        assert_eq!(r.json["data"]["sub"], user.sub);
        assert_eq!(r.json["account"], json!({"id": google.id, "providerId": "google", "accountId": user.sub}));
        assert_eq!(idp.requests().len(), calls);

        let r = other.get("/account-info").await;
        assert_eq!((r.status, r.json.clone()), (400, invalid("query")));

        // The generic OIDC provider: the stored ID token's claims, behind better-auth's `id`,
        // `emailVerified` and `image`, and the user in the generic mapping's key order.
        let picture = "https://idp.example/jane.png";
        idp.oidc_user(OidcUser { picture: Some(picture.into()), ..OidcUser::sample() });
        let mut third = app.client();
        let acme = signed_in(&app, &idp, &mut third, ACME, OIDC).await;
        let r = third.get(&format!("/account-info?accountId={}", acme.id)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["user"], json!({"email": OIDC, "emailVerified": true, "image": picture, "name": "Jane Doe"}));
        assert_eq!(keys(&r.json["user"]), ["email", "emailVerified", "image", "name"]);
        assert_eq!(r.json["data"], oidc_data(&acme, Some(picture)));
        assert_eq!(keys(&r.json["data"])[..4], ["id", "emailVerified", "image", "iss"]);
    }

    async fn list_and_unlink_accounts(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |_| {}).await;
        let mut browser = app.client();
        let google = signed_in(&app, &idp, &mut browser, "google", GOOGLE).await;
        let r = browser.get("/list-accounts").await;
        assert_eq!(r.status, 200, "{}", r.text);
        let listed = &r.json[0];
        assert_eq!(r.json.as_array().unwrap().len(), 1);
        assert_eq!(keys(listed), ["accountId", "providerId", "userId", "createdAt", "updatedAt", "id", "scopes"], "no tokens, no password");
        assert_eq!(listed["id"], google.id);
        assert_eq!(listed["accountId"], GoogleUser::sample().sub);
        assert_eq!(listed["userId"], google.user_id);
        assert_eq!(listed["createdAt"], to_js_iso(&google.created_at));
        let scopes: Vec<&str> = google.scope.as_deref().unwrap().split(',').collect();
        assert_eq!(listed["scopes"], json!(scopes));
        assert_eq!(scopes.len(), 3);

        // The last account stays, and that is checked before the id is looked up.
        let last = json!({"message": "You can't unlink your last account", "code": "FAILED_TO_UNLINK_LAST_ACCOUNT"});
        for id in [google.id.as_str(), "does-not-exist"] {
            let r = for_account(&mut browser, "/unlink-account", id).await;
            assert_eq!((r.status, r.json.clone()), (400, last.clone()), "{id}");
        }
        // The same address at the OIDC provider (verified on both sides) links implicitly.
        idp.oidc_user(OidcUser { email: Some(GOOGLE.into()), ..OidcUser::sample() });
        let acme = signed_in(&app, &idp, &mut browser, ACME, GOOGLE).await;
        assert_eq!(acme.user_id, google.user_id);
        assert_eq!(browser.get("/list-accounts").await.json.as_array().unwrap().len(), 2);
        let not_found = json!({"message": "Account not found", "code": "ACCOUNT_NOT_FOUND"});
        for id in ["does-not-exist", acme.account_id.as_str()] {
            let r = for_account(&mut browser, "/unlink-account", id).await;
            assert_eq!((r.status, r.json.clone()), (400, not_found.clone()), "{id}: row ids only");
        }
        let r = app.client().post("/unlink-account", json!({"accountId": google.id})).await;
        assert_eq!((r.status, r.json.clone()), (401, json!({"message": "Unauthorized", "code": "UNAUTHORIZED"})));

        let r = for_account(&mut browser, "/unlink-account", &google.id).await;
        assert_eq!((r.status, r.json.clone()), (200, json!({"status": true})));
        assert_eq!(app.count_where("account", "id", &google.id).await, 0);
        let (_, accounts) = user_and_accounts(&app, GOOGLE).await;
        assert_eq!(accounts.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), [acme.id.as_str()]);
        let r = for_account(&mut browser, "/unlink-account", &acme.id).await;
        assert_eq!((r.status, r.json.clone()), (400, last));

        // `allow_unlinking_all` lets the last one go too (the lookup decides then).
        let open = spawn(db, &idp, |cfg| cfg.account_linking.allow_unlinking_all = true).await;
        let mut browser = open.client();
        let google = signed_in(&open, &idp, &mut browser, "google", GOOGLE).await;
        let r = for_account(&mut browser, "/unlink-account", "does-not-exist").await;
        assert_eq!((r.status, r.code()), (400, "ACCOUNT_NOT_FOUND"));
        let r = for_account(&mut browser, "/unlink-account", &google.id).await;
        assert_eq!((r.status, r.json.clone()), (200, json!({"status": true})));
        assert_eq!((open.count("account").await, open.count("user").await), (0, 1), "the user stays");
    }

    async fn tokens_encrypted_at_rest_read_as_better_auth_reads_them(db: Db) {
        let idp = Idp::start().await;
        let app = spawn(db, &idp, |cfg| {
            offline_google(cfg);
            cfg.account.encrypt_oauth_tokens = true;
        })
        .await;
        let key = SealingKey::new(&Secret::new(SECRET));
        let is_sealed = |v: &str| v.len() > 80 && v.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let mut browser = app.client();
        let google = signed_in(&app, &idp, &mut browser, "google", GOOGLE).await;
        let (sealed_access, sealed_refresh) = (google.access_token.clone().unwrap(), google.refresh_token.clone().unwrap());
        assert!(is_sealed(&sealed_access) && is_sealed(&sealed_refresh), "{sealed_access} / {sealed_refresh}");
        let access = key.open(&sealed_access).expect("better-auth's symmetricEncrypt with SHA-256(secret)");
        let refresh = key.open(&sealed_refresh).unwrap();
        assert!(idp.token_is_live(&access), "the provider's token, sealed");
        assert!(!idp.token_is_live(&sealed_access));
        let id_token = google.id_token.clone().unwrap();
        assert_eq!(crate::idp::jwt_part(&id_token, 1)["sub"], GoogleUser::sample().sub, "ID token in clear");

        let r = for_account(&mut browser, "/get-access-token", &google.id).await;
        assert_eq!(r.json["accessToken"], access, "answered in clear: {}", r.text);
        let r = for_account(&mut browser, "/refresh-token", &google.id).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(idp.requests_to(Endpoint::GoogleToken).pop().unwrap().form["refresh_token"], refresh, "decrypted before use");
        assert_eq!(r.json["refreshToken"], refresh);
        let after = stored(&app, GOOGLE, "google").await;
        let resealed = after.access_token.unwrap();
        assert!(is_sealed(&resealed));
        assert_eq!(key.open(&resealed).unwrap(), r.json["accessToken"].as_str().unwrap());
        assert_eq!(after.refresh_token.as_deref(), Some(sealed_refresh.as_str()), "kept as it was");

        // Rows written before encryption was on: a value that is not hex is returned as it is;
        // an even-length hex plaintext is taken for ciphertext and fails, as in better-auth.
        let legacy = json!("plain-legacy-token");
        for (plain, answer) in [("plain-legacy-token", (200, legacy, "")), ("abcdef0123", (400, Value::Null, "FAILED_TO_GET_ACCESS_TOKEN"))] {
            let update = TokenUpdate { access_token: Some(plain.into()), ..TokenUpdate::default() };
            assert!(app.store.update_account_tokens(&google.id, &update, authkeep::model::now_ms()).await.unwrap());
            let r = for_account(&mut browser, "/get-access-token", &google.id).await;
            assert_eq!((r.status, r.json["accessToken"].clone(), r.code()), answer, "{plain}: {}", r.text);
        }
    }
}

/// Details of better-auth's answers found by these tests (SQLite only: the answers' shape is
/// the point, not storage).
mod shapes {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn use_account_cookie_must_be_literally_true() {
        let idp = Idp::start().await;
        let app = spawn(Db::Sqlite, &idp, |_| {}).await;
        let mut browser = app.client();
        signed_in(&app, &idp, &mut browser, "google", GOOGLE).await;
        // better-auth's selector is `z.literal(true)`: text is not `true`, and query values
        // are always text (checked against better-auth 1.7.25 in process).
        let r = browser
            .post("/get-access-token", json!({"useAccountCookie": "yes"}))
            .await;
        assert_eq!((r.status, r.json), (400, invalid("body")));
        for query in ["useAccountCookie=true", "useAccountCookie=yes"] {
            let r = browser.get(&format!("/account-info?{query}")).await;
            assert_eq!((r.status, r.json), (400, invalid("query")), "{query}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn oidc_account_info_leaves_out_a_missing_picture() {
        let idp = Idp::start().await;
        let app = spawn(Db::Sqlite, &idp, |_| {}).await;
        let mut browser = app.client();
        let acme = signed_in(&app, &idp, &mut browser, ACME, OIDC).await;
        let r = browser
            .get(&format!("/account-info?accountId={}", acme.id))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let user = json!({"email": OIDC, "emailVerified": true, "name": "Jane Doe"});
        assert_eq!(r.json["user"], user);
        assert_eq!(r.json["data"], oidc_data(&acme, None), "no `image` key");
    }
}
