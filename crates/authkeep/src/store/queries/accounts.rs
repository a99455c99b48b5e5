//! Accounts: the credential account (password) and provider links.
use chrono::{DateTime, Utc};
use sqlx::Connection;

use super::{pg_ts, sqlite_ts};
use crate::model::{Account, CREDENTIAL_PROVIDER, Session};
use crate::store::StoreResult;
use crate::store::sql::Statements;

macro_rules! accounts_queries {
    ($name:ident, $db:ty, $ts:path, $postgres:expr) => {
        pub(super) mod $name {
            use super::super::$name::*;
            use super::*;
            super::super::prelude!($db, $postgres);

            pub(in crate::store) async fn insert_account(
                conn: &mut Conn,
                sql: &Statements,
                a: &Account,
            ) -> StoreResult<()> {
                q(&sql.insert_account)
                    .bind(a.id.clone())
                    .bind(a.account_id.clone())
                    .bind(a.provider_id.clone())
                    .bind(a.user_id.clone())
                    .bind(a.access_token.clone())
                    .bind(a.refresh_token.clone())
                    .bind(a.id_token.clone())
                    .bind(a.access_token_expires_at.map($ts))
                    .bind(a.refresh_token_expires_at.map($ts))
                    .bind(a.scope.clone())
                    .bind(a.password.clone())
                    .bind($ts(a.created_at))
                    .bind($ts(a.updated_at))
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            pub(in crate::store) async fn find_account_by_provider(
                conn: &mut Conn,
                sql: &Statements,
                provider_id: &str,
                account_id: &str,
            ) -> StoreResult<Option<Account>> {
                let row = q(&sql.account_by_provider)
                    .bind(provider_id.to_owned())
                    .bind(account_id.to_owned())
                    .fetch_optional(&mut *conn)
                    .await?;
                Ok(row.map(|r| sqlx::FromRow::from_row(&r)).transpose()?)
            }

            /// Inserts `a` unless the provider account is already linked (to anyone), under a
            /// lock on the provider account: two concurrent links cannot both insert. Returns
            /// the existing link instead when there is one.
            pub(in crate::store) async fn link_account(
                conn: &mut Conn,
                sql: &Statements,
                a: &Account,
            ) -> StoreResult<Option<Account>> {
                let key = format!("account:{}:{}", a.provider_id, a.account_id);
                let mut tx = begin_locked(conn, &key).await?;
                if let Some(existing) =
                    find_account_by_provider(&mut tx, sql, &a.provider_id, &a.account_id).await?
                {
                    return Ok(Some(existing));
                }
                insert_account(&mut tx, sql, a).await?;
                tx.commit().await?;
                Ok(None)
            }

            pub(in crate::store) async fn update_account_tokens(
                conn: &mut Conn,
                sql: &Statements,
                id: &str,
                t: &crate::store::TokenUpdate,
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let done = q(&sql.update_account_tokens)
                    .bind(t.access_token.is_some())
                    .bind(t.access_token.clone())
                    .bind(t.refresh_token.is_some())
                    .bind(t.refresh_token.clone())
                    .bind(t.id_token.is_some())
                    .bind(t.id_token.clone())
                    .bind(t.access_token_expires_at.is_some())
                    .bind(t.access_token_expires_at.map($ts))
                    .bind(t.refresh_token_expires_at.is_some())
                    .bind(t.refresh_token_expires_at.map($ts))
                    .bind(t.scope.is_some())
                    .bind(t.scope.clone())
                    .bind($ts(now))
                    .bind(id.to_owned())
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            /// Deletes one of the user's accounts, never the last one unless `allow_last`, under
            /// a lock on the user: two concurrent unlinks cannot remove the last two.
            pub(in crate::store) async fn unlink_account(
                conn: &mut Conn,
                sql: &Statements,
                user_id: &str,
                id: &str,
                allow_last: bool,
            ) -> StoreResult<crate::store::Unlink> {
                let mut tx = begin_locked(conn, &format!("accounts-of:{user_id}")).await?;
                let accounts = list_accounts(&mut tx, sql, user_id).await?;
                if accounts.len() == 1 && !allow_last {
                    return Ok(crate::store::Unlink::LastAccount);
                }
                if !accounts.iter().any(|a| a.id == id) {
                    return Ok(crate::store::Unlink::NotFound);
                }
                q(&sql.delete_user_account)
                    .bind(id.to_owned())
                    .bind(user_id.to_owned())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(crate::store::Unlink::Done)
            }

            pub(in crate::store) async fn find_credential_account(
                conn: &mut Conn,
                sql: &Statements,
                user_id: &str,
            ) -> StoreResult<Option<Account>> {
                let row = q(&sql.credential_account)
                    .bind(user_id.to_owned())
                    .bind(CREDENTIAL_PROVIDER)
                    .fetch_optional(&mut *conn)
                    .await?;
                Ok(row.map(|r| sqlx::FromRow::from_row(&r)).transpose()?)
            }

            pub(in crate::store) async fn list_accounts(
                conn: &mut Conn,
                sql: &Statements,
                user_id: &str,
            ) -> StoreResult<Vec<Account>> {
                let rows = q(&sql.accounts_of_user)
                    .bind(user_id.to_owned())
                    .fetch_all(&mut *conn)
                    .await?;
                Ok(rows
                    .iter()
                    .map(sqlx::FromRow::from_row)
                    .collect::<Result<_, _>>()?)
            }

            pub(in crate::store) async fn update_password(
                conn: &mut Conn,
                sql: &Statements,
                account_id: &str,
                hash: &str,
                now: DateTime<Utc>,
                replace_sessions: Option<&Session>,
            ) -> StoreResult<()> {
                let mut tx = conn.begin().await?;
                q(&sql.set_account_password)
                    .bind(hash.to_owned())
                    .bind($ts(now))
                    .bind(account_id.to_owned())
                    .execute(&mut *tx)
                    .await?;
                if let Some(s) = replace_sessions {
                    delete_sessions_of(&mut tx, sql, &s.user_id).await?;
                    insert_session(&mut tx, sql, s).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            pub(in crate::store) async fn set_password(
                conn: &mut Conn,
                sql: &Statements,
                user_id: &str,
                new_account_id: &str,
                hash: &str,
                now: DateTime<Utc>,
                effect: crate::store::PasswordSet,
            ) -> StoreResult<()> {
                use crate::store::PasswordSet;
                let mut tx = conn.begin().await?;
                if effect == PasswordSet::ProvesEmail {
                    // Whoever set up the other ways in never proved the address: they go.
                    q(&sql.delete_accounts_of_user)
                        .bind(user_id.to_owned())
                        .execute(&mut *tx)
                        .await?;
                    delete_sessions_of(&mut tx, sql, user_id).await?;
                    q(&sql.mark_email_verified)
                        .bind(true)
                        .bind($ts(now))
                        .bind(user_id.to_owned())
                        .execute(&mut *tx)
                        .await?;
                }
                let updated = q(&sql.set_credential_password)
                    .bind(hash.to_owned())
                    .bind($ts(now))
                    .bind(user_id.to_owned())
                    .bind(CREDENTIAL_PROVIDER)
                    .execute(&mut *tx)
                    .await?;
                if updated.rows_affected() == 0 {
                    let account = Account::credential(
                        new_account_id.to_owned(),
                        user_id,
                        hash.to_owned(),
                        now,
                    );
                    insert_account(&mut tx, sql, &account).await?;
                }
                if effect == PasswordSet::RevokeSessions {
                    delete_sessions_of(&mut tx, sql, user_id).await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

accounts_queries!(pg, sqlx::Postgres, pg_ts, true);
accounts_queries!(sqlite, sqlx::Sqlite, sqlite_ts, false);
