//! The server's lifecycle: open the store, migrate, serve until told to stop, drain, close.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::auth::{Auth, Hasher};
use crate::config::{Config, redact_url};
use crate::http::{self, App};
use crate::store::Store;

/// Connects to the store named by the config, applying migrations when configured to.
pub async fn open_store(cfg: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(&cfg.database_url, cfg.database.max_connections)
        .with_context(|| format!("opening {}", redact_url(&cfg.database_url)))?;
    if cfg.database.migrate_on_start {
        store
            .migrate()
            .await
            .with_context(|| format!("migrating {}", redact_url(&cfg.database_url)))?;
    }
    Ok(store)
}

/// Everything a request needs, built from a config. Fails when the secret is missing in production.
pub async fn build_app(cfg: &Config) -> anyhow::Result<Arc<App>> {
    let secret = crate::secret::resolve(cfg)?;
    let store = open_store(cfg).await?;
    let hasher = Hasher::new(system_memory_bytes());
    let mailer = crate::email::Mailer::from_config(&cfg.email, cfg.is_production())?;
    tracing::info!(transport = mailer.describe(), "email");
    let auth = Auth::new(store, hasher, cfg, &secret, mailer);
    Ok(Arc::new(App::new(auth, cfg, secret)))
}

/// Serves on `listener` until `shutdown` completes, then finishes in-flight requests.
pub async fn run(
    cfg: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = build_app(&cfg).await?;
    let addr = listener.local_addr()?;
    tracing::info!(
        %addr,
        base_url = %cfg.base_origin(),
        base_path = %cfg.base_path,
        database = %redact_url(&cfg.database_url),
        "authkeep is serving better-auth's API"
    );
    let store = app.auth.store.clone();
    let sweeper = (cfg.verification.purge_interval > 0).then(|| {
        tokio::spawn(purge_expired_verifications(
            store.clone(),
            std::time::Duration::from_secs(cfg.verification.purge_interval),
        ))
    });
    axum::serve(listener, http::router(app))
        .with_graceful_shutdown(shutdown)
        .await?;
    if let Some(sweeper) = sweeper {
        sweeper.abort();
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Deletes expired links and codes every `every`, so abandoned ones do not pile up. Each replica
/// runs its own sweep; they are idempotent. A failed sweep is logged and retried next time.
async fn purge_expired_verifications(store: Store, every: std::time::Duration) {
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
            Err(e) => tracing::warn!(error = %e, "could not purge expired verification rows"),
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
