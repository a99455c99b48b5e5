//! Verification values: only in secondary storage by default (better-auth's
//! `verification.storeInDatabase: false`), else in the database with a copy in Redis that
//! follows every change, so a better-auth reading Redis first sees what the database holds.

use chrono::{DateTime, Utc};

use crate::model::{Verification, now_ms};
use crate::store::{Store, StoreResult, ValueMatch};

impl Store {
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
}
