"""jwt mode: Authorization: Bearer <JWT>, verified against authkeep's JWKS."""

# No `from __future__ import annotations`: a route below names a local `auth` in an Annotated
# dependency, which FastAPI evaluates only when annotations are real objects.

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
from typing import Annotated

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from apps import make_app
from authkeep_fastapi import AuthKeep, ConfigurationError, Session, User
from conftest import closed_port_url, sign_up, start_server
from sockets import JwksServer


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict, claims: dict, sign) -> str:
    head = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{head}.{b64(sign(head.encode()))}"


def bearer(token: str) -> dict:
    return {"authorization": f"Bearer {token}"}


def test_a_valid_jwt_gives_a_typed_user(server, account):
    with TestClient(make_app(AuthKeep(base_url=server.origin))) as client:
        r = client.get("/me", headers=bearer(account.jwt))
        assert r.status_code == 200, r.text
        assert r.json()["email"] == account.email
        assert r.json()["email_verified"] is False
        assert r.json()["created_at"].startswith("20")
        assert client.get("/maybe", headers=bearer(account.jwt)).json() == {"email": account.email}
        assert client.get("/maybe").json() == {"email": None}
        assert client.get("/verified", headers=bearer(account.jwt)).status_code == 403


def test_missing_or_garbage_credentials_are_401_with_www_authenticate(server, account):
    with TestClient(make_app(AuthKeep(base_url=server.origin))) as client:
        for headers in ({}, bearer("not-a-jwt"), {"authorization": f"Basic {account.jwt}"}, {"cookie": account.cookie}):
            r = client.get("/me", headers=headers)
            assert r.status_code == 401, headers
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert r.json()["detail"]["code"] == "UNAUTHORIZED"


def test_a_revoked_session_keeps_its_jwt_until_exp(server, account):
    # Documented trade-off of the stateless mode: revocation takes effect when the JWT expires.
    httpx.post(f"{server.api}/sign-out", headers={"cookie": account.cookie, "origin": server.origin})
    with TestClient(make_app(AuthKeep(base_url=server.origin))) as client:
        assert client.get("/me", headers=bearer(account.jwt)).status_code == 200


def test_an_expired_jwt_is_rejected(database_url):
    short = start_server(database_url, AUTHKEEP_JWT__EXPIRATION="1")
    try:
        acct = sign_up(short)
        time.sleep(2.1)
        with TestClient(make_app(AuthKeep(base_url=short.origin))) as client:
            r = client.get("/me", headers=bearer(acct.jwt))
            assert r.status_code == 401
            assert r.json()["detail"]["reason"] == "token expired"
    finally:
        short.proc.terminate()
        short.proc.wait(10)


def test_tampered_forged_and_confused_tokens_are_rejected(server, account):
    header_b64, payload_b64, sig = account.jwt.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=="))
    claims = json.loads(base64.urlsafe_b64decode(payload_b64 + "=="))
    jwks = httpx.get(f"{server.api}/jwks").json()
    public_x = base64.urlsafe_b64decode(jwks["keys"][0]["x"] + "==")

    tampered_claims = dict(claims, email="admin@example.com")
    tampered = f"{header_b64}.{b64(json.dumps(tampered_claims).encode())}.{sig}"
    bad_signature = f"{header_b64}.{payload_b64}.{sig[:-4]}AAAA"
    alg_none = f"{b64(json.dumps({'alg': 'none', 'kid': header['kid']}).encode())}.{payload_b64}."
    hs256_with_public_key = forge({"alg": "HS256", "kid": header["kid"]}, claims, lambda m: hmac.new(public_x, m, hashlib.sha256).digest())
    other_key = Ed25519PrivateKey.generate()
    unknown_kid = forge({"alg": "EdDSA", "kid": "not-a-published-kid"}, claims, other_key.sign)
    right_kid_wrong_key = forge({"alg": "EdDSA", "kid": header["kid"]}, claims, other_key.sign)
    with TestClient(make_app(AuthKeep(base_url=server.origin))) as client:
        for name, token in [
            ("tampered claims", tampered),
            ("bad signature", bad_signature),
            ("alg none", alg_none),
            ("HS256 signed with the public key", hs256_with_public_key),
            ("unknown kid", unknown_kid),
            ("right kid, wrong key", right_kid_wrong_key),
        ]:
            assert client.get("/me", headers=bearer(token)).status_code == 401, name


def test_wrong_issuer_or_audience_is_rejected_naming_both_values(server, account):
    for options, claim, argument, expected in (
        ({"issuer": "https://other-issuer.example"}, "iss", "issuer", "https://other-issuer.example"),
        ({"audience": "https://other-api.example"}, "aud", "audience", "https://other-api.example"),
    ):
        with TestClient(make_app(AuthKeep(base_url=server.origin, **options))) as client:
            r = client.get("/me", headers=bearer(account.jwt))
            assert r.status_code == 401, options
            reason = r.json()["detail"]["reason"]
            assert f"the token's {claim} is '{server.origin}'" in reason, reason
            assert f"expects '{expected}'" in reason and f"{argument}='{server.origin}'" in reason, reason


def test_localhost_for_127_0_0_1_is_explained(server, account):
    # The usual slip: the API names the auth server by another host name than the server's own
    # base URL, so the JWKS is found but iss and aud are another origin.
    elsewhere = server.origin.replace("127.0.0.1", "localhost")
    with TestClient(make_app(AuthKeep(base_url=elsewhere))) as client:
        r = client.get("/me", headers=bearer(account.jwt))
        assert r.status_code == 401
        reason = r.json()["detail"]["reason"]
        assert f"expects '{elsewhere}'" in reason and f"issuer='{server.origin}'" in reason, reason
        assert "localhost and 127.0.0.1 are different origins" in reason and "base_url" in reason, reason
    with TestClient(make_app(AuthKeep(base_url=elsewhere, issuer=server.origin, audience=server.origin))) as client:
        assert client.get("/me", headers=bearer(account.jwt)).status_code == 200, "as the reason suggests"


def test_jwks_unreachable_is_503_not_401(account):
    with TestClient(make_app(AuthKeep(base_url=closed_port_url(), timeout=1))) as client:
        r = client.get("/me", headers=bearer(account.jwt))
        assert r.status_code == 503
        assert r.json()["detail"]["code"] == "AUTH_UNAVAILABLE"
        assert client.get("/public").status_code == 200


def test_pyjwt_jwks_client_verifies_authkeep_tokens(server, account):
    client = jwt.PyJWKClient(f"{server.api}/jwks")
    key = client.get_signing_key_from_jwt(account.jwt)
    claims = jwt.decode(account.jwt, key.key, algorithms=["EdDSA"], audience=server.origin, issuer=server.origin)
    assert claims["email"] == account.email


def test_each_mode_has_its_own_security_scheme_in_openapi(server):
    jwt_auth = AuthKeep(base_url=server.origin)
    session_auth = AuthKeep(base_url=server.origin, mode="remote")
    app = FastAPI()

    @app.get("/me/jwt")
    async def me_jwt(user: Annotated[User, Depends(jwt_auth.current_user)]) -> dict:
        return {"id": user.id}

    @app.get("/me")
    async def me(user: Annotated[User, Depends(session_auth.current_user)]) -> dict:
        return {"id": user.id}

    document = app.openapi()
    schemes = document["components"]["securitySchemes"]
    assert set(schemes) == {"authkeep-jwt", "authkeep-session", "authkeep-session-cookie"}, schemes
    assert schemes["authkeep-jwt"]["scheme"] == "bearer" and "token" in schemes["authkeep-jwt"]["description"]
    assert schemes["authkeep-session"]["scheme"] == "bearer" and "session" in schemes["authkeep-session"]["description"]
    assert schemes["authkeep-session-cookie"] | {"description": ""} == {"type": "apiKey", "in": "cookie", "name": "better-auth.session_token", "description": ""}
    assert document["paths"]["/me/jwt"]["get"]["security"] == [{"authkeep-jwt": []}], "jwt mode declares no cookie"
    assert {"authkeep-session": []} in document["paths"]["/me"]["get"]["security"]
    assert {"authkeep-session-cookie": []} in document["paths"]["/me"]["get"]["security"]
    database_auth = AuthKeep(base_url=server.origin, mode="database", database_url=server.database_url, secret="s" * 32)
    assert database_auth.scheme_name == "authkeep-session" and jwt_auth.scheme_name == "authkeep-jwt"


# --- the JWKS behind a real socket that can stop answering ---------------------------------------


def jwks_document(server) -> dict:
    return httpx.get(f"{server.api}/jwks").json()


def through(jwks: JwksServer, server, **options) -> AuthKeep:
    """jwt mode fetching its JWKS from `jwks` while accepting the tokens `server` issues."""
    return AuthKeep(base_url=jwks.origin, issuer=server.origin, audience=server.origin, **options)


def api(app: FastAPI) -> httpx.AsyncClient:
    # In the test's own event loop, so that fifty requests are truly concurrent.
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")


def test_a_jwks_outage_costs_one_timeout_not_one_per_request(server, account, caplog):
    timeout = 1.0
    with JwksServer(jwks_document(server)) as jwks:
        auth = through(jwks, server, timeout=timeout)

        async def fifty_at_once() -> tuple[list[httpx.Response], float]:
            async with api(make_app(auth)) as client:
                started = time.monotonic()
                answers = await asyncio.gather(*(client.get("/me", headers=bearer(account.jwt)) for _ in range(50)))
                elapsed = time.monotonic() - started
            await auth.aclose()
            return answers, elapsed

        with caplog.at_level(logging.INFO, logger="authkeep_fastapi"):
            answers, elapsed = asyncio.run(fifty_at_once())
        print(f"\n50 concurrent requests during a JWKS outage (timeout {timeout} s): {elapsed:.2f} s")
        assert [a.status_code for a in answers] == [503] * 50
        assert {a.json()["detail"]["code"] for a in answers} == {"AUTH_UNAVAILABLE"}
        assert elapsed < 3 * timeout, f"{elapsed:.1f} s: the requests waited in turn"
        assert jwks.accepted == 1, "one fetch served every waiting request"
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("authkeep_fastapi")]
    assert len(logged) == 1 and "ReadTimeout" in logged[0] and jwks.origin in logged[0], logged
    assert not any(account.jwt.split(".")[2] in m or account.jwt in m for m in logged), "never a token in the log"


def test_after_a_failed_fetch_requests_fail_fast_until_the_backoff_ends(server, account, caplog):
    timeout, backoff = 1.0, 1.5
    with JwksServer(jwks_document(server)) as jwks:
        auth = through(jwks, server, timeout=timeout, jwks_backoff=backoff)

        async def scenario() -> dict:
            seen: dict = {}
            async with api(make_app(auth)) as client:
                seen["first"] = (await client.get("/me", headers=bearer(account.jwt))).status_code
                started = time.monotonic()
                during = [(await client.get("/me", headers=bearer(account.jwt))).status_code for _ in range(5)]
                seen["during"], seen["during_s"], seen["fetches_during"] = during, time.monotonic() - started, jwks.accepted
                jwks.up = True  # back, but the backoff is not over: still no fetch
                seen["still"] = (await client.get("/me", headers=bearer(account.jwt))).status_code
                seen["fetches_still"] = jwks.accepted
                await asyncio.sleep(backoff + 0.3)
                seen["after"] = (await client.get("/me", headers=bearer(account.jwt))).status_code
            await auth.aclose()
            return seen

        with caplog.at_level(logging.INFO, logger="authkeep_fastapi"):
            seen = asyncio.run(scenario())
        assert seen["first"] == 503
        assert seen["during"] == [503] * 5 and seen["during_s"] < timeout / 2, seen
        assert seen["fetches_during"] == 1 and seen["still"] == 503 and seen["fetches_still"] == 1, seen
        assert seen["after"] == 200, "recovered once the backoff ended"
        assert jwks.accepted == 2
    assert any("again after 1 failed attempt" in r.getMessage() for r in caplog.records), "the recovery is logged"


def test_cached_keys_keep_verifying_while_the_jwks_is_down(server):
    first, second, third = sign_up(server), sign_up(server), sign_up(server)
    with JwksServer(jwks_document(server)) as jwks:
        jwks.up = True
        auth = through(jwks, server, timeout=1.0, jwks_ttl=0.5)

        async def scenario() -> dict:
            seen: dict = {}
            async with api(make_app(auth)) as client:
                seen["up"] = (await client.get("/me", headers=bearer(first.jwt))).status_code
                jwks.up = False
                await asyncio.sleep(0.7)  # the TTL has passed: the next new token triggers a refresh
                seen["refresh_fails"] = (await client.get("/me", headers=bearer(second.jwt))).status_code
                started = time.monotonic()
                seen["backing_off"] = (await client.get("/me", headers=bearer(third.jwt))).status_code
                seen["backing_off_s"] = time.monotonic() - started
            await auth.aclose()
            return seen

        seen = asyncio.run(scenario())
    assert seen["up"] == 200 and seen["refresh_fails"] == 200 and seen["backing_off"] == 200, seen
    assert seen["backing_off_s"] < 0.5, "during the backoff the cached key answers without waiting"


def test_unknown_kids_refetch_the_jwks_at_most_every_interval(server, account):
    claims = json.loads(base64.urlsafe_b64decode(account.jwt.split(".")[1] + "=="))
    other_key = Ed25519PrivateKey.generate()
    with JwksServer(jwks_document(server)) as jwks:
        jwks.up = True
        auth = through(jwks, server)
        auth.jwks.min_refetch_interval = 0.5
        with TestClient(make_app(auth)) as client:

            def five_unknown_kids() -> None:
                for n in range(5):
                    token = forge({"alg": "EdDSA", "kid": f"rotated-{n}"}, claims, other_key.sign)
                    r = client.get("/me", headers=bearer(token))
                    assert r.status_code == 401 and r.json()["detail"]["reason"] == "unknown signing key"

            assert client.get("/me", headers=bearer(account.jwt)).status_code == 200
            five_unknown_kids()
            assert jwks.accepted == 1, "fetched moments ago: no refetch"
            time.sleep(0.6)
            five_unknown_kids()
            assert jwks.accepted == 2, "one refetch for five unknown kids"


def test_requests_with_a_newly_rotated_kid_all_wait_for_the_one_refetch(server):
    accounts = [sign_up(server) for _ in range(10)]
    unrelated = {"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": "old-key", "x": b64(bytes(32))}]}
    with JwksServer(unrelated) as jwks:
        jwks.up = True
        auth = through(jwks, server)
        auth.jwks.min_refetch_interval = 0.3

        async def scenario() -> tuple[int, list[int]]:
            async with api(make_app(auth)) as client:
                before = (await client.get("/me", headers=bearer(accounts[0].jwt))).status_code
                jwks.document = jwks_document(server)  # the auth server "rotated" to its real key
                jwks.delay = 0.5  # and its JWKS answers slowly: the next requests arrive during the refetch
                await asyncio.sleep(0.4)

                async def arriving(n: int, token: str) -> httpx.Response:
                    await asyncio.sleep(0.03 * n)
                    return await client.get("/me", headers=bearer(token))

                answers = await asyncio.gather(*(arriving(n, a.jwt) for n, a in enumerate(accounts)))
            await auth.aclose()
            return before, [a.status_code for a in answers]

        before, after = asyncio.run(scenario())
        assert before == 401
        assert after == [200] * 10, "requests that arrived during the refetch were answered from it"
        assert jwks.accepted == 2


# --- configuration and wrong-credential errors -----------------------------------------------------


def test_current_session_in_jwt_mode_fails_where_the_route_is_defined(server):
    auth = AuthKeep(base_url=server.origin)
    with pytest.raises(ConfigurationError, match="current_session needs mode='database' or mode='remote'"):
        auth.current_session
    app = FastAPI()
    with pytest.raises(ConfigurationError):

        @app.get("/session")
        async def session(s: Annotated[Session, Depends(auth.current_session)]) -> dict:
            return {"id": s.id}

    assert callable(AuthKeep(base_url=server.origin, mode="remote").current_session)


def test_a_session_credential_sent_to_a_jwt_api_is_named_in_the_401(server, account):
    with TestClient(make_app(AuthKeep(base_url=server.origin))) as client:
        for token in (account.signed, account.token):
            r = client.get("/me", headers=bearer(token))
            assert r.status_code == 401
            reason = r.json()["detail"]["reason"]
            assert "a session token was sent" in reason and "expects a JWT" in reason and "/api/auth/token" in reason, reason
        reason = client.get("/me", headers={"cookie": account.cookie}).json()["detail"]["reason"]
        assert "a session cookie was sent" in reason and "expects a JWT" in reason, reason
        reason = client.get("/me", headers=bearer("not-a-jwt")).json()["detail"]["reason"]
        assert "session" not in reason, "garbage is not called a session token"
