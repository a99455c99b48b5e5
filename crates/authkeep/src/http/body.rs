//! Request bodies as better-call reads them (JSON, and form-urlencoded where an endpoint
//! allows it) and a small validator that words its errors exactly as better-auth's zod schemas do.

use serde_json::{Map, Value};

use super::error::ApiError;
use crate::model::{AdditionalField, Email, FieldType, rewrites_text};

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

/// Decodes a body by its media type. An empty body is `None` (zod's `undefined`).
pub fn parse_media(
    bytes: &[u8],
    content_type: Option<&str>,
    media: Media,
) -> Result<Option<Value>, ApiError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let Some(ct) = content_type else {
        return Err(ApiError::unsupported_media_type(format!(
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
    Err(ApiError::unsupported_media_type(format!(
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

/// Upper bounds on what a request may carry (each gets zod's "Too big" message beyond).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body, in bytes (413 beyond).
    pub max_body_bytes: usize,
    /// Time a client has to send the whole body (408 beyond).
    pub body_timeout: std::time::Duration,
    pub max_name_length: usize,
    pub max_email_length: usize,
    /// `image` URLs and callback URLs.
    pub max_url_length: usize,
    /// Longest password read from a body: the policy's maximum, but never less than 1024, so
    /// an overlong password gets better-auth's `PASSWORD_TOO_LONG` rather than a schema error.
    pub max_password_input: usize,
    /// The deployment's additional user fields, whose values sign-up and `update-user` take.
    pub user_fields: std::sync::Arc<[AdditionalField]>,
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

/// Session tokens, reset tokens, deletion tokens.
const MAX_TOKEN_LENGTH: usize = 256;
/// One-time codes.
const MAX_CODE_LENGTH: usize = 32;

/// What a body must be, in zod's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Object,
    /// An object that is also a key/value record (sign-up): zod reports both when it is neither.
    ObjectAndRecord,
    /// A key/value record (`update-user`, `update-session`).
    Record,
    /// An object, or no body at all.
    OptionalObject,
}

/// A request body as a typed struct: each route declares its fields once, and the handler
/// works with the parsed values (a valid, normalised `Email`, a checked name, ...).
pub trait Body: Sized {
    const SHAPE: Shape;
    /// Reads every field (so every issue is reported, as zod does) and returns the body when
    /// all of them parsed.
    fn read(f: &mut Fields<'_>) -> Option<Self>;
}

/// Parses the exchange's body as `B`, or answers better-call's 400 listing every issue.
pub fn parse<B: Body>(body: Option<&Value>, limits: &Limits) -> Result<B, ApiError> {
    let mut f = Fields::new(body, B::SHAPE, limits);
    let parsed = B::read(&mut f);
    f.finish()?;
    parsed.ok_or_else(|| ApiError::validation("[body] Invalid input".into()))
}

/// A body without fields of its own.
#[derive(Debug)]
pub struct NoFields;

impl Body for NoFields {
    const SHAPE: Shape = Shape::OptionalObject;
    fn read(_: &mut Fields<'_>) -> Option<Self> {
        Some(NoFields)
    }
}

/// Collects schema issues in field order and reports them the way better-call joins zod issues.
#[derive(Debug)]
pub struct Fields<'a> {
    map: Option<&'a Map<String, Value>>,
    issues: Vec<String>,
    limits: &'a Limits,
    /// Where the fields are, as zod names it in issues: `body`, or `body.idToken` inside.
    path: String,
}

impl<'a> Fields<'a> {
    pub fn new(body: Option<&'a Value>, shape: Shape, limits: &'a Limits) -> Self {
        let shapes: &[&str] = match (shape, body) {
            (_, Some(Value::Object(map))) => {
                return Fields {
                    map: Some(map),
                    issues: Vec::new(),
                    limits,
                    path: "body".into(),
                };
            }
            // No body where none is needed reads as an empty object: every field is absent.
            (Shape::OptionalObject, None) => {
                return Fields {
                    map: Some(&EMPTY),
                    issues: Vec::new(),
                    limits,
                    path: "body".into(),
                };
            }
            (Shape::Object | Shape::OptionalObject, _) => &["object"],
            (Shape::ObjectAndRecord, _) => &["object", "record"],
            (Shape::Record, _) => &["record"],
        };
        let got = type_name(body);
        let issues = shapes
            .iter()
            .map(|s| format!("[body] Invalid input: expected {s}, received {got}"))
            .collect();
        Fields {
            map: None,
            issues,
            limits,
            path: "body".into(),
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(key))
    }

    fn issue(&mut self, key: &str, message: impl std::fmt::Display) {
        self.issues.push(format!("[{}.{key}] {message}", self.path));
    }

    fn wrong_type(&mut self, key: &str, expected: &str, got: Option<&Value>) {
        self.issue(
            key,
            format_args!(
                "Invalid input: expected {expected}, received {}",
                type_name(got)
            ),
        );
    }

    /// An optional object inside the body, read with its own `Fields` (its issues are
    /// named `[body.<key>.<field>]`); hand it back with [`Fields::absorb`].
    pub fn nested(&mut self, key: &str) -> Option<Option<Fields<'a>>> {
        self.map?;
        match self.get(key) {
            None => Some(None),
            Some(Value::Object(map)) => Some(Some(Fields {
                map: Some(map),
                issues: Vec::new(),
                limits: self.limits,
                path: format!("{}.{key}", self.path),
            })),
            other => {
                self.wrong_type(key, "object", other);
                None
            }
        }
    }

    /// Takes back a nested object's issues.
    pub fn absorb(&mut self, nested: Fields<'a>) {
        self.issues.extend(nested.issues);
    }

    /// An optional string of no particular kind, up to the URL length.
    pub fn optional_string(&mut self, key: &str) -> Option<Option<String>> {
        self.typed_string(key, false, self.limits.max_url_length)
    }

    /// An optional array of strings (at most 64, each within the URL length).
    pub fn optional_strings(&mut self, key: &str) -> Option<Option<Vec<String>>> {
        self.map?;
        let max = self.limits.max_url_length;
        match self.get(key) {
            None => Some(None),
            Some(Value::Array(items)) if items.len() > 64 => {
                self.issue(key, "Too big: expected array to have <=64 items");
                None
            }
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) if s.chars().count() <= max => out.push(s.clone()),
                        Value::String(_) => {
                            self.issue(
                                &format!("{key}.{i}"),
                                format_args!("Too big: expected string to have <={max} characters"),
                            );
                            return None;
                        }
                        other => {
                            self.wrong_type(&format!("{key}.{i}"), "string", Some(other));
                            return None;
                        }
                    }
                }
                Some(Some(out))
            }
            other => {
                self.wrong_type(key, "array", other);
                None
            }
        }
    }

    /// An optional record of strings (`additionalParams`), at most 64 entries.
    pub fn optional_string_record(&mut self, key: &str) -> Option<Option<Vec<(String, String)>>> {
        self.map?;
        let max = self.limits.max_url_length;
        match self.get(key) {
            None => Some(None),
            Some(Value::Object(map)) if map.len() > 64 => {
                self.issue(key, "Too big: expected record to have <=64 entries");
                None
            }
            Some(Value::Object(map)) => {
                let mut out = Vec::with_capacity(map.len());
                for (k, v) in map {
                    match v {
                        Value::String(s) if s.chars().count() <= max && k.len() <= 256 => {
                            out.push((k.clone(), s.clone()));
                        }
                        Value::String(_) => {
                            self.issue(
                                &format!("{key}.{k}"),
                                format_args!("Too big: expected string to have <={max} characters"),
                            );
                            return None;
                        }
                        other => {
                            self.wrong_type(&format!("{key}.{k}"), "string", Some(other));
                            return None;
                        }
                    }
                }
                Some(Some(out))
            }
            other => {
                self.wrong_type(key, "record", other);
                None
            }
        }
    }

    /// An optional record of any values (`additionalData`).
    pub fn optional_record(&mut self, key: &str) -> Option<Option<Map<String, Value>>> {
        self.map?;
        match self.get(key) {
            None => Some(None),
            Some(Value::Object(map)) => Some(Some(map.clone())),
            other => {
                self.wrong_type(key, "record", other);
                None
            }
        }
    }

    /// An optional number.
    pub fn optional_number(&mut self, key: &str) -> Option<Option<f64>> {
        self.map?;
        match self.get(key) {
            None => Some(None),
            Some(Value::Number(n)) => Some(n.as_f64()),
            other => {
                self.wrong_type(key, "number", other);
                None
            }
        }
    }

    /// `Some(Some(s))` for a string within `max`, `Some(None)` for an absent optional field,
    /// `None` (with an issue recorded) otherwise.
    fn typed_string(&mut self, key: &str, required: bool, max: usize) -> Option<Option<String>> {
        self.map?;
        match self.get(key) {
            Some(Value::String(s)) if s.chars().count() > max => {
                self.issue(
                    key,
                    format_args!("Too big: expected string to have <={max} characters"),
                );
                None
            }
            Some(Value::String(s)) => Some(Some(s.clone())),
            None if !required => Some(None),
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

    fn required(&mut self, key: &str, max: usize) -> Option<String> {
        self.typed_string(key, true, max).flatten()
    }

    /// A string field of no particular kind, up to the URL length.
    pub fn string(&mut self, key: &str) -> Option<String> {
        self.required(key, self.limits.max_url_length)
    }

    /// A required password (`password`, `newPassword`, `currentPassword`).
    pub fn password(&mut self, key: &str) -> Option<String> {
        self.required(key, self.limits.max_password_input)
    }

    /// A required, non-empty password (sign-up's schema).
    pub fn non_empty_password(&mut self, key: &str) -> Option<String> {
        let s = self.password(key)?;
        if s.is_empty() {
            self.issue(key, "Too small: expected string to have >=1 characters");
            return None;
        }
        Some(s)
    }

    pub fn optional_password(&mut self, key: &str) -> Option<Option<String>> {
        self.typed_string(key, false, self.limits.max_password_input)
    }

    /// A token (session, reset, deletion).
    pub fn token(&mut self, key: &str) -> Option<String> {
        self.required(key, MAX_TOKEN_LENGTH)
    }

    pub fn optional_token(&mut self, key: &str) -> Option<Option<String>> {
        self.typed_string(key, false, MAX_TOKEN_LENGTH)
    }

    /// A one-time code.
    pub fn code(&mut self, key: &str) -> Option<String> {
        self.required(key, MAX_CODE_LENGTH)
    }

    /// An address as typed, unchecked (sign-in checks it later, with its own error code).
    pub fn raw_email(&mut self, key: &str) -> Option<String> {
        self.required(key, self.limits.max_email_length)
    }

    /// A required address in zod's email format, normalised.
    pub fn email(&mut self, key: &str) -> Option<Email> {
        let s = self.raw_email(key)?;
        match Email::parse(&s) {
            Ok(email) => Some(email),
            Err(_) => {
                self.issue(key, "Invalid email address");
                None
            }
        }
    }

    /// A person's name: a string without control characters (line breaks, NUL, ESC) or the
    /// Unicode separators and direction overrides, which have no place in a name and would let
    /// it rewrite the lines of a mail it appears in.
    /// Tabs pass. better-auth accepts anything; this is authkeep's hardening.
    pub fn name(&mut self, key: &str) -> Option<String> {
        self.optional_name(key)?.or_else(|| {
            self.issue(key, "Invalid input: expected string, received undefined");
            None
        })
    }

    pub fn optional_name(&mut self, key: &str) -> Option<Option<String>> {
        let s = self.typed_string(key, false, self.limits.max_name_length)?;
        if s.as_deref()
            .is_some_and(|s| s.chars().any(|c| rewrites_text(c) && c != '\t'))
        {
            self.issue(key, "Invalid input: control characters are not allowed");
            return None;
        }
        Some(s)
    }

    /// An optional URL (`image`, `callbackURL`, ...); the origin check has already vetted
    /// callback URLs.
    pub fn optional_url(&mut self, key: &str) -> Option<Option<String>> {
        self.typed_string(key, false, self.limits.max_url_length)
    }

    /// `Some(None)` when absent.
    pub fn optional_bool(&mut self, key: &str) -> Option<Option<bool>> {
        self.map?;
        match self.get(key) {
            None => Some(None),
            Some(Value::Bool(b)) => Some(Some(*b)),
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

    /// The values sent for the deployment's additional user fields. A field clients may set
    /// must have its type (zod's wording when it does not; `null` clears an optional one);
    /// values for the others are passed on as sent, for the flow to refuse or ignore.
    pub fn user_fields(&mut self) -> Option<serde_json::Map<String, Value>> {
        let map = self.map?;
        let specs = self.limits.user_fields.clone();
        let mut out = serde_json::Map::new();
        let mut ok = true;
        for spec in specs.iter() {
            let Some(v) = map.get(&spec.name) else {
                continue;
            };
            let fits = !spec.input || spec.ty.accepts(v) || (v.is_null() && !spec.required);
            if !fits {
                let expected = match (spec.ty, v) {
                    (FieldType::Number, Value::Number(_)) => "int",
                    (FieldType::StringArray | FieldType::NumberArray, Value::Array(_)) => {
                        spec.ty.name()
                    }
                    (FieldType::StringArray | FieldType::NumberArray, _) => "array",
                    (ty, _) => ty.name(),
                };
                self.issue(
                    &spec.name,
                    format_args!(
                        "Invalid input: expected {expected}, received {}",
                        type_name(Some(v))
                    ),
                );
                ok = false;
                continue;
            }
            out.insert(spec.name.clone(), v.clone());
        }
        ok.then_some(out)
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

    /// Whether the body is a map at all (when it is not, an issue is already recorded).
    pub fn is_map(&self) -> bool {
        self.map.is_some()
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

    fn limits() -> Limits {
        Limits {
            max_body_bytes: 1000,
            body_timeout: std::time::Duration::from_secs(1),
            max_name_length: 10,
            max_email_length: 10,
            max_url_length: 10,
            max_password_input: 10,
            user_fields: std::sync::Arc::from([]),
        }
    }

    #[test]
    fn messages_match_better_call() {
        let body = json!({"name": 5, "email": "x", "password": true});
        let l = limits();
        let mut f = Fields::new(Some(&body), Shape::ObjectAndRecord, &l);
        f.name("name");
        f.email("email");
        f.non_empty_password("password");
        assert_eq!(
            msg(f.finish().unwrap_err()),
            "[body.name] Invalid input: expected string, received number; [body.email] Invalid email address; \
             [body.password] Invalid input: expected string, received boolean"
        );
        let arr = json!([]);
        assert_eq!(
            msg(Fields::new(Some(&arr), Shape::ObjectAndRecord, &l)
                .finish()
                .unwrap_err()),
            "[body] Invalid input: expected object, received array; [body] Invalid input: expected record, received array"
        );
    }

    #[test]
    fn media_types() {
        assert!(
            parse_media(b"{}", Some("application/json; charset=utf-8"), Media::Json)
                .unwrap()
                .is_some()
        );
        assert_eq!(
            parse_media(b"x", Some("text/plain"), Media::Json)
                .unwrap_err()
                .status(),
            415
        );
        assert_eq!(
            parse_media(b"{bad", Some("application/json"), Media::Json)
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            parse_media(b"\xff\xfe", Some("application/json"), Media::Json)
                .unwrap_err()
                .status(),
            400
        );
        let form = parse_media(
            b"a=1&b=x%20y",
            Some("application/x-www-form-urlencoded"),
            Media::JsonOrForm,
        )
        .unwrap()
        .unwrap();
        assert_eq!(form, json!({"a": "1", "b": "x y"}));
        assert_eq!(
            parse_media(
                b"a=1",
                Some("application/x-www-form-urlencoded"),
                Media::Json
            )
            .unwrap_err()
            .status(),
            415
        );
        assert!(parse_media(b"", None, Media::Json).unwrap().is_none());
    }
}
