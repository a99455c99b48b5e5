//! Every statement the store runs, built once at start-up from the configured [`Schema`]:
//! table and column names are checked identifiers, everything else is constant text here.
//! Reads alias each column to its logical name (`"email_verified" as "emailVerified"`), so rows
//! decode the same whatever the deployment called its columns.
//!
//! Placeholders are `$n` and appear in increasing order, which both drivers accept.

use std::sync::Arc;

use super::Backend;
use super::schema::{FieldType, Ident, Model, Schema, Table};

/// A built statement; cheap to clone into each query.
#[derive(Debug, Clone)]
pub(super) struct Sql {
    text: Arc<str>,
    /// Whether the driver may keep it prepared on the connection (named statement). Not
    /// through a transaction-mode pooler: the next transaction may run on another server.
    persistent: bool,
}

impl Sql {
    pub(super) fn new(text: String, persistent: bool) -> Sql {
        Sql {
            text: Arc::from(text),
            persistent,
        }
    }

    pub(super) fn text(&self) -> Arc<str> {
        self.text.clone()
    }

    pub(super) fn persistent(&self) -> bool {
        self.persistent
    }
}

impl std::fmt::Display for Sql {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::ops::Deref for Sql {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

/// The statements, one field each.
#[derive(Debug)]
pub(super) struct Statements {
    pub user_by_email: Sql,
    pub user_by_id: Sql,
    /// Users oldest first, a page at a time (`limit`, `offset`): the operator's list.
    pub list_users: Sql,
    pub count_users: Sql,
    pub insert_user: Sql,
    pub insert_account: Sql,
    pub insert_session: Sql,
    pub credential_account: Sql,
    pub account_by_provider: Sql,
    pub accounts_of_user: Sql,
    pub update_account_tokens: Sql,
    pub delete_user_account: Sql,
    pub set_account_password: Sql,
    pub set_credential_password: Sql,
    pub delete_sessions_of_user: Sql,
    pub delete_accounts_of_user: Sql,
    pub session_with_user: Sql,
    pub refresh_session: Sql,
    pub delete_session: Sql,
    pub delete_user_session: Sql,
    pub active_sessions: Sql,
    pub delete_sessions_except: Sql,
    pub update_user_profile: Sql,
    pub mark_email_verified: Sql,
    pub update_email: Sql,
    pub delete_user: Sql,
    pub insert_verification: Sql,
    pub verification: Sql,
    pub consume_verification: Sql,
    pub delete_verifications_of: Sql,
    pub swap_verification_value: Sql,
    pub delete_verification_if: Sql,
    pub delete_verification: Sql,
    pub delete_expired_verifications: Sql,
    pub outstanding_verifications: Sql,
    pub jwks: Sql,
    pub insert_jwk: Sql,
    pub rate_limit: super::sql_rate_limit::RateLimitSql,
    pub two_factor: super::sql_two_factor::TwoFactorSql,
}

/// How a column is read: aliased to its logical name; on PostgreSQL, dates as `timestamptz`
/// (so a `timestamp` column written by another tool decodes too).
fn read(
    backend: Backend,
    prefix: &str,
    table: &Table,
    field: &str,
    ty: FieldType,
    alias: &str,
) -> String {
    let col = table.col(field);
    let expr = format!("{prefix}{col}");
    match (backend, ty) {
        (Backend::Postgres, FieldType::Date) => format!("{expr}::timestamptz as \"{alias}\""),
        _ => format!("{expr} as \"{alias}\""),
    }
}

/// The select list of a model's own fields (plus `id`), each aliased `<alias_prefix><field>`.
pub(super) fn select_list(
    backend: Backend,
    schema: &Schema,
    model: Model,
    prefix: &str,
    alias_prefix: &str,
) -> String {
    let table = schema.table(model);
    let mut parts = vec![read(
        backend,
        prefix,
        table,
        "id",
        FieldType::String,
        &format!("{alias_prefix}id"),
    )];
    parts.extend(table.fields().map(|f| {
        read(
            backend,
            prefix,
            table,
            f.name,
            f.ty,
            &format!("{alias_prefix}{}", f.name),
        )
    }));
    if model == Model::User {
        parts.extend(schema.additional().enumerate().map(|(i, (field, column))| {
            let expr = format!("{prefix}{column}");
            let expr = match (backend, field.ty) {
                (Backend::Postgres, FieldType::Date) => format!("{expr}::timestamptz"),
                _ => format!("cast({expr} as text)"),
            };
            format!("{expr} as \"{alias_prefix}a{i}\"")
        }));
    }
    parts.join(", ")
}

/// The store's only way to name a placeholder bound to a value of `ty`: JSON arrays go to
/// PostgreSQL's `jsonb` from text.
fn placeholder(backend: Backend, n: usize, ty: FieldType) -> String {
    match (backend, ty) {
        (Backend::Postgres, FieldType::StringArray | FieldType::NumberArray) => {
            format!("${n}::jsonb")
        }
        _ => format!("${n}"),
    }
}

/// `insert into t (a, b, …) values ($1, $2, …)` for `fields` (logical names) plus, for the user
/// table, every additional field.
fn insert(backend: Backend, schema: &Schema, model: Model, fields: &[&str]) -> String {
    let table = schema.table(model);
    let mut columns: Vec<String> = fields.iter().map(|f| table.col(f).to_string()).collect();
    let mut values: Vec<String> = (1..=fields.len()).map(|n| format!("${n}")).collect();
    if model == Model::User {
        for (field, column) in schema.additional() {
            columns.push(column.to_string());
            values.push(placeholder(backend, values.len() + 1, field.ty));
        }
    }
    format!(
        "insert into {} ({}) values ({})",
        table.name,
        columns.join(", "),
        values.join(", ")
    )
}

/// The fields `insert_user`, `insert_session`, `insert_account` bind, in order.
pub(super) const USER_INSERT: [&str; 7] = [
    "id",
    "name",
    "email",
    "emailVerified",
    "image",
    "createdAt",
    "updatedAt",
];
pub(super) const SESSION_INSERT: [&str; 8] = [
    "id",
    "token",
    "userId",
    "expiresAt",
    "ipAddress",
    "userAgent",
    "createdAt",
    "updatedAt",
];
pub(super) const ACCOUNT_INSERT: [&str; 13] = [
    "id",
    "accountId",
    "providerId",
    "userId",
    "accessToken",
    "refreshToken",
    "idToken",
    "accessTokenExpiresAt",
    "refreshTokenExpiresAt",
    "scope",
    "password",
    "createdAt",
    "updatedAt",
];

impl Statements {
    /// `persistent`: statements may stay prepared on their connection (not behind a
    /// transaction-mode pooler).
    pub(super) fn build(schema: &Schema, backend: Backend, persistent: bool) -> Statements {
        let sql = |text: String| Sql {
            text: Arc::from(text),
            persistent,
        };
        let (u, s, a, v, j) = (
            schema.user(),
            schema.session(),
            schema.account(),
            schema.verification(),
            schema.jwks(),
        );
        let users = select_list(backend, schema, Model::User, "", "");
        let sessions = select_list(backend, schema, Model::Session, "", "");
        let accounts = select_list(backend, schema, Model::Account, "", "");
        let verifications = select_list(backend, schema, Model::Verification, "", "");
        let jwks = select_list(backend, schema, Model::Jwks, "", "");
        let c = |t: &Table, f: &str| t.col(f).clone();
        let (ut, st, at, vt, jt) = (&u.name, &s.name, &a.name, &v.name, &j.name);
        let uid = c(u, "id");
        let (s_user, s_token) = (c(s, "userId"), c(s, "token"));
        let (a_user, a_provider) = (c(a, "userId"), c(a, "providerId"));
        let profile_sets = profile_update_sets(backend, schema);
        let next = profile_sets.1;
        Statements {
            user_by_email: sql(format!(
                "select {users} from {ut} where {} = $1",
                c(u, "email")
            )),
            user_by_id: sql(format!("select {users} from {ut} where {uid} = $1")),
            list_users: sql(format!(
                "select {users} from {ut} order by {}, {uid} limit $1 offset $2",
                c(u, "createdAt")
            )),
            count_users: sql(format!("select count(*) from {ut}")),
            insert_user: sql(insert(backend, schema, Model::User, &USER_INSERT)),
            insert_account: sql(insert(backend, schema, Model::Account, &ACCOUNT_INSERT)),
            insert_session: sql(insert(backend, schema, Model::Session, &SESSION_INSERT)),
            credential_account: sql(format!(
                "select {accounts} from {at} where {a_user} = $1 and {a_provider} = $2 order by {} limit 1",
                c(a, "createdAt")
            )),
            account_by_provider: sql(format!(
                "select {accounts} from {at} where {a_provider} = $1 and {} = $2 order by {} limit 1",
                c(a, "accountId"),
                c(a, "createdAt")
            )),
            update_account_tokens: sql(format!(
                "update {at} set {}, {} = $13 where {} = $14",
                [
                    "accessToken",
                    "refreshToken",
                    "idToken",
                    "accessTokenExpiresAt",
                    "refreshTokenExpiresAt",
                    "scope"
                ]
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let col = c(a, f);
                    let n = 2 * i + 1;
                    format!("{col} = case when ${n} then ${} else {col} end", n + 1)
                })
                .collect::<Vec<_>>()
                .join(", "),
                c(a, "updatedAt"),
                c(a, "id")
            )),
            delete_user_account: sql(format!(
                "delete from {at} where {} = $1 and {a_user} = $2",
                c(a, "id")
            )),
            accounts_of_user: sql(format!(
                "select {accounts} from {at} where {a_user} = $1 order by {}",
                c(a, "createdAt")
            )),
            set_account_password: sql(format!(
                "update {at} set {} = $1, {} = $2 where {} = $3",
                c(a, "password"),
                c(a, "updatedAt"),
                c(a, "id")
            )),
            set_credential_password: sql(format!(
                "update {at} set {} = $1, {} = $2 where {a_user} = $3 and {a_provider} = $4",
                c(a, "password"),
                c(a, "updatedAt")
            )),
            delete_sessions_of_user: sql(format!("delete from {st} where {s_user} = $1")),
            delete_accounts_of_user: sql(format!("delete from {at} where {a_user} = $1")),
            session_with_user: sql(format!(
                "select {}, {} from {st} s join {ut} u on u.{uid} = s.{s_user} where s.{s_token} = $1",
                select_list(backend, schema, Model::Session, "s.", ""),
                select_list(backend, schema, Model::User, "u.", "u_"),
            )),
            refresh_session: sql(format!(
                "update {st} set {} = $1, {} = $2 where {s_token} = $3",
                c(s, "expiresAt"),
                c(s, "updatedAt")
            )),
            delete_session: sql(format!("delete from {st} where {s_token} = $1")),
            delete_user_session: sql(format!(
                "delete from {st} where {s_user} = $1 and {s_token} = $2"
            )),
            active_sessions: sql(format!(
                "select {sessions} from {st} where {s_user} = $1 and {} > $2 order by {}",
                c(s, "expiresAt"),
                c(s, "createdAt")
            )),
            delete_sessions_except: sql(format!(
                "delete from {st} where {s_user} = $1 and {s_token} <> $2"
            )),
            update_user_profile: sql(format!(
                "update {ut} set {}, {} = ${next} where {uid} = ${}",
                profile_sets.0,
                c(u, "updatedAt"),
                next + 1
            )),
            mark_email_verified: sql(format!(
                "update {ut} set {} = $1, {} = $2 where {uid} = $3",
                c(u, "emailVerified"),
                c(u, "updatedAt")
            )),
            update_email: sql(format!(
                "update {ut} set {} = $1, {} = $2, {} = $3 where {uid} = $4",
                c(u, "email"),
                c(u, "emailVerified"),
                c(u, "updatedAt")
            )),
            delete_user: sql(format!("delete from {ut} where {uid} = $1")),
            insert_verification: sql(format!(
                "insert into {vt} ({}, {}, {}, {}, {}, {}) values ($1, $2, $3, $4, $5, $6)",
                c(v, "id"),
                c(v, "identifier"),
                c(v, "value"),
                c(v, "expiresAt"),
                c(v, "createdAt"),
                c(v, "updatedAt")
            )),
            verification: sql(format!(
                "select {verifications} from {vt} where {} = $1 order by {} desc limit 1",
                c(v, "identifier"),
                c(v, "createdAt")
            )),
            consume_verification: sql(format!(
                "delete from {vt} where {} = $1 returning {verifications}",
                c(v, "identifier")
            )),
            delete_verifications_of: sql(format!(
                "delete from {vt} where {} = $1",
                c(v, "identifier")
            )),
            swap_verification_value: sql(format!(
                "update {vt} set {} = $1, {} = $2 where {} = $3 and {} = $4",
                c(v, "value"),
                c(v, "updatedAt"),
                c(v, "id"),
                c(v, "value")
            )),
            delete_verification_if: sql(format!(
                "delete from {vt} where {} = $1 and {} = $2",
                c(v, "id"),
                c(v, "value")
            )),
            delete_verification: sql(format!("delete from {vt} where {} = $1", c(v, "id"))),
            delete_expired_verifications: sql(format!(
                "delete from {vt} where {} < $1",
                c(v, "expiresAt")
            )),
            outstanding_verifications: sql(format!(
                "select {} from {vt} where {} like $1 escape '\\' and {} like $2 escape '\\' order by {} desc",
                c(v, "id"),
                c(v, "identifier"),
                c(v, "value"),
                c(v, "createdAt")
            )),
            jwks: sql(format!(
                "select {jwks} from {jt} order by {}",
                c(j, "createdAt")
            )),
            insert_jwk: sql(format!(
                "insert into {jt} ({}, {}, {}, {}, {}, {}, {}) values ($1, $2, $3, $4, $5, $6, $7)",
                c(j, "id"),
                c(j, "publicKey"),
                c(j, "privateKey"),
                c(j, "createdAt"),
                c(j, "expiresAt"),
                c(j, "alg"),
                c(j, "crv")
            )),
            rate_limit: super::sql_rate_limit::RateLimitSql::build(schema, persistent),
            two_factor: super::sql_two_factor::TwoFactorSql::build(schema, backend, persistent),
        }
    }
}

/// `"name" = case when $1 then $2 else "name" end, …` for name, image and each additional
/// field: one statement serves every combination of fields a request updates. Returns the
/// set list and the next free placeholder number.
fn profile_update_sets(backend: Backend, schema: &Schema) -> (String, usize) {
    let u = schema.user();
    let mut sets = Vec::new();
    let mut n = 1;
    let mut set = |column: &Ident, ty: FieldType| {
        let value = placeholder(backend, n + 1, ty);
        sets.push(format!(
            "{column} = case when ${n} then {value} else {column} end"
        ));
        n += 2;
    };
    set(u.col("name"), FieldType::String);
    set(u.col("image"), FieldType::String);
    for (field, column) in schema.additional() {
        set(column, field.ty);
    }
    (sets.join(", "), n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema::{AdditionalFieldSpec, ModelNaming, Naming};

    #[test]
    fn statements_use_the_configured_names() {
        let mut n = Naming::default();
        n.models.insert(
            "session",
            ModelNaming {
                model_name: Some("user_sessions".into()),
                fields: [
                    ("userId".to_owned(), "user_id".to_owned()),
                    ("expiresAt".to_owned(), "expires_at".to_owned()),
                ]
                .into(),
            },
        );
        n.additional_user_fields.push(AdditionalFieldSpec {
            name: "tags".into(),
            column: None,
            ty: FieldType::StringArray,
            required: false,
            default: None,
            input: true,
            returned: true,
        });
        let s = Schema::resolve(&n).unwrap();
        let st = Statements::build(&s, Backend::Postgres, true);
        assert_eq!(
            &*st.delete_sessions_of_user,
            r#"delete from "user_sessions" where "user_id" = $1"#
        );
        assert!(
            st.session_with_user
                .contains(r#"s."expires_at"::timestamptz as "expiresAt""#),
            "{}",
            st.session_with_user
        );
        assert!(st.insert_user.ends_with("$8::jsonb)"), "{}", st.insert_user);
        assert!(
            st.update_user_profile
                .contains(r#""tags" = case when $5 then $6::jsonb else "tags" end"#),
            "{}",
            st.update_user_profile
        );
        assert!(
            st.update_user_profile
                .ends_with(r#""updatedAt" = $7 where "id" = $8"#),
            "{}",
            st.update_user_profile
        );
        let sqlite = Statements::build(&s, Backend::Sqlite, true);
        assert!(
            sqlite
                .user_by_id
                .contains(r#"cast("tags" as text) as "a0""#),
            "{}",
            sqlite.user_by_id
        );
    }
}
