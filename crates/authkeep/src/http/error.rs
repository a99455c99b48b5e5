//! The one place where domain failures become better-auth's HTTP errors:
//! `{"message": ..., "code": ...}` with better-auth's status for each code.

use axum::http::StatusCode;
use serde_json::json;

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
    /// A status with an empty body and no content type (better-auth's 404 for unknown paths).
    Empty(StatusCode),
    /// A core endpoint switched off by configuration (`delete-user` by default): better-auth
    /// answers 404 with `content-type: application/json` and an empty body.
    Disabled,
    /// The database is unreachable: 503, retry later.
    Unavailable,
    /// A fault on our side. The detail is logged with the request id, never sent.
    Internal(String),
}

/// better-auth's HTTP status for each error code.
fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        InvalidEmailOrPassword | Unauthorized | FailedToGetSession => StatusCode::UNAUTHORIZED,
        EmailNotVerified
        | SessionNotFresh
        | InvalidOrigin
        | MissingOrNullOrigin
        | InvalidCallbackUrl
        | InvalidRedirectUrl
        | InvalidErrorCallbackUrl
        | InvalidNewUserCallbackUrl
        | CrossSiteNavigationLoginBlocked => StatusCode::FORBIDDEN,
        UserAlreadyExistsUseAnotherEmail | FailedToCreateUser => StatusCode::UNPROCESSABLE_ENTITY,
        MethodNotAllowedDeferSessionRequired => StatusCode::METHOD_NOT_ALLOWED,
        FailedToUpdateUser => StatusCode::INTERNAL_SERVER_ERROR,
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
        | OtpExpired => StatusCode::BAD_REQUEST,
        TooManyAttempts => StatusCode::FORBIDDEN,
        InvalidUser => StatusCode::UNAUTHORIZED,
        TokenExpired => StatusCode::UNAUTHORIZED,
    }
}

impl ApiError {
    pub fn code(code: ErrorCode) -> Self {
        Self::Coded {
            status: status_of(code),
            code: code.as_str(),
            message: code.message().to_owned(),
        }
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

    pub fn not_found() -> Self {
        Self::Empty(StatusCode::NOT_FOUND)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Coded { status, .. } | Self::MessageOnly { status, .. } | Self::Empty(status) => {
                *status
            }
            Self::Disabled => StatusCode::NOT_FOUND,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body, or `None` for an empty one.
    pub fn body(&self) -> Option<serde_json::Value> {
        match self {
            Self::Coded { code, message, .. } => Some(json!({ "message": message, "code": code })),
            Self::MessageOnly { message, .. } => Some(json!({ "message": message })),
            Self::Empty(_) | Self::Disabled => None,
            Self::Unavailable => Some(json!({
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
            AuthError::Message(m) => ApiError::MessageOnly {
                status: StatusCode::BAD_REQUEST,
                message: m.to_owned(),
            },
            AuthError::Unavailable(detail) => {
                tracing::warn!(%detail, "database unavailable");
                ApiError::Unavailable
            }
            AuthError::Internal(detail) => ApiError::Internal(detail),
        }
    }
}
