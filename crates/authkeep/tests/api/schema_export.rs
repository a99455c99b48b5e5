//! `authkeep schema --format sql`: the DDL it prints, run on an empty database, leaves
//! `authkeep migrate --status` nothing to do and nothing to warn about, with better-auth's names
//! and with renamed tables, columns, additional fields and the rateLimit table.

use crate::helpers::{Db, TestDb};
use crate::on_both_databases;

const CUSTOM: &str = r#"
[database]
casing = "snake_case"

[rate_limit]
storage = "database"

[user]
model_name = "users"

[user.fields]
emailVerified = "is_verified"

[session]
model_name = "user_sessions"

[session.fields]
userId = "owner_id"

[user.additional_fields.favoriteColor]
type = "string"
required = false
default_value = "blue"

[user.additional_fields.loginCount]
type = "number"
required = true
default_value = 0

[user.additional_fields.isAdmin]
type = "boolean"
required = false

[user.additional_fields.birthDate]
type = "date"
required = false

[user.additional_fields.tags]
type = "string[]"
required = false
"#;

fn run(dir: &std::path::Path, args: &[&str]) -> String {
    let out = crate::cli::authkeep(dir).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

async fn apply(db: &TestDb, sql: &str) {
    let result = match db.url.starts_with("sqlite") {
        true => {
            let pool = sqlx::SqlitePool::connect(&format!("{}?mode=rwc", db.url))
                .await
                .unwrap();
            let r = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&pool)
                .await
                .map(drop);
            pool.close().await;
            r
        }
        false => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            let r = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                .execute(&pool)
                .await
                .map(drop);
            pool.close().await;
            r
        }
    };
    result.expect("the printed SQL runs");
}

async fn check(db: Db, config: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    if let Some(toml) = config {
        std::fs::write(dir.path().join("authkeep.toml"), toml).unwrap();
    }
    let test_db = TestDb::new(db).await;
    let dialect = match db {
        Db::Sqlite => "sqlite",
        Db::Postgres => "postgresql",
    };
    let sql = run(
        dir.path(),
        &["schema", "--format", "sql", "--dialect", dialect],
    );
    // Without --dialect, the configured database's.
    let by_url = run(
        dir.path(),
        &["schema", "--format", "sql", "--database-url", &test_db.url],
    );
    assert_eq!(sql, by_url);
    apply(&test_db, &sql).await;
    let status = run(
        dir.path(),
        &["migrate", "--status", "--database-url", &test_db.url],
    );
    assert!(status.contains("up to date"), "{status}");
    for word in ["pending", "warning", "problem"] {
        assert!(!status.contains(word), "{status}");
    }
    if config.is_some() {
        for name in [
            "\"users\"",
            "\"user_sessions\"",
            "\"rateLimit\"",
            "\"owner_id\"",
            "\"favorite_color\"",
        ] {
            assert!(sql.contains(name), "{name} in {sql}");
        }
    }
}

on_both_databases! {
    async fn printed_sql_is_what_migrate_wants(db: Db) {
        check(db, None).await;
    }

    async fn printed_sql_follows_the_configured_names(db: Db) {
        check(db, Some(CUSTOM)).await;
    }
}

#[test]
fn formats_and_dialects_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::cli::authkeep(dir.path())
        .args(["schema", "--format", "sqlalchemy", "--dialect", "sqlite"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--format sql"));
    let out = crate::cli::authkeep(dir.path())
        .args(["schema", "--format", "yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    std::fs::write(
        dir.path().join("authkeep.toml"),
        "[user]\nmodel_name = \"bad name\"\n",
    )
    .unwrap();
    let out = crate::cli::authkeep(dir.path())
        .args(["schema", "--format", "sql"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad name"));
}
