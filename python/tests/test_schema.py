"""database mode over renamed tables and columns (better-auth's modelName, fields and
additionalFields; authkeep.toml's [user], [session], [database] casing...): the real server
creates and writes the tables under those names, and the package reads them."""

# No `from __future__ import annotations`: the routes below name a local `auth` in Annotated
# dependencies, which FastAPI evaluates only when annotations are real objects.

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any

import httpx
import psycopg
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from authkeep_fastapi import AdditionalField, AuthKeep, Model, Schema, Session, User
from authkeep_fastapi.database import session_query
from authkeep_fastapi.schema import snake_case
from conftest import SECRET, Server, new_database, sign_up, start_server

# The names of the brief: tables and some columns renamed, one additional field.
SEED_TOML = """
[database]
casing = "snake_case"

[user]
model_name = "users"

[user.fields]
emailVerified = "email_verified"

[user.additional_fields.status]
type = "string"
required = false
default_value = "active"
input = false
returned = true
field_name = "status"

[session]
model_name = "user_sessions"

[session.fields]
userId = "user_id"
expiresAt = "expires_at"

[account]
model_name = "accounts"

[verification]
model_name = "verifications"
"""

# The same names given as arguments.
SEED = Schema(
    user=Model("users", {"emailVerified": "email_verified"}),
    session=Model("user_sessions", {"userId": "user_id", "expiresAt": "expires_at"}),
    account=Model("accounts"),
    verification=Model("verifications"),
    casing="snake_case",
    additional_user_fields={
        "status": AdditionalField("string", required=False, default_value="active", input=False, field_name="status"),
    },
)

# camelCase tables left at better-auth's names, columns from casing only, one field per type.
SNAKE_TOML = """
[database]
casing = "snake_case"

[user.additional_fields.favoriteColor]
type = "string"
required = false
default_value = "blue"

[user.additional_fields.loginCount]
type = "number"
required = false
default_value = 0

[user.additional_fields.isAdmin]
type = "boolean"
required = false
default_value = false
input = false

[user.additional_fields.birthDate]
type = "date"
required = false

[user.additional_fields.tags]
type = "string[]"
required = false

[user.additional_fields.luckyNumbers]
type = "number[]"
required = false

[user.additional_fields.internalNote]
type = "string"
required = false
returned = false
"""


def serve(tmp: Path, toml: str, database_url: str) -> tuple[Server, Path]:
    config = tmp / "authkeep.toml"
    config.write_text(toml)
    return start_server(database_url, AUTHKEEP_CONFIG=str(config)), config


def stop(server: Server) -> None:
    server.proc.terminate()
    server.proc.wait(10)


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    """The auth server over a fresh database with the seed's names, and its authkeep.toml."""
    with new_database() as url:
        server, config = serve(tmp_path_factory.mktemp("seed"), SEED_TOML, url)
        try:
            yield server, config
        finally:
            stop(server)


@pytest.fixture(scope="module")
def snake(tmp_path_factory):
    with new_database() as url:
        server, config = serve(tmp_path_factory.mktemp("snake"), SNAKE_TOML, url)
        try:
            yield server, config
        finally:
            stop(server)


def tables(database_url: str) -> dict[str, list[str]]:
    with psycopg.connect(database_url) as c:
        rows = c.execute(
            "select table_name, column_name from information_schema.columns where table_schema = 'public' order by ordinal_position"
        ).fetchall()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return out


def plain(value: Any) -> Any:
    """A value with its Python type, as JSON: the test checks types, not only values."""
    if isinstance(value, datetime):
        return {"datetime": value.isoformat(), "aware": value.tzinfo is not None}
    return value


def app_for(auth: AuthKeep) -> FastAPI:
    app = FastAPI(lifespan=auth.lifespan)

    @app.get("/me")
    async def me(user: Annotated[User, Depends(auth.current_user)]) -> dict:
        return {"email": user.email, "email_verified": user.email_verified, "extra": {k: plain(v) for k, v in user.extra.items()}}

    @app.get("/status")
    async def status(user: Annotated[User, Depends(auth.current_user)]) -> dict:
        return {"status": user.status}  # an attribute as well as in user.extra

    if auth.mode != "jwt":

        @app.get("/session")
        async def session(s: Annotated[Session, Depends(auth.current_session)]) -> dict:
            return {"user_id": s.user_id, "expires_at": s.expires_at.isoformat()}

    return app


def database_auth(server: Server, schema: Schema | None) -> AuthKeep:
    return AuthKeep(base_url=server.origin, mode="database", database_url=server.database_url, secret=SECRET, schema=schema)


# --- the seed's names, from the file and from arguments --------------------------------------------


def test_the_server_made_the_seed_tables(seed):
    server, _ = seed
    found = tables(server.database_url)
    assert {"users", "user_sessions", "accounts", "verifications"} <= set(found), found
    assert "user" not in found and "session" not in found, "better-auth's default tables were not made"
    assert {"email_verified", "created_at", "status"} <= set(found["users"]), found["users"]
    assert {"user_id", "expires_at", "ip_address"} <= set(found["user_sessions"]), found["user_sessions"]


def test_the_file_and_the_arguments_give_the_same_schema(seed):
    _, config = seed
    assert Schema.from_toml(config) == SEED
    assert SEED.table("user") == "users" and SEED.table("session") == "user_sessions"
    assert SEED.column("user", "emailVerified") == "email_verified"
    assert SEED.column("user", "updatedAt") == "updated_at", "snake_case for the fields not listed"
    assert SEED.column("session", "id") == "id"
    assert SEED.column("user", "status") == "status"


def test_the_query_has_the_one_join_shape(seed):
    _, config = seed
    query = session_query(Schema.from_toml(config))
    assert 'from "user_sessions" s join "users" u on u."id" = s."user_id" where s."token" = %s and s."expires_at" > now()' in query
    assert 'u."email_verified" as "user.emailVerified"' in query and 'u."status" as "user.status"' in query
    assert query.count(" from ") == 1 and query.count("%s") == 1


@pytest.mark.parametrize("how", ["toml", "arguments"])
def test_database_mode_reads_the_renamed_tables(seed, how):
    server, config = seed
    schema = Schema.from_toml(config) if how == "toml" else SEED
    account = sign_up(server)
    with TestClient(app_for(database_auth(server, schema))) as client:
        for headers in (
            {"cookie": account.cookie},
            {"authorization": f"Bearer {account.signed}"},
            {"authorization": f"Bearer {account.token}"},
        ):
            r = client.get("/me", headers=headers)
            assert r.status_code == 200, (headers, r.text)
            assert r.json() == {"email": account.email, "email_verified": False, "extra": {"status": "active"}}
            assert client.get("/status", headers=headers).json() == {"status": "active"}
        s = client.get("/session", headers={"cookie": account.cookie})
        assert s.status_code == 200 and s.json()["expires_at"].startswith("20")
        httpx.post(f"{server.api}/sign-out", headers={"cookie": account.cookie, "origin": server.origin})
        r = client.get("/me", headers={"cookie": account.cookie})
        assert r.status_code == 401 and r.json()["detail"]["reason"] == "session expired or revoked"
        assert client.get("/me", headers={"authorization": f"Bearer {account.token}"}).status_code == 401


def test_the_default_names_do_not_find_the_renamed_tables_and_say_why(seed, caplog):
    # An API left at better-auth's names over a renamed database: an outage of the setup (503,
    # never 401), logged with what to check.
    server, _ = seed
    account = sign_up(server)
    with caplog.at_level(logging.WARNING, logger="authkeep_fastapi"):
        with TestClient(app_for(database_auth(server, None))) as client:
            assert client.get("/me", headers={"cookie": account.cookie}).status_code == 503
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "UndefinedTable" in logged and "Schema.from_toml" in logged, logged
    assert account.token not in logged


def test_an_injection_in_a_name_is_refused_at_construction(tmp_path):
    config = tmp_path / "authkeep.toml"
    config.write_text(SEED_TOML.replace('model_name = "users"', "model_name = 'users\"; drop table x; --'"))
    with pytest.raises(ValueError, match=r"user\.model_name .* is not a plain SQL identifier"):
        Schema.from_toml(config)
    for bad in (
        lambda n: Schema(user=Model(n)),
        lambda n: Schema(session=Model(None, {"token": n})),
        lambda n: Schema(additional_user_fields={"status": AdditionalField("string", field_name=n)}),
    ):
        for name in ('users"; drop table x; --', "a b", "1users", "", "sch.table", "x" * 64, "é"):
            with pytest.raises(ValueError, match="not a plain SQL identifier"):
                bad(name)
    assert Schema(user=Model("x" * 63)).table("user") == "x" * 63, "63 bytes is PostgreSQL's limit, and allowed"


# --- casing = "snake_case", and every type of additional field ------------------------------------


def test_snake_case_columns_and_typed_additional_fields(snake):
    server, config = snake
    found = tables(server.database_url)
    assert "user" in found and "session" in found, "casing does not rename tables"
    assert {"email_verified", "created_at", "favorite_color", "birth_date", "lucky_numbers", "internal_note"} <= set(found["user"])
    assert {"user_id", "expires_at", "user_agent"} <= set(found["session"])

    account = sign_up(
        server, birthDate="1990-05-06T00:00:00.000Z", tags=["a", "b"], luckyNumbers=[7, 13], loginCount=3,
    )
    with psycopg.connect(server.database_url, autocommit=True) as c:
        c.execute('update "user" set "internal_note" = %s where "email" = %s', ("not for the API", account.email))
    expected = {
        "favoriteColor": "blue",
        "loginCount": 3,
        "isAdmin": False,
        "birthDate": {"datetime": "1990-05-06T00:00:00+00:00", "aware": True},
        "tags": ["a", "b"],
        "luckyNumbers": [7, 13],
    }
    schema = Schema.from_toml(config)
    assert schema.column("user", "emailVerified") == "email_verified" and schema.table("user") == "user"
    with TestClient(app_for(database_auth(server, schema))) as client:
        r = client.get("/me", headers={"cookie": account.cookie})
        assert r.status_code == 200, r.text
        assert r.json()["extra"] == expected, "returned = false fields are not read"
    # The other modes give the same user, typed by the same schema: from get-session's JSON...
    with TestClient(app_for(AuthKeep(base_url=server.origin, mode="remote", schema=schema))) as client:
        assert client.get("/me", headers={"cookie": account.cookie}).json()["extra"] == expected
    # ...and from the JWT's claims, where only declared fields are the user's.
    with TestClient(app_for(AuthKeep(base_url=server.origin, schema=schema))) as client:
        assert client.get("/me", headers={"authorization": f"Bearer {account.jwt}"}).json()["extra"] == expected
    with TestClient(app_for(AuthKeep(base_url=server.origin))) as client:
        assert client.get("/me", headers={"authorization": f"Bearer {account.jwt}"}).json()["extra"] == {}


def test_arrays_stored_as_text_json_and_dates_without_zone_read_the_same(snake):
    # A team's own table may hold arrays as JSON text and dates in timestamp columns without a
    # zone; the values read back as better-auth returns them.
    server, config = snake
    account = sign_up(server, tags=["x"], birthDate="2000-01-02T03:04:05.000Z")
    with new_database() as url:
        with psycopg.connect(url, autocommit=True) as c:
            c.execute(
                'create table "people" ("id" text primary key, "name" text, "email" text, "email_verified" boolean,'
                ' "image" text, "created_at" timestamptz, "updated_at" timestamptz, "tags" text, "birth_date" timestamp,'
                ' "lucky_numbers" text, "login_count" numeric, "is_admin" boolean, "favorite_color" text)'
            )
            c.execute(
                'create table "logins" ("id" text primary key, "token" text unique, "user_id" text, "expires_at" timestamptz,'
                ' "created_at" timestamptz, "updated_at" timestamptz, "ip_address" text, "user_agent" text)'
            )
            c.execute(
                """insert into "people" values ('u1', 'P', 'p@example.com', true, null, now(), now(), '["x","y"]',"""
                """ '2000-01-02 03:04:05', 'not json', 42, null, 'red')"""
            )
            c.execute("""insert into "logins" values ('s1', %s, 'u1', now() + interval '1 hour', now(), now(), null, null)""", (account.token,))
        own = Schema.from_config(
            {
                "database": {"casing": "snake_case"},
                "user": {"model_name": "people", "additional_fields": {
                    "favoriteColor": {"type": "string"}, "loginCount": {"type": "number"}, "isAdmin": {"type": "boolean"},
                    "birthDate": {"type": "date"}, "tags": {"type": "string[]"}, "luckyNumbers": {"type": "number[]"},
                }},
                "session": {"model_name": "logins"},
            }
        )
        auth = AuthKeep(base_url=server.origin, mode="database", database_url=url, secret=SECRET, schema=own)
        with TestClient(app_for(auth)) as client:
            r = client.get("/me", headers={"cookie": account.cookie})
            assert r.status_code == 200, r.text
            assert r.json()["extra"] == {
                "favoriteColor": "red",
                "loginCount": 42,
                "isAdmin": None,
                "birthDate": {"datetime": "2000-01-02T03:04:05+00:00", "aware": True},
                "tags": ["x", "y"],
                "luckyNumbers": None,
            }


def test_the_default_schema_is_better_auths_names(server, account):
    default = Schema()
    assert 'from "session" s join "user" u on u."id" = s."userId" where s."token" = %s and s."expiresAt" > now()' in session_query(default)
    auth = database_auth(server, None)
    assert auth.schema == default
    with TestClient(app_for(auth)) as client:
        r = client.get("/me", headers={"cookie": account.cookie})
        assert r.status_code == 200 and r.json()["extra"] == {}


# --- what the schema refuses, as the auth server refuses it ---------------------------------------


def test_schema_rules_mirror_the_server():
    assert [snake_case(n) for n in ("emailVerified", "accessTokenExpiresAt", "id", "URL")] == [
        "email_verified", "access_token_expires_at", "id", "u_r_l",
    ]
    refused = {
        "unknown field": lambda: Schema(user=Model(None, {"emailVerifed": "x"})),
        "id renamed": lambda: Schema(session=Model(None, {"id": "session_id"})),
        "two fields, one column": lambda: Schema(user=Model(None, {"name": "image"})),
        "additional field onto a core column": lambda: Schema(
            casing="snake_case", additional_user_fields={"extra": AdditionalField("string", field_name="email_verified")}
        ),
        "two models, one table": lambda: Schema(session=Model("user")),
        "the jwks table": lambda: Schema(account=Model("jwks")),
        "additional field shadows a core one": lambda: Schema(additional_user_fields={"email": AdditionalField("string")}),
        "additional field shadows a User attribute": lambda: Schema(additional_user_fields={"created_at": AdditionalField("date")}),
        "unknown type": lambda: Schema(additional_user_fields={"x": AdditionalField("text")}),  # type: ignore[arg-type]
        "default of another type": lambda: Schema(additional_user_fields={"n": AdditionalField("number", default_value="1")}),
        "unknown casing": lambda: Schema(casing="kebab-case"),  # type: ignore[arg-type]
        "a typo in a field's spec": lambda: Schema.from_config({"user": {"additional_fields": {"x": {"type": "string", "returnd": False}}}}),
        "a spec without a type": lambda: Schema.from_config({"user": {"additional_fields": {"x": {"required": False}}}}),
    }
    for why, make in refused.items():
        with pytest.raises(ValueError):
            make()
            pytest.fail(why)
    # camelCase keeps better-auth's names; a field listed in `fields` wins over casing.
    s = Schema(user=Model(None, {"updatedAt": "modified"}), casing="snake_case")
    assert s.column("user", "updatedAt") == "modified" and s.column("user", "createdAt") == "created_at"
    assert Schema().column("session", "expiresAt") == "expiresAt"


def test_a_schema_cannot_be_changed_after_its_check():
    s = Schema(user=Model("users", {"emailVerified": "email_verified"}))
    with pytest.raises(TypeError):
        s.user.fields["emailVerified"] = 'x"; drop table users; --'  # type: ignore[index]
    assert session_query(s).count('"email_verified"') == 1


def test_dates_are_aware_datetimes():
    from authkeep_fastapi.schema import coerce

    utc = timezone.utc
    assert coerce("date", "2024-05-06T07:08:09.000Z") == datetime(2024, 5, 6, 7, 8, 9, tzinfo=utc)
    assert coerce("date", datetime(2024, 5, 6)) == datetime(2024, 5, 6, tzinfo=utc)
    assert coerce("date", "not a date") == "not a date", "returned as it is, as better-auth does"
    assert coerce("number[]", "[1, 2]") == [1, 2] and coerce("string[]", "{broken") is None
