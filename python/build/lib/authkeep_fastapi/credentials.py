"""Reading the caller's credential: better-auth's signed session cookie or an Authorization header.

The cookie value is ``<token>.<base64 HMAC-SHA256(secret, token)>``, percent-encoded. The
signature is checked in constant time; anything malformed is treated as absent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import unquote

from starlette.requests import Request


@dataclass(frozen=True)
class Credential:
    """What the request presented: a session token (cookie or bearer) or a JWT."""

    kind: str  # "cookie", "bearer" or "jwt"
    value: str


def cookie_names(prefix: str = "better-auth") -> tuple[str, str]:
    """Both names better-auth uses for the session cookie: plain, and with ``__Secure-`` on https."""
    return (f"__Secure-{prefix}.session_token", f"{prefix}.session_token")


def read_cookie(request: Request, prefix: str) -> str | None:
    header = request.headers.get("cookie")
    if not header:
        return None
    jar = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed Cookie header is the same as none
        return None
    for name in cookie_names(prefix):
        if name in jar:
            value = jar[name].value
            return unquote(value) if "%" in value else value
    return None


def read_authorization(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def looks_like_jwt(value: str) -> bool:
    return value.count(".") == 2 and value.startswith("eyJ")


def verify_signed(secret: str, signed: str) -> str | None:
    """The session token from ``token.signature`` when the HMAC matches, else ``None``."""
    token, dot, signature = signed.rpartition(".")
    if not dot or not token or len(signature) != 44 or not signature.endswith("="):
        return None
    try:
        given = base64.b64decode(signature.replace("-", "+").replace("_", "/"), validate=True)
    except ValueError:
        return None
    expected = hmac.new(secret.encode(), token.encode(), hashlib.sha256).digest()
    return token if hmac.compare_digest(given, expected) else None


def sign(secret: str, token: str) -> str:
    """``token.signature`` as better-auth signs a session cookie."""
    mac = hmac.new(secret.encode(), token.encode(), hashlib.sha256).digest()
    return f"{token}.{base64.b64encode(mac).decode()}"
