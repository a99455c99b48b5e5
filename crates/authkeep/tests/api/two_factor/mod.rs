//! better-auth's two-factor plugin: enrolment, the sign-in challenge, trusted devices, backup
//! codes, codes by email, attempt limits and lockout, on SQLite and PostgreSQL.

mod backup_codes;
mod enrol;
mod otp;
mod redis;
mod schema;
mod sign_in;

use serde_json::{Value, json};

use crate::helpers::{Client, Db, PASSWORD, TestApp};

/// An RFC 6238 generator written apart from the server's (HMAC-SHA-1, 6 digits, 30 s).
pub fn totp_at(key: &[u8], unix_ms: i64) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let counter = (unix_ms / 30_000) as u64;
    let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let o = (h[19] & 0x0f) as usize;
    let bin = ((h[o] as u32 & 0x7f) << 24)
        | ((h[o + 1] as u32) << 16)
        | ((h[o + 2] as u32) << 8)
        | h[o + 3] as u32;
    format!("{:06}", bin % 1_000_000)
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

pub fn totp(key: &[u8]) -> String {
    totp_at(key, now_ms())
}

/// The key inside an `otpauth://` URI (its base32 `secret`).
pub fn key_of(uri: &str) -> Vec<u8> {
    let secret = uri
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("secret="))
        .expect("secret in the URI");
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut out, mut buf, mut bits) = (Vec::new(), 0u32, 0u32);
    for c in secret.bytes() {
        buf = (buf << 5) | alphabet.iter().position(|&a| a == c).unwrap() as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    out
}

pub async fn spawn(db: Db) -> TestApp {
    TestApp::spawn_with(db, |c| c.two_factor.enabled = true).await
}

/// A signed-up, signed-in user who enabled TOTP and verified a first code; returns the key,
/// the backup codes, and the client (still signed in).
pub async fn enrolled(app: &TestApp, email: &str) -> (Vec<u8>, Vec<String>, Client) {
    let mut c = app.client();
    c.sign_up(email).await;
    let r = c
        .post("/two-factor/enable", json!({ "password": PASSWORD }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let key = key_of(r.json["totpURI"].as_str().unwrap());
    let codes: Vec<String> = r.json["backupCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    // A code from the previous step: the sign-in tests use the current one.
    let r = c
        .post(
            "/two-factor/verify-totp",
            json!({ "code": totp_at(&key, now_ms() - 30_000) }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    (key, codes, c)
}

/// A fresh client that signed in with the password and was held for a second factor.
pub async fn challenged(app: &TestApp, email: &str) -> (Client, Value) {
    let mut c = app.client();
    let r = c.sign_in(email, PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["twoFactorRedirect"], true, "{}", r.text);
    (c, r.json)
}

pub fn two_factor_cookie(c: &Client) -> Option<&String> {
    c.cookies.get("better-auth.two_factor")
}

/// `twoFactor.failedVerificationCount` of the only row.
pub async fn failed_count(app: &TestApp) -> i64 {
    let sql = r#"select cast("failedVerificationCount" as text) from "twoFactor""#;
    let v: Option<String> = match app.store.pool() {
        authkeep::store::Pool::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await,
        authkeep::store::Pool::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await,
    }
    .unwrap();
    v.map_or(0, |v| v.parse().unwrap())
}
