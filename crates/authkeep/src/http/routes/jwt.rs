use axum::http::header::CACHE_CONTROL;
use serde_json::json;

use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};
use crate::http::{App, session};

/// `GET /token`: a JWT for the caller's session (cookie or bearer).
pub async fn token(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    // The route only exists with the plugin on (`Route::is_available`).
    let Some(jwt) = app.auth.jwt.as_ref() else {
        return Err(ApiError::NotFound);
    };
    let c = session::require(app, ex).await?;
    Ok(Reply::json(
        json!({ "token": jwt.token_for(&c.user).await? }),
    ))
}

/// `GET /jwks`: the public keys that verify authkeep's JWTs. Verifiers may cache it; they
/// should refetch when they meet an unknown `kid` (a rotated key).
pub async fn jwks(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    // The route only exists with the plugin on (`Route::is_available`).
    let Some(jwt) = app.auth.jwt.as_ref() else {
        return Err(ApiError::NotFound);
    };
    ex.add_header(
        CACHE_CONTROL,
        "public, max-age=300, stale-while-revalidate=60",
    );
    Ok(Reply::json(jwt.public_keys().await?))
}
