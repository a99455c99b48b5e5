//! Email verification with better-auth's stateless token: an HS256 JWT (header `{"alg":"HS256"}`,
//! key = the secret) with `email`, `userId`, `iat` and `exp`, so a link issued by either server
//! verifies on the other when they share the secret.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{Auth, AuthError, ClientInfo, ErrorCode, session};
use crate::email::Kind;
use crate::model::{Session, User, now_ms};

fn mac(secret: &str) -> Hmac<Sha256> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length")
}

pub fn create_token(secret: &str, email: &str, user_id: &str, expires_in: i64) -> String {
    sign_claims(
        secret,
        json!({ "email": email, "userId": user_id }),
        expires_in,
    )
}

/// Signs `claims` plus `iat`/`exp` as better-auth's HS256 email token.
pub fn sign_claims(secret: &str, mut claims: Value, expires_in: i64) -> String {
    let iat = chrono::Utc::now().timestamp();
    claims["iat"] = iat.into();
    claims["exp"] = (iat + expires_in).into();
    let header = B64.encode(r#"{"alg":"HS256"}"#);
    let input = format!("{header}.{}", B64.encode(claims.to_string()));
    let mut m = mac(secret);
    m.update(input.as_bytes());
    format!("{input}.{}", B64.encode(m.finalize().into_bytes()))
}

/// The claims of a valid, unexpired token (no clock tolerance, as better-auth).
pub fn verify_token(secret: &str, token: &str) -> Result<Value, ErrorCode> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ErrorCode::InvalidToken);
    };
    let header: Value = B64
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(ErrorCode::InvalidToken)?;
    if header["alg"] != "HS256" {
        return Err(ErrorCode::InvalidToken);
    }
    let sig = B64.decode(s).map_err(|_| ErrorCode::InvalidToken)?;
    let mut m = mac(secret);
    m.update(format!("{h}.{c}").as_bytes());
    m.verify_slice(&sig).map_err(|_| ErrorCode::InvalidToken)?; // constant time
    let claims: Value = B64
        .decode(c)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(ErrorCode::InvalidToken)?;
    let exp = claims["exp"].as_i64().ok_or(ErrorCode::InvalidToken)?;
    if exp <= chrono::Utc::now().timestamp() {
        return Err(ErrorCode::TokenExpired);
    }
    Ok(claims)
}

/// Mails `user` a verification link: `<api>/verify-email?token=…&callbackURL=…`.
pub fn send(auth: &Auth, user: &User, callback: Option<&str>) {
    let token = create_token(
        &auth.secret,
        &user.email,
        &user.id,
        auth.verification.expires_in,
    );
    let callback = callback.filter(|c| !c.is_empty()).unwrap_or("/");
    let url = format!(
        "{}/verify-email?token={token}&callbackURL={}",
        auth.api_url,
        urlencoding(callback)
    );
    auth.mailer
        .send_to_user(Kind::VerifyEmail, user, &url, &token);
}

pub fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// `send-verification-email`. With a session, the email must be the caller's and unverified;
/// without one, the answer is the same whether or not the address exists.
pub async fn request(
    auth: &Auth,
    email: &str,
    callback: Option<&str>,
    caller: Option<&User>,
) -> Result<(), AuthError> {
    let email = super::email::normalize(email);
    if let Some(user) = caller {
        if user.email != email {
            return Err(ErrorCode::EmailMismatch.into());
        }
        if user.email_verified {
            return Err(ErrorCode::EmailAlreadyVerified.into());
        }
        send(auth, user, callback);
        return Ok(());
    }
    // Anonymous requests take at least half a second whatever happens, as in better-auth, so
    // the timing does not reveal whether the address has an unverified account.
    super::at_least(std::time::Duration::from_millis(500), async {
        if let Some(user) = auth.store.find_user_by_email(&email).await?
            && !user.email_verified
        {
            send(auth, &user, callback);
        }
        Ok(())
    })
    .await
}

/// What following a verification link did.
#[derive(Debug)]
pub struct Verified {
    /// A new session when `auto_sign_in_after_verification` is on and the email was not yet
    /// verified, or when a change of email completes without one.
    pub session: Option<Session>,
    /// The updated user, when a change of email completed (better-auth returns it then).
    pub user: Option<User>,
}

/// `verify-email`: marks the token's user verified (once), optionally signing them in; or,
/// for a change-of-email token, moves the account to the new address.
pub async fn verify(
    auth: &Auth,
    token: &str,
    client: &ClientInfo,
    caller: Option<&User>,
) -> Result<Verified, AuthError> {
    let claims = verify_token(&auth.secret, token)?;
    let email = claims["email"].as_str().ok_or(ErrorCode::InvalidToken)?;
    let user = auth
        .store
        .find_user_by_email(&super::email::normalize(email))
        .await?
        .ok_or(ErrorCode::UserNotFound)?;
    if let Some(new_email) = claims["updateTo"].as_str() {
        if caller.is_some_and(|c| c.id != user.id) {
            return Err(ErrorCode::InvalidUser.into());
        }
        return super::change_email::apply(
            auth,
            &user,
            new_email,
            claims["requestType"].as_str(),
            client,
            caller.is_some(),
        )
        .await;
    }
    if user.email_verified {
        return Ok(Verified {
            session: None,
            user: None,
        });
    }
    auth.store.mark_email_verified(&user.id, now_ms()).await?;
    let session = if auth.verification.auto_sign_in {
        Some(session::create(auth, &user.id, client, true).await?)
    } else {
        None
    };
    Ok(Verified {
        session,
        user: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_fail_closed() {
        let t = create_token("s3cret", "a@b.co", "u1", 60);
        assert_eq!(verify_token("s3cret", &t).unwrap()["email"], "a@b.co");
        assert_eq!(verify_token("other", &t), Err(ErrorCode::InvalidToken));
        assert_eq!(
            verify_token("s3cret", &create_token("s3cret", "a@b.co", "u1", -1)),
            Err(ErrorCode::TokenExpired)
        );
        assert_eq!(verify_token("s3cret", "abc"), Err(ErrorCode::InvalidToken));
        let none = format!(
            "{}.{}.",
            B64.encode(r#"{"alg":"none"}"#),
            t.split('.').nth(1).unwrap()
        );
        assert_eq!(verify_token("s3cret", &none), Err(ErrorCode::InvalidToken));
    }

    #[test]
    fn a_better_auth_token_shape_is_read() {
        // Header and claims exactly as better-auth 1.7.25 writes them.
        let t = create_token("k", "x@y.co", "id", 3600);
        let header: Value =
            serde_json::from_slice(&B64.decode(t.split('.').next().unwrap()).unwrap()).unwrap();
        assert_eq!(header, json!({"alg": "HS256"}));
    }
}
