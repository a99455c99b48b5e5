//! Who a provider account signs in as, by better-auth's rules (`handleOAuthUserInfo`): the
//! user already linked to it; else the user with its email, linked implicitly only when
//! allowed; else a new user.

use super::super::{
    Auth, AuthError, ClientInfo, Lifetime, email_verification, session, user_fields,
};
use super::Social;
use super::exchange::Tokens;
use super::profile::Profile;
use super::provider::Provider;
use crate::crypto;
use crate::model::{Account, Session, User, now_ms, rewrites_text};
use crate::store::{ProfileChange, TokenUpdate, UserFields};

/// Why a provider account did not sign in or link: better-auth's error texts. In a callback
/// redirect the text goes in `?error=` with spaces as underscores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    AccountNotLinked,
    UnableToLinkAccount,
    SignupDisabled,
    UnableToCreateUser,
    UnableToUpdateAccount,
    EmailNotVerified,
    EmailDoesNotMatch,
    AccountAlreadyLinkedToDifferentUser,
}

impl Failure {
    /// better-auth's text for it (the `message` of ID-token sign-in's `OAUTH_LINK_ERROR`).
    pub fn message(self) -> &'static str {
        match self {
            Failure::AccountNotLinked => "account not linked",
            Failure::UnableToLinkAccount => "unable to link account",
            Failure::SignupDisabled => "signup disabled",
            Failure::UnableToCreateUser => "unable to create user",
            Failure::UnableToUpdateAccount => "unable to update account",
            Failure::EmailNotVerified => "email_not_verified",
            Failure::EmailDoesNotMatch => "email_does_not_match",
            Failure::AccountAlreadyLinkedToDifferentUser => {
                "account_already_linked_to_different_user"
            }
        }
    }

    /// The `error` of a callback redirect.
    pub fn code(self) -> String {
        self.message().replace(' ', "_")
    }
}

/// A signed-in user.
#[derive(Debug)]
pub struct SignedIn {
    pub user: User,
    pub session: Session,
    pub is_new_user: bool,
}

/// How the tokens of this sign-in are to be stored.
#[derive(Clone, Default)]
pub struct AccountTokens {
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub access_token_expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub refresh_token_expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Comma-joined, as better-auth stores scopes; `None`: no scope column value.
    pub scope: Option<String>,
}

impl AccountTokens {
    /// A code exchange's tokens (scope `""` when the provider named none, as better-auth
    /// writes `[].join(",")`).
    pub fn from_exchange(t: &Tokens) -> Self {
        AccountTokens {
            access_token: t.access_token.clone(),
            refresh_token: t.refresh_token.clone(),
            id_token: t.id_token.clone(),
            access_token_expires_at: t.access_token_expires_at,
            refresh_token_expires_at: t.refresh_token_expires_at,
            scope: Some(t.scopes.join(",")),
        }
    }

    /// The update better-auth makes at a returning sign-in: the tokens the provider sent (as
    /// stored), never the scope.
    pub(super) fn sign_in_update(&self, social: &Social) -> Result<TokenUpdate, AuthError> {
        Ok(TokenUpdate {
            access_token: seal(social, self.access_token.as_deref())?,
            refresh_token: seal(social, self.refresh_token.as_deref())?,
            id_token: self.id_token.clone(),
            access_token_expires_at: self.access_token_expires_at,
            refresh_token_expires_at: self.refresh_token_expires_at,
            scope: None,
        })
    }

    pub(super) fn account(
        &self,
        social: &Social,
        provider_id: &str,
        account_id: &str,
        user_id: &str,
    ) -> Result<Account, AuthError> {
        let now = now_ms();
        Ok(Account {
            id: crypto::generate_id(),
            account_id: account_id.to_owned(),
            provider_id: provider_id.to_owned(),
            user_id: user_id.to_owned(),
            access_token: seal(social, self.access_token.as_deref())?,
            refresh_token: seal(social, self.refresh_token.as_deref())?,
            id_token: self.id_token.clone(),
            access_token_expires_at: self.access_token_expires_at,
            refresh_token_expires_at: self.refresh_token_expires_at,
            password: None,
            scope: self.scope.clone(),
            created_at: now,
            updated_at: now,
        })
    }
}

fn seal(social: &Social, token: Option<&str>) -> Result<Option<String>, AuthError> {
    social
        .store_token(token)
        .map_err(|_| AuthError::Message("Unable to encrypt the provider's token"))
}

/// A name from a provider, without the characters that rewrite text around them.
fn clean_name(name: &str) -> String {
    name.chars()
        .filter(|c| !rewrites_text(*c))
        .take(256)
        .collect()
}

/// Signs in the user behind `profile` (whose email the caller has checked is present),
/// creating or implicitly linking them as better-auth would. `disable_sign_up`: no new user.
pub async fn sign_in(
    auth: &Auth,
    provider: &Provider,
    profile: &Profile,
    tokens: &AccountTokens,
    disable_sign_up: bool,
    callback_url: Option<&str>,
    client: &ClientInfo,
) -> Result<Result<SignedIn, Failure>, AuthError> {
    // A concurrent first sign-in of the same person may create the user between this one's
    // lookup and insert; the second attempt then finds it.
    for attempt in 0..2 {
        match try_sign_in(
            auth,
            provider,
            profile,
            tokens,
            disable_sign_up,
            callback_url,
            client,
        )
        .await
        {
            Err(AuthError::Store(e)) if e.is_unique_violation() && attempt == 0 => continue,
            Err(AuthError::Store(e)) if e.is_unique_violation() => {
                return Ok(Err(Failure::UnableToCreateUser));
            }
            other => return other,
        }
    }
    Ok(Err(Failure::UnableToCreateUser))
}

async fn try_sign_in(
    auth: &Auth,
    provider: &Provider,
    profile: &Profile,
    tokens: &AccountTokens,
    disable_sign_up: bool,
    callback_url: Option<&str>,
    client: &ClientInfo,
) -> Result<Result<SignedIn, Failure>, AuthError> {
    let social = &auth.social;
    let email = profile.email.as_deref().unwrap_or("").to_lowercase();
    let linked = auth
        .store
        .find_account_by_provider(provider.id(), &profile.account_id)
        .await?;
    let existing = match &linked {
        Some(account) => match auth.store.find_user_by_id(&account.user_id).await? {
            Some(user) => Some(user),
            // An account whose user is gone needs repair, not a sign-in.
            None => return Ok(Err(Failure::UnableToLinkAccount)),
        },
        None => auth.store.find_user_by_email(&email).await?,
    };
    let verified_by_provider = profile.email_verified;
    let (user, is_new_user) = match existing {
        Some(user) => {
            match &linked {
                Some(account) => {
                    if social.update_account_on_sign_in {
                        let update = tokens.sign_in_update(social)?;
                        if !auth
                            .store
                            .update_account_tokens(&account.id, &update, now_ms())
                            .await?
                        {
                            return Ok(Err(Failure::UnableToUpdateAccount));
                        }
                    }
                }
                None => {
                    if let Err(f) = link_implicitly(auth, provider, profile, tokens, &user).await? {
                        return Ok(Err(f));
                    }
                }
            }
            let mut user = user;
            if verified_by_provider && !user.email_verified && email == user.email {
                auth.store.mark_email_verified(&user.id, now_ms()).await?;
                user.email_verified = true;
            }
            if linked.is_none() && social.linking.update_user_info_on_link {
                user = update_profile(auth, &user, profile).await?;
            }
            if provider.settings.override_user_info {
                user = override_user(auth, &user, profile, &email).await?;
            }
            (user, false)
        }
        None => {
            if disable_sign_up {
                return Ok(Err(Failure::SignupDisabled));
            }
            let user = create_user(auth, provider, profile, tokens, &email).await?;
            (user, true)
        }
    };
    let requires_verification = provider.settings.require_email_verification;
    if is_new_user
        && !user.email_verified
        && auth
            .policy
            .verification
            .send_on_sign_up_configured
            .unwrap_or(requires_verification)
    {
        email_verification::send(auth, &user, callback_url);
    }
    if requires_verification && !user.email_verified {
        if !is_new_user && auth.policy.verification.send_on_sign_in {
            email_verification::send(auth, &user, callback_url);
        }
        return Ok(Err(Failure::EmailNotVerified));
    }
    let session = session::create(auth, &user.id, client, Lifetime::Remembered).await?;
    Ok(Ok(SignedIn {
        user,
        session,
        is_new_user,
    }))
}

/// Implicit linking at sign-in: only when linking is on and not limited to `link-social`,
/// the provider is trusted or says the email is verified, and (by default) the local user
/// has verified the email too.
async fn link_implicitly(
    auth: &Auth,
    provider: &Provider,
    profile: &Profile,
    tokens: &AccountTokens,
    user: &User,
) -> Result<Result<(), Failure>, AuthError> {
    let l = &auth.social.linking;
    let trusted = l.trusts(provider.id()) || profile.email_verified;
    if !trusted
        || (l.require_local_email_verified && !user.email_verified)
        || !l.enabled
        || l.disable_implicit_linking
    {
        return Ok(Err(Failure::AccountNotLinked));
    }
    let account = tokens.account(&auth.social, provider.id(), &profile.account_id, &user.id)?;
    match auth.store.link_account(&account).await? {
        None => Ok(Ok(())),
        // Linked meanwhile by a concurrent sign-in: fine if to this user.
        Some(existing) if existing.user_id == user.id => Ok(Ok(())),
        Some(_) => Ok(Err(Failure::UnableToLinkAccount)),
    }
}

async fn create_user(
    auth: &Auth,
    provider: &Provider,
    profile: &Profile,
    tokens: &AccountTokens,
    email: &str,
) -> Result<User, AuthError> {
    let fields = &auth.policy.user_fields;
    let mut values = user_fields::for_new_user(fields, &UserFields::new())?;
    crate::auth::admin_plugin::users::default_role(&auth.policy, &mut values);
    let mut user = User::new(
        clean_name(&profile.name),
        email.to_owned(),
        profile.image.clone(),
        profile.email_verified,
        now_ms(),
    );
    user.additional = user_fields::returned(fields, &values);
    let account = tokens.account(&auth.social, provider.id(), &profile.account_id, &user.id)?;
    auth.store
        .create_user_with_account(&user, &values, &account, None)
        .await?;
    Ok(user)
}

/// `updateUserInfoOnLink`: the provider's name and picture; never the email.
pub(super) async fn update_profile(
    auth: &Auth,
    user: &User,
    profile: &Profile,
) -> Result<User, AuthError> {
    let name = clean_name(&profile.name);
    let fields = UserFields::new();
    let change = ProfileChange {
        name: Some(&name),
        image: profile.image.as_deref().map(Some),
        fields: &fields,
    };
    Ok(auth
        .store
        .update_user_profile(&user.id, &change, now_ms())
        .await?
        .unwrap_or_else(|| user.clone()))
}

/// `overrideUserInfoOnSignIn`: name, picture and email from the provider at every sign-in.
/// An email another user has is left as it was.
async fn override_user(
    auth: &Auth,
    user: &User,
    profile: &Profile,
    email: &str,
) -> Result<User, AuthError> {
    let mut updated = update_profile(auth, user, profile).await?;
    let verified = if email == user.email {
        user.email_verified || profile.email_verified
    } else {
        profile.email_verified
    };
    if email != updated.email || verified != updated.email_verified {
        match auth
            .store
            .update_email(&user.id, email, verified, now_ms())
            .await
        {
            Ok(Some(u)) => updated = u,
            Ok(None) => {}
            Err(e) if e.is_unique_violation() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_become_better_auths_redirect_codes() {
        assert_eq!(Failure::AccountNotLinked.code(), "account_not_linked");
        assert_eq!(Failure::SignupDisabled.code(), "signup_disabled");
        assert_eq!(Failure::EmailNotVerified.code(), "email_not_verified");
    }
}
