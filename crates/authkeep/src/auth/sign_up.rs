//! `sign-up/email`: a user, its credential account and (with auto sign-in) a session, atomically.

use super::user_fields::{self, UserFields};
use super::{Auth, AuthError, ClientInfo, ErrorCode, Lifetime, email_verification, session};
use crate::crypto;
use crate::model::{Account, Email, Session, User, now_ms};

/// Holds a password: deliberately not `Debug`, so it cannot end up in a log line.
pub struct SignUp {
    pub name: String,
    pub email: Email,
    pub password: String,
    pub image: Option<String>,
    pub lifetime: Lifetime,
    /// Where the verification link leads after verifying.
    pub callback: Option<String>,
    /// Values the client sent for the deployment's additional user fields.
    pub fields: UserFields,
}

pub async fn sign_up_email(
    auth: &Auth,
    input: SignUp,
    client: &ClientInfo,
) -> Result<(User, Option<Session>), AuthError> {
    let p = &auth.policy;
    if !p.email_password.sign_up_enabled {
        return Err(ErrorCode::EmailPasswordSignUpDisabled.into());
    }
    p.password.check(&input.password)?;
    let mut values = user_fields::for_new_user(&p.user_fields, &input.fields)?;
    super::admin_plugin::users::default_role(p, &mut values);
    let now = now_ms();
    let new_user = |name: String, image: Option<String>| {
        let mut user = User::new(name, input.email.as_str().to_owned(), image, false, now);
        user.additional = user_fields::returned(&p.user_fields, &values);
        user
    };
    let required = p.verification.required;
    if auth
        .store
        .find_user_by_email(input.email.as_str())
        .await?
        .is_some()
    {
        if required {
            // As better-auth: when sign-up cannot sign anyone in, a taken address gets the same
            // answer as a free one (a user that was never stored), so it cannot be probed.
            let _ = auth.hasher.hash(&input.password).await?;
            return Ok((new_user(input.name, input.image), None));
        }
        return Err(ErrorCode::UserAlreadyExistsUseAnotherEmail.into());
    }
    let hash = auth.hasher.hash(&input.password).await?;
    let user = new_user(input.name, input.image);
    let account = Account::credential(crypto::generate_id(), &user.id, hash, now);
    let session = (p.email_password.auto_sign_in && !required)
        .then(|| session::new_session(&p.session, &user.id, client, input.lifetime, now));
    match auth
        .store
        .create_user_with_account(&user, &values, &account, session.as_ref())
        .await
    {
        Ok(()) => {
            if p.verification.send_on_sign_up {
                email_verification::send(auth, &user, input.callback.as_deref());
            }
            Ok((user, session))
        }
        // Lost a race with a concurrent sign-up for the same email: nothing was written.
        Err(e) if e.is_unique_violation() => {
            Err(ErrorCode::UserAlreadyExistsUseAnotherEmail.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// A user proven by a mailed link or code (magic link, email OTP): verified, no password, the
/// additional fields at their defaults. When a concurrent request created the same address
/// first, that user is returned instead (`false`: not new).
pub async fn create_passwordless(
    auth: &Auth,
    name: &str,
    email: &Email,
    image: Option<&str>,
) -> Result<(User, bool), AuthError> {
    let fields = &auth.policy.user_fields;
    let mut values = user_fields::for_new_user(fields, &UserFields::new())?;
    super::admin_plugin::users::default_role(&auth.policy, &mut values);
    let mut user = User::new(
        name.to_owned(),
        email.as_str().to_owned(),
        image.map(str::to_owned),
        true,
        now_ms(),
    );
    user.additional = user_fields::returned(fields, &values);
    match auth.store.create_user(&user, &values).await {
        Ok(()) => Ok((user, true)),
        Err(e) if e.is_unique_violation() => {
            let existing = auth.store.find_user_by_email(email.as_str()).await?;
            Ok((existing.ok_or(ErrorCode::FailedToCreateUser)?, false))
        }
        Err(e) => Err(e.into()),
    }
}
