//! better-auth's session cookie cache: `<prefix>.session_data` carries the session and its user,
//! signed (`compact`, `jwt`) or encrypted (`jwe`) with the secret, so `get-session` can answer
//! without the database until the entry expires. The three formats are better-auth 1.7.25's
//! byte for byte, so a cookie written by either server is read by the other:
//!
//! - compact: base64url(`{"session":P,"expiresAt":ms,"signature":S}`), S = base64url(HMAC-SHA256
//!   over P's JSON with `"expiresAt":ms` appended as its last key);
//! - jwt: HS256 over P plus `iat` and `exp`;
//! - jwe: `dir` + `A256CBC-HS512` over P plus `iat`, `exp` and `jti` (see `crypto::jwe`);
//!
//! where P = `{"session":…,"user":…,"updatedAt":ms,"version":"1"}`. A value too long for one
//! cookie is split into `session_data.0`, `.1`, … as better-auth splits it.

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD as B64URL};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::cookies::{CookieSettings, read_cookie};
use crate::crypto::HmacKey;
use crate::crypto::jwe::JweKey;
use crate::model::{Session, User};

const SESSION_DATA: &str = "session_data";
/// Browsers keep cookies up to about 4 KB with their attributes (Safari's floor is lowest).
const MAX_COOKIE_SIZE: usize = 4050;
/// A longer value does not belong in cookies: the cache is skipped instead.
const MAX_CHUNKS: usize = 100;
/// A compact entry of a "don't remember" session (a cookie without `Max-Age`) lives a minute.
const BROWSER_SESSION_SECONDS: i64 = 60;
/// JWT and JWE entries of a "don't remember" session expire after five minutes.
const BROWSER_SESSION_TOKEN_SECONDS: i64 = 300;

/// `session.cookieCache.strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Compact,
    Jwt,
    Jwe,
}

#[derive(Debug, Clone)]
pub struct CookieCache {
    pub strategy: Strategy,
    /// Seconds an entry (and its cookie) lives.
    pub max_age: i64,
    /// Entries of another version are ignored (`session.cookieCache.version`).
    pub version: String,
    hmac: HmacKey,
    jwe: JweKey,
}

/// A verified entry: the session and user exactly as the writer stored them.
#[derive(Debug)]
pub struct Entry {
    pub session: Value,
    pub user: User,
    /// The raw user object, returned as written (it may carry fields this server does not know).
    pub user_json: Value,
    token: String,
    version: String,
    expires_at_ms: i64,
    session_expires_at_ms: i64,
}

impl Entry {
    /// When the entry stops vouching for the session (epoch ms).
    pub fn expires_at_ms(&self) -> i64 {
        self.expires_at_ms
    }

    /// better-auth's conditions for answering from the cache: it belongs to the session the
    /// request presents, has the configured version, and neither it nor the session expired.
    pub fn usable(&self, cache: &CookieCache, token: &str, now: DateTime<Utc>) -> bool {
        let now = now.timestamp_millis();
        crate::crypto::ct_eq_str(&self.token, token)
            && self.version == cache.version
            && self.expires_at_ms >= now
            && self.session_expires_at_ms >= now
    }
}

impl CookieCache {
    /// `hmac` signs compact and JWT entries (better-auth keys both with the secret itself);
    /// `jwe` is the secret's key for the salt `better-auth-session`.
    pub fn new(
        hmac: HmacKey,
        jwe: JweKey,
        strategy: Strategy,
        max_age: i64,
        version: String,
    ) -> Self {
        CookieCache {
            strategy,
            max_age,
            version,
            hmac,
            jwe,
        }
    }

    /// The cookie value for `session` and `user`, as of `now`. `remembered` is false for a
    /// "don't remember" session, whose entry lives shorter (better-auth's defaults).
    pub fn encode(
        &self,
        session: &Session,
        user: &User,
        remembered: bool,
        now: DateTime<Utc>,
    ) -> String {
        let mut payload = Map::new();
        payload.insert("session".into(), json!(session));
        payload.insert("user".into(), json!(user));
        payload.insert("updatedAt".into(), now.timestamp_millis().into());
        payload.insert("version".into(), self.version.clone().into());
        let lifetime = |browser_session| {
            if remembered {
                self.max_age
            } else {
                browser_session
            }
        };
        match self.strategy {
            Strategy::Compact => {
                let expires_at = now.timestamp_millis() + lifetime(BROWSER_SESSION_SECONDS) * 1000;
                self.seal_compact(payload, expires_at)
            }
            Strategy::Jwt | Strategy::Jwe => {
                let iat = now.timestamp();
                payload.insert("iat".into(), iat.into());
                payload.insert(
                    "exp".into(),
                    (iat + lifetime(BROWSER_SESSION_TOKEN_SECONDS)).into(),
                );
                if self.strategy == Strategy::Jwt {
                    self.sign_jwt(&payload)
                } else {
                    payload.insert("jti".into(), uuid_v4().into());
                    self.jwe.seal(Value::Object(payload).to_string().as_bytes())
                }
            }
        }
    }

    /// The entry in `value` if it is authentic and well-formed; `None` for anything else.
    /// Expiry and ownership are checked by [`Entry::usable`].
    pub fn decode(&self, value: &str, now: DateTime<Utc>) -> Option<Entry> {
        let (payload, expires_at_ms) = match self.strategy {
            Strategy::Compact => self.open_compact(value)?,
            Strategy::Jwt => self.open_jwt(value)?,
            Strategy::Jwe => {
                let claims: Map<String, Value> =
                    serde_json::from_slice(&self.jwe.open(value)?).ok()?;
                let exp = claims.get("exp")?.as_i64()?;
                // jose's clock tolerance for encrypted tokens, which better-auth passes.
                (exp + 15 > now.timestamp()).then_some(())?;
                (claims, exp * 1000)
            }
        };
        entry(payload, expires_at_ms)
    }

    fn seal_compact(&self, payload: Map<String, Value>, expires_at: i64) -> String {
        let signature = self.compact_signature(&payload, expires_at);
        let outer = json!({
            "session": payload,
            "expiresAt": expires_at,
            "signature": signature,
        });
        B64URL.encode(outer.to_string())
    }

    fn sign_jwt(&self, claims: &Map<String, Value>) -> String {
        let signing_input = format!(
            "{}.{}",
            B64URL.encode(r#"{"alg":"HS256"}"#),
            B64URL.encode(Value::Object(claims.clone()).to_string())
        );
        let sig = self.hmac.mac(signing_input.as_bytes());
        format!("{signing_input}.{}", B64URL.encode(sig))
    }

    fn compact_signature(&self, payload: &Map<String, Value>, expires_at: i64) -> String {
        // JSON.stringify({...payload, expiresAt}): an existing key keeps its place, as in JS.
        let mut signed = payload.clone();
        signed.insert("expiresAt".into(), expires_at.into());
        B64URL.encode(self.hmac.mac(Value::Object(signed).to_string().as_bytes()))
    }

    fn open_compact(&self, value: &str) -> Option<(Map<String, Value>, i64)> {
        let bytes = B64URL
            .decode(value.trim_end_matches('='))
            .or_else(|_| URL_SAFE.decode(value))
            .ok()?;
        let Value::Object(mut outer) = serde_json::from_slice(&bytes).ok()? else {
            return None;
        };
        let expires_at = outer.get("expiresAt")?.as_i64()?;
        let signature = outer.get("signature")?.as_str()?.to_owned();
        let Value::Object(payload) = outer.remove("session")? else {
            return None;
        };
        let expected = self.compact_signature(&payload, expires_at);
        crate::crypto::ct_eq_str(&expected, &signature).then_some((payload, expires_at))
    }

    fn open_jwt(&self, value: &str) -> Option<(Map<String, Value>, i64)> {
        let (signing_input, sig) = value.rsplit_once('.')?;
        let (header, claims) = signing_input.split_once('.')?;
        let header: Value = serde_json::from_slice(&B64URL.decode(header).ok()?).ok()?;
        if header.get("alg")? != "HS256" {
            return None;
        }
        if !self
            .hmac
            .verify(signing_input.as_bytes(), &B64URL.decode(sig).ok()?)
        {
            return None;
        }
        let claims: Map<String, Value> =
            serde_json::from_slice(&B64URL.decode(claims).ok()?).ok()?;
        let exp = claims.get("exp")?.as_i64()?;
        Some((claims, exp * 1000))
    }
}

/// Checks the payload's shape as better-auth's schema does (a session with its token and dates,
/// a user, `updatedAt`) and keeps what a reply needs.
fn entry(mut payload: Map<String, Value>, expires_at_ms: i64) -> Option<Entry> {
    payload.get("updatedAt")?.as_f64()?;
    let version = match payload.get("version") {
        None => "1".to_owned(),
        Some(v) => v.as_str()?.to_owned(),
    };
    let session = payload.remove("session")?;
    let user_json = payload.remove("user")?;
    let s = session.as_object()?;
    for key in ["id", "userId", "token"] {
        s.get(key)?.as_str()?;
    }
    for key in ["createdAt", "updatedAt"] {
        crate::model::parse_date(s.get(key)?.as_str()?)?;
    }
    let session_expires_at_ms =
        crate::model::parse_date(s.get("expiresAt")?.as_str()?)?.timestamp_millis();
    let token = s.get("token")?.as_str()?.to_owned();
    let user: User = serde_json::from_value(user_json.clone()).ok()?;
    Some(Entry {
        session,
        user,
        user_json,
        token,
        version,
        expires_at_ms,
        session_expires_at_ms,
    })
}

/// A random (version 4) UUID, the `jti` better-auth gives each encrypted entry.
fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    rand::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

impl CookieSettings {
    /// The `session_data` value in the request, joined from its chunks if it was split.
    pub fn session_data(&self, headers: &HeaderMap) -> Option<String> {
        let name = self.name(SESSION_DATA);
        if let Some(v) = read_cookie(headers, &name).filter(|v| !v.is_empty()) {
            return Some(v);
        }
        // One pass over the cookies (a request may carry up to a hundred chunks); the first
        // cookie of a name wins, as for every other cookie.
        let prefix = format!("{name}.");
        let mut chunks: Vec<(usize, String)> = Vec::new();
        for (k, raw) in super::cookies::cookie_pairs(headers) {
            let Some(i) = k
                .strip_prefix(&prefix)
                .and_then(|i| i.parse::<usize>().ok())
            else {
                continue;
            };
            if i < MAX_CHUNKS && chunks.iter().all(|(j, _)| *j != i) {
                chunks.push((i, super::cookies::cookie_value(raw)?));
            }
        }
        chunks.sort_by_key(|(i, _)| *i);
        let joined: String = chunks.into_iter().map(|(_, v)| v).collect();
        (!joined.is_empty()).then_some(joined)
    }

    /// `Set-Cookie` values storing `value` (split into chunks when one cookie cannot hold it),
    /// expiring chunks of an earlier, longer value. Empty when the value is too large to keep.
    pub fn set_session_data(
        &self,
        headers: &HeaderMap,
        value: &str,
        max_age: Option<i64>,
    ) -> Vec<String> {
        let stale = self.session_data_chunks(headers);
        let overhead = self
            .serialize(&format!("{SESSION_DATA}.99"), "", max_age)
            .len();
        let room = MAX_COOKIE_SIZE.saturating_sub(overhead).max(1);
        let encoded_len = self.serialize(SESSION_DATA, value, max_age).len() - overhead + 3;
        let mut out: Vec<String> = Vec::new();
        let mut used = Vec::new();
        if encoded_len <= room {
            out.push(self.serialize(SESSION_DATA, value, max_age));
        } else {
            // Cookie-safe values (base64url and JWT/JWE characters) split anywhere.
            let parts: Vec<&str> = value
                .as_bytes()
                .chunks(room)
                .filter_map(|c| std::str::from_utf8(c).ok())
                .collect();
            if parts.len() > MAX_CHUNKS {
                tracing::warn!(
                    "the session is too large for the cookie cache even in chunks; not cached"
                );
                return self.clear_session_data(headers);
            }
            for (i, part) in parts.iter().enumerate() {
                used.push(i);
                out.push(self.serialize(&format!("{SESSION_DATA}.{i}"), part, max_age));
            }
        }
        let expire = stale.into_iter().filter(|i| !used.contains(i));
        out.extend(expire.map(|i| self.expire_chunk(i)));
        out
    }

    /// Expires `session_data` and every chunk of it the request carries.
    pub fn clear_session_data(&self, headers: &HeaderMap) -> Vec<String> {
        let mut out = vec![self.serialize(SESSION_DATA, "", Some(0))];
        out.extend(self.clear_session_data_chunks(headers));
        out
    }

    /// Expires the chunks of a split `session_data` the request carries (`clear_session`
    /// expires the unsplit cookie itself).
    pub fn clear_session_data_chunks(&self, headers: &HeaderMap) -> Vec<String> {
        self.session_data_chunks(headers)
            .into_iter()
            .map(|i| self.expire_chunk(i))
            .collect()
    }

    /// `Set-Cookie` expiring chunk `i` of `session_data`.
    fn expire_chunk(&self, i: usize) -> String {
        self.serialize(&format!("{SESSION_DATA}.{i}"), "", Some(0))
    }

    /// Indices of the `session_data.<n>` cookies in the request.
    fn session_data_chunks(&self, headers: &HeaderMap) -> Vec<usize> {
        let prefix = format!("{}.", self.name(SESSION_DATA));
        let mut out: Vec<usize> = super::cookies::cookie_names(headers)
            .filter_map(|n| n.strip_prefix(&prefix)?.parse().ok())
            .filter(|i: &usize| *i < MAX_CHUNKS)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: &str = include_str!("../../../../compat/fixtures/cookie-cache-vectors.json");

    fn vectors() -> Value {
        serde_json::from_str(VECTORS).unwrap()
    }

    fn with_secret(secret: &str, strategy: Strategy) -> CookieCache {
        let keys = crate::crypto::Keys::derive(&crate::crypto::Secret::new(secret));
        CookieCache::new(keys.hmac, keys.cookie_cache, strategy, 300, "1".into())
    }

    fn cache(strategy: Strategy) -> CookieCache {
        with_secret(vectors()["secret"].as_str().unwrap(), strategy)
    }

    fn model(v: &Value) -> (Session, User, DateTime<Utc>) {
        let p = &v["synthetic"]["payload"];
        let s = &p["session"];
        let date = |x: &Value| crate::model::parse_date(x.as_str().unwrap()).unwrap();
        let session = Session {
            expires_at: date(&s["expiresAt"]),
            token: s["token"].as_str().unwrap().into(),
            created_at: date(&s["createdAt"]),
            updated_at: date(&s["updatedAt"]),
            ip_address: s["ipAddress"].as_str().map(Into::into),
            user_agent: s["userAgent"].as_str().map(Into::into),
            user_id: s["userId"].as_str().unwrap().into(),
            impersonated_by: crate::model::ImpersonatedBy::Off,
            id: s["id"].as_str().unwrap().into(),
        };
        let user: User = serde_json::from_value(p["user"].clone()).unwrap();
        let now = DateTime::from_timestamp_millis(p["updatedAt"].as_i64().unwrap()).unwrap();
        (session, user, now)
    }

    #[test]
    fn better_auths_entries_are_reproduced_and_read() {
        let v = vectors();
        let (session, user, now) = model(&v);
        let synthetic = &v["synthetic"];
        let want = synthetic["compact"]["value"].as_str().unwrap();
        // Our serialisation of better-auth's records is better-auth's, byte for byte.
        let Value::Object(payload) = synthetic["payload"].clone() else {
            panic!()
        };
        assert_eq!(payload["session"], json!(session));
        assert_eq!(payload["user"], json!(user));
        let c = cache(Strategy::Compact);
        let expires_at = synthetic["compact"]["expiresAt"].as_i64().unwrap();
        assert_eq!(c.seal_compact(payload.clone(), expires_at), want);
        let Value::Object(claims) = synthetic["jwt"]["claims"].clone() else {
            panic!()
        };
        assert_eq!(
            cache(Strategy::Jwt).sign_jwt(&claims),
            synthetic["jwt"]["value"].as_str().unwrap()
        );
        let opened = cache(Strategy::Jwe)
            .jwe
            .open(synthetic["jwe"]["value"].as_str().unwrap())
            .unwrap();
        let opened: Value = serde_json::from_slice(&opened).unwrap();
        assert_eq!(opened, synthetic["jwe"]["claims"]);
        for (strategy, value) in [
            (Strategy::Compact, want),
            (Strategy::Jwt, synthetic["jwt"]["value"].as_str().unwrap()),
            (Strategy::Jwe, synthetic["jwe"]["value"].as_str().unwrap()),
        ] {
            let c = cache(strategy);
            let entry = c
                .decode(value, now)
                .unwrap_or_else(|| panic!("{strategy:?}"));
            assert!(entry.usable(&c, &session.token, now), "{strategy:?}");
            assert_eq!(entry.user, user);
            assert_eq!(entry.session, json!(session));
            assert!(!entry.usable(&c, "another-token", now));
        }
        // The captured cookie, as better-auth set it, verifies too (it has expired by now).
        let captured = v["captured"]["compact"]["sessionDataValue"]
            .as_str()
            .unwrap();
        assert!(cache(Strategy::Compact).decode(captured, now).is_some());
    }

    #[test]
    fn entries_round_trip_and_tampering_is_refused() {
        let v = vectors();
        let (session, user, now) = model(&v);
        for strategy in [Strategy::Compact, Strategy::Jwt, Strategy::Jwe] {
            let c = cache(strategy);
            let value = c.encode(&session, &user, true, now);
            let entry = c.decode(&value, now).unwrap();
            assert!(entry.usable(&c, &session.token, now));
            let later = now + chrono::Duration::seconds(301 + 15);
            assert!(
                c.decode(&value, later)
                    .is_none_or(|e| !e.usable(&c, &session.token, later))
            );
            let other = with_secret("another", strategy);
            assert!(other.decode(&value, now).is_none(), "{strategy:?}");
            let tampered = format!(
                "{}A{}",
                &value[..value.len() - 20],
                &value[value.len() - 19..]
            );
            if tampered != value {
                assert!(c.decode(&tampered, now).is_none(), "{strategy:?}");
            }
            let v2 = CookieCache {
                version: "2".into(),
                ..cache(strategy)
            };
            assert!(
                !v2.decode(&value, now)
                    .unwrap()
                    .usable(&v2, &session.token, now)
            );
        }
    }
}
