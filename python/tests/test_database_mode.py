"""database mode: the signed cookie or a bearer session token, checked against the shared PostgreSQL."""

# No `from __future__ import annotations`: a route below names a local `auth` in an Annotated
# dependency, which FastAPI evaluates only when annotations are real objects.

import logging
import threading
import time
from typing import Annotated

import httpx
import psycopg
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from apps import make_app
from authkeep_fastapi import AuthKeep, User
from conftest import SECRET, closed_port_url
from sockets import SlowPostgresProxy


def auth_for(server, **kw) -> AuthKeep:
    return AuthKeep(base_url=server.origin, mode="database", database_url=kw.pop("database_url", server.database_url), secret=kw.pop("secret", SECRET), **kw)


def test_cookie_and_bearer_tokens_are_accepted(server, account):
    with TestClient(make_app(auth_for(server))) as client:
        for headers in (
            {"cookie": account.cookie},
            {"cookie": "other=1; " + account.cookie.replace("better-auth.", "__Secure-better-auth.")},
            {"authorization": f"Bearer {account.signed}"},
            {"authorization": f"Bearer {account.token}"},
        ):
            r = client.get("/me", headers=headers)
            assert r.status_code == 200, (headers, r.text)
            assert r.json()["email"] == account.email
        s = client.get("/session", headers={"cookie": account.cookie}).json()
        assert s["user_id"] == client.get("/me", headers={"cookie": account.cookie}).json()["id"]


def test_sign_out_and_revocation_take_effect_at_once(server, account):
    with TestClient(make_app(auth_for(server))) as client:
        assert client.get("/me", headers={"cookie": account.cookie}).status_code == 200
        httpx.post(f"{server.api}/sign-out", headers={"cookie": account.cookie, "origin": server.origin})
        assert client.get("/me", headers={"cookie": account.cookie}).status_code == 401


def test_revoke_sessions_is_immediate(server):
    from conftest import sign_up

    a = sign_up(server)
    with TestClient(make_app(auth_for(server))) as client:
        assert client.get("/me", headers={"authorization": f"Bearer {a.token}"}).status_code == 200
        httpx.post(f"{server.api}/revoke-sessions", headers={"cookie": a.cookie, "origin": server.origin})
        assert client.get("/me", headers={"authorization": f"Bearer {a.token}"}).status_code == 401


def test_an_expired_session_is_rejected(server, account):
    with psycopg.connect(server.database_url, autocommit=True) as c:
        c.execute('update "session" set "expiresAt" = now() - interval \'1 minute\' where "token" = %s', (account.token,))
    with TestClient(make_app(auth_for(server))) as client:
        assert client.get("/me", headers={"cookie": account.cookie}).status_code == 401


def test_tampering_and_the_wrong_secret_are_rejected(server, account):
    tampered = account.cookie[:-8] + "AAAA%3D"
    with TestClient(make_app(auth_for(server))) as client:
        assert client.get("/me", headers={"cookie": tampered}).status_code == 401
        other_token = "x" * 32
        assert client.get("/me", headers={"authorization": f"Bearer {other_token}"}).status_code == 401
    with TestClient(make_app(auth_for(server, secret="a-different-secret-0123456789abcdef"))) as client:
        assert client.get("/me", headers={"cookie": account.cookie}).status_code == 401
    with TestClient(make_app(auth_for(server, require_signed_bearer=True))) as client:
        assert client.get("/me", headers={"authorization": f"Bearer {account.token}"}).status_code == 401
        assert client.get("/me", headers={"authorization": f"Bearer {account.signed}"}).status_code == 200


def test_no_credential_is_named_the_same_in_database_and_remote_mode(server):
    for auth in (auth_for(server), AuthKeep(base_url=server.origin, mode="remote")):
        with TestClient(make_app(auth)) as client:
            r = client.get("/me", headers={"cookie": "theme=dark"})
            assert r.status_code == 401
            assert r.json()["detail"]["reason"] == "no session cookie or bearer token", auth.mode


def test_a_signature_made_with_another_secret_names_the_secret(server, account, caplog):
    wrong = auth_for(server, secret="a-different-secret-0123456789abcdef")
    with caplog.at_level(logging.WARNING, logger="authkeep_fastapi"):
        with TestClient(make_app(wrong)) as client:
            for headers in ({"cookie": account.cookie}, {"authorization": f"Bearer {account.signed}"}, {"cookie": account.cookie}):
                r = client.get("/me", headers=headers)
                assert r.status_code == 401
                assert r.json()["detail"]["reason"] == (
                    "the session's signature does not match this API's secret: is BETTER_AUTH_SECRET the same as the auth server's?"
                ), headers
    logged = [r for r in caplog.records if r.name.startswith("authkeep_fastapi")]
    assert len(logged) == 1, "three refusals, one line: the warning is throttled"
    assert logged[0].levelno == logging.WARNING and "BETTER_AUTH_SECRET" in logged[0].getMessage()
    assert account.token not in logged[0].getMessage() and account.signed not in logged[0].getMessage()
    # A credential that is not a signed token at all is not blamed on the secret.
    with TestClient(make_app(auth_for(server))) as client:
        reason = client.get("/me", headers={"cookie": "better-auth.session_token=garbage.xyz"}).json()["detail"]["reason"]
        assert "malformed session cookie" in reason, reason
    with TestClient(make_app(auth_for(server, require_signed_bearer=True))) as client:
        reason = client.get("/me", headers={"authorization": f"Bearer {account.token}"}).json()["detail"]["reason"]
        assert "only the signed form" in reason, reason


def test_database_unreachable_is_503(server, account):
    url = closed_port_url("postgresql") + "/nowhere"
    with TestClient(make_app(auth_for(server, database_url=url, timeout=1))) as client:
        r = client.get("/me", headers={"cookie": account.cookie})
        assert r.status_code == 503
        assert client.get("/me").status_code == 401, "no credential is still a 401"


def test_other_cookies_that_simplecookie_rejects_do_not_hide_the_session(server, account):
    with TestClient(make_app(auth_for(server))) as client:
        for header in (
            f'theme=dark mode; {account.cookie}',
            f'prefs={{"a":1,"b":[2]}}; {account.cookie}; tz="Europe/Paris"',
        ):
            r = client.get("/me", headers={"cookie": header})
            assert r.status_code == 200, (header, r.text)
            assert r.json()["email"] == account.email


def test_a_jwt_sent_to_a_session_api_is_named_in_the_401(server, account):
    with TestClient(make_app(auth_for(server))) as client:
        r = client.get("/me", headers={"authorization": f"Bearer {account.jwt}"})
        assert r.status_code == 401
        reason = r.json()["detail"]["reason"]
        assert "a JWT was sent" in reason and "expects a session token" in reason and "set-auth-token" in reason, reason


def exits_within(client: TestClient, seconds: float) -> bool:
    """Leaves the TestClient (its event loop ends) on another thread; whether that took less than
    `seconds`. A hang is left behind on a daemon thread instead of holding the test run."""
    done = threading.Event()

    def leave() -> None:
        client.__exit__(None, None, None)
        done.set()

    threading.Thread(target=leave, daemon=True).start()
    return done.wait(seconds)


def test_a_slow_database_connection_does_not_outlive_the_event_loop(server, account):
    # The hang seen in ./scripts/test-all: a pool connection still being opened when the
    # TestClient's loop ended kept that loop's shutdown waiting for good. Here every connection
    # after the first takes 3 s to reach PostgreSQL, and the app never closes AuthKeep.
    with SlowPostgresProxy(server.database_url, delay=3.0) as proxy:
        auth = auth_for(server, database_url=proxy.database_url, timeout=5)
        client = TestClient(make_app(auth, close_on_shutdown=False))
        client.__enter__()
        assert client.get("/me", headers={"cookie": account.cookie}).json()["email"] == account.email
        started = time.monotonic()
        assert exits_within(client, 2.5), "the event loop's end waited on a database connection"
        assert time.monotonic() - started < 2.5
        # And with the lifespan closing it, as documented:
        auth = auth_for(server, database_url=proxy.database_url, timeout=5)
        client = TestClient(make_app(auth))
        client.__enter__()
        assert client.get("/me", headers={"cookie": account.cookie}).status_code == 200
        assert exits_within(client, 2.5)


def test_one_authkeep_serves_successive_lifespans(server, account):
    # Each TestClient (like each start of a server in-process) runs its own event loop; the
    # lifespan closes AuthKeep at the end of each, and the next one must work all the same.
    auth = auth_for(server)
    app = FastAPI(lifespan=auth.lifespan)

    @app.get("/me")
    async def me(user: Annotated[User, Depends(auth.current_user)]) -> dict:
        return {"email": user.email}

    for _ in range(3):
        with TestClient(app) as client:
            assert client.get("/me", headers={"cookie": account.cookie}).json() == {"email": account.email}
