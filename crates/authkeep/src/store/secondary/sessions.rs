//! Sessions in secondary storage, as better-auth keeps them: `<token>` holds
//! `{"session": …, "user": …}` until the session expires, `active-sessions-<userId>` lists the
//! user's tokens with their expiry (ms), and `revoked-sessions-before-<userId>` (ms) ends every
//! session created before it, even one a replica still holds under its token.
//!
//! Values written by better-auth are read and rewritten as JSON maps, so fields it adds (and
//! their order) survive a refresh or a user update made here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{SecondaryStorage, ttl_until};

/// Edits `active-sessions-<userId>` (KEYS[1]) atomically. ARGV: now (ms), a JSON array of
/// tokens to drop, a token to (re)list ("" for none) and its expiry (ms). Expired and malformed
/// entries are dropped, the list is sorted by expiry and written as better-auth writes it
/// (`[{"token":…,"expiresAt":…}]`, integers, not cjson's floats) with the TTL of its last
/// session, or deleted when nothing is left.
const EDIT_ACTIVE: &str = r#"
local list = {}
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, v = pcall(cjson.decode, cur)
  if ok and type(v) == 'table' then list = v end
end
local now = tonumber(ARGV[1])
local gone = {}
for _, t in ipairs(cjson.decode(ARGV[2])) do gone[t] = true end
if ARGV[3] ~= '' then gone[ARGV[3]] = true end
local kept = {}
for _, r in ipairs(list) do
  local at = type(r) == 'table' and tonumber(r.expiresAt)
  if at and type(r.token) == 'string' and at > now and not gone[r.token] then
    table.insert(kept, {token = r.token, expiresAt = at})
  end
end
if ARGV[3] ~= '' then table.insert(kept, {token = ARGV[3], expiresAt = tonumber(ARGV[4])}) end
table.sort(kept, function(a, b) return a.expiresAt < b.expiresAt end)
local ttl = 0
if #kept > 0 then ttl = math.floor((kept[#kept].expiresAt - now) / 1000) end
if ttl <= 0 then
  redis.call('DEL', KEYS[1])
  return 0
end
local parts = {}
for i, r in ipairs(kept) do
  parts[i] = '{"token":' .. cjson.encode(r.token) .. ',"expiresAt":' .. string.format('%d', r.expiresAt) .. '}'
end
redis.call('SET', KEYS[1], '[' .. table.concat(parts, ',') .. ']', 'EX', ttl)
return #kept
"#;
use crate::model::{Session, User, parse_date, to_js_iso};
use crate::store::StoreResult;
use crate::store::schema::Schema;

fn active_key(user_id: &str) -> String {
    format!("active-sessions-{user_id}")
}

fn revoked_key(user_id: &str) -> String {
    format!("revoked-sessions-before-{user_id}")
}

/// An entry of `active-sessions-<userId>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActiveRef {
    token: String,
    /// Milliseconds since the epoch.
    expires_at: i64,
}

/// What a token key holds, when it holds a session.
pub(in crate::store) enum Cached {
    /// No entry: the database may have the session (`store_session_in_database`).
    Absent,
    /// An entry, but the session was revoked (or the entry is unreadable): no session.
    Revoked,
    Found(Box<(Session, User)>),
}

/// The session as better-auth writes it when sessions are only in secondary storage.
/// An impersonation session (the admin plugin's) has `impersonatedBy` after `userAgent`, where
/// better-auth's `createSession` spreads its overrides.
fn session_json(s: &Session) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(s.id));
    m.insert("ipAddress".into(), json!(s.ip_address));
    m.insert("userAgent".into(), json!(s.user_agent));
    if let Some(admin) = s.impersonated_by.admin() {
        m.insert("impersonatedBy".into(), json!(admin));
    }
    m.insert("expiresAt".into(), json!(to_js_iso(&s.expires_at)));
    m.insert("userId".into(), json!(s.user_id));
    m.insert("token".into(), json!(s.token));
    m.insert("createdAt".into(), json!(to_js_iso(&s.created_at)));
    m.insert("updatedAt".into(), json!(to_js_iso(&s.updated_at)));
    Value::Object(m)
}

/// The session as better-auth writes it when it is also a database row: the row as its
/// adapter returns it, which is the model's own order.
fn session_row_json(s: &Session) -> Value {
    json!(s)
}

fn str_of(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k).and_then(Value::as_str).map(str::to_owned)
}

fn date_of(m: &Map<String, Value>, k: &str) -> Option<DateTime<Utc>> {
    m.get(k).and_then(Value::as_str).and_then(parse_date)
}

fn parse_session(m: &Map<String, Value>) -> Option<Session> {
    Some(Session {
        id: str_of(m, "id").unwrap_or_default(),
        token: str_of(m, "token")?,
        user_id: str_of(m, "userId")?,
        expires_at: date_of(m, "expiresAt")?,
        created_at: date_of(m, "createdAt")?,
        updated_at: date_of(m, "updatedAt")?,
        ip_address: str_of(m, "ipAddress"),
        user_agent: str_of(m, "userAgent"),
        impersonated_by: crate::model::ImpersonatedBy::from_json(m.get("impersonatedBy")),
    })
}

/// The user embedded in a session entry, with the deployment's returned additional fields.
fn parse_user(m: &Map<String, Value>, schema: &Schema) -> Option<User> {
    let mut additional = Map::new();
    for (field, _) in schema.additional() {
        if field.returned {
            let v = m.get(&field.name).cloned().unwrap_or(Value::Null);
            additional.insert(field.name.clone(), v);
        }
    }
    Some(User {
        id: str_of(m, "id")?,
        name: str_of(m, "name").unwrap_or_default(),
        email: str_of(m, "email")?,
        email_verified: m
            .get("emailVerified")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        image: str_of(m, "image"),
        created_at: date_of(m, "createdAt")?,
        updated_at: date_of(m, "updatedAt")?,
        additional,
    })
}

/// A token entry as a map with `session` and `user` objects, or `None` when unreadable.
fn parse_entry(raw: &str) -> Option<Map<String, Value>> {
    let entry: Map<String, Value> = serde_json::from_str(raw).ok()?;
    (entry.get("session")?.is_object() && entry.get("user")?.is_object()).then_some(entry)
}

fn object<'a>(entry: &'a Map<String, Value>, k: &str) -> Option<&'a Map<String, Value>> {
    entry.get(k).and_then(Value::as_object)
}

impl SecondaryStorage {
    async fn active_refs(&self, user_id: &str) -> StoreResult<Vec<ActiveRef>> {
        Ok(self
            .get(&active_key(user_id))
            .await?
            .and_then(|raw| serde_json::from_str(&raw).ok())
            .unwrap_or_default())
    }

    /// Edits the user's list in one step in Redis (concurrent sign-ins must not lose each
    /// other's entries, or a session would be missing from `list-sessions` and survive
    /// `revoke-other-sessions`): `remove` and expired entries go, `add` is (re)listed, the list
    /// is kept sorted by expiry for as long as its last session lives, or deleted when empty.
    async fn edit_active(
        &self,
        user_id: &str,
        remove: &[&str],
        add: Option<(&str, DateTime<Utc>)>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let key = self.key(&active_key(user_id));
        let remove = json!(remove).to_string();
        let (token, expires_at) = add.map_or(("", 0), |(t, at)| (t, at.timestamp_millis()));
        let now_ms = now.timestamp_millis();
        self.run(async |c| {
            redis::Script::new(EDIT_ACTIVE)
                .key(key)
                .arg(now_ms)
                .arg(remove)
                .arg(token)
                .arg(expires_at)
                .invoke_async::<i64>(c)
                .await
        })
        .await
        .map(|_| ())
    }

    /// The user's list with `token` set to expire at `expires_at` (or dropped when `None`),
    /// expired entries dropped.
    async fn update_active(
        &self,
        user_id: &str,
        token: &str,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        match expires_at {
            Some(at) => self.edit_active(user_id, &[], Some((token, at)), now).await,
            None => self.edit_active(user_id, &[token], None, now).await,
        }
    }

    /// Stores a new session with its user (better-auth's `createSession`): listed first, then
    /// the token entry. `as_row`: the session is also a database row (its JSON follows the
    /// row's field order, as better-auth's does).
    pub(in crate::store) async fn put_session(
        &self,
        s: &Session,
        user: &User,
        as_row: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.update_active(&s.user_id, &s.token, Some(s.expires_at), now)
            .await?;
        let ttl = ttl_until(s.expires_at, now);
        if ttl > 0 {
            let session = if as_row {
                session_row_json(s)
            } else {
                session_json(s)
            };
            let entry = json!({ "session": session, "user": user }).to_string();
            self.set(&s.token, &entry, ttl).await?;
        }
        Ok(())
    }

    pub(in crate::store) async fn is_revoked(&self, session: &Session) -> StoreResult<bool> {
        let before = self
            .get(&revoked_key(&session.user_id))
            .await?
            .and_then(|v| v.trim().parse::<f64>().ok());
        Ok(before.is_some_and(|b| (session.created_at.timestamp_millis() as f64) < b))
    }

    pub(in crate::store) async fn find_session(
        &self,
        schema: &Schema,
        token: &str,
    ) -> StoreResult<Cached> {
        let Some(raw) = self.get(token).await? else {
            return Ok(Cached::Absent);
        };
        let Some(entry) = parse_entry(&raw) else {
            return Ok(Cached::Revoked);
        };
        let session = object(&entry, "session").and_then(parse_session);
        let user = object(&entry, "user").and_then(|u| parse_user(u, schema));
        let (Some(session), Some(user)) = (session, user) else {
            return Ok(Cached::Revoked);
        };
        if self.is_revoked(&session).await? {
            return Ok(Cached::Revoked);
        }
        Ok(Cached::Found(Box::new((session, user))))
    }

    /// Extends a session (better-auth's `updateSession` on refresh); false when the entry is
    /// gone.
    pub(in crate::store) async fn refresh_session(
        &self,
        token: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let Some(mut entry) = self.get(token).await?.as_deref().and_then(parse_entry) else {
            return Ok(false);
        };
        let Some(session) = entry.get_mut("session").and_then(Value::as_object_mut) else {
            return Ok(false);
        };
        session.insert("expiresAt".into(), to_js_iso(&expires_at).into());
        session.insert("updatedAt".into(), to_js_iso(&now).into());
        let Some(user_id) = str_of(session, "userId") else {
            return Ok(false);
        };
        let ttl = ttl_until(expires_at, now);
        if ttl > 0 {
            self.set(token, &Value::Object(entry).to_string(), ttl)
                .await?;
            self.update_active(&user_id, token, Some(expires_at), now)
                .await?;
        }
        Ok(true)
    }

    /// Ends one session: off its user's list, then its entry. Returns whose it was.
    pub(in crate::store) async fn delete_session(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<String>> {
        let owner = self
            .get(token)
            .await?
            .as_deref()
            .and_then(parse_entry)
            .and_then(|e| object(&e, "session").and_then(|s| str_of(s, "userId")));
        if let Some(user_id) = &owner {
            self.update_active(user_id, token, None, now).await?;
        }
        self.delete(token).await?;
        Ok(owner)
    }

    /// The user's live sessions, in the list's order (by expiry); revoked and vanished ones
    /// left out.
    pub(in crate::store) async fn list_sessions(
        &self,
        schema: &Schema,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Session>> {
        let now_ms = now.timestamp_millis();
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for r in self.active_refs(user_id).await? {
            if r.expires_at <= now_ms || !seen.insert(r.token.clone()) {
                continue;
            }
            if let Cached::Found(found) = self.find_session(schema, &r.token).await? {
                out.push(found.0);
            }
        }
        Ok(out)
    }

    /// Ends every session of the user created before `revoked_at` (better-auth's
    /// `deleteUserSessions` / user deletion): the marker first, so a replica that still finds
    /// an entry refuses it, then the listed entries.
    pub(in crate::store) async fn revoke_all(
        &self,
        user_id: &str,
        revoked_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let key = revoked_key(user_id);
        let previous = self
            .get(&key)
            .await?
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        let at = (revoked_at.timestamp_millis() as f64).max(previous);
        self.set(&key, &format!("{at}"), self.revoked_marker_ttl)
            .await?;
        let refs = self.active_refs(user_id).await?;
        self.delete_listed(user_id, refs.into_iter().map(|r| r.token), now)
            .await
    }

    /// Deletes the entries of `tokens` and takes them off the user's list.
    pub(in crate::store) async fn delete_listed(
        &self,
        user_id: &str,
        tokens: impl Iterator<Item = String>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let gone: std::collections::HashSet<String> = tokens.collect();
        for token in &gone {
            self.delete(token).await?;
        }
        let gone: Vec<&str> = gone.iter().map(String::as_str).collect();
        self.edit_active(user_id, &gone, None, now).await
    }

    /// The tokens on the user's list other than `keep`.
    pub(in crate::store) async fn listed_tokens_except(
        &self,
        user_id: &str,
        keep: &str,
    ) -> StoreResult<Vec<String>> {
        Ok(self
            .active_refs(user_id)
            .await?
            .into_iter()
            .map(|r| r.token)
            .filter(|t| t != keep)
            .collect())
    }

    /// Rewrites the user embedded in each of the user's listed sessions (better-auth's
    /// `refreshUserSessions` after `updateUser`).
    pub(in crate::store) async fn refresh_user(
        &self,
        user: &User,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let user_json = json!(user);
        let now_ms = now.timestamp_millis();
        for r in self.active_refs(&user.id).await? {
            if r.expires_at <= now_ms {
                continue;
            }
            let Some(mut entry) = self.get(&r.token).await?.as_deref().and_then(parse_entry) else {
                continue;
            };
            let Some(expires_at) = object(&entry, "session").and_then(|s| date_of(s, "expiresAt"))
            else {
                continue;
            };
            entry.insert("user".into(), user_json.clone());
            let ttl = ttl_until(expires_at, now);
            if ttl > 0 {
                self.set(&r.token, &Value::Object(entry).to_string(), ttl)
                    .await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "sessions_tests.rs"]
mod tests;
