//! The cookie-signing secret: configured, or (in development only) generated once and kept in
//! a file next to the database so sessions survive restarts.

use std::path::{Path, PathBuf};

use crate::config::{Config, ConfigError, MIN_SECRET_LEN, Secret};
use crate::crypto::random_string;

const SECRET_FILE: &str = ".authkeep-secret";
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";

/// A new random secret (64 characters, 384 bits).
pub fn generate() -> String {
    random_string(64, ALPHABET)
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "the directory {0} (for the SQLite file and the development secret) does not exist; create it first (mkdir -p {0})"
    )]
    MissingDirectory(PathBuf),
    #[error("development secret file {path}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The file the development secret lives in: beside the SQLite database, or in the working directory.
pub fn dev_secret_path(cfg: &Config) -> PathBuf {
    let dir = cfg
        .sqlite_path()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    dir.join(SECRET_FILE)
}

pub fn resolve(cfg: &Config) -> Result<Secret, SecretError> {
    if let Some(secret) = &cfg.secret {
        if secret.expose().chars().count() < MIN_SECRET_LEN {
            if cfg.needs_strong_secret() {
                return Err(ConfigError::SecretRequired.into());
            }
            tracing::warn!(
                "the secret is shorter than {MIN_SECRET_LEN} characters; use a longer one outside development"
            );
        }
        return Ok(secret.clone());
    }
    if cfg.needs_strong_secret() {
        return Err(ConfigError::SecretRequired.into());
    }
    if cfg.database_url.contains(":memory:") {
        return Ok(Secret::new(generate()));
    }
    let path = dev_secret_path(cfg);
    let path = std::path::absolute(&path).unwrap_or(path);
    if let Some(dir) = path.parent().filter(|d| !d.exists()) {
        return Err(SecretError::MissingDirectory(dir.to_path_buf()));
    }
    let file_err = |source| SecretError::File {
        path: path.clone(),
        source,
    };
    if path.exists() {
        let s = std::fs::read_to_string(&path)
            .map_err(file_err)?
            .trim()
            .to_owned();
        if s.len() >= MIN_SECRET_LEN {
            tracing::warn!(path = %path.display(), "no secret configured: using the development secret from this file (not for production)");
            return Ok(Secret::new(s));
        }
    }
    let s = generate();
    write_private(&path, &s).map_err(file_err)?;
    tracing::warn!(path = %path.display(), "no secret configured: generated a development secret and saved it to this file (not for production; set BETTER_AUTH_SECRET)");
    Ok(Secret::new(s))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(contents.as_bytes())
}
