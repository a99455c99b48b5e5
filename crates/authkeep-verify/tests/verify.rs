//! The extractor and layer against a real authkeep server (in-process, over SQLite).

use std::time::Duration;

use authkeep_verify::{AuthLayer, AuthUser, MaybeAuthUser, Verifier};
use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

struct Server {
    origin: String,
    _dir: tempfile::TempDir,
}

async fn auth_server(tweak: impl FnOnce(&mut authkeep::config::Config)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let mut cfg = authkeep::config::Config {
        database_url: format!("sqlite://{}", dir.path().join("a.sqlite").display()),
        secret: Some(authkeep::config::Secret::new(
            "verify-secret-0123456789abcdef0123456789",
        )),
        base_url: Some(origin.clone()),
        ..Default::default()
    };
    tweak(&mut cfg);
    tokio::spawn(authkeep::serve::run(cfg, listener, std::future::pending()));
    for _ in 0..200 {
        if reqwest::get(format!("{origin}/ready"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Server { origin, _dir: dir }
}

struct Account {
    cookie: String,
    jwt: String,
}

async fn sign_up(server: &Server, email: &str) -> Account {
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/auth/sign-up/email", server.origin))
        .header("content-type", "application/json")
        .body(json!({"name": "V", "email": email, "password": "password1234"}).to_string())
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let t: Value = http
        .get(format!("{}/api/auth/token", server.origin))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Account {
        cookie,
        jwt: t["token"].as_str().unwrap().to_owned(),
    }
}

/// An API server using the extractor, and one behind the layer; returns their origin.
async fn spawn_api(verifier: Verifier) -> String {
    async fn me(AuthUser(user): AuthUser) -> String {
        user.email
    }
    async fn maybe(MaybeAuthUser(user): MaybeAuthUser) -> String {
        user.map(|u| u.email).unwrap_or_else(|| "anonymous".into())
    }
    let layered = Router::new()
        .route("/layered", get(me))
        .layer(AuthLayer::new(verifier.clone()))
        .with_state(verifier.clone());
    let app = Router::new()
        .route("/me", get(me))
        .route("/maybe", get(maybe))
        .with_state(verifier)
        .merge(layered);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    origin
}

async fn call(api: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String, Option<String>) {
    let mut req = reqwest::Client::new().get(format!("{api}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let www = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (r.status().as_u16(), r.text().await.unwrap(), www)
}

fn forge(header: Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string()),
        B64.encode(signature)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_mode_accepts_valid_tokens_and_nothing_else() {
    let server = auth_server(|_| {}).await;
    let acct = sign_up(&server, "v1@example.com").await;
    let api = spawn_api(Verifier::jwt(&server.origin)).await;
    let bearer = format!("Bearer {}", acct.jwt);
    assert_eq!(
        call(&api, "/me", &[("authorization", &bearer)]).await.1,
        "v1@example.com"
    );
    assert_eq!(
        call(&api, "/layered", &[("authorization", &bearer)])
            .await
            .1,
        "v1@example.com"
    );
    assert_eq!(call(&api, "/maybe", &[]).await.1, "anonymous");
    let (status, _, www) = call(&api, "/me", &[]).await;
    assert_eq!(
        (status, www.as_deref()),
        (401, Some("Bearer realm=\"authkeep\""))
    );
    assert_eq!(call(&api, "/layered", &[]).await.0, 401);

    let mut parts = acct.jwt.split('.');
    let header: Value =
        serde_json::from_slice(&B64.decode(parts.next().unwrap()).unwrap()).unwrap();
    let claims: Value =
        serde_json::from_slice(&B64.decode(parts.next().unwrap()).unwrap()).unwrap();
    let sig = B64.decode(parts.next().unwrap()).unwrap();
    let kid = header["kid"].as_str().unwrap();
    let mut evil = claims.clone();
    evil["email"] = json!("admin@example.com");
    let other = ed25519_compact::KeyPair::generate();
    let cases = [
        ("tampered claims", forge(header.clone(), &evil, &sig)),
        (
            "alg none",
            format!(
                "{}.{}.",
                B64.encode(json!({"alg": "none", "kid": kid}).to_string()),
                B64.encode(claims.to_string())
            ),
        ),
        (
            "HS256",
            forge(json!({"alg": "HS256", "kid": kid}), &claims, &[0u8; 32]),
        ),
        (
            "unknown kid",
            forge(json!({"alg": "EdDSA", "kid": "nope"}), &claims, &[0u8; 64]),
        ),
        ("wrong key", {
            let input = format!(
                "{}.{}",
                B64.encode(header.to_string()),
                B64.encode(claims.to_string())
            );
            forge(
                header.clone(),
                &claims,
                other.sk.sign(input.as_bytes(), None).as_ref(),
            )
        }),
    ];
    for (name, token) in cases {
        assert_eq!(
            call(
                &api,
                "/me",
                &[("authorization", &format!("Bearer {token}"))]
            )
            .await
            .0,
            401,
            "{name}"
        );
    }
    let strict =
        spawn_api(Verifier::jwt(&server.origin).issuer("https://someone-else.example")).await;
    assert_eq!(
        call(&strict, "/me", &[("authorization", &bearer)]).await.0,
        401,
        "wrong issuer"
    );
    let strict =
        spawn_api(Verifier::jwt(&server.origin).audience("https://other-api.example")).await;
    assert_eq!(
        call(&strict, "/me", &[("authorization", &bearer)]).await.0,
        401,
        "wrong audience"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_and_an_unreachable_jwks() {
    let server = auth_server(|c| c.jwt.expiration = 1).await;
    let acct = sign_up(&server, "v2@example.com").await;
    let api_ok = spawn_api(Verifier::jwt(&server.origin)).await;
    let bearer = format!("Bearer {}", acct.jwt);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        call(&api_ok, "/me", &[("authorization", &bearer)]).await.0,
        401
    );
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let down =
        spawn_api(Verifier::jwt(&format!("http://{closed}")).timeout(Duration::from_secs(1))).await;
    let (status, body, _) = call(&down, "/me", &[("authorization", &bearer)]).await;
    assert_eq!(status, 503, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_mode_forwards_cookie_and_bearer() {
    let server = auth_server(|_| {}).await;
    let acct = sign_up(&server, "v3@example.com").await;
    let api = spawn_api(Verifier::remote(&server.origin)).await;
    assert_eq!(
        call(&api, "/me", &[("cookie", &format!("x=1; {}", acct.cookie))])
            .await
            .1,
        "v3@example.com"
    );
    let signed = percent_decode(acct.cookie.split_once('=').unwrap().1);
    assert_eq!(
        call(
            &api,
            "/me",
            &[("authorization", &format!("Bearer {signed}"))]
        )
        .await
        .1,
        "v3@example.com"
    );
    reqwest::Client::new()
        .post(format!("{}/api/auth/sign-out", server.origin))
        .header("cookie", &acct.cookie)
        .header("origin", &server.origin)
        .send()
        .await
        .unwrap();
    assert_eq!(
        call(&api, "/me", &[("cookie", &acct.cookie)]).await.0,
        401,
        "signed out: rejected at once"
    );
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let down = api_for_remote_down(&format!("http://{closed}")).await;
    assert_eq!(call(&down, "/me", &[("cookie", &acct.cookie)]).await.0, 503);
}

async fn api_for_remote_down(origin: &str) -> String {
    spawn_api(Verifier::remote(origin).timeout(Duration::from_secs(1))).await
}

fn percent_decode(s: &str) -> String {
    s.replace("%2B", "+")
        .replace("%2F", "/")
        .replace("%3D", "=")
}
