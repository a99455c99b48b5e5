//! better-auth's magic-link plugin: a single-use, 5-minute link that signs the user in,
//! creating the account on first use. Stored as the verification row `magic-link:<token>` →
//! `{"type":"magic-link","email":…,"name":…}`, as better-auth 1.7.7+ stores it.

use crate::crypto;
use serde_json::{Value, json};

use super::email_token::url_component;
use super::{Auth, AuthError, ClientInfo, Lifetime, session};
use crate::email::{Kind, Values};
use crate::model::{Email, Session, User, Verification, now_ms};
use crate::store::ValueMatch;

const PREFIX: &str = "magic-link:";
const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Where the emailed link sends the browser afterwards.
#[derive(Debug, Default)]
pub struct Callbacks<'a> {
    pub callback: Option<&'a str>,
    pub new_user: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// `sign-in/magic-link`: stores a token and mails the link. The same answer for every address.
pub async fn send(
    auth: &Auth,
    address: &Email,
    name: Option<&str>,
    cb: Callbacks<'_>,
) -> Result<(), AuthError> {
    let token = crypto::random_string(32, LETTERS);
    let mut value = json!({ "type": "magic-link", "email": address.as_str() });
    if let Some(n) = name {
        value["name"] = n.into();
    }
    // Each request adds a row; only the newest few per address stay valid, so flooding one
    // address cannot grow the table.
    let owner = json!({ "email": address.as_str() }).to_string();
    let owner = owner.trim_start_matches('{').trim_end_matches('}');
    let row = Verification::new(
        format!("{PREFIX}{token}"),
        value.to_string(),
        now_ms(),
        auth.policy.magic_link.expires_in,
    );
    auth.store
        .insert_bounded_verification(
            &row,
            PREFIX,
            ValueMatch::Contains(owner),
            auth.policy.max_outstanding_per_address,
        )
        .await?;
    let mut url = format!(
        "{}/magic-link/verify?token={token}&callbackURL={}",
        auth.policy.api_url,
        url_component(cb.callback.unwrap_or("/"))
    );
    if let Some(u) = cb.new_user {
        url.push_str(&format!("&newUserCallbackURL={}", url_component(u)));
    }
    if let Some(u) = cb.error {
        url.push_str(&format!("&errorCallbackURL={}", url_component(u)));
    }
    auth.mailer.send(
        Kind::MagicLink,
        address.as_str(),
        Values {
            url: &url,
            // Anyone may ask for a link to any address, naming themselves anything: the
            // sender's name does not go into the mail.
            name: "",
            email: address.as_str(),
            token: &token,
            ..Default::default()
        },
    );
    Ok(())
}

/// Why a magic link did not sign anyone in, as the `error` better-auth puts in its redirect.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkError {
    InvalidToken,
    NewUserSignupDisabled,
}

impl LinkError {
    pub fn as_str(&self) -> &'static str {
        match self {
            LinkError::InvalidToken => "INVALID_TOKEN",
            LinkError::NewUserSignupDisabled => "new_user_signup_disabled",
        }
    }
}

pub struct SignedIn {
    pub user: User,
    pub session: Session,
    pub is_new_user: bool,
}

/// `magic-link/verify`: consumes the token, creates the user if needed, and signs them in. An
/// existing user whose email was never verified loses every other way in (their password and
/// linked accounts, and their sessions), because whoever set those up never proved the address.
pub async fn verify(
    auth: &Auth,
    token: &str,
    client: &ClientInfo,
) -> Result<Result<SignedIn, LinkError>, AuthError> {
    let Some(row) = auth
        .store
        .consume_verification(&format!("{PREFIX}{token}"))
        .await?
    else {
        return Ok(Err(LinkError::InvalidToken));
    };
    if row.is_expired(now_ms()) {
        return Ok(Err(LinkError::InvalidToken));
    }
    let Ok(value) = serde_json::from_str::<Value>(&row.value) else {
        return Ok(Err(LinkError::InvalidToken));
    };
    let Some(address) = value["email"].as_str().and_then(|e| Email::parse(e).ok()) else {
        return Ok(Err(LinkError::InvalidToken));
    };
    let now = now_ms();
    let (user, is_new_user) = match auth.store.find_user_by_email(address.as_str()).await? {
        Some(u) if u.email_verified => (u, false),
        Some(mut u) => {
            auth.store.revoke_unproven_access(&u.id, now).await?;
            u.email_verified = true;
            u.updated_at = now;
            (u, false)
        }
        None if auth.policy.magic_link.disable_sign_up => {
            return Ok(Err(LinkError::NewUserSignupDisabled));
        }
        None => {
            let name = value["name"].as_str().unwrap_or("");
            super::sign_up::create_passwordless(auth, name, &address, None).await?
        }
    };
    let session = session::create(auth, &user.id, client, Lifetime::Remembered).await?;
    Ok(Ok(SignedIn {
        user,
        session,
        is_new_user,
    }))
}
