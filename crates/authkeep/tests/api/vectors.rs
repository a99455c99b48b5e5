//! Golden vectors captured from a real better-auth 1.7.25 (`docs/vectors/`).

use authkeep::auth::{crypto, password};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!(
        "../../../../docs/vectors/better-auth-1.7.25.json"
    ))
    .unwrap()
}

#[test]
fn better_auth_password_hashes_verify() {
    let v = vectors();
    for case in v["scrypt"].as_array().unwrap() {
        let (pw, hash) = (
            case["password"].as_str().unwrap(),
            case["hash"].as_str().unwrap(),
        );
        assert!(
            password::verify_blocking(pw, hash).unwrap(),
            "better-auth hash for {pw:?}"
        );
        assert!(!password::verify_blocking("wrong", hash).unwrap());
    }
}

#[test]
fn better_auth_cookie_signatures_match() {
    let v = vectors();
    let secret = v["secret"].as_str().unwrap();
    let c = &v["session_cookie"];
    assert_eq!(
        crypto::signed(secret, c["token"].as_str().unwrap()),
        c["signed_value"].as_str().unwrap()
    );
    let settings = authkeep::http::cookies::CookieSettings {
        secret: authkeep::config::Secret::new(secret),
        prefix: "better-auth".into(),
        secure: false,
        session_max_age: 604_800,
    };
    assert_eq!(
        settings.set_session(c["token"].as_str().unwrap(), false)[0],
        c["set_cookie"].as_str().unwrap()
    );
    assert_eq!(
        settings.set_session("x", true)[1],
        v["dont_remember_cookie"]["set_cookie"].as_str().unwrap()
    );
}
