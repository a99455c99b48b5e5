//! The extractor and layer against a real authkeep server (in-process, over SQLite).

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use authkeep_verify::{AuthLayer, AuthUser, MaybeAuthUser, Verifier};
use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

/// A rustls client config over ring trusting the webpki roots and `extra_root` (PEM). The
/// workspace's reqwest has no built-in provider, so every client gets its config explicitly,
/// as the verifier's own client does; nothing installs a process-wide provider.
fn ring_tls(extra_root: Option<&[u8]>) -> rustls::ClientConfig {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(pem) = extra_root {
        roots
            .add(CertificateDer::from_pem_slice(pem).unwrap())
            .unwrap();
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// The tests' own HTTP client (plain http to the test servers).
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .tls_backend_preconfigured(ring_tls(None))
        .build()
        .unwrap()
}

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
        if http()
            .get(format!("{origin}/ready"))
            .send()
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
    let http = http();
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
    let mut req = http().get(format!("{api}{path}"));
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
    http()
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

/// A TCP proxy in front of the auth server that can be switched "down": then it accepts
/// connections and never answers (an auth server that hangs), and cuts the connections it was
/// forwarding. Counts accepted connections, i.e. the verifier's fetch attempts.
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    forwarding: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: Option<SocketAddr>, up: bool) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy {
            addr: listener.local_addr().unwrap(),
            up: Arc::new(AtomicBool::new(up)),
            accepted: Arc::new(AtomicUsize::new(0)),
            forwarding: Arc::default(),
        };
        let (is_up, accepted, forwarding) = (
            proxy.up.clone(),
            proxy.accepted.clone(),
            proxy.forwarding.clone(),
        );
        tokio::spawn(async move {
            let mut held = Vec::new(); // hanging connections stay open until the client gives up
            while let Ok((mut socket, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                match upstream.filter(|_| is_up.load(Ordering::SeqCst)) {
                    Some(upstream) => {
                        let task = tokio::spawn(async move {
                            let mut server =
                                tokio::net::TcpStream::connect(upstream).await.unwrap();
                            let _ = tokio::io::copy_bidirectional(&mut socket, &mut server).await;
                        });
                        forwarding.lock().unwrap().push(task);
                    }
                    None => held.push(socket),
                }
            }
        });
        proxy
    }

    fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        if !up {
            // Pooled keep-alive connections must not keep the verifier's fetches working.
            for task in self.forwarding.lock().unwrap().drain(..) {
                task.abort();
            }
        }
    }
}

fn addr_of(origin: &str) -> SocketAddr {
    origin.trim_start_matches("http://").parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_jwks_costs_one_timeout_for_fifty_concurrent_requests() {
    let timeout = Duration::from_secs(1);
    let jwks = Proxy::start(None, false).await;
    let api = spawn_api(Verifier::jwt(&jwks.origin()).timeout(timeout)).await;
    // Any well-formed token with a kid needs the JWKS; the signature never gets checked.
    let token = forge(
        json!({"alg": "EdDSA", "kid": "k1"}),
        &json!({"sub": "u1"}),
        &[0u8; 64],
    );
    let bearer = format!("Bearer {token}");
    let http = http();
    let started = Instant::now();
    let requests = (0..50).map(|_| {
        let req = http
            .get(format!("{api}/me"))
            .header("authorization", &bearer)
            .send();
        async move { req.await.unwrap().status().as_u16() }
    });
    let statuses = join_all(requests).await;
    let elapsed = started.elapsed();
    assert!(statuses.iter().all(|s| *s == 503), "{statuses:?}");
    assert!(
        elapsed < timeout * 3,
        "50 requests took {elapsed:?} with a {timeout:?} JWKS timeout"
    );
    assert_eq!(jwks.accepted(), 1, "one JWKS fetch for all waiters");
    eprintln!("50 concurrent requests against a hanging JWKS: {elapsed:?}");
}

/// Runs the futures concurrently (each on its own task) and collects their outputs in order.
async fn join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// A verifier for the auth server behind `proxy`: tokens still name the server's own origin.
fn verifier_via(proxy: &Proxy, server: &Server) -> Verifier {
    Verifier::jwt(&proxy.origin())
        .issuer(&server.origin)
        .audience(&server.origin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_backoff_a_recovered_jwks_is_used_again() {
    let server = auth_server(|_| {}).await;
    let acct = sign_up(&server, "v4@example.com").await;
    let jwks = Proxy::start(Some(addr_of(&server.origin)), false).await;
    let timeout = Duration::from_secs(1);
    let backoff = Duration::from_secs(2);
    let api = spawn_api(
        verifier_via(&jwks, &server)
            .timeout(timeout)
            .backoff(backoff, backoff),
    )
    .await;
    let bearer = format!("Bearer {}", acct.jwt);

    assert_eq!(
        call(&api, "/me", &[("authorization", &bearer)]).await.0,
        503
    );
    assert_eq!(jwks.accepted(), 1);
    // Backing off: no new fetch, no waiting, even once the auth server is back.
    let started = Instant::now();
    assert_eq!(
        call(&api, "/me", &[("authorization", &bearer)]).await.0,
        503
    );
    jwks.set_up(true);
    assert_eq!(
        call(&api, "/me", &[("authorization", &bearer)]).await.0,
        503
    );
    assert!(started.elapsed() < timeout, "{:?}", started.elapsed());
    assert_eq!(jwks.accepted(), 1, "no fetch during the backoff");

    tokio::time::sleep(backoff + Duration::from_millis(200)).await;
    assert_eq!(
        call(&api, "/me", &[("authorization", &bearer)]).await,
        (200, "v4@example.com".to_owned(), None)
    );
    assert_eq!(jwks.accepted(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_keys_keep_verifying_while_the_jwks_is_down() {
    let server = auth_server(|_| {}).await;
    let acct = sign_up(&server, "v5@example.com").await;
    let jwks = Proxy::start(Some(addr_of(&server.origin)), true).await;
    let timeout = Duration::from_secs(2);
    let ttl = Duration::from_secs(1);
    let api = spawn_api(
        verifier_via(&jwks, &server)
            .timeout(timeout)
            .jwks_ttl(ttl)
            .backoff(Duration::from_secs(30), Duration::from_secs(30)),
    )
    .await;
    let bearer = format!("Bearer {}", acct.jwt);
    let ok = (200, "v5@example.com".to_owned(), None);
    assert_eq!(call(&api, "/me", &[("authorization", &bearer)]).await, ok);
    assert_eq!(jwks.accepted(), 1);

    jwks.set_up(false);
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    // The first request after the TTL refreshes, waits for the hanging fetch and then verifies
    // with the stale key; a request arriving meanwhile uses the stale key without waiting.
    let refreshing = {
        let (api, bearer) = (api.clone(), bearer.clone());
        tokio::spawn(async move { call(&api, "/me", &[("authorization", &bearer)]).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(call(&api, "/me", &[("authorization", &bearer)]).await, ok);
    assert!(
        !refreshing.is_finished(),
        "answered while the refresh was still waiting"
    );
    assert_eq!(refreshing.await.unwrap(), ok);
    assert_eq!(jwks.accepted(), 2, "one refresh attempt");
    // Backing off: the stale key serves at once, without another fetch.
    let started = Instant::now();
    assert_eq!(call(&api, "/me", &[("authorization", &bearer)]).await, ok);
    assert!(started.elapsed() < timeout, "{:?}", started.elapsed());
    assert_eq!(jwks.accepted(), 2);
}

/// A TLS endpoint (ring; certificate for 127.0.0.1 from the test CA in `tests/tls`) forwarding
/// to `upstream`; returns its https origin.
async fn tls_proxy(upstream: SocketAddr) -> String {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
    let certs = CertificateDer::pem_slice_iter(include_bytes!("tls/localhost.pem"))
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("tls/localhost.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("https://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that rejects the certificate ends the handshake: nothing to forward.
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let mut server = tokio::net::TcpStream::connect(upstream).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut server).await;
            });
        }
    });
    origin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_jwks_over_ring() {
    let server = auth_server(|_| {}).await;
    let acct = sign_up(&server, "v6@example.com").await;
    let origin = tls_proxy(addr_of(&server.origin)).await;
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "authorization",
        format!("Bearer {}", acct.jwt).parse().unwrap(),
    );
    let via_tls = |v: Verifier| v.issuer(&server.origin).audience(&server.origin);

    // The default client speaks TLS (ring) and checks the certificate against the webpki roots,
    // which do not include the test CA.
    match via_tls(Verifier::jwt(&origin)).verify(&headers).await {
        Err(authkeep_verify::VerifyError::Unavailable(cause)) => {
            assert!(cause.contains("UnknownIssuer"), "{cause}");
        }
        other => panic!("expected an untrusted certificate, got {other:?}"),
    }

    // A client of one's own that trusts the test CA fetches the JWKS over https.
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(ring_tls(Some(include_bytes!("tls/ca.pem"))))
        .build()
        .unwrap();
    let user = via_tls(Verifier::jwt(&origin).http_client(client))
        .verify(&headers)
        .await
        .unwrap();
    assert_eq!(user.email, "v6@example.com");
}
