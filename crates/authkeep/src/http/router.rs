//! The complete better-auth route table on one screen. better-auth answers an unknown path, a
//! wrong method and a trailing slash alike with an empty 404, so routing is an exact match on
//! method and path rather than axum's router (which would answer 405).

use axum::http::Method;

use super::App;
use super::body::Media;
use super::error::ApiError;
use super::exchange::{Exchange, Reply};
use super::open_api;
use super::routes::{
    account, admin, email_otp, email_verification, impersonation, jwt, magic_link, ok, password,
    session, sign_in, sign_out, sign_up, social, two_factor, update_user,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    SignUpEmail,
    SignInEmail,
    SignOut,
    GetSession,
    ListSessions,
    RevokeSession,
    RevokeSessions,
    RevokeOtherSessions,
    UpdateUser,
    UpdateSession,
    ListAccounts,
    SignInSocial,
    Callback,
    LinkSocial,
    UnlinkAccount,
    GetAccessToken,
    RefreshToken,
    AccountInfo,
    VerifyPassword,
    ChangePassword,
    DeleteUser,
    Token,
    Jwks,
    OtpSend,
    OtpCheck,
    OtpVerifyEmail,
    OtpSignIn,
    OtpRequestReset,
    OtpResetPassword,
    ChangeEmail,
    DeleteUserCallback,
    SignInMagicLink,
    MagicLinkVerify,
    SendVerificationEmail,
    VerifyEmail,
    RequestPasswordReset,
    ResetPasswordCallback,
    ResetPassword,
    TwoFactorEnable,
    TwoFactorDisable,
    TwoFactorGetTotpUri,
    TwoFactorVerifyTotp,
    TwoFactorSendOtp,
    TwoFactorVerifyOtp,
    TwoFactorVerifyBackupCode,
    TwoFactorGenerateBackupCodes,
    Ok,
    Error,
    OpenApiSchema,
    OpenApiReference,
    // better-auth's admin plugin.
    AdminSetRole,
    AdminGetUser,
    AdminCreateUser,
    AdminListUsers,
    AdminListUserSessions,
    AdminBanUser,
    AdminUnbanUser,
    AdminRevokeUserSession,
    AdminRevokeUserSessions,
    AdminRemoveUser,
    AdminSetUserPassword,
    AdminHasPermission,
    AdminUpdateUser,
    AdminImpersonateUser,
    AdminStopImpersonating,
}

impl Route {
    /// Every route, in the order the OpenAPI document lists them (`router_table_is_complete`
    /// checks that none is missing).
    pub const ALL: [Route; 65] = [
        Route::SignUpEmail,
        Route::SignInEmail,
        Route::SignOut,
        Route::GetSession,
        Route::ListSessions,
        Route::RevokeSession,
        Route::RevokeSessions,
        Route::RevokeOtherSessions,
        Route::UpdateUser,
        Route::UpdateSession,
        Route::ListAccounts,
        Route::SignInSocial,
        Route::Callback,
        Route::LinkSocial,
        Route::UnlinkAccount,
        Route::GetAccessToken,
        Route::RefreshToken,
        Route::AccountInfo,
        Route::VerifyPassword,
        Route::ChangePassword,
        Route::DeleteUser,
        Route::Token,
        Route::Jwks,
        Route::OtpSend,
        Route::OtpCheck,
        Route::OtpVerifyEmail,
        Route::OtpSignIn,
        Route::OtpRequestReset,
        Route::OtpResetPassword,
        Route::ChangeEmail,
        Route::DeleteUserCallback,
        Route::SignInMagicLink,
        Route::MagicLinkVerify,
        Route::SendVerificationEmail,
        Route::VerifyEmail,
        Route::RequestPasswordReset,
        Route::ResetPasswordCallback,
        Route::ResetPassword,
        Route::Ok,
        Route::Error,
        Route::OpenApiSchema,
        Route::OpenApiReference,
        Route::TwoFactorEnable,
        Route::TwoFactorDisable,
        Route::TwoFactorGetTotpUri,
        Route::TwoFactorVerifyTotp,
        Route::TwoFactorSendOtp,
        Route::TwoFactorVerifyOtp,
        Route::TwoFactorVerifyBackupCode,
        Route::TwoFactorGenerateBackupCodes,
        Route::AdminSetRole,
        Route::AdminGetUser,
        Route::AdminCreateUser,
        Route::AdminListUsers,
        Route::AdminListUserSessions,
        Route::AdminBanUser,
        Route::AdminUnbanUser,
        Route::AdminRevokeUserSession,
        Route::AdminRevokeUserSessions,
        Route::AdminRemoveUser,
        Route::AdminSetUserPassword,
        Route::AdminHasPermission,
        Route::AdminUpdateUser,
        Route::AdminImpersonateUser,
        Route::AdminStopImpersonating,
    ];

    /// The route a request is for, if this server serves it with its configuration.
    pub fn resolve(app: &App, method: &Method, path: &str) -> Option<Route> {
        let reference = app.policy.open_api.reference.as_deref();
        let route = Route::find(method, path).or_else(|| {
            (*method == Method::GET && reference == Some(path)).then_some(Route::OpenApiReference)
        })?;
        route.is_available(app).then_some(route)
    }

    /// `path` is relative to the base path, e.g. `/sign-in/email`.
    pub fn find(method: &Method, path: &str) -> Option<Route> {
        let get = *method == Method::GET;
        let post = *method == Method::POST;
        Some(match path {
            "/sign-up/email" if post => Route::SignUpEmail,
            "/sign-in/email" if post => Route::SignInEmail,
            "/sign-out" if post => Route::SignOut,
            // POST reaches the handler, which answers better-auth's 405 for it.
            "/get-session" if get || post => Route::GetSession,
            "/list-sessions" if get => Route::ListSessions,
            "/revoke-session" if post => Route::RevokeSession,
            "/revoke-sessions" if post => Route::RevokeSessions,
            "/revoke-other-sessions" if post => Route::RevokeOtherSessions,
            "/update-user" if post => Route::UpdateUser,
            "/update-session" if post => Route::UpdateSession,
            "/list-accounts" if get => Route::ListAccounts,
            "/sign-in/social" if post => Route::SignInSocial,
            p if (get || post) && is_callback(p) => Route::Callback,
            "/link-social" if post => Route::LinkSocial,
            "/unlink-account" if post => Route::UnlinkAccount,
            "/get-access-token" if post => Route::GetAccessToken,
            "/refresh-token" if post => Route::RefreshToken,
            "/account-info" if get => Route::AccountInfo,
            "/verify-password" if post => Route::VerifyPassword,
            "/change-password" if post => Route::ChangePassword,
            "/delete-user" if post => Route::DeleteUser,
            "/email-otp/send-verification-otp" if post => Route::OtpSend,
            "/email-otp/check-verification-otp" if post => Route::OtpCheck,
            "/email-otp/verify-email" if post => Route::OtpVerifyEmail,
            "/sign-in/email-otp" if post => Route::OtpSignIn,
            "/email-otp/request-password-reset" | "/forget-password/email-otp" if post => {
                Route::OtpRequestReset
            }
            "/email-otp/reset-password" if post => Route::OtpResetPassword,
            "/change-email" if post => Route::ChangeEmail,
            "/delete-user/callback" if get => Route::DeleteUserCallback,
            "/sign-in/magic-link" if post => Route::SignInMagicLink,
            "/magic-link/verify" if get => Route::MagicLinkVerify,
            "/send-verification-email" if post => Route::SendVerificationEmail,
            "/verify-email" if get => Route::VerifyEmail,
            "/request-password-reset" | "/forget-password" if post => Route::RequestPasswordReset,
            "/reset-password" if post => Route::ResetPassword,
            p if get && is_reset_link(p) => Route::ResetPasswordCallback,
            "/token" if get => Route::Token,
            "/jwks" if get => Route::Jwks,
            "/two-factor/enable" if post => Route::TwoFactorEnable,
            "/two-factor/disable" if post => Route::TwoFactorDisable,
            "/two-factor/get-totp-uri" if post => Route::TwoFactorGetTotpUri,
            "/two-factor/verify-totp" if post => Route::TwoFactorVerifyTotp,
            "/two-factor/send-otp" if post => Route::TwoFactorSendOtp,
            "/two-factor/verify-otp" if post => Route::TwoFactorVerifyOtp,
            "/two-factor/verify-backup-code" if post => Route::TwoFactorVerifyBackupCode,
            "/two-factor/generate-backup-codes" if post => Route::TwoFactorGenerateBackupCodes,
            "/ok" if get => Route::Ok,
            "/error" if get => Route::Error,
            "/open-api/generate-schema" if get => Route::OpenApiSchema,
            "/admin/set-role" if post => Route::AdminSetRole,
            "/admin/get-user" if get => Route::AdminGetUser,
            "/admin/create-user" if post => Route::AdminCreateUser,
            "/admin/list-users" if get => Route::AdminListUsers,
            "/admin/list-user-sessions" if post => Route::AdminListUserSessions,
            "/admin/ban-user" if post => Route::AdminBanUser,
            "/admin/unban-user" if post => Route::AdminUnbanUser,
            "/admin/revoke-user-session" if post => Route::AdminRevokeUserSession,
            "/admin/revoke-user-sessions" if post => Route::AdminRevokeUserSessions,
            "/admin/remove-user" if post => Route::AdminRemoveUser,
            "/admin/set-user-password" if post => Route::AdminSetUserPassword,
            "/admin/has-permission" if post => Route::AdminHasPermission,
            "/admin/update-user" if post => Route::AdminUpdateUser,
            "/admin/impersonate-user" if post => Route::AdminImpersonateUser,
            "/admin/stop-impersonating" if post => Route::AdminStopImpersonating,
            _ => return None,
        })
    }

    /// The path as logged: the route's own path, with `:token` for the one that carries a
    /// secret in it. Raw request paths are never logged.
    pub fn template(self) -> &'static str {
        match self {
            Route::SignUpEmail => "/sign-up/email",
            Route::SignInEmail => "/sign-in/email",
            Route::SignOut => "/sign-out",
            Route::GetSession => "/get-session",
            Route::ListSessions => "/list-sessions",
            Route::RevokeSession => "/revoke-session",
            Route::RevokeSessions => "/revoke-sessions",
            Route::RevokeOtherSessions => "/revoke-other-sessions",
            Route::UpdateUser => "/update-user",
            Route::UpdateSession => "/update-session",
            Route::ListAccounts => "/list-accounts",
            Route::SignInSocial => "/sign-in/social",
            Route::Callback => "/callback/:id",
            Route::LinkSocial => "/link-social",
            Route::UnlinkAccount => "/unlink-account",
            Route::GetAccessToken => "/get-access-token",
            Route::RefreshToken => "/refresh-token",
            Route::AccountInfo => "/account-info",
            Route::VerifyPassword => "/verify-password",
            Route::ChangePassword => "/change-password",
            Route::DeleteUser => "/delete-user",
            Route::Token => "/token",
            Route::Jwks => "/jwks",
            Route::OtpSend => "/email-otp/send-verification-otp",
            Route::OtpCheck => "/email-otp/check-verification-otp",
            Route::OtpVerifyEmail => "/email-otp/verify-email",
            Route::OtpSignIn => "/sign-in/email-otp",
            Route::OtpRequestReset => "/email-otp/request-password-reset",
            Route::OtpResetPassword => "/email-otp/reset-password",
            Route::ChangeEmail => "/change-email",
            Route::DeleteUserCallback => "/delete-user/callback",
            Route::SignInMagicLink => "/sign-in/magic-link",
            Route::MagicLinkVerify => "/magic-link/verify",
            Route::SendVerificationEmail => "/send-verification-email",
            Route::VerifyEmail => "/verify-email",
            Route::RequestPasswordReset => "/request-password-reset",
            Route::ResetPasswordCallback => "/reset-password/:token",
            Route::ResetPassword => "/reset-password",
            Route::TwoFactorEnable => "/two-factor/enable",
            Route::TwoFactorDisable => "/two-factor/disable",
            Route::TwoFactorGetTotpUri => "/two-factor/get-totp-uri",
            Route::TwoFactorVerifyTotp => "/two-factor/verify-totp",
            Route::TwoFactorSendOtp => "/two-factor/send-otp",
            Route::TwoFactorVerifyOtp => "/two-factor/verify-otp",
            Route::TwoFactorVerifyBackupCode => "/two-factor/verify-backup-code",
            Route::TwoFactorGenerateBackupCodes => "/two-factor/generate-backup-codes",
            Route::Ok => "/ok",
            Route::Error => "/error",
            Route::OpenApiSchema => "/open-api/generate-schema",
            // Its path is configurable; its label and log name are not.
            Route::OpenApiReference => "/reference",
            Route::AdminSetRole => "/admin/set-role",
            Route::AdminGetUser => "/admin/get-user",
            Route::AdminCreateUser => "/admin/create-user",
            Route::AdminListUsers => "/admin/list-users",
            Route::AdminListUserSessions => "/admin/list-user-sessions",
            Route::AdminBanUser => "/admin/ban-user",
            Route::AdminUnbanUser => "/admin/unban-user",
            Route::AdminRevokeUserSession => "/admin/revoke-user-session",
            Route::AdminRevokeUserSessions => "/admin/revoke-user-sessions",
            Route::AdminRemoveUser => "/admin/remove-user",
            Route::AdminSetUserPassword => "/admin/set-user-password",
            Route::AdminHasPermission => "/admin/has-permission",
            Route::AdminUpdateUser => "/admin/update-user",
            Route::AdminImpersonateUser => "/admin/impersonate-user",
            Route::AdminStopImpersonating => "/admin/stop-impersonating",
        }
    }

    /// Plugin routes exist only while their plugin is on; otherwise they are unknown paths
    /// (better-auth's empty 404), as in a better-auth without the plugin.
    pub fn is_available(self, app: &App) -> bool {
        let p = &app.auth.policy;
        match self {
            Route::SignInMagicLink | Route::MagicLinkVerify => p.magic_link.enabled,
            Route::OtpSend
            | Route::OtpCheck
            | Route::OtpVerifyEmail
            | Route::OtpSignIn
            | Route::OtpRequestReset
            | Route::OtpResetPassword => p.otp.enabled,
            Route::Token | Route::Jwks => app.auth.jwt.is_some(),
            Route::OpenApiSchema => app.policy.open_api.enabled,
            Route::OpenApiReference => app.policy.open_api.reference.is_some(),
            Route::TwoFactorEnable
            | Route::TwoFactorDisable
            | Route::TwoFactorGetTotpUri
            | Route::TwoFactorVerifyTotp
            | Route::TwoFactorSendOtp
            | Route::TwoFactorVerifyOtp
            | Route::TwoFactorVerifyBackupCode
            | Route::TwoFactorGenerateBackupCodes => app.auth.two_factor.is_some(),
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
            | Route::AdminStopImpersonating => p.admin.is_some(),
            _ => true,
        }
    }

    /// The sign-in method a route counts under in the metrics; `None`: not a sign-in. Only
    /// routes whose outcome is their answer: a magic link or a provider's callback redirects
    /// both ways.
    pub fn sign_in_method(self) -> Option<&'static str> {
        match self {
            Route::SignInEmail => Some("email"),
            Route::OtpSignIn => Some("email-otp"),
            _ => None,
        }
    }

    /// Sign-in and sign-up also take HTML form posts.
    pub fn media(self) -> Media {
        match self {
            Route::SignUpEmail | Route::SignInEmail | Route::Callback => Media::JsonOrForm,
            _ => Media::Json,
        }
    }

    pub async fn call(self, app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
        match self {
            Route::SignUpEmail => sign_up::sign_up_email(app, ex).await,
            Route::SignInEmail => sign_in::sign_in_email(app, ex).await,
            Route::SignOut => sign_out::sign_out(app, ex).await,
            Route::GetSession => session::get_session(app, ex).await,
            Route::ListSessions => session::list_sessions(app, ex).await,
            Route::RevokeSession => session::revoke_session(app, ex).await,
            Route::RevokeSessions => session::revoke_sessions(app, ex).await,
            Route::RevokeOtherSessions => session::revoke_other_sessions(app, ex).await,
            Route::UpdateUser => update_user::update_user(app, ex).await,
            Route::UpdateSession => session::update_session(app, ex).await,
            Route::ListAccounts => account::list_accounts(app, ex).await,
            Route::SignInSocial => social::sign_in_social(app, ex).await,
            Route::Callback => social::callback(app, ex).await,
            Route::LinkSocial => social::link_social(app, ex).await,
            Route::UnlinkAccount => account::unlink_account(app, ex).await,
            Route::GetAccessToken => account::get_access_token(app, ex).await,
            Route::RefreshToken => account::refresh_token(app, ex).await,
            Route::AccountInfo => account::account_info(app, ex).await,
            Route::VerifyPassword => update_user::verify_password(app, ex).await,
            Route::ChangePassword => update_user::change_password(app, ex).await,
            Route::DeleteUser => update_user::delete_user(app, ex).await,
            Route::OtpSend => email_otp::send_verification_otp(app, ex).await,
            Route::OtpCheck => email_otp::check_verification_otp(app, ex).await,
            Route::OtpVerifyEmail => email_otp::verify_email(app, ex).await,
            Route::OtpSignIn => email_otp::sign_in(app, ex).await,
            Route::OtpRequestReset => email_otp::request_password_reset(app, ex).await,
            Route::OtpResetPassword => email_otp::reset_password(app, ex).await,
            Route::ChangeEmail => update_user::change_email(app, ex).await,
            Route::DeleteUserCallback => update_user::delete_user_callback(app, ex).await,
            Route::SignInMagicLink => magic_link::sign_in_magic_link(app, ex).await,
            Route::MagicLinkVerify => magic_link::verify(app, ex).await,
            Route::SendVerificationEmail => {
                email_verification::send_verification_email(app, ex).await
            }
            Route::VerifyEmail => email_verification::verify_email(app, ex).await,
            Route::RequestPasswordReset => password::request_password_reset(app, ex).await,
            Route::ResetPasswordCallback => password::reset_password_callback(app, ex).await,
            Route::ResetPassword => password::reset_password(app, ex).await,
            Route::Token => jwt::token(app, ex).await,
            Route::Jwks => jwt::jwks(app, ex).await,
            Route::TwoFactorEnable => two_factor::enable(app, ex).await,
            Route::TwoFactorDisable => two_factor::disable(app, ex).await,
            Route::TwoFactorGetTotpUri => two_factor::get_totp_uri(app, ex).await,
            Route::TwoFactorVerifyTotp => two_factor::verify_totp(app, ex).await,
            Route::TwoFactorSendOtp => two_factor::send_otp(app, ex).await,
            Route::TwoFactorVerifyOtp => two_factor::verify_otp(app, ex).await,
            Route::TwoFactorVerifyBackupCode => two_factor::verify_backup_code(app, ex).await,
            Route::TwoFactorGenerateBackupCodes => two_factor::generate_backup_codes(app, ex).await,
            Route::Ok => ok::ok().await,
            Route::Error => ok::error_page(ex).await,
            Route::OpenApiSchema => open_api::generate_schema(app).await,
            Route::OpenApiReference => open_api::reference(app).await,
            Route::AdminSetRole => admin::set_role(app, ex).await,
            Route::AdminGetUser => admin::get_user(app, ex).await,
            Route::AdminCreateUser => admin::create_user(app, ex).await,
            Route::AdminListUsers => admin::list_users(app, ex).await,
            Route::AdminListUserSessions => admin::list_user_sessions(app, ex).await,
            Route::AdminBanUser => admin::ban_user(app, ex).await,
            Route::AdminUnbanUser => admin::unban_user(app, ex).await,
            Route::AdminRevokeUserSession => admin::revoke_user_session(app, ex).await,
            Route::AdminRevokeUserSessions => admin::revoke_user_sessions(app, ex).await,
            Route::AdminRemoveUser => admin::remove_user(app, ex).await,
            Route::AdminSetUserPassword => admin::set_user_password(app, ex).await,
            Route::AdminHasPermission => admin::has_permission(app, ex).await,
            Route::AdminUpdateUser => admin::update_user(app, ex).await,
            Route::AdminImpersonateUser => impersonation::impersonate_user(app, ex).await,
            Route::AdminStopImpersonating => impersonation::stop_impersonating(app, ex).await,
        }
    }
}

/// `/callback/<provider id>`: one non-empty segment after the prefix.
fn is_callback(path: &str) -> bool {
    path.strip_prefix("/callback/")
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// `/reset-password/<token>`: one non-empty segment after the prefix.
fn is_reset_link(path: &str) -> bool {
    path.strip_prefix("/reset-password/")
        .is_some_and(|t| !t.is_empty() && !t.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Route::ALL` names every variant: the OpenAPI document and its completeness test
    /// iterate it, so a route left out would be served undescribed.
    #[test]
    fn router_table_is_complete() {
        let source = include_str!("router.rs");
        let start = source.find("pub enum Route {").unwrap();
        let body = &source[start..];
        let body = &body[..body.find('}').unwrap()];
        let variants = body
            .lines()
            .skip(1)
            .filter(|l| l.trim().ends_with(','))
            .count();
        assert_eq!(variants, Route::ALL.len());
        for (i, a) in Route::ALL.iter().enumerate() {
            assert!(!Route::ALL[i + 1..].contains(a), "{a:?} twice");
        }
    }
}
