//! The deployment's additional user fields (better-auth's `user.additionalFields`) on their way
//! in: which a client may set, what a new user gets by default, and better-auth's answers when
//! a rule is broken. Types are checked at the edge (`http::body`), before these rules run.

use serde_json::{Map, Value};

use super::AuthError;
use crate::model::AdditionalField;

/// Values by field name.
pub type UserFields = Map<String, Value>;

/// JavaScript's truthiness, which better-auth uses to decide whether a value was "set".
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// The values a new user is stored with, from what the client sent (`given`; empty for a
/// passwordless sign-up): an input field as sent, else its default. A field clients may not set
/// takes its default whatever was sent, and without a default a set value is refused; a
/// required field that ends up without a value is refused.
pub fn for_new_user(
    fields: &[AdditionalField],
    given: &UserFields,
) -> Result<UserFields, AuthError> {
    let mut out = Map::new();
    for f in fields {
        let sent = given.get(&f.name).filter(|v| !v.is_null());
        let value = match (sent, f.input) {
            (Some(_), false) if f.default.is_some() => f.default.clone(),
            (Some(v), false) if truthy(v) => {
                return Err(AuthError::FieldNotAllowed(f.name.clone()));
            }
            (Some(_), false) => None,
            (Some(v), true) => Some(v.clone()),
            (None, _) => f.default.clone(),
        };
        match value {
            Some(v) => {
                out.insert(f.name.clone(), v);
            }
            None if f.required => return Err(AuthError::MissingField(f.name.clone())),
            None => {}
        }
    }
    Ok(out)
}

/// The values `update-user` writes: only fields clients may set; a field they may not set is
/// refused when a value is sent, and ignored when the value is empty (as better-auth does).
pub fn for_update(fields: &[AdditionalField], given: &UserFields) -> Result<UserFields, AuthError> {
    let mut out = Map::new();
    for f in fields {
        let Some(v) = given.get(&f.name) else {
            continue;
        };
        match (f.input, truthy(v)) {
            (true, _) => {
                out.insert(f.name.clone(), v.clone());
            }
            (false, true) => return Err(AuthError::FieldNotAllowed(f.name.clone())),
            (false, false) => {}
        }
    }
    Ok(out)
}

/// The returned fields of a user just stored with `values`, as better-auth answers them
/// (unset optional fields as `null`).
pub fn returned(fields: &[AdditionalField], values: &UserFields) -> Map<String, Value> {
    fields
        .iter()
        .filter(|f| f.returned)
        .map(|f| {
            (
                f.name.clone(),
                values.get(&f.name).cloned().unwrap_or(Value::Null),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FieldType;
    use serde_json::json;

    fn field(name: &str, input: bool, required: bool, default: Option<Value>) -> AdditionalField {
        AdditionalField {
            name: name.into(),
            column: name.into(),
            ty: FieldType::String,
            required,
            default,
            input,
            returned: true,
        }
    }

    fn map(v: Value) -> UserFields {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn sign_up_follows_better_auths_rules() {
        let status = field("status", false, false, Some(json!("active")));
        let nick = field("nick", true, false, None);
        let secret = field("secret", false, false, None);
        let need = field("need", true, true, None);
        let fields = [status, nick, secret];
        let out = for_new_user(&fields, &map(json!({"status": "admin", "nick": "n"}))).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"status": "active", "nick": "n"}),
            "input:false takes the default"
        );
        assert!(
            matches!(for_new_user(&fields, &map(json!({"secret": "x"}))), Err(AuthError::FieldNotAllowed(f)) if f == "secret")
        );
        assert!(
            for_new_user(&fields, &map(json!({"secret": ""}))).is_ok(),
            "an empty value is ignored"
        );
        assert!(
            matches!(for_new_user(&[need], &Map::new()), Err(AuthError::MissingField(f)) if f == "need")
        );
    }

    #[test]
    fn update_takes_only_input_fields() {
        let fields = [
            field("status", false, false, Some(json!("active"))),
            field("nick", true, false, None),
        ];
        assert_eq!(
            Value::Object(for_update(&fields, &map(json!({"nick": "m", "status": ""}))).unwrap()),
            json!({"nick": "m"})
        );
        assert!(matches!(
            for_update(&fields, &map(json!({"status": "x"}))),
            Err(AuthError::FieldNotAllowed(_))
        ));
    }
}
