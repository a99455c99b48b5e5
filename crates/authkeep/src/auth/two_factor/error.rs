//! better-auth's two-factor error codes (`TWO_FACTOR_ERROR_CODES`). Their HTTP statuses are in
//! `http::error`, with every other code's.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwoFactorCode {
    /// `enable` with `method: "otp"` while codes by email are off.
    OtpNotConfigured,
    /// `send-otp` while codes by email are off (better-auth words it differently there).
    OtpNotConfiguredSend,
    OtpHasExpired,
    TotpNotEnabled,
    TotpAlreadyEnabled,
    TwoFactorNotEnabled,
    BackupCodesNotEnabled,
    InvalidBackupCode,
    InvalidCode,
    TooManyAttemptsRequestNewCode,
    AccountTemporarilyLocked,
    InvalidTwoFactorCookie,
    /// A backup code's one use lost a race with another use of the codes (better-auth's 409).
    BackupCodeConflict,
}

impl TwoFactorCode {
    pub fn as_str(self) -> &'static str {
        self.parts().0
    }

    pub fn message(self) -> &'static str {
        self.parts().1
    }

    fn parts(self) -> (&'static str, &'static str) {
        use TwoFactorCode::*;
        match self {
            OtpNotConfigured => ("OTP_NOT_CONFIGURED", "OTP is not available"),
            OtpNotConfiguredSend => ("OTP_NOT_CONFIGURED", "otp isn't configured"),
            OtpHasExpired => ("OTP_HAS_EXPIRED", "OTP has expired"),
            TotpNotEnabled => ("TOTP_NOT_ENABLED", "TOTP not enabled"),
            TotpAlreadyEnabled => ("TOTP_ALREADY_ENABLED", "TOTP is already enabled"),
            TwoFactorNotEnabled => ("TWO_FACTOR_NOT_ENABLED", "Two factor isn't enabled"),
            BackupCodesNotEnabled => ("BACKUP_CODES_NOT_ENABLED", "Backup codes aren't enabled"),
            InvalidBackupCode => ("INVALID_BACKUP_CODE", "Invalid backup code"),
            InvalidCode => ("INVALID_CODE", "Invalid code"),
            TooManyAttemptsRequestNewCode => (
                "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE",
                "Too many attempts. Please request a new code.",
            ),
            AccountTemporarilyLocked => (
                "ACCOUNT_TEMPORARILY_LOCKED",
                "Too many failed verification attempts. Your account is temporarily locked. Please try again later.",
            ),
            InvalidTwoFactorCookie => ("INVALID_TWO_FACTOR_COOKIE", "Invalid two factor cookie"),
            BackupCodeConflict => (
                "CONFLICT",
                "Failed to verify backup code. Please try again.",
            ),
        }
    }
}
