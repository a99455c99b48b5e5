use serde_json::json;

use crate::helpers::{Db, TestApp};
use crate::on_both_databases;

on_both_databases! {
    async fn unknown_paths_and_wrong_methods_are_empty_404s(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        for (method, path) in [("GET", "/does-not-exist"), ("GET", "/sign-in/email"), ("PUT", "/ok"), ("GET", "/ok/"), ("DELETE", "/sign-out"), ("GET", "//ok"), ("POST", "/set-password")] {
            let r = c.send(method, path, None, &[]).await;
            assert_eq!((r.status, r.text.as_str()), (404, ""), "{method} {path}");
            assert!(r.header("content-type").is_none());
        }
        let r = c.get("/ok").await;
        assert_eq!((r.status, r.json.clone()), (200, json!({"ok": true})));
        let r = c.get("/error?error=state_mismatch").await;
        assert_eq!(r.status, 200);
        assert!(r.header("content-type").unwrap().starts_with("text/html"));
        assert!(r.text.contains("state_mismatch"));
        let r = c.get("/error?error=%3Cscript%3E").await;
        assert!(!r.text.contains("<script>") && r.text.contains("UNKNOWN"));
        let outside = crate::helpers::http().get(format!("{}/elsewhere", app.origin)).send().await.unwrap();
        assert_eq!(outside.status(), 404);
        app.stop().await;
    }

    async fn bad_bodies_get_clear_errors(db: Db) {
        let app = TestApp::spawn(db).await;
        let c = app.client();
        let post = |ct: Option<&'static str>, body: Vec<u8>| {
            let mut r = c.http.post(format!("{}/sign-up/email", app.api)).body(body);
            if let Some(ct) = ct {
                r = r.header("content-type", ct);
            }
            r.send()
        };
        let r = post(Some("text/plain"), b"hello".to_vec()).await.unwrap();
        assert_eq!(r.status(), 415);
        assert_eq!(r.json::<serde_json::Value>().await.unwrap(), json!({
            "message": "Content-Type \"text/plain\" is not allowed. Allowed types: application/x-www-form-urlencoded, application/json",
            "code": "UNSUPPORTED_MEDIA_TYPE"
        }));
        let r = post(None, b"{}".to_vec()).await.unwrap();
        assert_eq!(r.status(), 415);
        let r = post(Some("application/json"), b"{\"name\": ".to_vec()).await.unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(r.json::<serde_json::Value>().await.unwrap(), json!({"message": "Invalid JSON in request body", "code": "BAD_REQUEST"}));
        let r = post(Some("application/json"), vec![0xff, 0xfe, 0x7b, 0x7d]).await.unwrap();
        assert_eq!(r.status(), 400, "non-UTF-8 is invalid JSON");
        let huge = format!("{{\"name\":\"{}\"}}", "x".repeat(200_000));
        let r = post(Some("application/json"), huge.into_bytes()).await.unwrap();
        assert_eq!(r.status(), 413);
        assert_eq!(r.json::<serde_json::Value>().await.unwrap()["code"], "PAYLOAD_TOO_LARGE");
        let r = post(Some("application/json"), b"{}".to_vec()).await.unwrap();
        assert!(r.headers().get("x-request-id").is_some());
        assert_eq!(app.count("user").await, 0);
        app.stop().await;
    }

    async fn a_status_page_at_the_root(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        let page = |c: &crate::helpers::Client| c.http.get(format!("{}/", app.origin)).header("cookie", c.cookie_header()).send();
        let r = page(&c).await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(r.text().await.unwrap().contains("Not signed in"));
        c.post("/sign-up/email", json!({"name": "<b>Root</b>", "email": "root@example.com", "password": crate::helpers::PASSWORD})).await;
        let html = page(&c).await.unwrap().text().await.unwrap();
        assert!(html.contains("Signed in as <strong>&lt;b&gt;Root&lt;/b&gt;</strong>"), "{html}");
        let off = TestApp::spawn_with(db, |c| c.home_page = false).await;
        let r = crate::helpers::http().get(format!("{}/", off.origin)).send().await.unwrap();
        assert_eq!(r.status(), 404);
        off.stop().await;
        app.stop().await;
    }

    async fn health_and_readiness(db: Db) {
        let app = TestApp::spawn(db).await;
        let h = crate::helpers::http().get(format!("{}/health", app.origin)).send().await.unwrap();
        assert_eq!(h.status(), 200);
        let r = crate::helpers::http().get(format!("{}/ready", app.origin)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<serde_json::Value>().await.unwrap(), json!({"status": "ready"}));
        app.stop().await;
    }
}

#[tokio::test]
async fn a_request_id_from_the_caller_is_echoed_when_plain() {
    let app = TestApp::spawn(Db::Sqlite).await;
    let c = crate::helpers::http();
    let r = c
        .get(format!("{}/ok", app.api))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123");
    let r = c
        .get(format!("{}/ok", app.api))
        .header("x-request-id", "bad id <script>")
        .send()
        .await
        .unwrap();
    assert_ne!(r.headers()["x-request-id"], "bad id <script>");
    app.stop().await;
}
