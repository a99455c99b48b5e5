//! The `authkeep` binary itself: the zero-configuration start, refusals, migrations, SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_authkeep");

pub(crate) fn authkeep(dir: &std::path::Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    c
}

/// Starts `authkeep serve` and returns it with the address it logged, the lines logged until
/// then, and the lines logged after. The caller waits for it.
#[allow(clippy::zombie_processes)]
pub(crate) fn start(
    mut cmd: Command,
) -> (
    Child,
    String,
    Vec<String>,
    std::sync::mpsc::Receiver<String>,
) {
    let mut child = cmd
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn authkeep");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        seen.push(line.clone());
        if let Some(rest) = line.split("addr=").nth(1) {
            let addr = rest.split_whitespace().next().unwrap().to_owned();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                for line in lines.map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
            return (child, addr, seen, rx);
        }
    }
    let _ = child.kill();
    panic!("authkeep did not start:\n{}", seen.join("\n"));
}

pub(crate) fn sigterm(child: &Child) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
}

pub(crate) fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("authkeep did not exit in time");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn serves_with_no_configuration_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = authkeep(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    let (mut child, addr, logs, _) = start(cmd);
    assert!(
        logs.iter().any(|l| l.contains("development secret")),
        "warns about the dev secret: {logs:?}"
    );
    let api = format!("http://{addr}/api/auth");
    let http = crate::helpers::http();
    let r = http
        .post(format!("{api}/sign-up/email"))
        .json(&serde_json::json!({"name": "Zero", "email": "zero@example.com", "password": "password1234"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(dir.path().join("authkeep.sqlite").exists());
    let secret = std::fs::read_to_string(dir.path().join(".authkeep-secret")).unwrap();
    assert!(secret.len() >= 32);
    sigterm(&child);
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert!(status.success(), "graceful exit: {status}");

    // A restart reuses the secret, so the session survives.
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut cmd = authkeep(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    let (mut child, addr, _, _) = start(cmd);
    let s: serde_json::Value = http
        .get(format!("http://{addr}/api/auth/get-session"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["user"]["email"], "zero@example.com");
    sigterm(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(10)).success());
}

#[test]
fn production_refuses_to_start_without_a_strong_secret() {
    let dir = tempfile::tempdir().unwrap();
    for (k, v) in [
        ("AUTHKEEP_ENV", "production"),
        ("BETTER_AUTH_URL", "https://auth.example.com"),
    ] {
        let out = authkeep(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env(k, v)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{k}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("BETTER_AUTH_SECRET") && err.contains("generate-secret"),
            "says how to fix it: {err}"
        );
    }
    let out = authkeep(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("AUTHKEEP_ENV", "production")
        .env("BETTER_AUTH_SECRET", "too-short")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("too-short"),
        "the secret is never printed"
    );
    assert!(!dir.path().join(".authkeep-secret").exists());
}

#[test]
fn migrate_reports_and_applies() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.sqlite").display());
    let status = authkeep(dir.path())
        .args(["migrate", "--status", "--database-url", &url])
        .output()
        .unwrap();
    assert!(status.status.success());
    assert!(String::from_utf8_lossy(&status.stdout).contains("pending"));
    let run = authkeep(dir.path())
        .args(["migrate", "--database-url", &url])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(out.contains("applied") && !out.contains("pending"), "{out}");
}

#[test]
fn bad_configuration_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("authkeep.toml"),
        "listen = \"not an address\"\n",
    )
    .unwrap();
    let out = authkeep(dir.path()).args(["serve"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("listen"));
    let out = authkeep(dir.path())
        .args(["serve", "--config", "missing.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn generate_secret_prints_a_strong_secret() {
    let out = Command::new(BIN).arg("generate-secret").output().unwrap();
    let s = String::from_utf8(out.stdout).unwrap();
    assert_eq!(s.trim().len(), 64);
}

/// Reads one column of the newest verification row whose identifier starts with `prefix`.
async fn newest_verification(db: &std::path::Path, prefix: &str, column: &str) -> String {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let sql = format!(
        r#"select "{column}" from "verification" where "identifier" like $1 order by "createdAt" desc limit 1"#
    );
    let v: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(format!("{prefix}%"))
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    v
}

/// `sqlite::memory:` is one database for the whole process: migrated, then served.
#[tokio::test]
async fn an_in_memory_database_is_migrated_and_served() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = authkeep(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", "sqlite::memory:");
    let (mut child, addr, _, _) = start(cmd);
    let http = crate::helpers::http();
    let api = format!("http://{addr}/api/auth");
    for _ in 0..3 {
        let r = http
            .post(format!("{api}/sign-up/email"))
            .json(&serde_json::json!({"name": "Mem", "email": "mem@example.com", "password": "password1234"}))
            .send()
            .await
            .unwrap();
        // The first creates the user; the next find it (one database, not one per connection).
        assert!(matches!(r.status().as_u16(), 200 | 422), "{}", r.status());
    }
    let r = http
        .post(format!("{api}/sign-in/email"))
        .json(&serde_json::json!({"email": "mem@example.com", "password": "password1234"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(!dir.path().join("authkeep.sqlite").exists());
    sigterm(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(10)).success());
}

/// The id of the newest provider (non-credential) account in the SQLite file.
async fn newest_provider_account(db: &std::path::Path) -> String {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let id: String = sqlx::query_scalar(
        r#"select "id" from "account" where "providerId" <> 'credential' order by "createdAt" desc limit 1"#,
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    id
}

/// Every route that carries a token in its path, query or headers is called at trace level in
/// production; no token, password or secret may reach the log.
#[tokio::test]
async fn production_logs_are_json_and_never_hold_secrets_or_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let idp = crate::idp::Idp::start().await;
    let secret = "prod-secret-that-must-never-be-logged-0123456789";
    // With Redis (always in CI): sessions, links, codes and rate-limit counters go there too
    // (its keys hold session tokens); links and codes also stay in the database, where this
    // test reads them.
    let redis_keys =
        (!crate::secondary_storage::skip_redis()).then(crate::secondary_storage::Keys::new);
    let mut cmd = authkeep(dir.path());
    if let Some(k) = &redis_keys {
        cmd.env("AUTHKEEP_SECONDARY_STORAGE__URL", &k.url)
            .env("AUTHKEEP_SECONDARY_STORAGE__KEY_PREFIX", &k.prefix)
            .env("AUTHKEEP_VERIFICATION__STORE_IN_DATABASE", "true");
    }
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .env("AUTHKEEP_ENV", "production")
        .env("BETTER_AUTH_SECRET", secret)
        .env("AUTHKEEP_MAGIC_LINK__ENABLED", "true")
        .env("AUTHKEEP_EMAIL_OTP__ENABLED", "true")
        .env("AUTHKEEP_USER__DELETE_USER", "true")
        .env("AUTHKEEP_USER__DELETE_USER_VERIFICATION", "true")
        .env("AUTHKEEP_SESSION__COOKIE_CACHE__ENABLED", "true")
        .env("AUTHKEEP_SESSION__COOKIE_CACHE__STRATEGY", "jwt")
        .env(
            "AUTHKEEP_SOCIAL_PROVIDERS__GOOGLE__CLIENT_ID",
            crate::idp::GOOGLE_CLIENT_ID,
        )
        .env(
            "AUTHKEEP_SOCIAL_PROVIDERS__GOOGLE__CLIENT_SECRET",
            crate::idp::GOOGLE_CLIENT_SECRET,
        )
        .env(
            "AUTHKEEP_SOCIAL_PROVIDERS__GOOGLE__AUTHORIZATION_URL",
            idp.google_authorize_url(),
        )
        .env(
            "AUTHKEEP_SOCIAL_PROVIDERS__GOOGLE__TOKEN_URL",
            idp.google_token_url(),
        )
        .env(
            "AUTHKEEP_SOCIAL_PROVIDERS__GOOGLE__JWKS_URL",
            idp.google_certs_url(),
        )
        .env("RUST_LOG", "trace");
    let mut child = cmd
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let addr = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("server start");
        lines.push(line.clone());
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        if let Some(a) = v["addr"].as_str() {
            break a.to_owned();
        }
    };
    let db = dir.path().join("authkeep.sqlite");
    let password = "hunter2-correct-horse-battery";
    let http = crate::helpers::http_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let api = format!("http://{addr}/api/auth");
    // No Origin: these are server-to-server calls without cookies (the base URL here is the
    // unknown `--listen` port, so no origin would be trusted anyway).
    let post = |path: &str, body: serde_json::Value| http.post(format!("{api}{path}")).json(&body);
    let body =
        serde_json::json!({"name": "Logs", "email": "logs@example.com", "password": password});
    let r = post("/sign-up/email", body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let user_id = r.json::<serde_json::Value>().await.unwrap()["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = post(
        "/sign-in/email",
        serde_json::json!({"email": "logs@example.com", "password": password}),
    )
    .send()
    .await
    .unwrap();
    let signed = r.headers()["set-auth-token"].to_str().unwrap().to_owned();
    let set_cookie = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(|c| c.split(';').next().unwrap().to_owned())
    };
    let session_pair = set_cookie(&r, "better-auth.session_token").expect("session cookie");
    let cache_pair = set_cookie(&r, "better-auth.session_data").expect("cookie cache entry");
    let token = r.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let cache_entry = cache_pair["better-auth.session_data=".len()..].to_owned();
    let mut secrets = vec![
        password.to_owned(),
        secret.to_owned(),
        token.clone(),
        cache_entry,
    ];
    // get-session answered from the cookie cache (a JWT that holds the session token).
    let r = http
        .get(format!("{api}/get-session"))
        .header("cookie", format!("{session_pair}; {cache_pair}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bearer = format!("Bearer {signed}");
    let get = |path: String| {
        http.get(format!("{api}{path}"))
            .header("authorization", &bearer)
            .send()
    };

    // Bearer session and JWT.
    let r = get("/token".into()).await.unwrap();
    secrets.push(
        r.json::<serde_json::Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let r = get("/get-session".into()).await.unwrap();
    assert_eq!(r.status(), 200);

    // A reset link: the token is in the path, then in the body.
    let r = post(
        "/request-password-reset",
        serde_json::json!({"email": "logs@example.com"}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let reset = newest_verification(&db, "reset-password:", "identifier").await;
    let reset = reset.trim_start_matches("reset-password:").to_owned();
    let r = get(format!("/reset-password/{reset}?callbackURL=/new-password"))
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let r = post(
        "/reset-password",
        serde_json::json!({"token": reset, "newPassword": "another-password-1"}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    secrets.push(reset);

    // An email-verification link (stateless token in the query).
    let verify = authkeep::auth::email_token::verification_token(
        &authkeep::crypto::HmacKey::new(&authkeep::crypto::Secret::new(secret)),
        "logs@example.com",
        &user_id,
        3600,
    );
    let r = get(format!("/verify-email?token={verify}&callbackURL=/welcome"))
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    secrets.push(verify);

    // A magic link (token in the query).
    let r = post(
        "/sign-in/magic-link",
        serde_json::json!({"email": "logs@example.com"}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let link = newest_verification(&db, "magic-link:", "identifier").await;
    let link = link.trim_start_matches("magic-link:").to_owned();
    let r = get(format!("/magic-link/verify?token={link}&callbackURL=/home"))
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    secrets.push(link);

    // A one-time code (in the body).
    let r = post(
        "/email-otp/send-verification-otp",
        serde_json::json!({"email": "logs@example.com", "type": "sign-in"}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let otp = newest_verification(&db, "sign-in-otp-", "value").await;
    let otp = otp.split(':').next().unwrap().to_owned();
    let r = post(
        "/sign-in/email-otp",
        serde_json::json!({"email": "logs@example.com", "otp": otp}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let otp_session = r.headers()["set-auth-token"].to_str().unwrap().to_owned();
    secrets.push(otp_session.clone());

    // Deletion confirmed by a link (token in the query), with the signed-in session.
    let r = http
        .post(format!("{api}/delete-user"))
        .header("authorization", format!("Bearer {otp_session}"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let deletion = newest_verification(&db, "delete-account-", "identifier").await;
    let deletion = deletion.trim_start_matches("delete-account-").to_owned();
    let r = http
        .get(format!(
            "{api}/delete-user/callback?token={deletion}&callbackURL=/bye"
        ))
        .header("authorization", format!("Bearer {otp_session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    secrets.push(deletion);

    // Social sign-in: the client secret, the state, the code and the provider's tokens stay
    // out of the logs, through the callback and get-access-token.
    secrets.push(crate::idp::GOOGLE_CLIENT_SECRET.to_owned());
    let r = post(
        "/sign-in/social",
        serde_json::json!({"provider": "google", "callbackURL": "/in"}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let state_cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let url = r.json::<serde_json::Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    // The base URL names the `--listen` port 0; the browser reaches the real port.
    let callback = idp
        .follow_authorize(&url)
        .await
        .replace("http://127.0.0.1:0/", &format!("http://{addr}/"));
    let q = crate::idp::query_of(&callback);
    secrets.push(q["code"].clone());
    secrets.push(q["state"].clone());
    let r = http
        .get(&callback)
        .header("cookie", &state_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let session_cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("better-auth.session_token="))
        .expect("signed in")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let account_id = newest_provider_account(&db).await;
    let r = http
        .post(format!("{api}/get-access-token"))
        .header("cookie", &session_cookie)
        // A cookie-carrying POST needs a trusted Origin: the base URL's.
        .header("origin", "http://127.0.0.1:0")
        .json(&serde_json::json!({"accountId": account_id}))
        .send()
        .await
        .unwrap();
    let tokens = r.json::<serde_json::Value>().await.unwrap();
    secrets.push(
        tokens["accessToken"]
            .as_str()
            .expect("access token")
            .to_owned(),
    );
    secrets.push(tokens["idToken"].as_str().expect("id token").to_owned());

    tokio::time::sleep(Duration::from_millis(300)).await;
    sigterm(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(10)).success());
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) {
        lines.push(line);
    }
    let all = lines.join("\n");
    assert!(lines.len() > 3, "trace logging produced output");
    for line in &lines {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "every line is JSON: {line}"
        );
    }
    for s in &secrets {
        assert!(!all.contains(s.as_str()), "{s:?} reached the logs");
    }
    assert!(
        !all.contains("token="),
        "a query string with a token reached the logs"
    );
    assert!(
        all.contains("/reset-password/:token"),
        "routes are logged by template"
    );
    assert!(
        all.contains("email not delivered"),
        "the undelivered mail is reported"
    );
    assert!(
        all.contains("\"status\":200") || all.contains("\"status\": 200"),
        "access log lines are there"
    );
}

#[tokio::test]
async fn serve_reads_the_config_file_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("custom.toml");
    std::fs::write(
        &config,
        "[email]\nfrom = \"Acme <no-reply@acme.test>\"\n[email_verification]\nrequired = true\nsend_on_sign_up = true\n\
         auto_sign_in_after_verification = true\n[magic_link]\nenabled = true\n",
    )
    .unwrap();
    let mut cmd = authkeep(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config);
    let (mut child, addr, logs, _) = start(cmd);
    assert!(
        logs.iter().any(|l| l.contains("log (messages are printed")),
        "says mail goes to the log: {logs:?}"
    );
    let http = crate::helpers::http();
    let api = format!("http://{addr}/api/auth");
    let r = http
        .post(format!("{api}/sign-in/magic-link"))
        .json(&serde_json::json!({"email": "cfg@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "magic links are on, as the file says");
    let body =
        serde_json::json!({"name": "Cfg", "email": "cfg2@example.com", "password": "password1234"});
    let r: serde_json::Value = http
        .post(format!("{api}/sign-up/email"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        r["token"].is_null(),
        "verification is required, as the file says"
    );
    sigterm(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(10)).success());
}

/// Lines logged within `wait`.
fn drain(rx: &std::sync::mpsc::Receiver<String>, wait: Duration) -> Vec<String> {
    let deadline = Instant::now() + wait;
    let mut out = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => out.push(line),
            Err(_) => break,
        }
    }
    out
}

/// What a newcomer needs from the log: what is trusted and on, where the files are, why a
/// request was refused, and which environment variables were not understood.
#[tokio::test]
async fn the_start_up_log_and_refusals_say_what_an_operator_needs() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = authkeep(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .env("BETTER_AUTH_TRUSTED_ORIGINS", "http://localhost:5173")
        .env("AUTHKEEP_MAGIC_LINK__ENABLED", "true")
        .env("AUTHKEEP_TEST_POSTGRES_URL", "postgres://elsewhere/x")
        .env("AUTHKEEP_SESION__EXPIRES_IN", "60");
    let (mut child, addr, logs, rx) = start(cmd);
    let all = logs.join("\n");
    let dir_path = std::fs::canonicalize(dir.path()).unwrap();
    assert!(
        all.contains("AUTHKEEP_SESION__EXPIRES_IN is not a configuration key")
            && all.contains("did you mean AUTHKEEP_SESSION__EXPIRES_IN?"),
        "{all}"
    );
    assert!(
        all.contains("AUTHKEEP_TEST_POSTGRES_URL is not a configuration key"),
        "{all}"
    );
    assert!(
        all.contains("http://localhost:5173"),
        "trusted origins are listed: {all}"
    );
    assert!(
        all.contains("magic-link") && all.contains("jwt") && all.contains("bearer"),
        "plugins: {all}"
    );
    assert!(
        all.contains(&dir_path.join("authkeep.sqlite").display().to_string()),
        "the database file's absolute path: {all}"
    );
    assert!(
        all.contains(&dir_path.join(".authkeep-secret").display().to_string()),
        "the secret file's absolute path: {all}"
    );
    let http = crate::helpers::http();
    let r = http
        .post(format!("http://{addr}/api/auth/sign-out"))
        .header("cookie", "better-auth.session_token=x")
        .header("origin", "https://typo.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let later = drain(&rx, Duration::from_millis(500)).join("\n");
    assert!(
        later.contains("INVALID_ORIGIN") && later.contains("https://typo.example"),
        "the refusal names its code and the origin: {later}"
    );
    sigterm(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(10)).success());
}

#[test]
fn database_errors_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!(
        "postgres://postgres@127.0.0.1:5432/authkeep_missing_{}",
        std::process::id()
    );
    let out = authkeep(dir.path())
        .args(["migrate", "--database-url", &missing])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("does not exist") && err.contains("createdb"),
        "{err}"
    );
    assert!(
        !err.contains(" at line "),
        "no PostgreSQL source-line noise: {err}"
    );
    let out = authkeep(dir.path())
        .args([
            "migrate",
            "--database-url",
            "sqlite://no/such/dir/auth.sqlite",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("mkdir -p"),
        "a missing directory is named: {err}"
    );
    let out = authkeep(dir.path())
        .args([
            "migrate",
            "--database-url",
            "postgres://postgres@127.0.0.1:1/x",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("127.0.0.1:1") && err.to_lowercase().contains("refused"),
        "the host and the cause: {err}"
    );
}

#[test]
fn serve_help_lists_the_environment() {
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for var in [
        "BETTER_AUTH_SECRET",
        "BETTER_AUTH_URL",
        "DATABASE_URL",
        "AUTHKEEP_<SECTION>__<KEY>",
        "docs/configuration.md",
    ] {
        assert!(help.contains(var), "{var} in: {help}");
    }
}
