//! better-auth's openAPI plugin: `GET /open-api/generate-schema` answers an OpenAPI 3.1
//! document of the routes this server serves with its configuration, and the reference page
//! (`/reference` by default) shows it with Scalar, loaded from a CDN by the browser.
//!
//! The document is built from the router's own table (`Route::ALL`, `Route::is_available`,
//! `Route::operation`), so a plugin that is off is absent and a route cannot be served without
//! being described. Its shape follows better-auth's generator (servers at the API URL, paths
//! relative to it, `:param` as `{param}`, one tag per plugin); the schemas are authkeep's own,
//! precise enough to fuzz the server with (docs/operations.md).

mod admin;
mod operations;
mod plugins;
mod shapes;
mod two_factor;

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::App;
use super::error::ApiError;
use super::exchange::{Reply, ReplyBody};
use super::router::Route;

/// Whether the plugin is on, and where its reference page is (`None`: no page).
#[derive(Debug, Clone, Default)]
pub struct OpenApiPolicy {
    pub enabled: bool,
    /// The reference page's path under the base path.
    pub reference: Option<String>,
}

/// `GET /open-api/generate-schema`
pub async fn generate_schema(app: &App) -> Result<Reply, ApiError> {
    Ok(Reply::json(document(app)))
}

/// `GET /reference` (or the configured path): Scalar's page over the document, its script
/// from jsDelivr as better-auth's (pinned to one version, so a new release is not run
/// unannounced on this origin).
pub async fn reference(app: &App) -> Result<Reply, ApiError> {
    // Inside a <script> element only `</` can end it early; JSON lets `<` be escaped.
    let doc = document(app).to_string().replace('<', "\\u003c");
    let html = format!(
        "<!doctype html>\n<html>\n<head>\n<title>Scalar API Reference</title>\n\
         <meta charset=\"utf-8\" />\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />\n\
         </head>\n<body>\n\
         <script id=\"api-reference\" type=\"application/json\">{doc}</script>\n\
         <script>document.getElementById('api-reference').dataset.configuration = \
         JSON.stringify({{ theme: \"default\", metaData: {{ title: \"authkeep API\", \
         description: \"API reference for this authkeep server\" }} }});</script>\n\
         <script src=\"https://cdn.jsdelivr.net/npm/@scalar/api-reference@1.76.0\"></script>\n\
         </body>\n</html>\n"
    );
    Ok(Reply {
        status: StatusCode::OK,
        body: ReplyBody::Html(html),
    })
}

/// `/reset-password/:token` → `/reset-password/{token}`, as better-auth writes paths.
fn openapi_path(template: &str) -> String {
    template
        .split('/')
        .map(|part| match part.strip_prefix(':') {
            Some(name) => format!("{{{name}}}"),
            None => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

impl Route {
    /// The method the document lists this route under (`get` or `post`).
    pub fn document_method(self) -> &'static str {
        self.operation(&shapes::Constraints::default()).method
    }
}

/// The path a route is served at, relative to the base path, as the document names it.
pub fn document_path(app: &App, route: Route) -> String {
    match (route, &app.policy.open_api.reference) {
        (Route::OpenApiReference, Some(path)) => path.clone(),
        _ => openapi_path(route.template()),
    }
}

/// The document: every route available with this configuration.
pub fn document(app: &App) -> Value {
    let bearer = !matches!(app.policy.bearer, super::BearerPolicy::Off);
    let limits = &app.policy.limits;
    let password = &app.auth.policy.password;
    let constraints = shapes::Constraints {
        password_min: password.min_length,
        password_max: password.max_length,
        name_max: limits.max_name_length,
        email_max: limits.max_email_length,
    };
    let mut paths = Map::new();
    let mut tags: Vec<&str> = Vec::new();
    for route in Route::ALL.iter().copied().filter(|r| r.is_available(app)) {
        let op = route.operation(&constraints);
        if !tags.contains(&op.tag) {
            tags.push(op.tag);
        }
        let path = document_path(app, route);
        let entry = paths
            .entry(path.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        let method = op.method;
        entry[method] = operation(route, &path, op, bearer);
    }
    let mut security_schemes = json!({
        "sessionCookie": {
            "type": "apiKey",
            "in": "cookie",
            "name": app.cookies.name("session_token"),
            "description": "The signed session cookie"
        }
    });
    if bearer {
        security_schemes["bearerAuth"] = json!({
            "type": "http",
            "scheme": "bearer",
            "description": "The session token (bearer plugin)"
        });
    }
    json!({
        "openapi": "3.1.1",
        "info": {
            "title": "Better Auth",
            "description": "API Reference for your Better Auth Instance (served by authkeep)",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "servers": [{ "url": app.auth.policy.api_url }],
        "tags": tags.iter().map(|t| json!({ "name": t })).collect::<Vec<_>>(),
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": security_schemes,
        },
    })
}

/// Every status an endpoint can answer with an error, and the error body (absent on some
/// 401 and 404 answers, as better-auth sends them).
const ERROR_STATUSES: [(u16, &str); 13] = [
    (400, "Bad Request: missing or invalid parameters"),
    (401, "Unauthorized: no session, or wrong credentials"),
    (
        403,
        "Forbidden: an untrusted origin or callback URL, or a refused action",
    ),
    (404, "Not Found"),
    (405, "Method Not Allowed"),
    (408, "The request body did not arrive in time"),
    (409, "Conflict: the account is linked to another user"),
    (413, "The request body is too large"),
    (415, "Unsupported media type"),
    (417, "Linking failed"),
    (422, "Unprocessable: the user already exists"),
    (429, "Too Many Requests: rate limited"),
    (503, "Storage unavailable; retry"),
];

fn operation(route: Route, path: &str, op: shapes::Operation, bearer: bool) -> Value {
    let mut parameters: Vec<Value> = path
        .split('/')
        .filter_map(|p| p.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            json!({
                "name": name, "in": "path", "required": true,
                "schema": { "type": "string", "minLength": 1 }
            })
        })
        .collect();
    parameters.extend(op.query.iter().map(|(name, required)| {
        json!({ "name": name, "in": "query", "required": required, "schema": { "type": "string" } })
    }));
    let mut responses = Map::new();
    for (status, schema) in op.ok {
        let answer = match (status, schema, op.html) {
            (302, _, _) => json!({
                "description": "A redirect",
                "headers": { "Location": { "schema": { "type": "string" } } }
            }),
            (_, _, true) => json!({
                "description": "An HTML page",
                "content": { "text/html": { "schema": { "type": "string" } } }
            }),
            (_, Some(schema), false) => json!({
                "description": "Success",
                "content": { "application/json": { "schema": schema } }
            }),
            (_, None, false) => json!({ "description": "Success" }),
        };
        responses.insert(status.to_string(), answer);
    }
    for (status, description) in ERROR_STATUSES {
        // OpenAPI cannot say "this JSON or nothing"; where nothing is possible, no schema.
        let answer = if route.bare_errors().contains(&status) {
            json!({ "description": format!("{description}; the body may be empty") })
        } else {
            json!({
                "description": description,
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
            })
        };
        responses.insert(status.to_string(), answer);
    }
    let mut o = json!({
        "tags": [op.tag],
        "operationId": operation_id(route),
        "summary": op.summary,
        "parameters": parameters,
        "responses": responses,
    });
    if let Some(body) = op.body {
        o["requestBody"] = json!({
            "required": op.body_required,
            "content": { "application/json": { "schema": body } }
        });
    }
    if op.session {
        let mut schemes = vec![json!({ "sessionCookie": [] })];
        if bearer {
            schemes.push(json!({ "bearerAuth": [] }));
        }
        o["security"] = Value::Array(schemes);
    }
    o
}

/// `SignInEmail` → `signInEmail`: unique, stable, and what better-auth's client calls it.
fn operation_id(route: Route) -> String {
    let name = format!("{route:?}");
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn schemas() -> Value {
    let date = json!({ "type": "string", "format": "date-time" });
    let opt_string = json!({ "type": ["string", "null"] });
    json!({
        "User": {
            "type": "object",
            "properties": {
                "id": { "type": "string" },
                "name": { "type": "string" },
                "email": { "type": "string" },
                "emailVerified": { "type": "boolean" },
                "image": opt_string,
                "createdAt": date,
                "updatedAt": date,
            },
            "required": ["id", "name", "email", "emailVerified", "createdAt", "updatedAt"],
        },
        "Session": {
            "type": "object",
            "properties": {
                "id": { "type": "string" },
                "token": { "type": "string" },
                "userId": { "type": "string" },
                "expiresAt": date,
                "createdAt": date,
                "updatedAt": date,
                "ipAddress": opt_string,
                "userAgent": opt_string,
            },
            "required": ["id", "token", "userId", "expiresAt", "createdAt", "updatedAt"],
        },
        "AccountInfo": {
            "type": "object",
            "properties": {
                "id": { "type": "string" },
                "providerId": { "type": "string" },
                "accountId": { "type": "string" },
                "userId": { "type": "string" },
                "scopes": { "type": "array", "items": { "type": "string" } },
                "createdAt": date,
                "updatedAt": date,
            },
            "required": ["id", "providerId", "accountId", "userId", "scopes"],
        },
        "Error": {
            "type": "object",
            "properties": {
                "message": { "type": "string" },
                "code": { "type": "string" },
            },
            "required": ["message"],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_as_better_auth_writes_them() {
        assert_eq!(
            openapi_path("/reset-password/:token"),
            "/reset-password/{token}"
        );
        assert_eq!(openapi_path("/sign-in/email"), "/sign-in/email");
    }

    #[test]
    fn operation_ids_are_camel_case() {
        assert_eq!(operation_id(Route::SignInEmail), "signInEmail");
    }
}
