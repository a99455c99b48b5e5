"""jwt mode: Authorization: Bearer <JWT>, verified against authkeep's JWKS."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from apps import make_app
from authkeep_fastapi import AuthKeep
from conftest import closed_port_url, sign_up, start_server


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


def test_wrong_issuer_or_audience_is_rejected(server, account):
    for options in ({"issuer": "https://other-issuer.example"}, {"audience": "https://other-api.example"}):
        with TestClient(make_app(AuthKeep(base_url=server.origin, **options))) as client:
            assert client.get("/me", headers=bearer(account.jwt)).status_code == 401, options


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


def test_the_security_scheme_is_in_openapi(server):
    app = make_app(AuthKeep(base_url=server.origin))
    schema = app.openapi()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["authkeep"]["scheme"] == "bearer"
    assert {"authkeep": []} in schema["paths"]["/me"]["get"]["security"]
