//! `authkeep doctor`: databases broken the ways other tools break them, configurations that
//! cannot work in a browser, and a running server checked from outside. Each finding's fix
//! is applied and shown to work.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::cli::{authkeep, sigterm, start, wait_exit};
use crate::helpers::{Db, TestApp, TestDb, skip_postgres};

/// Runs `doctor --format json` with `args` (and `env`), returning the exit code and the report.
fn doctor(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (i32, Value) {
    let mut cmd = authkeep(dir);
    cmd.args(["doctor", "--format", "json"]).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run doctor");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor printed no JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

fn findings<'a>(report: &'a Value, level: &str, check: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["level"] == level && f["check"] == check)
        .collect()
}

/// The finding about `subject`, at `level`.
fn about<'a>(report: &'a Value, level: &str, subject: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["level"] == level && f["subject"] == subject)
        .unwrap_or_else(|| panic!("no {level} about {subject} in {report:#}"))
}

/// What an Alembic or Prisma migration written by hand typically creates: uuid ids, an `inet`
/// ipAddress, timestamps without time zone, a `date` expiry, no indexes but the keys.
const ALEMBIC_STYLE: &str = r#"
create table "user" (id uuid primary key, name varchar(255) not null, email varchar(255) not null,
  "emailVerified" boolean not null default false, image text,
  "createdAt" timestamp not null default now(), "updatedAt" timestamp not null default now());
create table session (id text primary key, "expiresAt" timestamp not null, token text not null,
  "createdAt" timestamp not null default now(), "updatedAt" timestamp not null default now(),
  "ipAddress" inet, "userAgent" text, "userId" uuid not null references "user"(id) on delete cascade);
create table account (id text primary key, "accountId" text not null, "providerId" text not null,
  "userId" uuid not null, "accessToken" text, "refreshToken" text,
  "idToken" text, "accessTokenExpiresAt" timestamptz, "refreshTokenExpiresAt" timestamptz, scope text,
  password text, "createdAt" timestamptz not null default now(), "updatedAt" timestamptz not null default now(),
  -- A hostile name: the printed fix must quote it, not run it.
  constraint "acc""; drop table account; --" foreign key ("userId") references "user"(id) on delete cascade);
create table verification (id text primary key, identifier text not null, value text not null,
  "expiresAt" date not null, "createdAt" timestamptz default now(), "updatedAt" timestamptz default now());
"#;

async fn pg_exec(url: &str, sql: &str) {
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url)
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{sql}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_mismatches_are_named_with_fixes_that_work() {
    if skip_postgres().await {
        return;
    }
    let db = TestDb::new(Db::Postgres).await;
    pg_exec(&db.url, ALEMBIC_STYLE).await;
    let dir = tempfile::tempdir().unwrap();
    let (code, report) = doctor(dir.path(), &["--database-url", &db.url], &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["healthy"], false);

    // The seed's classic: inet for ipAddress.
    let ip = about(&report, "error", "session.ipAddress");
    assert!(ip["message"].as_str().unwrap().contains("inet"), "{ip}");
    assert_eq!(
        ip["fix"],
        r#"alter table "session" alter column "ipAddress" type text using "ipAddress"::text;"#
    );
    // uuid ids: one fix for the key and its references, foreign keys dropped and re-created.
    let ids = about(&report, "error", "user.id");
    let fix = ids["fix"].as_str().unwrap();
    for part in [
        r#"alter table "session" drop constraint "session_userId_fkey""#,
        r#"alter table "user" alter column "id" type text"#,
        r#"alter table "account" alter column "userId" type text"#,
        r#"alter table "account" drop constraint "acc""; drop table account; --""#,
        r#"add constraint "session_userId_fkey" FOREIGN KEY ("userId") REFERENCES "user"(id) ON DELETE CASCADE"#,
    ] {
        assert!(fix.contains(part), "{part} missing from\n{fix}");
    }
    // Timestamps without zone: a warning; a date: an error.
    let ts = about(&report, "warning", "user.createdAt");
    assert!(
        ts["fix"]
            .as_str()
            .unwrap()
            .contains("type timestamptz using")
    );
    about(&report, "error", "verification.expiresAt");
    // Indexes: the unique ones are errors, the lookups warnings.
    assert!(
        about(&report, "error", "user.email")["fix"]
            .as_str()
            .unwrap()
            .starts_with(r#"create unique index "user_email_uidx" on "user" ("email")"#)
    );
    about(&report, "warning", "session.userId");
    about(&report, "warning", "verification.identifier");
    // The missing jwks table is a pending migration, applied at start by default.
    let pending = findings(&report, "warning", "database");
    assert!(
        pending.iter().any(|f| f["message"]
            .as_str()
            .unwrap()
            .contains("create table \"jwks\"")),
        "{report:#}"
    );

    // Apply every fix as printed, then migrate: healthy, and the server works on it.
    for f in report["findings"].as_array().unwrap() {
        if f["check"] == "database"
            && let Some(fix) = f["fix"].as_str()
            && !fix.starts_with("authkeep migrate")
        {
            pg_exec(&db.url, fix).await;
        }
    }
    let out = authkeep(dir.path())
        .args(["migrate", "--database-url", &db.url])
        .output()
        .unwrap();
    assert!(out.status.success());
    let (code, report) = doctor(dir.path(), &["--database-url", &db.url], &[]);
    assert!(
        findings(&report, "error", "database").is_empty()
            && findings(&report, "warning", "database").is_empty(),
        "{report:#}"
    );
    assert_eq!(code, 0, "{report:#}");

    let app = TestApp::spawn_on(db, |_| {}).await;
    let mut c = app.client();
    assert_eq!(c.sign_up("fixed@example.com").await.status, 200);
    let r = c.get("/get-session").await;
    assert_eq!(r.json["user"]["email"], "fixed@example.com");
}

#[tokio::test]
async fn sqlite_pending_migrations_and_missing_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("auth.sqlite").display());
    // Empty: pending, applied at start (a warning) unless migrate_on_start is off (an error).
    let (code, report) = doctor(dir.path(), &["--database-url", &url], &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(findings(&report, "warning", "database").len(), 1);
    let (code, report) = doctor(
        dir.path(),
        &["--database-url", &url],
        &[("AUTHKEEP_DATABASE__MIGRATE_ON_START", "false")],
    );
    assert_eq!(code, 1);
    let pending = findings(&report, "error", "database");
    assert!(
        pending[0]["fix"]
            .as_str()
            .unwrap()
            .starts_with("authkeep migrate"),
        "{report:#}"
    );

    let ok = authkeep(dir.path())
        .args(["migrate", "--database-url", &url])
        .output()
        .unwrap();
    assert!(ok.status.success());
    let (code, report) = doctor(dir.path(), &["--database-url", &url], &[]);
    assert_eq!(code, 0);
    assert!(
        findings(&report, "warning", "database").is_empty(),
        "{report:#}"
    );

    // An index dropped by hand is named, and its fix brings it back.
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::raw_sql(r#"drop index "session_userId_idx""#)
        .execute(&mut conn)
        .await
        .unwrap();
    let (_, report) = doctor(dir.path(), &["--database-url", &url], &[]);
    let fix = about(&report, "warning", "session.userId")["fix"]
        .as_str()
        .unwrap()
        .to_owned();
    sqlx::raw_sql(sqlx::AssertSqlSafe(fix))
        .execute(&mut conn)
        .await
        .unwrap();
    let (_, report) = doctor(dir.path(), &["--database-url", &url], &[]);
    assert!(
        findings(&report, "warning", "database").is_empty(),
        "{report:#}"
    );
}

#[test]
fn secrets_urls_and_cross_site_cookies() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("auth.sqlite").display());
    let base = [
        ("AUTHKEEP_ENV", "production"),
        ("BETTER_AUTH_URL", "https://auth.example.com"),
        (
            "BETTER_AUTH_TRUSTED_ORIGINS",
            "https://app.example.com,https://web.vercel.app",
        ),
    ];
    // A secret that is long enough but not random, and a frontend on another site.
    let mut env = base.to_vec();
    env.push(("BETTER_AUTH_SECRET", "abababababababababababababababababab"));
    let (code, report) = doctor(dir.path(), &["--database-url", &url, "--skip-smtp"], &env);
    assert_eq!(code, 1);
    assert!(
        findings(&report, "error", "secret")[0]["message"]
            .as_str()
            .unwrap()
            .contains("weak")
    );
    about(&report, "ok", "https://app.example.com");
    let cross = about(&report, "error", "https://web.vercel.app");
    assert!(
        cross["message"].as_str().unwrap().contains("cross-site"),
        "{cross}"
    );
    assert!(
        cross["fix"]
            .as_str()
            .unwrap()
            .contains("same_site = \"none\"")
    );
    // A frontend the server does not trust.
    let (_, report) = doctor(
        dir.path(),
        &[
            "--database-url",
            &url,
            "--origin",
            "https://other.example.com",
        ],
        &env,
    );
    let untrusted = about(&report, "error", "https://other.example.com");
    assert!(
        untrusted["message"]
            .as_str()
            .unwrap()
            .contains("INVALID_ORIGIN")
    );

    // The fixes: a generated secret, SameSite=None (Secure and Partitioned follow).
    let secret = String::from_utf8(
        authkeep(dir.path())
            .arg("generate-secret")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let mut env = base.to_vec();
    env.push(("BETTER_AUTH_SECRET", secret.trim()));
    env.push((
        "AUTHKEEP_ADVANCED__DEFAULT_COOKIE_ATTRIBUTES__SAME_SITE",
        "none",
    ));
    let (_, report) = doctor(dir.path(), &["--database-url", &url, "--skip-smtp"], &env);
    assert!(findings(&report, "error", "secret").is_empty());
    assert!(
        findings(&report, "error", "cookies").is_empty(),
        "{report:#}"
    );
    let now_ok = about(&report, "ok", "https://web.vercel.app");
    assert!(now_ok["message"].as_str().unwrap().contains("Partitioned"));

    // The reference page's CDN script on the auth origin, in production.
    let mut with_reference = env.clone();
    with_reference.push(("AUTHKEEP_OPEN_API__ENABLED", "true"));
    let (_, report) = doctor(
        dir.path(),
        &["--database-url", &url, "--skip-smtp"],
        &with_reference,
    );
    assert!(
        findings(&report, "warning", "config")
            .iter()
            .any(|f| f["message"].as_str().unwrap().contains("jsDelivr")),
        "{report:#}"
    );

    // Required verification with no mail server: nobody could ever sign in.
    let mut env = env.clone();
    env.push(("AUTHKEEP_EMAIL_VERIFICATION__REQUIRED", "true"));
    let (code, report) = doctor(dir.path(), &["--database-url", &url], &env);
    assert_eq!(code, 1);
    let mail = findings(&report, "error", "email");
    assert!(
        mail[0]["message"]
            .as_str()
            .unwrap()
            .contains("never verify")
    );
    // Plain http in production.
    let mut env = env.clone();
    env.retain(|(k, _)| *k != "BETTER_AUTH_URL");
    env.push(("BETTER_AUTH_URL", "http://auth.example.com"));
    let (_, report) = doctor(dir.path(), &["--database-url", &url, "--skip-smtp"], &env);
    assert!(
        findings(&report, "error", "urls")[0]["message"]
            .as_str()
            .unwrap()
            .contains("not https")
    );
}

#[test]
fn a_configuration_that_does_not_load_is_a_finding_and_text_is_the_default() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("authkeep.toml"),
        "[session]\nexpires_inn = 3\n",
    )
    .unwrap();
    let (code, report) = doctor(dir.path(), &[], &[]);
    assert_eq!(code, 1);
    assert!(
        findings(&report, "error", "config")[0]["message"]
            .as_str()
            .unwrap()
            .contains("expires_in")
    );
    let out = authkeep(dir.path()).arg("doctor").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("error   config"), "{text}");
    assert!(
        text.trim_end()
            .ends_with("unhealthy: 1 error(s), 0 warning(s)"),
        "{text}"
    );
}

/// `doctor --url` against a real `authkeep serve`: what a browser on each origin would meet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_server_checked_from_outside() {
    let dir = tempfile::tempdir().unwrap();
    // A fixed port: without a base URL the server's own origin is its listen address.
    let port = free_port();
    let mut cmd = authkeep(dir.path());
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("BETTER_AUTH_SECRET", crate::helpers::SECRET)
        .env("BETTER_AUTH_TRUSTED_ORIGINS", "http://127.0.0.1:5173")
        .env("AUTHKEEP_JWT__ENABLED", "true");
    let (mut child, addr, _, _) = start(cmd);
    let url = format!("http://{addr}");

    let (code, report) = doctor(
        dir.path(),
        &["--url", &url, "--origin", "http://127.0.0.1:5173"],
        &[],
    );
    assert_eq!(code, 0, "{report:#}");
    let oks: Vec<&str> = findings(&report, "ok", "remote")
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(oks.iter().any(|m| m.contains("{\"ok\":true}")), "{oks:?}");
    assert!(oks.iter().any(|m| m.contains("/jwks: 1 key(s)")), "{oks:?}");
    assert!(oks.iter().any(|m| m.starts_with("clock within")), "{oks:?}");
    assert!(
        oks.iter().any(|m| m.contains("refused with 401")),
        "{oks:?}"
    );
    about(&report, "ok", "http://127.0.0.1:5173");

    // An origin the server does not trust: the preflight is refused.
    let (code, report) = doctor(
        dir.path(),
        &["--url", &url, "--origin", "http://localhost:5173"],
        &[],
    );
    assert_eq!(code, 1);
    let refused = about(&report, "error", "http://localhost:5173");
    assert!(refused["fix"].as_str().unwrap().contains("trusted_origins"));

    // With a test account: the real session cookie is judged, and the session ended again.
    let r = crate::helpers::http()
        .post(format!("{url}/api/auth/sign-up/email"))
        .header("origin", &url)
        .json(&serde_json::json!({"email": "probe@example.com", "password": "probe-password-1", "name": "Probe"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut cmd = authkeep(dir.path());
    cmd.args([
        "doctor",
        "--format",
        "json",
        "--url",
        &url,
        "--origin",
        "http://127.0.0.1:5173",
        "--email",
        "probe@example.com",
        "--password-stdin",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut run = cmd.spawn().unwrap();
    run.stdin
        .take()
        .unwrap()
        .write_all(b"probe-password-1\n")
        .unwrap();
    let out = run.wait_with_output().unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!printed.contains("probe-password-1"));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert!(
        findings(&report, "ok", "cookies")
            .iter()
            .any(|f| f["subject"] == "http://127.0.0.1:5173"
                && f["message"]
                    .as_str()
                    .unwrap()
                    .contains("SameSite=Lax works")),
        "{report:#}"
    );

    sigterm(&child);
    wait_exit(&mut child, std::time::Duration::from_secs(10));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server whose certificate no browser would accept.
#[test]
fn an_untrusted_certificate_is_a_tls_error() {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("openssl");
    assert!(made.success());
    let port = free_port();
    let mut server = Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept", &port.to_string()])
        .arg("-key")
        .arg(&key)
        .arg("-cert")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for it to listen.
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (code, report) = doctor(
        dir.path(),
        &["--url", &format!("https://localhost:{port}")],
        &[],
    );
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(code, 1);
    let tls = &findings(&report, "error", "remote")[0];
    assert!(
        tls["message"]
            .as_str()
            .unwrap()
            .starts_with("TLS handshake"),
        "{tls}"
    );
}
