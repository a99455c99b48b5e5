//! The two-factor plugin's statements on better-auth's `twoFactor` table. Every change that
//! depends on what was read is one statement (a compare-and-swap or an atomic increment), so
//! concurrent verifications count failures and use backup codes exactly as sequential ones.

use super::Backend;
use super::schema::{FieldType, Model, Schema};
use super::sql::Sql;

#[derive(Debug)]
pub(super) struct TwoFactorSql {
    /// `$1` userId → the user's row.
    pub by_user: Sql,
    /// `$1` id, `$2` secret, `$3` backupCodes, `$4` userId, `$5` verified.
    pub insert: Sql,
    /// `$1` secret, `$2` backupCodes, `$3` verified, `$4` id: a new enrolment over an old row.
    pub reenrol: Sql,
    /// `$1` id.
    pub mark_verified: Sql,
    /// `$1` userId.
    pub delete_of_user: Sql,
    /// `$1` new backupCodes, `$2` id, `$3` the backupCodes read: one use of a code.
    pub swap_backup_codes: Sql,
    /// `$1` backupCodes, `$2` id.
    pub set_backup_codes: Sql,
    /// `$1` id, `$2` lock threshold, `$3` lockedUntil to set at the threshold; returns the count.
    pub record_failure: Sql,
    /// `$1` id, `$2` now: clears a lock that has run out.
    pub clear_expired_lock: Sql,
    /// `$1` id.
    pub reset_failures: Sql,
}

impl TwoFactorSql {
    pub(super) fn build(schema: &Schema, backend: Backend, persistent: bool) -> TwoFactorSql {
        let sql = |text: String| Sql::new(text, persistent);
        let t = schema.two_factor();
        let name = &t.name;
        let c = |f: &str| t.col(f).clone();
        let (id, secret, codes, user) = (c("id"), c("secret"), c("backupCodes"), c("userId"));
        let (verified, failures, locked) = (
            c("verified"),
            c("failedVerificationCount"),
            c("lockedUntil"),
        );
        let list = std::iter::once(("id", FieldType::String))
            .chain(Model::TwoFactor.fields().iter().map(|f| (f.name, f.ty)))
            .map(|(field, ty)| match (backend, ty) {
                (Backend::Postgres, FieldType::Date) => {
                    format!("{}::timestamptz as \"{field}\"", t.col(field))
                }
                _ => format!("{} as \"{field}\"", t.col(field)),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let truth = if backend == Backend::Postgres {
            "true"
        } else {
            "1"
        };
        TwoFactorSql {
            by_user: sql(format!(
                "select {list} from {name} where {user} = $1 order by {id} limit 1"
            )),
            insert: sql(format!(
                "insert into {name} ({id}, {secret}, {codes}, {user}, {verified}, {failures}) values ($1, $2, $3, $4, $5, 0)"
            )),
            reenrol: sql(format!(
                "update {name} set {secret} = $1, {codes} = $2, {verified} = $3 where {id} = $4"
            )),
            mark_verified: sql(format!(
                "update {name} set {verified} = {truth} where {id} = $1"
            )),
            delete_of_user: sql(format!("delete from {name} where {user} = $1")),
            swap_backup_codes: sql(format!(
                "update {name} set {codes} = $1 where {id} = $2 and {codes} = $3"
            )),
            set_backup_codes: sql(format!("update {name} set {codes} = $1 where {id} = $2")),
            record_failure: sql(format!(
                "update {name} set {failures} = coalesce({failures}, 0) + 1, \
                 {locked} = case when coalesce({failures}, 0) + 1 >= $2 then $3 else {locked} end \
                 where {id} = $1 returning {failures}"
            )),
            clear_expired_lock: sql(format!(
                "update {name} set {failures} = 0, {locked} = null where {id} = $1 and {locked} <= $2"
            )),
            reset_failures: sql(format!(
                "update {name} set {failures} = 0, {locked} = null where {id} = $1"
            )),
        }
    }
}
