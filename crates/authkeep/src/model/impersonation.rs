//! The admin plugin's `session.impersonatedBy`. better-auth returns it on every session while
//! the plugin is on (`null`, or the impersonating admin's id) and never while it is off, so a
//! session carries which of the three it is.

use serde::{Serialize, Serializer};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ImpersonatedBy {
    /// The plugin is off: the field does not exist.
    #[default]
    Off,
    /// An ordinary session while the plugin is on (`null`).
    Nobody,
    /// An impersonation session opened by this admin.
    Admin(String),
}

impl ImpersonatedBy {
    pub fn is_off(&self) -> bool {
        *self == ImpersonatedBy::Off
    }

    pub fn admin(&self) -> Option<&str> {
        match self {
            ImpersonatedBy::Admin(a) => Some(a),
            _ => None,
        }
    }

    /// As read from JSON (a cookie-cache or secondary-storage entry): absent, null or an id.
    pub fn from_json(v: Option<&serde_json::Value>) -> Self {
        match v {
            None => ImpersonatedBy::Off,
            Some(serde_json::Value::String(s)) => ImpersonatedBy::Admin(s.clone()),
            Some(_) => ImpersonatedBy::Nobody,
        }
    }
}

impl Serialize for ImpersonatedBy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ImpersonatedBy::Admin(a) => s.serialize_str(a),
            _ => s.serialize_none(),
        }
    }
}

/// Read from the column (selected only while the plugin is on; `#[sqlx(default)]` gives
/// `Off` when it is not selected).
impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for ImpersonatedBy
where
    Option<String>: sqlx::Decode<'r, DB>,
{
    fn decode(
        value: <DB as sqlx::Database>::ValueRef<'r>,
    ) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(
            match <Option<String> as sqlx::Decode<'r, DB>>::decode(value)? {
                Some(a) => ImpersonatedBy::Admin(a),
                None => ImpersonatedBy::Nobody,
            },
        )
    }
}

impl<DB: sqlx::Database> sqlx::Type<DB> for ImpersonatedBy
where
    String: sqlx::Type<DB>,
{
    fn type_info() -> <DB as sqlx::Database>::TypeInfo {
        <String as sqlx::Type<DB>>::type_info()
    }

    fn compatible(ty: &<DB as sqlx::Database>::TypeInfo) -> bool {
        <String as sqlx::Type<DB>>::compatible(ty)
    }
}
