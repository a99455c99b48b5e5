//! Logs: human-readable in development, JSON lines in production. `RUST_LOG` overrides the level.

use tracing_subscriber::EnvFilter;

use crate::config::Config;

pub fn init(cfg: &Config) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&cfg.log.level));
    let json = match cfg.log.format.as_str() {
        "json" => true,
        "pretty" | "text" => false,
        _ => cfg.is_production(),
    };
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    // A second init (tests) is harmless: the first subscriber stays.
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}
