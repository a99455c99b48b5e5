//! better-auth's social routes: `sign-in/social` (redirect and ID-token branches), the
//! provider's `callback/:id` (GET, and form_post's POST), and `link-social`.

use axum::http::header::LOCATION;
use serde_json::{Map, Value, json};

use crate::auth::oauth::authorize::RESERVED_PARAMS;
use crate::auth::oauth::flow::{self, CallbackParams, Outcome, Start, append_query};
use crate::auth::oauth::id_token::{self, IdTokenError, IdTokenRequest};
use crate::auth::oauth::state::LinkState;
use crate::auth::{AuthError, ErrorCode, Lifetime};
use crate::http::body::{self, Body, Fields, Shape};
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};
use crate::http::{App, origin, session};
use crate::report::Report;

/// The most `additionalData` a flow carries, serialized (better-auth sets no limit).
const MAX_ADDITIONAL_DATA: usize = 4096;

/// The `idToken` object of `sign-in/social` and `link-social`.
struct IdTokenBody {
    token: String,
    nonce: Option<String>,
    access_token: Option<String>,
    refresh_token: Option<String>,
}

impl IdTokenBody {
    fn read(f: &mut Fields<'_>) -> Option<Option<Self>> {
        let Some(mut n) = f.nested("idToken")? else {
            return Some(None);
        };
        let token = n.string("token");
        let nonce = n.optional_string("nonce");
        let access_token = n.optional_string("accessToken");
        let refresh_token = n.optional_string("refreshToken");
        let expires_at = n.optional_number("expiresAt");
        let body = (|| {
            expires_at?;
            Some(IdTokenBody {
                token: token?,
                nonce: nonce?,
                access_token: access_token?,
                refresh_token: refresh_token?,
            })
        })();
        f.absorb(n);
        body.map(Some)
    }
}

/// The fields `sign-in/social` and `link-social` share.
struct SocialBody {
    provider: String,
    callback: Option<String>,
    new_user: Option<String>,
    error: Option<String>,
    disable_redirect: bool,
    id_token: Option<IdTokenBody>,
    scopes: Vec<String>,
    request_sign_up: Option<bool>,
    login_hint: Option<String>,
    additional_params: Vec<(String, String)>,
    additional_data: Map<String, Value>,
}

impl Body for SocialBody {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let provider = f.string("provider");
        let callback = f.optional_url("callbackURL");
        let new_user = f.optional_url("newUserCallbackURL");
        let error = f.optional_url("errorCallbackURL");
        let disable_redirect = f.optional_bool("disableRedirect");
        let id_token = IdTokenBody::read(f);
        let scopes = f.optional_strings("scopes");
        let request_sign_up = f.optional_bool("requestSignUp");
        let login_hint = f.optional_string("loginHint");
        let additional_params = f.optional_string_record("additionalParams");
        if let Some(Some(params)) = &additional_params
            && params
                .iter()
                .any(|(k, _)| RESERVED_PARAMS.contains(&k.as_str()))
        {
            f.push_issue(
                "additionalParams",
                &format!(
                    "additionalParams cannot include reserved OAuth parameters: {}",
                    RESERVED_PARAMS.join(", ")
                ),
            );
            return None;
        }
        let additional_data = f.optional_record("additionalData");
        // Stored in the state row for ten minutes, for anyone who asks: keep it small.
        if let Some(Some(data)) = &additional_data
            && Value::Object(data.clone()).to_string().len() > MAX_ADDITIONAL_DATA
        {
            f.push_issue(
                "additionalData",
                &format!("Too big: expected the serialized record to have <={MAX_ADDITIONAL_DATA} characters"),
            );
            return None;
        }
        Some(SocialBody {
            provider: provider?,
            callback: callback?,
            new_user: new_user?,
            error: error?,
            disable_redirect: disable_redirect?.unwrap_or(false),
            id_token: id_token?,
            scopes: scopes?.unwrap_or_default(),
            request_sign_up: request_sign_up?,
            login_hint: login_hint?,
            additional_params: additional_params?.unwrap_or_default(),
            additional_data: additional_data?.unwrap_or_default(),
        })
    }
}

impl SocialBody {
    fn start(self) -> Start {
        Start {
            provider: self.provider,
            // Sent back later in `Location` in their parsed form, as the other redirects are.
            callback_url: self
                .callback
                .filter(|c| !c.is_empty())
                .map(|c| origin::normalized(&c)),
            new_user_url: self
                .new_user
                .filter(|c| !c.is_empty())
                .map(|c| origin::normalized(&c)),
            error_url: self
                .error
                .filter(|c| !c.is_empty())
                .map(|c| origin::normalized(&c)),
            scopes: self.scopes,
            login_hint: self.login_hint,
            additional_params: self.additional_params,
            additional_data: self.additional_data,
            request_sign_up: self.request_sign_up,
        }
    }

    fn id_token_request(&self, t: &IdTokenBody) -> IdTokenRequest {
        IdTokenRequest {
            provider: self.provider.clone(),
            token: t.token.clone(),
            nonce: t.nonce.clone(),
            access_token: t.access_token.clone(),
            refresh_token: t.refresh_token.clone(),
            callback_url: self.callback.clone(),
            request_sign_up: self.request_sign_up,
        }
    }
}

fn id_token_error(e: IdTokenError) -> ApiError {
    match e {
        IdTokenError::Code(c) => c.into(),
        IdTokenError::Link(f) => {
            AuthError::Coded(ErrorCode::OAuthLinkError, f.message().to_owned()).into()
        }
        IdTokenError::Auth(e) => e.into(),
    }
}

/// The redirect answer of both routes: 200 `{url, redirect}`, `Location` unless
/// `disableRedirect`, and the state cookie either way.
async fn redirect_to_provider(
    app: &App,
    ex: &mut Exchange,
    start: Start,
    disable_redirect: bool,
    link: Option<LinkState>,
) -> Result<Reply, ApiError> {
    let started = flow::start(&app.auth, start, link).await?;
    ex.set_cookies
        .push(app.cookies.set_oauth_state(&started.state));
    if !disable_redirect {
        ex.add_header(LOCATION, &started.url);
    }
    Ok(Reply::json(
        json!({ "url": started.url, "redirect": !disable_redirect }),
    ))
}

/// `POST /sign-in/social`
pub async fn sign_in_social(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: SocialBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    if let Some(t) = &b.id_token {
        let signed_in =
            id_token::sign_in_with_id_token(&app.auth, &b.id_token_request(t), &ex.client)
                .await
                .map_err(id_token_error)?;
        session::set_cookie(
            app,
            ex,
            &signed_in.session,
            &signed_in.user,
            Lifetime::Remembered,
        );
        return Ok(Reply::json(json!({
            "redirect": false,
            "token": signed_in.session.token,
            "user": signed_in.user,
        })));
    }
    let disable_redirect = b.disable_redirect;
    redirect_to_provider(app, ex, b.start(), disable_redirect, None).await
}

/// `POST /link-social` (signed in): the redirect to the provider, or with `idToken` a link
/// made at once.
pub async fn link_social(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: SocialBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let current = session::require(app, ex).await?;
    if let Some(t) = &b.id_token {
        id_token::link_with_id_token(&app.auth, &current.user, &b.id_token_request(t))
            .await
            .map_err(id_token_error)?;
        return Ok(Reply::json(
            json!({ "url": "", "status": true, "redirect": false }),
        ));
    }
    let sealed = app
        .auth
        .social
        .link_key
        .seal(&current.session.token)
        .map_err(ApiError::internal)?;
    let link = LinkState {
        email: current.user.email.clone(),
        user_id: current.user.id.clone(),
        encrypted_session_token: Some(sealed),
    };
    let disable_redirect = b.disable_redirect;
    let mut start = b.start();
    start.new_user_url = None;
    redirect_to_provider(app, ex, start, disable_redirect, Some(link)).await
}

/// The callback parameters better-auth reads, in its order.
const CALLBACK_KEYS: [&str; 7] = [
    "code",
    "error",
    "device_id",
    "error_description",
    "state",
    "user",
    "iss",
];

/// Longest callback parameter accepted; codes and states are far shorter.
const MAX_CALLBACK_PARAM: usize = 4096;

/// `GET|POST /callback/:id`. A POST (a provider's `response_mode=form_post`) is turned into
/// the GET it stands for, so the browser returns with its SameSite=Lax cookies.
pub async fn callback(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let provider_id = ex
        .path
        .strip_prefix("/callback/")
        .unwrap_or_default()
        .to_owned();
    let social = &app.auth.social;
    if ex.method == axum::http::Method::POST {
        let body = match &ex.body {
            None => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => {
                return Err(ApiError::validation(
                    "[body] Invalid input: expected object".into(),
                ));
            }
        };
        let mut params = url::form_urlencoded::Serializer::new(String::new());
        for key in CALLBACK_KEYS {
            let value = match (ex.query.get(key), body.get(key)) {
                (Some(q), _) => q.clone(),
                (None, Some(Value::String(s))) => s.clone(),
                (None, None | Some(Value::Null)) => continue,
                (None, Some(_)) => {
                    return Err(ApiError::validation(format!(
                        "[body.{key}] Invalid input: expected string"
                    )));
                }
            };
            params.append_pair(key, &value);
        }
        return Ok(Reply::redirect(format!(
            "{}/callback/{provider_id}?{}",
            social.api_url,
            params.finish()
        )));
    }
    let oversized = CALLBACK_KEYS.iter().any(|k| {
        ex.query
            .get(*k)
            .is_some_and(|v| v.len() > MAX_CALLBACK_PARAM)
    });
    if oversized {
        return Ok(Reply::redirect(append_query(
            &social.default_error_url(),
            &[("error", "invalid_callback_request")],
        )));
    }
    let q = |k: &str| ex.query.get(k).cloned();
    let params = CallbackParams {
        code: q("code"),
        error: q("error"),
        error_description: q("error_description"),
        state: q("state"),
        iss: q("iss"),
    };
    let cookie_state = app.cookies.oauth_state(&ex.headers);
    let result = match flow::callback(
        &app.auth,
        &provider_id,
        params,
        cookie_state.as_deref(),
        &ex.client,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            // A browser mid-redirect gets the error page, not a JSON 500/503.
            tracing::error!(provider = %provider_id, error = %Report(&e), "OAuth callback failed");
            return Ok(Reply::redirect(append_query(
                &social.default_error_url(),
                &[("error", "internal_server_error")],
            )));
        }
    };
    if result.state_used {
        ex.set_cookies.push(app.cookies.clear_oauth_state());
    }
    Ok(match result.outcome {
        Outcome::Redirect(location) => Reply::redirect(location),
        Outcome::SignedIn {
            signed_in,
            location,
        } => {
            session::set_cookie(
                app,
                ex,
                &signed_in.session,
                &signed_in.user,
                Lifetime::Remembered,
            );
            Reply::redirect(location)
        }
    })
}
