//! The two-factor and admin plugins' secrets never reach the log: TOTP secrets and codes,
//! backup codes, the `two_factor` challenge cookie, and impersonation sessions, with the real
//! binary in production at trace level.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

use crate::cli::authkeep;
use crate::helpers::{Client, PASSWORD};
use crate::two_factor::{key_of, now_ms, totp_at};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_factor_and_admin_secrets_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = authkeep(dir.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("AUTHKEEP_ENV", "production")
        .env("BETTER_AUTH_URL", &base)
        .env("BETTER_AUTH_SECRET", crate::helpers::SECRET)
        .env("AUTHKEEP_TWO_FACTOR__ENABLED", "true")
        .env("AUTHKEEP_ADMIN__ENABLED", "true")
        .env("AUTHKEEP_RATE_LIMIT__ENABLED", "false")
        .env("RUST_LOG", "trace")
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
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("server start");
        let started = line.contains("\"addr\"");
        lines.push(line);
        if started {
            break;
        }
    }
    let client = || Client {
        api: format!("{base}/api/auth"),
        origin: Some(base.clone()),
        http: crate::helpers::http(),
        cookies: BTreeMap::new(),
    };
    let mut secrets = vec![PASSWORD.to_owned()];

    // An admin (the role set in the database, as an operator would).
    let mut admin = client();
    admin.sign_up("admin@example.com").await;
    let db = format!("sqlite://{}", dir.path().join("authkeep.sqlite").display());
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&db)
        .await
        .unwrap();
    sqlx::raw_sql(r#"update "user" set "role" = 'admin' where "email" = 'admin@example.com'"#)
        .execute(&mut conn)
        .await
        .unwrap();
    let r = admin.sign_in("admin@example.com", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text);
    secrets.push(r.json["token"].as_str().unwrap().to_owned());

    // A user enrols a second factor: the secret, the backup codes, a first code.
    let mut user = client();
    let r = user.sign_up("held@example.com").await;
    secrets.push(r.json["token"].as_str().unwrap().to_owned());
    let r = user
        .post("/two-factor/enable", json!({ "password": PASSWORD }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let uri = r.json["totpURI"].as_str().unwrap().to_owned();
    let key = key_of(&uri);
    let secret = uri
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("secret="))
        .unwrap()
        .to_owned();
    secrets.push(secret);
    let codes: Vec<String> = r.json["backupCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    secrets.extend(codes.iter().cloned());
    let first = totp_at(&key, now_ms() - 30_000);
    let r = user
        .post("/two-factor/verify-totp", json!({ "code": first }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    secrets.push(first);

    // Held at sign-in, finished with a TOTP code, then again with a backup code.
    for finish in ["totp", "backup"] {
        let mut held = client();
        let r = held.sign_in("held@example.com", PASSWORD).await;
        assert_eq!(r.json["twoFactorRedirect"], true, "{}", r.text);
        let challenge = held
            .cookies
            .iter()
            .find(|(k, _)| k.ends_with("two_factor"))
            .map(|(_, v)| v.clone())
            .expect("two_factor cookie");
        secrets.push(challenge);
        let r = if finish == "totp" {
            let code = totp_at(&key, now_ms());
            secrets.push(code.clone());
            held.post("/two-factor/verify-totp", json!({ "code": code }))
                .await
        } else {
            held.post(
                "/two-factor/verify-backup-code",
                json!({ "code": codes[0] }),
            )
            .await
        };
        assert_eq!(r.status, 200, "{finish}: {}", r.text);
        secrets.push(r.json["token"].as_str().unwrap().to_owned());
    }

    // The admin impersonates the user and stops.
    let user_id = {
        let r = admin.get("/admin/list-users?searchValue=held").await;
        r.json["users"][0]["id"].as_str().unwrap().to_owned()
    };
    let r = admin
        .post("/admin/impersonate-user", json!({ "userId": user_id }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    secrets.push(r.json["session"]["token"].as_str().unwrap().to_owned());
    secrets.extend(
        admin
            .cookies
            .iter()
            .filter(|(k, _)| k.ends_with("admin_session"))
            .map(|(_, v)| v.clone()),
    );
    let r = admin.post("/admin/stop-impersonating", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);

    crate::cli::sigterm(&child);
    crate::cli::wait_exit(&mut child, Duration::from_secs(10));
    lines.extend(rx.try_iter());
    // The log did see these requests (it names their routes), so it could have leaked.
    for route in [
        "/two-factor/enable",
        "/two-factor/verify-backup-code",
        "/admin/impersonate-user",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(route)),
            "no log line names {route}"
        );
    }
    for line in &lines {
        // The time stamp's digits could match a six-digit code by chance.
        let checked = match serde_json::from_str::<serde_json::Value>(line) {
            Ok(serde_json::Value::Object(mut fields)) => {
                fields.remove("timestamp");
                serde_json::Value::Object(fields).to_string()
            }
            _ => line.clone(),
        };
        for s in &secrets {
            assert!(
                !checked.contains(s.as_str()),
                "a secret ({s}) is in the log: {line}"
            );
        }
    }
}
