//! better-auth's admin `list-users` query: a search on email or name, one filter on any user
//! field, a sort on any user field, a page. Built per request from the resolved schema: every
//! column comes from it (an unknown field name is refused before any SQL is written), every
//! value is bound.

use serde_json::Value;

use super::queries::{Bound, bound};
use super::schema::{FieldType, Schema};
use super::sql::select_list;
use super::{Pool, Store, StoreResult, escape_like};
use crate::model::User;

/// How a value is compared (better-auth's `whereOperators` this query supports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
    Contains,
    StartsWith,
    EndsWith,
}

impl Operator {
    pub fn parse(s: &str) -> Option<Operator> {
        Some(match s {
            "eq" => Operator::Eq,
            "ne" => Operator::Ne,
            "lt" => Operator::Lt,
            "lte" => Operator::Lte,
            "gt" => Operator::Gt,
            "gte" => Operator::Gte,
            "contains" => Operator::Contains,
            "starts_with" => Operator::StartsWith,
            "ends_with" => Operator::EndsWith,
            _ => return None,
        })
    }
}

/// One condition on a user field (logical name).
#[derive(Debug, Clone)]
pub struct Condition {
    pub field: String,
    pub operator: Operator,
    /// As sent (query strings are text; it is read as the field's type).
    pub value: String,
}

#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub conditions: Vec<Condition>,
    /// Field and descending; `None`: the table's order (oldest first).
    pub sort: Option<(String, bool)>,
    pub limit: i64,
    pub offset: i64,
}

/// The column and type of a user field by logical name.
fn field(schema: &Schema, name: &str) -> Option<(String, FieldType)> {
    let t = schema.user();
    if name == "id" {
        return Some((t.col("id").to_string(), FieldType::String));
    }
    if let Some(f) = t.fields().find(|f| f.name == name) {
        return Some((t.col(f.name).to_string(), f.ty));
    }
    schema
        .additional()
        .find(|(f, _)| f.name == name)
        .map(|(f, c)| (c.to_string(), f.ty))
}

/// The value text as the field's type, as better-auth's adapter converts it.
fn typed(ty: FieldType, text: &str) -> Value {
    match ty {
        FieldType::Boolean => Value::Bool(text == "true" || text == "1"),
        FieldType::Number => text.parse::<i64>().map_or(Value::Null, Value::from),
        _ => Value::String(text.to_owned()),
    }
}

/// The `where` clause and its values; `None` when a field is unknown (better-auth's adapter
/// throws, and the endpoint answers an empty list).
fn conditions(schema: &Schema, q: &UserQuery) -> Option<(String, Vec<Bound>)> {
    let mut clauses = Vec::new();
    let mut binds = Vec::new();
    for c in &q.conditions {
        let (col, ty) = field(schema, &c.field)?;
        let n = binds.len() + 1;
        let like = |pattern: String| -> (String, Bound) {
            (
                format!("{col} like ${n} escape '\\'"),
                Bound::Text(Some(pattern)),
            )
        };
        let (clause, value) = match c.operator {
            Operator::Contains => like(format!("%{}%", escape_like(&c.value))),
            Operator::StartsWith => like(format!("{}%", escape_like(&c.value))),
            Operator::EndsWith => like(format!("%{}", escape_like(&c.value))),
            op => {
                let sign = match op {
                    Operator::Ne => "<>",
                    Operator::Lt => "<",
                    Operator::Lte => "<=",
                    Operator::Gt => ">",
                    Operator::Gte => ">=",
                    _ => "=",
                };
                let v = typed(ty, &c.value);
                (format!("{col} {sign} ${n}"), bound(ty, Some(&v)))
            }
        };
        clauses.push(clause);
        binds.push(value);
    }
    let text = if clauses.is_empty() {
        String::new()
    } else {
        format!(" where {}", clauses.join(" and "))
    };
    Some((text, binds))
}

macro_rules! run {
    ($pool:expr, $db:ty, $ts:path, $module:ident, $schema:expr, $list:expr, $count:expr, $binds:expr, $limit:expr, $offset:expr) => {{
        fn bind<'q>(
            q: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
            b: &Bound,
        ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
            match b {
                Bound::Text(v) => q.bind(v.clone()),
                Bound::Int(v) => q.bind(*v),
                Bound::Bool(v) => q.bind(*v),
                Bound::Date(v) => q.bind(v.map($ts)),
            }
        }
        let mut list = sqlx::query(sqlx::AssertSqlSafe($list)).persistent(false);
        let mut count = sqlx::query(sqlx::AssertSqlSafe($count)).persistent(false);
        for b in $binds {
            list = bind(list, b);
            count = bind(count, b);
        }
        let rows = list.bind($limit).bind($offset).fetch_all($pool).await?;
        let users = rows
            .iter()
            .map(|r| super::queries::$module::decode_user(r, "", $schema))
            .collect::<StoreResult<Vec<User>>>()?;
        let total: i64 = sqlx::Row::try_get(&count.fetch_one($pool).await?, 0)?;
        Ok((users, total))
    }};
}

impl Store {
    /// The users `q` selects (one page) and how many it selects in all.
    pub async fn search_users(&self, q: &UserQuery) -> StoreResult<(Vec<User>, i64)> {
        let schema = self.schema();
        let Some((filter, binds)) = conditions(schema, q) else {
            return Ok((Vec::new(), 0));
        };
        let t = schema.user();
        let order = match &q.sort {
            Some((name, desc)) => match field(schema, name) {
                Some((col, _)) => format!("{col} {}", if *desc { "desc" } else { "asc" }),
                None => return Ok((Vec::new(), 0)),
            },
            None => format!("{}, {}", t.col("createdAt"), t.col("id")),
        };
        let backend = self.backend();
        let users = select_list(backend, schema, super::schema::Model::User, "", "");
        let n = binds.len();
        let list = format!(
            "select {users} from {}{filter} order by {order} limit ${} offset ${}",
            t.name,
            n + 1,
            n + 2
        );
        let count = format!("select count(*) from {}{filter}", t.name);
        match &self.pool {
            Pool::Postgres(p) => run!(
                p,
                sqlx::Postgres,
                super::queries::pg_ts,
                pg,
                schema,
                list,
                count,
                &binds,
                q.limit,
                q.offset
            ),
            Pool::Sqlite(p) => run!(
                p,
                sqlx::Sqlite,
                super::queries::sqlite_ts,
                sqlite,
                schema,
                list,
                count,
                &binds,
                q.limit,
                q.offset
            ),
        }
    }
}
