//! Which store each session and verification operation uses. Without secondary storage every
//! operation is the database's. With it, as better-auth does: sessions live in Redis (and
//! also in the database with `store_session_in_database`, which then answers when Redis has no
//! entry); verification values live in Redis (or in the database, mirrored to Redis, with
//! `verification.store_in_database`). Changes to users that sessions embed rewrite the cached
//! copies, and revoking all of a user's sessions leaves better-auth's revocation marker.
//!
//! A Redis failure is an error (503), never a fall-back to the database: the database does not
//! know about revocations kept in Redis.

use chrono::{DateTime, Utc};

use super::secondary::sessions::Cached;
use super::{PasswordSet, ProfileChange, Store, StoreResult, UserFields, ValueMatch};
use crate::model::{Account, Session, User, Verification, now_ms};

impl Store {
    /// Creates a user (with its additional `fields`), its first account (credential or
    /// provider link) and (optionally) a first session, atomically in the database. A taken
    /// email is `UniqueViolation` and writes nothing. With secondary storage the session is
    /// stored there once the user exists.
    pub async fn create_user_with_account(
        &self,
        user: &User,
        fields: &UserFields,
        account: &Account,
        session: Option<&Session>,
    ) -> StoreResult<()> {
        let Some(ss) = &self.secondary else {
            return self
                .db_create_user_with_account(user, fields, account, session)
                .await;
        };
        let in_db = session.filter(|_| ss.sessions_in_database);
        self.db_create_user_with_account(user, fields, account, in_db)
            .await?;
        match session {
            Some(s) => self.cache_session(s).await,
            None => Ok(()),
        }
    }

    /// Writes a new session to secondary storage with its user as the database has it.
    async fn cache_session(&self, s: &Session) -> StoreResult<()> {
        let Some(ss) = &self.secondary else {
            return Ok(());
        };
        let Some(user) = self.find_user_by_id(&s.user_id).await? else {
            return Ok(());
        };
        ss.put_session(s, &user, ss.sessions_in_database, now_ms())
            .await
    }

    /// Sets a new password hash; with `replace_sessions` also ends all of the user's sessions
    /// and starts the given one.
    pub async fn update_password(
        &self,
        account_id: &str,
        hash: &str,
        now: DateTime<Utc>,
        replace_sessions: Option<&Session>,
    ) -> StoreResult<()> {
        let Some(ss) = &self.secondary else {
            return self
                .db_update_password(account_id, hash, now, replace_sessions)
                .await;
        };
        let in_db = replace_sessions.filter(|_| ss.sessions_in_database);
        self.db_update_password(account_id, hash, now, in_db)
            .await?;
        if let Some(s) = replace_sessions {
            // Every session created before the new one ends, on every replica.
            ss.revoke_all(&s.user_id, s.created_at, now_ms()).await?;
            self.cache_session(s).await?;
        }
        Ok(())
    }

    pub async fn create_session(&self, session: &Session) -> StoreResult<()> {
        match &self.secondary {
            Some(ss) if !ss.sessions_in_database => self.cache_session(session).await,
            Some(_) => {
                self.db_create_session(session).await?;
                self.cache_session(session).await
            }
            None => self.db_create_session(session).await,
        }
    }

    /// The session with this token and its user.
    pub async fn find_session_with_user(
        &self,
        token: &str,
    ) -> StoreResult<Option<(Session, User)>> {
        let Some(ss) = &self.secondary else {
            return self.db_find_session_with_user(token).await;
        };
        match ss.find_session(self.schema(), token).await? {
            Cached::Found(found) => Ok(Some(*found)),
            Cached::Revoked => Ok(None),
            Cached::Absent if ss.sessions_in_database => {
                self.db_find_session_with_user(token).await
            }
            Cached::Absent => Ok(None),
        }
    }

    /// Extends a session; false when it is gone.
    pub async fn refresh_session(
        &self,
        token: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let Some(ss) = &self.secondary else {
            return self.db_refresh_session(token, expires_at, now).await;
        };
        let cached = ss.refresh_session(token, expires_at, now).await?;
        if ss.sessions_in_database {
            let stored = self.db_refresh_session(token, expires_at, now).await?;
            return Ok(cached || stored);
        }
        Ok(cached)
    }

    pub async fn delete_session(&self, token: &str) -> StoreResult<()> {
        if let Some(ss) = &self.secondary {
            ss.delete_session(token, now_ms()).await?;
            if !ss.sessions_in_database {
                return Ok(());
            }
        }
        self.db_delete_session(token).await
    }

    /// Ends the session `token` only if it is `user_id`'s.
    pub async fn delete_user_session(&self, user_id: &str, token: &str) -> StoreResult<()> {
        if let Some(ss) = &self.secondary {
            if let Cached::Found(found) = ss.find_session(self.schema(), token).await?
                && found.0.user_id == user_id
            {
                ss.delete_session(token, now_ms()).await?;
            }
            if !ss.sessions_in_database {
                return Ok(());
            }
        }
        self.db_delete_user_session(user_id, token).await
    }

    /// The user's live sessions: from the database when sessions are stored there (as
    /// better-auth lists them), else from the user's list in secondary storage.
    pub async fn list_active_sessions(
        &self,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Session>> {
        match &self.secondary {
            Some(ss) if !ss.sessions_in_database => {
                ss.list_sessions(self.schema(), user_id, now).await
            }
            _ => self.db_list_active_sessions(user_id, now).await,
        }
    }

    /// Ends every session of the user.
    pub async fn delete_user_sessions(&self, user_id: &str) -> StoreResult<()> {
        if let Some(ss) = &self.secondary {
            if ss.sessions_in_database {
                self.db_delete_user_sessions(user_id).await?;
            }
            return self.revoke_cached(user_id).await;
        }
        self.db_delete_user_sessions(user_id).await
    }

    /// better-auth's revocation in secondary storage after the database has changed.
    async fn revoke_cached(&self, user_id: &str) -> StoreResult<()> {
        match &self.secondary {
            Some(ss) => {
                let now = now_ms();
                ss.revoke_all(user_id, now, now).await
            }
            None => Ok(()),
        }
    }

    /// Ends every session of the user but `keep_token`. No revocation marker: it would end
    /// the kept session too (better-auth deletes the other sessions one by one).
    pub async fn delete_user_sessions_except(
        &self,
        user_id: &str,
        keep_token: &str,
    ) -> StoreResult<()> {
        let Some(ss) = &self.secondary else {
            return self
                .db_delete_user_sessions_except(user_id, keep_token)
                .await;
        };
        let mut tokens = ss.listed_tokens_except(user_id, keep_token).await?;
        if ss.sessions_in_database {
            let rows = self.db_list_active_sessions(user_id, now_ms()).await?;
            tokens.extend(
                rows.into_iter()
                    .map(|s| s.token)
                    .filter(|t| t != keep_token),
            );
            self.db_delete_user_sessions_except(user_id, keep_token)
                .await?;
        }
        ss.delete_listed(user_id, tokens.into_iter(), now_ms())
            .await
    }

    /// Rewrites the user embedded in the user's cached sessions.
    async fn recache_user(&self, user: Option<&User>) -> StoreResult<()> {
        match (&self.secondary, user) {
            (Some(ss), Some(user)) => ss.refresh_user(user, now_ms()).await,
            _ => Ok(()),
        }
    }

    /// Updates name, image and additional fields as `change` says. Returns the updated user.
    pub async fn update_user_profile(
        &self,
        user_id: &str,
        change: &ProfileChange<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>> {
        let user = self.db_update_user_profile(user_id, change, now).await?;
        self.recache_user(user.as_ref()).await?;
        Ok(user)
    }

    /// Moves the user to a new email address (a taken one is `UniqueViolation`).
    pub async fn update_email(
        &self,
        user_id: &str,
        email: &str,
        verified: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>> {
        let user = self.db_update_email(user_id, email, verified, now).await?;
        self.recache_user(user.as_ref()).await?;
        Ok(user)
    }

    pub async fn mark_email_verified(&self, user_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        self.db_mark_email_verified(user_id, now).await?;
        if self.secondary.is_some() {
            let user = self.find_user_by_id(user_id).await?;
            self.recache_user(user.as_ref()).await?;
        }
        Ok(())
    }

    /// Sets the user's password, creating the credential account if missing, with `effect`
    /// on the rest.
    pub async fn set_password(
        &self,
        user_id: &str,
        new_account_id: &str,
        hash: &str,
        now: DateTime<Utc>,
        effect: PasswordSet,
    ) -> StoreResult<()> {
        self.db_set_password(user_id, new_account_id, hash, now, effect)
            .await?;
        match effect {
            PasswordSet::KeepSessions => Ok(()),
            PasswordSet::RevokeSessions | PasswordSet::ProvesEmail => {
                self.revoke_cached(user_id).await
            }
        }
    }

    /// Deletes all accounts and sessions of the user and marks the email verified (better-auth's
    /// `revokeUnprovenAccountAccess`).
    pub async fn revoke_unproven_access(
        &self,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.db_revoke_unproven_access(user_id, now).await?;
        self.revoke_cached(user_id).await
    }

    /// Deletes the user with its sessions and accounts.
    pub async fn delete_user(&self, user_id: &str) -> StoreResult<()> {
        self.db_delete_user(user_id).await?;
        self.revoke_cached(user_id).await
    }

    /// Whether verification values are only in secondary storage.
    fn verifications_cached_only(&self) -> bool {
        self.secondary
            .as_ref()
            .is_some_and(|ss| !ss.verifications_in_database)
    }

    /// Stores `v` in place of every other value with its identifier (a new code replaces the
    /// old one), atomically.
    pub async fn replace_verification(&self, v: &Verification) -> StoreResult<()> {
        if !self.verifications_cached_only() {
            self.db_replace_verification(v).await?;
        }
        match &self.secondary {
            Some(ss) => ss.put_verification(v, now_ms()).await,
            None => Ok(()),
        }
    }

    /// Stores `v` and keeps, of the values of one kind (`identifier_prefix`) for one owner,
    /// only the newest `max` (counting `v`), atomically per owner.
    pub async fn insert_bounded_verification(
        &self,
        v: &Verification,
        identifier_prefix: &str,
        owner: ValueMatch<'_>,
        max: usize,
    ) -> StoreResult<()> {
        if self.verifications_cached_only()
            && let Some(ss) = &self.secondary
        {
            let owner = match owner {
                ValueMatch::Exact(o) | ValueMatch::Contains(o) => o,
            };
            let index = format!("{identifier_prefix}{owner}");
            return ss.put_bounded_verification(v, &index, max, now_ms()).await;
        }
        self.db_insert_bounded_verification(v, identifier_prefix, owner, max)
            .await?;
        match &self.secondary {
            Some(ss) => ss.put_verification(v, now_ms()).await,
            None => Ok(()),
        }
    }

    /// The newest verification value for `identifier`.
    pub async fn find_verification(&self, identifier: &str) -> StoreResult<Option<Verification>> {
        match &self.secondary {
            Some(ss) if !ss.verifications_in_database => ss.find_verification(identifier).await,
            _ => self.db_find_verification(identifier).await,
        }
    }

    /// Takes the value for `identifier` (deleting every row of it) and returns the newest,
    /// atomically.
    pub async fn consume_verification(
        &self,
        identifier: &str,
    ) -> StoreResult<Option<Verification>> {
        let Some(ss) = &self.secondary else {
            return self.db_consume_verification(identifier).await;
        };
        if !ss.verifications_in_database {
            return ss.consume_verification(identifier).await;
        }
        let row = self.db_consume_verification(identifier).await?;
        ss.delete_verification(identifier).await?;
        Ok(row)
    }

    /// Compare-and-swap on a verification value: false when `row` no longer holds `expected`
    /// (someone else changed or used it first).
    pub async fn swap_verification_value(
        &self,
        row: &Verification,
        expected: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let Some(ss) = &self.secondary else {
            return self
                .db_swap_verification_value(&row.id, expected, value, now)
                .await;
        };
        if !ss.verifications_in_database {
            return ss.swap_verification(row, expected, value, now).await;
        }
        let swapped = self
            .db_swap_verification_value(&row.id, expected, value, now)
            .await?;
        if swapped {
            let updated = Verification {
                value: value.to_owned(),
                updated_at: now,
                ..row.clone()
            };
            ss.put_verification(&updated, now).await?;
        }
        Ok(swapped)
    }

    /// Uses a verification value up, only while it still holds `expected`.
    pub async fn delete_verification_if(
        &self,
        row: &Verification,
        expected: &str,
    ) -> StoreResult<bool> {
        let Some(ss) = &self.secondary else {
            return self.db_delete_verification_if(&row.id, expected).await;
        };
        if !ss.verifications_in_database {
            return ss.delete_verification_if(row, expected).await;
        }
        let deleted = self.db_delete_verification_if(&row.id, expected).await?;
        if deleted {
            ss.delete_verification(&row.identifier).await?;
        }
        Ok(deleted)
    }

    pub async fn delete_verification(&self, row: &Verification) -> StoreResult<()> {
        if let Some(ss) = &self.secondary {
            ss.delete_verification(&row.identifier).await?;
            if !ss.verifications_in_database {
                return Ok(());
            }
        }
        self.db_delete_verification(&row.id).await
    }

    /// Checks that secondary storage answers (when there is one).
    pub async fn ping_secondary(&self) -> StoreResult<()> {
        match &self.secondary {
            Some(ss) => ss.ping().await,
            None => Ok(()),
        }
    }
}
