"""Golden vectors captured from a real better-auth 1.7.25 (docs/vectors/)."""

from __future__ import annotations

import hashlib
import json
import time
import unicodedata

import jwt
import pytest

from authkeep_fastapi import NotAuthenticated, decode_jwt, sign_session_token, verify_signed_session_token
from conftest import ROOT

VECTORS = json.loads((ROOT / "docs" / "vectors" / "better-auth-1.7.25.json").read_text())


def test_cookie_signature():
    c = VECTORS["session_cookie"]
    assert sign_session_token(VECTORS["secret"], c["token"]) == c["signed_value"]
    assert verify_signed_session_token(VECTORS["secret"], c["signed_value"]) == c["token"]
    assert verify_signed_session_token("wrong-secret", c["signed_value"]) is None


@pytest.mark.parametrize("case", VECTORS["scrypt"])
def test_scrypt_hash_format(case):
    salt, key = case["hash"].split(":")
    password = unicodedata.normalize("NFKC", case["password"]).encode()
    derived = hashlib.scrypt(password, salt=salt.encode(), n=16384, r=16, p=1, dklen=64, maxmem=64 * 1024 * 1024)
    assert derived.hex() == key


def test_a_better_auth_jwt_verifies_through_the_package():
    v = VECTORS["jwt"]
    key = jwt.PyJWK(v["jwks"]["keys"][0])
    options = {"algorithms": ("EdDSA",), "issuer": v["issuer"], "audience": v["audience"]}
    claims = decode_jwt(v["token"], key, verify_exp=False, **options)
    assert claims["email"] == v["claims"]["email"]
    if time.time() > v["claims"]["exp"]:
        with pytest.raises(NotAuthenticated):
            decode_jwt(v["token"], key, **options)  # it has expired since it was captured
    with pytest.raises(NotAuthenticated):
        decode_jwt(v["token"], key, verify_exp=False, **dict(options, issuer="https://elsewhere"))
