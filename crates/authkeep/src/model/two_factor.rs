//! A row of better-auth's `twoFactor` table (the two-factor plugin).

use chrono::{DateTime, Utc};

/// One user's second factor: the TOTP secret and the backup codes, both encrypted as
/// better-auth encrypts them, and the account-lockout counters.
#[derive(Clone, sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub struct TwoFactor {
    pub id: String,
    /// `symmetricEncrypt(secret)`.
    pub secret: String,
    /// `symmetricEncrypt(JSON array of codes)`.
    pub backup_codes: String,
    pub user_id: String,
    /// False until the first code is verified after `enable` (NULL in old rows: verified).
    pub verified: Option<bool>,
    /// Consecutive failed verifications at sign-in (NULL in rows from before the column).
    pub failed_verification_count: Option<i32>,
    pub locked_until: Option<DateTime<Utc>>,
}

impl TwoFactor {
    /// better-auth treats anything but an explicit `false` as verified.
    pub fn is_verified(&self) -> bool {
        self.verified != Some(false)
    }
}

// The ciphertexts never print.
impl std::fmt::Debug for TwoFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoFactor")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("verified", &self.verified)
            .field("failed_verification_count", &self.failed_verification_count)
            .field("locked_until", &self.locked_until)
            .finish_non_exhaustive()
    }
}
