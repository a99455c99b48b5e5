//! The pieces the operations are made of: the `Operation` record, the lengths the server
//! accepts, and small JSON Schema builders.

use serde_json::{Value, json};

/// One route's operation, before it is placed in the document.
pub(super) struct Operation {
    pub method: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    /// Needs a session (cookie or bearer token).
    pub session: bool,
    /// The JSON body's schema; `None` for GET.
    pub body: Option<Value>,
    /// Whether the body must be sent (an empty POST is fine where it is optional).
    pub body_required: bool,
    /// Query parameters: name, required.
    pub query: &'static [(&'static str, bool)],
    /// Success answers: status → schema (`None`: a redirect, or HTML when `html` is set).
    pub ok: Vec<(u16, Option<Value>)>,
    pub html: bool,
}

pub(super) fn s() -> Value {
    json!({ "type": "string" })
}
pub(super) fn b() -> Value {
    json!({ "type": "boolean" })
}
pub(super) fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}
pub(super) fn nullable(v: Value) -> Value {
    json!({ "anyOf": [v, { "type": "null" }] })
}
/// An object with `props`, the first `required` of them required.
pub(super) fn obj(props: &[(&str, Value)], required: usize) -> Value {
    let properties: serde_json::Map<String, Value> = props
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let req: Vec<&str> = props.iter().take(required).map(|(k, _)| *k).collect();
    json!({ "type": "object", "properties": properties, "required": req })
}
pub(super) fn status() -> Value {
    obj(&[("status", b())], 1)
}
pub(super) fn success() -> Value {
    obj(&[("success", b())], 1)
}
pub(super) fn token_and_user() -> Value {
    obj(&[("token", nullable(s())), ("user", r("User"))], 2)
}
/// The lengths the server accepts, so that generated requests get past validation.
#[derive(Debug, Clone, Copy)]
pub(super) struct Constraints {
    pub password_min: usize,
    pub password_max: usize,
    pub name_max: usize,
    pub email_max: usize,
}

impl Default for Constraints {
    /// better-auth's defaults (and authkeep's `[limits]`).
    fn default() -> Self {
        Constraints {
            password_min: 8,
            password_max: 128,
            name_max: 256,
            email_max: 254,
        }
    }
}

pub(super) fn email_of(c: &Constraints) -> Value {
    json!({ "type": "string", "format": "email", "maxLength": c.email_max })
}
pub(super) fn password_of(c: &Constraints) -> Value {
    json!({ "type": "string", "minLength": c.password_min, "maxLength": c.password_max })
}
pub(super) fn name_of(c: &Constraints) -> Value {
    json!({ "type": "string", "maxLength": c.name_max })
}

/// An operation with a body and one success answer.
pub(super) fn op(
    method: &'static str,
    summary: &'static str,
    session: bool,
    body: Option<Value>,
    ok: Vec<(u16, Option<Value>)>,
) -> Operation {
    Operation {
        method,
        tag: "Default",
        summary,
        session,
        body_required: body.is_some(),
        body,
        query: &[],
        ok,
        html: false,
    }
}

/// `POST` with a JSON body, answering `ok` with 200.
pub(super) fn post(summary: &'static str, session: bool, body: Value, ok: Value) -> Operation {
    op("post", summary, session, Some(body), vec![(200, Some(ok))])
}

/// `GET`, answering `ok` with 200.
pub(super) fn get(summary: &'static str, session: bool, ok: Value) -> Operation {
    op("get", summary, session, None, vec![(200, Some(ok))])
}
