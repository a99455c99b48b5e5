//! The admin plugin's impersonation sessions in the database: the row and its `impersonatedBy`
//! marker are written in one transaction, so no session of the user exists unmarked.

use sqlx::Connection;

use super::{Pool, Store, StoreResult};
use crate::model::Session;

impl Store {
    pub(super) async fn db_create_impersonation_session(&self, s: &Session) -> StoreResult<()> {
        let t = self.schema().session();
        let mark = format!(
            "update {} set {} = $1 where {} = $2",
            t.name,
            t.col("impersonatedBy"),
            t.col("token")
        );
        let admin = s.impersonated_by.admin().map(str::to_owned);
        let sql = &self.inner.sql;
        match &self.pool {
            Pool::Postgres(p) => {
                let mut conn = p.acquire().await?;
                let mut tx = conn.begin().await?;
                super::queries::pg::insert_session(&mut tx, sql, s).await?;
                sqlx::query(sqlx::AssertSqlSafe(mark))
                    .persistent(false)
                    .bind(admin)
                    .bind(s.token.clone())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            Pool::Sqlite(p) => {
                let mut conn = p.acquire().await?;
                let mut tx = conn.begin().await?;
                super::queries::sqlite::insert_session(&mut tx, sql, s).await?;
                sqlx::query(sqlx::AssertSqlSafe(mark))
                    .persistent(false)
                    .bind(admin)
                    .bind(s.token.clone())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }
}
