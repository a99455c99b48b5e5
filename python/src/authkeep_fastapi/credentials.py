"""Reading the caller's credential: better-auth's signed session cookie or an Authorization header.

The cookie value is ``<token>.<base64 HMAC-SHA256(secret, token)>``, percent-encoded. The
signature is checked in constant time; anything malformed is treated as absent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
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


def read_cookie(request: Request, prefix: str, *, decode: bool = True) -> str | None:
    """The session cookie's value, percent-decoded unless ``decode=False``, or ``None``.

    Starlette's parser (``request.cookies``) reads each ``name=value`` pair on its own, as browsers
    send them. ``http.cookies.SimpleCookie`` gives up on the whole header at the first value it
    finds invalid (a space, a quote, JSON), which lost the session whenever the site also set
    such a cookie.
    """
    cookies = request.cookies
    for name in cookie_names(prefix):
        value = cookies.get(name)
        if value:
            return unquote(value) if decode and "%" in value else value
    return None


def read_authorization(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def looks_like_jwt(value: str) -> bool:
    return value.count(".") == 2 and value.startswith("eyJ")


_SESSION_TOKEN = re.compile(r"[A-Za-z0-9]{32}")
_SIGNATURE = re.compile(r"[A-Za-z0-9+/]{43}=")


def looks_like_session_token(value: str) -> bool:
    """better-auth's session token (32 letters and digits), bare or signed as ``token.signature``
    (possibly percent-encoded, as copied from the cookie). Only used to name the mistake in a 401."""
    value = unquote(value) if "%" in value else value
    token, dot, signature = value.rpartition(".")
    if dot:
        return bool(_SESSION_TOKEN.fullmatch(token) and _SIGNATURE.fullmatch(signature))
    return bool(_SESSION_TOKEN.fullmatch(value))


def parse_signed(signed: str) -> tuple[str, bytes] | None:
    """``(token, signature bytes)`` when ``signed`` has the shape ``token.<44 base64 chars>``
    of a signed session token, else ``None`` (malformed: no secret could make it verify)."""
    token, dot, signature = signed.rpartition(".")
    if not dot or not token or len(signature) != 44 or not signature.endswith("="):
        return None
    try:
        given = base64.b64decode(signature.replace("-", "+").replace("_", "/"), validate=True)
    except ValueError:
        return None
    return (token, given) if len(given) == hashlib.sha256().digest_size else None


def verify_signed(secret: str, signed: str) -> str | None:
    """The session token from ``token.signature`` when the HMAC matches, else ``None``."""
    parsed = parse_signed(signed)
    if parsed is None:
        return None
    token, given = parsed
    expected = hmac.new(secret.encode(), token.encode(), hashlib.sha256).digest()
    return token if hmac.compare_digest(given, expected) else None


def sign(secret: str, token: str) -> str:
    """``token.signature`` as better-auth signs a session cookie."""
    mac = hmac.new(secret.encode(), token.encode(), hashlib.sha256).digest()
    return f"{token}.{base64.b64encode(mac).decode()}"
