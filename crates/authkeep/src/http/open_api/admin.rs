//! The operations of the admin plugin.

use serde_json::{Value, json};

use super::shapes::{
    Constraints, Operation, b, email_of, get, obj, password_of, post, r, s, status,
};
use crate::http::router::Route;

fn admin(op: Operation) -> Operation {
    Operation { tag: "Admin", ..op }
}

fn user() -> Value {
    obj(&[("user", r("User"))], 1)
}

fn success() -> Value {
    obj(&[("success", b())], 1)
}

fn user_id() -> Value {
    obj(&[("userId", s())], 1)
}

/// A role: one name, or several.
fn role() -> Value {
    json!({ "anyOf": [s(), { "type": "array", "items": s() }] })
}

fn session_and_user() -> Value {
    obj(&[("session", r("Session")), ("user", r("User"))], 2)
}

/// `route`'s operation; `None` for a route of another plugin.
pub(super) fn operation(route: Route, c: &Constraints) -> Option<Operation> {
    Some(admin(match route {
        Route::AdminSetRole => post(
            "Set a user's role",
            true,
            obj(&[("userId", s()), ("role", role())], 2),
            user(),
        ),
        Route::AdminGetUser => Operation {
            query: &[("id", true)],
            ..get("A user by id", true, r("User"))
        },
        Route::AdminCreateUser => post(
            "Create a user (the password is optional)",
            true,
            obj(
                &[
                    ("email", email_of(c)),
                    ("name", s()),
                    ("password", password_of(c)),
                    ("role", role()),
                    ("data", json!({ "type": "object" })),
                ],
                2,
            ),
            user(),
        ),
        Route::AdminListUsers => Operation {
            query: &[
                ("searchValue", false),
                ("searchField", false),
                ("searchOperator", false),
                ("limit", false),
                ("offset", false),
                ("sortBy", false),
                ("sortDirection", false),
                ("filterField", false),
                ("filterValue", false),
                ("filterOperator", false),
            ],
            ..get(
                "Users, searched, filtered, sorted and paged",
                true,
                json!({
                    "type": "object",
                    "properties": {
                        "users": { "type": "array", "items": r("User") },
                        "total": { "type": "number" },
                        "limit": { "type": "number" },
                        "offset": { "type": "number" },
                    },
                    "required": ["users", "total"],
                }),
            )
        },
        Route::AdminListUserSessions => post(
            "A user's sessions",
            true,
            user_id(),
            obj(
                &[(
                    "sessions",
                    json!({ "type": "array", "items": r("Session") }),
                )],
                1,
            ),
        ),
        Route::AdminBanUser => post(
            "Ban a user (their sessions end)",
            true,
            obj(
                &[
                    ("userId", s()),
                    ("banReason", s()),
                    ("banExpiresIn", json!({ "type": "number" })),
                ],
                1,
            ),
            user(),
        ),
        Route::AdminUnbanUser => post("Lift a user's ban", true, user_id(), user()),
        Route::AdminRevokeUserSession => post(
            "End one session",
            true,
            obj(&[("sessionToken", s())], 1),
            success(),
        ),
        Route::AdminRevokeUserSessions => {
            post("End every session of a user", true, user_id(), success())
        }
        Route::AdminRemoveUser => post("Delete a user", true, user_id(), success()),
        Route::AdminSetUserPassword => post(
            "Set a user's password",
            true,
            obj(&[("userId", s()), ("newPassword", password_of(c))], 2),
            status(),
        ),
        Route::AdminHasPermission => post(
            "Whether the caller's role grants the permissions",
            true,
            obj(
                &[(
                    "permissions",
                    json!({ "type": "object", "additionalProperties": { "type": "array", "items": s() } }),
                )],
                1,
            ),
            json!({
                "type": "object",
                "properties": { "error": { "type": "null" }, "success": b() },
                "required": ["error", "success"],
            }),
        ),
        Route::AdminUpdateUser => post(
            "Change a user's fields",
            true,
            obj(&[("userId", s()), ("data", json!({ "type": "object" }))], 2),
            r("User"),
        ),
        Route::AdminImpersonateUser => post(
            "Act as a user for a while (the admin's own session is kept aside)",
            true,
            user_id(),
            session_and_user(),
        ),
        Route::AdminStopImpersonating => Operation {
            body_required: false,
            ..post(
                "Return to the admin's own session",
                true,
                json!({ "type": "object" }),
                session_and_user(),
            )
        },
        _ => return None,
    }))
}
