//! Reading and writing entries as better-auth does.

use super::*;

/// An entry as better-auth 1.7.25 writes it (captured from one), with a field of a plugin.
const FROM_BETTER_AUTH: &str = r#"{"session":{"id":"irhowTOjrWCaCcxmtXiyWxGu0M2DLYrJ","ipAddress":"","userAgent":"node","expiresAt":"2026-12-04T14:12:02.723Z","userId":"1In8nrVgFkhymtxOSQ3Btiuc5ibXO0l6","token":"0iS4VdXe7d0vKQS4d4rNWIDpOCaS8Pcd","createdAt":"2026-11-27T14:12:02.723Z","updatedAt":"2026-11-27T14:12:02.723Z","impersonatedBy":null},"user":{"name":"Q","email":"p@x.io","emailVerified":false,"image":null,"createdAt":"2026-11-27T14:12:02.686Z","updatedAt":"2026-11-27T14:12:02.953Z","id":"1In8nrVgFkhymtxOSQ3Btiuc5ibXO0l6"}}"#;

#[test]
fn reads_better_auths_entries() {
    let entry = parse_entry(FROM_BETTER_AUTH).unwrap();
    let s = object(&entry, "session").and_then(parse_session).unwrap();
    assert_eq!(s.token, "0iS4VdXe7d0vKQS4d4rNWIDpOCaS8Pcd");
    assert_eq!(s.ip_address.as_deref(), Some(""));
    assert_eq!(to_js_iso(&s.expires_at), "2026-12-04T14:12:02.723Z");
    let u = object(&entry, "user")
        .and_then(|u| parse_user(u, &Schema::default_names()))
        .unwrap();
    assert_eq!((u.name.as_str(), u.image), ("Q", None));
    assert!(parse_entry(r#"{"session":1}"#).is_none());
    assert!(parse_entry("not json").is_none());
}

#[test]
fn writes_better_auths_field_order() {
    let entry = parse_entry(FROM_BETTER_AUTH).unwrap();
    let s = object(&entry, "session").and_then(parse_session).unwrap();
    let written = session_json(&s).to_string();
    let original = FROM_BETTER_AUTH
        .split(r#","impersonatedBy""#)
        .next()
        .unwrap()
        .trim_start_matches(r#"{"session":"#);
    assert_eq!(written, format!("{original}}}"));
}

#[test]
fn ttl_rounds_down_and_never_goes_negative() {
    let now = DateTime::from_timestamp_millis(1_000_000).unwrap();
    let at = |ms| DateTime::from_timestamp_millis(ms).unwrap();
    assert_eq!(ttl_until(at(1_000_000 + 1999), now), 1);
    assert_eq!(ttl_until(at(1_000_000 + 999), now), 0);
    assert_eq!(ttl_until(at(0), now), 0);
}
