//! The operations of the email-otp and magic-link plugins.

use serde_json::{Value, json};

use super::shapes::{
    Constraints, Operation, b, email_of, get, nullable, obj, password_of, post, r, s, status,
    success,
};

pub(super) fn otp_send_or_check(check: bool, c: &Constraints) -> Operation {
    Operation {
        tag: "Email-otp",
        ..post(
            if !check {
                "Mail a one-time code"
            } else {
                "Check a one-time code without using it"
            },
            false,
            otp_body(check, email_of(c)),
            success(),
        )
    }
}

pub(super) fn otp_verify_email(c: &Constraints) -> Operation {
    Operation {
        tag: "Email-otp",
        ..post(
            "Verify the email address with a one-time code",
            false,
            obj(&[("email", email_of(c)), ("otp", s())], 2),
            obj(
                &[
                    ("status", b()),
                    ("token", nullable(s())),
                    ("user", r("User")),
                ],
                3,
            ),
        )
    }
}

pub(super) fn otp_sign_in(c: &Constraints) -> Operation {
    Operation {
        tag: "Email-otp",
        ..post(
            "Sign in with a one-time code",
            false,
            obj(
                &[
                    ("email", email_of(c)),
                    ("otp", s()),
                    ("name", s()),
                    ("image", s()),
                ],
                2,
            ),
            obj(&[("token", s()), ("user", r("User"))], 2),
        )
    }
}

pub(super) fn otp_request_reset(c: &Constraints) -> Operation {
    Operation {
        tag: "Email-otp",
        ..post(
            "Mail a password-reset code",
            false,
            obj(&[("email", email_of(c))], 1),
            success(),
        )
    }
}

pub(super) fn otp_reset_password(c: &Constraints) -> Operation {
    Operation {
        tag: "Email-otp",
        ..post(
            "Reset the password with a one-time code",
            false,
            obj(
                &[
                    ("email", email_of(c)),
                    ("otp", s()),
                    ("password", password_of(c)),
                ],
                3,
            ),
            success(),
        )
    }
}

pub(super) fn magic_link_send(c: &Constraints) -> Operation {
    Operation {
        tag: "Magic-link",
        ..post(
            "Mail a sign-in link",
            false,
            obj(
                &[
                    ("email", email_of(c)),
                    ("name", s()),
                    ("callbackURL", s()),
                    ("newUserCallbackURL", s()),
                    ("errorCallbackURL", s()),
                ],
                1,
            ),
            status(),
        )
    }
}

pub(super) fn magic_link_verify() -> Operation {
    Operation {
        tag: "Magic-link",
        query: &[
            ("token", true),
            ("callbackURL", false),
            ("errorCallbackURL", false),
            ("newUserCallbackURL", false),
        ],
        ok: vec![
            (
                200,
                Some(obj(
                    &[
                        ("token", s()),
                        ("user", r("User")),
                        ("session", r("Session")),
                    ],
                    3,
                )),
            ),
            (302, None),
        ],
        ..get("Follow a sign-in link", false, obj(&[], 0))
    }
}

/// The email-otp plugin's `type`: which flow a code belongs to.
fn otp_body(with_code: bool, email: Value) -> Value {
    let kind = json!({ "type": "string", "enum": ["email-verification", "sign-in", "forget-password", "change-email"] });
    if with_code {
        obj(&[("email", email.clone()), ("type", kind), ("otp", s())], 3)
    } else {
        obj(&[("email", email), ("type", kind)], 2)
    }
}
