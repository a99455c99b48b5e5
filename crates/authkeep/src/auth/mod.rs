//! The auth domain: better-auth's rules as plain async functions over the store. Nothing here
//! knows about HTTP, cookies, JSON bodies or the configuration file: the process layer hands
//! in a [`Policy`] and the services (store, hashing pool, mailer, keys).

pub mod admin;
pub mod admin_plugin;
pub mod change_email;
pub mod email_otp;
pub mod email_token;
pub mod email_verification;
pub mod error;
pub mod jwt;
pub mod magic_link;
pub mod oauth;
pub mod password;
pub mod password_reset;
pub mod policy;
pub mod rate_limit;
pub mod session;
pub mod sign_in;
pub mod sign_up;
pub mod two_factor;
pub mod user;
pub mod user_fields;
pub mod verify_link;

use std::sync::Arc;

use crate::crypto::HmacKey;
use crate::email::Mailer;
use crate::store::{Store, StoreError};
pub use admin::Admin;
pub use error::{AuthError, ErrorCode};
pub use password::Hasher;
pub use policy::Policy;

/// Everything a flow needs: storage, the hashing pool, the mailer, keys and the rules.
#[derive(Debug, Clone)]
pub struct Auth {
    pub store: Store,
    pub hasher: Hasher,
    pub mailer: Mailer,
    /// better-auth's jwt plugin, when enabled.
    pub jwt: Option<Arc<jwt::Jwt>>,
    pub policy: Policy,
    /// Signs email-verification tokens (HS256 with better-auth's secret).
    pub token_key: HmacKey,
    /// Social sign-in: the providers and the linking rules.
    pub social: Arc<oauth::Social>,
    /// Failed password sign-ins per account (on with rate limiting).
    pub account_limit: Option<rate_limit::account::AccountLimiter>,
    /// The server's counters (`/metrics`), shared with the mailer and the HTTP layer.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// better-auth's two-factor plugin, when enabled.
    pub two_factor: Option<Arc<two_factor::TwoFactor>>,
}

impl Auth {
    /// Whether the database answers (for readiness probes).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    /// The database pool's connections, for `/metrics`.
    pub fn pool_usage(&self) -> crate::metrics::PoolUsage {
        self.store.pool_usage()
    }

    /// Whether the secondary storage answers (`Ok` when there is none).
    pub async fn ping_secondary(&self) -> Result<(), StoreError> {
        self.store.ping_secondary().await
    }

    /// Whether sessions and verification values are in a secondary storage.
    pub fn has_secondary_storage(&self) -> bool {
        self.store.secondary().is_some()
    }
}

/// Who is asking: stored on new sessions as better-auth does (`""` when unknown).
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip_address: String,
    pub user_agent: String,
}

/// How long a new session lasts: `session.expiresIn`, or (better-auth's `rememberMe: false`)
/// one day and a cookie that ends with the browser session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    Remembered,
    BrowserSession,
}

impl Lifetime {
    pub fn from_remember_me(remember: bool) -> Self {
        if remember {
            Lifetime::Remembered
        } else {
            Lifetime::BrowserSession
        }
    }
}

/// Runs `work` and answers no sooner than `floor` after it started, so an endpoint's timing
/// does not reveal which branch it took (whether an address has an account, say).
pub async fn at_least<T>(
    floor: std::time::Duration,
    work: impl std::future::Future<Output = T>,
) -> T {
    let started = tokio::time::Instant::now();
    let out = work.await;
    tokio::time::sleep_until(started + floor).await;
    out
}
