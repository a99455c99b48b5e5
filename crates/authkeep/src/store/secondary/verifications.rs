//! Verification values in secondary storage: `verification:<identifier>` holds the row as
//! better-auth writes it (`createdAt`, `updatedAt`, `value`, `identifier`, `expiresAt`; no id)
//! until it expires. One value per identifier: a new one replaces the old, as in better-auth.
//!
//! Changes that depend on what was read (an attempt counted, a code used) are compare-and-swap
//! in Redis itself (a Lua script), so concurrent requests count as sequential ones would.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::{SecondaryStorage, ttl_until};
use crate::model::{Verification, parse_date, to_js_iso};
use crate::store::StoreResult;

fn key(identifier: &str) -> String {
    format!("verification:{identifier}")
}

/// The index of one owner's outstanding values of one kind (authkeep's bound on outstanding
/// links; better-auth keeps none).
fn owner_key(kind_and_owner: &str) -> String {
    format!("verification-owner:{kind_and_owner}")
}

fn to_json(v: &Verification) -> String {
    json!({
        "createdAt": to_js_iso(&v.created_at),
        "updatedAt": to_js_iso(&v.updated_at),
        "value": v.value,
        "identifier": v.identifier,
        "expiresAt": to_js_iso(&v.expires_at),
    })
    .to_string()
}

/// A stored value as a row. better-auth stores no id; the identifier stands in for it (one
/// value per identifier).
fn from_json(identifier: &str, raw: &str) -> Option<Verification> {
    let m: Map<String, Value> = serde_json::from_str(raw).ok()?;
    let date = |k: &str| m.get(k).and_then(Value::as_str).and_then(parse_date);
    let expires_at = date("expiresAt")?;
    let created_at = date("createdAt").unwrap_or(expires_at);
    Some(Verification {
        id: m
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or(identifier)
            .to_owned(),
        identifier: identifier.to_owned(),
        value: m.get("value").and_then(Value::as_str)?.to_owned(),
        expires_at,
        created_at,
        updated_at: date("updatedAt").unwrap_or(created_at),
    })
}

impl SecondaryStorage {
    /// Stores `v` for as long as it is valid (nothing when it is expired already).
    pub(in crate::store) async fn put_verification(
        &self,
        v: &Verification,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let ttl = ttl_until(v.expires_at, now);
        if ttl > 0 {
            self.set(&key(&v.identifier), &to_json(v), ttl).await?;
        }
        Ok(())
    }

    /// Stores `v`, keeping only the newest `max` values listed under `owner`.
    pub(in crate::store) async fn put_bounded_verification(
        &self,
        v: &Verification,
        owner: &str,
        max: usize,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let ttl = ttl_until(v.expires_at, now);
        if ttl == 0 {
            return Ok(());
        }
        // The index names the values' full keys, so the script can delete the oldest.
        let index = owner_key(owner);
        self.put_bounded(&key(&v.identifier), &to_json(v), ttl, &index, max)
            .await
    }

    pub(in crate::store) async fn find_verification(
        &self,
        identifier: &str,
    ) -> StoreResult<Option<Verification>> {
        Ok(self
            .get(&key(identifier))
            .await?
            .and_then(|raw| from_json(identifier, &raw)))
    }

    /// Takes the value, atomically (GETDEL): one of concurrent callers gets it.
    pub(in crate::store) async fn consume_verification(
        &self,
        identifier: &str,
    ) -> StoreResult<Option<Verification>> {
        Ok(self
            .get_and_delete(&key(identifier))
            .await?
            .and_then(|raw| from_json(identifier, &raw)))
    }

    /// Replaces `row`'s value by `value` while it still holds `expected`.
    pub(in crate::store) async fn swap_verification(
        &self,
        row: &Verification,
        expected: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let updated = Verification {
            value: value.to_owned(),
            updated_at: now,
            ..row.clone()
        };
        self.swap_value(&key(&row.identifier), expected, Some(&to_json(&updated)))
            .await
    }

    /// Deletes `row` while it still holds `expected`.
    pub(in crate::store) async fn delete_verification_if(
        &self,
        row: &Verification,
        expected: &str,
    ) -> StoreResult<bool> {
        self.swap_value(&key(&row.identifier), expected, None).await
    }

    pub(in crate::store) async fn delete_verification(&self, identifier: &str) -> StoreResult<()> {
        self.delete(&key(identifier)).await
    }
}
