//! Real services the hosted-PostgreSQL tests start for themselves: PgBouncer in transaction
//! mode in front of the test PostgreSQL, and a throwaway PostgreSQL cluster that only speaks
//! TLS, with certificates made by a CA of the test's own.
//!
//! Both need programs from Debian's packages (`pgbouncer`, PostgreSQL's server binaries,
//! `openssl`). Without them the tests say so and skip, unless CI asked for them with
//! `AUTHKEEP_TEST_REQUIRE_SERVICES=1` (then a missing program is a failure).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::postgres_admin_url;

fn required() -> bool {
    std::env::var_os("AUTHKEEP_TEST_REQUIRE_SERVICES").is_some()
}

/// The program's path, or `None` (skipping the test) when it is not installed.
pub fn program(name: &str, candidates: &[&str]) -> Option<PathBuf> {
    let found = candidates.iter().map(PathBuf::from).find(|p| p.exists());
    if found.is_none() {
        assert!(
            !required(),
            "{name} is required (AUTHKEEP_TEST_REQUIRE_SERVICES) but not installed"
        );
        eprintln!("SKIPPED: {name} is not installed (apt-get install {name})");
    }
    found
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs `cmd` as the `postgres` user when this process is root (PostgreSQL and PgBouncer refuse
/// to run as root).
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start listening on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A directory the `postgres` user can write.
fn shared_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    if is_root() {
        Command::new("chown")
            .arg("postgres")
            .arg(dir.path())
            .status()
            .unwrap();
    }
    dir
}

/// PgBouncer in transaction mode in front of the test PostgreSQL, with a small server pool so
/// that transactions of different clients share server connections, as on a hosted pooler.
pub struct PgBouncer {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl PgBouncer {
    pub fn start() -> Option<PgBouncer> {
        let bin = program("pgbouncer", &["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"])?;
        let upstream = url::Url::parse(&postgres_admin_url()).unwrap();
        let dir = shared_dir();
        let port = free_port();
        let ini = dir.path().join("pgbouncer.ini");
        std::fs::write(dir.path().join("users.txt"), "\"postgres\" \"\"\n").unwrap();
        std::fs::write(
            &ini,
            format!(
                "[databases]\n* = host={} port={}\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\n\
                 unix_socket_dir =\nauth_type = trust\nauth_file = {}\npool_mode = transaction\n\
                 max_client_conn = 500\ndefault_pool_size = 4\npidfile = {}\n",
                upstream.host_str().unwrap_or("127.0.0.1"),
                upstream.port().unwrap_or(5432),
                dir.path().join("users.txt").display(),
                dir.path().join("pgbouncer.pid").display(),
            ),
        )
        .unwrap();
        if is_root() {
            Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
        }
        let child = as_postgres(&bin)
            .arg(&ini)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pgbouncer");
        wait_for_port(port, "pgbouncer");
        Some(PgBouncer { port, child, dir })
    }

    /// `url` (a database on the test PostgreSQL) through this pooler.
    pub fn url_for(&self, direct: &str) -> String {
        let mut u = url::Url::parse(direct).unwrap();
        u.set_port(Some(self.port)).unwrap();
        u.set_host(Some("127.0.0.1")).unwrap();
        u.to_string()
    }
}

impl Drop for PgBouncer {
    /// SIGTERM, which `runuser` passes on; SIGKILL would stop `runuser` alone and leave
    /// pgbouncer running. The pid file catches a pgbouncer that outlived its parent anyway.
    fn drop(&mut self) {
        let signal = |pid: String| {
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
        };
        signal(self.child.id().to_string());
        let _ = self.child.wait();
        if let Ok(pid) = std::fs::read_to_string(self.dir.path().join("pgbouncer.pid")) {
            signal(pid.trim().to_owned());
        }
    }
}

/// A throwaway PostgreSQL cluster that accepts only TLS connections (`hostssl` in pg_hba),
/// with a server certificate for `localhost`/`127.0.0.1` signed by `ca.pem`; `other-ca.pem` is
/// a CA that signed nothing here.
pub struct TlsPostgres {
    pub port: u16,
    pub dir: tempfile::TempDir,
    pg_ctl: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let ok = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl")
        .success();
    assert!(ok, "openssl {args:?}");
}

impl TlsPostgres {
    pub fn start() -> Option<TlsPostgres> {
        let bindir = std::fs::read_dir("/usr/lib/postgresql").ok().and_then(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path().join("bin"))
                .find(|p| p.join("initdb").exists())
        });
        let Some(bindir) = bindir else {
            program("postgresql (server binaries)", &[]);
            return None;
        };
        program("openssl", &["/usr/bin/openssl"])?;
        let dir = shared_dir();
        let d = dir.path();
        for (name, cn) in [("ca", "authkeep test CA"), ("other-ca", "another CA")] {
            openssl(
                d,
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    &format!("/CN={cn}"),
                    "-keyout",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.pem"),
                ],
            );
        }
        std::fs::write(
            d.join("san.cnf"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(
            d,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ],
        );
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "san.cnf",
                "-out",
                "server.pem",
            ],
        );
        let data = d.join("data");
        if is_root() {
            Command::new("chown")
                .args(["-R", "postgres"])
                .arg(d)
                .status()
                .unwrap();
        }
        let ok = as_postgres(&bindir.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "initdb");
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
        )
        .unwrap();
        let port = free_port();
        let pg_ctl = bindir.join("pg_ctl");
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file={} -c ssl_key_file={} -c fsync=off",
            d.display(),
            d.join("server.pem").display(),
            d.join("server.key").display()
        );
        if is_root() {
            Command::new("chown")
                .args(["-R", "postgres"])
                .arg(d)
                .status()
                .unwrap();
        }
        std::fs::set_permissions(
            d.join("server.key"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        let ok = as_postgres(&pg_ctl)
            .arg("-D")
            .arg(&data)
            .args(["-l"])
            .arg(d.join("log"))
            .args(["-w", "start", "-o", &options])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(
            ok,
            "pg_ctl start: {}",
            std::fs::read_to_string(d.join("log")).unwrap_or_default()
        );
        Some(TlsPostgres { port, dir, pg_ctl })
    }

    pub fn path(&self, file: &str) -> String {
        self.dir.path().join(file).display().to_string()
    }
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        let _ = as_postgres(&self.pg_ctl)
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
