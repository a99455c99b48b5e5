//! `authkeep init [DIR]`: a deployment kit for the usual shape (a frontend, authkeep and a
//! FastAPI service behind one nginx origin): configuration with its secrets kept apart, a
//! Compose file, nginx, the API's auth module and a systemd unit.
//!
//! The files are templates in `kit/`, embedded in the binary; `{{NAME}}` placeholders are
//! filled from the arguments and fresh random values. Nothing is overwritten without `--force`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Where authkeep writes the kit, and for which host.
#[derive(Debug, Clone, clap::Args)]
pub(super) struct Args {
    /// The directory to write into (created if missing).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// The public host name the stack answers on (nginx's server_name, the base URL).
    #[arg(long, default_value = "localhost")]
    domain: String,
    /// Where the systemd unit runs authkeep from.
    #[arg(long, default_value = "/usr/local/bin/authkeep")]
    binary: String,
    /// Replace files that exist.
    #[arg(long)]
    force: bool,
}

/// The Compose network in front of authkeep, and nginx's fixed address on it: forwarded
/// client addresses are believed from that address only.
const PROXY_NETWORK: &str = "172.30.0.0/24";
const PROXY_ADDRESS: &str = "172.30.0.10";

/// (path in the kit, template, private): private files are written mode 600.
const FILES: &[(&str, &str, bool)] = &[
    ("authkeep.toml", include_str!("kit/authkeep.toml"), false),
    (".env", include_str!("kit/env"), true),
    (".gitignore", include_str!("kit/gitignore"), false),
    (
        "docker-compose.yml",
        include_str!("kit/docker-compose.yml"),
        false,
    ),
    ("nginx.conf", include_str!("kit/nginx.conf"), false),
    (
        "authkeep.service",
        include_str!("kit/authkeep.service"),
        false,
    ),
    ("api/auth.py", include_str!("kit/api/auth.py"), false),
    ("api/main.py", include_str!("kit/api/main.py"), false),
    (
        "api/requirements.txt",
        include_str!("kit/api/requirements.txt"),
        false,
    ),
    ("api/Dockerfile", include_str!("kit/api/Dockerfile"), false),
    (
        "frontend/index.html",
        include_str!("kit/frontend/index.html"),
        false,
    ),
    ("README.md", include_str!("kit/README.md"), false),
];

pub(super) fn run(args: &Args) -> ExitCode {
    match write_kit(args) {
        Ok(written) => {
            for path in &written {
                println!("wrote {}", path.display());
            }
            println!(
                "\nnext: read {} (the secrets are in .env, never in authkeep.toml)",
                args.dir.join("README.md").display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write_kit(args: &Args) -> Result<Vec<PathBuf>, String> {
    if !is_host_name(&args.domain) {
        return Err(format!(
            "--domain {:?} is not a host name (letters, digits, - and .)",
            args.domain
        ));
    }
    // systemd expands `%` and `$` in ExecStart; a plain path cannot surprise anyone.
    let plain_path = args.binary.starts_with('/')
        && args
            .binary
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._+-".contains(&b));
    if !plain_path {
        return Err("--binary must be an absolute path of letters, digits and / . _ + -".into());
    }
    // symlink_metadata: a dangling link "does not exist" for exists(), yet a write follows it.
    let existing: Vec<String> = FILES
        .iter()
        .map(|(p, _, _)| args.dir.join(p))
        .filter(|p| std::fs::symlink_metadata(p).is_ok())
        .map(|p| p.display().to_string())
        .collect();
    if !existing.is_empty() && !args.force {
        return Err(format!(
            "these files exist (use --force to replace them): {}",
            existing.join(", ")
        ));
    }
    let values = [
        ("DOMAIN", args.domain.clone()),
        ("SECRET", crate::secret::generate()),
        // Hex: safe inside a URL without escaping.
        ("POSTGRES_PASSWORD", crate::crypto::random_hex(16)),
        ("PROXY_NETWORK", PROXY_NETWORK.to_owned()),
        ("PROXY_ADDRESS", PROXY_ADDRESS.to_owned()),
        ("BINARY", args.binary.clone()),
    ];
    let mut written = Vec::new();
    for (path, template, private) in FILES {
        let target = args.dir.join(path);
        let text = fill(template, &values);
        write(&target, &text, *private)
            .map_err(|e| format!("writing {}: {e}", target.display()))?;
        written.push(target);
    }
    Ok(written)
}

fn fill(template: &str, values: &[(&str, String)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (name, value)| {
            text.replace(&format!("{{{{{name}}}}}"), value)
        })
}

fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Writes a new file beside `path` with its final mode from the start, then renames it into
/// place: a secret is never readable under an old file's mode, and a symlink at `path` is
/// replaced, not followed.
fn write(path: &Path, text: &str, private: bool) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.{}.tmp", crate::crypto::random_hex(4)));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let written = options
        .open(&temp)
        .and_then(|mut file| file.write_all(text.as_bytes()));
    match written.and_then(|()| std::fs::rename(&temp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled() {
        let values = [
            ("DOMAIN", "auth.example.com".to_owned()),
            ("SECRET", "s".to_owned()),
            ("POSTGRES_PASSWORD", "p".to_owned()),
            ("PROXY_NETWORK", PROXY_NETWORK.to_owned()),
            ("PROXY_ADDRESS", PROXY_ADDRESS.to_owned()),
            ("BINARY", "/usr/local/bin/authkeep".to_owned()),
        ];
        for (path, template, _) in FILES {
            let text = fill(template, &values);
            assert!(!text.contains("{{"), "{path} keeps a placeholder");
        }
    }

    #[test]
    fn host_names_only() {
        assert!(is_host_name("auth.example.com"));
        assert!(is_host_name("localhost"));
        assert!(!is_host_name("example.com; evil"));
        assert!(!is_host_name("a..b"));
        assert!(!is_host_name("-a.com"));
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_symlink_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::os::unix::fs::symlink(&target, dir.path().join(".env")).unwrap();
        let args = Args {
            dir: dir.path().to_owned(),
            domain: "localhost".into(),
            binary: "/usr/local/bin/authkeep".into(),
            force: false,
        };
        // Without --force it counts as an existing file.
        assert!(write_kit(&args).unwrap_err().contains(".env"));
        let forced = Args {
            force: true,
            ..args
        };
        write_kit(&forced).unwrap();
        assert!(!target.exists(), "the secrets went through the link");
        let env = dir.path().join(".env");
        assert!(!std::fs::symlink_metadata(&env).unwrap().is_symlink());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&env).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let bad = Args {
            binary: "/usr/bin/x%h$HOME".into(),
            ..forced
        };
        assert!(write_kit(&bad).is_err());
    }
}
