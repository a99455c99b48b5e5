//! The one place where failures become better-auth's HTTP errors: `{"message", "code"}` with
//! better-auth's status for each code. Handlers never write a status or a code themselves;
//! they return an `ErrorCode` (or an `AuthError`) or call one of the constructors here.

use std::error::Error;

use axum::http::StatusCode;
use serde_json::json;

use crate::auth::two_factor::TwoFactorCode;
use crate::auth::{AuthError, ErrorCode};

#[derive(Debug)]
pub enum ApiError {
    /// `{"message","code"}` with a status.
    Coded {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    /// `{"message"}` only, as some better-auth errors are.
    MessageOnly { status: StatusCode, message: String },
    /// 404 with an empty body and no content type: better-auth's answer to an unknown path, a
    /// wrong method, or a plugin route while the plugin is off.
    NotFound,
    /// 401 with `content-type: application/json` and an empty body: better-auth's answer to an
    /// unauthenticated call of the provider-token routes.
    Unauthenticated,
    /// A core endpoint switched off by configuration (`delete-user` by default): better-auth
    /// answers 404 with `content-type: application/json` and an empty body.
    Disabled,
    /// better-auth's rate-limiter answer: 429, `X-Retry-After`, `{"message"}` only.
    TooManyRequests { retry_after: u64 },
    /// The database is unreachable: 503, retry later. The cause is logged, never sent.
    Unavailable(AuthError),
    /// A fault on our side. The cause is logged with the request id, never sent.
    Internal(Box<dyn Error + Send + Sync>),
}

/// better-auth's HTTP status for each error code.
fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        InvalidEmailOrPassword | Unauthorized | FailedToGetSession | InvalidUser | TokenExpired => {
            StatusCode::UNAUTHORIZED
        }
        ProviderNotFound | IdTokenNotSupported => StatusCode::NOT_FOUND,
        InvalidIdToken
        | ProviderUserInfoFailed
        | UserEmailNotFound
        | OAuthLinkError
        | LinkingNotAllowed
        | LinkingDifferentEmailsNotAllowed => StatusCode::UNAUTHORIZED,
        SocialAccountAlreadyLinked => StatusCode::CONFLICT,
        LinkingFailed => StatusCode::EXPECTATION_FAILED,
        EmailNotVerified
        | SessionNotFresh
        | InvalidOrigin
        | MissingOrNullOrigin
        | InvalidCallbackUrl
        | InvalidRedirectUrl
        | InvalidErrorCallbackUrl
        | InvalidNewUserCallbackUrl
        | CrossSiteNavigationLoginBlocked
        | TooManyAttempts => StatusCode::FORBIDDEN,
        UserAlreadyExistsUseAnotherEmail | FailedToCreateUser => StatusCode::UNPROCESSABLE_ENTITY,
        MethodNotAllowedDeferSessionRequired => StatusCode::METHOD_NOT_ALLOWED,
        FailedToUpdateUser => StatusCode::INTERNAL_SERVER_ERROR,
        NotFound | FailedToGetUserInfo => StatusCode::NOT_FOUND,
        UserNotFound
        | FailedToCreateSession
        | InvalidPassword
        | InvalidEmail
        | PasswordTooShort
        | PasswordTooLong
        | EmailCanNotBeUpdated
        | CredentialAccountNotFound
        | SessionExpired
        | BodyMustBeAnObject
        | EmailPasswordDisabled
        | EmailPasswordSignUpDisabled
        | InvalidToken
        | EmailMismatch
        | EmailAlreadyVerified
        | ResetPasswordDisabled
        | ChangeEmailDisabled
        | InvalidOtp
        | OtpExpired
        | FailedToUnlinkLastAccount
        | AccountNotFound
        | ProviderNotSupported
        | ProviderNotConfigured
        | RefreshTokenNotFound
        | FailedToRefreshAccessToken
        | FailedToGetAccessToken
        | AccessTokenNotFound => StatusCode::BAD_REQUEST,
    }
}

/// better-auth's HTTP status for each two-factor code.
fn two_factor_status(code: TwoFactorCode) -> StatusCode {
    use TwoFactorCode::*;
    match code {
        InvalidCode | InvalidBackupCode | InvalidTwoFactorCookie => StatusCode::UNAUTHORIZED,
        AccountTemporarilyLocked => StatusCode::TOO_MANY_REQUESTS,
        BackupCodeConflict => StatusCode::CONFLICT,
        OtpNotConfigured
        | OtpNotConfiguredSend
        | OtpHasExpired
        | TotpNotEnabled
        | TotpAlreadyEnabled
        | TwoFactorNotEnabled
        | BackupCodesNotEnabled
        | TooManyAttemptsRequestNewCode => StatusCode::BAD_REQUEST,
    }
}

impl ApiError {
    fn with_status(code: ErrorCode, status: StatusCode) -> Self {
        Self::Coded {
            status,
            code: code.as_str(),
            message: code.message().to_owned(),
        }
    }

    pub fn code(code: ErrorCode) -> Self {
        Self::with_status(code, status_of(code))
    }

    /// A link followed without a callback to send the error to (`verify-email`,
    /// `magic-link/verify`): better-auth answers 401 whatever the code.
    pub fn link_refused(code: ErrorCode) -> Self {
        Self::with_status(code, StatusCode::UNAUTHORIZED)
    }

    /// A deletion token that is unknown, expired or someone else's: better-auth's 404.
    pub fn deletion_token_invalid() -> Self {
        Self::with_status(ErrorCode::InvalidToken, StatusCode::NOT_FOUND)
    }

    /// better-call's 400 for a body or query that fails its schema.
    pub fn validation(message: String) -> Self {
        Self::Coded {
            status: StatusCode::BAD_REQUEST,
            code: "VALIDATION_ERROR",
            message,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::Coded {
            status: StatusCode::BAD_REQUEST,
            code: "BAD_REQUEST",
            message: message.into(),
        }
    }

    /// A 400 that carries only a message, as some of better-auth's do.
    pub fn message(message: impl Into<String>) -> Self {
        Self::MessageOnly {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    pub fn unsupported_media_type(message: String) -> Self {
        Self::Coded {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "UNSUPPORTED_MEDIA_TYPE",
            message,
        }
    }

    /// The body did not arrive in time.
    pub fn request_timeout() -> Self {
        Self::Coded {
            status: StatusCode::REQUEST_TIMEOUT,
            code: "REQUEST_TIMEOUT",
            message: "The request body did not arrive in time".into(),
        }
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::Coded {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "PAYLOAD_TOO_LARGE",
            message: format!("Request body is larger than {limit} bytes"),
        }
    }

    pub fn internal(cause: impl Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(cause))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Coded { status, .. } | Self::MessageOnly { status, .. } => *status,
            Self::NotFound | Self::Disabled => StatusCode::NOT_FOUND,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The better-auth code, when the answer has one.
    pub fn code_str(&self) -> Option<&'static str> {
        match self {
            Self::Coded { code, .. } => Some(code),
            Self::Unavailable(_) => Some("SERVICE_UNAVAILABLE"),
            Self::Internal(_) => Some("INTERNAL_SERVER_ERROR"),
            _ => None,
        }
    }

    /// The JSON body, or `None` for an empty one.
    pub fn body(&self) -> Option<serde_json::Value> {
        match self {
            Self::Coded { code, message, .. } => Some(json!({ "message": message, "code": code })),
            Self::MessageOnly { message, .. } => Some(json!({ "message": message })),
            Self::NotFound | Self::Disabled | Self::Unauthenticated => None,
            Self::TooManyRequests { .. } => {
                Some(json!({ "message": "Too many requests. Please try again later." }))
            }
            Self::Unavailable(_) => Some(json!({
                "message": "The service is temporarily unavailable. Try again shortly.",
                "code": "SERVICE_UNAVAILABLE"
            })),
            Self::Internal(_) => {
                Some(json!({ "message": "Internal Server Error", "code": "INTERNAL_SERVER_ERROR" }))
            }
        }
    }
}

impl From<ErrorCode> for ApiError {
    fn from(c: ErrorCode) -> Self {
        ApiError::code(c)
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Rule(c) => ApiError::code(c),
            AuthError::Message(m) => ApiError::message(m),
            AuthError::Coded(code, message) => ApiError::Coded {
                status: status_of(code),
                code: code.as_str(),
                message,
            },
            AuthError::TooManyRequests { retry_after } => ApiError::TooManyRequests { retry_after },
            AuthError::TwoFactor(c) => ApiError::Coded {
                status: two_factor_status(c),
                code: c.as_str(),
                message: c.message().to_owned(),
            },
            AuthError::Admin(a) => ApiError::Coded {
                status: match a.refusal {
                    crate::auth::admin_plugin::Refusal::Forbidden => StatusCode::FORBIDDEN,
                    crate::auth::admin_plugin::Refusal::BadRequest => StatusCode::BAD_REQUEST,
                    crate::auth::admin_plugin::Refusal::NotFound => StatusCode::NOT_FOUND,
                },
                code: a.code,
                message: a.message,
            },
            AuthError::FieldNotAllowed(_) => ApiError::Coded {
                status: StatusCode::BAD_REQUEST,
                code: "FIELD_NOT_ALLOWED",
                message: e.to_string(),
            },
            AuthError::MissingField(_) => ApiError::Coded {
                status: StatusCode::BAD_REQUEST,
                code: "MISSING_FIELD",
                message: e.to_string(),
            },
            e if e.is_unavailable() => ApiError::Unavailable(e),
            e => ApiError::internal(e),
        }
    }
}
