//! The two-factor plugin's operations on the `twoFactor` table (declared after `dispatch!`,
//! which it uses).

use chrono::{DateTime, Utc};

use super::{Pool, Store, StoreResult, queries};
use crate::model::TwoFactor;

impl Store {
    pub async fn find_two_factor(&self, user_id: &str) -> StoreResult<Option<TwoFactor>> {
        dispatch!(self.two_factor_of_user(user_id))
    }

    /// Stores a new enrolment for `user_id` (ciphertexts as better-auth stores them), over the
    /// user's existing row if any.
    pub async fn enrol_two_factor(
        &self,
        user_id: &str,
        secret: &str,
        backup_codes: &str,
        verified: bool,
    ) -> StoreResult<()> {
        dispatch!(self.enrol_two_factor(user_id, secret, backup_codes, verified))
    }

    pub async fn mark_two_factor_verified(&self, id: &str) -> StoreResult<()> {
        dispatch!(self.mark_two_factor_verified(id))
    }

    pub async fn delete_two_factor(&self, user_id: &str) -> StoreResult<()> {
        dispatch!(self.delete_two_factor_of_user(user_id))
    }

    /// Replaces the backup codes only while they are still `expected`.
    pub async fn swap_backup_codes(
        &self,
        id: &str,
        expected: &str,
        codes: &str,
    ) -> StoreResult<bool> {
        dispatch!(self.swap_backup_codes(id, expected, codes))
    }

    pub async fn set_backup_codes(&self, id: &str, codes: &str) -> StoreResult<()> {
        dispatch!(self.set_backup_codes(id, codes))
    }

    /// Counts one failed verification, and sets `lockedUntil` once the count reaches
    /// `threshold`, atomically. Returns the new count (`None`: the row is gone).
    pub async fn record_two_factor_failure(
        &self,
        id: &str,
        threshold: i32,
        lock_until: DateTime<Utc>,
    ) -> StoreResult<Option<i64>> {
        dispatch!(self.record_two_factor_failure(id, threshold, lock_until))
    }

    /// Clears the counters when the lock has run out by `now`.
    pub async fn clear_expired_two_factor_lock(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        dispatch!(self.clear_expired_two_factor_lock(id, now))
    }

    /// authkeep's TOTP reuse check: records `step` as used under `identifier` (a verification
    /// row, kept for `keep`) unless it or a later step was used already. Always in the
    /// database, whatever the secondary storage: the check needs one lock for read and write.
    pub async fn claim_totp_step(
        &self,
        identifier: &str,
        step: i64,
        now: DateTime<Utc>,
        keep: chrono::Duration,
    ) -> StoreResult<bool> {
        let expires_at = now + keep;
        dispatch!(self.claim_totp_step(identifier, step, now, expires_at))
    }

    pub async fn forget_totp_step(&self, identifier: &str) -> StoreResult<()> {
        dispatch!(self.forget_totp_step(identifier))
    }

    pub async fn reset_two_factor_failures(&self, id: &str) -> StoreResult<()> {
        dispatch!(self.reset_two_factor_failures(id))
    }
}
