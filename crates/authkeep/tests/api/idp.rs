//! An identity provider for the social sign-in tests, in the test process: stand-ins for Google,
//! GitHub and a generic OpenID Connect provider on one local port.
//!
//! Each stand-in follows the provider's public API documents (Google's OAuth 2.0 / OpenID Connect
//! docs, GitHub's OAuth app and REST docs, OpenID Connect Core and Discovery, RFC 6749, RFC 7636,
//! RFC 9207) closely enough that a correct client works and a sloppy one fails. There is no login
//! page: the authorize endpoints answer at once, from the "signed-in" user and the outcome the
//! test set. Tests can also inject faults per endpoint, tamper with the ID tokens the token
//! endpoints return, and read a log of every request.
//!
//! URL layout under `idp.base()`:
//! ```text
//! /google/authorize  /google/token  /google/certs  /google/userinfo
//! /github/login/oauth/authorize  /github/login/oauth/access_token  /github/api/user  /github/api/user/emails
//! /oidc/.well-known/openid-configuration  /oidc/authorize  /oidc/token  /oidc/userinfo  /oidc/jwks  /oidc/session/end
//! ```
//! The OIDC issuer is `{base}/oidc`; Google's ID tokens carry the real issuer
//! `https://accounts.google.com`, as the server checks that value.

// The API is there for the social sign-in tests; no single test uses every knob.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use authkeep::auth::jwt::keys::{Algorithm, SigningKey};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------------------------
// Registered clients and fixed values
// ---------------------------------------------------------------------------------------------

/// The one OAuth client registered at each stand-in. Configure the server with these.
pub const GOOGLE_CLIENT_ID: &str = "1234567890-authkeep.apps.googleusercontent.com";
pub const GOOGLE_CLIENT_SECRET: &str = "GOCSPX-authkeep-test-secret";
pub const GITHUB_CLIENT_ID: &str = "Ov23liAuthkeepTest01";
pub const GITHUB_CLIENT_SECRET: &str = "0123456789abcdef0123456789abcdef01234567";
pub const OIDC_CLIENT_ID: &str = "authkeep-oidc";
/// Only unreserved characters, so `client_secret_basic` works whether or not the client
/// form-encodes the secret before base64 (RFC 6749 §2.3.1 says it should; better-auth does not).
pub const OIDC_CLIENT_SECRET: &str = "oidc-secret.with_unreserved~chars";

/// The `iss` of Google ID tokens (Google also accepts `accounts.google.com` when verifying).
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";
/// What Google grants for the `email` and `profile` scopes, and names in the token response.
pub const GOOGLE_EMAIL_SCOPE: &str = "https://www.googleapis.com/auth/userinfo.email";
pub const GOOGLE_PROFILE_SCOPE: &str = "https://www.googleapis.com/auth/userinfo.profile";

/// ID tokens live one hour at Google and at most OIDC providers.
const ID_TOKEN_LIFETIME_S: i64 = 3600;
/// Authorization codes expire after ten minutes (RFC 6749 §4.1.2 recommends at most that).
const CODE_LIFETIME: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    Google,
    Github,
    Oidc,
}

impl Provider {
    /// `(client_id, client_secret)` of the registered client.
    pub fn client(self) -> (&'static str, &'static str) {
        match self {
            Provider::Google => (GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET),
            Provider::Github => (GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET),
            Provider::Oidc => (OIDC_CLIENT_ID, OIDC_CLIENT_SECRET),
        }
    }
}

/// Every endpoint the stand-ins serve; faults are set per endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    GoogleAuthorize,
    GoogleToken,
    GoogleCerts,
    GoogleUserinfo,
    GithubAuthorize,
    GithubToken,
    GithubUser,
    GithubEmails,
    OidcDiscovery,
    OidcAuthorize,
    OidcToken,
    OidcUserinfo,
    OidcJwks,
    OidcEndSession,
}

impl Endpoint {
    pub const ALL: [Endpoint; 14] = [
        Endpoint::GoogleAuthorize,
        Endpoint::GoogleToken,
        Endpoint::GoogleCerts,
        Endpoint::GoogleUserinfo,
        Endpoint::GithubAuthorize,
        Endpoint::GithubToken,
        Endpoint::GithubUser,
        Endpoint::GithubEmails,
        Endpoint::OidcDiscovery,
        Endpoint::OidcAuthorize,
        Endpoint::OidcToken,
        Endpoint::OidcUserinfo,
        Endpoint::OidcJwks,
        Endpoint::OidcEndSession,
    ];

    /// The path under `idp.base()`.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::GoogleAuthorize => "/google/authorize",
            Endpoint::GoogleToken => "/google/token",
            Endpoint::GoogleCerts => "/google/certs",
            Endpoint::GoogleUserinfo => "/google/userinfo",
            Endpoint::GithubAuthorize => "/github/login/oauth/authorize",
            Endpoint::GithubToken => "/github/login/oauth/access_token",
            Endpoint::GithubUser => "/github/api/user",
            Endpoint::GithubEmails => "/github/api/user/emails",
            Endpoint::OidcDiscovery => "/oidc/.well-known/openid-configuration",
            Endpoint::OidcAuthorize => "/oidc/authorize",
            Endpoint::OidcToken => "/oidc/token",
            Endpoint::OidcUserinfo => "/oidc/userinfo",
            Endpoint::OidcJwks => "/oidc/jwks",
            Endpoint::OidcEndSession => "/oidc/session/end",
        }
    }

    fn from_path(path: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.path() == path)
    }

    fn allows(self, method: &Method) -> bool {
        match self {
            Endpoint::GoogleToken | Endpoint::GithubToken | Endpoint::OidcToken => {
                method == Method::POST
            }
            // OpenID Connect Core §5.3.1: the UserInfo endpoint takes GET and POST.
            Endpoint::OidcUserinfo => method == Method::GET || method == Method::POST,
            _ => method == Method::GET,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What tests control: users, outcomes, faults, tampering, OIDC settings
// ---------------------------------------------------------------------------------------------

/// The Google account "signed in" at the Google stand-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleUser {
    pub sub: String,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
    pub picture: String,
    /// The Workspace domain (`hd` claim); `None` for a consumer account.
    pub hd: Option<String>,
}

impl GoogleUser {
    pub fn sample() -> GoogleUser {
        GoogleUser {
            sub: "109876543210987654321".into(),
            email: "ada@example.com".into(),
            email_verified: true,
            name: "Ada Lovelace".into(),
            picture: "https://lh3.googleusercontent.com/a/ada=s96-c".into(),
            hd: None,
        }
    }
}

/// The GitHub account "signed in" at the GitHub stand-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubUser {
    pub id: u64,
    pub login: String,
    pub name: Option<String>,
    /// The profile's public email; `None` when the user keeps it private.
    pub public_email: Option<String>,
    /// `(email, primary, verified)`, as `GET /user/emails` lists them.
    pub emails: Vec<(String, bool, bool)>,
}

impl GithubUser {
    /// The user of spec §1.8's observed example: no name, private email.
    pub fn sample() -> GithubUser {
        GithubUser {
            id: 42,
            login: "octo".into(),
            name: None,
            public_email: None,
            emails: vec![("o@x.com".into(), true, true)],
        }
    }
}

/// The end user "signed in" at the generic OIDC stand-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcUser {
    pub sub: String,
    /// `None`: the provider knows no email for this user.
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: String,
    pub picture: Option<String>,
}

impl OidcUser {
    pub fn sample() -> OidcUser {
        OidcUser {
            sub: "248289761001".into(),
            email: Some("jane@example.org".into()),
            email_verified: true,
            name: "Jane Doe".into(),
            picture: None,
        }
    }
}

/// What the "user" does on the consent screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Approve,
    /// `error=access_denied`, as when the user clicks Cancel.
    Deny,
    /// Any other error the provider may send back (`temporarily_unavailable`, …).
    Error {
        error: String,
        description: Option<String>,
    },
}

/// A misbehaviour of one endpoint, until `clear_faults`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Wait this long, then answer normally.
    Slow(Duration),
    /// Answer this status and body instead (JSON content type when the body parses as JSON).
    Status(u16, String),
    /// 200 labelled `application/json` whose body is an HTML error page.
    Garbage,
    /// 200 `{}`.
    Empty,
    /// 302 to this URL.
    Redirect(String),
}

/// A defect in the ID tokens a token endpoint issues (or `Idp::mint` signs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdTokenTamper {
    /// `aud` is another client.
    WrongAud,
    /// `iss` is another issuer.
    WrongIss,
    /// Issued two hours ago, expired one hour ago (well past any clock tolerance).
    Expired,
    /// `{"alg":"none"}` and an empty signature.
    AlgNone,
    /// Signed by a key not in the JWKS, under the `kid` of a key that is.
    BadSignature,
    /// Signed by a key not in the JWKS, under that key's own `kid`.
    UnknownKid,
    /// A `nonce` other than the one the authorize request sent.
    WrongNonce,
    /// No `nonce` even though the authorize request sent one.
    NoNonce,
}

/// How a client authenticated at a token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    Post,
    /// `Authorization: Basic` (`client_secret_basic`).
    Basic,
}

/// The `iss` parameter the OIDC authorize endpoint adds to its redirect (RFC 9207).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssParam {
    Issuer,
    Omit,
    Value(String),
}

/// Settings of the generic OIDC stand-in; change them with `idp.oidc_config(|c| …)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// RS256 or ES256: the ID-token algorithm, and the one discovery advertises.
    pub alg: Algorithm,
    /// The one client authentication method the token endpoint accepts; `None` accepts both.
    pub client_auth: Option<ClientAuth>,
    pub iss_param: IssParam,
    /// Whether `email`/`email_verified` go into the ID token, or only into userinfo.
    pub email_in_id_token: bool,
    /// Whether authorize refuses requests without a PKCE challenge.
    pub require_pkce: bool,
}

impl Default for OidcConfig {
    fn default() -> OidcConfig {
        OidcConfig {
            alg: Algorithm::RS256,
            client_auth: None,
            iss_param: IssParam::Issuer,
            email_in_id_token: true,
            require_pkce: false,
        }
    }
}

/// One request as the stand-in received it. Secrets appear in clear: these are test secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// `None` for a path no stand-in serves.
    pub endpoint: Option<Endpoint>,
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    /// The body's parameters when it is `application/x-www-form-urlencoded`.
    pub form: BTreeMap<String, String>,
    pub authorization: Authorization,
    pub user_agent: Option<String>,
    pub accept: Option<String>,
    pub content_type: Option<String>,
}

impl LoggedRequest {
    /// How the client authenticated, for the token endpoints.
    pub fn client_auth(&self) -> Option<ClientAuth> {
        match self.authorization {
            Authorization::Basic { .. } => Some(ClientAuth::Basic),
            _ if self.form.contains_key("client_secret") => Some(ClientAuth::Post),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    None,
    /// Decoded, with the form-encoding of RFC 6749 §2.3.1 undone.
    Basic {
        user: String,
        password: String,
    },
    Bearer(String),
    /// Anything else, verbatim (GitHub's `token …` scheme lands here).
    Other(String),
}

// ---------------------------------------------------------------------------------------------
// Signing keys
// ---------------------------------------------------------------------------------------------

struct Key {
    kid: String,
    key: SigningKey,
}

impl Key {
    fn generate(alg: Algorithm) -> Key {
        let key = SigningKey::generate(alg).expect("key generation");
        // A stable id derived from the public key: 40 hex digits, like Google's key ids.
        let digest = Sha256::digest(key.public_jwk().to_string().as_bytes());
        Key {
            kid: hex::encode(&digest[..20]),
            key,
        }
    }

    fn alg(&self) -> &'static str {
        self.key.algorithm().as_str()
    }

    fn jwk(&self) -> Value {
        let mut jwk = self.key.public_jwk();
        jwk["kid"] = self.kid.clone().into();
        jwk["alg"] = self.alg().into();
        jwk["use"] = "sig".into();
        jwk
    }

    /// A compact JWS with the header `{"alg","kid","typ":"JWT"}`, as Google and most IdPs send.
    fn sign(&self, kid: &str, claims: &Value) -> String {
        let header = json!({ "alg": self.alg(), "kid": kid, "typ": "JWT" });
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", B64.encode(signature))
    }
}

struct Keys {
    /// Google publishes two keys at a time; the previous one comes first in the JWKS, so a
    /// client that takes the first key instead of matching `kid` fails.
    google_previous: Key,
    google: Key,
    oidc_rsa: Key,
    oidc_ec: Key,
    /// Keys nobody publishes, for `BadSignature` and `UnknownKid`.
    stranger_rsa: Key,
    stranger_ec: Key,
}

/// Made once per test process: a 2048-bit RSA key costs a noticeable fraction of a second.
static KEYS: LazyLock<Keys> = LazyLock::new(|| {
    std::thread::scope(|s| {
        let rsa = || s.spawn(|| Key::generate(Algorithm::RS256));
        let (a, b, c, d) = (rsa(), rsa(), rsa(), rsa());
        Keys {
            google_previous: a.join().unwrap(),
            google: b.join().unwrap(),
            oidc_rsa: c.join().unwrap(),
            stranger_rsa: d.join().unwrap(),
            oidc_ec: Key::generate(Algorithm::ES256),
            stranger_ec: Key::generate(Algorithm::ES256),
        }
    })
});

impl Keys {
    /// The published key that signs `provider`'s ID tokens, and the unpublished one like it.
    fn signer(&self, provider: Provider, oidc_alg: Algorithm) -> (&Key, &Key) {
        match (provider, oidc_alg) {
            (Provider::Oidc, Algorithm::ES256) => (&self.oidc_ec, &self.stranger_ec),
            (Provider::Oidc, _) => (&self.oidc_rsa, &self.stranger_rsa),
            _ => (&self.google, &self.stranger_rsa),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The server and its state
// ---------------------------------------------------------------------------------------------

/// Who approved a grant, as the provider knew them then.
#[derive(Debug, Clone)]
enum Who {
    Google(GoogleUser),
    Github(GithubUser),
    Oidc(OidcUser),
}

/// What the user approved at authorize; codes and tokens carry it.
#[derive(Debug, Clone)]
struct Grant {
    provider: Provider,
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    nonce: Option<String>,
    /// Whether the code exchange also returns a refresh token.
    offline: bool,
    who: Who,
}

impl Grant {
    fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

struct Code {
    grant: Grant,
    challenge: Option<String>,
    expires: Instant,
    redeemed: bool,
    /// Tokens issued for this code, revoked if the code is presented again (RFC 6749 §4.1.2).
    issued: Vec<String>,
}

#[derive(Clone)]
struct Issued {
    grant: Grant,
    /// `None`: never expires (GitHub OAuth app tokens).
    expires: Option<Instant>,
}

struct IdpState {
    google_user: GoogleUser,
    github_user: GithubUser,
    oidc_user: OidcUser,
    oidc: OidcConfig,
    outcomes: HashMap<Provider, Outcome>,
    expires_in: HashMap<Provider, u64>,
    redirect_uris: HashMap<Provider, Vec<String>>,
    faults: HashMap<Endpoint, Fault>,
    tampers: HashMap<Provider, IdTokenTamper>,
    codes: HashMap<String, Code>,
    access_tokens: HashMap<String, Issued>,
    refresh_tokens: HashMap<String, Issued>,
    log: Vec<LoggedRequest>,
}

impl IdpState {
    fn new() -> IdpState {
        IdpState {
            google_user: GoogleUser::sample(),
            github_user: GithubUser::sample(),
            oidc_user: OidcUser::sample(),
            oidc: OidcConfig::default(),
            outcomes: HashMap::new(),
            // Google says 3599; GitHub OAuth app tokens do not expire, so GitHub has none.
            expires_in: HashMap::from([(Provider::Google, 3599), (Provider::Oidc, 3600)]),
            redirect_uris: HashMap::new(),
            faults: HashMap::new(),
            tampers: HashMap::new(),
            codes: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            log: Vec::new(),
        }
    }

    fn live_grant(&self, provider: Provider, access_token: &str) -> Option<Grant> {
        self.access_tokens
            .get(access_token)
            .filter(|t| t.grant.provider == provider)
            .filter(|t| t.expires.is_none_or(|at| Instant::now() < at))
            .map(|t| t.grant.clone())
    }
}

struct Shared {
    base: String,
    keys: &'static Keys,
    state: Mutex<IdpState>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, IdpState> {
        // A panicking handler must not take every later request down with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn oidc_issuer(&self) -> String {
        format!("{}/oidc", self.base)
    }
}

/// The running stand-in. Dropping it stops the server.
pub struct Idp {
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Idp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Idp {
    pub async fn start() -> Idp {
        let keys: &'static Keys = tokio::task::spawn_blocking(|| LazyLock::force(&KEYS))
            .await
            .expect("key generation");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the IdP");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            base,
            keys,
            state: Mutex::new(IdpState::new()),
        });
        let app = axum::Router::new()
            .fallback(dispatch)
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Idp { shared, server }
    }

    // --- URLs -----------------------------------------------------------------------------

    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> &str {
        &self.shared.base
    }

    pub fn url(&self, endpoint: Endpoint) -> String {
        format!("{}{}", self.shared.base, endpoint.path())
    }

    pub fn google_authorize_url(&self) -> String {
        self.url(Endpoint::GoogleAuthorize)
    }
    pub fn google_token_url(&self) -> String {
        self.url(Endpoint::GoogleToken)
    }
    pub fn google_certs_url(&self) -> String {
        self.url(Endpoint::GoogleCerts)
    }
    pub fn google_userinfo_url(&self) -> String {
        self.url(Endpoint::GoogleUserinfo)
    }
    pub fn github_authorize_url(&self) -> String {
        self.url(Endpoint::GithubAuthorize)
    }
    pub fn github_token_url(&self) -> String {
        self.url(Endpoint::GithubToken)
    }
    /// Stands for `https://api.github.com`: `/user` and `/user/emails` are under it.
    pub fn github_api_url(&self) -> String {
        format!("{}/github/api", self.shared.base)
    }
    pub fn github_user_url(&self) -> String {
        self.url(Endpoint::GithubUser)
    }
    pub fn github_emails_url(&self) -> String {
        self.url(Endpoint::GithubEmails)
    }
    /// `{base}/oidc`: the issuer, and the base of discovery.
    pub fn oidc_issuer(&self) -> String {
        self.shared.oidc_issuer()
    }
    pub fn oidc_discovery_url(&self) -> String {
        self.url(Endpoint::OidcDiscovery)
    }
    pub fn oidc_authorize_url(&self) -> String {
        self.url(Endpoint::OidcAuthorize)
    }
    pub fn oidc_token_url(&self) -> String {
        self.url(Endpoint::OidcToken)
    }
    pub fn oidc_userinfo_url(&self) -> String {
        self.url(Endpoint::OidcUserinfo)
    }
    pub fn oidc_jwks_url(&self) -> String {
        self.url(Endpoint::OidcJwks)
    }
    pub fn oidc_end_session_url(&self) -> String {
        self.url(Endpoint::OidcEndSession)
    }

    // --- Who is signed in, and what they do ------------------------------------------------

    pub fn google_user(&self, user: GoogleUser) {
        self.shared.state().google_user = user;
    }
    pub fn github_user(&self, user: GithubUser) {
        self.shared.state().github_user = user;
    }
    pub fn oidc_user(&self, user: OidcUser) {
        self.shared.state().oidc_user = user;
    }

    /// What the next authorize requests at `provider` answer (default `Approve`).
    pub fn outcome(&self, provider: Provider, outcome: Outcome) {
        self.shared.state().outcomes.insert(provider, outcome);
    }

    /// The `expires_in` of access tokens issued from now on, enforced by the userinfo and
    /// GitHub API endpoints. Setting it for GitHub makes its tokens expire, as for GitHub Apps.
    pub fn expires_in(&self, provider: Provider, seconds: u64) {
        self.shared.state().expires_in.insert(provider, seconds);
    }

    /// Registers a redirect URI. Until one is registered, a provider accepts any absolute
    /// http(s) URI without a fragment; after, only exact matches, as real providers do.
    pub fn register_redirect_uri(&self, provider: Provider, uri: &str) {
        let mut st = self.shared.state();
        st.redirect_uris
            .entry(provider)
            .or_default()
            .push(uri.to_owned());
    }

    pub fn oidc_config(&self, change: impl FnOnce(&mut OidcConfig)) {
        change(&mut self.shared.state().oidc);
    }

    // --- Faults ----------------------------------------------------------------------------

    pub fn fault(&self, endpoint: Endpoint, fault: Fault) {
        self.shared.state().faults.insert(endpoint, fault);
    }

    /// Makes `provider`'s token endpoint issue ID tokens with this defect.
    pub fn tamper(&self, provider: Provider, tamper: IdTokenTamper) {
        assert_ne!(provider, Provider::Github, "GitHub issues no ID tokens");
        self.shared.state().tampers.insert(provider, tamper);
    }

    /// Removes every fault and ID-token tamper.
    pub fn clear_faults(&self) {
        let mut st = self.shared.state();
        st.faults.clear();
        st.tampers.clear();
    }

    // --- Observing -------------------------------------------------------------------------

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.state().log.clone()
    }

    pub fn requests_to(&self, endpoint: Endpoint) -> Vec<LoggedRequest> {
        let st = self.shared.state();
        st.log
            .iter()
            .filter(|r| r.endpoint == Some(endpoint))
            .cloned()
            .collect()
    }

    /// Whether `access_token` was issued here and has neither expired nor been revoked.
    pub fn token_is_live(&self, access_token: &str) -> bool {
        let st = self.shared.state();
        [Provider::Google, Provider::Github, Provider::Oidc]
            .into_iter()
            .any(|p| st.live_grant(p, access_token).is_some())
    }

    // --- The browser's part ----------------------------------------------------------------

    /// Does what the browser does with an authorize URL: GETs it without following the
    /// redirect, and returns the `Location` back to the relying party (its callback URL with
    /// `code` and `state`, or with `error`). Panics if the answer is not a redirect.
    pub async fn follow_authorize(&self, authorize_url: &str) -> String {
        let client = crate::helpers::http_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        let response = client
            .get(authorize_url)
            .send()
            .await
            .expect("authorize request");
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        match location {
            Some(location) if status.is_redirection() => location,
            _ => panic!(
                "authorize answered {status}, not a redirect: {}",
                response.text().await.unwrap_or_default()
            ),
        }
    }

    // --- ID tokens for the ID-token sign-in path -------------------------------------------

    /// The claims of a Google ID token for `user` and audience `aud`, as the token endpoint
    /// would issue for the `openid email profile` scopes, with no nonce.
    pub fn google_claims(&self, user: &GoogleUser, aud: &str) -> Map<String, Value> {
        google_claims(user, aud, true, true)
    }

    /// A Google ID token signed with the published key, after `tweak` edited its claims.
    pub fn google_id_token(
        &self,
        user: &GoogleUser,
        aud: &str,
        tweak: impl FnOnce(&mut Map<String, Value>),
    ) -> String {
        let mut claims = self.google_claims(user, aud);
        tweak(&mut claims);
        self.mint(Provider::Google, claims, None)
    }

    pub fn oidc_claims(&self, user: &OidcUser, aud: &str) -> Map<String, Value> {
        oidc_claims(&self.oidc_issuer(), user, aud, true, true)
    }

    pub fn oidc_id_token(
        &self,
        user: &OidcUser,
        aud: &str,
        tweak: impl FnOnce(&mut Map<String, Value>),
    ) -> String {
        let mut claims = self.oidc_claims(user, aud);
        tweak(&mut claims);
        self.mint(Provider::Oidc, claims, None)
    }

    /// Signs `claims` as `provider` signs ID tokens (Google: RS256; OIDC: the configured
    /// algorithm), with `tamper` applied.
    pub fn mint(
        &self,
        provider: Provider,
        claims: Map<String, Value>,
        tamper: Option<IdTokenTamper>,
    ) -> String {
        let alg = self.shared.state().oidc.alg;
        sign_id_token(self.shared.keys, provider, alg, claims, tamper)
    }

    /// The JWKS `GET /google/certs` serves.
    pub fn google_jwks(&self) -> Value {
        google_jwks(self.shared.keys)
    }

    pub fn oidc_jwks(&self) -> Value {
        oidc_jwks(self.shared.keys)
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers for tests that talk to the stand-ins directly
// ---------------------------------------------------------------------------------------------

/// A PKCE pair: a 64-character verifier and its S256 challenge.
pub fn pkce_pair() -> (String, String) {
    let verifier = random_b64(48);
    let challenge = s256(&verifier);
    (verifier, challenge)
}

/// The query parameters of a URL (a callback Location, an authorize URL).
pub fn query_of(url: &str) -> BTreeMap<String, String> {
    url::Url::parse(url)
        .expect("absolute URL")
        .query_pairs()
        .into_owned()
        .collect()
}

/// The decoded header (`part` 0) or claims (`part` 1) of a JWT.
pub fn jwt_part(token: &str, part: usize) -> Value {
    let segment = token.split('.').nth(part).expect("JWT segment");
    serde_json::from_slice(&B64.decode(segment).expect("base64url")).expect("JSON")
}

/// Verifies a JWS against a JWKS as a careful client does: by `kid`, with the key's own
/// algorithm, RS256 or ES256 only (so `alg: none` never verifies).
pub fn verify_jws(token: &str, jwks: &Value) -> bool {
    let header = jwt_part(token, 0);
    let Some(key) = jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|k| header["kid"].is_string() && k["kid"] == header["kid"])
    else {
        return false;
    };
    if key.get("alg").is_some_and(|alg| *alg != header["alg"]) {
        return false;
    }
    let Some((input, signature)) = token.rsplit_once('.') else {
        return false;
    };
    let Ok(signature) = B64.decode(signature) else {
        return false;
    };
    let field = |name: &str| {
        key[name]
            .as_str()
            .and_then(|s| B64.decode(s).ok())
            .unwrap_or_default()
    };
    match header["alg"].as_str() {
        Some("RS256") => {
            use rsa::signature::Verifier;
            let Ok(public) = rsa::RsaPublicKey::new(
                rsa::BigUint::from_bytes_be(&field("n")),
                rsa::BigUint::from_bytes_be(&field("e")),
            ) else {
                return false;
            };
            let Ok(signature) = rsa::pkcs1v15::Signature::try_from(signature.as_slice()) else {
                return false;
            };
            rsa::pkcs1v15::VerifyingKey::<sha2_010::Sha256>::new(public)
                .verify(input.as_bytes(), &signature)
                .is_ok()
        }
        Some("ES256") => {
            use p256::ecdsa::signature::Verifier;
            let (x, y) = (field("x"), field("y"));
            if x.len() != 32 || y.len() != 32 {
                return false;
            }
            let point =
                p256::EncodedPoint::from_affine_coordinates(x[..].into(), y[..].into(), false);
            let (Ok(key), Ok(signature)) = (
                p256::ecdsa::VerifyingKey::from_encoded_point(&point),
                p256::ecdsa::Signature::from_slice(&signature),
            ) else {
                return false;
            };
            key.verify(input.as_bytes(), &signature).is_ok()
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Requests: reading, logging, fault injection, routing
// ---------------------------------------------------------------------------------------------

/// A request with its body read and its parameters parsed. Parameters stay a list, so a
/// repeated one can be refused (RFC 6749 §3.1).
struct Incoming {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    form: Vec<(String, String)>,
    headers: HeaderMap,
}

impl Incoming {
    async fn read(request: axum::extract::Request) -> Result<Incoming, Response> {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, 64 * 1024)
            .await
            .map_err(|_| text(413, "body too large"))?;
        let query = parts
            .uri
            .query()
            .map(|q| pairs(q.as_bytes()))
            .unwrap_or_default();
        let mut incoming = Incoming {
            method: parts.method,
            path: parts.uri.path().to_owned(),
            query,
            form: Vec::new(),
            headers: parts.headers,
        };
        if incoming.is_form() {
            incoming.form = pairs(&body);
        }
        Ok(incoming)
    }

    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn is_form(&self) -> bool {
        self.header(header::CONTENT_TYPE)
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
    }

    /// A query parameter; an empty one counts as absent (RFC 6749 §3.1).
    fn query(&self, name: &str) -> Option<&str> {
        lookup(&self.query, name)
    }

    fn form(&self, name: &str) -> Option<&str> {
        lookup(&self.form, name)
    }

    /// The first parameter given more than once, in the query or the body.
    fn repeated(&self) -> Option<&str> {
        [&self.query, &self.form].into_iter().find_map(|list| {
            list.iter()
                .enumerate()
                .find(|(i, (k, _))| list[..*i].iter().any(|(seen, _)| seen == k))
                .map(|(_, (k, _))| k.as_str())
        })
    }

    fn authorization(&self) -> Authorization {
        let Some(raw) = self.header(header::AUTHORIZATION) else {
            return Authorization::None;
        };
        let (scheme, rest) = raw.split_once(' ').unwrap_or((raw, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = STANDARD
                .decode(rest)
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            if let Some((user, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) {
                return Authorization::Basic {
                    user: form_decode(user),
                    password: form_decode(password),
                };
            }
        } else if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
            return Authorization::Bearer(rest.to_owned());
        }
        Authorization::Other(raw.to_owned())
    }

    fn record(&self, endpoint: Option<Endpoint>) -> LoggedRequest {
        let map = |list: &[(String, String)]| list.iter().cloned().collect();
        LoggedRequest {
            endpoint,
            method: self.method.to_string(),
            path: self.path.clone(),
            query: map(&self.query),
            form: map(&self.form),
            authorization: self.authorization(),
            user_agent: self.header(header::USER_AGENT).map(str::to_owned),
            accept: self.header(header::ACCEPT).map(str::to_owned),
            content_type: self.header(header::CONTENT_TYPE).map(str::to_owned),
        }
    }
}

fn pairs(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

fn lookup<'a>(list: &'a [(String, String)], name: &str) -> Option<&'a str> {
    list.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Undoes `application/x-www-form-urlencoded` on one value (RFC 6749 §2.3.1 for Basic).
fn form_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Every request lands here: it is logged, then faulted or routed.
async fn dispatch(State(shared): State<Arc<Shared>>, request: axum::extract::Request) -> Response {
    let incoming = match Incoming::read(request).await {
        Ok(incoming) => incoming,
        Err(response) => return response,
    };
    let endpoint = Endpoint::from_path(&incoming.path);
    let fault = {
        let mut st = shared.state();
        st.log.push(incoming.record(endpoint));
        endpoint.and_then(|e| st.faults.get(&e).cloned())
    };
    match fault {
        Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
        Some(fault) => return fault_response(fault),
        None => {}
    }
    let Some(endpoint) = endpoint else {
        return text(404, "Not Found");
    };
    if !endpoint.allows(&incoming.method) {
        return text(405, "Method Not Allowed");
    }
    let shared = &*shared;
    match endpoint {
        Endpoint::GoogleAuthorize => authorize(shared, &incoming, Provider::Google),
        Endpoint::GithubAuthorize => authorize(shared, &incoming, Provider::Github),
        Endpoint::OidcAuthorize => authorize(shared, &incoming, Provider::Oidc),
        Endpoint::GoogleToken => token(shared, &incoming, Provider::Google),
        Endpoint::GithubToken => token(shared, &incoming, Provider::Github),
        Endpoint::OidcToken => token(shared, &incoming, Provider::Oidc),
        Endpoint::GoogleCerts => json_response(200, &google_jwks(shared.keys)),
        Endpoint::OidcJwks => json_response(200, &oidc_jwks(shared.keys)),
        Endpoint::GoogleUserinfo => userinfo(shared, &incoming, Provider::Google),
        Endpoint::OidcUserinfo => userinfo(shared, &incoming, Provider::Oidc),
        Endpoint::GithubUser => github_api(shared, &incoming, false),
        Endpoint::GithubEmails => github_api(shared, &incoming, true),
        Endpoint::OidcDiscovery => json_response(200, &discovery(shared)),
        Endpoint::OidcEndSession => respond(
            200,
            "text/html; charset=utf-8",
            "<!doctype html><p>You are signed out.</p>",
        ),
    }
}

fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::Slow(_) => unreachable!("a slow endpoint answers normally"),
        Fault::Status(status, body) => {
            let content_type = if serde_json::from_str::<Value>(&body).is_ok() {
                "application/json"
            } else {
                "text/plain; charset=utf-8"
            };
            respond(status, content_type, body)
        }
        Fault::Garbage => respond(
            200,
            "application/json",
            "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>",
        ),
        Fault::Empty => respond(200, "application/json", "{}"),
        Fault::Redirect(to) => found(&to),
    }
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

fn respond(status: u16, content_type: &str, body: impl Into<Body>) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .expect("response")
}

fn text(status: u16, body: &str) -> Response {
    respond(status, "text/plain; charset=utf-8", body.to_owned())
}

/// JSON not to be cached, as RFC 6749 §5.1 asks of token responses.
fn json_response(status: u16, body: &Value) -> Response {
    let mut response = respond(status, "application/json; charset=utf-8", body.to_string());
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, "no-store".parse().unwrap());
    headers.insert(header::PRAGMA, "no-cache".parse().unwrap());
    response
}

fn found(location: &str) -> Response {
    Response::builder()
        .status(302)
        .header(header::LOCATION, location)
        .body(Body::empty())
        .expect("redirect")
}

/// The error page a provider shows the user when it cannot send the error to the client.
fn error_page(status: u16, error: &str, description: &str) -> Response {
    respond(
        status,
        "text/html; charset=utf-8",
        format!("<!doctype html><h1>Error {status}: {error}</h1><p>{description}</p>"),
    )
}

/// `redirect_uri` with `params` added to its query.
fn with_params(redirect_uri: &str, params: &[(&str, String)]) -> String {
    let mut url = url::Url::parse(redirect_uri).expect("checked redirect_uri");
    url.query_pairs_mut()
        .extend_pairs(params.iter().map(|(k, v)| (k, v.as_str())));
    url.to_string()
}

// ---------------------------------------------------------------------------------------------
// Tokens, codes and hashes
// ---------------------------------------------------------------------------------------------

fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::fill(&mut buf[..]);
    B64.encode(buf)
}

fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut buf = vec![0u8; len];
    rand::fill(&mut buf[..]);
    buf.iter()
        .map(|b| char::from(alphabet[usize::from(*b) % alphabet.len()]))
        .collect()
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Codes and tokens in each provider's own shape. Google's contain `/`, so a client that does
/// not encode them in the token request fails, as it would against Google.
fn new_code(provider: Provider) -> String {
    match provider {
        Provider::Google => format!("4/0A{}", random_b64(48)),
        Provider::Github => random_from(b"0123456789abcdef", 20),
        Provider::Oidc => random_b64(32),
    }
}

fn new_access_token(provider: Provider) -> String {
    match provider {
        Provider::Google => format!("ya29.{}", random_b64(96)),
        Provider::Github => format!("gho_{}", random_from(BASE62, 36)),
        Provider::Oidc => random_b64(32),
    }
}

fn new_refresh_token(provider: Provider) -> String {
    match provider {
        Provider::Google => format!("1//0{}", random_b64(72)),
        Provider::Github => format!("ghr_{}", random_from(BASE62, 76)),
        Provider::Oidc => random_b64(48),
    }
}

fn s256(verifier: &str) -> String {
    B64.encode(Sha256::digest(verifier.as_bytes()))
}

/// RFC 7636 §4.1: 43 to 128 unreserved characters.
fn is_code_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// An S256 challenge is a base64url SHA-256 digest without padding: 43 characters.
fn is_s256_challenge(c: &str) -> bool {
    c.len() == 43 && B64.decode(c).is_ok_and(|d| d.len() == 32)
}

/// `at_hash` (OpenID Connect Core §3.1.3.6): the left half of SHA-256 of the access token.
fn at_hash(access_token: &str) -> String {
    B64.encode(&Sha256::digest(access_token.as_bytes())[..16])
}

fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

// ---------------------------------------------------------------------------------------------
// ID tokens and JWKS
// ---------------------------------------------------------------------------------------------

fn google_claims(user: &GoogleUser, aud: &str, email: bool, profile: bool) -> Map<String, Value> {
    let now = now_s();
    let mut c = Map::new();
    c.insert("iss".into(), GOOGLE_ISSUER.into());
    c.insert("azp".into(), aud.into());
    c.insert("aud".into(), aud.into());
    c.insert("sub".into(), user.sub.clone().into());
    if let Some(hd) = &user.hd {
        c.insert("hd".into(), hd.clone().into());
    }
    // Google puts only what the granted scopes cover into the token.
    if email {
        c.insert("email".into(), user.email.clone().into());
        c.insert("email_verified".into(), user.email_verified.into());
    }
    if profile {
        c.insert("name".into(), user.name.clone().into());
        c.insert("picture".into(), user.picture.clone().into());
        let (given, family) = user.name.split_once(' ').unwrap_or((&user.name, ""));
        c.insert("given_name".into(), given.into());
        if !family.is_empty() {
            c.insert("family_name".into(), family.into());
        }
    }
    c.insert("iat".into(), now.into());
    c.insert("exp".into(), (now + ID_TOKEN_LIFETIME_S).into());
    c
}

/// Standard claims by scope, as OpenID Connect Core §5.4 assigns them.
fn oidc_claims(
    issuer: &str,
    user: &OidcUser,
    aud: &str,
    email: bool,
    profile: bool,
) -> Map<String, Value> {
    let now = now_s();
    let mut c = Map::new();
    c.insert("iss".into(), issuer.into());
    c.insert("sub".into(), user.sub.clone().into());
    c.insert("aud".into(), aud.into());
    c.insert("azp".into(), aud.into());
    c.insert("iat".into(), now.into());
    c.insert("auth_time".into(), now.into());
    c.insert("exp".into(), (now + ID_TOKEN_LIFETIME_S).into());
    if email && let Some(address) = &user.email {
        c.insert("email".into(), address.clone().into());
        c.insert("email_verified".into(), user.email_verified.into());
    }
    if profile {
        c.insert("name".into(), user.name.clone().into());
        if let Some(picture) = &user.picture {
            c.insert("picture".into(), picture.clone().into());
        }
    }
    c
}

fn sign_id_token(
    keys: &Keys,
    provider: Provider,
    oidc_alg: Algorithm,
    mut claims: Map<String, Value>,
    tamper: Option<IdTokenTamper>,
) -> String {
    let (key, stranger) = keys.signer(provider, oidc_alg);
    let now = now_s();
    match tamper {
        None => {}
        Some(IdTokenTamper::WrongAud) => {
            claims.insert("aud".into(), "someone-else.example".into());
        }
        Some(IdTokenTamper::WrongIss) => {
            claims.insert("iss".into(), "https://issuer.invalid".into());
        }
        Some(IdTokenTamper::Expired) => {
            claims.insert("iat".into(), (now - 2 * ID_TOKEN_LIFETIME_S).into());
            claims.insert("exp".into(), (now - ID_TOKEN_LIFETIME_S).into());
        }
        Some(IdTokenTamper::WrongNonce) => {
            claims.insert("nonce".into(), "not-the-nonce-you-sent".into());
        }
        Some(IdTokenTamper::NoNonce) => {
            claims.remove("nonce");
        }
        Some(IdTokenTamper::AlgNone) => {
            let header = json!({ "alg": "none", "typ": "JWT" });
            return format!(
                "{}.{}.",
                B64.encode(header.to_string()),
                B64.encode(Value::Object(claims).to_string())
            );
        }
        Some(IdTokenTamper::BadSignature) => {
            return stranger.sign(&key.kid, &Value::Object(claims));
        }
        Some(IdTokenTamper::UnknownKid) => {
            return stranger.sign(&stranger.kid, &Value::Object(claims));
        }
    }
    key.sign(&key.kid, &Value::Object(claims))
}

fn google_jwks(keys: &Keys) -> Value {
    json!({ "keys": [keys.google_previous.jwk(), keys.google.jwk()] })
}

fn oidc_jwks(keys: &Keys) -> Value {
    json!({ "keys": [keys.oidc_rsa.jwk(), keys.oidc_ec.jwk()] })
}

/// OpenID Connect Discovery 1.0 §3.
fn discovery(shared: &Shared) -> Value {
    let issuer = shared.oidc_issuer();
    let st = shared.state();
    let auth_methods = match st.oidc.client_auth {
        Some(ClientAuth::Post) => json!(["client_secret_post"]),
        Some(ClientAuth::Basic) => json!(["client_secret_basic"]),
        None => json!(["client_secret_basic", "client_secret_post"]),
    };
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "end_session_endpoint": format!("{issuer}/session/end"),
        "scopes_supported": ["openid", "email", "profile", "offline_access"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [st.oidc.alg.as_str()],
        "token_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "email", "email_verified", "name", "picture"],
        "authorization_response_iss_parameter_supported": true,
    })
}

// ---------------------------------------------------------------------------------------------
// Authorize (all three providers)
// ---------------------------------------------------------------------------------------------

/// Decides an authorize request at once. Errors about the client or the redirect URI get an
/// error page (redirecting to an unverified URI would make the provider an open redirector).
/// Google and GitHub show pages for the other request errors too; the OIDC provider redirects
/// them back (RFC 6749 §4.1.2.1).
fn authorize(shared: &Shared, req: &Incoming, provider: Provider) -> Response {
    let mut st = shared.state();
    if let Some(name) = req.repeated() {
        return error_page(400, "invalid_request", &format!("{name} is repeated"));
    }
    let (client_id, _) = provider.client();
    if req.query("client_id") != Some(client_id) {
        // GitHub answers an unknown client_id with its 404 page.
        let status = if provider == Provider::Github {
            404
        } else {
            400
        };
        return error_page(status, "invalid_client", "The OAuth client was not found.");
    }
    let Some(redirect_uri) = req.query("redirect_uri") else {
        return error_page(
            400,
            "invalid_request",
            "Missing required parameter: redirect_uri",
        );
    };
    let registered = st.redirect_uris.get(&provider).cloned().unwrap_or_default();
    if let Err(why) = check_redirect_uri(&registered, redirect_uri) {
        return error_page(400, "redirect_uri_mismatch", &why);
    }

    let issuer = shared.oidc_issuer();
    let iss_param = st.oidc.iss_param.clone();
    // Sends the user back to the client with `params`, the state, and (OIDC) the issuer.
    let back = |mut params: Vec<(&str, String)>| -> Response {
        if let Some(state) = req.query("state") {
            params.push(("state", state.to_owned()));
        }
        if provider == Provider::Oidc {
            match &iss_param {
                IssParam::Issuer => params.push(("iss", issuer.clone())),
                IssParam::Omit => {}
                IssParam::Value(v) => params.push(("iss", v.clone())),
            }
        }
        found(&with_params(redirect_uri, &params))
    };
    let refuse = |error: &str, description: &str| -> Response {
        match provider {
            Provider::Oidc => back(vec![
                ("error", error.to_owned()),
                ("error_description", description.to_owned()),
            ]),
            _ => error_page(400, error, description),
        }
    };

    // GitHub takes no response_type; the others know only the code flow.
    if provider != Provider::Github && req.query("response_type") != Some("code") {
        return refuse("unsupported_response_type", "response_type must be code");
    }
    let scopes = parse_scopes(provider, req.query("scope"));
    if provider == Provider::Google && scopes.is_empty() {
        return refuse("invalid_request", "Missing required parameter: scope");
    }
    if provider == Provider::Oidc && !scopes.iter().any(|s| s == "openid") {
        return refuse("invalid_scope", "the openid scope is required");
    }
    let pkce_required = match provider {
        Provider::Google => true,
        Provider::Github => false,
        Provider::Oidc => st.oidc.require_pkce,
    };
    // Only S256: plain (the RFC 7636 default when the method is missing) is refused.
    let challenge = match (
        req.query("code_challenge"),
        req.query("code_challenge_method"),
    ) {
        (None, _) if pkce_required => {
            return refuse(
                "invalid_request",
                "Missing required parameter: code_challenge",
            );
        }
        (None, _) => None,
        (Some(c), Some("S256")) if is_s256_challenge(c) => Some(c.to_owned()),
        (Some(_), Some("S256")) => {
            return refuse(
                "invalid_request",
                "code_challenge is not a base64url SHA-256 digest",
            );
        }
        (Some(_), method) => {
            return refuse(
                "invalid_request",
                &format!("code_challenge_method must be S256, not {method:?}"),
            );
        }
    };

    match st
        .outcomes
        .get(&provider)
        .cloned()
        .unwrap_or(Outcome::Approve)
    {
        Outcome::Deny => {
            let mut params = vec![("error", "access_denied".to_owned())];
            params.push((
                "error_description",
                match provider {
                    Provider::Github => "The user has denied your application access.".into(),
                    _ => "The user denied the request.".into(),
                },
            ));
            if provider == Provider::Github {
                params.push(("error_uri", "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied".into()));
            }
            back(params)
        }
        Outcome::Error { error, description } => {
            let mut params = vec![("error", error)];
            if let Some(description) = description {
                params.push(("error_description", description));
            }
            back(params)
        }
        Outcome::Approve => {
            let who = match provider {
                Provider::Google => Who::Google(st.google_user.clone()),
                Provider::Github => Who::Github(st.github_user.clone()),
                Provider::Oidc => Who::Oidc(st.oidc_user.clone()),
            };
            let grant = Grant {
                provider,
                client_id: client_id.to_owned(),
                redirect_uri: redirect_uri.to_owned(),
                scopes: scopes.clone(),
                nonce: req.query("nonce").map(str::to_owned),
                offline: match provider {
                    Provider::Google => req.query("access_type") == Some("offline"),
                    Provider::Github => false,
                    Provider::Oidc => true,
                },
                who,
            };
            let code = new_code(provider);
            st.codes.insert(
                code.clone(),
                Code {
                    grant,
                    challenge,
                    expires: Instant::now() + CODE_LIFETIME,
                    redeemed: false,
                    issued: Vec::new(),
                },
            );
            let mut params = vec![("code", code)];
            if provider == Provider::Google {
                // Google's callback carries these as well; a client must ignore them.
                params.push(("scope", scopes.join(" ")));
                params.push(("authuser", "0".into()));
                params.push(("prompt", "consent".into()));
            }
            back(params)
        }
    }
}

fn check_redirect_uri(registered: &[String], uri: &str) -> Result<(), String> {
    let url = url::Url::parse(uri).map_err(|e| format!("redirect_uri is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.fragment().is_some() {
        return Err("redirect_uri must be http(s) without a fragment".into());
    }
    if !registered.is_empty() && !registered.iter().any(|r| r == uri) {
        return Err(format!(
            "redirect_uri {uri} is not registered for this client"
        ));
    }
    Ok(())
}

/// Scopes as the provider records them. Google names `email` and `profile` by their URLs,
/// puts `openid` first and sorts the rest; GitHub splits on spaces and commas.
fn parse_scopes(provider: Provider, raw: Option<&str>) -> Vec<String> {
    let raw = raw.unwrap_or_default();
    match provider {
        Provider::Google => {
            let mut scopes: Vec<String> = raw
                .split_whitespace()
                .map(|s| match s {
                    "email" => GOOGLE_EMAIL_SCOPE.to_owned(),
                    "profile" => GOOGLE_PROFILE_SCOPE.to_owned(),
                    other => other.to_owned(),
                })
                .collect();
            scopes.sort_by_key(|s| (s.as_str() != "openid", s.clone()));
            scopes.dedup();
            scopes
        }
        Provider::Github => raw
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Provider::Oidc => raw.split_whitespace().map(str::to_owned).collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Token endpoint (all three providers)
// ---------------------------------------------------------------------------------------------

/// How a token endpoint answers. Google and OIDC follow RFC 6749 §5.1/§5.2 (JSON, 400/401 on
/// errors). GitHub answers errors with HTTP 200, and form-encodes unless the client sent
/// `Accept: application/json`.
struct TokenReply {
    provider: Provider,
    github_json: bool,
    basic_attempted: bool,
}

impl TokenReply {
    fn ok(&self, body: Value) -> Response {
        if self.provider == Provider::Github && !self.github_json {
            return form_response(&body);
        }
        json_response(200, &body)
    }

    fn error(&self, status: u16, error: &str, description: &str) -> Response {
        let mut body = json!({ "error": error, "error_description": description });
        if self.provider == Provider::Github {
            body["error_uri"] = format!("https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#{}", error.replace('_', "-")).into();
            return self.ok(body);
        }
        let mut response = json_response(status, &body);
        if status == 401 && self.basic_attempted {
            // RFC 6749 §5.2: a failed Basic authentication gets a challenge.
            let challenge = "Basic realm=\"token\"".parse().unwrap();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

fn form_response(body: &Value) -> Response {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in body.as_object().into_iter().flatten() {
        match v {
            Value::String(s) => out.append_pair(k, s),
            other => out.append_pair(k, &other.to_string()),
        };
    }
    respond(
        200,
        "application/x-www-form-urlencoded; charset=utf-8",
        out.finish(),
    )
}

fn token(shared: &Shared, req: &Incoming, provider: Provider) -> Response {
    let reply = TokenReply {
        provider,
        github_json: req
            .header(header::ACCEPT)
            .is_some_and(|a| a.contains("application/json")),
        basic_attempted: matches!(req.authorization(), Authorization::Basic { .. }),
    };
    if !req.is_form() {
        return reply.error(
            400,
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        );
    }
    if let Some(name) = req.repeated() {
        return reply.error(400, "invalid_request", &format!("{name} is repeated"));
    }
    if let Some(response) = refuse_client(shared, req, provider, &reply) {
        return response;
    }
    match (provider, req.form("grant_type")) {
        // GitHub's code exchange takes no grant_type.
        (_, Some("authorization_code")) | (Provider::Github, None) => {
            exchange_code(shared, req, provider, &reply)
        }
        (Provider::Google | Provider::Oidc, Some("refresh_token")) => {
            refresh(shared, req, provider, &reply)
        }
        (_, None) => reply.error(
            400,
            "invalid_request",
            "Missing required parameter: grant_type",
        ),
        (_, Some(other)) => reply.error(
            400,
            "unsupported_grant_type",
            &format!("Invalid grant_type: {other}"),
        ),
    }
}

/// Client authentication (RFC 6749 §2.3.1): the refusal, if any. Google accepts both methods,
/// GitHub only the form body, the OIDC provider what its settings say.
fn refuse_client(
    shared: &Shared,
    req: &Incoming,
    provider: Provider,
    reply: &TokenReply,
) -> Option<Response> {
    let bad_client = |description: &str| match provider {
        Provider::Github => reply.error(200, "incorrect_client_credentials", description),
        _ => reply.error(401, "invalid_client", description),
    };
    let (method, id, secret) = match (req.authorization(), req.form("client_secret")) {
        (Authorization::Basic { .. }, Some(_)) => {
            return Some(reply.error(
                400,
                "invalid_request",
                "the client used both client_secret_basic and client_secret_post",
            ));
        }
        (Authorization::Basic { user, password }, None) => {
            if req.form("client_id").is_some_and(|id| id != user) {
                return Some(reply.error(
                    400,
                    "invalid_request",
                    "client_id differs from the Basic user",
                ));
            }
            (ClientAuth::Basic, user, password)
        }
        (_, Some(secret)) => (
            ClientAuth::Post,
            req.form("client_id").unwrap_or_default().to_owned(),
            secret.to_owned(),
        ),
        (_, None) => return Some(bad_client("client authentication is missing")),
    };
    let allowed = match provider {
        Provider::Google => None,
        Provider::Github => Some(ClientAuth::Post),
        Provider::Oidc => shared.state().oidc.client_auth,
    };
    if allowed.is_some_and(|m| m != method) {
        return Some(bad_client(&format!(
            "this client must authenticate with {}",
            if allowed == Some(ClientAuth::Basic) {
                "client_secret_basic"
            } else {
                "client_secret_post"
            }
        )));
    }
    if (id.as_str(), secret.as_str()) != provider.client() {
        return Some(bad_client(
            "The client_id and/or client_secret passed are incorrect.",
        ));
    }
    None
}

fn exchange_code(
    shared: &Shared,
    req: &Incoming,
    provider: Provider,
    reply: &TokenReply,
) -> Response {
    let bad_code = |description: &str| match provider {
        Provider::Github => reply.error(200, "bad_verification_code", description),
        _ => reply.error(400, "invalid_grant", description),
    };
    let Some(code) = req.form("code") else {
        return reply.error(400, "invalid_request", "Missing required parameter: code");
    };
    let mut guard = shared.state();
    // Through a plain reference, so that codes and tokens can be borrowed at once.
    let st = &mut *guard;
    let Some(entry) = st.codes.get_mut(code) else {
        return bad_code("The code passed is incorrect or expired.");
    };
    if entry.redeemed {
        // A replayed code revokes what it bought (RFC 6749 §4.1.2).
        let revoked = std::mem::take(&mut entry.issued);
        for token in revoked {
            st.access_tokens.remove(&token);
            st.refresh_tokens.remove(&token);
        }
        return bad_code("The code was already redeemed.");
    }
    if Instant::now() > entry.expires {
        return bad_code("The code passed is incorrect or expired.");
    }
    if entry.grant.provider != provider || entry.grant.client_id != provider.client().0 {
        return bad_code("The code was issued to another client.");
    }
    let redirect_ok = match req.form("redirect_uri") {
        Some(uri) => uri == entry.grant.redirect_uri,
        // GitHub does not need it again; RFC 6749 §4.1.3 does.
        None => provider == Provider::Github,
    };
    if !redirect_ok {
        return match provider {
            Provider::Google => reply.error(400, "redirect_uri_mismatch", "Bad Request"),
            Provider::Github => reply.error(
                200,
                "redirect_uri_mismatch",
                "The redirect_uri MUST match the registered callback URL for this application.",
            ),
            Provider::Oidc => bad_code("redirect_uri differs from the authorization request"),
        };
    }
    if let Some(challenge) = &entry.challenge {
        match req.form("code_verifier") {
            None => return bad_code("Missing code verifier."),
            Some(v) if !is_code_verifier(v) || s256(v) != *challenge => {
                return bad_code("Invalid code verifier.");
            }
            Some(_) => {}
        }
    }
    entry.redeemed = true;
    let grant = entry.grant.clone();
    let (body, issued) = issue(shared, st, &grant, true);
    if let Some(entry) = st.codes.get_mut(code) {
        entry.issued = issued;
    }
    reply.ok(body)
}

fn refresh(shared: &Shared, req: &Incoming, provider: Provider, reply: &TokenReply) -> Response {
    let Some(refresh_token) = req.form("refresh_token") else {
        return reply.error(
            400,
            "invalid_request",
            "Missing required parameter: refresh_token",
        );
    };
    let mut st = shared.state();
    let grant = match st.refresh_tokens.get(refresh_token) {
        Some(issued) if issued.grant.provider == provider => issued.grant.clone(),
        _ => return reply.error(400, "invalid_grant", "Token has been expired or revoked."),
    };
    // Google keeps the refresh token; so does the OIDC stand-in (no rotation).
    let (body, _) = issue(shared, &mut st, &grant, false);
    reply.ok(body)
}

/// Issues an access token (and, for the code exchange, a refresh token when the grant is
/// offline), plus an ID token when `openid` was granted. Returns the response body and the
/// tokens issued.
fn issue(
    shared: &Shared,
    st: &mut IdpState,
    grant: &Grant,
    from_code: bool,
) -> (Value, Vec<String>) {
    let provider = grant.provider;
    let access_token = new_access_token(provider);
    let expires_in = st.expires_in.get(&provider).copied();
    st.access_tokens.insert(
        access_token.clone(),
        Issued {
            grant: grant.clone(),
            expires: expires_in.map(|s| Instant::now() + Duration::from_secs(s)),
        },
    );
    let mut issued = vec![access_token.clone()];
    let mut body = match provider {
        // GitHub echoes the scopes comma-joined.
        Provider::Github => json!({
            "access_token": access_token,
            "token_type": "bearer",
            "scope": grant.scopes.join(","),
        }),
        _ => json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "scope": grant.scopes.join(" "),
        }),
    };
    if let Some(seconds) = expires_in {
        body["expires_in"] = seconds.into();
    }
    if from_code && grant.offline {
        let refresh_token = new_refresh_token(provider);
        st.refresh_tokens.insert(
            refresh_token.clone(),
            Issued {
                grant: grant.clone(),
                expires: None,
            },
        );
        body["refresh_token"] = refresh_token.clone().into();
        issued.push(refresh_token);
    }
    if provider != Provider::Github && grant.has_scope("openid") {
        let mut claims = match &grant.who {
            Who::Google(user) => google_claims(
                user,
                &grant.client_id,
                grant.has_scope(GOOGLE_EMAIL_SCOPE),
                grant.has_scope(GOOGLE_PROFILE_SCOPE),
            ),
            Who::Oidc(user) => oidc_claims(
                &shared.oidc_issuer(),
                user,
                &grant.client_id,
                grant.has_scope("email") && st.oidc.email_in_id_token,
                grant.has_scope("profile"),
            ),
            Who::Github(_) => unreachable!("GitHub issues no ID tokens"),
        };
        claims.insert("at_hash".into(), at_hash(&access_token).into());
        // A refreshed ID token carries no nonce: there was no authentication request.
        if let (true, Some(nonce)) = (from_code, &grant.nonce) {
            claims.insert("nonce".into(), nonce.clone().into());
        }
        let tamper = st.tampers.get(&provider).copied();
        body["id_token"] = sign_id_token(shared.keys, provider, st.oidc.alg, claims, tamper).into();
    }
    (body, issued)
}

// ---------------------------------------------------------------------------------------------
// Userinfo (Google, OIDC) and GitHub's REST API
// ---------------------------------------------------------------------------------------------

/// OpenID Connect Core §5.3: Bearer token in, claims by granted scope out.
fn userinfo(shared: &Shared, req: &Incoming, provider: Provider) -> Response {
    let st = shared.state();
    let grant = match req.authorization() {
        Authorization::Bearer(token) => st.live_grant(provider, &token),
        _ => None,
    };
    let Some(grant) = grant else {
        let mut response = json_response(
            401,
            &json!({ "error": "invalid_token", "error_description": "Invalid Credentials" }),
        );
        let challenge = "Bearer error=\"invalid_token\"".parse().unwrap();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
        return response;
    };
    let mut claims = match &grant.who {
        Who::Google(user) => google_claims(
            user,
            &grant.client_id,
            grant.has_scope(GOOGLE_EMAIL_SCOPE),
            grant.has_scope(GOOGLE_PROFILE_SCOPE),
        ),
        Who::Oidc(user) => oidc_claims(
            "",
            user,
            "",
            grant.has_scope("email"),
            grant.has_scope("profile"),
        ),
        Who::Github(_) => unreachable!("no userinfo at GitHub"),
    };
    // Userinfo answers the user's claims only, not the token's.
    for name in ["iss", "aud", "azp", "iat", "exp", "auth_time"] {
        claims.remove(name);
    }
    json_response(200, &Value::Object(claims))
}

/// `GET /user` and `GET /user/emails` of GitHub's REST API.
fn github_api(shared: &Shared, req: &Incoming, emails: bool) -> Response {
    let docs = if emails {
        "https://docs.github.com/rest/users/emails#list-email-addresses-for-the-authenticated-user"
    } else {
        "https://docs.github.com/rest/users/users#get-the-authenticated-user"
    };
    let message = |status: u16, message: &str| {
        json_response(
            status,
            &json!({ "message": message, "documentation_url": docs, "status": status.to_string() }),
        )
    };
    // GitHub refuses any API request without a User-Agent before looking at anything else.
    if req.header(header::USER_AGENT).is_none_or(str::is_empty) {
        return text(
            403,
            "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.",
        );
    }
    // GitHub takes `Bearer` and its older `token` scheme.
    let token = req.header(header::AUTHORIZATION).and_then(|raw| {
        let (scheme, token) = raw.split_once(' ')?;
        (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
            .then(|| token.trim().to_owned())
    });
    let Some(token) = token else {
        return message(401, "Requires authentication");
    };
    let st = shared.state();
    let Some(grant) = st.live_grant(Provider::Github, &token) else {
        return message(401, "Bad credentials");
    };
    let Who::Github(user) = &grant.who else {
        unreachable!("a GitHub grant")
    };
    let body = if emails {
        // Listing emails needs the user:email (or user) scope; GitHub answers 404 without it.
        if !grant.has_scope("user:email") && !grant.has_scope("user") {
            return message(404, "Not Found");
        }
        Value::Array(
            user.emails
                .iter()
                .map(|(email, primary, verified)| {
                    let visibility = match (primary, &user.public_email) {
                        (true, Some(public)) if public == email => json!("public"),
                        (true, _) => json!("private"),
                        (false, _) => Value::Null,
                    };
                    json!({ "email": email, "primary": primary, "verified": verified, "visibility": visibility })
                })
                .collect(),
        )
    } else {
        json!({
            "login": user.login,
            "id": user.id,
            "node_id": format!("U_kgDO{}", user.id),
            "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", user.id),
            "html_url": format!("https://github.com/{}", user.login),
            "type": "User",
            "site_admin": false,
            "name": user.name,
            "company": null,
            "blog": "",
            "location": null,
            "email": user.public_email,
            "bio": null,
            "public_repos": 0,
            "followers": 0,
            "following": 0,
            "created_at": "2011-01-25T18:44:36Z",
            "updated_at": "2024-01-01T00:00:00Z",
        })
    };
    let mut response = json_response(200, &body);
    let scopes = grant.scopes.join(", ");
    response
        .headers_mut()
        .insert("x-oauth-scopes", scopes.parse().unwrap());
    response
}

// ---------------------------------------------------------------------------------------------
// Self-test: each provider's flow end to end, faults and tampering
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    const CALLBACK: &str = "http://127.0.0.1:9/api/auth/callback/";

    fn url_with(base: &str, params: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(base).unwrap();
        url.query_pairs_mut().extend_pairs(params);
        url.to_string()
    }

    fn form(params: &[(&str, &str)]) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish()
    }

    /// POSTs a form as better-auth does (`accept: application/json`); returns status and body.
    async fn post_form(
        url: &str,
        params: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> (u16, String) {
        let mut request = crate::helpers::http()
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(form(params));
        if let Some((user, password)) = basic {
            request = request.basic_auth(user, Some(password));
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn get_json(url: &str, bearer: Option<&str>) -> (u16, Value) {
        let mut request = crate::helpers::http()
            .get(url)
            .header("user-agent", "better-auth");
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    fn json_of(body: &str) -> Value {
        serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"))
    }

    /// Runs Google's authorize step; returns the code and the PKCE verifier.
    async fn google_code(idp: &Idp, nonce: Option<&str>, offline: bool) -> (String, String) {
        let (verifier, challenge) = pkce_pair();
        let redirect_uri = format!("{CALLBACK}google");
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", GOOGLE_CLIENT_ID),
            ("state", "state-g"),
            ("scope", "email profile openid"),
            ("redirect_uri", &redirect_uri),
            ("code_challenge_method", "S256"),
            ("code_challenge", &challenge),
            ("include_granted_scopes", "true"),
        ];
        if let Some(nonce) = nonce {
            params.push(("nonce", nonce));
        }
        if offline {
            params.push(("access_type", "offline"));
        }
        let back = idp
            .follow_authorize(&url_with(&idp.google_authorize_url(), &params))
            .await;
        assert!(back.starts_with(&redirect_uri), "{back}");
        let query = query_of(&back);
        assert_eq!(query["state"], "state-g");
        (query["code"].clone(), verifier)
    }

    async fn google_exchange(idp: &Idp, code: &str, verifier: &str) -> (u16, Value) {
        let redirect_uri = format!("{CALLBACK}google");
        let (status, body) = post_form(
            &idp.google_token_url(),
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("code_verifier", verifier),
                ("redirect_uri", &redirect_uri),
                ("client_id", GOOGLE_CLIENT_ID),
                ("client_secret", GOOGLE_CLIENT_SECRET),
            ],
            None,
        )
        .await;
        (status, json_of(&body))
    }

    #[tokio::test]
    async fn google_code_flow_refresh_and_certs() {
        let idp = Idp::start().await;
        let user = GoogleUser {
            hd: Some("example.com".into()),
            ..GoogleUser::sample()
        };
        idp.google_user(user.clone());
        let (code, verifier) = google_code(&idp, Some("nonce-1"), true).await;

        let (status, tokens) = google_exchange(&idp, &code, &verifier).await;
        assert_eq!(status, 200, "{tokens}");
        assert_eq!(tokens["token_type"], "Bearer");
        assert_eq!(tokens["expires_in"], 3599);
        assert_eq!(
            tokens["scope"],
            format!("openid {GOOGLE_EMAIL_SCOPE} {GOOGLE_PROFILE_SCOPE}")
        );
        assert!(
            tokens["access_token"]
                .as_str()
                .unwrap()
                .starts_with("ya29.")
        );
        let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();

        let id_token = tokens["id_token"].as_str().unwrap();
        let (_, certs) = get_json(&idp.google_certs_url(), None).await;
        assert_eq!(certs["keys"].as_array().unwrap().len(), 2);
        assert!(verify_jws(id_token, &certs));
        let header = jwt_part(id_token, 0);
        assert_eq!(header["alg"], "RS256");
        assert_eq!(
            header["kid"], certs["keys"][1]["kid"],
            "signed by the second key"
        );
        let claims = jwt_part(id_token, 1);
        assert_eq!(claims["iss"], GOOGLE_ISSUER);
        assert_eq!(claims["aud"], GOOGLE_CLIENT_ID);
        assert_eq!(claims["azp"], GOOGLE_CLIENT_ID);
        assert_eq!(claims["sub"], user.sub);
        assert_eq!(claims["email"], user.email);
        assert_eq!(claims["email_verified"], true);
        assert_eq!(claims["name"], user.name);
        assert_eq!(claims["picture"], user.picture);
        assert_eq!(claims["hd"], "example.com");
        assert_eq!(claims["nonce"], "nonce-1");
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            3600
        );
        assert_eq!(
            claims["at_hash"],
            at_hash(tokens["access_token"].as_str().unwrap())
        );

        // The code works once; replaying it revokes what it bought.
        let (status, again) = google_exchange(&idp, &code, &verifier).await;
        assert_eq!(
            (status, again["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        assert!(!idp.token_is_live(tokens["access_token"].as_str().unwrap()));
        let (status, _) = post_form(
            &idp.google_token_url(),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_token),
            ],
            Some((GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET)),
        )
        .await;
        assert_eq!(status, 400, "the replay revoked the refresh token too");

        // A fresh grant, then a refresh: new access token, new ID token, same refresh token.
        let (code, verifier) = google_code(&idp, None, true).await;
        let (_, tokens) = google_exchange(&idp, &code, &verifier).await;
        let refresh_token = tokens["refresh_token"].as_str().unwrap();
        let (status, body) = post_form(
            &idp.google_token_url(),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", GOOGLE_CLIENT_ID),
                ("client_secret", GOOGLE_CLIENT_SECRET),
            ],
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let refreshed = json_of(&body);
        assert_ne!(refreshed["access_token"], tokens["access_token"]);
        assert!(refreshed.get("refresh_token").is_none());
        assert!(verify_jws(refreshed["id_token"].as_str().unwrap(), &certs));
        let (status, info) = get_json(
            &idp.google_userinfo_url(),
            refreshed["access_token"].as_str(),
        )
        .await;
        assert_eq!((status, &info["email"]), (200, &json!(user.email)));

        // Without access_type=offline there is no refresh token.
        let (code, verifier) = google_code(&idp, None, false).await;
        let (_, tokens) = google_exchange(&idp, &code, &verifier).await;
        assert!(tokens.get("refresh_token").is_none());

        // What the server was sent is on record.
        let exchanges = idp.requests_to(Endpoint::GoogleToken);
        assert_eq!(exchanges[0].form["grant_type"], "authorization_code");
        assert_eq!(exchanges[0].accept.as_deref(), Some("application/json"));
        assert_eq!(exchanges[0].client_auth(), Some(ClientAuth::Post));
        assert_eq!(exchanges[2].client_auth(), Some(ClientAuth::Basic));
    }

    #[tokio::test]
    async fn google_refuses_what_google_refuses() {
        let idp = Idp::start().await;
        let (_, challenge) = pkce_pair();
        let redirect_uri = format!("{CALLBACK}google");
        let base = [
            ("response_type", "code"),
            ("client_id", GOOGLE_CLIENT_ID),
            ("state", "s"),
            ("scope", "openid email"),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_challenge_method", "S256"),
            ("code_challenge", challenge.as_str()),
        ];
        let without = |name: &str| {
            base.iter()
                .copied()
                .filter(|(k, _)| *k != name)
                .collect::<Vec<_>>()
        };
        let client = crate::helpers::http_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let status_of = |params: Vec<(&str, &str)>| {
            let url = url_with(&idp.google_authorize_url(), &params);
            let client = client.clone();
            async move { client.get(url).send().await.unwrap().status().as_u16() }
        };
        let mut unknown_client = without("client_id");
        unknown_client.push(("client_id", "nobody"));
        assert_eq!(status_of(unknown_client).await, 400);
        assert_eq!(status_of(without("code_challenge")).await, 400);
        let mut plain = without("code_challenge_method");
        plain.push(("code_challenge_method", "plain"));
        assert_eq!(status_of(plain).await, 400);
        assert_eq!(status_of(without("redirect_uri")).await, 400);
        assert_eq!(status_of(base.to_vec()).await, 302);

        idp.outcome(Provider::Google, Outcome::Deny);
        let back = idp
            .follow_authorize(&url_with(&idp.google_authorize_url(), &base))
            .await;
        let query = query_of(&back);
        assert_eq!(query["error"], "access_denied");
        assert_eq!(query["state"], "s");
        assert!(!query.contains_key("code"));
        idp.outcome(Provider::Google, Outcome::Approve);

        // Wrong verifier, wrong secret, a secret sent twice, an unknown code.
        let (code, verifier) = google_code(&idp, None, false).await;
        let (status, body) = google_exchange(&idp, &code, &pkce_pair().0).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        let params = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("code_verifier", verifier.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("client_id", GOOGLE_CLIENT_ID),
            ("client_secret", "wrong"),
        ];
        let (status, body) = post_form(&idp.google_token_url(), &params, None).await;
        assert_eq!(
            (status, json_of(&body)["error"].as_str()),
            (401, Some("invalid_client"))
        );
        let (status, _) = post_form(
            &idp.google_token_url(),
            &params,
            Some((GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET)),
        )
        .await;
        assert_eq!(status, 400, "two authentication methods at once");
        let (status, body) = google_exchange(&idp, "4/0Anonsense", &verifier).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        // The failures above did not burn the code.
        let (status, tokens) = google_exchange(&idp, &code, &verifier).await;
        assert_eq!(status, 200, "{tokens}");

        // Tokens expire when the test says so.
        idp.expires_in(Provider::Google, 0);
        let (code, verifier) = google_code(&idp, None, false).await;
        let (_, tokens) = google_exchange(&idp, &code, &verifier).await;
        assert_eq!(tokens["expires_in"], 0);
        let (status, _) =
            get_json(&idp.google_userinfo_url(), tokens["access_token"].as_str()).await;
        assert_eq!(status, 401);
    }

    #[tokio::test]
    async fn github_code_flow_and_api() {
        let idp = Idp::start().await;
        idp.github_user(GithubUser {
            emails: vec![
                ("old@x.com".into(), false, false),
                ("o@x.com".into(), true, true),
            ],
            ..GithubUser::sample()
        });
        let redirect_uri = format!("{CALLBACK}github");
        let authorize = |challenge: String| {
            url_with(
                &idp.github_authorize_url(),
                &[
                    ("response_type", "code"),
                    ("client_id", GITHUB_CLIENT_ID),
                    ("state", "state-gh"),
                    ("scope", "read:user user:email"),
                    ("redirect_uri", &redirect_uri),
                    ("code_challenge_method", "S256"),
                    ("code_challenge", &challenge),
                ],
            )
        };
        let (verifier, challenge) = pkce_pair();
        let back = idp.follow_authorize(&authorize(challenge)).await;
        let query = query_of(&back);
        assert_eq!(query["state"], "state-gh");
        let code = &query["code"];

        // A bad code is an HTTP 200 with an error body.
        let token_params = |code: &'static str| {
            [
                ("client_id", GITHUB_CLIENT_ID),
                ("client_secret", GITHUB_CLIENT_SECRET),
                ("code", code),
                ("redirect_uri", ""),
            ]
        };
        let (status, body) = post_form(&idp.github_token_url(), &token_params("nope"), None).await;
        assert_eq!(status, 200);
        assert_eq!(json_of(&body)["error"], "bad_verification_code");

        let (status, body) = post_form(
            &idp.github_token_url(),
            &[
                ("client_id", GITHUB_CLIENT_ID),
                ("client_secret", GITHUB_CLIENT_SECRET),
                ("code", code),
                ("code_verifier", &verifier),
                ("redirect_uri", &redirect_uri),
            ],
            None,
        )
        .await;
        assert_eq!(status, 200);
        let tokens = json_of(&body);
        assert_eq!(tokens["token_type"], "bearer");
        assert_eq!(tokens["scope"], "read:user,user:email");
        let access_token = tokens["access_token"].as_str().unwrap();
        assert!(access_token.starts_with("gho_") && access_token.len() == 40);
        assert!(tokens.get("expires_in").is_none());

        // The REST API wants a User-Agent (403) and a token (401).
        let no_agent = crate::helpers::http()
            .get(idp.github_user_url())
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap();
        assert_eq!(no_agent.status().as_u16(), 403);
        assert_eq!(get_json(&idp.github_user_url(), None).await.0, 401);
        assert_eq!(
            get_json(&idp.github_user_url(), Some("gho_bogus")).await.0,
            401
        );
        let (status, user) = get_json(&idp.github_user_url(), Some(access_token)).await;
        assert_eq!(status, 200);
        assert_eq!(user["id"], 42);
        assert_eq!(user["login"], "octo");
        assert!(user["name"].is_null() && user["email"].is_null());
        assert_eq!(
            user["avatar_url"],
            "https://avatars.githubusercontent.com/u/42?v=4"
        );
        let (status, emails) = get_json(&idp.github_emails_url(), Some(access_token)).await;
        assert_eq!(status, 200);
        assert_eq!(
            emails,
            json!([
                {"email": "old@x.com", "primary": false, "verified": false, "visibility": null},
                {"email": "o@x.com", "primary": true, "verified": true, "visibility": "private"},
            ])
        );
        let log = idp.requests_to(Endpoint::GithubEmails);
        assert_eq!(log[0].user_agent.as_deref(), Some("better-auth"));
        assert_eq!(
            log[0].authorization,
            Authorization::Bearer(access_token.into())
        );

        // Without `accept: application/json` the token response is form-encoded; a wrong
        // verifier is refused.
        let (verifier, challenge) = pkce_pair();
        let code = query_of(&idp.follow_authorize(&authorize(challenge)).await)["code"].clone();
        let (status, body) = post_form(
            &idp.github_token_url(),
            &[
                ("client_id", GITHUB_CLIENT_ID),
                ("client_secret", GITHUB_CLIENT_SECRET),
                ("code", &code),
                ("code_verifier", &pkce_pair().0),
            ],
            None,
        )
        .await;
        assert_eq!(
            (status, json_of(&body)["error"].as_str()),
            (200, Some("bad_verification_code"))
        );
        let response = crate::helpers::http()
            .post(idp.github_token_url())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[
                ("client_id", GITHUB_CLIENT_ID),
                ("client_secret", GITHUB_CLIENT_SECRET),
                ("code", &code),
                ("code_verifier", &verifier),
            ]))
            .send()
            .await
            .unwrap();
        let body = response.text().await.unwrap();
        assert!(body.starts_with("access_token=gho_"), "{body}");
        assert!(body.contains("token_type=bearer"), "{body}");

        // Deny carries GitHub's description.
        idp.outcome(Provider::Github, Outcome::Deny);
        let back = idp.follow_authorize(&authorize(pkce_pair().1)).await;
        let query = query_of(&back);
        assert_eq!(query["error"], "access_denied");
        assert_eq!(
            query["error_description"],
            "The user has denied your application access."
        );
    }

    /// Runs the OIDC authorize step; returns the callback query and the PKCE verifier.
    async fn oidc_code(idp: &Idp, nonce: &str) -> (BTreeMap<String, String>, String) {
        let (verifier, challenge) = pkce_pair();
        let back = idp
            .follow_authorize(&url_with(
                &idp.oidc_authorize_url(),
                &[
                    ("response_type", "code"),
                    ("client_id", OIDC_CLIENT_ID),
                    ("state", "state-o"),
                    ("scope", "openid email profile"),
                    ("redirect_uri", &format!("{CALLBACK}my-oidc")),
                    ("nonce", nonce),
                    ("code_challenge_method", "S256"),
                    ("code_challenge", &challenge),
                ],
            ))
            .await;
        (query_of(&back), verifier)
    }

    async fn oidc_exchange(
        idp: &Idp,
        code: &str,
        verifier: &str,
        auth: ClientAuth,
    ) -> (u16, Value) {
        let redirect_uri = format!("{CALLBACK}my-oidc");
        let mut params = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", verifier),
            ("redirect_uri", &redirect_uri),
            ("client_id", OIDC_CLIENT_ID),
        ];
        let basic = match auth {
            ClientAuth::Basic => Some((OIDC_CLIENT_ID, OIDC_CLIENT_SECRET)),
            ClientAuth::Post => {
                params.push(("client_secret", OIDC_CLIENT_SECRET));
                None
            }
        };
        let (status, body) = post_form(&idp.oidc_token_url(), &params, basic).await;
        (status, json_of(&body))
    }

    #[tokio::test]
    async fn oidc_discovery_code_flow_and_userinfo() {
        let idp = Idp::start().await;
        let (status, config) = get_json(&idp.oidc_discovery_url(), None).await;
        assert_eq!(status, 200);
        let issuer = idp.oidc_issuer();
        assert_eq!(config["issuer"], issuer);
        assert_eq!(config["token_endpoint"], idp.oidc_token_url());
        assert_eq!(config["jwks_uri"], idp.oidc_jwks_url());
        assert_eq!(config["userinfo_endpoint"], idp.oidc_userinfo_url());
        assert_eq!(config["end_session_endpoint"], idp.oidc_end_session_url());
        assert_eq!(config["authorization_endpoint"], idp.oidc_authorize_url());
        assert_eq!(
            config["id_token_signing_alg_values_supported"],
            json!(["RS256"])
        );

        idp.oidc_config(|c| c.client_auth = Some(ClientAuth::Basic));
        let (query, verifier) = oidc_code(&idp, "nonce-o").await;
        assert_eq!(query["iss"], issuer, "RFC 9207");
        assert_eq!(query["state"], "state-o");
        // client_secret_post is refused when Basic is required, and does not burn the code.
        let (status, body) = oidc_exchange(&idp, &query["code"], &verifier, ClientAuth::Post).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
        let (status, tokens) =
            oidc_exchange(&idp, &query["code"], &verifier, ClientAuth::Basic).await;
        assert_eq!(status, 200, "{tokens}");
        let used: Vec<_> = idp
            .requests_to(Endpoint::OidcToken)
            .iter()
            .map(LoggedRequest::client_auth)
            .collect();
        assert_eq!(used, [Some(ClientAuth::Post), Some(ClientAuth::Basic)]);

        let (_, jwks) = get_json(&idp.oidc_jwks_url(), None).await;
        let id_token = tokens["id_token"].as_str().unwrap();
        assert!(verify_jws(id_token, &jwks));
        let claims = jwt_part(id_token, 1);
        let user = OidcUser::sample();
        assert_eq!(claims["iss"], issuer);
        assert_eq!(claims["aud"], OIDC_CLIENT_ID);
        assert_eq!(claims["sub"], user.sub);
        assert_eq!(claims["email"], json!(user.email));
        assert_eq!(claims["email_verified"], true);
        assert_eq!(claims["name"], user.name);
        assert_eq!(claims["nonce"], "nonce-o");
        assert!(tokens["refresh_token"].is_string());

        let access_token = tokens["access_token"].as_str();
        let (status, info) = get_json(&idp.oidc_userinfo_url(), access_token).await;
        assert_eq!(status, 200);
        assert_eq!(info["sub"], user.sub);
        assert_eq!(info["email"], json!(user.email));
        assert_eq!(get_json(&idp.oidc_userinfo_url(), None).await.0, 401);
        let end = crate::helpers::http()
            .get(idp.oidc_end_session_url())
            .send()
            .await
            .unwrap();
        assert_eq!(end.status().as_u16(), 200);

        // ES256, email only in userinfo, a wrong `iss` on the redirect.
        idp.oidc_config(|c| {
            c.alg = Algorithm::ES256;
            c.client_auth = None;
            c.email_in_id_token = false;
            c.iss_param = IssParam::Value("https://elsewhere.example".into());
        });
        let (_, config) = get_json(&idp.oidc_discovery_url(), None).await;
        assert_eq!(
            config["id_token_signing_alg_values_supported"],
            json!(["ES256"])
        );
        let (query, verifier) = oidc_code(&idp, "nonce-2").await;
        assert_eq!(query["iss"], "https://elsewhere.example");
        let (status, tokens) =
            oidc_exchange(&idp, &query["code"], &verifier, ClientAuth::Post).await;
        assert_eq!(status, 200, "{tokens}");
        let id_token = tokens["id_token"].as_str().unwrap();
        assert_eq!(jwt_part(id_token, 0)["alg"], "ES256");
        assert!(verify_jws(id_token, &jwks));
        assert!(jwt_part(id_token, 1).get("email").is_none());

        // An authorize request without openid is sent back with invalid_scope.
        let back = idp
            .follow_authorize(&url_with(
                &idp.oidc_authorize_url(),
                &[
                    ("response_type", "code"),
                    ("client_id", OIDC_CLIENT_ID),
                    ("scope", "email"),
                    ("redirect_uri", &format!("{CALLBACK}my-oidc")),
                ],
            ))
            .await;
        assert_eq!(query_of(&back)["error"], "invalid_scope");
    }

    #[tokio::test]
    async fn faults_and_tampered_id_tokens() {
        let idp = Idp::start().await;
        let token_url = idp.google_token_url();
        let answer = || async {
            let response = crate::helpers::http_builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap()
                .post(&token_url)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned());
            (status, location, response.text().await.unwrap())
        };
        idp.fault(Endpoint::GoogleToken, Fault::Status(503, "down".into()));
        assert_eq!(answer().await.0, 503);
        idp.fault(Endpoint::GoogleToken, Fault::Garbage);
        let (status, _, body) = answer().await;
        assert!(status == 200 && serde_json::from_str::<Value>(&body).is_err());
        idp.fault(Endpoint::GoogleToken, Fault::Empty);
        assert_eq!(answer().await.2, "{}");
        idp.fault(
            Endpoint::GoogleToken,
            Fault::Redirect("http://127.0.0.1:9/x".into()),
        );
        assert_eq!(answer().await.1.as_deref(), Some("http://127.0.0.1:9/x"));
        idp.fault(
            Endpoint::GoogleToken,
            Fault::Slow(Duration::from_millis(300)),
        );
        let (code, verifier) = google_code(&idp, None, false).await;
        let started = Instant::now();
        let (status, _) = google_exchange(&idp, &code, &verifier).await;
        assert!(status == 200 && started.elapsed() >= Duration::from_millis(300));
        assert_eq!(
            idp.requests_to(Endpoint::GoogleToken).len(),
            5,
            "faulted requests are logged"
        );
        idp.clear_faults();

        let certs = idp.google_jwks();
        let published = |token: &str| {
            certs["keys"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kid"] == jwt_part(token, 0)["kid"])
        };
        for tamper in [
            IdTokenTamper::WrongAud,
            IdTokenTamper::WrongIss,
            IdTokenTamper::Expired,
            IdTokenTamper::AlgNone,
            IdTokenTamper::BadSignature,
            IdTokenTamper::UnknownKid,
            IdTokenTamper::WrongNonce,
            IdTokenTamper::NoNonce,
        ] {
            idp.tamper(Provider::Google, tamper);
            let (code, verifier) = google_code(&idp, Some("n"), false).await;
            let (status, tokens) = google_exchange(&idp, &code, &verifier).await;
            assert_eq!(status, 200);
            let token = tokens["id_token"].as_str().unwrap();
            let claims = jwt_part(token, 1);
            let signed = verify_jws(token, &certs);
            match tamper {
                IdTokenTamper::WrongAud => assert!(signed && claims["aud"] != GOOGLE_CLIENT_ID),
                IdTokenTamper::WrongIss => assert!(signed && claims["iss"] != GOOGLE_ISSUER),
                IdTokenTamper::Expired => assert!(signed && claims["exp"].as_i64() < Some(now_s())),
                IdTokenTamper::AlgNone => {
                    assert_eq!(jwt_part(token, 0)["alg"], "none");
                    assert!(token.ends_with('.') && !signed);
                }
                IdTokenTamper::BadSignature => assert!(!signed && published(token)),
                IdTokenTamper::UnknownKid => assert!(!signed && !published(token)),
                IdTokenTamper::WrongNonce => assert!(signed && claims["nonce"] != "n"),
                IdTokenTamper::NoNonce => assert!(signed && claims.get("nonce").is_none()),
            }
        }
        idp.clear_faults();

        // Minted tokens for the ID-token sign-in path.
        let user = GoogleUser::sample();
        let token = idp.google_id_token(&user, GOOGLE_CLIENT_ID, |c| {
            c.insert("nonce".into(), "abc".into());
        });
        assert!(verify_jws(&token, &certs));
        assert_eq!(jwt_part(&token, 1)["nonce"], "abc");
        assert_eq!(jwt_part(&token, 1)["email"], user.email);
        let claims = idp.google_claims(&user, GOOGLE_CLIENT_ID);
        assert!(!verify_jws(
            &idp.mint(Provider::Google, claims, Some(IdTokenTamper::AlgNone)),
            &certs
        ));
        let token = idp.oidc_id_token(&OidcUser::sample(), OIDC_CLIENT_ID, |_| {});
        assert!(verify_jws(&token, &idp.oidc_jwks()));
        assert!(!verify_jws(&token, &certs), "another provider's key");
    }
}
