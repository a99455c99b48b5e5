//! The server's lifecycle: open the store, migrate, build the app, serve until told to stop,
//! drain, close. This is the composition root: the only place that turns the configuration
//! into the policies and services the other layers take (`wiring`).

mod listener;
mod social;
mod wiring;

pub use listener::ConnectionLimits;
pub use wiring::{cookie_attributes, mail_settings};

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::auth::{Auth, Hasher};
use crate::config::{Config, redact_url};
use crate::crypto::Keys;
use crate::http::{self, App};
use crate::metrics::Metrics;
use crate::report::Report;
use crate::store::{MigrateError, Plan, PoolSettings, Pooler, SecondaryStorage, Store};

/// Connects to the store named by the config (with its table and column names), applying
/// migrations when configured to.
pub async fn open_store(cfg: &Config) -> anyhow::Result<Store> {
    let store = connect(cfg)?;
    if cfg.database.migrate_on_start {
        if crate::store::is_memory(&cfg.database_url) {
            // Another pool would migrate another, empty, in-memory database.
            let plan = store
                .migrate()
                .await
                .map_err(|e| anyhow::anyhow!("in-memory database: {e}"))?;
            log_migration(&plan);
        } else {
            log_migration(&migrate(cfg).await?);
        }
    }
    Ok(store)
}

/// A pool for the configured database and schema (not yet connected).
pub fn connect(cfg: &Config) -> anyhow::Result<Store> {
    let settings = wiring::pool_settings(cfg, &cfg.database_url);
    if settings.pooler == Pooler::Transaction {
        tracing::info!(
            "database: through a transaction-mode pooler (one transaction per operation, no prepared statements kept)"
        );
    }
    open(cfg, &cfg.database_url, &settings)
}

fn open(cfg: &Config, url: &str, settings: &PoolSettings) -> anyhow::Result<Store> {
    let schema = wiring::schema(cfg).context("the table and column names in the configuration")?;
    Store::connect(url, settings, schema).with_context(|| format!("opening {}", redact_url(url)))
}

/// Where migrations run: the direct URL when one is configured (a pooled URL may not allow
/// what some migrations need; authkeep's run in one transaction and work through a
/// transaction-mode pooler too), else the database URL.
fn migration_target(cfg: &Config) -> (String, PoolSettings) {
    match &cfg.database.direct_url {
        Some(direct) => {
            let url = direct.expose().to_owned();
            let mut settings = wiring::pool_settings(cfg, &url);
            settings.max_connections = 1;
            (url, settings)
        }
        None => {
            let mut settings = wiring::pool_settings(cfg, &cfg.database_url);
            settings.max_connections = 1;
            (cfg.database_url.clone(), settings)
        }
    }
}

/// What `migrate` would do, without doing it.
pub async fn plan_migration(cfg: &Config) -> anyhow::Result<Plan> {
    let (url, settings) = migration_target(cfg);
    let store = open(cfg, &url, &settings)?;
    let plan = store.plan_migration().await;
    store.close().await;
    match plan {
        Ok(plan) => Ok(plan),
        Err(e) => Err(startup_error(&url, settings.pooler, e).await),
    }
}

/// The migration plan and what is wrong with the existing tables (`authkeep doctor`), read
/// through the migration URL (the direct one when there is a pooler).
pub async fn diagnose(
    cfg: &Config,
) -> anyhow::Result<(Plan, Vec<crate::store::diagnose::SchemaFinding>)> {
    let (url, settings) = migration_target(cfg);
    let store = open(cfg, &url, &settings)?;
    let found = store.diagnose().await;
    store.close().await;
    match found {
        Ok(found) => Ok(found),
        Err(e) => Err(startup_error(&url, settings.pooler, e).await),
    }
}

/// Brings the database to the configured schema. A database that does not answer yet (a
/// serverless one waking up) is retried with growing pauses for `database.startup_timeout`.
pub async fn migrate(cfg: &Config) -> anyhow::Result<Plan> {
    let (url, settings) = migration_target(cfg);
    let store = open(cfg, &url, &settings)?;
    if cfg.database.direct_url.is_some() {
        tracing::info!(database = %redact_url(&url), "migrating through the direct URL");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(cfg.database.startup_timeout);
    let mut pause = Duration::from_millis(500);
    let outcome = loop {
        match store.migrate().await {
            Err(MigrateError::Store(e))
                if e.is_unavailable() && tokio::time::Instant::now() + pause < deadline =>
            {
                tracing::warn!(error = %Report(&e), retry_in_ms = pause.as_millis() as u64, "the database does not answer yet");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
            other => break other,
        }
    };
    store.close().await;
    match outcome {
        Ok(plan) => Ok(plan),
        Err(e) => Err(migration_error(&url, settings.pooler, e).await),
    }
}

fn log_migration(plan: &Plan) {
    for change in &plan.changes {
        tracing::info!(%change, "migrated");
    }
    for warning in &plan.warnings {
        tracing::warn!("schema: {warning}");
    }
}

/// A migration that could not run, explained.
async fn migration_error(url: &str, pooler: Pooler, e: MigrateError) -> anyhow::Error {
    match e {
        MigrateError::Store(e) => startup_error(url, pooler, e).await,
        problems => anyhow::anyhow!("database {}: {problems}", redact_url(url)),
    }
}

/// A database failure at start-up, explained (with the real cause when the pool only timed out).
async fn startup_error(url: &str, pooler: Pooler, e: crate::store::StoreError) -> anyhow::Error {
    let e = match (e.is_unavailable(), Store::probe(url, pooler).await) {
        (true, Err(direct)) => direct,
        _ => e,
    };
    anyhow::anyhow!(
        "database {}: {}",
        redact_url(url),
        crate::store::explain(&e, url)
    )
}

/// The configured table and column names, checked (for `authkeep schema`).
pub fn schema(cfg: &Config) -> anyhow::Result<crate::store::schema::Schema> {
    wiring::schema(cfg).context("the table and column names in the configuration")
}

/// What the operator commands (`authkeep user`, `authkeep session`) work with: the store as the
/// server opens it (secondary storage included, so revocations reach Redis), the hashing pool
/// and the rules. The database is not migrated: an operator command never changes the schema.
pub struct AdminServices {
    pub store: Store,
    pub hasher: Hasher,
    pub policy: crate::auth::Policy,
}

pub async fn admin_services(cfg: &Config) -> anyhow::Result<AdminServices> {
    let store = with_secondary(connect(cfg)?, cfg).await?;
    let policy = wiring::auth_policy(cfg, store.schema());
    Ok(AdminServices {
        store,
        hasher: Hasher::new(system_memory_bytes()),
        policy,
    })
}

/// Adds Redis as secondary storage when configured. Redis that does not answer yet does not
/// stop the start-up (as a database that is down does not): the server starts, `/ready` says
/// 503 and requests that need Redis answer 503 until it answers; the client reconnects by
/// itself.
async fn with_secondary(store: Store, cfg: &Config) -> anyhow::Result<Store> {
    let Some(settings) = wiring::secondary_settings(cfg) else {
        return Ok(store);
    };
    let shown = redact_url(&settings.url);
    let secondary = SecondaryStorage::connect(&settings)
        .with_context(|| format!("secondary storage {shown}"))?;
    match secondary.ping().await {
        Ok(()) => tracing::info!(
            url = %shown,
            key_prefix = %settings.key_prefix,
            sessions_in_database = settings.sessions_in_database,
            verifications_in_database = settings.verifications_in_database,
            "secondary storage: sessions and verification values in Redis"
        ),
        Err(e) => tracing::warn!(
            url = %shown,
            error = %Report(&e),
            "secondary storage does not answer yet; requests that need it answer 503 until it does"
        ),
    }
    Ok(store.with_secondary(secondary))
}

/// A server ready to run: the app and the background work that goes with it.
#[derive(Debug)]
pub struct Prepared {
    pub app: App,
    /// How often expired verification rows are swept; `None`: never.
    purge_every: Option<Duration>,
    pub connections: ConnectionLimits,
    /// The metrics listener, bound at preparation so that a taken port stops start-up;
    /// `None` while metrics are off.
    metrics_listener: Option<TcpListener>,
}

impl Prepared {
    /// Where `/metrics` is served, when it is.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }
}

/// Everything a request needs, built from a config. Fails when the secret is missing in production.
pub async fn prepare(cfg: &Config) -> anyhow::Result<Prepared> {
    let secret = crate::secret::resolve(cfg)?;
    let keys = Keys::derive(&secret);
    let store = with_secondary(open_store(cfg).await?, cfg).await?;
    let hasher = Hasher::new(system_memory_bytes());
    let metrics = Arc::new(Metrics::new());
    let mailer =
        crate::email::Mailer::new(&wiring::mail_settings(cfg))?.with_metrics(metrics.clone());
    let policy = wiring::auth_policy(cfg, store.schema());
    let jwt = wiring::jwt_policy(cfg).map(|p| {
        Arc::new(crate::auth::jwt::Jwt::new(
            p,
            store.clone(),
            keys.sealing.clone(),
        ))
    });
    let (limiter, account_limit) = wiring::rate_limiting(cfg, &store, &keys.hmac);
    let auth = Auth {
        store,
        hasher,
        mailer,
        jwt,
        policy,
        token_key: keys.hmac.clone(),
        social: Arc::new(social::social(cfg, &keys)?),
        account_limit,
        metrics,
        two_factor: wiring::two_factor(cfg, &keys),
    };
    let app = App {
        cookies: wiring::cookie_settings(cfg, &keys),
        origins: http::origin::TrustedOrigins::new(&cfg.base_origin(), &cfg.trusted_origins),
        policy: wiring::http_policy(cfg, &auth.policy),
        limiter,
        auth,
    };
    let purge_every = (cfg.verification.purge_interval > 0)
        .then(|| Duration::from_secs(cfg.verification.purge_interval));
    let connections = ConnectionLimits {
        header_timeout: Duration::from_secs(cfg.limits.header_timeout.max(1)),
        max_connections: cfg.limits.max_connections,
        drain_timeout: Duration::from_secs(30),
    };
    let metrics_listener = if cfg.metrics.enabled {
        let at = cfg.metrics.listen;
        let listener = TcpListener::bind(at)
            .await
            .with_context(|| format!("cannot listen for metrics on {at}"))?;
        tracing::info!(listen = %listener.local_addr()?, "metrics: GET /metrics");
        Some(listener)
    } else {
        None
    };
    Ok(Prepared {
        app,
        purge_every,
        connections,
        metrics_listener,
    })
}

/// Builds the app and serves on `listener` until `shutdown` completes, then finishes in-flight
/// requests.
pub async fn run(
    cfg: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let prepared = prepare(&cfg).await?;
    wiring::log_start(&cfg, &prepared.app, listener.local_addr()?);
    serve(prepared, listener, shutdown).await
}

/// Serves a prepared app (tests prepare one and swap in their own services first).
pub async fn serve(
    prepared: Prepared,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let Prepared {
        app,
        purge_every,
        connections,
        metrics_listener,
    } = prepared;
    let app = Arc::new(app);
    let store = app.auth.store.clone();
    let sweeper =
        purge_every.map(|every| tokio::spawn(purge_expired_verifications(store.clone(), every)));
    let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
    let metrics = metrics_listener.map(|l| {
        // A scraper needs few connections; the public listener's bounds apply otherwise.
        let limits = ConnectionLimits {
            max_connections: 16,
            drain_timeout: Duration::from_secs(2),
            ..connections
        };
        let router = http::metrics_router(app.clone());
        tokio::spawn(listener::serve(l, router, limits, async move {
            let _ = metrics_stopped.await;
        }))
    });
    listener::serve(listener, http::router(app), connections, shutdown).await;
    let _ = stop_metrics.send(());
    if let Some(metrics) = metrics {
        let _ = metrics.await;
    }
    if let Some(sweeper) = sweeper {
        sweeper.abort();
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Deletes expired links and codes every `every`, so abandoned ones do not pile up. Each replica
/// runs its own sweep; they are idempotent. A failed sweep is logged and retried next time.
async fn purge_expired_verifications(store: Store, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match store
            .delete_expired_verifications(crate::model::now_ms())
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::debug!(rows = n, "purged expired verification rows"),
            Err(e) => {
                tracing::warn!(error = %Report(&e), "could not purge expired verification rows")
            }
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested; draining in-flight requests");
}

/// Total memory, to size the password-hashing pool (Linux; `None` elsewhere).
fn system_memory_bytes() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = info
        .lines()
        .find(|l| l.starts_with("MemTotal:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb * 1024)
}
