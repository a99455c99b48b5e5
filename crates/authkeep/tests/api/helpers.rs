//! `TestApp`: a real authkeep server on a free port over a fresh database (a SQLite file in a
//! temporary directory, or a new PostgreSQL database that is dropped afterwards), and a small
//! cookie-keeping HTTP client.

use std::collections::BTreeMap;
use std::time::Duration;

use authkeep::config::{Config, Secret};
use authkeep::email::{Kind, Outbox, SentMail};
use authkeep::store::{Pool, Store};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const SECRET: &str = "test-secret-0123456789abcdef0123456789abcdef";
pub const PASSWORD: &str = "password1234";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// An HTTP client for the tests. The workspace builds reqwest with rustls and no built-in
/// crypto provider (the verifier crate passes its own), so this test binary installs ring,
/// the provider the rest of the workspace uses, before its first client.
pub fn http_builder() -> reqwest::ClientBuilder {
    static PROVIDER: std::sync::Once = std::sync::Once::new();
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
}

pub fn http() -> reqwest::Client {
    http_builder().build().expect("HTTP client")
}

/// The server PostgreSQL tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("AUTHKEEP_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Whether a PostgreSQL variant should be skipped: only when nobody asked for PostgreSQL
/// (neither `AUTHKEEP_TEST_POSTGRES_URL` nor `AUTHKEEP_TEST_REQUIRE_POSTGRES` is set) and the
/// default server does not answer. So `cargo test` works on a laptop without PostgreSQL, and CI
/// (which sets `AUTHKEEP_TEST_REQUIRE_POSTGRES=1`) fails loudly when it is missing.
pub async fn skip_postgres() -> bool {
    let asked = std::env::var_os("AUTHKEEP_TEST_POSTGRES_URL").is_some()
        || std::env::var_os("AUTHKEEP_TEST_REQUIRE_POSTGRES").is_some();
    if asked {
        return false;
    }
    let url = postgres_admin_url();
    let reachable = tokio::time::timeout(
        Duration::from_secs(2),
        <sqlx::PgConnection as sqlx::Connection>::connect(&url),
    )
    .await
    .is_ok_and(|c| c.is_ok());
    if !reachable {
        eprintln!(
            "SKIPPED: PostgreSQL is not reachable at {url}. Start it, or set AUTHKEEP_TEST_POSTGRES_URL \
             (CI sets AUTHKEEP_TEST_REQUIRE_POSTGRES=1 so that this skip becomes a failure)."
        );
    }
    !reachable
}

/// A fresh, empty database of the given kind; dropped (PostgreSQL) or deleted (SQLite) on drop.
pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn new(db: Db) -> TestDb {
        match db {
            Db::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("auth.sqlite").display());
                TestDb {
                    url,
                    pg_name: None,
                    _dir: Some(dir),
                }
            }
            Db::Postgres => {
                let name = format!("authkeep_test_{}", authkeep::crypto::random_hex(6));
                let admin = postgres_admin_url();
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .expect("PostgreSQL must be reachable at AUTHKEEP_TEST_POSTGRES_URL (default 127.0.0.1:5432)");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("create database {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let base = admin
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_owned())
                    .unwrap_or(admin);
                TestDb {
                    url: format!("{base}/{name}"),
                    pg_name: Some(name),
                    _dir: None,
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs outside any async context we can borrow, so use a short-lived runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                if let Ok(mut conn) =
                    <sqlx::PgConnection as sqlx::Connection>::connect(&postgres_admin_url()).await
                {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "drop database if exists {name} with (force)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

pub struct TestApp {
    /// Every mail the server sent, as the recipient would get it.
    pub outbox: Outbox,
    pub origin: String,
    pub db_url: String,
    pub api: String,
    pub store: Store,
    /// `http://<addr>/metrics` when `[metrics]` is on.
    pub metrics_url: Option<String>,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _test_db: TestDb,
}

/// The configuration tests start from: a fixed secret, the embedded defaults otherwise.
pub fn test_config(db_url: &str) -> Config {
    Config {
        database_url: db_url.to_owned(),
        secret: Some(Secret::new(SECRET)),
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    }
}

impl TestApp {
    pub async fn spawn(db: Db) -> TestApp {
        Self::spawn_with(db, |_| {}).await
    }

    pub async fn spawn_with(db: Db, tweak: impl FnOnce(&mut Config)) -> TestApp {
        Self::spawn_on(TestDb::new(db).await, tweak).await
    }

    /// Serves an existing database (for adoption tests).
    pub async fn spawn_on(test_db: TestDb, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let mut cfg = test_config(&test_db.url);
        tweak(&mut cfg);
        if std::env::var_os("TEST_LOG").is_some() {
            authkeep::telemetry::init(&cfg);
        }
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .expect("bind");
        let addr = listener.local_addr().unwrap();
        let origin = format!("http://{addr}");
        if cfg.base_url.is_none() {
            cfg.base_url = Some(origin.clone());
        }
        let (tx, rx) = oneshot::channel::<()>();
        let outbox = Outbox::new();
        let mut prepared = authkeep::serve::prepare(&cfg)
            .await
            .expect("server start-up");
        // The server's own store: same pool, same table and column names.
        let store = prepared.app.auth.store.clone();
        let metrics_url = prepared
            .metrics_addr()
            .map(|a| format!("http://{a}/metrics"));
        prepared.app.auth.mailer = prepared.app.auth.mailer.clone().into_outbox(outbox.clone());
        let handle = tokio::spawn(authkeep::serve::serve(prepared, listener, async move {
            let _ = rx.await;
        }));
        let app = TestApp {
            outbox,
            db_url: test_db.url.clone(),
            api: format!("{origin}/api/auth"),
            origin,
            store,
            metrics_url,
            shutdown: Some(tx),
            handle: Some(handle),
            _test_db: test_db,
        };
        app.wait_ready().await;
        app
    }

    async fn wait_ready(&self) {
        let http = crate::helpers::http();
        for _ in 0..200 {
            if let Ok(r) = http.get(format!("{}/ready", self.origin)).send().await
                && r.status() == 200
            {
                return;
            }
            if self.handle.as_ref().is_some_and(|h| h.is_finished()) {
                panic!("server exited during start-up");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("server not ready");
    }

    /// A second server over the same database (a restart, or another replica).
    pub async fn spawn_on_store(other: &TestApp, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let test_db = TestDb {
            url: other.db_url.clone(),
            pg_name: None,
            _dir: None,
        };
        Self::spawn_on(test_db, tweak).await
    }

    pub fn client(&self) -> Client {
        Client {
            api: self.api.clone(),
            origin: Some(self.origin.clone()),
            http: crate::helpers::http(),
            cookies: BTreeMap::new(),
        }
    }

    /// Stops the server and waits for it to drain.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.expect("server task").expect("server result");
        }
    }

    /// Runs test-setup SQL (`sqlite` or `postgres` flavour picked by backend).
    pub async fn sql(&self, sqlite: &str, postgres: &str) {
        match self.store.pool() {
            Pool::Sqlite(p) => sqlx::raw_sql(sqlx::AssertSqlSafe(sqlite.to_owned()))
                .execute(p)
                .await
                .map(|_| ()),
            Pool::Postgres(p) => sqlx::raw_sql(sqlx::AssertSqlSafe(postgres.to_owned()))
                .execute(p)
                .await
                .map(|_| ()),
        }
        .expect("test SQL");
    }

    /// Moves a timestamp column of every session of `email` back by `hours`.
    pub async fn age_sessions(&self, email: &str, column: &str, hours: i64) {
        let who = format!(r#""userId" = (select "id" from "user" where "email" = '{email}')"#);
        self.sql(
            &format!(r#"update "session" set "{column}" = strftime('%Y-%m-%dT%H:%M:%fZ', "{column}", '-{hours} hours') where {who}"#),
            &format!(r#"update "session" set "{column}" = "{column}" - interval '{hours} hours' where {who}"#),
        )
        .await;
    }

    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!(r#"select count(*) from "{table}""#);
        match self.store.pool() {
            Pool::Sqlite(p) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_one(p)
                    .await
            }
            Pool::Postgres(p) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_one(p)
                    .await
            }
        }
        .expect("count")
    }

    /// Rows of `table` whose `column` equals `value`.
    pub async fn count_where(&self, table: &str, column: &str, value: &str) -> i64 {
        let sql = format!(r#"select count(*) from "{table}" where "{column}" = $1"#);
        match self.store.pool() {
            Pool::Sqlite(p) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(value)
                    .fetch_one(p)
                    .await
            }
            Pool::Postgres(p) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(value)
                    .fetch_one(p)
                    .await
            }
        }
        .expect("count")
    }

    /// The newest value stored under a verification identifier.
    pub async fn verification_value(&self, identifier: &str) -> Option<String> {
        let sql = r#"select "value" from "verification" where "identifier" = $1 order by "createdAt" desc limit 1"#;
        match self.store.pool() {
            Pool::Sqlite(p) => {
                sqlx::query_scalar(sql)
                    .bind(identifier)
                    .fetch_optional(p)
                    .await
            }
            Pool::Postgres(p) => {
                sqlx::query_scalar(sql)
                    .bind(identifier)
                    .fetch_optional(p)
                    .await
            }
        }
        .expect("verification")
    }

    /// The newest mail of `kind` sent to `to`, waiting up to five seconds for it (mail is sent
    /// in the background).
    pub async fn mail_to(&self, to: &str, kind: Kind) -> SentMail {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let found = self
                .outbox
                .messages()
                .into_iter()
                .rev()
                .find(|m| m.to == to && m.kind == kind);
            if let Some(m) = found {
                return m;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {kind:?} mail to {to}; sent: {:?}",
                self.outbox.messages()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// How many mails went to `to`.
    pub fn mails_to(&self, to: &str) -> usize {
        self.outbox.messages().iter().filter(|m| m.to == to).count()
    }

    /// The stored password hash of a user.
    pub async fn password_hash(&self, email: &str) -> String {
        let sql = r#"select a."password" from "account" a join "user" u on u."id" = a."userId" where u."email" = $1"#;
        match self.store.pool() {
            Pool::Sqlite(p) => sqlx::query_scalar(sql).bind(email).fetch_one(p).await,
            Pool::Postgres(p) => sqlx::query_scalar(sql).bind(email).fetch_one(p).await,
        }
        .expect("hash")
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
    pub set_cookies: Vec<String>,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.json["code"].as_str().unwrap_or("")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(String::as_str)
    }
}

/// A client that keeps cookies like a browser and sends the app's Origin on every request.
pub struct Client {
    pub api: String,
    pub origin: Option<String>,
    pub http: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
}

impl Client {
    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let url = format!("{}{path}", self.api);
        let req = self.http.request(method.parse().unwrap(), url);
        self.exchange(req, body, headers).await
    }

    /// Opens a link (from a mail, say) as a browser would, without following its redirect,
    /// so the test sees the `Location` and the cookies set on the way.
    pub async fn open(&mut self, url: &str) -> Resp {
        let no_redirects = http_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        self.exchange(no_redirects.get(url), None, &[]).await
    }

    async fn exchange(
        &mut self,
        mut req: reqwest::RequestBuilder,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        if let Some(o) = &self.origin {
            req = req.header("origin", o);
        }
        if !self.cookies.is_empty() {
            req = req.header("cookie", self.cookie_header());
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let set_cookies: Vec<String> = headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if c.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        let text = r.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            json,
            set_cookies,
        }
    }

    pub async fn post(&mut self, path: &str, body: Value) -> Resp {
        self.send("POST", path, Some(&body), &[]).await
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.send("GET", path, None, &[]).await
    }

    pub async fn sign_up(&mut self, email: &str) -> Resp {
        let r = self
            .post(
                "/sign-up/email",
                json!({ "name": "Test User", "email": email, "password": PASSWORD }),
            )
            .await;
        assert_eq!(r.status, 200, "sign-up failed: {}", r.text);
        r
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Resp {
        self.post(
            "/sign-in/email",
            json!({ "email": email, "password": password }),
        )
        .await
    }
}

/// Runs an async test body once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($(async fn $name:ident($db:ident : Db) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                async fn run($db: Db) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() { run($crate::helpers::Db::Sqlite).await }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if $crate::helpers::skip_postgres().await {
                        return;
                    }
                    run($crate::helpers::Db::Postgres).await
                }
            }
        )*
    };
}
