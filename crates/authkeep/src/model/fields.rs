//! better-auth's field types, and the fields a deployment adds to its users
//! (`user.additionalFields`): their JSON names, types and input rules.

use serde_json::Value;

/// better-auth's field types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FieldType {
    #[serde(rename = "string")]
    String,
    #[serde(rename = "number")]
    Number,
    #[serde(rename = "boolean")]
    Boolean,
    #[serde(rename = "date")]
    Date,
    #[serde(rename = "string[]")]
    StringArray,
    #[serde(rename = "number[]")]
    NumberArray,
}

impl FieldType {
    pub fn name(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Number => "number",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::StringArray => "string[]",
            FieldType::NumberArray => "number[]",
        }
    }

    /// Whether a JSON value is of this type, as authkeep accepts it on input (better-auth does
    /// not check; its database decides). Numbers are integers: better-auth's column is `integer`.
    pub fn accepts(self, v: &Value) -> bool {
        match (self, v) {
            (FieldType::String, Value::String(_)) | (FieldType::Boolean, Value::Bool(_)) => true,
            (FieldType::Number, Value::Number(n)) => n.is_i64(),
            (FieldType::Date, Value::String(s)) => parse_date(s).is_some(),
            (FieldType::StringArray, Value::Array(items)) => items.iter().all(Value::is_string),
            (FieldType::NumberArray, Value::Array(items)) => items.iter().all(Value::is_number),
            _ => false,
        }
    }
}

/// An ISO-8601 date or date-time, as JavaScript's `new Date(string)` reads the common forms.
pub fn parse_date(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{DateTime, NaiveDate, Utc};
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

/// A user field a deployment added (better-auth's `user.additionalFields`).
#[derive(Debug, Clone, PartialEq)]
pub struct AdditionalField {
    /// The logical name: the JSON key in requests, responses and JWT claims.
    pub name: String,
    /// The column, checked as an identifier by the store's schema.
    pub column: String,
    pub ty: FieldType,
    pub required: bool,
    /// Written on sign-up when the client gives no value (better-auth applies it at insert).
    pub default: Option<Value>,
    /// Whether clients may set it on sign-up and `update-user`.
    pub input: bool,
    /// Whether it appears in responses and JWTs.
    pub returned: bool,
}
