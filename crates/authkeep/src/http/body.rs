//! Request bodies as better-call reads them (JSON, and form-urlencoded where an endpoint
//! allows it) and a small validator that words its errors exactly as better-auth's zod schemas do.

use serde_json::{Map, Value};

use super::error::ApiError;

/// Which body encodings an endpoint takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    Json,
    JsonOrForm,
}

impl Media {
    fn allowed(self) -> &'static str {
        match self {
            Media::Json => "application/json",
            Media::JsonOrForm => "application/x-www-form-urlencoded, application/json",
        }
    }
}

fn unsupported(message: String) -> ApiError {
    ApiError::Coded {
        status: axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
        code: "UNSUPPORTED_MEDIA_TYPE",
        message,
    }
}

/// Parses a body. An empty body is `None` (zod's `undefined`).
pub fn parse(
    bytes: &[u8],
    content_type: Option<&str>,
    media: Media,
) -> Result<Option<Value>, ApiError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let Some(ct) = content_type else {
        return Err(unsupported(format!(
            "Content-Type is required. Allowed types: {}",
            media.allowed()
        )));
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime.contains("application/json") {
        return serde_json::from_slice(bytes)
            .map(Some)
            .map_err(|_| ApiError::bad_request("Invalid JSON in request body"));
    }
    if media == Media::JsonOrForm && mime.contains("application/x-www-form-urlencoded") {
        let map: Map<String, Value> = url::form_urlencoded::parse(bytes)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        return Ok(Some(Value::Object(map)));
    }
    Err(unsupported(format!(
        "Content-Type \"{mime}\" is not allowed. Allowed types: {}",
        media.allowed()
    )))
}

/// zod's name for a JSON value's type, as in "expected string, received number".
fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None => "undefined",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
    }
}

/// Collects schema issues in field order and reports them the way better-call joins zod issues.
#[derive(Debug)]
pub struct Fields<'a> {
    map: Option<&'a Map<String, Value>>,
    issues: Vec<String>,
}

impl<'a> Fields<'a> {
    /// The body must be a JSON object. `record` adds zod's second issue for schemas that are an
    /// intersection with a record (sign-up), so the message matches better-auth's exactly.
    pub fn object(body: Option<&'a Value>, record: bool) -> Self {
        let shapes: &[&str] = if record {
            &["object", "record"]
        } else {
            &["object"]
        };
        Self::shaped(body, shapes)
    }

    /// A body that must be a key/value record (zod's `z.record`), as `update-user` takes.
    pub fn record(body: Option<&'a Value>) -> Self {
        Self::shaped(body, &["record"])
    }

    fn shaped(body: Option<&'a Value>, shapes: &[&str]) -> Self {
        match body {
            Some(Value::Object(map)) => Fields {
                map: Some(map),
                issues: Vec::new(),
            },
            other => {
                let got = type_name(other);
                let issues = shapes
                    .iter()
                    .map(|s| format!("[body] Invalid input: expected {s}, received {got}"))
                    .collect();
                Fields { map: None, issues }
            }
        }
    }

    /// An optional body: absent is fine, anything but an object is not.
    pub fn optional_object(body: Option<&'a Value>) -> Self {
        match body {
            None => Fields {
                map: None,
                issues: Vec::new(),
            },
            some => Self::object(some, false),
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(key))
    }

    fn issue(&mut self, key: &str, message: impl std::fmt::Display) {
        self.issues.push(format!("[body.{key}] {message}"));
    }

    fn typed_string(&mut self, key: &str, required: bool, max: usize) -> Option<String> {
        self.map?;
        match self.get(key) {
            Some(Value::String(s)) if s.chars().count() > max => {
                self.issue(
                    key,
                    format_args!("Too big: expected string to have <={max} characters"),
                );
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            None if !required => None,
            other => {
                self.issue(
                    key,
                    format_args!(
                        "Invalid input: expected string, received {}",
                        type_name(other)
                    ),
                );
                None
            }
        }
    }

    pub fn string(&mut self, key: &str, max: usize) -> Option<String> {
        self.typed_string(key, true, max)
    }

    pub fn non_empty_string(&mut self, key: &str, max: usize) -> Option<String> {
        let s = self.typed_string(key, true, max)?;
        if s.is_empty() {
            self.issue(key, "Too small: expected string to have >=1 characters");
            return None;
        }
        Some(s)
    }

    pub fn optional_string(&mut self, key: &str, max: usize) -> Option<String> {
        self.typed_string(key, false, max)
    }

    /// A person's name: a string without control characters (line breaks, NUL, ESC), which
    /// have no place in a name and would let it rewrite the lines of a mail it appears in.
    /// Tabs pass. better-auth accepts anything; this is authkeep's hardening.
    pub fn name(&mut self, key: &str, required: bool, max: usize) -> Option<String> {
        let s = self.typed_string(key, required, max)?;
        if s.chars().any(|c| c.is_control() && c != '\t') {
            self.issue(key, "Invalid input: control characters are not allowed");
            return None;
        }
        Some(s)
    }

    /// A required string in zod's email format.
    pub fn email(&mut self, key: &str, max: usize) -> Option<String> {
        let s = self.typed_string(key, true, max)?;
        if !crate::auth::email::is_valid(&s) {
            self.issue(key, "Invalid email address");
            return None;
        }
        Some(s)
    }

    pub fn optional_bool(&mut self, key: &str) -> Option<bool> {
        self.map?;
        match self.get(key) {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            other => {
                self.issue(
                    key,
                    format_args!(
                        "Invalid input: expected boolean, received {}",
                        type_name(other)
                    ),
                );
                None
            }
        }
    }

    /// Records an issue found by a check of the caller's own.
    pub fn push_issue(&mut self, key: &str, message: &str) {
        if self.map.is_some() {
            self.issue(key, message);
        }
    }

    /// The raw value of a key, for fields with looser schemas.
    pub fn raw(&self, key: &str) -> Option<&'a Value> {
        self.get(key)
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.issues.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.issues.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msg(e: ApiError) -> String {
        e.body().unwrap()["message"].as_str().unwrap().to_owned()
    }

    #[test]
    fn messages_match_better_call() {
        let body = json!({"name": 5, "email": "x", "password": true});
        let mut f = Fields::object(Some(&body), true);
        f.string("name", 10);
        f.email("email", 10);
        f.non_empty_string("password", 10);
        assert_eq!(
            msg(f.finish().unwrap_err()),
            "[body.name] Invalid input: expected string, received number; [body.email] Invalid email address; \
             [body.password] Invalid input: expected string, received boolean"
        );
        let arr = json!([]);
        assert_eq!(
            msg(Fields::object(Some(&arr), true).finish().unwrap_err()),
            "[body] Invalid input: expected object, received array; [body] Invalid input: expected record, received array"
        );
    }

    #[test]
    fn media_types() {
        assert!(
            parse(b"{}", Some("application/json; charset=utf-8"), Media::Json)
                .unwrap()
                .is_some()
        );
        assert_eq!(
            parse(b"x", Some("text/plain"), Media::Json)
                .unwrap_err()
                .status(),
            415
        );
        assert_eq!(
            parse(b"{bad", Some("application/json"), Media::Json)
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            parse(b"\xff\xfe", Some("application/json"), Media::Json)
                .unwrap_err()
                .status(),
            400
        );
        let form = parse(
            b"a=1&b=x%20y",
            Some("application/x-www-form-urlencoded"),
            Media::JsonOrForm,
        )
        .unwrap()
        .unwrap();
        assert_eq!(form, json!({"a": "1", "b": "x y"}));
        assert_eq!(
            parse(
                b"a=1",
                Some("application/x-www-form-urlencoded"),
                Media::Json
            )
            .unwrap_err()
            .status(),
            415
        );
        assert!(parse(b"", None, Media::Json).unwrap().is_none());
    }
}
