//! Hosted PostgreSQL as it is really offered: behind a transaction-mode pooler (PgBouncer,
//! as Neon's and Supabase's pooled URLs are), over TLS, and waking up from sleep.

use std::time::Duration;

use serde_json::json;
use tokio::task::JoinSet;

use crate::helpers::{Db, PASSWORD, TestApp, TestDb, skip_postgres};
use crate::services::{PgBouncer, TlsPostgres};

/// Every answer of a burst, with the 5xx ones listed.
async fn no_server_errors(results: Vec<(u16, String)>, what: &str) {
    let failed: Vec<_> = results.iter().filter(|(s, _)| *s >= 500).collect();
    assert!(
        failed.is_empty(),
        "{what}: {} of {} failed: {failed:?}",
        failed.len(),
        results.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_transaction_mode_pooler_nothing_fails() {
    if skip_postgres().await {
        return;
    }
    let Some(bouncer) = PgBouncer::start() else {
        return;
    };
    let db = TestDb::new(Db::Postgres).await;
    let pooled = format!("{}?pgbouncer=true", bouncer.url_for(&db.url));
    let direct = db.url.clone();
    let app = TestApp::spawn_on(db, |c| {
        c.database_url = pooled.clone();
        c.email_otp.enabled = true;
        c.database.max_connections = 12;
    })
    .await;
    assert!(
        app.store.is_pooled(),
        "?pgbouncer=true switches pooler mode on"
    );
    // Concurrent sign-ups, then sign-ins of the same users.
    let mut tasks = JoinSet::new();
    for i in 0..24 {
        let mut c = app.client();
        tasks.spawn(async move {
            let r = c.post("/sign-up/email", json!({"name": "P", "email": format!("p{i}@example.com"), "password": PASSWORD})).await;
            (r.status, r.text)
        });
    }
    no_server_errors(tasks.join_all().await, "sign-ups").await;
    let mut tasks = JoinSet::new();
    for i in 0..24 {
        let mut c = app.client();
        tasks.spawn(async move {
            let r = c.sign_in(&format!("p{i}@example.com"), PASSWORD).await;
            assert_eq!(r.status, 200, "{}", r.text);
            // get-session under load, through the same pooled connections.
            let mut out = vec![(r.status, r.text)];
            for _ in 0..8 {
                let s = c.get("/get-session").await;
                out.push((s.status, s.text));
            }
            let s = c
                .post(
                    "/change-password",
                    json!({"currentPassword": PASSWORD, "newPassword": format!("changed-{i}-pw")}),
                )
                .await;
            out.push((s.status, s.text));
            out
        });
    }
    let answers: Vec<(u16, String)> = tasks.join_all().await.into_iter().flatten().collect();
    no_server_errors(answers, "sign-ins, get-session, change-password").await;
    // An email flow, whose code guesses use compare-and-swap and locked transactions.
    let mut c = app.client();
    assert_eq!(
        c.post(
            "/email-otp/send-verification-otp",
            json!({"email": "p0@example.com", "type": "sign-in"})
        )
        .await
        .status,
        200
    );
    let code = app
        .mail_to("p0@example.com", authkeep::email::Kind::Otp)
        .await
        .subject
        .rsplit(' ')
        .next()
        .unwrap()
        .to_owned();
    let r = c
        .post(
            "/sign-in/email-otp",
            json!({"email": "p0@example.com", "otp": code}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Counted on a direct connection: the test's own queries keep prepared statements.
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&direct)
        .await
        .unwrap();
    let users: i64 = sqlx::query_scalar(r#"select count(*) from "user""#)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(users, 24);
    app.stop().await;

    // Without pooler mode the pooler refuses authkeep's startup parameter: a clear error.
    let mut cfg = crate::helpers::test_config(&bouncer.url_for(&direct));
    cfg.database.pooler = "none".into();
    let e = format!("{:#}", authkeep::serve::prepare(&cfg).await.unwrap_err());
    assert!(
        e.contains("pooler = \"transaction\"") && e.contains("pgbouncer=true"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_on_the_direct_url() {
    if skip_postgres().await {
        return;
    }
    let Some(bouncer) = PgBouncer::start() else {
        return;
    };
    let db = TestDb::new(Db::Postgres).await;
    let pooled = bouncer.url_for(&db.url);
    let direct = db.url.clone();
    let app = TestApp::spawn_on(db, |c| {
        c.database_url = pooled.clone();
        c.database.pooler = "transaction".into();
        c.database.direct_url = Some(authkeep::crypto::Secret::new(direct.clone()));
    })
    .await;
    assert!(
        app.store.plan_migration().await.unwrap().is_empty(),
        "the direct URL created every table"
    );
    app.client().sign_up("direct@example.com").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_over_tls_is_verified() {
    let Some(pg) = TlsPostgres::start() else {
        return;
    };
    let base = format!("postgres://postgres@localhost:{}/postgres", pg.port);
    let try_start = |query: String| {
        let url = format!("{base}?{query}");
        async move {
            let mut cfg = crate::helpers::test_config(&url);
            cfg.database.startup_timeout = 0;
            authkeep::serve::prepare(&cfg)
                .await
                .map(|_| ())
                .map_err(|e| format!("{e:#}"))
        }
    };
    try_start(format!(
        "sslmode=verify-full&sslrootcert={}",
        pg.path("ca.pem")
    ))
    .await
    .expect("verify-full with the right root");
    try_start("sslmode=require".into())
        .await
        .expect("require (encrypted, unverified)");
    let wrong = try_start(format!(
        "sslmode=verify-full&sslrootcert={}",
        pg.path("other-ca.pem")
    ))
    .await
    .unwrap_err();
    assert!(
        wrong.contains("TLS") || wrong.to_lowercase().contains("certificate"),
        "a wrong root is refused clearly: {wrong}"
    );
    let missing = try_start(format!(
        "sslmode=verify-full&sslrootcert={}",
        pg.path("nope.pem")
    ))
    .await
    .unwrap_err();
    assert!(
        missing.contains("nope.pem") || missing.to_lowercase().contains("no such file"),
        "a missing root is named: {missing}"
    );
    let plain = try_start("sslmode=disable".into()).await.unwrap_err();
    assert!(
        plain.contains("pg_hba") || plain.contains("no encryption"),
        "a server that requires TLS refuses plain text: {plain}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_waking_up_is_waited_for_at_start_up() {
    if skip_postgres().await {
        return;
    }
    let outage = crate::faults::Outage::start("127.0.0.1:5432").await;
    outage.set_up(false).await;
    let port = outage.port;
    let db = TestDb::new(Db::Postgres).await;
    let url = db
        .url
        .replace("127.0.0.1:5432", &format!("127.0.0.1:{port}"));
    let waker = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        outage.set_up(true).await;
        outage
    });
    let app = TestApp::spawn_on(db, move |c| {
        c.database_url = url;
        c.database.startup_timeout = 20;
    })
    .await;
    let _outage = waker.await.unwrap();
    app.client().sign_up("awake@example.com").await;
    app.stop().await;
}
