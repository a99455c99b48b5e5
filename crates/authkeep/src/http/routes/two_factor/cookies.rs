//! The two-factor plugin's cookies, as better-auth sets them: `two_factor` (the pending
//! sign-in, signed, `Max-Age` = the challenge's lifetime) and `trust_device` (signed, 30 days
//! by default), plus expiring the session cookies when a sign-in is held for its second factor.

use crate::http::App;
use crate::http::cookies::read_cookie;
use crate::http::exchange::Exchange;

const TWO_FACTOR: &str = "two_factor";
const TRUST_DEVICE: &str = "trust_device";

fn max_age(d: chrono::Duration) -> i64 {
    d.num_seconds()
}

/// The verified value of a signed cookie of ours.
fn signed(app: &App, ex: &Exchange, logical: &str) -> Option<String> {
    let raw = read_cookie(&ex.headers, &app.cookies.name(logical))?;
    app.cookies.key.verify_signed(&raw).map(str::to_owned)
}

/// The pending sign-in's key (`2fa-…`) from a correctly signed `two_factor` cookie.
pub fn challenge(app: &App, ex: &Exchange) -> Option<String> {
    signed(app, ex, TWO_FACTOR)
}

pub fn set_challenge(app: &App, ex: &mut Exchange, key: &str, age: chrono::Duration) {
    let c = app
        .cookies
        .serialize(TWO_FACTOR, &app.cookies.key.signed(key), Some(max_age(age)));
    ex.set_cookies.push(c);
}

pub fn expire_challenge(app: &App, ex: &mut Exchange) {
    ex.set_cookies
        .push(app.cookies.serialize(TWO_FACTOR, "", Some(0)));
}

/// The `trust_device` cookie's verified value, if sent.
pub fn trust(app: &App, ex: &Exchange) -> Option<String> {
    signed(app, ex, TRUST_DEVICE)
}

pub fn set_trust(app: &App, ex: &mut Exchange, value: &str, age: chrono::Duration) {
    let c = app.cookies.serialize(
        TRUST_DEVICE,
        &app.cookies.key.signed(value),
        Some(max_age(age)),
    );
    ex.set_cookies.push(c);
}

pub fn expire_trust(app: &App, ex: &mut Exchange) {
    ex.set_cookies
        .push(app.cookies.serialize(TRUST_DEVICE, "", Some(0)));
}

/// A trusted device's session no longer needs "don't remember" (better-auth expires it).
/// Like better-auth's `expireCookie`, it replaces a marker set earlier in the same response.
pub fn expire_dont_remember(app: &App, ex: &mut Exchange) {
    let prefix = format!("{}=", app.cookies.name("dont_remember"));
    ex.set_cookies.retain(|c| !c.starts_with(&prefix));
    ex.set_cookies
        .push(app.cookies.serialize("dont_remember", "", Some(0)));
}

/// better-auth's `deleteSessionCookie(ctx, true)` after a held sign-in: the session cookies
/// expire; a "don't remember" sign-in keeps its marker, which the verification then honours.
pub fn withhold_session(app: &App, ex: &mut Exchange, browser_session: bool) {
    ex.set_cookies
        .push(app.cookies.serialize("session_token", "", Some(0)));
    ex.set_cookies
        .push(app.cookies.serialize("session_data", "", Some(0)));
    let chunks = app.cookies.clear_session_data_chunks(&ex.headers);
    ex.set_cookies.extend(chunks);
    if browser_session {
        let marker = app.cookies.key.signed("true");
        ex.set_cookies
            .push(app.cookies.serialize("dont_remember", &marker, None));
    }
}
