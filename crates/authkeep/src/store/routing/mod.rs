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

mod verifications;

use crate::model::{Account, Session, User, now_ms};
use crate::store::secondary::sessions::Cached;
use crate::store::{PasswordSet, ProfileChange, Store, StoreResult, UserFields};

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
        if session.is_some() {
            // A Redis that is down answers now, before a user exists whose first session could
            // not be stored (a retried sign-up would then find the email taken).
            ss.ping().await?;
        }
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
        // Every session created before the new one ends, on every replica. Revoked before the
        // password changes: if Redis fails, nothing changed and the user can retry; if the
        // database fails, the user is signed out with the old password still valid, never
        // left with other sessions alive.
        if let Some(s) = replace_sessions {
            ss.revoke_all(&s.user_id, s.created_at, now_ms()).await?;
        }
        let in_db = replace_sessions.filter(|_| ss.sessions_in_database);
        self.db_update_password(account_id, hash, now, in_db)
            .await?;
        match replace_sessions {
            Some(s) => self.cache_session(s).await,
            None => Ok(()),
        }
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

    /// A session marked `impersonatedBy` (the admin plugin's), wherever sessions are kept.
    pub async fn create_impersonation_session(&self, session: &Session) -> StoreResult<()> {
        match &self.secondary {
            Some(ss) if !ss.sessions_in_database => self.cache_session(session).await,
            Some(_) => {
                self.db_create_impersonation_session(session).await?;
                self.cache_session(session).await
            }
            None => self.db_create_impersonation_session(session).await,
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
            // The database's row is refused too when the user's sessions were revoked in Redis
            // (better-auth does not check): a revocation whose database half failed holds.
            Cached::Absent if ss.sessions_in_database => {
                match self.db_find_session_with_user(token).await? {
                    Some((s, _)) if ss.is_revoked(&s).await? => Ok(None),
                    found => Ok(found),
                }
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
            self.revoke_cached(user_id).await?;
            if ss.sessions_in_database {
                self.db_delete_user_sessions(user_id).await?;
            }
            return Ok(());
        }
        self.db_delete_user_sessions(user_id).await
    }

    /// better-auth's revocation in secondary storage. Done before the database changes that go
    /// with it: a failure then leaves the user signed out rather than a session alive.
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
        if effect != PasswordSet::KeepSessions {
            self.revoke_cached(user_id).await?;
        }
        self.db_set_password(user_id, new_account_id, hash, now, effect)
            .await
    }

    /// Deletes all accounts and sessions of the user and marks the email verified (better-auth's
    /// `revokeUnprovenAccountAccess`).
    pub async fn revoke_unproven_access(
        &self,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.revoke_cached(user_id).await?;
        self.db_revoke_unproven_access(user_id, now).await
    }

    /// Deletes the user with its sessions and accounts.
    pub async fn delete_user(&self, user_id: &str) -> StoreResult<()> {
        self.revoke_cached(user_id).await?;
        self.db_delete_user(user_id).await
    }

    /// Checks that secondary storage answers (when there is one).
    pub async fn ping_secondary(&self) -> StoreResult<()> {
        match &self.secondary {
            Some(ss) => ss.ping().await,
            None => Ok(()),
        }
    }
}
