use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

use crate::helpers::{Db, PASSWORD, TestApp, TestDb};
use crate::on_both_databases;

on_both_databases! {
    async fn concurrent_sign_ups_with_one_email_create_one_user(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut tasks = JoinSet::new();
        for i in 0..8 {
            let mut c = app.client();
            tasks.spawn(async move {
                c.post("/sign-up/email", json!({"name": format!("racer {i}"), "email": "race@example.com", "password": PASSWORD})).await
            });
        }
        let mut ok = 0;
        while let Some(r) = tasks.join_next().await {
            let r = r.unwrap();
            match r.status {
                200 => ok += 1,
                422 => assert_eq!(r.code(), "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"),
                other => panic!("unexpected {other}: {}", r.text),
            }
        }
        assert_eq!(ok, 1);
        assert_eq!((app.count("user").await, app.count("account").await, app.count("session").await), (1, 1, 1));
        app.stop().await;
    }

    async fn an_existing_better_auth_database_is_served_in_place(db: Db) {
        // Tables as better-auth 1.7.25's migrations create them, with a user it signed up.
        let test_db = TestDb::new(db).await;
        let vectors: serde_json::Value = serde_json::from_str(include_str!("../../../../docs/vectors/better-auth-1.7.25.json")).unwrap();
        let hash = vectors["scrypt"][0]["hash"].as_str().unwrap();
        let (user, account) = match db {
            Db::Sqlite => (
                r#"CREATE TABLE "user" ("id" text not null primary key, "name" text not null, "email" text not null unique, "emailVerified" integer not null, "image" text, "createdAt" date not null, "updatedAt" date not null);
                   CREATE TABLE "session" ("id" text not null primary key, "expiresAt" date not null, "token" text not null unique, "createdAt" date not null, "updatedAt" date not null, "ipAddress" text, "userAgent" text, "userId" text not null references "user" ("id") on delete cascade);
                   CREATE TABLE "account" ("id" text not null primary key, "accountId" text not null, "providerId" text not null, "userId" text not null references "user" ("id") on delete cascade, "accessToken" text, "refreshToken" text, "idToken" text, "accessTokenExpiresAt" date, "refreshTokenExpiresAt" date, "scope" text, "password" text, "createdAt" date not null, "updatedAt" date not null);
                   CREATE TABLE "verification" ("id" text not null primary key, "identifier" text not null, "value" text not null, "expiresAt" date not null, "createdAt" date not null, "updatedAt" date not null);
                   INSERT INTO "user" VALUES ('GHpvhwzIACKnwj7V79jjuCo9qIUF2pJk', 'Wire Test', 'old@example.com', 0, NULL, '2026-11-27T05:42:22.133Z', '2026-11-27T05:42:22.134Z');"#,
                "INSERT INTO \"account\" VALUES ('acc1', 'GHpvhwzIACKnwj7V79jjuCo9qIUF2pJk', 'credential', 'GHpvhwzIACKnwj7V79jjuCo9qIUF2pJk', NULL, NULL, NULL, NULL, NULL, NULL, 'HASH', '2026-11-27T05:42:22.133Z', '2026-11-27T05:42:22.133Z');",
            ),
            Db::Postgres => (
                r#"create table "user" ("id" text not null primary key, "name" text not null, "email" text not null unique, "emailVerified" boolean not null, "image" text, "createdAt" timestamptz default CURRENT_TIMESTAMP not null, "updatedAt" timestamptz default CURRENT_TIMESTAMP not null);
                   create table "session" ("id" text not null primary key, "expiresAt" timestamptz not null, "token" text not null unique, "createdAt" timestamptz default CURRENT_TIMESTAMP not null, "updatedAt" timestamptz not null, "ipAddress" text, "userAgent" text, "userId" text not null references "user" ("id") on delete cascade);
                   create table "account" ("id" text not null primary key, "accountId" text not null, "providerId" text not null, "userId" text not null references "user" ("id") on delete cascade, "accessToken" text, "refreshToken" text, "idToken" text, "accessTokenExpiresAt" timestamptz, "refreshTokenExpiresAt" timestamptz, "scope" text, "password" text, "createdAt" timestamptz default CURRENT_TIMESTAMP not null, "updatedAt" timestamptz not null);
                   create table "verification" ("id" text not null primary key, "identifier" text not null, "value" text not null, "expiresAt" timestamptz not null, "createdAt" timestamptz default CURRENT_TIMESTAMP not null, "updatedAt" timestamptz default CURRENT_TIMESTAMP not null);
                   insert into "user" values ('GHpvhwzIACKnwj7V79jjuCo9qIUF2pJk', 'Wire Test', 'old@example.com', false, null, '2026-11-27T05:42:22.133Z', '2026-11-27T05:42:22.134Z');"#,
                "insert into \"account\" values ('acc1', 'GHpvhwzIACKnwj7V79jjuCo9qIUF2pJk', 'credential', 'GHpvhwzIACKnwj7V79jjuCo9qIUF2pJk', null, null, null, null, null, null, 'HASH', now(), now());",
            ),
        };
        let setup = authkeep::store::Store::connect(&test_db.url, &authkeep::store::PoolSettings::with_max(1), authkeep::store::schema::Schema::default_names()).unwrap();
        let script = format!("{user}\n{}", account.replace("HASH", hash));
        match setup.pool() {
            authkeep::store::Pool::Sqlite(p) => { sqlx::raw_sql(sqlx::AssertSqlSafe(script)).execute(p).await.unwrap(); }
            authkeep::store::Pool::Postgres(p) => { sqlx::raw_sql(sqlx::AssertSqlSafe(script)).execute(p).await.unwrap(); }
        }
        setup.close().await;

        let app = TestApp::spawn_on(test_db, |_| {}).await;
        let plan = app.store.plan_migration().await.unwrap();
        assert!(plan.is_empty() && plan.warnings.is_empty(), "better-auth's own tables need nothing: {plan:?}");
        let mut c = app.client();
        let r = c.sign_in("old@example.com", PASSWORD).await;
        assert_eq!(r.status, 200, "a better-auth password hash signs in: {}", r.text);
        assert_eq!(r.json["user"]["id"], "GHpvhwzIACKnwj7V79jjuCo9qIUF2pJk");
        assert_eq!(r.json["user"]["createdAt"], "2026-11-27T05:42:22.133Z");
        assert_eq!(app.count("user").await, 1);
        app.stop().await;
    }
}

/// A TCP proxy in front of PostgreSQL that can cut every connection and refuse new ones,
/// to play a database outage without stopping the shared server.
pub struct Outage {
    pub port: u16,
    up: Arc<Mutex<bool>>,
    links: Arc<Mutex<JoinSet<()>>>,
}

impl Outage {
    pub async fn start(target: &'static str) -> Outage {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(Mutex::new(true));
        let links = Arc::new(Mutex::new(JoinSet::new()));
        let (up2, links2) = (up.clone(), links.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !*up2.lock().await {
                    drop(inbound);
                    continue;
                }
                links2.lock().await.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Outage { port, up, links }
    }

    pub async fn set_up(&self, up: bool) {
        *self.up.lock().await = up;
        if !up {
            self.links.lock().await.abort_all();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_a_quick_503_and_service_resumes() {
    if crate::helpers::skip_postgres().await {
        return;
    }
    let outage = Outage::start("127.0.0.1:5432").await;
    let port = outage.port;
    let app = TestApp::spawn_with(Db::Postgres, move |c| {
        c.database_url = c
            .database_url
            .replace("127.0.0.1:5432", &format!("127.0.0.1:{port}"));
    })
    .await;
    let mut c = app.client();
    c.sign_up("outage@example.com").await;

    outage.set_up(false).await;
    let started = Instant::now();
    let r = c.get("/get-session").await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.code(), "SERVICE_UNAVAILABLE");
    assert!(r.header("x-request-id").is_some());
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "took {:?}",
        started.elapsed()
    );
    let r = c.sign_in("outage@example.com", PASSWORD).await;
    assert_eq!(r.status, 503);
    assert!(
        !r.text.contains("5432") && !r.text.to_lowercase().contains("postgres"),
        "no internals leak: {}",
        r.text
    );
    let ready = crate::helpers::http()
        .get(format!("{}/ready", app.origin))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(ready.headers()["retry-after"], "2");
    let why: serde_json::Value = ready.json().await.unwrap();
    assert!(
        why["reason"]
            .as_str()
            .is_some_and(|r| r.contains("unavailable")),
        "/ready says why: {why}"
    );
    let health = crate::helpers::http()
        .get(format!("{}/health", app.origin))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    outage.set_up(true).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = c.get("/get-session").await;
        if r.status == 200 {
            assert_eq!(r.json["user"]["email"], "outage@example.com");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "service did not resume: {} {}",
            r.status,
            r.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.stop().await;
}

/// Clients that trickle their request cannot hold connections open: headers have a deadline
/// (the connection is closed), bodies have one (408), and the connection cap only delays new
/// clients until the slow ones are cut off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_cannot_exhaust_connections() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(Db::Sqlite, |c| {
        c.limits.header_timeout = 1;
        c.limits.body_timeout = 1;
        c.limits.max_connections = 3;
    })
    .await;
    let addr = app.origin.trim_start_matches("http://").to_owned();
    // Three connections that never finish their headers take every slot.
    let mut slow = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(s);
    }
    let started = Instant::now();
    // A fourth client is served once the slow ones have been cut off, about one timeout later.
    let health = crate::helpers::http()
        .get(format!("{}/health", app.origin))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("served after the slow clients are cut off");
    assert_eq!(health.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    for mut s in slow {
        let mut buf = [0u8; 256];
        let read = tokio::time::timeout(Duration::from_secs(3), s.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(_)) | Ok(Err(_))),
            "the slow connection was closed"
        );
    }
    // A body that stops short gets 408 after the body timeout.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"POST /api/auth/sign-up/email HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"na")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("REQUEST_TIMEOUT"), "{answer}");
    app.stop().await;
}
