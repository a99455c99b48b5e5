"""database mode through a transaction-mode pooler, as hosted PostgreSQL's pooled URLs are
(PgBouncer or Supavisor in front of Supabase, PgBouncer in front of Neon): a real PgBouncer 1.x
with pool_mode = transaction and four server connections, started by the test, in front of a
fresh database that the real auth server migrated and wrote."""

# No `from __future__ import annotations`: apps.make_app's routes name a local `auth`.

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from apps import make_app
from authkeep_fastapi import AuthKeep, Schema
from authkeep_fastapi.pooler import detect, without_flag
from conftest import SECRET, Account, PgBouncer, Server, new_database, run_pgbouncer, sign_up, start_server
from test_schema import SEED_TOML, app_for, serve, stop

USERS = 8
CONCURRENT = 60
ROUNDS = 3  # the rounds after the first run on connections kept from the one before


@pytest.fixture(scope="module")
def fresh() -> Any:
    """The real auth server over a fresh database (reached directly), with USERS signed-up users."""
    with new_database() as url:
        server = start_server(url)
        try:
            yield server, [sign_up(server) for _ in range(USERS)]
        finally:
            stop(server)


def credential(account: Account, i: int) -> dict[str, str]:
    """Each kind of session credential in turn: cookie, signed bearer, raw bearer."""
    return [
        {"cookie": account.cookie},
        {"authorization": f"Bearer {account.signed}"},
        {"authorization": f"Bearer {account.token}"},
    ][i % 3]


Result = tuple[Account, int, Any]


async def burst_async(
    auth: AuthKeep, app: FastAPI, accounts: list[Account], *, path: str, before_close: Callable[[], None] | None
) -> list[Result]:
    results: list[Result] = []
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:

            async def one(i: int) -> Result:
                account = accounts[i % len(accounts)]
                r = await client.get(path, headers=credential(account, i))
                return account, r.status_code, r.json()

            for _ in range(ROUNDS):
                results += await asyncio.gather(*(one(i) for i in range(CONCURRENT)))
        if before_close is not None:
            before_close()  # while the API's connections are still open
    finally:
        await auth.aclose()
    return results


def burst(
    auth: AuthKeep, accounts: list[Account], *, app: FastAPI | None = None, path: str = "/me",
    before_close: Callable[[], None] | None = None,
) -> list[Result]:
    """ROUNDS rounds of CONCURRENT requests at once, each authenticated in database mode as one
    of ``accounts`` (all of them in every round), in one event loop: the API's pool opens its
    ten connections, which the pooler serves with its four."""
    return asyncio.run(burst_async(auth, app or make_app(auth), accounts, path=path, before_close=before_close))


def wrong(results: list[Result]) -> list[tuple[int, Any]]:
    """The answers that are not a 200 naming the caller."""
    return [(status, body) for account, status, body in results if status != 200 or body.get("email") != account.email]


def database_auth(server: Server, database_url: str, **kw: Any) -> AuthKeep:
    return AuthKeep(base_url=server.origin, mode="database", database_url=database_url, secret=SECRET, **kw)


def package_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("authkeep_fastapi") and r.levelno >= logging.WARNING]


# --- detection, as the server detects ---------------------------------------------------------------


def test_poolers_are_recognised_by_flag_host_and_port():
    assert detect("postgres://u@h/db?pgbouncer=true")
    assert detect("postgresql://u@h/db?sslmode=require&pgbouncer=TRUE")
    assert detect("postgresql://u:p@aws-0-eu-west-1.pooler.supabase.com:6543/postgres")
    assert detect("postgresql://u:p@aws-0-eu-west-1.pooler.supabase.com:5432/postgres") is None, "Supavisor's session mode"
    assert detect("postgresql://u:p@ep-cool-name-123456-pooler.eu-central-1.aws.neon.tech/db")
    assert detect("postgresql://u:p@ep-cool-name-123456.eu-central-1.aws.neon.tech/db") is None
    assert detect("postgres://u@localhost/db") is None
    assert detect("postgres://u@h/db?pgbouncer=false") is None
    # libpq's other spellings, which the server (URLs only) does not take but psycopg does.
    assert detect("host=aws-0-eu-west-1.pooler.supabase.com port=6543 dbname=postgres user=u")
    assert detect("postgresql://u@aws-0-eu-west-1.pooler.supabase.com/postgres?port=6543")
    assert detect("not a url at all") is None


def test_the_flag_is_removed_before_connecting_and_the_rest_kept_as_written():
    assert without_flag("postgres://u@h/db?pgbouncer=true") == "postgres://u@h/db"
    assert without_flag("postgres://u@h/db?sslmode=require&pgbouncer=true") == "postgres://u@h/db?sslmode=require"
    assert (
        without_flag("postgresql://u@h/db?pgbouncer=true&options=-c%20statement_timeout%3D5s&sslmode=require")
        == "postgresql://u@h/db?options=-c%20statement_timeout%3D5s&sslmode=require"
    ), "percent-escapes stay as they were: libpq does not read '+' as a space"
    assert without_flag("postgres://u@h/db?sslmode=require") == "postgres://u@h/db?sslmode=require"
    assert without_flag("host=h dbname=db") == "host=h dbname=db"


def test_the_setting_is_checked_and_resolved():
    url = "postgresql://u@127.0.0.1:6432/db"
    with pytest.raises(ValueError, match="pooler must be 'auto', 'transaction' or 'none'"):
        AuthKeep(base_url="http://a", mode="database", database_url=url, secret=SECRET, pooler="session")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pooler must be"):
        AuthKeep(base_url="http://a", pooler="yes")  # type: ignore[arg-type]

    def store(database_url: str, **kw: Any) -> Any:
        return AuthKeep(base_url="http://a", mode="database", database_url=database_url, secret=SECRET, **kw).sessions

    assert not store(url).pooled, "auto, and nothing in the URL says pooler"
    assert store(url, pooler="transaction").pooled
    assert store(url + "?pgbouncer=true").pooled
    assert store(url + "?pgbouncer=true").database_url == url, "the flag is not sent to libpq"
    assert not store(url + "?pgbouncer=true", pooler="none").pooled, "an explicit none wins over the flag"
    assert store(url + "?pgbouncer=true", pooler="none").database_url == url, "and the flag is still removed"


# --- through a real PgBouncer in transaction mode ---------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "pooler"),
    [("?pgbouncer=true", "auto"), ("", "transaction")],
    ids=["flag-in-url", "pooler-transaction"],
)
def test_a_concurrent_burst_through_the_pooler_has_no_errors(fresh, pgbouncer: PgBouncer, caplog, suffix, pooler):
    server, accounts = fresh
    with caplog.at_level(logging.INFO, logger="authkeep_fastapi"):
        auth = database_auth(server, pgbouncer.url_for(server.database_url) + suffix, pooler=pooler)
    assert auth.sessions is not None and auth.sessions.pooled
    database = server.database_url.rsplit("/", 1)[1]
    seen: dict[str, int] = {}

    def count_connections() -> None:
        seen["clients"] = sum(1 for c in pgbouncer.show("CLIENTS") if c["database"] == database)
        seen["servers"] = sum(1 for s in pgbouncer.show("SERVERS") if s["database"] == database)

    with caplog.at_level(logging.INFO, logger="authkeep_fastapi"):
        results = burst(auth, accounts, before_close=count_connections)
    assert len(results) == CONCURRENT * ROUNDS
    assert wrong(results) == [], f"{len(wrong(results))} of {len(results)} requests failed"
    assert {a.email for a, _, _ in results} == {a.email for a in accounts}, "every user, in every round"
    assert package_warnings(caplog) == []
    # Ten client connections (the API's pool, kept for the next requests) on at most four server
    # connections: each server connection ran the transactions of several client connections.
    assert seen["servers"] <= 4 < seen["clients"], seen
    said = [r.getMessage() for r in caplog.records if r.name == "authkeep_fastapi.database" and r.levelno == logging.INFO]
    assert any("transaction-mode pooler" in m and "not prepared" in m for m in said), said


def test_without_pooler_mode_the_same_burst_fails(fresh, pgbouncer: PgBouncer, caplog):
    server, accounts = fresh
    # The control: the same burst on the direct URL (statements prepared) has no errors...
    direct = database_auth(server, server.database_url)
    assert direct.sessions is not None and not direct.sessions.pooled
    assert wrong(burst(direct, accounts)) == []
    # ...and through the pooler, without pooler mode, prepared statements meet on shared server
    # connections ("already exists") or are missing from the next one ("does not exist").
    auth = database_auth(server, pgbouncer.url_for(server.database_url))  # auto: a local URL, no flag
    assert auth.sessions is not None and not auth.sessions.pooled
    with caplog.at_level(logging.WARNING, logger="authkeep_fastapi"):
        results = burst(auth, accounts)
    failed = wrong(results)
    assert failed, "prepared statements through a transaction-mode pooler should have failed some requests"
    assert {status for status, _ in failed} == {503}, "an outage of the setup is a 503, never a 401"
    logged = "\n".join(package_warnings(caplog))
    assert "prepared statement" in logged and "pooler='transaction'" in logged and "pgbouncer=true" in logged, logged


def test_nothing_stays_prepared_or_set_on_the_shared_server_connection(fresh):
    """With one server connection behind the pooler, what the API leaves on it is what the next
    client of the pooler finds."""
    server, accounts = fresh
    with run_pgbouncer(pool_size=1) as bouncer:
        url = bouncer.url_for(server.database_url)

        def left_on_the_server() -> tuple[list[str], list[str]]:
            with psycopg.connect(url, autocommit=True, prepare_threshold=None) as c:
                prepared = [r[0] for r in c.execute("select name from pg_prepared_statements", prepare=False)]
                settings = [r[0] for r in c.execute("select name from pg_settings where source = 'session'", prepare=False)]
            return prepared, settings

        def requests(auth: AuthKeep, n: int = 8) -> list[int]:
            # Sequential, on one kept connection: more than psycopg's prepare_threshold (5).
            with TestClient(make_app(auth)) as client:
                return [client.get("/me", headers=credential(accounts[0], i)).status_code for i in range(n)]

        assert requests(database_auth(server, url, pooler="transaction")) == [200] * 8
        assert requests(database_auth(server, url + "?pgbouncer=true")) == [200] * 8, "a second API process"
        assert left_on_the_server() == ([], [])
        # Without pooler mode the statement stays on the server connection, and the next API
        # process's first request prepares the same name there: refused.
        assert requests(database_auth(server, url, pooler="none")) == [200] * 8, "alone on the connection, it works"
        prepared, _ = left_on_the_server()
        assert prepared, "the control: a prepared statement is visible to the pooler's next client"
        assert requests(database_auth(server, url, pooler="none"), n=1) == [503]


def test_a_startup_parameter_the_pooler_refuses_is_named(fresh, pgbouncer: PgBouncer, caplog):
    server, accounts = fresh
    url = pgbouncer.url_for(server.database_url) + "?pgbouncer=true&options=-c%20statement_timeout%3D5s"
    with caplog.at_level(logging.WARNING, logger="authkeep_fastapi"):
        with TestClient(make_app(database_auth(server, url, timeout=2))) as client:
            assert client.get("/me", headers={"cookie": accounts[0].cookie}).status_code == 503
    logged = "\n".join(package_warnings(caplog))
    assert "unsupported startup parameter: options" in logged and "ignore_startup_parameters" in logged, logged


# --- the auth server's own table and column names, through the pooler --------------------------------


@pytest.fixture(scope="module")
def pooled_seed(tmp_path_factory) -> Any:
    with new_database() as url:
        server, config = serve(tmp_path_factory.mktemp("pooled-seed"), SEED_TOML, url)
        try:
            yield server, config, [sign_up(server) for _ in range(USERS)]
        finally:
            stop(server)


def test_a_mapped_schema_works_through_the_pooler(pooled_seed, pgbouncer: PgBouncer, caplog):
    server, config, accounts = pooled_seed
    url = pgbouncer.url_for(server.database_url) + "?pgbouncer=true"
    auth = database_auth(server, url, schema=Schema.from_toml(Path(config)))
    assert auth.sessions is not None and auth.sessions.pooled
    assert 'from "user_sessions" s join "users" u' in auth.sessions.query
    with caplog.at_level(logging.WARNING, logger="authkeep_fastapi"):
        results = burst(auth, accounts, app=app_for(auth))
    assert wrong(results) == [], f"{len(wrong(results))} of {len(results)} requests failed"
    assert all(body["extra"] == {"status": "active"} for _, _, body in results), "the additional field, read from users.status"
    assert package_warnings(caplog) == []
