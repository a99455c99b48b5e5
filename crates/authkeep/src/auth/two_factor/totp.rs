//! TOTP as better-auth's two-factor plugin computes it (`@better-auth/utils/otp`): RFC 6238
//! over HMAC-SHA-1, 6 digits, 30-second steps, accepting the step before and after. The key is
//! the secret's bytes as stored (better-auth's 32-character secret is used as UTF-8 text, not
//! base32-decoded); the `otpauth://` URI carries those bytes base32-encoded without padding.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

pub const DIGITS: u32 = 6;
pub const PERIOD_SECONDS: i64 = 30;

/// RFC 4226's HOTP of `counter`, `digits` long, zero-padded.
pub fn hotp(key: &[u8], counter: u64, digits: u32) -> String {
    // HMAC takes keys of any length; the fallback keeps this total without a panic path.
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<Sha1> as KeyInit>::new(&Default::default()));
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = usize::from(h[h.len() - 1] & 0x0f);
    let bin = (u32::from(h[offset]) & 0x7f) << 24
        | u32::from(h[offset + 1]) << 16
        | u32::from(h[offset + 2]) << 8
        | u32::from(h[offset + 3]);
    let code = bin % 10u32.pow(digits);
    format!("{code:0width$}", width = digits as usize)
}

/// The time step of `unix_ms`.
pub fn step_of(unix_ms: i64, period: i64) -> i64 {
    unix_ms.div_euclid(period * 1000)
}

/// The code for the step containing `unix_ms`.
pub fn code_at(key: &[u8], unix_ms: i64) -> String {
    hotp(
        key,
        u64::try_from(step_of(unix_ms, PERIOD_SECONDS)).unwrap_or(0),
        DIGITS,
    )
}

/// The step (current, previous or next) whose code `code` is, if any. Every candidate is
/// computed and compared in constant time, so timing does not tell which step matched.
pub fn matching_step(key: &[u8], code: &str, unix_ms: i64) -> Option<i64> {
    let now = step_of(unix_ms, PERIOD_SECONDS);
    let mut found = None;
    for step in [now - 1, now, now + 1] {
        let Ok(counter) = u64::try_from(step) else {
            continue;
        };
        let expected = hotp(key, counter, DIGITS);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            found = Some(step);
        }
    }
    found
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32, upper case, without padding (as better-auth writes it in the URI).
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(B32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(B32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// RFC 4648 base32 (case-insensitive, padding ignored); `None` on any other character.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        let v = B32.iter().position(|&x| x == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// `application/x-www-form-urlencoded` as `URLSearchParams` writes it.
fn form(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// JavaScript's `encodeURIComponent`.
fn uri_component(s: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'!')
        .remove(b'~')
        .remove(b'*')
        .remove(b'\'')
        .remove(b'(')
        .remove(b')');
    percent_encoding::utf8_percent_encode(s, KEEP).to_string()
}

/// better-auth's `otpauth://totp/<issuer>:<account>?secret=…&issuer=…&digits=6&period=30`.
pub fn uri(key: &[u8], issuer: &str, account: &str) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&digits={DIGITS}&period={PERIOD_SECONDS}",
        uri_component(issuer),
        uri_component(account),
        base32_encode(key),
        form(issuer),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 appendix B: SHA-1 with the 20-byte ASCII key "12345678901234567890", 8 digits.
    const RFC_KEY: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc6238_sha1_vectors() {
        for (t, want) in [
            (59i64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            let counter = u64::try_from(step_of(t * 1000, 30)).unwrap();
            assert_eq!(hotp(RFC_KEY, counter, 8), want, "T = {t}");
        }
    }

    #[test]
    fn rfc4226_hotp_vectors_six_digits() {
        let want = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (i, w) in want.iter().enumerate() {
            assert_eq!(hotp(RFC_KEY, i as u64, 6), *w);
        }
    }

    #[test]
    fn one_step_either_side_is_accepted_and_no_more() {
        let key = b"abcdefghijklmnopqrstuvwxyzABCDEF";
        let now = 1_700_000_000_000i64;
        let step = step_of(now, 30);
        for delta in [-1, 0, 1] {
            let code = code_at(key, now + delta * 30_000);
            assert_eq!(matching_step(key, &code, now), Some(step + delta));
        }
        for delta in [-2, 2] {
            let code = code_at(key, now + delta * 30_000);
            assert_eq!(matching_step(key, &code, now), None, "{delta}");
        }
        assert_eq!(matching_step(key, "12345", now), None);
        assert_eq!(matching_step(key, "", now), None);
    }

    #[test]
    fn base32_round_trips_and_matches_rfc4648() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_encode(b"f"), "MY");
        assert_eq!(base32_decode("MZXW6YTBOI").unwrap(), b"foobar");
        assert_eq!(base32_decode("mzxw6ytboi======").unwrap(), b"foobar");
        assert!(base32_decode("M1").is_none());
        let key = b"0123456789abcdefghijABCDEFGHIJkl";
        assert_eq!(base32_decode(&base32_encode(key)).unwrap(), key);
    }

    #[test]
    fn uri_is_better_auths() {
        assert_eq!(
            uri(b"foobar", "My App", "a+b@example.com"),
            "otpauth://totp/My%20App:a%2Bb%40example.com?secret=MZXW6YTBOI&issuer=My+App&digits=6&period=30"
        );
    }
}
