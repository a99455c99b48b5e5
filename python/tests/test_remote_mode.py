"""remote mode: the credential is forwarded to authkeep's get-session."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from apps import make_app
from authkeep_fastapi import AuthKeep
from conftest import closed_port_url


def test_cookie_and_bearer_are_forwarded(server, account):
    with TestClient(make_app(AuthKeep(base_url=server.origin, mode="remote"))) as client:
        for headers in ({"cookie": account.cookie}, {"authorization": f"Bearer {account.signed}"}, {"authorization": f"Bearer {account.token}"}):
            r = client.get("/me", headers=headers)
            assert r.status_code == 200, headers
            assert r.json()["email"] == account.email
        assert client.get("/session", headers={"cookie": account.cookie}).status_code == 200
        assert client.get("/me", headers={"cookie": account.cookie[:-8] + "AAAA%3D"}).status_code == 401
        assert client.get("/me").status_code == 401


def test_a_signed_out_session_is_refused_at_once_by_default(server, account):
    # Users pick remote mode for prompt revocation: no cache unless asked for.
    auth = AuthKeep(base_url=server.origin, mode="remote")
    with TestClient(make_app(auth)) as client:
        assert client.get("/me", headers={"cookie": account.cookie}).status_code == 200
        assert client.get("/me", headers={"authorization": f"Bearer {account.signed}"}).status_code == 200
        httpx.post(f"{server.api}/sign-out", headers={"cookie": account.cookie, "origin": server.origin})
        assert client.get("/me", headers={"cookie": account.cookie}).status_code == 401
        assert client.get("/me", headers={"authorization": f"Bearer {account.signed}"}).status_code == 401
    assert auth.remote.ttl == 0


def test_revocation_is_immediate_without_the_cache(server, account):
    with TestClient(make_app(AuthKeep(base_url=server.origin, mode="remote", remote_cache_ttl=0))) as client:
        assert client.get("/me", headers={"cookie": account.cookie}).status_code == 200
        httpx.post(f"{server.api}/sign-out", headers={"cookie": account.cookie, "origin": server.origin})
        assert client.get("/me", headers={"cookie": account.cookie}).status_code == 401


def test_the_cache_bounds_the_revocation_lag(server, account):
    auth = AuthKeep(base_url=server.origin, mode="remote", remote_cache_ttl=30)
    with TestClient(make_app(auth)) as client:
        assert client.get("/me", headers={"cookie": account.cookie}).status_code == 200
        httpx.post(f"{server.api}/sign-out", headers={"cookie": account.cookie, "origin": server.origin})
        assert client.get("/me", headers={"cookie": account.cookie}).status_code == 200, "served from the cache"
        auth.remote.forget()
        assert client.get("/me", headers={"cookie": account.cookie}).status_code == 401


def test_a_cache_ttl_beyond_60_seconds_is_refused(server):
    # Refused, not silently lowered: the TTL is how long a signed-out session keeps working.
    for ttl in (3600, 60.5, -1):
        with pytest.raises(ValueError, match="remote_cache_ttl must be between 0 and 60 seconds"):
            AuthKeep(base_url=server.origin, mode="remote", remote_cache_ttl=ttl)
    assert AuthKeep(base_url=server.origin, mode="remote", remote_cache_ttl=60).remote.ttl == 60


def test_auth_server_down_is_503(account):
    with TestClient(make_app(AuthKeep(base_url=closed_port_url(), mode="remote", timeout=1))) as client:
        assert client.get("/me", headers={"cookie": account.cookie}).status_code == 503


def test_expired_and_revoked_sessions_are_rejected(server):
    import psycopg

    from conftest import sign_up

    expired, revoked = sign_up(server), sign_up(server)
    with psycopg.connect(server.database_url, autocommit=True) as c:
        c.execute('update "session" set "expiresAt" = now() - interval \'1 minute\' where "token" = %s', (expired.token,))
    with TestClient(make_app(AuthKeep(base_url=server.origin, mode="remote", remote_cache_ttl=0))) as client:
        assert client.get("/me", headers={"cookie": expired.cookie}).status_code == 401
        assert client.get("/me", headers={"authorization": f"Bearer {revoked.token}"}).status_code == 200
        httpx.post(f"{server.api}/revoke-sessions", headers={"cookie": revoked.cookie, "origin": server.origin})
        assert client.get("/me", headers={"authorization": f"Bearer {revoked.token}"}).status_code == 401


def test_other_cookies_that_simplecookie_rejects_do_not_hide_the_session(server, account):
    with TestClient(make_app(AuthKeep(base_url=server.origin, mode="remote"))) as client:
        for header in (
            f'theme=dark mode; {account.cookie}',
            f'prefs={{"a":1,"b":[2]}}; {account.cookie}; tz="Europe/Paris"',
        ):
            r = client.get("/me", headers={"cookie": header})
            assert r.status_code == 200, (header, r.text)
            assert r.json()["email"] == account.email


def test_a_jwt_sent_to_a_session_api_is_named_in_the_401(server, account):
    with TestClient(make_app(AuthKeep(base_url=server.origin, mode="remote"))) as client:
        r = client.get("/me", headers={"authorization": f"Bearer {account.jwt}"})
        assert r.status_code == 401
        reason = r.json()["detail"]["reason"]
        assert "a JWT was sent" in reason and "expects a session token" in reason and "better-auth.session_token" in reason, reason
        # With the session cookie beside it the cookie still counts, as before.
        assert client.get("/me", headers={"authorization": f"Bearer {account.jwt}", "cookie": account.cookie}).status_code == 200


def test_malformed_credentials_are_401_not_500(server, account):
    # A cut percent-escape decodes to a byte that is not UTF-8, and header bytes beyond ASCII
    # cannot be forwarded: both used to fail the request with a 500.
    with TestClient(make_app(AuthKeep(base_url=server.origin, mode="remote"))) as client:
        cut = account.cookie.split("=", 1)[0] + "=" + account.token + ".%AA%FFbad"
        assert client.get("/me", headers={"cookie": cut}).status_code == 401
        assert client.get("/me", headers={"authorization": "Bearer t\xf6ken".encode("latin-1")}).status_code == 401
        assert client.get("/me", headers={"cookie": account.cookie}).status_code == 200
