//! Golden vectors captured from a real better-auth 1.7.25 (`docs/vectors/`).

use authkeep::auth::{Lifetime, password};
use authkeep::crypto::{HmacKey, Secret};
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
        HmacKey::new(&Secret::new(secret)).signed(c["token"].as_str().unwrap()),
        c["signed_value"].as_str().unwrap()
    );
    let settings = authkeep::http::cookies::CookieSettings {
        key: HmacKey::new(&Secret::new(secret)),
        prefix: "better-auth".into(),
        secure: false,
        session_max_age: 604_800,
        attributes: Default::default(),
        cache: None,
    };
    assert_eq!(
        settings.set_session(c["token"].as_str().unwrap(), Lifetime::Remembered)[0],
        c["set_cookie"].as_str().unwrap()
    );
    assert_eq!(
        settings.set_session("x", Lifetime::BrowserSession)[1],
        v["dont_remember_cookie"]["set_cookie"].as_str().unwrap()
    );
}

#[test]
fn a_better_auth_jwt_verifies_against_its_jwks() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    let v = vectors();
    let token = v["jwt"]["token"].as_str().unwrap();
    let key = &v["jwt"]["jwks"]["keys"][0];
    let header: Value =
        serde_json::from_slice(&B64.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["kid"], key["kid"]);
    let pk =
        ed25519_compact::PublicKey::from_slice(&B64.decode(key["x"].as_str().unwrap()).unwrap())
            .unwrap();
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig = ed25519_compact::Signature::from_slice(&B64.decode(sig).unwrap()).unwrap();
    assert!(pk.verify(input.as_bytes(), &sig).is_ok());
    assert!(pk.verify(format!("{input}x").as_bytes(), &sig).is_err());
}
