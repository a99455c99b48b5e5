//! better-auth's records and the small value types of its vocabulary. Field order and names
//! follow better-auth's JSON output. A leaf: it depends on nothing else in the crate but
//! `crypto` (for fresh ids).

mod email;
mod fields;
mod impersonation;
pub mod ip;
mod two_factor;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use email::{Email, InvalidEmail};
pub use fields::{AdditionalField, FieldType, parse_date};
pub use impersonation::ImpersonatedBy;
pub use ip::Cidr;
pub use two_factor::TwoFactor;

/// A user as better-auth returns it: its own fields, then the deployment's additional fields
/// (those `returned`, by logical name, in declaration order), then `id`. Read back from the
/// JSON better-auth writes (cookie cache, secondary storage): fields it does not know land in
/// `additional`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub name: String,
    pub email: String,
    pub email_verified: bool,
    pub image: Option<String>,
    #[serde(serialize_with = "js_date")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "js_date")]
    pub updated_at: DateTime<Utc>,
    #[serde(flatten)]
    pub additional: serde_json::Map<String, serde_json::Value>,
    pub id: String,
}

impl User {
    /// A new user with a fresh id, created and updated `now`.
    pub fn new(
        name: String,
        email: String,
        image: Option<String>,
        email_verified: bool,
        now: DateTime<Utc>,
    ) -> Self {
        User {
            id: crate::crypto::generate_id(),
            name,
            email,
            email_verified,
            image,
            created_at: now,
            updated_at: now,
            additional: serde_json::Map::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
#[sqlx(rename_all = "camelCase")]
pub struct Session {
    #[serde(serialize_with = "js_date")]
    pub expires_at: DateTime<Utc>,
    pub token: String,
    #[serde(serialize_with = "js_date")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "js_date")]
    pub updated_at: DateTime<Utc>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub user_id: String,
    /// The admin plugin's `impersonatedBy`: the admin who opened this session as the user.
    /// Read only while the plugin is on (its column exists then).
    #[serde(skip_serializing_if = "ImpersonatedBy::is_off")]
    #[sqlx(default)]
    pub impersonated_by: ImpersonatedBy,
    pub id: String,
}

/// A credential (email/password) or provider link. Never serialised: it holds the password hash.
#[derive(Clone, sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub struct Account {
    pub id: String,
    pub account_id: String,
    pub provider_id: String,
    pub user_id: String,
    /// The provider's tokens, as stored (encrypted when `encrypt_oauth_tokens` is on).
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    pub password: Option<String>,
    /// Granted scopes, comma-joined as better-auth stores them.
    pub scope: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Account {
    /// A credential (email and password) account for `user_id`.
    pub fn credential(id: String, user_id: &str, hash: String, now: DateTime<Utc>) -> Account {
        Account {
            id,
            account_id: user_id.to_owned(),
            provider_id: CREDENTIAL_PROVIDER.to_owned(),
            user_id: user_id.to_owned(),
            access_token: None,
            refresh_token: None,
            id_token: None,
            access_token_expires_at: None,
            refresh_token_expires_at: None,
            password: Some(hash),
            scope: None,
            created_at: now,
            updated_at: now,
        }
    }
}

// Tokens and password hashes never print.
impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("provider_id", &self.provider_id)
            .field("user_id", &self.user_id)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// An account as `list-accounts` shows it: no tokens, no password, `scope` split into `scopes`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountInfo {
    pub account_id: String,
    pub provider_id: String,
    pub user_id: String,
    #[serde(serialize_with = "js_date")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "js_date")]
    pub updated_at: DateTime<Utc>,
    pub id: String,
    pub scopes: Vec<String>,
}

impl From<Account> for AccountInfo {
    fn from(a: Account) -> Self {
        let scopes = a
            .scope
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        AccountInfo {
            account_id: a.account_id,
            provider_id: a.provider_id,
            user_id: a.user_id,
            created_at: a.created_at,
            updated_at: a.updated_at,
            id: a.id,
            scopes,
        }
    }
}

/// A row of better-auth's `verification` table: a link's or code's secret part (in
/// `identifier` or `value`, depending on the flow) waiting to be used.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub struct Verification {
    pub id: String,
    pub identifier: String,
    pub value: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Verification {
    /// A new row with a fresh id, valid for `lifetime` from `now`.
    pub fn new(
        identifier: String,
        value: String,
        now: DateTime<Utc>,
        lifetime: chrono::Duration,
    ) -> Self {
        Verification {
            id: crate::crypto::generate_id(),
            identifier,
            value,
            expires_at: now + lifetime,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }
}

/// A row of better-auth's `jwks` table: a JWT signing key pair.
#[derive(Debug, Clone, sqlx::FromRow)]
#[sqlx(rename_all = "camelCase")]
pub struct Jwk {
    pub id: String,
    /// The public JWK as JSON text.
    pub public_key: String,
    /// The private JWK, encrypted, as a JSON string literal (better-auth's storage format).
    pub private_key: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub alg: Option<String>,
    pub crv: Option<String>,
}

/// A JWS algorithm the jwt plugin signs with (`jwks.alg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JwtAlgorithm {
    EdDSA,
    ES256,
    RS256,
}

impl JwtAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            JwtAlgorithm::EdDSA => "EdDSA",
            JwtAlgorithm::ES256 => "ES256",
            JwtAlgorithm::RS256 => "RS256",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "EdDSA" => Some(JwtAlgorithm::EdDSA),
            "ES256" => Some(JwtAlgorithm::ES256),
            "RS256" => Some(JwtAlgorithm::RS256),
            _ => None,
        }
    }

    /// The `crv` better-auth stores beside the key (none for RSA).
    pub fn curve(self) -> Option<&'static str> {
        match self {
            JwtAlgorithm::EdDSA => Some("Ed25519"),
            JwtAlgorithm::ES256 => Some("P-256"),
            JwtAlgorithm::RS256 => None,
        }
    }
}

/// The provider id better-auth gives email/password accounts.
pub const CREDENTIAL_PROVIDER: &str = "credential";

/// Characters that change how the text around them reads: control characters (line breaks,
/// NUL, ESC), Unicode line and paragraph separators, and the bidirectional overrides and
/// isolates that can reverse the text after them. A name or any other text a stranger supplies
/// must not contain them where it is shown to someone else (a name in a mail, say).
pub fn rewrites_text(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{061C}' | '\u{200E}' | '\u{200F}'
                | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// JavaScript's `Date.prototype.toISOString()`: always milliseconds and `Z`.
pub fn to_js_iso(d: &DateTime<Utc>) -> String {
    d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn js_date<S: serde::Serializer>(d: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&to_js_iso(d))
}

/// The current time at millisecond precision, as JavaScript (and so better-auth) keeps it;
/// storing exactly what better-auth would store keeps both servers' rows comparable.
pub fn now_ms() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}
