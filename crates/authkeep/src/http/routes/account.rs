use serde_json::json;

use crate::auth::user;
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};
use crate::http::{App, session};

/// `GET /list-accounts`
pub async fn list_accounts(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let c = session::require(app, ex).await?;
    Ok(Reply::json(json!(
        user::list_accounts(&app.auth, &c.user.id).await?
    )))
}
