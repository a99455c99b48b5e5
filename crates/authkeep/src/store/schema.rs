//! The physical schema: better-auth's logical models (`user`, `session`, `account`,
//! `verification`, `jwks`) with the table and column names a deployment gave them
//! (better-auth's `modelName`, `fields` and `additionalFields`), checked once at start-up.
//!
//! Every name that reaches SQL is an [`Ident`]: ASCII letters, digits and `_`, not starting
//! with a digit, at most 63 bytes (PostgreSQL's limit). SQL is built only from these and from
//! the constant text in this module's callers, so no configured string can change a statement.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

pub use crate::model::{AdditionalField, FieldType};

/// A checked SQL identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ident(String);

/// Why a configured schema cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "{what} {name:?} is not a plain SQL identifier: use letters, digits and _ (not first), at most 63 bytes"
    )]
    BadIdentifier { what: String, name: String },
    #[error("{model}.fields names {field:?}, which is not a field of {model} (fields: {known})")]
    UnknownField {
        model: &'static str,
        field: String,
        known: String,
    },
    #[error("{model}.fields.id: the id column cannot be renamed (better-auth ignores it too)")]
    IdRenamed { model: &'static str },
    #[error("{model}: columns {first:?} and {second:?} both map to {column:?}")]
    DuplicateColumn {
        model: &'static str,
        first: String,
        second: String,
        column: String,
    },
    #[error(
        "user.additional_fields.{0}: that name is one of better-auth's own user fields (or, with [admin] on, the admin plugin's)"
    )]
    AdditionalShadowsCore(String),
    #[error("user.additional_fields.{name}: default_value {value} is not a {ty}")]
    BadDefault {
        name: String,
        value: String,
        ty: &'static str,
    },
    #[error("tables {0:?} are configured twice")]
    DuplicateTable(String),
}

impl Ident {
    pub fn new(what: impl Into<String>, name: &str) -> Result<Ident, SchemaError> {
        let ok = !name.is_empty()
            && name.len() <= 63
            && name
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if ok {
            Ok(Ident(name.to_owned()))
        } else {
            Err(SchemaError::BadIdentifier {
                what: what.into(),
                name: name.to_owned(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The identifier in double quotes, as it goes into SQL (it cannot contain a quote).
impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0)
    }
}

/// The logical models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Model {
    User,
    Session,
    Account,
    Verification,
    Jwks,
    /// better-auth's `rateLimit`, present only with database rate-limit storage.
    RateLimit,
    /// The two-factor plugin's `twoFactor`, present only while the plugin is on.
    TwoFactor,
}

impl Model {
    pub const ALL: [Model; 5] = [
        Model::User,
        Model::Session,
        Model::Account,
        Model::Verification,
        Model::Jwks,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Model::User => "user",
            Model::Session => "session",
            Model::Account => "account",
            Model::Verification => "verification",
            Model::Jwks => "jwks",
            Model::RateLimit => "rateLimit",
            Model::TwoFactor => "twoFactor",
        }
    }

    /// better-auth's fields of this model, in its column order (after `id`).
    pub fn fields(self) -> &'static [Field] {
        match self {
            Model::User => USER,
            Model::Session => SESSION,
            Model::Account => ACCOUNT,
            Model::Verification => VERIFICATION,
            Model::Jwks => JWKS,
            Model::RateLimit => RATE_LIMIT,
            Model::TwoFactor => TWO_FACTOR,
        }
    }
}

/// One of better-auth's own fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub ty: FieldType,
    pub required: bool,
    pub unique: bool,
    /// better-auth creates `<table>_<column>_idx` for it.
    pub index: bool,
    /// References `user.id` (on delete cascade).
    pub references_user: bool,
    /// PostgreSQL gets `default CURRENT_TIMESTAMP` (better-auth's date fields with a function
    /// default; SQLite gets no defaults).
    pub default_now: bool,
    /// better-auth's constant default (`emailVerified: false`), which an added column gets.
    pub default_false: bool,
    /// A number stored as `bigint` (epoch milliseconds).
    pub bigint: bool,
    /// Another constant default an added column gets (`true`, `0`), as better-auth declares it.
    pub default_const: Option<ConstDefault>,
}

/// A constant default other than `false` (see [`Field::default_false`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstDefault {
    True,
    Zero,
}

const fn f(name: &'static str, ty: FieldType) -> Field {
    Field {
        name,
        ty,
        required: true,
        unique: false,
        index: false,
        references_user: false,
        default_now: false,
        default_false: false,
        bigint: false,
        default_const: None,
    }
}

const fn optional(field: Field) -> Field {
    Field {
        required: false,
        ..field
    }
}

const fn unique(field: Field) -> Field {
    Field {
        unique: true,
        ..field
    }
}

const fn now(field: Field) -> Field {
    Field {
        default_now: true,
        ..field
    }
}

const fn user_ref(field: Field) -> Field {
    Field {
        references_user: true,
        index: true,
        ..field
    }
}

const fn indexed(field: Field) -> Field {
    Field {
        index: true,
        ..field
    }
}

use FieldType::{Boolean, Date, String as Text};

/// A field's SQL type on each backend (better-auth's migrator's choice).
pub fn sql_type(ty: FieldType, postgres: bool) -> &'static str {
    match (ty, postgres) {
        (FieldType::String, _) => "text",
        (FieldType::Number, _) => "integer",
        (FieldType::Boolean, true) => "boolean",
        (FieldType::Boolean, false) => "integer",
        (FieldType::Date, true) => "timestamptz",
        (FieldType::Date, false) => "date",
        (FieldType::StringArray | FieldType::NumberArray, true) => "jsonb",
        (FieldType::StringArray | FieldType::NumberArray, false) => "text",
    }
}

const USER: &[Field] = &[
    f("name", Text),
    unique(f("email", Text)),
    Field {
        default_false: true,
        ..f("emailVerified", Boolean)
    },
    optional(f("image", Text)),
    now(f("createdAt", Date)),
    now(f("updatedAt", Date)),
];
const SESSION: &[Field] = &[
    f("expiresAt", Date),
    unique(f("token", Text)),
    now(f("createdAt", Date)),
    f("updatedAt", Date),
    optional(f("ipAddress", Text)),
    optional(f("userAgent", Text)),
    user_ref(f("userId", Text)),
];
const ACCOUNT: &[Field] = &[
    f("accountId", Text),
    f("providerId", Text),
    user_ref(f("userId", Text)),
    optional(f("accessToken", Text)),
    optional(f("refreshToken", Text)),
    optional(f("idToken", Text)),
    optional(f("accessTokenExpiresAt", Date)),
    optional(f("refreshTokenExpiresAt", Date)),
    optional(f("scope", Text)),
    optional(f("password", Text)),
    now(f("createdAt", Date)),
    f("updatedAt", Date),
];
const VERIFICATION: &[Field] = &[
    indexed(f("identifier", Text)),
    f("value", Text),
    f("expiresAt", Date),
    now(f("createdAt", Date)),
    now(f("updatedAt", Date)),
];
const JWKS: &[Field] = &[
    f("publicKey", Text),
    f("privateKey", Text),
    f("createdAt", Date),
    optional(f("expiresAt", Date)),
    optional(f("alg", Text)),
    optional(f("crv", Text)),
];

const RATE_LIMIT: &[Field] = &[
    unique(f("key", Text)),
    f("count", FieldType::Number),
    Field {
        bigint: true,
        ..f("lastRequest", FieldType::Number)
    },
];

/// The two-factor plugin's table (`BA/plugins/two-factor/schema.ts`).
const TWO_FACTOR: &[Field] = &[
    indexed(f("secret", Text)),
    f("backupCodes", Text),
    user_ref(f("userId", Text)),
    Field {
        default_const: Some(ConstDefault::True),
        ..optional(f("verified", Boolean))
    },
    Field {
        default_const: Some(ConstDefault::Zero),
        ..optional(f("failedVerificationCount", FieldType::Number))
    },
    optional(f("lockedUntil", Date)),
];
/// better-auth's admin plugin's session field (`impersonatedBy`), present when the plugin is on.
const ADMIN_SESSION: &[Field] = &[optional(f("impersonatedBy", Text))];

/// The admin plugin's user fields: `input: false` (clients never set them), stored as the
/// deployment's additional fields are, before them. `role` has no default value: better-auth
/// sets the default role in a create hook, so a client that sends one is refused.
fn admin_user_fields() -> [(&'static str, FieldType, Option<Value>); 4] {
    [
        ("role", Text, None),
        ("banned", Boolean, Some(Value::Bool(false))),
        ("banReason", Text, None),
        ("banExpires", Date, None),
    ]
}

/// How a deployment named things: the input to [`Schema::resolve`].
#[derive(Debug, Clone, Default)]
pub struct Naming {
    /// Column names derived from logical names: camelCase (better-auth's) or snake_case.
    pub casing: Casing,
    pub models: BTreeMap<&'static str, ModelNaming>,
    /// In declaration order.
    pub additional_user_fields: Vec<AdditionalFieldSpec>,
    /// Rate-limit counters are kept in the database (`rateLimit` table).
    pub rate_limit_table: bool,
    /// The two-factor plugin is on (`twoFactor` table).
    pub two_factor_table: bool,
    /// better-auth's admin plugin is on: its columns are part of the schema.
    pub admin: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Casing {
    #[default]
    Camel,
    Snake,
}

#[derive(Debug, Clone, Default)]
pub struct ModelNaming {
    pub model_name: Option<String>,
    /// Logical field name → column name.
    pub fields: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct AdditionalFieldSpec {
    pub name: String,
    pub column: Option<String>,
    pub ty: FieldType,
    pub required: bool,
    pub default: Option<Value>,
    pub input: bool,
    pub returned: bool,
}

/// One table: its name and each logical field's column.
#[derive(Debug, Clone)]
pub struct Table {
    pub model: Model,
    pub name: Ident,
    columns: BTreeMap<&'static str, Ident>,
    /// Fields an enabled plugin adds to the model (after better-auth's own).
    plugin: &'static [Field],
}

impl Table {
    /// better-auth's fields of this table, then those of enabled plugins, in column order.
    pub fn fields(&self) -> impl Iterator<Item = &'static Field> + use<> {
        self.model.fields().iter().chain(self.plugin.iter())
    }

    /// The column of a logical field (`id` included). Every logical field has one.
    pub fn col(&self, field: &str) -> &Ident {
        match self.columns.get(field) {
            Some(c) => c,
            // The models' field lists are constants and `resolve` maps each of them, so a miss
            // is a typo in this crate's own SQL builder, caught by every test that runs it.
            None => unreachable!("{}.{field} is not a field", self.model.name()),
        }
    }
}

/// The resolved, checked schema.
#[derive(Debug, Clone)]
pub struct Schema {
    tables: BTreeMap<Model, Table>,
    rate_limit_table: bool,
    two_factor_table: bool,
    pub additional_user_fields: Vec<AdditionalField>,
    /// The column of each additional user field, in the same order.
    additional_columns: Vec<Ident>,
}

/// `emailVerified` → `email_verified`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl Schema {
    /// better-auth's default names.
    pub fn default_names() -> Schema {
        Self::resolve(&Naming::default())
            .unwrap_or_else(|_| unreachable!("the default names are identifiers"))
    }

    pub fn resolve(naming: &Naming) -> Result<Schema, SchemaError> {
        let mut tables = BTreeMap::new();
        let mut table_names: BTreeMap<Ident, Model> = BTreeMap::new();
        for model in Model::ALL
            .into_iter()
            .chain([Model::RateLimit, Model::TwoFactor])
        {
            let given = naming.models.get(model.name()).cloned().unwrap_or_default();
            let name = Ident::new(
                format!("{}.model_name", model.name()),
                given.model_name.as_deref().unwrap_or(model.name()),
            )?;
            if table_names.insert(name.clone(), model).is_some() {
                return Err(SchemaError::DuplicateTable(name.as_str().to_owned()));
            }
            let plugin: &'static [Field] = match model {
                Model::Session if naming.admin => ADMIN_SESSION,
                _ => &[],
            };
            let admin_user = model == Model::User && naming.admin;
            let mut known: Vec<&str> = model
                .fields()
                .iter()
                .chain(plugin)
                .map(|f| f.name)
                .collect();
            if admin_user {
                known.extend(admin_user_fields().map(|(n, _, _)| n));
            }
            for key in given.fields.keys() {
                if key == "id" {
                    return Err(SchemaError::IdRenamed {
                        model: model.name(),
                    });
                }
                if !known.contains(&key.as_str()) {
                    return Err(SchemaError::UnknownField {
                        model: model.name(),
                        field: key.clone(),
                        known: known.join(", "),
                    });
                }
            }
            let mut columns = BTreeMap::new();
            columns.insert("id", Ident::new("id", "id")?);
            for field in model.fields().iter().chain(plugin) {
                let column = match given.fields.get(field.name) {
                    Some(c) => c.clone(),
                    None if naming.casing == Casing::Snake => snake_case(field.name),
                    None => field.name.to_owned(),
                };
                let what = format!("{}.fields.{}", model.name(), field.name);
                columns.insert(field.name, Ident::new(what, &column)?);
            }
            let table = Table {
                model,
                name,
                columns,
                plugin,
            };
            tables.insert(model, table);
        }
        let user_columns: Vec<(String, Ident)> = tables[&Model::User]
            .columns
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        let mut additional = Vec::new();
        let mut additional_columns = Vec::new();
        let admin_specs: Vec<AdditionalFieldSpec> = if naming.admin {
            let renamed = naming.models.get("user").map(|m| &m.fields);
            admin_user_fields()
                .into_iter()
                .map(|(name, ty, default)| AdditionalFieldSpec {
                    name: name.to_owned(),
                    column: renamed.and_then(|r| r.get(name)).cloned(),
                    ty,
                    required: false,
                    default,
                    input: false,
                    returned: true,
                })
                .collect()
        } else {
            Vec::new()
        };
        for spec in &naming.additional_user_fields {
            if admin_specs.iter().any(|a| a.name == spec.name) {
                return Err(SchemaError::AdditionalShadowsCore(spec.name.clone()));
            }
        }
        for spec in admin_specs.iter().chain(&naming.additional_user_fields) {
            if USER.iter().any(|f| f.name == spec.name) || spec.name == "id" {
                return Err(SchemaError::AdditionalShadowsCore(spec.name.clone()));
            }
            // The logical name is a JSON key; keep it an identifier too, as JavaScript
            // property names in an `auth.ts` are.
            Ident::new(format!("user.additional_fields.{}", spec.name), &spec.name)?;
            let column = match &spec.column {
                Some(c) => c.clone(),
                None if naming.casing == Casing::Snake => snake_case(&spec.name),
                None => spec.name.clone(),
            };
            let column = Ident::new(format!("user.additional_fields.{}", spec.name), &column)?;
            if let Some(d) = &spec.default
                && !spec.ty.accepts(d)
            {
                return Err(SchemaError::BadDefault {
                    name: spec.name.clone(),
                    value: d.to_string(),
                    ty: spec.ty.name(),
                });
            }
            additional_columns.push(column.clone());
            additional.push(AdditionalField {
                name: spec.name.clone(),
                column: column.as_str().to_owned(),
                ty: spec.ty,
                required: spec.required,
                default: spec.default.clone(),
                input: spec.input,
                returned: spec.returned,
            });
        }
        // Two names for one column would read and write each other's data.
        let mut seen: BTreeMap<&Ident, String> = BTreeMap::new();
        let extra = additional
            .iter()
            .zip(&additional_columns)
            .map(|(a, c)| (a.name.clone(), c));
        for (name, column) in user_columns
            .iter()
            .map(|(n, c)| (n.clone(), c))
            .chain(extra)
        {
            if let Some(first) = seen.insert(column, name.clone()) {
                return Err(SchemaError::DuplicateColumn {
                    model: "user",
                    first,
                    second: name,
                    column: column.as_str().to_owned(),
                });
            }
        }
        for model in [
            Model::Session,
            Model::Account,
            Model::Verification,
            Model::Jwks,
            Model::RateLimit,
            Model::TwoFactor,
        ] {
            let mut seen: BTreeMap<&Ident, &str> = BTreeMap::new();
            for (name, column) in &tables[&model].columns {
                if let Some(first) = seen.insert(column, name) {
                    return Err(SchemaError::DuplicateColumn {
                        model: model.name(),
                        first: first.to_owned(),
                        second: (*name).to_owned(),
                        column: column.as_str().to_owned(),
                    });
                }
            }
        }
        Ok(Schema {
            tables,
            rate_limit_table: naming.rate_limit_table,
            two_factor_table: naming.two_factor_table,
            additional_user_fields: additional,
            additional_columns,
        })
    }

    /// The models this deployment keeps in its database.
    pub fn models(&self) -> Vec<Model> {
        let mut m = Model::ALL.to_vec();
        if self.rate_limit_table {
            m.push(Model::RateLimit);
        }
        if self.two_factor_table {
            m.push(Model::TwoFactor);
        }
        m
    }

    pub fn rate_limit(&self) -> &Table {
        self.table(Model::RateLimit)
    }

    pub fn table(&self, model: Model) -> &Table {
        match self.tables.get(&model) {
            Some(t) => t,
            None => unreachable!("resolve maps every model"),
        }
    }

    /// Each additional user field with its column, in declaration order.
    pub fn additional(&self) -> impl Iterator<Item = (&AdditionalField, &Ident)> {
        self.additional_user_fields
            .iter()
            .zip(&self.additional_columns)
    }

    pub fn user(&self) -> &Table {
        self.table(Model::User)
    }
    pub fn session(&self) -> &Table {
        self.table(Model::Session)
    }
    pub fn account(&self) -> &Table {
        self.table(Model::Account)
    }
    pub fn verification(&self) -> &Table {
        self.table(Model::Verification)
    }
    pub fn jwks(&self) -> &Table {
        self.table(Model::Jwks)
    }
    pub fn two_factor(&self) -> &Table {
        self.table(Model::TwoFactor)
    }
}

/// better-auth's index name for one column: `<table>_<column>_idx`, shortened with a stable
/// hash past PostgreSQL's 63 bytes exactly as better-auth shortens it, so both servers look
/// for the same index.
pub fn index_name(table: &Ident, column: &Ident, unique: bool) -> String {
    let kind = if unique { "uidx" } else { "idx" };
    let full = format!("{}_{}_{kind}", table.as_str(), column.as_str());
    if full.len() <= 63 {
        return full;
    }
    // FNV-1a over UTF-16 code units (identifiers here are ASCII: one unit per byte).
    let mut hash: u32 = 2_166_136_261;
    for unit in full.encode_utf16() {
        hash ^= u32::from(unit);
        hash = hash.wrapping_mul(16_777_619);
    }
    let suffix = format!("_{hash:08x}_{kind}");
    let stem = &full[..full.len() - kind.len() - 1];
    let keep = 63 - suffix.len();
    format!("{}{suffix}", &stem[..keep.min(stem.len())])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seed() -> Naming {
        let mut models = BTreeMap::new();
        let m = |name: &str, fields: &[(&str, &str)]| ModelNaming {
            model_name: Some(name.into()),
            fields: fields
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
        };
        models.insert(
            "user",
            m(
                "users",
                &[
                    ("emailVerified", "email_verified"),
                    ("createdAt", "created_at"),
                ],
            ),
        );
        models.insert("session", m("user_sessions", &[("userId", "user_id")]));
        Naming {
            casing: Casing::Camel,
            models,
            additional_user_fields: vec![AdditionalFieldSpec {
                name: "status".into(),
                column: None,
                ty: FieldType::String,
                required: false,
                default: Some(json!("active")),
                input: false,
                returned: true,
            }],
            rate_limit_table: false,
            two_factor_table: false,
            admin: false,
        }
    }

    #[test]
    fn names_resolve_with_renames_and_defaults() {
        let s = Schema::resolve(&seed()).unwrap();
        assert_eq!(s.user().name.to_string(), "\"users\"");
        assert_eq!(s.user().col("emailVerified").as_str(), "email_verified");
        assert_eq!(
            s.user().col("updatedAt").as_str(),
            "updatedAt",
            "unmapped fields keep better-auth's name"
        );
        assert_eq!(s.session().col("userId").as_str(), "user_id");
        assert_eq!(s.verification().name.as_str(), "verification");
        assert_eq!(s.additional_user_fields[0].column.as_str(), "status");
    }

    #[test]
    fn snake_case_is_the_default_for_unmapped_columns_only() {
        let mut n = seed();
        n.casing = Casing::Snake;
        n.models
            .get_mut("user")
            .unwrap()
            .fields
            .insert("updatedAt".into(), "modified".into());
        let s = Schema::resolve(&n).unwrap();
        assert_eq!(
            s.user().col("updatedAt").as_str(),
            "modified",
            "explicit names win"
        );
        assert_eq!(
            s.account().col("accessTokenExpiresAt").as_str(),
            "access_token_expires_at"
        );
        assert_eq!(s.jwks().col("publicKey").as_str(), "public_key");
        assert_eq!(
            s.user().name.as_str(),
            "users",
            "tables are not renamed by casing"
        );
    }

    #[test]
    fn injection_and_typos_are_refused() {
        for bad in [
            "users\"; drop table x; --",
            "a b",
            "1users",
            "",
            "sch.table",
            &"x".repeat(64),
        ] {
            let mut n = Naming::default();
            n.models.insert(
                "user",
                ModelNaming {
                    model_name: Some(bad.into()),
                    fields: BTreeMap::new(),
                },
            );
            assert!(
                matches!(Schema::resolve(&n), Err(SchemaError::BadIdentifier { .. })),
                "{bad:?}"
            );
        }
        let mut n = Naming::default();
        n.models.insert(
            "user",
            ModelNaming {
                model_name: None,
                fields: [("emailVerifed".to_owned(), "x".to_owned())].into(),
            },
        );
        assert!(matches!(
            Schema::resolve(&n),
            Err(SchemaError::UnknownField { .. })
        ));
        let mut n = Naming::default();
        n.models.insert(
            "user",
            ModelNaming {
                model_name: None,
                fields: [("id".to_owned(), "user_id".to_owned())].into(),
            },
        );
        assert!(matches!(
            Schema::resolve(&n),
            Err(SchemaError::IdRenamed { .. })
        ));
        let mut n = Naming::default();
        n.models.insert(
            "user",
            ModelNaming {
                model_name: None,
                fields: [("name".to_owned(), "image".to_owned())].into(),
            },
        );
        assert!(matches!(
            Schema::resolve(&n),
            Err(SchemaError::DuplicateColumn { .. })
        ));
        let mut n = seed();
        n.additional_user_fields[0].default = Some(json!(5));
        assert!(matches!(
            Schema::resolve(&n),
            Err(SchemaError::BadDefault { .. })
        ));
        let mut n = Naming::default();
        n.models.insert(
            "session",
            ModelNaming {
                model_name: Some("user".into()),
                fields: BTreeMap::new(),
            },
        );
        assert!(matches!(
            Schema::resolve(&n),
            Err(SchemaError::DuplicateTable(_))
        ));
    }

    #[test]
    fn index_names_match_better_auth() {
        let t = Ident::new("t", "user_sessions").unwrap();
        let c = Ident::new("c", "user_id").unwrap();
        assert_eq!(index_name(&t, &c, false), "user_sessions_user_id_idx");
        let long = Ident::new("t", &"a".repeat(40)).unwrap();
        let name = index_name(&long, &Ident::new("c", &"b".repeat(30)).unwrap(), false);
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("_idx"));
    }

    #[test]
    fn the_admin_plugin_adds_its_fields_under_the_configured_names() {
        let mut n = seed();
        assert!(
            matches!(
                Schema::resolve(&n.clone()).map(|s| s.session().fields().count()),
                Ok(7)
            ),
            "no plugin field while the plugin is off"
        );
        n.admin = true;
        n.casing = Casing::Snake;
        n.models
            .get_mut("user")
            .unwrap()
            .fields
            .insert("role".into(), "user_role".into());
        let s = Schema::resolve(&n).unwrap();
        let admin: Vec<(&str, &str)> = s
            .additional()
            .map(|(f, c)| (f.name.as_str(), c.as_str()))
            .collect();
        assert_eq!(
            admin,
            [
                ("role", "user_role"),
                ("banned", "banned"),
                ("banReason", "ban_reason"),
                ("banExpires", "ban_expires"),
                ("status", "status"),
            ],
            "plugin fields first, renames and casing honoured"
        );
        assert!(s.additional().all(|(f, _)| f.name == "status" || !f.input));
        assert_eq!(
            s.session().col("impersonatedBy").as_str(),
            "impersonated_by"
        );
        assert_eq!(
            s.session().fields().last().map(|f| f.name),
            Some("impersonatedBy")
        );
        // A deployment that declared `role` itself must drop it: the plugin owns the field.
        n.additional_user_fields[0].name = "role".into();
        assert!(matches!(
            Schema::resolve(&n),
            Err(SchemaError::AdditionalShadowsCore(f)) if f == "role"
        ));
    }

    #[test]
    fn types_accept_what_they_should() {
        assert!(FieldType::Number.accepts(&json!(3)));
        assert!(!FieldType::Number.accepts(&json!(1.5)));
        assert!(FieldType::Date.accepts(&json!("2024-01-01")));
        assert!(FieldType::Date.accepts(&json!("2024-05-06T07:08:09.000Z")));
        assert!(!FieldType::Date.accepts(&json!("not-a-date")));
        assert!(FieldType::StringArray.accepts(&json!(["a"])));
        assert!(!FieldType::StringArray.accepts(&json!([1])));
        assert_eq!(
            snake_case("accessTokenExpiresAt"),
            "access_token_expires_at"
        );
    }
}
