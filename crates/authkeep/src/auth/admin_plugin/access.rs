//! better-auth's default access control: the statements (resources and their actions) and the
//! two default roles, `admin` and `user`, and the check `hasPermission` makes.

use super::AdminPolicy;

/// A permission request: resource → actions, all of which must be granted.
pub type Request = Vec<(String, Vec<String>)>;

const USER_ALL: &[&str] = &[
    "create",
    "list",
    "set-role",
    "ban",
    "impersonate",
    "impersonate-admins",
    "delete",
    "set-password",
    "set-email",
    "get",
    "update",
];
const SESSION_ALL: &[&str] = &["list", "revoke", "delete"];

/// What a role grants on a resource; `None` when the role or resource is unknown.
fn granted(role: &str, resource: &str) -> Option<&'static [&'static str]> {
    match (role, resource) {
        // The admin role holds every action but impersonating other admins.
        ("admin", "user") => Some(ADMIN_USER),
        ("admin", "session") => Some(SESSION_ALL),
        ("user", "user" | "session") => Some(&[]),
        _ => None,
    }
}

const ADMIN_USER: &[&str] = &[
    "create",
    "list",
    "set-role",
    "ban",
    "impersonate",
    "delete",
    "set-password",
    "set-email",
    "get",
    "update",
];

/// Whether the resource and action exist in better-auth's default statements.
pub fn is_statement(resource: &str, action: &str) -> bool {
    match resource {
        "user" => USER_ALL.contains(&action),
        "session" => SESSION_ALL.contains(&action),
        _ => false,
    }
}

/// One role's answer (better-auth's `role.authorize`): every requested resource must be known
/// to the role and every requested action granted on it.
fn authorize(role: &str, request: &Request) -> bool {
    request.iter().all(|(resource, actions)| {
        granted(role, resource).is_some_and(|g| actions.iter().all(|a| g.contains(&a.as_str())))
    })
}

/// better-auth's `hasPermission`: the users in `admin_user_ids` may do anything; anyone else
/// when one of their roles (the default role when unset) authorises the whole request.
pub fn has_permission(
    policy: &AdminPolicy,
    user_id: Option<&str>,
    role: Option<&str>,
    request: &Request,
) -> bool {
    if user_id.is_some_and(|id| policy.admin_user_ids.iter().any(|a| a == id)) {
        return true;
    }
    super::roles(policy, role).any(|r| authorize(r, request))
}

/// `has_permission` for one resource and action.
pub fn may(
    policy: &AdminPolicy,
    user_id: &str,
    role: Option<&str>,
    resource: &str,
    action: &str,
) -> bool {
    has_permission(
        policy,
        Some(user_id),
        role,
        &vec![(resource.to_owned(), vec![action.to_owned()])],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn policy() -> AdminPolicy {
        AdminPolicy {
            default_role: "user".into(),
            admin_roles: vec!["admin".into()],
            admin_user_ids: vec!["root".into()],
            impersonation_session_duration: Duration::hours(1),
            default_ban_reason: "No reason".into(),
            default_ban_expires_in: None,
            banned_user_message: "banned".into(),
        }
    }

    fn req(resource: &str, actions: &[&str]) -> Request {
        vec![(
            resource.into(),
            actions.iter().map(|a| (*a).to_owned()).collect(),
        )]
    }

    #[test]
    fn default_roles_match_better_auth() {
        let p = policy();
        assert!(has_permission(
            &p,
            None,
            Some("admin"),
            &req("user", &["ban", "list"])
        ));
        assert!(!has_permission(
            &p,
            None,
            Some("admin"),
            &req("user", &["impersonate-admins"])
        ));
        assert!(has_permission(
            &p,
            None,
            Some("admin"),
            &req("session", &["revoke"])
        ));
        assert!(!has_permission(
            &p,
            None,
            Some("user"),
            &req("user", &["list"])
        ));
        assert!(
            !has_permission(&p, None, None, &req("user", &["list"])),
            "default role: user"
        );
        assert!(
            has_permission(&p, None, Some("user"), &req("user", &[])),
            "nothing asked"
        );
        assert!(!has_permission(
            &p,
            None,
            Some("admin"),
            &req("project", &["create"])
        ));
        assert!(has_permission(
            &p,
            None,
            Some("user,admin"),
            &req("user", &["delete"])
        ));
        assert!(has_permission(
            &p,
            Some("root"),
            Some("user"),
            &req("user", &["impersonate-admins"])
        ));
        assert!(!has_permission(
            &p,
            None,
            Some("superuser"),
            &req("user", &["get"])
        ));
    }
}
