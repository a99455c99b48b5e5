"""database mode: the signed cookie or a bearer session token, checked against the shared PostgreSQL."""

from __future__ import annotations

import httpx
import psycopg
from fastapi.testclient import TestClient

from apps import make_app
from authkeep_fastapi import AuthKeep
from conftest import SECRET, closed_port_url


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


def test_database_unreachable_is_503(server, account):
    url = closed_port_url("postgresql") + "/nowhere"
    with TestClient(make_app(auth_for(server, database_url=url, timeout=1))) as client:
        r = client.get("/me", headers={"cookie": account.cookie})
        assert r.status_code == 503
        assert client.get("/me").status_code == 401, "no credential is still a 401"
