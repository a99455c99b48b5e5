//! Redis hung, down, back, and absent at start-up.

use std::time::{Duration, Instant};

use authkeep::config::Secret;
use serde_json::{Value, json};

use super::{Keys, spawn};
use crate::helpers::{Db, PASSWORD, TestApp, http};

/// Whether a private `redis-server` cannot be started here: skipped with a message, unless
/// `AUTHKEEP_TEST_REQUIRE_SERVICES` is set (CI), where a missing binary fails the test.
fn skip_private_redis() -> bool {
    let bin = std::env::var("AUTHKEEP_TEST_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
    let found = std::process::Command::new(&bin)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return false;
    }
    assert!(
        std::env::var_os("AUTHKEEP_TEST_REQUIRE_SERVICES").is_none(),
        "{bin} is missing and AUTHKEEP_TEST_REQUIRE_SERVICES is set (apt-get install redis-server)"
    );
    eprintln!("SKIPPED: {bin} is not installed (apt-get install redis-server)");
    true
}

/// A throw-away `redis-server` on a free loopback port, killed on drop.
struct PrivateRedis {
    port: u16,
    child: std::process::Child,
}

impl PrivateRedis {
    fn start_on(port: u16) -> PrivateRedis {
        PrivateRedis::start_with(port, &[])
    }

    fn start_with(port: u16, extra: &[&str]) -> PrivateRedis {
        let bin =
            std::env::var("AUTHKEEP_TEST_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let child = std::process::Command::new(bin)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (apt-get install redis-server)");
        let url = match extra {
            ["--requirepass", password] => format!("redis://:{password}@127.0.0.1:{port}"),
            _ => format!("redis://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while redis::Client::open(url.as_str())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        PrivateRedis { port, child }
    }

    fn start() -> PrivateRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        PrivateRedis::start_on(port)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn signal(&self, sig: &str) {
        let ok = std::process::Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn ready(app: &TestApp) -> (u16, Value) {
    let r = http()
        .get(format!("{}/ready", app.origin))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_answers_503_with_retry_after_and_recovers() {
    if skip_private_redis() {
        return;
    }
    let redis = PrivateRedis::start();
    let keys = Keys::on(&redis.url());
    let app = spawn(Db::Sqlite, &keys, |_| {}).await;
    let mut c = app.client();
    c.sign_up("ss-down@example.com").await;
    assert_eq!(c.get("/get-session").await.status, 200);

    // A Redis that hangs: requests fail fast, never hang.
    redis.signal("-STOP");
    let started = Instant::now();
    let r = c.get("/get-session").await;
    assert_eq!(
        (r.status, r.code()),
        (503, "SERVICE_UNAVAILABLE"),
        "{}",
        r.text
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    redis.signal("-CONT");

    // A Redis that is gone.
    let port = redis.port;
    drop(redis);
    let r = c.get("/get-session").await;
    assert_eq!(
        (r.status, r.code()),
        (503, "SERVICE_UNAVAILABLE"),
        "{}",
        r.text
    );
    assert_eq!(r.header("retry-after"), Some("2"));
    assert!(r.json["message"].is_string());
    let r = c.sign_in("ss-down@example.com", PASSWORD).await;
    assert_eq!(
        r.status, 503,
        "no session is made that Redis does not know: {}",
        r.text
    );
    let (status, body) = ready(&app).await;
    assert_eq!(
        (status, body["secondary_storage"].clone()),
        (503, json!("unreachable")),
        "{body}"
    );
    assert!(body.get("database").is_none(), "{body}");

    // Redis is back (empty: it kept nothing): the server recovers by itself.
    let _redis = PrivateRedis::start_on(port);
    let deadline = Instant::now() + Duration::from_secs(10);
    while ready(&app).await.0 != 200 {
        assert!(Instant::now() < deadline, "did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        c.get("/get-session").await.text,
        "null",
        "the session was in the lost Redis"
    );
    let r = c.sign_in("ss-down@example.com", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        c.get("/get-session").await.json["user"]["email"],
        "ss-down@example.com"
    );
    app.stop().await;
}

/// Redis unreachable at start-up does not stop the server: it starts and reports not ready
/// (as with a database that is down), and becomes ready once Redis answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_with_redis_down_starts_not_ready() {
    if skip_private_redis() {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = crate::helpers::test_config(&format!(
        "sqlite://{}",
        dir.path().join("a.sqlite").display()
    ));
    cfg.secondary_storage.url = Some(Secret::new(format!("redis://:hunter2@127.0.0.1:{port}")));
    let prepared = authkeep::serve::prepare(&cfg)
        .await
        .expect("starts without Redis");
    let store = prepared.app.auth.store.clone();
    let e = store.ping_secondary().await.unwrap_err();
    assert!(e.is_unavailable(), "{e}");
    assert!(
        !format!("{e:?} {cfg:?}").contains("hunter2"),
        "the password never prints"
    );
    let _redis = PrivateRedis::start_with(port, &["--requirepass", "hunter2"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.ping_secondary().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "did not connect once Redis was up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
