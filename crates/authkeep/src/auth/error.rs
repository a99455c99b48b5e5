//! Every way an auth operation can fail, named by better-auth's error codes.
//! The HTTP status and the wire message for each code live in `http::error`, in one table.

/// A better-auth error code (`BASE_ERROR_CODES` plus the ad-hoc codes core routes use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    UserNotFound,
    FailedToCreateUser,
    FailedToCreateSession,
    FailedToUpdateUser,
    FailedToGetSession,
    InvalidPassword,
    InvalidEmail,
    InvalidEmailOrPassword,
    EmailNotVerified,
    PasswordTooShort,
    PasswordTooLong,
    UserAlreadyExistsUseAnotherEmail,
    EmailCanNotBeUpdated,
    CredentialAccountNotFound,
    SessionExpired,
    SessionNotFresh,
    InvalidOrigin,
    MissingOrNullOrigin,
    InvalidCallbackUrl,
    InvalidRedirectUrl,
    InvalidErrorCallbackUrl,
    InvalidNewUserCallbackUrl,
    CrossSiteNavigationLoginBlocked,
    BodyMustBeAnObject,
    Unauthorized,
    EmailPasswordDisabled,
    EmailPasswordSignUpDisabled,
    MethodNotAllowedDeferSessionRequired,
    InvalidToken,
    TokenExpired,
    EmailMismatch,
    EmailAlreadyVerified,
    ResetPasswordDisabled,
    InvalidUser,
    ChangeEmailDisabled,
    InvalidOtp,
    OtpExpired,
    TooManyAttempts,
    NotFound,
    FailedToGetUserInfo,
    // Social sign-in.
    ProviderNotFound,
    IdTokenNotSupported,
    /// A provider's ID token that does not verify (401, unlike the 400 of `InvalidToken`).
    InvalidIdToken,
    /// The provider would not say who the user is (401).
    ProviderUserInfoFailed,
    UserEmailNotFound,
    /// ID-token sign-in refused by the linking rules; the message is better-auth's reason.
    OAuthLinkError,
    SocialAccountAlreadyLinked,
    LinkingNotAllowed,
    LinkingDifferentEmailsNotAllowed,
    LinkingFailed,
    FailedToUnlinkLastAccount,
    AccountNotFound,
    ProviderNotSupported,
    ProviderNotConfigured,
    RefreshTokenNotFound,
    FailedToRefreshAccessToken,
    FailedToGetAccessToken,
    AccessTokenNotFound,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        self.parts().0
    }

    pub fn message(self) -> &'static str {
        self.parts().1
    }

    fn parts(self) -> (&'static str, &'static str) {
        use ErrorCode::*;
        match self {
            UserNotFound => ("USER_NOT_FOUND", "User not found"),
            FailedToCreateUser => ("FAILED_TO_CREATE_USER", "Failed to create user"),
            FailedToCreateSession => ("FAILED_TO_CREATE_SESSION", "Failed to create session"),
            FailedToUpdateUser => ("FAILED_TO_UPDATE_USER", "Failed to update user"),
            FailedToGetSession => ("FAILED_TO_GET_SESSION", "Failed to get session"),
            InvalidPassword => ("INVALID_PASSWORD", "Invalid password"),
            InvalidEmail => ("INVALID_EMAIL", "Invalid email"),
            InvalidEmailOrPassword => ("INVALID_EMAIL_OR_PASSWORD", "Invalid email or password"),
            EmailNotVerified => ("EMAIL_NOT_VERIFIED", "Email not verified"),
            PasswordTooShort => ("PASSWORD_TOO_SHORT", "Password too short"),
            PasswordTooLong => ("PASSWORD_TOO_LONG", "Password too long"),
            UserAlreadyExistsUseAnotherEmail => (
                "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL",
                "User already exists. Use another email.",
            ),
            EmailCanNotBeUpdated => ("EMAIL_CAN_NOT_BE_UPDATED", "Email can not be updated"),
            CredentialAccountNotFound => (
                "CREDENTIAL_ACCOUNT_NOT_FOUND",
                "Credential account not found",
            ),
            SessionExpired => (
                "SESSION_EXPIRED",
                "Session expired. Re-authenticate to perform this action.",
            ),
            SessionNotFresh => ("SESSION_NOT_FRESH", "Session is not fresh"),
            InvalidOrigin => ("INVALID_ORIGIN", "Invalid origin"),
            MissingOrNullOrigin => ("MISSING_OR_NULL_ORIGIN", "Missing or null Origin"),
            InvalidCallbackUrl => ("INVALID_CALLBACK_URL", "Invalid callbackURL"),
            InvalidRedirectUrl => ("INVALID_REDIRECT_URL", "Invalid redirectURL"),
            InvalidErrorCallbackUrl => ("INVALID_ERROR_CALLBACK_URL", "Invalid errorCallbackURL"),
            InvalidNewUserCallbackUrl => (
                "INVALID_NEW_USER_CALLBACK_URL",
                "Invalid newUserCallbackURL",
            ),
            CrossSiteNavigationLoginBlocked => (
                "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED",
                "Cross-site navigation login blocked. This request appears to be a CSRF attack.",
            ),
            BodyMustBeAnObject => ("BODY_MUST_BE_AN_OBJECT", "Body must be an object"),
            Unauthorized => ("UNAUTHORIZED", "Unauthorized"),
            EmailPasswordDisabled => (
                "EMAIL_PASSWORD_DISABLED",
                "Email and password is not enabled",
            ),
            EmailPasswordSignUpDisabled => (
                "EMAIL_PASSWORD_SIGN_UP_DISABLED",
                "Email and password sign up is not enabled",
            ),
            InvalidToken => ("INVALID_TOKEN", "Invalid token"),
            TokenExpired => ("TOKEN_EXPIRED", "Token expired"),
            EmailMismatch => ("EMAIL_MISMATCH", "Email mismatch"),
            EmailAlreadyVerified => ("EMAIL_ALREADY_VERIFIED", "Email is already verified"),
            ResetPasswordDisabled => ("RESET_PASSWORD_DISABLED", "Reset password isn't enabled"),
            InvalidUser => ("INVALID_USER", "Invalid user"),
            ChangeEmailDisabled => ("CHANGE_EMAIL_DISABLED", "Change email is disabled"),
            InvalidOtp => ("INVALID_OTP", "Invalid OTP"),
            OtpExpired => ("OTP_EXPIRED", "OTP expired"),
            TooManyAttempts => ("TOO_MANY_ATTEMPTS", "Too many attempts"),
            NotFound => ("NOT_FOUND", "Not found"),
            FailedToGetUserInfo | ProviderUserInfoFailed => {
                ("FAILED_TO_GET_USER_INFO", "Failed to get user info")
            }
            ProviderNotFound => ("PROVIDER_NOT_FOUND", "Provider not found"),
            IdTokenNotSupported => ("ID_TOKEN_NOT_SUPPORTED", "id_token not supported"),
            InvalidIdToken => ("INVALID_TOKEN", "Invalid token"),
            UserEmailNotFound => ("USER_EMAIL_NOT_FOUND", "User email not found"),
            OAuthLinkError => ("OAUTH_LINK_ERROR", "account not linked"),
            SocialAccountAlreadyLinked => (
                "SOCIAL_ACCOUNT_ALREADY_LINKED",
                "Social account already linked",
            ),
            LinkingNotAllowed => (
                "LINKING_NOT_ALLOWED",
                "Account not linked - linking not allowed",
            ),
            LinkingDifferentEmailsNotAllowed => (
                "LINKING_DIFFERENT_EMAILS_NOT_ALLOWED",
                "Account not linked - different emails not allowed",
            ),
            LinkingFailed => (
                "LINKING_FAILED",
                "Account not linked - unable to create account",
            ),
            FailedToUnlinkLastAccount => (
                "FAILED_TO_UNLINK_LAST_ACCOUNT",
                "You can't unlink your last account",
            ),
            AccountNotFound => ("ACCOUNT_NOT_FOUND", "Account not found"),
            ProviderNotSupported => ("PROVIDER_NOT_SUPPORTED", "Provider is not supported."),
            ProviderNotConfigured => (
                "PROVIDER_NOT_CONFIGURED",
                "Account is not associated with a configured social provider.",
            ),
            RefreshTokenNotFound => ("REFRESH_TOKEN_NOT_FOUND", "Refresh token not found"),
            FailedToRefreshAccessToken => (
                "FAILED_TO_REFRESH_ACCESS_TOKEN",
                "Failed to refresh access token",
            ),
            FailedToGetAccessToken => (
                "FAILED_TO_GET_ACCESS_TOKEN",
                "Failed to get a valid access token",
            ),
            AccessTokenNotFound => ("ACCESS_TOKEN_NOT_FOUND", "Access token not found"),
            MethodNotAllowedDeferSessionRequired => (
                "METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED",
                "POST method requires deferSessionRefresh to be enabled in session config",
            ),
        }
    }
}

/// A failed auth operation.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A rule of better-auth's was broken; the client is told which.
    #[error("{0:?}")]
    Rule(ErrorCode),
    /// A better-auth error that carries only a message (no code), e.g. `No fields to update`.
    #[error("{0}")]
    Message(&'static str),
    /// A code whose message names something (`Provider credential is not supported.`).
    #[error("{0:?}: {1}")]
    Coded(ErrorCode, String),
    /// A field clients may not set was given a value (better-auth's `FIELD_NOT_ALLOWED`).
    #[error("{0} is not allowed to be set")]
    FieldNotAllowed(String),
    /// A required field was not given (better-auth's `MISSING_FIELD`).
    #[error("{0} is required")]
    MissingField(String),
    /// A two-factor rule (better-auth's `TWO_FACTOR_ERROR_CODES`).
    #[error("{0:?}")]
    TwoFactor(super::two_factor::TwoFactorCode),
    /// Too many attempts (a rate limit); try again after `retry_after` seconds.
    #[error("too many requests; retry after {retry_after} s")]
    TooManyRequests { retry_after: u64 },
    /// Storage failed; when the database is unreachable the client gets a 503 and may retry.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Password(#[from] super::password::PasswordError),
    #[error(transparent)]
    Jwt(#[from] super::jwt::JwtError),
    /// A refusal of better-auth's admin plugin (its own codes and statuses).
    #[error(transparent)]
    Admin(#[from] super::admin_plugin::AdminError),
}

impl AuthError {
    /// The failure is the database being out of reach, not a fault: worth a retry.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, AuthError::Store(e) if e.is_unavailable())
    }
}

impl From<ErrorCode> for AuthError {
    fn from(c: ErrorCode) -> Self {
        AuthError::Rule(c)
    }
}

impl From<super::two_factor::TwoFactorCode> for AuthError {
    fn from(c: super::two_factor::TwoFactorCode) -> Self {
        AuthError::TwoFactor(c)
    }
}
