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

/// Concurrent list edits (sign-ins at once) lose no entry. Needs the machine's Redis; skipped
/// without it unless `AUTHKEEP_TEST_REQUIRE_SERVICES` is set.
#[tokio::test]
async fn concurrent_list_edits_lose_no_entry() {
    let url = std::env::var("AUTHKEEP_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("authkeep-unit-{}:", crate::crypto::random_hex(4));
    let settings = super::super::SecondarySettings {
        url,
        key_prefix: prefix,
        timeout: std::time::Duration::from_secs(2),
        sessions_in_database: false,
        verifications_in_database: false,
        revoked_marker_ttl: 86_400,
    };
    let redis = SecondaryStorage::connect(&settings).unwrap();
    if redis.ping().await.is_err() {
        assert!(
            std::env::var_os("AUTHKEEP_TEST_REQUIRE_SERVICES").is_none(),
            "Redis is required"
        );
        eprintln!("SKIPPED: no Redis");
        return;
    }
    let now = Utc::now();
    let at = now + chrono::Duration::hours(1);
    let tokens: Vec<String> = (0..50).map(|i| format!("token-{i:02}")).collect();
    let mut edits = tokio::task::JoinSet::new();
    for t in tokens.clone() {
        let redis = redis.clone();
        edits.spawn(async move { redis.update_active("u1", &t, Some(at), now).await });
    }
    for r in edits.join_all().await {
        r.unwrap();
    }
    let listed = redis.active_refs("u1").await.unwrap();
    assert_eq!(listed.len(), 50);
    let mut removals = tokio::task::JoinSet::new();
    for t in tokens.into_iter().take(25) {
        let redis = redis.clone();
        removals.spawn(async move { redis.update_active("u1", &t, None, now).await });
    }
    for r in removals.join_all().await {
        r.unwrap();
    }
    let listed = redis.active_refs("u1").await.unwrap();
    assert_eq!(listed.len(), 25);
    let raw = redis.get(&active_key("u1")).await.unwrap().unwrap();
    assert!(
        raw.starts_with(r#"[{"token":"token-"#) && raw.contains(r#","expiresAt":"#),
        "{raw}"
    );
    assert!(!raw.contains("e+"), "integers, not floats: {raw}");
    redis.delete(&active_key("u1")).await.unwrap();
}
