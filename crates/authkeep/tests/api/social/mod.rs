//! Social sign-in against the in-process identity providers of `idp.rs`: journeys, linking,
//! provider tokens, ID-token sign-in, and providers that misbehave.

mod faults;
mod hardening;
mod id_token;
mod journeys;
mod linking;
mod tokens;

use authkeep::config::{Config, GenericOAuthConfig, ProviderConfig, Secret};
use authkeep::model::{Account, User};
use serde_json::{Value, json};

use crate::helpers::{Client, Db, Resp, TestApp};
use crate::idp::{self, Idp};

/// The generic OpenID Connect provider's id in these tests.
pub const ACME: &str = "acme";

/// Google, GitHub and the generic OIDC provider `acme`, all pointing at `idp`.
pub fn configure(cfg: &mut Config, idp: &Idp) {
    cfg.social_providers.google = Some(ProviderConfig {
        client_id: idp::GOOGLE_CLIENT_ID.into(),
        client_secret: Some(Secret::new(idp::GOOGLE_CLIENT_SECRET)),
        authorization_url: Some(idp.google_authorize_url()),
        token_url: Some(idp.google_token_url()),
        jwks_url: Some(idp.google_certs_url()),
        ..ProviderConfig::default()
    });
    cfg.social_providers.github = Some(ProviderConfig {
        client_id: idp::GITHUB_CLIENT_ID.into(),
        client_secret: Some(Secret::new(idp::GITHUB_CLIENT_SECRET)),
        authorization_url: Some(idp.github_authorize_url()),
        token_url: Some(idp.github_token_url()),
        api_url: Some(idp.github_api_url()),
        ..ProviderConfig::default()
    });
    cfg.generic_oauth = vec![GenericOAuthConfig {
        provider_id: ACME.into(),
        client_id: idp::OIDC_CLIENT_ID.into(),
        client_secret: Some(Secret::new(idp::OIDC_CLIENT_SECRET)),
        discovery_url: Some(idp.oidc_discovery_url()),
        scopes: vec!["openid".into(), "email".into(), "profile".into()],
        ..GenericOAuthConfig::default()
    }];
    cfg.limits.provider_timeout = 2;
}

/// A server with the three providers configured (and `tweak` applied after).
pub async fn spawn(db: Db, idp: &Idp, tweak: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::spawn_with(db, |cfg| {
        configure(cfg, idp);
        tweak(cfg);
    })
    .await
}

/// `POST /sign-in/social` with `body` (merged into `{provider}`), expecting the redirect answer.
pub async fn start(client: &mut Client, provider: &str, body: Value) -> String {
    let mut b = json!({ "provider": provider });
    if let (Some(target), Value::Object(extra)) = (b.as_object_mut(), body) {
        target.extend(extra);
    }
    let r = client.post("/sign-in/social", b).await;
    assert_eq!(r.status, 200, "sign-in/social: {}", r.text);
    assert_eq!(r.json["redirect"], true, "{}", r.text);
    let url = r.json["url"].as_str().expect("url").to_owned();
    assert_eq!(r.header("location"), Some(url.as_str()));
    url
}

/// A whole sign-in: start, the provider's decision, and the callback as the browser makes it.
/// Returns the callback's answer (a redirect).
pub async fn sign_in(client: &mut Client, idp: &Idp, provider: &str, body: Value) -> Resp {
    let url = start(client, provider, body).await;
    let callback = idp.follow_authorize(&url).await;
    client.open(&callback).await
}

/// The user with `email` and their accounts, from the database.
pub async fn user_and_accounts(app: &TestApp, email: &str) -> (User, Vec<Account>) {
    let user = app
        .store
        .find_user_by_email(email)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no user {email}"));
    let accounts = app.store.list_accounts(&user.id).await.unwrap();
    (user, accounts)
}

/// The account of `provider` among `accounts`.
pub fn account<'a>(accounts: &'a [Account], provider: &str) -> &'a Account {
    accounts
        .iter()
        .find(|a| a.provider_id == provider)
        .unwrap_or_else(|| panic!("no {provider} account in {accounts:?}"))
}

/// The query of a redirect's `Location` (relative or absolute).
pub fn location_query(r: &Resp) -> std::collections::BTreeMap<String, String> {
    let loc = r.header("location").expect("location");
    if loc.starts_with('/') {
        idp::query_of(&format!("http://x.invalid{loc}"))
    } else {
        idp::query_of(loc)
    }
}
