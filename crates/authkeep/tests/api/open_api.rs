//! better-auth's openAPI plugin: off by default; on, a document that lists exactly the routes
//! this configuration serves, and an HTML reference page.

use authkeep::config::Config;
use authkeep::http::router::Route;
use serde_json::Value;

use crate::helpers::{Db, TestApp};
use crate::on_both_databases;

fn on(c: &mut Config) {
    c.open_api.enabled = true;
}

/// `/reset-password/:token` as the document writes it.
fn document_path(template: &str) -> String {
    template
        .split('/')
        .map(|p| match p.strip_prefix(':') {
            Some(name) => format!("{{{name}}}"),
            None => p.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn schema(app: &TestApp) -> Value {
    let r = app.client().get("/open-api/generate-schema").await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json
}

/// Every operation in the document, as `METHOD /path`.
fn operations(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            out.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    out.sort();
    out
}

on_both_databases! {
    async fn off_by_default(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        for path in ["/open-api/generate-schema", "/reference"] {
            let r = c.get(path).await;
            assert_eq!((r.status, r.text.as_str()), (404, ""), "{path}");
        }
        app.stop().await;
    }

    async fn the_document_lists_every_served_route_and_nothing_else(db: Db) {
        // Plugins off: their routes are absent. Then on: present.
        for plugins in [false, true] {
            let app = TestApp::spawn_with(db, |c| {
                on(c);
                c.magic_link.enabled = plugins;
                c.email_otp.enabled = plugins;
                c.jwt.enabled = plugins;
                c.two_factor.enabled = plugins;
                c.admin.enabled = plugins;
            })
            .await;
            let doc = schema(&app).await;
            assert_eq!(doc["openapi"], "3.1.1");
            assert_eq!(doc["servers"][0]["url"], app.api.as_str());
            let listed = operations(&doc);
            let mut served = Vec::new();
            for route in Route::ALL {
                let path = document_path(route.template());
                let method = route.document_method();
                // What the router does with a request for it is what the document must say.
                let probe = path.replace("{token}", "t").replace("{id}", "google");
                let r = app.client().send(&method.to_uppercase(), &probe, None, &[]).await;
                let is_served = !(r.status == 404 && r.text.is_empty() && r.header("content-type").is_none());
                assert_eq!(
                    listed.contains(&format!("{} {path}", method.to_uppercase())),
                    is_served,
                    "{route:?} ({method} {path}): served {is_served}, listed in {listed:?}"
                );
                if is_served {
                    served.push(route);
                }
            }
            assert_eq!(listed.len(), served.len(), "{listed:?}");
            let magic = listed.iter().any(|o| o == "POST /sign-in/magic-link");
            let otp = listed.iter().any(|o| o == "POST /sign-in/email-otp");
            let jwt = listed.iter().any(|o| o == "GET /jwks");
            assert_eq!((magic, otp, jwt), (plugins, plugins, plugins));
            // A route that needs a session says so; a public one does not.
            assert!(doc["paths"]["/list-sessions"]["get"]["security"].is_array());
            assert!(doc["paths"]["/sign-up/email"]["post"].get("security").is_none());
            let body = &doc["paths"]["/sign-up/email"]["post"]["requestBody"]["content"]["application/json"]["schema"];
            assert_eq!(body["required"], serde_json::json!(["name", "email", "password"]));
            app.stop().await;
        }
    }

    async fn the_reference_page_shows_the_document(db: Db) {
        let app = TestApp::spawn_with(db, on).await;
        let r = app.client().get("/reference").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert!(r.text.contains(r#"<script id="api-reference" type="application/json">"#));
        assert!(r.text.contains("https://cdn.jsdelivr.net/npm/@scalar/api-reference@1.76.0"));
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert!(
            r.header("content-security-policy")
                .is_some_and(|p| p.contains("frame-ancestors 'none'"))
        );
        assert!(r.text.contains(r#""/sign-in/email""#));
        assert!(!r.text.contains("</script>\n</script>"));
        app.stop().await;

        // Elsewhere, or not at all (the document stays).
        let app = TestApp::spawn_with(db, |c| {
            on(c);
            c.open_api.path = "/docs".into();
        })
        .await;
        let mut c = app.client();
        assert_eq!(c.get("/docs").await.status, 200);
        assert_eq!(c.get("/reference").await.status, 404);
        assert!(schema(&app).await["paths"]["/docs"]["get"].is_object());
        app.stop().await;
        let app = TestApp::spawn_with(db, |c| {
            on(c);
            c.open_api.disable_default_reference = true;
        })
        .await;
        assert_eq!(app.client().get("/reference").await.status, 404);
        assert!(schema(&app).await["paths"].get("/reference").is_none());
        app.stop().await;
    }
}
