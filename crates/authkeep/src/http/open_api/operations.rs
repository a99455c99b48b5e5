//! What each route takes and answers, as OpenAPI operations. One exhaustive match over
//! `Route`: a new route does not compile until it is described here, and the document lists
//! exactly the routes the router serves with the running configuration.

use serde_json::json;

use super::plugins;
use super::shapes::{
    Constraints, Operation, b, email_of, get, name_of, nullable, obj, password_of, post, r, s,
    status, token_and_user,
};
use crate::http::router::Route;

impl Route {
    /// This route as an OpenAPI operation.
    pub(super) fn operation(self, c: &Constraints) -> Operation {
        let email = || email_of(c);
        let password = || password_of(c);
        let callback = || ("callbackURL", s());
        match self {
            Route::SignUpEmail => post(
                "Sign up with email and password",
                false,
                obj(
                    &[
                        ("name", name_of(c)),
                        ("email", email()),
                        ("password", password()),
                        ("image", s()),
                        callback(),
                        ("rememberMe", b()),
                    ],
                    3,
                ),
                token_and_user(),
            ),
            Route::SignInEmail => post(
                "Sign in with email and password",
                false,
                obj(
                    &[
                        ("email", s()),
                        ("password", s()),
                        callback(),
                        ("rememberMe", b()),
                    ],
                    2,
                ),
                json!({ "anyOf": [
                    obj(
                        &[
                            ("redirect", b()),
                            ("token", s()),
                            ("user", r("User")),
                            ("url", s()),
                        ],
                        3,
                    ),
                    // The two-factor plugin holds the sign-in until the second factor.
                    obj(
                        &[
                            ("twoFactorRedirect", b()),
                            ("twoFactorMethods", json!({ "type": "array", "items": s() })),
                        ],
                        2,
                    ),
                ] }),
            ),
            Route::SignOut => Operation {
                body_required: false,
                ..post(
                    "Sign out",
                    false,
                    obj(&[callback(), ("disableRedirect", b()), ("state", s())], 0),
                    obj(&[("success", b()), ("url", s()), ("redirect", b())], 1),
                )
            },
            Route::GetSession => Operation {
                query: &[("disableCookieCache", false), ("disableRefresh", false)],
                ..get(
                    "The current session and user, or null",
                    false,
                    nullable(obj(&[("session", r("Session")), ("user", r("User"))], 2)),
                )
            },
            Route::ListSessions => get(
                "Every active session of the user",
                true,
                json!({ "type": "array", "items": r("Session") }),
            ),
            Route::RevokeSession => post(
                "Revoke one session by its token",
                true,
                obj(&[("token", s())], 1),
                status(),
            ),
            Route::RevokeSessions | Route::RevokeOtherSessions => post(
                if self == Route::RevokeSessions {
                    "Revoke every session of the user"
                } else {
                    "Revoke every session but this one"
                },
                true,
                obj(&[], 0),
                status(),
            ),
            Route::UpdateUser => post(
                "Update the user's name, image or additional fields",
                true,
                obj(&[("name", s()), ("image", nullable(s()))], 0),
                status(),
            ),
            Route::UpdateSession => post(
                "Update the session's additional fields",
                true,
                obj(&[], 0),
                obj(&[("session", r("Session"))], 1),
            ),
            Route::ListAccounts => get(
                "The user's linked accounts",
                true,
                json!({ "type": "array", "items": r("AccountInfo") }),
            ),
            Route::SignInSocial => post(
                "Sign in with a social provider (a redirect URL, or an ID token)",
                false,
                obj(
                    &[
                        ("provider", s()),
                        callback(),
                        ("newUserCallbackURL", s()),
                        ("errorCallbackURL", s()),
                        ("disableRedirect", b()),
                        ("scopes", json!({ "type": "array", "items": s() })),
                        ("requestSignUp", b()),
                        ("loginHint", s()),
                    ],
                    1,
                ),
                obj(
                    &[
                        ("redirect", b()),
                        ("url", s()),
                        ("token", s()),
                        ("user", r("User")),
                    ],
                    1,
                ),
            ),
            Route::Callback => Operation {
                query: &[("code", false), ("state", false), ("error", false)],
                ok: vec![(302, None)],
                tag: "Social",
                ..get(
                    "A provider's redirect back after sign-in",
                    false,
                    obj(&[], 0),
                )
            },
            Route::LinkSocial => post(
                "Link a social account to the user",
                true,
                obj(
                    &[
                        ("provider", s()),
                        callback(),
                        ("errorCallbackURL", s()),
                        ("disableRedirect", b()),
                        ("scopes", json!({ "type": "array", "items": s() })),
                    ],
                    1,
                ),
                obj(&[("url", s()), ("redirect", b()), ("status", b())], 0),
            ),
            Route::UnlinkAccount => post(
                "Unlink an account from the user",
                true,
                obj(&[("providerId", s()), ("accountId", s())], 1),
                status(),
            ),
            Route::GetAccessToken | Route::RefreshToken => post(
                if self == Route::GetAccessToken {
                    "A valid access token for a linked provider (refreshed if needed)"
                } else {
                    "Refresh a linked provider's tokens"
                },
                true,
                obj(
                    &[("providerId", s()), ("accountId", s()), ("userId", s())],
                    1,
                ),
                json!({ "type": "object" }),
            ),
            Route::AccountInfo => Operation {
                query: &[("accountId", false)],
                ..get(
                    "The provider's view of a linked account",
                    true,
                    json!({ "type": "object" }),
                )
            },
            Route::VerifyPassword => post(
                "Check the user's password",
                true,
                obj(&[("password", s())], 1),
                status(),
            ),
            Route::ChangePassword => post(
                "Change the user's password",
                true,
                obj(
                    &[
                        ("newPassword", password()),
                        ("currentPassword", s()),
                        ("revokeOtherSessions", b()),
                    ],
                    2,
                ),
                token_and_user(),
            ),
            Route::DeleteUser => Operation {
                body_required: false,
                ..post(
                    "Delete the user (or mail a confirmation link)",
                    true,
                    obj(&[callback(), ("password", s()), ("token", s())], 0),
                    obj(&[("success", b()), ("message", s())], 1),
                )
            },
            Route::Token => Operation {
                tag: "Jwt",
                ..get(
                    "A JWT for the current session",
                    true,
                    obj(&[("token", s())], 1),
                )
            },
            Route::Jwks => Operation {
                tag: "Jwt",
                ..get(
                    "The public keys that verify the JWTs",
                    false,
                    obj(
                        &[(
                            "keys",
                            json!({ "type": "array", "items": { "type": "object" } }),
                        )],
                        1,
                    ),
                )
            },
            Route::OtpSend => plugins::otp_send_or_check(false, c),
            Route::OtpCheck => plugins::otp_send_or_check(true, c),
            Route::OtpVerifyEmail => plugins::otp_verify_email(c),
            Route::OtpSignIn => plugins::otp_sign_in(c),
            Route::OtpRequestReset => plugins::otp_request_reset(c),
            Route::OtpResetPassword => plugins::otp_reset_password(c),
            Route::ChangeEmail => post(
                "Change the user's email (by a verification link when verified)",
                true,
                obj(&[("newEmail", email()), callback()], 1),
                status(),
            ),
            Route::DeleteUserCallback => Operation {
                query: &[("token", true), ("callbackURL", false)],
                ok: vec![
                    (200, Some(obj(&[("success", b()), ("message", s())], 2))),
                    (302, None),
                ],
                ..get("Follow a deletion link", false, obj(&[], 0))
            },
            Route::SignInMagicLink => plugins::magic_link_send(c),
            Route::MagicLinkVerify => plugins::magic_link_verify(),
            Route::AdminSetRole
            | Route::AdminGetUser
            | Route::AdminCreateUser
            | Route::AdminListUsers
            | Route::AdminListUserSessions
            | Route::AdminBanUser
            | Route::AdminUnbanUser
            | Route::AdminRevokeUserSession
            | Route::AdminRevokeUserSessions
            | Route::AdminRemoveUser
            | Route::AdminSetUserPassword
            | Route::AdminHasPermission
            | Route::AdminUpdateUser
            | Route::AdminImpersonateUser
            | Route::AdminStopImpersonating => match super::admin::operation(self, c) {
                Some(op) => op,
                None => unreachable!("the admin routes are described in admin.rs"),
            },
            Route::TwoFactorEnable
            | Route::TwoFactorDisable
            | Route::TwoFactorGetTotpUri
            | Route::TwoFactorVerifyTotp
            | Route::TwoFactorSendOtp
            | Route::TwoFactorVerifyOtp
            | Route::TwoFactorVerifyBackupCode
            | Route::TwoFactorGenerateBackupCodes => match super::two_factor::operation(self) {
                Some(op) => op,
                None => unreachable!("the two-factor routes are described in two_factor.rs"),
            },
            Route::SendVerificationEmail => post(
                "Mail an email-verification link",
                false,
                obj(&[("email", email()), callback()], 1),
                status(),
            ),
            Route::VerifyEmail => Operation {
                query: &[("token", true), ("callbackURL", false)],
                ok: vec![
                    (
                        200,
                        Some(obj(&[("status", b()), ("user", nullable(r("User")))], 1)),
                    ),
                    (302, None),
                ],
                ..get("Follow an email-verification link", false, obj(&[], 0))
            },
            Route::RequestPasswordReset => post(
                "Mail a password-reset link",
                false,
                obj(&[("email", email()), ("redirectTo", s())], 1),
                obj(&[("status", b()), ("message", s())], 2),
            ),
            Route::ResetPasswordCallback => Operation {
                query: &[("callbackURL", true)],
                ok: vec![(302, None)],
                ..get("Follow a password-reset link", false, obj(&[], 0))
            },
            Route::ResetPassword => post(
                "Set a new password with a reset token",
                false,
                obj(&[("newPassword", password()), ("token", s())], 1),
                status(),
            ),
            Route::Ok => get("The server is up", false, obj(&[("ok", b())], 1)),
            Route::Error => Operation {
                query: &[("error", false)],
                ok: vec![(200, None)],
                html: true,
                ..get("An error page for failed redirects", false, obj(&[], 0))
            },
            Route::OpenApiSchema => Operation {
                tag: "Open-api",
                ..get("This OpenAPI document", false, json!({ "type": "object" }))
            },
            Route::OpenApiReference => Operation {
                tag: "Open-api",
                ok: vec![(200, None)],
                html: true,
                ..get("The HTML API reference", false, obj(&[], 0))
            },
        }
    }
}

impl Route {
    /// Error statuses this route may answer with an empty body (and a JSON content type), as
    /// better-auth does: an unauthenticated call of the provider-token and admin routes, and
    /// `delete-user` while deletion is off.
    pub(super) fn bare_errors(self) -> &'static [u16] {
        match self {
            Route::GetAccessToken | Route::RefreshToken | Route::AccountInfo => &[401],
            // The admin plugin's guard answers a call without a session this way.
            Route::AdminSetRole
            | Route::AdminGetUser
            | Route::AdminCreateUser
            | Route::AdminListUsers
            | Route::AdminListUserSessions
            | Route::AdminBanUser
            | Route::AdminUnbanUser
            | Route::AdminRevokeUserSession
            | Route::AdminRevokeUserSessions
            | Route::AdminRemoveUser
            | Route::AdminSetUserPassword
            | Route::AdminHasPermission
            | Route::AdminUpdateUser
            | Route::AdminImpersonateUser
            | Route::AdminStopImpersonating => &[401],
            Route::DeleteUser => &[404],
            _ => &[],
        }
    }
}
