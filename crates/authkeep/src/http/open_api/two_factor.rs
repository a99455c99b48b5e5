//! The operations of the two-factor plugin.

use serde_json::{Value, json};

use super::shapes::{Operation, b, obj, post, r, s, status};
use crate::http::router::Route;

fn codes() -> Value {
    json!({ "type": "array", "items": s() })
}

fn two_factor(op: Operation) -> Operation {
    Operation {
        tag: "Two-factor",
        ..op
    }
}

/// A right code: the user, and the session's token once a sign-in is finished.
fn verified() -> Value {
    obj(&[("user", r("User")), ("token", s())], 1)
}

/// `route`'s operation; `None` for a route of another plugin.
pub(super) fn operation(route: Route) -> Option<Operation> {
    let password = || obj(&[("password", s())], 1);
    let code = |extra: &[(&str, Value)]| {
        let mut props = vec![("code", s()), ("trustDevice", b())];
        props.extend(extra.iter().cloned());
        obj(&props, 1)
    };
    Some(two_factor(match route {
        Route::TwoFactorEnable => post(
            "Start enrolling a second factor (active after the first verified code)",
            true,
            obj(
                &[
                    ("password", s()),
                    ("issuer", s()),
                    (
                        "method",
                        json!({ "type": "string", "enum": ["totp", "otp"] }),
                    ),
                ],
                1,
            ),
            obj(
                &[("totpURI", s()), ("backupCodes", codes()), ("method", s())],
                0,
            ),
        ),
        Route::TwoFactorDisable => post("Turn the second factor off", true, password(), status()),
        Route::TwoFactorGetTotpUri => post(
            "The otpauth:// URI of the enrolled secret",
            true,
            password(),
            obj(&[("totpURI", s())], 1),
        ),
        Route::TwoFactorVerifyTotp => post(
            "Check a TOTP code (in a session, or to finish a held sign-in)",
            false,
            code(&[]),
            verified(),
        ),
        Route::TwoFactorSendOtp => Operation {
            body_required: false,
            ..post(
                "Mail a one-time code for the held sign-in",
                false,
                obj(&[("trustDevice", b())], 0),
                status(),
            )
        },
        Route::TwoFactorVerifyOtp => {
            post("Check a mailed one-time code", false, code(&[]), verified())
        }
        Route::TwoFactorVerifyBackupCode => post(
            "Use a backup code (each works once)",
            false,
            code(&[("disableSession", b())]),
            verified(),
        ),
        Route::TwoFactorGenerateBackupCodes => post(
            "Replace the backup codes",
            true,
            password(),
            obj(&[("status", b()), ("backupCodes", codes())], 2),
        ),
        _ => return None,
    }))
}
