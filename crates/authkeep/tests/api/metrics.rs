//! `GET /metrics` on its own listener: off by default, never on the public one, and the counts
//! a scrape shows after real traffic.

use std::time::Duration;

use authkeep::config::{Config, CustomRuleConfig};
use authkeep::email::Kind;
use serde_json::json;

use crate::helpers::{Db, PASSWORD, TestApp, http};
use crate::on_both_databases;

fn metrics_on(c: &mut Config) {
    c.metrics.enabled = true;
    c.metrics.listen = "127.0.0.1:0".parse().unwrap();
    c.rate_limit.enabled = Some(true);
    c.rate_limit.custom_rules.insert(
        "/request-password-reset".into(),
        CustomRuleConfig {
            window: Some(60),
            max: Some(1),
            disabled: false,
        },
    );
}

async fn scrape(app: &TestApp) -> String {
    let url = app.metrics_url.as_ref().expect("metrics are on");
    let r = http().get(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    r.text().await.unwrap()
}

fn assert_line(text: &str, line: &str) {
    assert!(
        text.lines().any(|l| l == line),
        "no line `{line}` in the scrape:\n{text}"
    );
}

/// The value of the one sample whose line starts with `series ` (name and labels).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
        .parse()
        .unwrap()
}

on_both_databases! {
    async fn a_scrape_counts_requests_sign_ins_refusals_and_mail(db: Db) {
        let app = TestApp::spawn_with(db, metrics_on).await;
        let mut c = app.client();
        c.sign_up("ada@example.com").await;
        assert_eq!(c.sign_in("ada@example.com", "wrong-password").await.status, 401);
        assert_eq!(c.sign_in("ada@example.com", PASSWORD).await.status, 200);
        let reset = json!({ "email": "ada@example.com", "redirectTo": "/new-password" });
        assert_eq!(c.post("/request-password-reset", reset.clone()).await.status, 200);
        app.mail_to("ada@example.com", Kind::ResetPassword).await;
        assert_eq!(c.post("/request-password-reset", reset).await.status, 429);
        // Random paths share one label; none of them becomes a series of its own.
        assert_eq!(c.get("/no-such-route").await.status, 404);
        assert_eq!(c.get("/reset-password/a-secret-token?x=1").await.status, 400);
        assert_eq!(http().get(format!("{}/health", app.origin)).send().await.unwrap().status(), 200);

        let text = scrape(&app).await;
        for line in [
            r#"authkeep_http_requests_total{route="/sign-up/email",status="200"} 1"#,
            r#"authkeep_http_requests_total{route="/sign-in/email",status="200"} 1"#,
            r#"authkeep_http_requests_total{route="/sign-in/email",status="401"} 1"#,
            r#"authkeep_http_requests_total{route="/request-password-reset",status="200"} 1"#,
            r#"authkeep_http_requests_total{route="/request-password-reset",status="429"} 1"#,
            r#"authkeep_http_requests_total{route="unmatched",status="404"} 1"#,
            r#"authkeep_http_requests_total{route="/reset-password/:token",status="400"} 1"#,
            r#"authkeep_http_requests_total{route="/health",status="200"} 1"#,
            r#"authkeep_http_request_duration_seconds_count{route="/sign-in/email",status="401"} 1"#,
            r#"authkeep_http_request_duration_seconds_bucket{route="/sign-in/email",status="200",le="+Inf"} 1"#,
            r#"authkeep_sign_ins_total{method="email",outcome="failure"} 1"#,
            r#"authkeep_sign_ins_total{method="email",outcome="success"} 1"#,
            r#"authkeep_rate_limited_total{route="/request-password-reset"} 1"#,
            r#"authkeep_emails_total{kind="reset-password",outcome="sent"} 1"#,
            "authkeep_db_pool_max_connections 16",
            "# TYPE authkeep_http_request_duration_seconds histogram",
        ] {
            assert_line(&text, line);
        }
        assert!(!text.contains("a-secret-token"), "a raw path leaked into a label");
        assert!(!text.contains("no-such-route"), "a raw path leaked into a label");
        // The pool has served every request above, so it holds at least one connection.
        let size = value(&text, "authkeep_db_pool_connections");
        let idle = value(&text, "authkeep_db_pool_idle_connections");
        let in_use = value(&text, "authkeep_db_pool_in_use_connections");
        assert!((1.0..=16.0).contains(&size), "{text}");
        assert_eq!(size, idle + in_use);
        // The latency sum is a real duration: a sign-in hashes a password.
        assert!(value(&text, r#"authkeep_http_request_duration_seconds_sum{route="/sign-in/email",status="200"}"#) > 0.0);
        app.stop().await;
    }

    async fn metrics_are_off_by_default_and_never_public(db: Db) {
        let app = TestApp::spawn(db).await;
        assert!(app.metrics_url.is_none());
        assert!(!Config::default().metrics.enabled);
        let r = http().get(format!("{}/metrics", app.origin)).send().await.unwrap();
        assert_eq!(r.status(), 404);
        app.stop().await;

        // Turned on, it is on the other listener only.
        let app = TestApp::spawn_with(db, metrics_on).await;
        let r = http().get(format!("{}/metrics", app.origin)).send().await.unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(r.text().await.unwrap(), "");
        let other = app.metrics_url.clone().unwrap().replace("/metrics", "/api/auth/ok");
        assert_eq!(http().get(other).send().await.unwrap().status(), 404);
        assert!(scrape(&app).await.contains("# TYPE authkeep_sign_ins_total counter"));
        app.stop().await;
    }
}

/// The metrics listener closes with the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_listener_stops_with_the_server() {
    let app = TestApp::spawn_with(Db::Sqlite, metrics_on).await;
    let url = app.metrics_url.clone().unwrap();
    scrape(&app).await;
    app.stop().await;
    let gone = http()
        .get(&url)
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(gone.is_err(), "still answering after shutdown");
}
