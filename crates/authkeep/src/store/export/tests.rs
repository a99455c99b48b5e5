use super::*;
use crate::store::schema::{AdditionalFieldSpec, FieldType, ModelNaming, Naming};

fn renamed() -> Schema {
    let mut n = Naming::default();
    n.models.insert(
        "session",
        ModelNaming {
            model_name: Some("user_sessions".into()),
            fields: [("userId".to_owned(), "user_id".to_owned())].into(),
        },
    );
    n.additional_user_fields.push(AdditionalFieldSpec {
        name: "class".into(),
        column: None,
        ty: FieldType::StringArray,
        required: false,
        default: None,
        input: true,
        returned: true,
    });
    n.rate_limit_table = true;
    Schema::resolve(&n).unwrap()
}

#[test]
fn sql_is_the_migrators_ddl_in_dependency_order() {
    let s = Schema::default_names();
    let out = export(&s, Format::Sql, Backend::Postgres).unwrap();
    let user = out.find(r#"create table "user""#).unwrap();
    let session = out.find(r#"create table "session""#).unwrap();
    assert!(user < session, "{out}");
    assert!(out.contains(r#"create index "session_userId_idx" on "session" ("userId");"#));
    assert!(
        !out.contains("rateLimit"),
        "no rate-limit table unless configured"
    );
    let sqlite = export(&renamed(), Format::Sql, Backend::Sqlite).unwrap();
    assert!(
        sqlite.contains(r#"create table "user_sessions""#),
        "{sqlite}"
    );
    assert!(sqlite.contains(r#"create table "rateLimit""#), "{sqlite}");
}

#[test]
fn sqlalchemy_names_every_column_and_index_as_migrated() {
    let out = export(&renamed(), Format::SqlAlchemy, Backend::Postgres).unwrap();
    assert!(
        out.contains("class Session(Base):\n    __tablename__ = \"user_sessions\"\n"),
        "{out}"
    );
    assert!(
        out.contains(r#"__table_args__ = (Index("user_sessions_user_id_idx", "user_id"),)"#),
        "{out}"
    );
    assert!(
        out.contains(r#"user_id: Mapped[str] = mapped_column("user_id", Text, ForeignKey("user.id", ondelete="CASCADE"), nullable=False)"#),
        "{out}"
    );
    assert!(out.contains(r#"email_verified: Mapped[bool] = mapped_column("emailVerified", Boolean, nullable=False)"#), "{out}");
    assert!(
        out.contains(
            r#"class_: Mapped[Optional[list[str]]] = mapped_column("class", JSONB, nullable=True)"#
        ),
        "a keyword gets a suffix: {out}"
    );
    assert!(out.contains(r#"last_request: Mapped[int] = mapped_column("lastRequest", BigInteger, nullable=False)"#), "{out}");
    assert!(out.contains(r#"server_default=text("CURRENT_TIMESTAMP")"#));
    assert!(export(&renamed(), Format::SqlAlchemy, Backend::Sqlite).is_err());
}

#[test]
fn prisma_maps_the_real_names() {
    let out = export(&renamed(), Format::Prisma, Backend::Postgres).unwrap();
    assert!(out.contains("@@map(\"user_sessions\")"), "{out}");
    assert!(
        out.contains("@@index([userId], map: \"user_sessions_user_id_idx\")"),
        "{out}"
    );
    assert!(
        out.contains("@relation(fields: [userId], references: [id], onDelete: Cascade)"),
        "{out}"
    );
    assert!(
        out.contains("userId    String   @map(\"user_id\")"),
        "{out}"
    );
    assert!(out.contains("sessions      Session[]"), "{out}");
}
