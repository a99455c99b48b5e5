//! better-auth's jwt plugin: short-lived JWTs describing the signed-in user, signed with keys
//! kept in the `jwks` table (private halves encrypted exactly as better-auth encrypts them, so
//! a database shared with better-auth works in both directions), and the public JWKS.

pub mod keys;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::AuthError;
use crate::crypto::{self, SealError, SealingKey};
use crate::model::{Jwk, User, now_ms};
use crate::store::Store;
pub use keys::{Algorithm, SigningKey};

/// Why a signing key could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("stored JWT signing key {kid} is not readable")]
    Stored {
        kid: String,
        #[source]
        source: StoredKeyError,
    },
    #[error("could not make a JWT signing key")]
    Generate(#[source] keys::KeyError),
    #[error("could not encrypt a new JWT signing key")]
    Seal(#[source] SealError),
    #[error("the key-generation task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// What is wrong with a stored private key.
#[derive(Debug, thiserror::Error)]
pub enum StoredKeyError {
    #[error("not JSON")]
    Json(#[source] serde_json::Error),
    #[error("does not decrypt with this secret")]
    Seal(#[source] SealError),
    #[error("not a private JWK")]
    Key(#[source] keys::KeyError),
}

/// The jwt plugin's options.
#[derive(Debug, Clone)]
pub struct JwtPolicy {
    pub algorithm: Algorithm,
    pub expiration: Duration,
    pub issuer: String,
    pub audience: String,
    /// New keys expire this long after creation (`jwks.rotationInterval`); `None` never.
    pub rotation_interval: Option<Duration>,
    /// Expired keys stay published this long (`jwks.gracePeriod`).
    pub grace_period: Duration,
}

#[derive(Debug)]
struct CurrentKey {
    kid: String,
    key: Arc<SigningKey>,
    expires_at: Option<DateTime<Utc>>,
}

/// Issues JWTs and publishes the JWKS. Keeps the current signing key in memory so signing
/// costs no database round trip; replicas that race to create the first key simply both
/// publish theirs.
#[derive(Debug)]
pub struct Jwt {
    pub policy: JwtPolicy,
    store: Store,
    sealing: SealingKey,
    current: Mutex<Option<CurrentKey>>,
}

fn usable(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    expires_at.is_none_or(|e| e > now)
}

impl Jwt {
    pub fn new(policy: JwtPolicy, store: Store, sealing: SealingKey) -> Self {
        Self {
            policy,
            store,
            sealing,
            current: Mutex::new(None),
        }
    }

    /// The key to sign with: the cached one while valid, else the newest usable stored key of
    /// the configured algorithm, else a new one.
    async fn signing_key(&self) -> Result<(String, Arc<SigningKey>), AuthError> {
        let now = now_ms();
        let mut current = self.current.lock().await;
        if let Some(c) = current.as_ref().filter(|c| usable(c.expires_at, now)) {
            return Ok((c.kid.clone(), c.key.clone()));
        }
        let alg = self.policy.algorithm;
        let stored = self.store.list_jwks().await?.into_iter().rev().find(|row| {
            usable(row.expires_at, now)
                && row.alg.as_deref().and_then(Algorithm::parse).unwrap_or(alg) == alg
        });
        let fresh = match stored {
            Some(row) => {
                let key = self.decrypt(&row).map_err(|source| JwtError::Stored {
                    kid: row.id.clone(),
                    source,
                })?;
                CurrentKey {
                    kid: row.id,
                    key: Arc::new(key),
                    expires_at: row.expires_at,
                }
            }
            None => self.create_key(alg, now).await?,
        };
        let out = (fresh.kid.clone(), fresh.key.clone());
        *current = Some(fresh);
        Ok(out)
    }

    fn decrypt(&self, row: &Jwk) -> Result<SigningKey, StoredKeyError> {
        // better-auth stores the ciphertext as a JSON string literal; a raw JWK when encryption is off.
        let stored: Value = serde_json::from_str(&row.private_key).map_err(StoredKeyError::Json)?;
        let jwk = match stored {
            Value::String(sealed) => {
                let plain = self.sealing.open(&sealed).map_err(StoredKeyError::Seal)?;
                serde_json::from_str(&plain).map_err(StoredKeyError::Json)?
            }
            jwk => jwk,
        };
        SigningKey::from_private_jwk(&jwk).map_err(StoredKeyError::Key)
    }

    async fn create_key(
        &self,
        alg: Algorithm,
        now: DateTime<Utc>,
    ) -> Result<CurrentKey, AuthError> {
        // RSA key generation takes a while: keep it off the async workers.
        let key = tokio::task::spawn_blocking(move || SigningKey::generate(alg))
            .await
            .map_err(JwtError::Task)?
            .map_err(JwtError::Generate)?;
        let sealed = self
            .sealing
            .seal(&key.private_jwk().to_string())
            .map_err(JwtError::Seal)?;
        let row = Jwk {
            id: crypto::generate_id(),
            public_key: key.public_jwk().to_string(),
            private_key: Value::String(sealed).to_string(),
            created_at: now,
            expires_at: self.policy.rotation_interval.map(|i| now + i),
            alg: Some(alg.as_str().to_owned()),
            crv: alg.curve().map(str::to_owned),
        };
        self.store.insert_jwk(&row).await?;
        tracing::info!(kid = %row.id, alg = alg.as_str(), "created a JWT signing key");
        Ok(CurrentKey {
            kid: row.id,
            key: Arc::new(key),
            expires_at: row.expires_at,
        })
    }

    /// A JWT for `user`, with better-auth's claims: `iat`, the user's fields, `sub`, `exp`, `iss`, `aud`.
    pub async fn token_for(&self, user: &User) -> Result<String, AuthError> {
        self.token_until(user, None).await
    }

    /// A token for `user` that expires no later than `not_after` (epoch seconds), for answers
    /// that vouch for a session only until then (a cookie-cache hit).
    pub async fn token_until(
        &self,
        user: &User,
        not_after: Option<i64>,
    ) -> Result<String, AuthError> {
        let (kid, key) = self.signing_key().await?;
        let iat = Utc::now().timestamp();
        let mut claims = serde_json::Map::new();
        claims.insert("iat".into(), iat.into());
        if let Value::Object(fields) = json!(user) {
            claims.extend(fields);
        }
        claims.insert("sub".into(), user.id.clone().into());
        let exp = iat + self.policy.expiration.num_seconds();
        claims.insert(
            "exp".into(),
            not_after.map_or(exp, |cap| exp.min(cap.max(iat))).into(),
        );
        claims.insert("iss".into(), self.policy.issuer.clone().into());
        claims.insert("aud".into(), self.policy.audience.clone().into());
        Ok(keys::sign_jwt(&key, &kid, &Value::Object(claims)))
    }

    /// `{"keys": [...]}`: every key not yet past its expiry plus the grace period, newest last.
    pub async fn public_keys(&self) -> Result<Value, AuthError> {
        if self.store.list_jwks().await?.is_empty() {
            self.signing_key().await?; // better-auth creates the first key on the first JWKS call
        }
        let now = now_ms();
        let keys: Vec<Value> = self
            .store
            .list_jwks()
            .await?
            .into_iter()
            .filter(|row| {
                row.expires_at
                    .is_none_or(|e| e + self.policy.grace_period > now)
            })
            .filter_map(|row| {
                let public: Value = serde_json::from_str(&row.public_key).ok()?;
                let mut out = serde_json::Map::new();
                out.insert(
                    "alg".into(),
                    row.alg
                        .clone()
                        .unwrap_or_else(|| self.policy.algorithm.as_str().into())
                        .into(),
                );
                if let Some(crv) = row
                    .crv
                    .clone()
                    .or_else(|| public.get("crv").and_then(Value::as_str).map(String::from))
                {
                    out.insert("crv".into(), crv.into());
                }
                if let Value::Object(fields) = public {
                    out.extend(fields);
                }
                out.insert("kid".into(), row.id.into());
                Some(Value::Object(out))
            })
            .collect();
        Ok(json!({ "keys": keys }))
    }
}
